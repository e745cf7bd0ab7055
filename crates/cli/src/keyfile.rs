//! Private key files `signet import` accepts, parsed in memory only.
//!
//! - OpenSSH (`-----BEGIN OPENSSH PRIVATE KEY-----`, what `ssh-keygen -t
//!   ed25519` writes), unencrypted or encrypted (the passphrase is asked up
//!   to three times, as `ssh-add` does).
//! - The private key `.txt` that Encord's web app downloads. The Encord SDK
//!   reads that text with `cryptography`'s `load_ssh_private_key`, so it is an
//!   OpenSSH private key; like that parser, signet finds the `BEGIN`/`END`
//!   block anywhere in the text and ignores line endings (CRLF) and
//!   indentation around it.
//! - PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, e.g. `openssl genpkey
//!   -algorithm ed25519`), unencrypted.
//!
//! Other key types are refused with their name (RSA, ECDSA, …). The secret
//! goes straight into an [`Ed25519Seed`]; the file's bytes are held in a
//! zeroizing buffer and wiped when parsing ends.

use anyhow::{anyhow, bail, Context, Result};
use signet_client::Ed25519Seed;
use ssh_key::private::KeypairData;
use ssh_key::{Algorithm, PrivateKey};
use zeroize::{Zeroize, Zeroizing};

const OPENSSH_BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
const OPENSSH_END: &str = "-----END OPENSSH PRIVATE KEY-----";
const PKCS8_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";

const ACCEPTED: &str = "signet imports Ed25519 private keys in OpenSSH format \
(`-----BEGIN OPENSSH PRIVATE KEY-----`, as `ssh-keygen -t ed25519` writes and \
Encord's web app downloads) or PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)";

/// An Ed25519 key parsed from a file.
pub struct ParsedKey {
    /// The secret seed (zeroized on drop).
    pub seed: Ed25519Seed,
    /// The public key.
    pub public: [u8; 32],
    /// The file's comment (OpenSSH), else empty.
    pub comment: String,
    /// Which format it was, for messages.
    pub format: &'static str,
}

/// How many times an encrypted key's passphrase is asked for (ssh-add's
/// habit) when it is typed; a passphrase from stdin gets one try.
pub const PASSPHRASE_TRIES: u32 = 3;

/// What a key's passphrase prompt is told: which try this is (from 0).
pub type PassphrasePrompt<'a> = &'a mut dyn FnMut(u32) -> Result<Zeroizing<String>>;

/// Parses a private key file's contents. `passphrase` is called only for an
/// encrypted key, with the number of wrong tries so far, up to `tries`
/// times. `shown` names the file in messages.
pub fn parse(
    data: &[u8],
    shown: &str,
    tries: u32,
    passphrase: PassphrasePrompt<'_>,
) -> Result<ParsedKey> {
    let text = std::str::from_utf8(data).map_err(|_| {
        anyhow!("{shown} is not a text key file (it is binary or damaged): {ACCEPTED}")
    })?;
    if let Some(pem) = openssh_block(text) {
        return parse_openssh(&pem, shown, tries, passphrase);
    }
    if text.contains(PKCS8_BEGIN) {
        return parse_pkcs8(text, shown);
    }
    for (marker, kind) in [
        ("-----BEGIN RSA PRIVATE KEY-----", "an RSA key (PKCS#1)"),
        ("-----BEGIN EC PRIVATE KEY-----", "an ECDSA key (SEC1)"),
        ("-----BEGIN DSA PRIVATE KEY-----", "a DSA key"),
    ] {
        if text.contains(marker) {
            bail!("{shown} holds {kind}: signet holds Ed25519 keys only; make one with `signet generate NAME` or `ssh-keygen -t ed25519`");
        }
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        bail!("{shown} is an encrypted PKCS#8 key, which signet does not read: decrypt it first (`openssl pkey -in {shown} -out plain.pem`, then import plain.pem with --remove-source), or convert it to OpenSSH format");
    }
    if text.trim_start().starts_with("ssh-") {
        bail!("{shown} is a public key, not a private key: import the private key file (without .pub)");
    }
    bail!("{shown} is not a private key signet can read (no key block found, or the file is damaged): {ACCEPTED}")
}

