//! Shared steps of the key-store tests (real keyutils and real Secret Service).

use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::Verifier as _;
use serde_json::Value;
use signet_tests::keystore::StoreAgent;
use signet_tests::Run;

/// The raw public key of a `ssh-ed25519 AAAA… comment` line.
#[track_caller]
pub fn public_of_line(line: &str) -> [u8; 32] {
    let b64 = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("not a public key line: {line:?}"));
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("bad base64 in {line:?}: {e}"));
    signet_proto::key::parse_ed25519_blob(&blob).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

/// `signet pubkey NAME` → raw public key.
#[track_caller]
pub fn pubkey(agent: &StoreAgent, name: &str) -> [u8; 32] {
    let r = agent.signet(["pubkey", name]);
    r.assert_ok();
    public_of_line(r.stdout.trim())
}

/// Signs a message with the loaded key `name` through `signet sign` and
/// verifies the signature with `public`.
#[track_caller]
pub fn sign_and_verify(agent: &StoreAgent, name: &str, public: &[u8; 32]) {
    let msg = format!("message for {name}");
    let file = agent.dir().join("keys").join(format!("msg-{name}"));
    std::fs::write(&file, &msg).unwrap_or_else(|e| panic!("{e}"));
    let r = agent.signet([
        "sign".as_ref(),
        "--key".as_ref(),
        name.as_ref(),
        file.as_os_str(),
    ]);
    r.assert_ok();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(r.stdout.trim())
        .unwrap_or_else(|e| panic!("bad signature output ({e}):\n{r}"));
    let sig: [u8; 64] = sig
        .try_into()
        .unwrap_or_else(|_| panic!("signature is not 64 bytes:\n{r}"));
    ed25519_dalek::VerifyingKey::from_bytes(public)
        .unwrap_or_else(|e| panic!("{e}"))
        .verify(msg.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
        .unwrap_or_else(|e| panic!("signature does not verify: {e}\n{r}"));
}

/// The row named `name` in `signet list --json`, if any.
pub fn row(list: &Value, name: &str) -> Option<Value> {
    list.as_array()?.iter().find(|r| r["name"] == name).cloned()
}

/// Stored rows in `signet list --json`.
pub fn stored_rows(list: &Value) -> Vec<Value> {
    list.as_array()
        .map(|a| a.iter().filter(|r| r["stored"] == true).cloned().collect())
        .unwrap_or_default()
}

/// `ssh-keygen` an Ed25519 key in `dir` with passphrase `pass`.
#[track_caller]
pub fn keygen(dir: &Path, name: &str, key_type: &str, pass: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut cmd = signet_tests::ssh_command("ssh-keygen");
    cmd.env("HOME", dir)
        .args(["-q", "-t", key_type, "-N", pass, "-C", name])
        .arg("-f")
        .arg(&path);
    if key_type == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    signet_tests::run(&mut cmd).assert_ok();
    path
}

/// The raw public key of `path.pub`.
#[track_caller]
pub fn pub_file_key(path: &Path) -> [u8; 32] {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub");
    let line = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
    public_of_line(line.trim())
}

/// Asserts `r` failed and its stderr contains every needle.
#[track_caller]
pub fn assert_fails_with(r: &Run, needles: &[&str]) {
    r.assert_fail();
    for n in needles {
        assert!(r.stderr.contains(n), "stderr lacks {n:?}:\n{r}");
    }
}

/// Every way `seed` could be written down: raw, hex (both cases), base64
/// (padded and not, standard and URL-safe).
pub fn encodings(seed: &[u8; 32]) -> Vec<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    vec![
        seed.to_vec(),
        hex::encode(seed).into_bytes(),
        hex::encode_upper(seed).into_bytes(),
        STANDARD.encode(seed).into_bytes(),
        STANDARD_NO_PAD.encode(seed).into_bytes(),
        URL_SAFE_NO_PAD.encode(seed).into_bytes(),
        // The 64-byte OpenSSH private blob starts with the seed too; a
        // 16-byte window of the hex catches partial prints.
        hex::encode(&seed[..16]).into_bytes(),
    ]
}

/// Panics if any encoding of `seed` appears in any file under `dir` or in `log`.
#[track_caller]
pub fn assert_secret_absent(seed: &[u8; 32], dir: &Path, log: &str, what: &str) {
    let needles = encodings(seed);
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty(), "no files under {}", dir.display());
    for f in &files {
        let data = std::fs::read(f).unwrap_or_default();
        for n in &needles {
            assert!(
                !data.windows(n.len()).any(|w| w == n.as_slice()),
                "the private key of {what} appears in {}",
                f.display()
            );
        }
    }
    for n in &needles {
        assert!(
            !log.as_bytes().windows(n.len()).any(|w| w == n.as_slice()),
            "the private key of {what} appears in the daemon's log"
        );
    }
}

/// Asserts that `bytes` (a keyring entry, as another process of the user
/// reads it) hold no usable seed of the key `public`: not the seed itself
/// in any encoding (when the test knows it), and no 32 bytes of it, taken
/// as an Ed25519 seed (the way an attacker would try them), give `public`.
#[track_caller]
pub fn assert_not_a_usable_seed(bytes: &[u8], public: &[u8; 32], seed: Option<&[u8; 32]>) {
    assert_ne!(bytes.len(), 32, "the entry is exactly a seed's size");
    if let Some(seed) = seed {
        for n in encodings(seed) {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_slice()),
                "the seed is in the keyring entry"
            );
        }
    }
    for w in bytes.windows(32) {
        let mut candidate = [0u8; 32];
        candidate.copy_from_slice(w);
        let derived = ed25519_dalek::SigningKey::from_bytes(&candidate)
            .verifying_key()
            .to_bytes();
        assert_ne!(
            &derived, public,
            "32 bytes of the keyring entry are the key's seed"
        );
    }
}
