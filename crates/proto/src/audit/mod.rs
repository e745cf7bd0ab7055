//! The audit log's line format, its hash chain and its seals (no I/O: the
//! daemon writes the files, `signet audit` reads them).
//!
//! Each line is one JSON object ([`Record`]) ending in `\n`, in one canonical
//! form (field order as in [`Record`], empty fields left out, no spaces):
//! [`canonical`] of the parsed line gives back its exact bytes, and
//! [`verify`] treats any other line as edited. `prev` is the lowercase hex
//! SHA-256 of the previous line's exact bytes (without its newline); the
//! first line of a chain has `prev` = [`GENESIS`] and `seq` = 1.
//!
//! **Seals** anchor the chain to a key the file alone cannot forge (as
//! Certificate Transparency's signed tree heads and journald's Forward Secure
//! Sealing do): a seal line (`"event":"seal"`) at `seq` S carries the hash
//! of the chain head, line S-1 (its `prev`), and an Ed25519 signature
//! (`sig`) by the daemon's audit key (`audit_key`) over
//! [`SEAL_CONTEXT`] followed by the seal line's canonical form without
//! `sig` ([`seal_message`]). Because every line names the hash of the one
//! before it, a valid seal vouches for every line before it. signetd seals
//! every `seal_every` records, every `seal_interval_secs` seconds, at
//! start-up, at shutdown, after the log recovers from a write error, and as
//! the first line of each rotated-in file (`trigger` says which). A rotation
//! seal also carries the file's number in the chain (`file_no`, counting
//! from 0) and how many rotated files the daemon keeps (`keep`), so a
//! verifier knows which older files must still exist.
//!
//! A seal by a new audit key names the key before it (`previous_key`): a
//! verifier trusting the newest key learns each older key from the seal
//! that retired it, and accepts it only for the lines before that seal
//! (journald's CVE-2023-31439 was the opposite mistake: old entries
//! accepted under a newer key).
//!
//! A **new chain** (`"event":"new-chain"`, `seq` 1, `prev` = [`GENESIS`])
//! starts when the daemon could not resume the old one (garbage in the file,
//! a broken chain, a seal that does not verify, a file truncated or removed
//! under it): it names the file it moved aside (`broken_file`) and the last
//! good line there (`broken_seq`, `broken_hash`), and says why (`reason`).
//!
//! What a record must never hold: the request body, the signature made for
//! the caller, or any secret. The body is represented by its SHA-256 only.

mod verify;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use verify::{verify, Finding, Input, Kind, KnownSeal, LiveHead, LogFile, Report};

/// `prev` of the first line of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an audit key signs before a seal's canonical form: a domain
/// separator, so an audit signature can never be mistaken for anything else.
pub const SEAL_CONTEXT: &[u8] = b"signet-audit-seal-v1\n";

/// `event` of a seal line.
pub const SEAL: &str = "seal";
/// `event` of the first line of a chain started because the old one could
/// not be resumed.
pub const NEW_CHAIN: &str = "new-chain";
/// `event` of a rotated-in file's first line as written before seals existed
/// (still accepted by [`verify`]).
pub const ROTATED: &str = "rotated";
/// A seal's `trigger` when it opens a rotated-in file.
pub const TRIGGER_ROTATION: &str = "rotation";