/// The OpenSSH block rebuilt canonically (as `load_ssh_private_key` accepts
/// it: anywhere in the text, any line endings and indentation).
fn openssh_block(text: &str) -> Option<Zeroizing<String>> {
    let start = text.find(OPENSSH_BEGIN)? + OPENSSH_BEGIN.len();
    let len = text[start..].find(OPENSSH_END)?;
    let body: Zeroizing<String> = Zeroizing::new(
        text[start..start + len]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
    );
    let mut out = Zeroizing::new(String::with_capacity(body.len() + 128));
    out.push_str(OPENSSH_BEGIN);
    out.push('\n');
    for chunk in body.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).ok()?);
        out.push('\n');
    }
    out.push_str(OPENSSH_END);
    out.push('\n');
    Some(out)
}

/// What to say about a key of another algorithm.
fn not_ed25519(shown: &str, algorithm: &str) -> anyhow::Error {
    let kind = match algorithm {
        a if a.starts_with("ecdsa-sha2-") => format!("an ECDSA key ({a})"),
        "ssh-rsa" => "an RSA key (ssh-rsa)".to_owned(),
        "ssh-dss" => "a DSA key (ssh-dss)".to_owned(),
        a if a.starts_with("sk-") => format!("a security-key key ({a})"),
        a => format!("a {a} key"),
    };
    anyhow!("{shown} holds {kind}: signet holds Ed25519 keys only; make one with `signet generate NAME` or `ssh-keygen -t ed25519`")
}

/// The algorithm an OpenSSH private key file declares for its first public
/// key, read from the container's header without decoding the key: the
/// `ssh-key` crate here decodes only Ed25519 keys, and would call any
/// other key "damaged".
fn openssh_algorithm(pem: &str) -> Option<String> {
    use base64::Engine as _;
    use signet_proto::wire::Reader;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let bin = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?,
    );
    let rest = bin.strip_prefix(b"openssh-key-v1\0")?;
    let mut r = Reader::new(rest);
    r.string("cipher").ok()?;
    r.string("kdf").ok()?;
    r.string("kdf options").ok()?;
    if r.u32("keys").ok()? == 0 {
        return None;
    }
    let public = r.string("public key").ok()?;
    let alg = Reader::new(public).string("algorithm").ok()?;
    std::str::from_utf8(alg).ok().map(str::to_owned)
}

fn parse_openssh(
    pem: &str,
    shown: &str,
    tries: u32,
    passphrase: PassphrasePrompt<'_>,
) -> Result<ParsedKey> {
    if let Some(alg) = openssh_algorithm(pem) {
        if alg != Algorithm::Ed25519.as_str() {
            return Err(not_ed25519(shown, &alg));
        }
    }
    let key = PrivateKey::from_openssh(pem).map_err(|e| {
        anyhow!("{shown} has an OpenSSH key block but it is damaged ({e}): export the key again")
    })?;
    let algorithm = key.algorithm();
    if algorithm != Algorithm::Ed25519 {
        return Err(not_ed25519(shown, algorithm.as_str()));
    }
    let key = if key.is_encrypted() {
        let mut attempt = 0;
        loop {
            let pass = passphrase(attempt)?;
            match key.decrypt(pass.as_bytes()) {
                Ok(k) => break k,
                Err(_) if attempt + 1 < tries => {
                    eprintln!("signet: bad passphrase for {shown}, try again");
                    attempt += 1;
                }
                Err(_) => bail!(
                    "wrong passphrase for {shown} ({} {}; or the file is damaged): nothing was added or stored",
                    attempt + 1,
                    if attempt == 0 { "try" } else { "tries" }
                ),
            }
        }
    } else {
        key
    };
    let KeypairData::Ed25519(pair) = key.key_data() else {
        bail!("{shown} does not hold an Ed25519 key pair: make one with `ssh-keygen -t ed25519`");
    };
    let mut seed_bytes = pair.private.to_bytes();
    let seed = Ed25519Seed::new(seed_bytes);
    seed_bytes.zeroize();
    Ok(ParsedKey {
        seed,
        public: pair.public.0,
        comment: key.comment().to_owned(),
        format: "OpenSSH",
    })
}

