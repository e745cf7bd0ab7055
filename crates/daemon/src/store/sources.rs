//! Reading the keys a service is configured with (`[keys.NAME] source`): keys named in the configuration with where they
//! come from, loaded at start-up, failing closed.
//!
//! ```toml
//! [keys.ci-bot]
//! source = "credential"      # $CREDENTIALS_DIRECTORY/ci-bot (LoadCredential[Encrypted]=)
//! # credential = "other"     # the credential's name, if not the key's
//! [keys.deploy]
//! source = "file"            # an explicit plain file: must be 0600 (or 0400), owned by signetd's uid
//! path = "/etc/signet/deploy.key"
//! [keys.release]
//! source = "keyring"         # the key store of `signet generate`/`import`
//! ```
//!
//! A credential or file holds an unencrypted OpenSSH Ed25519 private key
//! (`ssh-keygen -t ed25519 -N ''`) or a PKCS#8 PEM one. Encryption at rest is
//! systemd's job (`systemd-creds encrypt`, TPM- or host-key-sealed), so no
//! plaintext key file needs to exist on the machine. There is no silent
//! fallback: a key that cannot be read stops the daemon with a log line
//! naming the key and its source, and a non-zero exit.
//!
//! The bytes are read into a zeroizing buffer and the seed goes straight into
//! the key table's locked memory.

use std::path::{Path, PathBuf};

use signet_proto::Ed25519Seed;
use zeroize::Zeroizing;

/// Why a key source could not be read. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// systemd passed no credentials.
    #[error("$CREDENTIALS_DIRECTORY is not set: add `LoadCredentialEncrypted={name}:/etc/signet/credentials/{name}.cred` (or LoadCredential=) to the service unit")]
    NoCredentials {
        /// The credential's name.
        name: String,
    },
    /// The credential file cannot be read.
    #[error("cannot read {}: {source}; check the unit's LoadCredential[Encrypted]={name}:… line and that the credential exists", path.display())]
    Credential {
        /// The credential's name.
        name: String,
        /// Its file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key file cannot be read.
    #[error("cannot read it: {0}")]
    Unreadable(std::io::Error),
    /// The path is a directory, a device, …
    #[error("it is not a regular file")]
    NotAFile,
    /// Group or others may read the key file.
    #[error("its permissions {mode:04o} let group or others read it: run `chmod 600 {}` (better: put the key in a systemd credential, see docs/service-accounts.md)", path.display())]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// Another user owns the key file.
    #[error("it is owned by uid {owner}, not by signetd's uid {uid}: run `chown {uid} {}`", path.display())]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// signetd's uid.
        uid: u32,
    },
    /// Not text.
    #[error("it is not a text key file: use an OpenSSH or PKCS#8 PEM Ed25519 private key")]
    NotText,
    /// An OpenSSH key that does not parse.
    #[error("not a valid OpenSSH private key: {0}")]
    OpenSsh(ssh_key::Error),
    /// A passphrase-protected OpenSSH key.
    #[error("the OpenSSH key is passphrase-protected, and a service has nobody to type it: remove the passphrase (`ssh-keygen -p -N '' -f KEY`) and encrypt the file with `systemd-creds encrypt` instead")]
    Passphrase,
    /// An OpenSSH key of another algorithm.
    #[error("it is a {0} key; signet holds Ed25519 keys only")]
    NotEd25519(String),
    /// A PKCS#8 key that does not parse as Ed25519.
    #[error("not a PKCS#8 Ed25519 private key: {0}")]
    Pkcs8(String),
    /// Encrypted PKCS#8.
    #[error("encrypted PKCS#8 is not supported: store the key unencrypted inside `systemd-creds encrypt` instead")]
    EncryptedPkcs8,
    /// Neither format.
    #[error("not an OpenSSH (`-----BEGIN OPENSSH PRIVATE KEY-----`) or PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) Ed25519 private key")]
    UnknownFormat,
}

