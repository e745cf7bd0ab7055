//! What the agent reports about keys, and signatures it makes.

use std::fmt;
use std::time::Duration;

pub use signet_proto::extension::CertificateInfo;
use signet_proto::key::{self, KeySelector};
use signet_proto::wire::Reader;

use crate::error::{Error, Result};

/// One loaded key, as `list@signet` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The SSH public key blob (what [`crate::Client::sign`] and
    /// [`crate::Client::remove`] take).
    pub key_blob: Vec<u8>,
    /// The raw 32-byte Ed25519 public key.
    pub public: [u8; 32],
    /// The key's name (its comment when added with `ssh-add`).
    pub name: String,
    /// Time left until the agent removes the key, if it has a lifetime.
    pub expires_in: Option<Duration>,
    /// Whether the agent asks the user before every use.
    pub confirm: bool,
    /// Where the key came from (`agent` for keys added over the socket).
    pub source: String,
    /// The key's policy in one line (`read-only: schemes encord-v2; …`);
    /// `None` when unrestricted.
    pub policy: Option<String>,
    /// Whether the key itself is one of the agent's SSH identities; false
    /// when only certificates of it were added (`name`, `expires_in` and
    /// `confirm` are then its first certificate's). Encord signing uses
    /// the key either way.
    pub listed: bool,
    /// The OpenSSH certificates of this key the agent holds, each an SSH
    /// identity of its own.
    pub certificates: Vec<CertificateInfo>,
}

impl KeyInfo {
    pub(crate) fn from_proto(k: signet_proto::extension::KeyInfo) -> Result<Self> {
        let public = key::parse_ed25519_blob(&k.key_blob)?;
        Ok(Self {
            key_blob: k.key_blob,
            public,
            name: k.name,
            expires_in: k.expires_in.map(Duration::from_secs),
            confirm: k.confirm,
            source: k.source,
            policy: (!k.policy.is_empty()).then_some(k.policy),
            listed: k.listed,
            certificates: k.certificates,
        })
    }

    /// The blobs of every SSH identity of this key: its own (if listed)
    /// and its certificates' (what `REMOVE_IDENTITY` takes to remove the
    /// key entirely).
    pub fn identity_blobs(&self) -> Vec<&[u8]> {
        let own = self.listed.then_some(self.key_blob.as_slice());
        own.into_iter()
            .chain(self.certificates.iter().map(|c| c.blob.as_slice()))
            .collect()
    }

    /// Encord's key id: the lowercase hex of the raw public key.
    pub fn key_id(&self) -> String {
        key::key_id(&self.public)
    }

    /// OpenSSH's `SHA256:…` fingerprint.
    pub fn fingerprint(&self) -> String {
        key::fingerprint(&self.key_blob)
    }

    /// The `ssh-ed25519 AAAA… name` public key line.
    pub fn openssh_line(&self) -> String {
        key::openssh_line(&self.public, &self.name)
    }
}

/// Picks the one key among `keys` that `selector` names (a name/comment, a
/// 64-hex-digit key id, or a `SHA256:` fingerprint; empty: the only key).
pub(crate) fn resolve_in(keys: Vec<KeyInfo>, selector: &str) -> Result<KeyInfo> {
    let sel = KeySelector::parse(selector);
    let mut matching: Vec<KeyInfo> = keys
        .into_iter()
        .filter(|k| sel.matches(&k.public, &k.name))
        .collect();
    match matching.len() {
        0 => Err(Error::NoSuchKey {
            selector: selector.trim().to_owned(),
        }),
        1 => Ok(matching.remove(0)),
        _ => Err(Error::AmbiguousKey {
            selector: selector.trim().to_owned(),
            candidates: matching.iter().map(KeyInfo::fingerprint).collect(),
        }),
    }
}

/// An Ed25519 signature made by the agent (the 64 raw bytes, `R || S`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// Parses the `string "ssh-ed25519" || string signature` blob of a
    /// `SIGN_RESPONSE`.
    pub fn from_ssh_blob(blob: &[u8]) -> Result<Self> {
        let mut r = Reader::new(blob);
        let alg = r.string("signature algorithm")?;
        if alg != key::ED25519_ALGORITHM.as_bytes() {
            return Err(Error::BadReply {
                reason: format!(
                    "a {} signature where an ssh-ed25519 one was expected",
                    String::from_utf8_lossy(alg)
                ),
            });
        }
        let sig = r.fixed::<64>("ed25519 signature")?;
        r.finish()?;
        Ok(Self(sig))
    }

    /// The 64 signature bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// The 64 signature bytes, by value.
    pub fn to_bytes(self) -> [u8; 64] {
        self.0
    }
}

impl From<Signature> for [u8; 64] {
    fn from(s: Signature) -> Self {
        s.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}
