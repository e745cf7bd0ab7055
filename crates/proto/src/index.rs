//! The key index's schema: which keys the store holds, by name, and the
//! state of each (the journal of signetd's crash-safety protocol). Shared by
//! signetd, which owns the file (`keys.toml`, see `signetd`'s store layer),
//! and `signet list`, which reads it when no agent runs. No I/O here: the
//! caller reads and writes the TOML text.
//!
//! Entries carry a `state`: `pending` (written *before* the secret goes into
//! the keyring), `active`, and `removing` (a tombstone written *before* the
//! secret is deleted). The private key never appears here, and a field this
//! schema does not know is an error, so that nothing else (a secret, say)
//! can be smuggled into the file unnoticed.
//!
//! A sealed store (`[store] seal = "passphrase"`) also has a `[sealing]`
//! table: the public half of its store key and how it is wrapped, and the
//! same `pending`/`active` journal state for the store key's creation. It
//! holds nothing secret either (the wrapped store key is in the keyring).
//! An index with `[sealing]` is format version 2, so that a signet from
//! before sealing refuses it ("upgrade signet") instead of taking sealed
//! entries for damaged seeds; one without is still written as version 1.

use serde::{Deserialize, Serialize};

/// The newest format version this build reads and writes.
pub const VERSION: u32 = 2;
/// The version of an index without `[sealing]`, which every signet reads.
pub const VERSION_UNSEALED: u32 = 1;

/// The comment at the top of every index file signetd writes.
pub const HEADER: &str = "# signet's key index: names and public information only.\n\
# The private keys are in the OS keyring; this file holds no secret.\n\
# Written by signetd; edit with `signet rename` / `signet remove`.\n\n";

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Being stored: the secret may or may not be in the keyring yet.
    Pending,
    /// Stored and verified.
    Active,
    /// Being deleted: the secret may or may not still be in the keyring.
    Removing,
}

impl State {
    /// The name written in the file and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Removing => "removing",
        }
    }
}

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Unique name.
    pub name: String,
    /// Comment for the public key line.
    #[serde(default)]
    pub comment: String,
    /// Encord key id: hex of the raw public key; the keyring account name.
    pub key_id: String,
    /// `SHA256:` fingerprint (for people; derived from the key id).
    pub fingerprint: String,
    /// When it was stored, RFC 3339 UTC.
    pub created_at: String,
    /// The store holding the secret (`keyutils`, `secret-service`, …).
    pub store: String,
    /// Journal state.
    pub state: State,
}

impl Entry {
    /// The raw public key, from the key id.
    pub fn public(&self) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(&self.key_id, &mut out).ok()?;
        Some(out)
    }
}

/// How a sealed store's keys are sealed (`[sealing]`): public facts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealing {
    /// What unlocks the store key: `passphrase`.
    pub mode: String,
    /// Journal state of the store key: `pending` (written before the
    /// wrapped store key goes into the keyring) or `active`.
    pub state: State,
    /// The store key's public half (X25519, 64 hex digits): every seed is
    /// sealed to it.
    pub recipient: String,
    /// How the store key is wrapped, for people (`argon2id m=65536 KiB t=3
    /// p=4, xchacha20-poly1305`); the keyring entry carries the parameters
    /// it was made with.
    pub kdf: String,
    /// When the store was sealed, RFC 3339 UTC.
    pub created_at: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexFile {
    /// Format version: 2 with `[sealing]`, else 1.
    pub version: u32,
    /// The sealed store's store key, if the store is sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealing: Option<Sealing>,
    /// The keys, in the order they were stored.
    #[serde(default, rename = "key")]
    pub keys: Vec<Entry>,
}

impl Default for IndexFile {
    fn default() -> Self {
        Self {
            version: VERSION_UNSEALED,
            sealing: None,
            keys: Vec::new(),
        }
    }
}

impl IndexFile {
    /// The entry named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Entry> {
        self.keys.iter().find(|e| e.name == name)
    }

    /// The entry with key id `key_id`.
    pub fn by_key_id(&self, key_id: &str) -> Option<&Entry> {
        self.keys.iter().find(|e| e.key_id == key_id)
    }

    /// Mutable entry with key id `key_id`.
    pub fn by_key_id_mut(&mut self, key_id: &str) -> Option<&mut Entry> {
        self.keys.iter_mut().find(|e| e.key_id == key_id)
    }

    /// Removes the entry with key id `key_id`.
    pub fn remove(&mut self, key_id: &str) -> Option<Entry> {
        let i = self.keys.iter().position(|e| e.key_id == key_id)?;
        Some(self.keys.remove(i))
    }

    /// Sets (or clears) `[sealing]`, and the version that goes with it.
    pub fn set_sealing(&mut self, sealing: Option<Sealing>) {
        self.version = if sealing.is_some() {
            VERSION
        } else {
            VERSION_UNSEALED
        };
        self.sealing = sealing;
    }
}