/// Reads `$CREDENTIALS_DIRECTORY/<name>`.
pub fn read_credential(name: &str) -> Result<Ed25519Seed, ReadError> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ReadError::NoCredentials {
            name: name.to_owned(),
        })?;
    let path = Path::new(&dir).join(name);
    let bytes = read_zeroizing(&path).map_err(|source| ReadError::Credential {
        name: name.to_owned(),
        path: path.clone(),
        source,
    })?;
    parse_private_key(&bytes)
}

/// Reads an explicitly configured plain key file, refusing one that others
/// could read or that another user owns.
pub fn read_private_file(path: &Path) -> Result<Ed25519Seed, ReadError> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).map_err(ReadError::Unreadable)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(ReadError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    let uid = rustix::process::geteuid().as_raw();
    if meta.uid() != uid {
        return Err(ReadError::WrongOwner {
            path: path.to_owned(),
            owner: meta.uid(),
            uid,
        });
    }
    let bytes = read_zeroizing(path).map_err(ReadError::Unreadable)?;
    parse_private_key(&bytes)
}

fn read_zeroizing(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    // Key files are small; refuse anything implausible before reading it.
    let len = f.metadata()?.len();
    if len > 64 * 1024 {
        return Err(std::io::Error::other(format!(
            "{len} bytes is too large for an Ed25519 private key"
        )));
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(len as usize + 1));
    f.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Parses an unencrypted OpenSSH Ed25519 private key or a PKCS#8 PEM one.
pub fn parse_private_key(bytes: &[u8]) -> Result<Ed25519Seed, ReadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ReadError::NotText)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
        let key = ssh_key::PrivateKey::from_openssh(text).map_err(ReadError::OpenSsh)?;
        if key.is_encrypted() {
            return Err(ReadError::Passphrase);
        }
        let pair = key
            .key_data()
            .ed25519()
            .ok_or_else(|| ReadError::NotEd25519(key.algorithm().to_string()))?;
        return Ok(Ed25519Seed::new(pair.private.to_bytes()));
    }
    if trimmed.starts_with("-----BEGIN PRIVATE KEY-----") {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(text)
            .map_err(|e| ReadError::Pkcs8(e.to_string()))?;
        return Ok(Ed25519Seed::new(signing.to_bytes()));
    }
    if trimmed.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(ReadError::EncryptedPkcs8);
    }
    Err(ReadError::UnknownFormat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    // `ssh-keygen -t ed25519 -N '' -C test` (a throwaway test key).
    const OPENSSH: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDgRLQuaZE9k9WEqvLUmJQuqYnoXmFe0219pgx+NDAIMgAAAJDoKtfC6CrX
wgAAAAtzc2gtZWQyNTUxOQAAACDgRLQuaZE9k9WEqvLUmJQuqYnoXmFe0219pgx+NDAIMg
AAAEAQtCwExKhsZClmQ+lvtnCejZmilVtRlIDK6rKUOTovz+BEtC5pkT2T1YSq8tSYlC6p
ieheYV7TbX2mDH40MAgyAAAAB3Rlc3RrZXkBAgMEBQY=
-----END OPENSSH PRIVATE KEY-----
";

    #[test]
    fn openssh_and_pkcs8_keys_parse() -> Result<(), Box<dyn std::error::Error>> {
        let seed = parse_private_key(OPENSSH.as_bytes())?;
        let public = crate::store::vault::public_of(seed.expose());
        assert_eq!(
            hex::encode(public),
            "e044b42e69913d93d584aaf2d498942ea989e85e615ed36d7da60c7e34300832"
        );
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let signing = ed25519_dalek::SigningKey::from_bytes(seed.expose());
        let pem = signing.to_pkcs8_pem(Default::default())?;
        let again = parse_private_key(pem.as_bytes())?;
        assert_eq!(again.expose(), seed.expose());
        let e = parse_private_key(b"hello")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("OpenSSH"), "{e}");
        Ok(())
    }

    #[test]
    fn plain_file_must_be_private() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("k");
        std::fs::write(&path, OPENSSH)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))?;
        let e = read_private_file(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("0640") && e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        read_private_file(&path)?;
        Ok(())
    }
}