/// One audit line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the chain, from 1, one more per line.
    pub seq: u64,
    /// UTC time, RFC 3339 (`2026-11-23T21:51:24Z`).
    pub time: String,
    /// `sign`, `refuse`, `dropped`, `seal`, `new-chain`, or `rotated` (a
    /// rotated-in file's header as written before seals existed).
    pub event: String,
    /// The key's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Encord's key id (hex of the public key).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_id: String,
    /// `encord-v1`, `encord-v2` or `ssh`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// HTTP method.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// Request target (path and query).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// Hex SHA-256 of the body (HTTP) or of the signed data (SSH).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    /// v2 `created` (unix seconds) of a signed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// Caller's pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Caller's uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Caller's executable.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exe: String,
    /// The policy rule that decided (empty: the key has none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rule: String,
    /// Why it was refused; for `dropped`, `new-chain` and some seals, what
    /// happened.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Rotation seals and old headers: the file this one follows, as named
    /// when it was rotated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rotated_from: String,
    /// Seals: why now (`start`, `count`, `interval`, `shutdown`,
    /// `rotation`, `recovered`, `new-chain`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trigger: String,
    /// Rotation seals: this file's number in the chain (the first file is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_no: Option<u64>,
    /// Rotation seals: how many rotated files the daemon keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<u64>,
    /// Start seals: how many lines before this seal the previous run wrote
    /// without sealing them (it stopped without its shutdown seal: a crash
    /// or `kill -9`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsealed: Option<u64>,
    /// `new-chain`: the file that could not be resumed, as moved aside.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broken_file: String,
    /// `new-chain`: `seq` of the last good line of that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_seq: Option<u64>,
    /// `new-chain`: hash of the last good line of that file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub broken_hash: String,
    /// Seals: hex of the audit key's 32-byte public key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub audit_key: String,
    /// The first seal by a new audit key (the old one was lost: a kernel
    /// keyring forgets at reboot): hex of the key that made the seals
    /// before it. Signed by the new key, it is what lets a verifier that
    /// trusts the new key check the older seals, and only those before it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub previous_key: String,
    /// Seals: hex of the Ed25519 signature over [`seal_message`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sig: String,
    /// Hex SHA-256 of the previous line.
    pub prev: String,
}

impl Record {
    /// A seal line.
    pub fn is_seal(&self) -> bool {
        self.event == SEAL
    }

    /// The first line of a rotated-in file: a rotation seal, or an old
    /// `rotated` header.
    pub fn opens_rotated_file(&self) -> bool {
        self.event == ROTATED || (self.is_seal() && self.trigger == TRIGGER_ROTATION)
    }
}

/// The file beside the log that holds its latest seal (`audit.log` →
/// `audit.head`).
pub fn head_file(log: &std::path::Path) -> std::path::PathBuf {
    log.with_extension("head")
}

/// The `n`th rotated file (`audit.log` → `audit.log.N`).
pub fn rotated_file(log: &std::path::Path, n: usize) -> std::path::PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(format!(".{n}"));
    std::path::PathBuf::from(s)
}

/// The hex SHA-256 of a line's bytes (without its newline).
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// A record's one canonical line (without the newline).
pub fn canonical(rec: &Record) -> Vec<u8> {
    // Serializing a struct of strings and integers cannot fail.
    serde_json::to_vec(rec).unwrap_or_default()
}

/// The bytes an audit key signs for the seal `rec`: [`SEAL_CONTEXT`], then
/// the seal's canonical form without `sig`.
pub fn seal_message(rec: &Record) -> Vec<u8> {
    let unsigned = Record {
        sig: String::new(),
        ..rec.clone()
    };
    let mut msg = SEAL_CONTEXT.to_vec();
    msg.extend_from_slice(&canonical(&unsigned));
    msg
}

/// Checks a seal's signature with `key` (32-byte Ed25519 public key).
pub fn seal_signature_ok(rec: &Record, key: &[u8; 32]) -> bool {
    use ed25519_dalek::Verifier as _;
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(key) else {
        return false;
    };
    let mut sig = [0u8; 64];
    if hex::decode_to_slice(&rec.sig, &mut sig).is_err() {
        return false;
    }
    vk.verify(
        &seal_message(rec),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .is_ok()
}

/// The 32-byte key a seal names, if it names one.
pub fn seal_key(rec: &Record) -> Option<[u8; 32]> {
    let mut k = [0u8; 32];
    hex::decode_to_slice(&rec.audit_key, &mut k).ok()?;
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_round_trips_and_seal_message_omits_sig() {
        let rec = Record {
            seq: 3,
            time: "2026-01-01T00:00:00Z".into(),
            event: SEAL.into(),
            trigger: "count".into(),
            audit_key: "ab".repeat(32),
            sig: "cd".repeat(64),
            prev: GENESIS.into(),
            ..Record::default()
        };
        let line = canonical(&rec);
        let back: Record = serde_json::from_slice(&line).unwrap_or_default();
        assert_eq!(back, rec);
        assert_eq!(canonical(&back), line);
        let msg = seal_message(&rec);
        assert!(msg.starts_with(SEAL_CONTEXT));
        let text = String::from_utf8_lossy(&msg);
        assert!(!text.contains("\"sig\""), "{text}");
        assert!(text.contains("\"trigger\":\"count\""), "{text}");
    }
}