/// What makes a decoded index unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexProblem {
    /// Written by another version.
    #[error("version = {0} is not supported by this signet (expected 1 or 2): upgrade signet")]
    Version(u32),
    /// `[sealing]` in a version 1 file, or a version 2 file without it.
    #[error("version = {0} does not match the [sealing] table (version 2 has one, version 1 none): fix the version line")]
    SealingVersion(u32),
    /// A `[sealing]` recipient that is not a public key.
    #[error("[sealing] recipient {0:?} is not 64 hex digits")]
    Recipient(String),
    /// A key id that is not a public key.
    #[error("key {name:?}: key_id {key_id:?} is not 64 hex digits")]
    KeyId {
        /// The entry's name.
        name: String,
        /// Its key id.
        key_id: String,
    },
    /// Two entries with one name.
    #[error("two keys are named {0:?}")]
    DuplicateName(String),
    /// Two entries with one key id.
    #[error("key id {0} is listed twice")]
    DuplicateKeyId(String),
}

impl IndexFile {
    /// Checks what the types cannot: the version, every key id, and that
    /// names and key ids are unique.
    pub fn check(&self) -> Result<(), IndexProblem> {
        if self.version != VERSION && self.version != VERSION_UNSEALED {
            return Err(IndexProblem::Version(self.version));
        }
        if (self.version == VERSION) != self.sealing.is_some() {
            return Err(IndexProblem::SealingVersion(self.version));
        }
        if let Some(s) = &self.sealing {
            let hex = s.recipient.len() == 64 && s.recipient.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex {
                return Err(IndexProblem::Recipient(s.recipient.clone()));
            }
        }
        let mut names = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for e in &self.keys {
            if e.public().is_none() {
                return Err(IndexProblem::KeyId {
                    name: e.name.clone(),
                    key_id: e.key_id.clone(),
                });
            }
            if !names.insert(e.name.as_str()) {
                return Err(IndexProblem::DuplicateName(e.name.clone()));
            }
            if !ids.insert(e.key_id.as_str()) {
                return Err(IndexProblem::DuplicateKeyId(e.key_id.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, id: u8) -> Entry {
        Entry {
            name: name.into(),
            comment: String::new(),
            key_id: hex::encode([id; 32]),
            fingerprint: "SHA256:x".into(),
            created_at: "1970-01-01T00:00:00Z".into(),
            store: "memory".into(),
            state: State::Active,
        }
    }

    #[test]
    fn checks() {
        let mut f = IndexFile::default();
        f.keys.push(entry("a", 1));
        assert_eq!(f.check(), Ok(()));
        assert_eq!(f.by_name("a").and_then(Entry::public), Some([1; 32]));
        f.keys.push(entry("a", 2));
        assert_eq!(f.check(), Err(IndexProblem::DuplicateName("a".into())));
        f.keys[1].name = "b".into();
        f.keys[1].key_id = f.keys[0].key_id.clone();
        assert!(matches!(f.check(), Err(IndexProblem::DuplicateKeyId(_))));
        f.keys[1].key_id = "00".into();
        assert!(matches!(f.check(), Err(IndexProblem::KeyId { .. })));
        assert_eq!(
            IndexFile {
                version: 3,
                sealing: None,
                keys: vec![]
            }
            .check(),
            Err(IndexProblem::Version(3))
        );
        // Version 2 goes with [sealing], version 1 without.
        let sealing = Sealing {
            mode: "passphrase".into(),
            state: State::Active,
            recipient: "ab".repeat(32),
            kdf: "argon2id".into(),
            created_at: "1970-01-01T00:00:00Z".into(),
        };
        let mut f = IndexFile::default();
        f.set_sealing(Some(sealing.clone()));
        assert_eq!((f.version, f.check()), (2, Ok(())));
        f.version = 1;
        assert_eq!(f.check(), Err(IndexProblem::SealingVersion(1)));
        f.set_sealing(None);
        assert_eq!((f.version, f.check()), (1, Ok(())));
        f.version = 2;
        assert_eq!(f.check(), Err(IndexProblem::SealingVersion(2)));
        f.set_sealing(Some(Sealing {
            recipient: "zz".into(),
            ..sealing
        }));
        assert!(matches!(f.check(), Err(IndexProblem::Recipient(_))));
        assert_eq!(State::Removing.as_str(), "removing");
    }
}