/// Ed25519's algorithm OID (RFC 8410).
const OID_ED25519: &str = "1.3.101.112";

fn parse_pkcs8(text: &str, shown: &str) -> Result<ParsedKey> {
    use pkcs8::der::Decode as _;
    let start = text.find(PKCS8_BEGIN).unwrap_or(0);
    let (label, doc) = pkcs8::SecretDocument::from_pem(&text[start..]).map_err(|e| {
        anyhow!("{shown} has a PKCS#8 block but it is damaged ({e}): export the key again")
    })?;
    if label != "PRIVATE KEY" {
        bail!("{shown}: unexpected PEM label {label:?}: {ACCEPTED}");
    }
    let info = pkcs8::PrivateKeyInfo::from_der(doc.as_bytes())
        .map_err(|e| anyhow!("{shown} is not a valid PKCS#8 private key ({e})"))?;
    let oid = info.algorithm.oid.to_string();
    if oid != OID_ED25519 {
        let kind = match oid.as_str() {
            "1.2.840.113549.1.1.1" => "an RSA key".to_owned(),
            "1.2.840.10045.2.1" => "an ECDSA key".to_owned(),
            "1.3.101.113" => "an Ed448 key".to_owned(),
            "1.3.101.110" => "an X25519 key".to_owned(),
            other => format!("a key of algorithm {other}"),
        };
        bail!("{shown} holds {kind}: signet holds Ed25519 keys only; make one with `signet generate NAME` or `ssh-keygen -t ed25519`");
    }
    // RFC 8410: privateKey is an OCTET STRING holding the 32-byte seed.
    let inner = info.private_key;
    let seed_bytes: &[u8; 32] = match inner {
        [0x04, 0x20, rest @ ..] => rest.try_into().ok(),
        _ => None,
    }
    .ok_or_else(|| anyhow!("{shown}: the Ed25519 private key field is malformed"))?;
    let seed = Ed25519Seed::new(*seed_bytes);
    let public = ed25519_dalek::SigningKey::from_bytes(seed.expose())
        .verifying_key()
        .to_bytes();
    if let Some(listed) = info.public_key {
        if listed != public {
            bail!("{shown}: its public key does not match its private key (the file is damaged)");
        }
    }
    Ok(ParsedKey {
        seed,
        public,
        comment: String::new(),
        format: "PKCS#8",
    })
}

/// Refuses a private key file that group or others may read, as ssh-add
/// does ("UNPROTECTED PRIVATE KEY FILE"), unless `force`: a key others can
/// read is not a secret any more, and adding it hides that. Like OpenSSH,
/// only files owned by the caller are judged.
pub fn check_permissions(path: &std::path::Path, shown: &str, force: bool) -> Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    if force || path.as_os_str() == "-" {
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(path) else {
        // read_source says why it cannot be read.
        return Ok(());
    };
    let mode = meta.mode() & 0o7777;
    if meta.uid() == rustix::process::getuid().as_raw() && mode & 0o077 != 0 {
        bail!(
            "WARNING: UNPROTECTED PRIVATE KEY FILE! Permissions {mode:04o} for '{shown}' are too open: \
             it is required that your private key files are NOT accessible by others, so this key \
             was not used (as ssh-add refuses it). Run `chmod 600 {shown}`, or pass --force to use it anyway"
        );
    }
    Ok(())
}

