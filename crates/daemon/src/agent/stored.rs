//! Keys from the key store in the key table: loading them (`load@signet`,
//! autoload, `unlock-store`) with the lifetime the configuration gives.
//!
//! Design decision: locking the agent (`signet lock`, `ssh-add -x`) keeps
//! loaded keys loaded, as OpenSSH's agent does: they are hidden and refuse
//! to sign until `signet unlock`, and their lifetimes keep running. What
//! locking does drop is the unlocked store key of a sealed store, so no
//! *more* keys can be loaded until `signet unlock-store`. (Before sealing,
//! locking dropped stored keys on the grounds that they were "one `signet
//! load` away"; with a sealed store that load needs the passphrase again,
//! and `signet unlock` would have silently left the keys unloaded.)

use std::time::Duration;

use signet_proto::keystore::Selection;
use tokio::time::Instant;

use signet_proto::duration::MAX_LIFETIME_SECS;

use super::{AddError, Agent, KeyError, LoadedKey, Origin};
use crate::config::{Config, Lifetime, DEFAULT_LOAD_LIFETIME_SECS};
use crate::store::index::{Entry, State};
use crate::store::vault::{self, VaultError};

/// Why `load` loaded nothing, or not everything.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The key store is not set up in this daemon.
    #[error("the key store is not set up in this daemon: see its log (`signet status`)")]
    NoStore,
    /// The index names no key to load.
    #[error("no stored keys to load: store one with `signet generate` or `signet import`")]
    NothingStored,
    /// A selector or the store failed before anything was loaded.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A secret could not be put into locked memory.
    #[error("cannot load {name:?}: {source}")]
    Key {
        /// The key's name.
        name: String,
        /// Why.
        source: KeyError,
    },
    /// A lifetime longer than any the agent accepts.
    #[error("a lifetime of {0} s is longer than the longest accepted ({max} s, about 136 years): give a shorter one, or 0 for none", max = MAX_LIFETIME_SECS)]
    Lifetime(u64),
    /// The key may not be added (its name, the table's limits).
    #[error("cannot load {name:?}: {source}")]
    Add {
        /// The key's name.
        name: String,
        /// Why.
        source: AddError,
    },
    /// Some keys could not be read from the store (the others were loaded).
    #[error("{}{}", loaded_prefix(.loaded), .failed.join("; "))]
    Partial {
        /// The keys that were loaded.
        loaded: Vec<String>,
        /// Why each of the others was not.
        failed: Vec<String>,
    },
}

fn loaded_prefix(loaded: &[String]) -> String {
    if loaded.is_empty() {
        String::new()
    } else {
        format!("loaded {}; ", loaded.join(", "))
    }
}

/// The lifetime for a key: the request's, else `[keys.NAME] lifetime`, else
/// the default (`signetd -t`, `[agent] default_lifetime`, else
/// [`DEFAULT_LOAD_LIFETIME_SECS`]). `Some(0)` in a request means none.
fn lifetime_for(
    config: &Config,
    name: &str,
    requested: Option<u64>,
    default: Option<Lifetime>,
) -> Option<u64> {
    match requested {
        Some(0) => None,
        Some(n) => Some(n),
        None => match config.keys.get(name).and_then(|k| k.lifetime) {
            Some(l) => l.0,
            None => default.map_or(Some(DEFAULT_LOAD_LIFETIME_SECS), |l| l.0),
        },
    }
}

impl Agent {
    /// Loads the stored keys `sel` names into the key table; returns their
    /// index entries. Each seed goes from the keyring (opened with the store
    /// key, in a sealed store) into locked memory and into the key table in
    /// one blocking call, whose stack is wiped afterwards.
    pub async fn load_stored(&self, sel: Selection) -> Result<Vec<Entry>, LoadError> {
        if let Some(secs) = sel.lifetime.filter(|s| *s > MAX_LIFETIME_SECS) {
            return Err(LoadError::Lifetime(secs));
        }
        let vault = self.vault().ok_or(LoadError::NoStore)?;
        let entries = vault::blocking(&vault, |v| v.entries()).await?;
        let stored = entries.clone();
        let chosen: Vec<Entry> = if sel.all {
            entries
                .into_iter()
                .filter(|e| e.state == State::Active)
                .collect()
        } else {
            let index = crate::store::index::IndexFile {
                keys: entries,
                ..Default::default()
            };
            sel.names
                .iter()
                .map(|n| vault::find_in(&index, n))
                .collect::<Result<_, _>>()?
        };
        if chosen.is_empty() {
            return Err(LoadError::NothingStored);
        }
        let store_key = self.store_key();
        let config = self.config();
        let mut loaded = Vec::new();
        let mut failed = Vec::new();
        let mut only_refusal = None;
        for e in chosen {
            let entry = e.clone();
            let Some(public) = e.public() else { continue };
            // `[keys.NAME]` settings follow the key's binding, not a new name.
            let bound = self
                .binding_of(&public)
                .map_or_else(|| e.name.clone(), |b| b.to_string());
            let expires_at =
                match lifetime_for(&config, &bound, sel.lifetime, self.default_lifetime()) {
                    None => None,
                    Some(s) => Some(
                        Instant::now()
                            .checked_add(Duration::from_secs(s))
                            .ok_or(LoadError::Lifetime(s))?,
                    ),
                };
            let key_config = config.keys.get(&bound);
            let confirm = key_config.is_some_and(|k| k.confirm);
            let remember = key_config
                .and_then(|k| k.confirm_remember)
                .and_then(|r| r.0)
                .map(Duration::from_secs);
            let store_key = store_key.clone();
            let made = vault::blocking(&vault, move |v| {
                let seed = v.secret(&entry, store_key.as_deref())?;
                Ok(LoadedKey::new(
                    &seed,
                    public,
                    entry.name.clone(),
                    expires_at,
                    confirm,
                    Origin::Keyring,
                ))
            })
            .await;
            let key = match made {
                Ok(Ok(key)) => key.with_remember(remember),
                Ok(Err(source)) => {
                    return Err(LoadError::Key {
                        name: e.name.clone(),
                        source,
                    })
                }
                // The same answer for every key of a locked (or not yet
                // sealed) store: say it once, as the whole answer, so that
                // the client can offer to unlock.
                Err(err @ (VaultError::StoreLocked { .. } | VaultError::NotSetUp { .. }))
                    if loaded.is_empty() =>
                {
                    return Err(err.into())
                }
                Err(err) => {
                    failed.push(err.to_string());
                    continue;
                }
            };
            if let Err(source) = self.add_key(key, &stored) {
                let refused = LoadError::Add {
                    name: e.name.clone(),
                    source,
                };
                failed.push(refused.to_string());
                only_refusal = Some(refused);
                continue;
            }
            loaded.push(e);
        }
        if let (true, 1, Some(refused)) = (loaded.is_empty(), failed.len(), only_refusal) {
            return Err(refused);
        }
        if !failed.is_empty() {
            return Err(LoadError::Partial {
                loaded: loaded.into_iter().map(|e| e.name).collect(),
                failed,
            });
        }
        Ok(loaded)
    }
}
