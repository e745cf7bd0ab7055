//! The audit key: the Ed25519 key only signetd holds, which signs the log's
//! seals.
//!
//! In memory it lives in locked pages ([`LockedBox`]) and zeroizes itself
//! when dropped. At rest, in user mode, its seed is in the key store (start-up
//! reads it through the store and hands it here: this layer does not know the
//! store); in system mode it is `audit.key` in the state directory, which
//! [`load_or_create`] owns: 32 raw bytes, owned by signetd's uid, mode 0600,
//! written atomically (a temporary file in the same directory, fsynced,
//! renamed, the directory fsynced), so a crash leaves the old key or the new
//! one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, SigningKey};
use signet_proto::Ed25519Seed;
use zeroize::Zeroizing;

use crate::hardening::LockedBox;

/// The audit key, in locked memory.
pub struct AuditKey {
    signing: LockedBox<SigningKey>,
    public: [u8; 32],
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", hex::encode(self.public))
    }
}

impl AuditKey {
    /// The key of `seed` (copied into locked memory; the caller's seed
    /// zeroizes itself when dropped).
    pub fn from_seed(seed: &Ed25519Seed) -> io::Result<Self> {
        Self::from_bytes(seed.expose())
    }

    /// The key of a seed the caller holds (in user mode, the key store's
    /// locked buffer; the caller wipes the stack afterwards).
    pub fn from_bytes(seed: &[u8; 32]) -> io::Result<Self> {
        let signing = LockedBox::new(SigningKey::from_bytes(seed))?;
        let public = signing.verifying_key().to_bytes();
        Ok(Self { signing, public })
    }

    /// A fresh random key (tests, and [`load_or_create`]).
    pub fn generate() -> io::Result<(Self, Ed25519Seed)> {
        let seed = Ed25519Seed::new(SigningKey::generate(&mut rand_core::OsRng).to_bytes());
        Ok((Self::from_seed(&seed)?, seed))
    }

    /// The public key seals name and verify with.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// Signs a seal message.
    pub(super) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }
}

/// Why the key file cannot be used. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading, creating or writing it failed.
    #[error("audit key {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Group or others may read or replace it.
    #[error("audit key {}: its permissions {mode:04o} let group or others read or replace it: run `chmod 600 {0}` (or remove it to start a new key: earlier seals then verify only with the old public key)", path.display())]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// Another user owns it.
    #[error("audit key {}: owned by uid {owner}, not by signetd's uid {uid}", path.display())]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// signetd's uid.
        uid: u32,
    },
    /// Not 32 bytes.
    #[error("audit key {}: not a 32-byte seed ({len} bytes): it was damaged or replaced; move it away to start a new key (earlier seals then verify only with the old public key)", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
}

/// Reads the key at `path`, or makes one there if there is none. Returns
/// the key and whether it was made now.
pub fn load_or_create(path: &Path) -> Result<(AuditKey, bool), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    // The directory first: signetd's own, or no key is read from it.
    super::open::make_dir(path).map_err(io)?;
    match File::open(path) {
        Ok(f) => Ok((read_key(path, f)?, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (key, seed) = AuditKey::generate().map_err(io)?;
            write_atomically(path, seed.expose()).map_err(io)?;
            Ok((key, true))
        }
        Err(e) => Err(io(e)),
    }
}

fn read_key(path: &Path, mut f: File) -> Result<AuditKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let meta = f.metadata().map_err(io)?;
        let uid = rustix::process::geteuid().as_raw();
        if meta.uid() != uid {
            return Err(KeyFileError::WrongOwner {
                path: path.to_owned(),
                owner: meta.uid(),
                uid,
            });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(33));
    io::Read::by_ref(&mut f)
        .take(33)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let seed: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyFileError::Corrupt {
            path: path.to_owned(),
            len: bytes.len(),
        })?;
    let seed = Ed25519Seed::new(seed);
    AuditKey::from_seed(&seed).map_err(io)
}

/// Writes `bytes` to `path` so that a crash leaves the old file or the new
/// one: a temporary file beside it (0600, created exclusively), fsynced,
/// renamed over, the directory fsynced.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    super::open::make_dir(path)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let _ = fs::remove_file(&tmp);
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let result = (|| {
        let mut f = o.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_read_back_and_checked() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state/audit.key");
        let (a, created) = load_or_create(&path)?;
        assert!(created);
        let (b, created) = load_or_create(&path)?;
        assert!(!created);
        assert_eq!(a.public(), b.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640))?;
            let e = load_or_create(&path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("0640") && e.contains("chmod 600"), "{e}");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
        }
        fs::write(&path, b"short")?;
        let e = load_or_create(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("not a 32-byte seed"), "{e}");
        // No temporary file left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap_or(dir.path()))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        Ok(())
    }

    #[test]
    fn signatures_verify_with_the_public_key() -> io::Result<()> {
        use ed25519_dalek::Verifier as _;
        let (k, _) = AuditKey::generate()?;
        let sig = k.sign(b"seal");
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&k.public()).map_err(io::Error::other)?;
        assert!(vk
            .verify(b"seal", &ed25519_dalek::Signature::from_bytes(&sig))
            .is_ok());
        Ok(())
    }
}