/// Reads a key file (or stdin for `-`) into a zeroizing buffer.
pub fn read_source(path: &std::path::Path, shown: &str) -> Result<Zeroizing<Vec<u8>>> {
    use std::io::Read as _;
    let mut data = Zeroizing::new(Vec::with_capacity(8192));
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(1 << 20)
            .read_to_end(&mut data)
            .context("could not read the key from stdin")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(1 << 20).read_to_end(&mut data))
            .with_context(|| format!("could not read the key file {shown}"))?;
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::private::Ed25519Keypair;
    use ssh_key::LineEnding;

    fn no_pass(_: u32) -> Result<Zeroizing<String>> {
        bail!("asked for a passphrase")
    }

    fn openssh(seed: u8, comment: &str) -> Result<String> {
        let pair = Ed25519Keypair::from_seed(&[seed; 32]);
        let key = PrivateKey::new(KeypairData::Ed25519(pair), comment)?;
        Ok(key.to_openssh(LineEnding::LF)?.to_string())
    }

    #[test]
    fn openssh_and_encord_txt() -> Result<()> {
        let pem = openssh(5, "me@host")?;
        let k = parse(pem.as_bytes(), "k", 1, &mut no_pass)?;
        assert_eq!(k.seed.expose(), &[5; 32]);
        assert_eq!(k.comment, "me@host");
        // Encord-style text: CRLF, indentation, text around the block.
        let txt = format!(
            "Encord private key\r\n\r\n  {}\r\n",
            pem.replace('\n', "\r\n  ")
        );
        let k = parse(txt.as_bytes(), "k.txt", 1, &mut no_pass)?;
        assert_eq!(k.seed.expose(), &[5; 32]);
        Ok(())
    }

    #[test]
    fn pkcs8_pem() -> Result<()> {
        // openssl genpkey -algorithm ed25519 layout: the RFC 8410 v1 encoding.
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&[9; 32]);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        let k = parse(pem.as_bytes(), "k.pem", 1, &mut no_pass)?;
        assert_eq!(k.seed.expose(), &[9; 32]);
        assert_eq!(k.format, "PKCS#8");
        Ok(())
    }

    /// An OpenSSH container holding another algorithm's key is named by
    /// its algorithm ("signet holds Ed25519 keys only"), not "damaged".
    #[test]
    fn other_openssh_algorithms_are_named() {
        use base64::Engine as _;
        use signet_proto::wire::WireWrite as _;
        for (alg, said) in [
            ("ecdsa-sha2-nistp256", "an ECDSA key (ecdsa-sha2-nistp256)"),
            ("ssh-rsa", "an RSA key (ssh-rsa)"),
        ] {
            let mut public = Vec::new();
            public.put_string(alg.as_bytes());
            public.put_string(b"...");
            let mut bin = b"openssh-key-v1\0".to_vec();
            bin.put_string(b"none");
            bin.put_string(b"none");
            bin.put_string(b"");
            bin.put_u32(1);
            bin.put_string(&public);
            bin.put_string(b"private section, not read");
            let pem = format!(
                "{OPENSSH_BEGIN}\n{}\n{OPENSSH_END}\n",
                base64::engine::general_purpose::STANDARD.encode(&bin)
            );
            let e = parse(pem.as_bytes(), "id", 1, &mut no_pass)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(said), "{e}");
            assert!(e.contains("signet holds Ed25519 keys only"), "{e}");
            assert!(!e.contains("damaged"), "{e}");
        }
    }

    #[test]
    fn a_key_file_others_can_read_is_refused_unless_forced() -> Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let f = dir.path().join("id");
        std::fs::write(&f, "x")?;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644))?;
        let e = check_permissions(&f, "id", false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("UNPROTECTED PRIVATE KEY FILE"), "{e}");
        assert!(e.contains("0644") && e.contains("--force"), "{e}");
        check_permissions(&f, "id", true)?;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))?;
        check_permissions(&f, "id", false)?;
        Ok(())
    }

    #[test]
    fn refusals_name_the_problem() {
        let msg = |d: &str| {
            parse(d.as_bytes(), "f", 1, &mut no_pass)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(msg("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n").contains("RSA"));
        assert!(msg("garbage").contains("not a private key"));
        assert!(msg("ssh-ed25519 AAAA x").contains("public key"));
        assert!(msg(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
        )
        .contains("damaged"));
    }
}
