//! Adding keys to the table, and which configuration name each key's rule
//! is bound to.
//!
//! A rule (`[keys.NAME] policy`) binds to a key's identity, its public key,
//! not to the mutable name: the first time a key is loaded in this daemon's
//! run, its name is the name the configuration knows it by
//! (`LoadedKey::bound_as`), and that binding is remembered by public key.
//! Renaming the key, unloading and loading it again, or re-adding it under
//! another comment keeps the binding; deleting it from the key store
//! forgets it. A restart resolves bindings by name again (the configuration
//! may have changed by then).
//!
//! So that no key can take another's rule or name, a key is refused when
//! its name is the name, or the binding, of another key that still exists:
//! loaded, stored (the key store's index), or configured with a `source`.
//! Names are checked like the key store checks its own: at most
//! `[agent] max_name_bytes`, no control or invisible characters. The table
//! holds at most `[agent] max_keys` keys, and never so many that the
//! identities answer would pass the 256 KiB frame cap.

use std::collections::HashMap;
use std::sync::Arc;

use signet_proto::frame::MAX_FRAME_LEN;
use signet_proto::key::key_id;
use signet_proto::text::{check_label, escape, LabelError};
use tokio::time::Instant;

use super::{Agent, LoadedKey, Origin};
use crate::store::index::Entry;
use crate::store::vault::{self, VaultError};

/// How many forgotten-but-remembered bindings are kept at most; past it,
/// those of keys no longer loaded are dropped.
const REMEMBERED: usize = 4096;

/// Bytes of an identities answer besides its keys: type and count.
const IDENTITIES_HEADER: usize = 5;

/// Why a key was not added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The name is too long or shows something other than itself.
    #[error("key name {}: {why}; name the key with at most {max} bytes of visible text", escape(.name))]
    BadName {
        /// The name as sent.
        name: String,
        /// The limit.
        max: usize,
        /// What is wrong.
        why: LabelError,
    },
    /// Another key has the name, or the rule the name is bound to.
    #[error("key name {}: {why}; choose another name", escape(.name))]
    NameTaken {
        /// The name.
        name: String,
        /// Whose it is.
        why: String,
    },
    /// `[agent] max_keys` keys are loaded.
    #[error("the agent already holds {0} keys ([agent] max_keys): remove one first")]
    TooMany(usize),
    /// The identities answer would not fit in a frame.
    #[error("with this key the agent's key list would be {0} bytes, more than a reply may hold ({MAX_FRAME_LEN}): remove keys or shorten their names")]
    ListFull(usize),
    /// The key store's names cannot be read, so the name cannot be checked.
    #[error("cannot check the key store's names: {0}")]
    Store(#[from] VaultError),
}

/// Remembered bindings: public key → the configuration name of its rule.
pub(super) type Bindings = HashMap<[u8; 32], Arc<str>>;

impl Agent {
    /// The key store's entries (none without a key store), for name checks.
    pub async fn stored_entries(&self) -> Result<Vec<Entry>, VaultError> {
        match self.vault() {
            Some(v) => vault::blocking(&v, |v| v.entries()).await,
            None => Ok(Vec::new()),
        }
    }

    /// The configuration name the key `public` was bound to, if it was
    /// loaded before in this daemon's run.
    pub fn binding_of(&self, public: &[u8; 32]) -> Option<Arc<str>> {
        self.bindings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(public)
            .cloned()
    }

    /// Forgets a key's binding (it was deleted from the key store).
    pub fn forget_binding(&self, public: &[u8; 32]) {
        self.bindings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(public);
    }

    fn remember(&self, public: [u8; 32], bound: Arc<str>) {
        let mut b = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() >= REMEMBERED && !b.contains_key(&public) {
            let now = Instant::now();
            b.retain(|p, _| self.keys.get(p, now).is_some());
        }
        b.insert(public, bound);
    }

    /// Whether `name` may be the name of the key `public`: not the name of
    /// another stored key (`stored`, from [`Agent::stored_entries`]), and
    /// not the name a configured rule (`[keys.NAME]`) is bound to for
    /// another key that still exists (stored, loaded, or configured with a
    /// `source`). Loaded keys are checked again by [`Agent::add_key`] under
    /// the table's lock.
    pub fn name_free(
        &self,
        name: &str,
        public: &[u8; 32],
        stored: &[Entry],
    ) -> Result<(), AddError> {
        let bound = self.binding_of(public).unwrap_or_else(|| name.into());
        let taken = |why: String| {
            Err(AddError::NameTaken {
                name: name.to_owned(),
                why,
            })
        };
        let id = key_id(public);
        if let Some(e) = stored.iter().find(|e| e.name == name && e.key_id != id) {
            return taken(format!(
                "a stored key has this name (key id {}): rename or remove it first",
                e.key_id
            ));
        }
        let config = self.config();
        let b = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        for (other, rule_name) in b.iter().filter(|(p, _)| *p != public) {
            if **rule_name != *name && *rule_name != bound {
                continue;
            }
            let Some(configured) = config.keys.get(&**rule_name) else {
                continue; // no rule or setting is bound to that name
            };
            let other_id = key_id(other);
            let exists = configured.source.is_some()
                || stored.iter().any(|e| e.key_id == other_id)
                || self.keys.get(other, Instant::now()).is_some();
            if exists {
                return taken(format!(
                    "[keys.{}] is bound to key {other_id}, which still exists (renaming a key keeps its rule)",
                    escape(rule_name)
                ));
            }
        }
        Ok(())
    }

    /// Checks that `name` may be the name of the key `public` before a
    /// key-store change (import, generate, rename): a visible name within
    /// `[agent] max_name_bytes`, [`Agent::name_free`], and no loaded key
    /// holding it.
    pub fn check_name(
        &self,
        name: &str,
        public: &[u8; 32],
        stored: &[Entry],
    ) -> Result<(), AddError> {
        self.check_label(name)?;
        self.name_free(name, public, stored)?;
        let bound = self.binding_of(public).unwrap_or_else(|| name.into());
        let live = self.keys.snapshot(Instant::now());
        let others: Vec<&LoadedKey> = live
            .iter()
            .filter(|k| k.public != *public)
            .map(|k| &**k)
            .collect();
        match self.loaded_conflict(&others, name, &bound) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A key name or comment within `[agent] max_name_bytes` that shows
    /// only itself.
    pub fn check_label(&self, name: &str) -> Result<(), AddError> {
        let max = self.config().agent.max_name_bytes;
        check_label(name, max).map_err(|why| AddError::BadName {
            name: name.to_owned(),
            max,
            why,
        })
    }

    /// A loaded key (of `others`) that already has `name`, or holds the
    /// rule `name` or `bound` names. Two keys added with the same comment
    /// are fine (OpenSSH allows it) unless the name matters: the
    /// configuration names it, or the other key is a stored or configured
    /// one.
    fn loaded_conflict(&self, others: &[&LoadedKey], name: &str, bound: &str) -> Option<AddError> {
        let config = self.config();
        let matters = |o: &LoadedKey| {
            o.origin != Origin::Agent
                || [name, bound, &o.bound_as]
                    .iter()
                    .any(|n| config.keys.contains_key(*n))
        };
        let o = others.iter().find(|o| {
            (*o.name == *name || *o.bound_as == *name || *o.bound_as == *bound) && matters(o)
        })?;
        Some(AddError::NameTaken {
            name: name.to_owned(),
            why: if *o.name == *name {
                "another loaded key has this name".to_owned()
            } else {
                format!(
                    "the rule of [keys.{}] belongs to the loaded key {} (renaming a key keeps its rule)",
                    escape(&o.bound_as),
                    escape(&o.name)
                )
            },
        })
    }

    /// Adds a key to the table: its name checked ([`Agent::check_label`],
    /// [`Agent::name_free`], and against every loaded key under the table's
    /// lock), its rule bound (see the module doc), the table's limits kept.
    pub fn add_key(&self, mut key: LoadedKey, stored: &[Entry]) -> Result<(), AddError> {
        self.check_label(&key.name)?;
        self.name_free(&key.name, &key.public, stored)?;
        let bound = self
            .binding_of(&key.public)
            .unwrap_or_else(|| key.name.clone());
        key.bound_as = bound.clone();
        let public = key.public;
        let max_keys = self.config().agent.max_keys;
        let (name, bytes) = (key.name.clone(), key.identity_bytes());
        self.keys.insert(key, Instant::now(), |others| {
            // The key's other identities (itself, its certificates) share
            // its name and rule.
            let other_keys: Vec<&LoadedKey> = others
                .iter()
                .copied()
                .filter(|o| o.public != public)
                .collect();
            if let Some(e) = self.loaded_conflict(&other_keys, &name, &bound) {
                return Err(e);
            }
            if others.len() >= max_keys {
                return Err(AddError::TooMany(others.len()));
            }
            let total = IDENTITIES_HEADER
                + bytes
                + others.iter().map(|o| o.identity_bytes()).sum::<usize>();
            if total > MAX_FRAME_LEN {
                return Err(AddError::ListFull(total));
            }
            Ok(())
        })?;
        self.remember(public, bound);
        Ok(())
    }
}
