//! Bearer secrets at rest (Encord resource API keys, bearer tokens): kept
//! in the same key store as keys, through the same vault, with an index of
//! their own beside the key index.
//!
//! **The index** is `secrets.toml` next to `keys.toml` (for an index named
//! otherwise, `<stem>.secrets.toml`): names, kinds, resources, scopes,
//! titles, fingerprints, times and the keyring account of each secret —
//! never a value. It is written the way the key index is (0600, replaced
//! atomically under a `flock`), and a field it does not know is an error.
//!
//! **The keyring** holds each value under an account of its own,
//! `signet-secret.<32 random hex digits>` (never a key id, so the keys'
//! `doctor` leaves it alone), as the bytes the user gave.
//!
//! **Crash safety** is the keys' journal: each entry's `state` is written
//! before the keyring changes, and every secret operation first finishes
//! or undoes whatever an earlier one left half-done (under the vault's
//! one-operation mutex):
//!
//! | operation | steps | crash after step → repair |
//! |---|---|---|
//! | add | 1. entry `pending` → 2. keyring put → 3. read back, compare fingerprints → 4. entry `active` | 1: no value in the keyring → drop the entry. 2–3: value there with the entry's fingerprint → `active`. |
//! | replace (`--replace`) | 1. old entry `removing` + new entry `pending` (one index write) → 2–4 as add → 5. old value deleted → 6. old entry dropped | the new entry as add's; the old one as remove's: the name ends with the old value or the new one, never none (before 4 the old one is restored if the new one never reached the keyring). |
//! | remove | 1. entry `removing` → 2. keyring delete → 3. entry dropped | 1–2: delete the value, drop the entry. |
//!
//! `SIGNET_FAULT` steps (crash tests): `after-secret-pending`,
//! `after-secret-put`, `after-secret-commit`, `after-secret-tombstone`.

use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore as _};
use serde::{Deserialize, Serialize};
use signet_proto::index::State;
use signet_proto::secret::{self, AddSecretRequest, SecretKind};
use tracing::{info, warn};

use super::{fault, Vault, VaultError};
use crate::hardening::SecretBuf;
use crate::store::index::{lock_beside, replace_atomically, IndexError};

/// The format version of `secrets.toml`.
const VERSION: u32 = 1;

const HEADER: &str = "# signet's secret index: names and public information only.\n\
# The values are in the OS keyring; this file holds no secret.\n\
# Written by signetd; change it with `signet secret add` / `signet secret remove`.\n\n";

/// Every account of a secret starts so.
pub const ACCOUNT_PREFIX: &str = "signet-secret.";

/// One stored secret, as the index records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretEntry {
    /// Unique name (among secrets).
    pub name: String,
    /// `encord-api-key` or `encord-bearer`.
    pub kind: String,
    /// Project or dataset id (may be empty for a bearer token).
    #[serde(default)]
    pub resource: String,
    /// Scopes as given.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Title for people.
    #[serde(default)]
    pub title: String,
    /// Fingerprint of the value (`signet_proto::secret::fingerprint`).
    pub fingerprint: String,
    /// The keyring account holding the value.
    pub account: String,
    /// When it was stored, RFC 3339 UTC.
    pub created_at: String,
    /// When it was stored, unix seconds (lifetimes count from here).
    pub created_unix: u64,
    /// Unix time it expires (`0`: never, unless `[secrets.NAME] lifetime`).
    #[serde(default)]
    pub expires_at: u64,
    /// The store holding the value.
    pub store: String,
    /// Journal state.
    pub state: State,
}

impl SecretEntry {
    /// Its kind.
    pub fn kind(&self) -> Option<SecretKind> {
        SecretKind::parse(&self.kind)
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    version: u32,
    #[serde(default, rename = "secret")]
    secrets: Vec<SecretEntry>,
}

impl Default for SecretsFile {
    fn default() -> Self {
        Self {
            version: VERSION,
            secrets: Vec::new(),
        }
    }
}

impl SecretsFile {
    fn active(&self, name: &str) -> Option<&SecretEntry> {
        self.secrets
            .iter()
            .find(|e| e.name == name && e.state != State::Removing)
    }
}

/// The secret index beside the key index at `keys`.
pub fn index_path(keys: &Path) -> PathBuf {
    let name = keys
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = match name.as_str() {
        "keys.toml" | "" => "secrets.toml".to_owned(),
        other => format!(
            "{}.secrets.toml",
            other.strip_suffix(".toml").unwrap_or(other)
        ),
    };
    keys.with_file_name(file)
}

impl Vault {
    fn secrets_path(&self) -> PathBuf {
        index_path(self.index.path())
    }

    fn secrets_io(&self, action: &'static str, source: std::io::Error) -> VaultError {
        VaultError::Index(IndexError::Io {
            action,
            path: self.secrets_path(),
            source,
        })
    }

    fn load_secrets(&self) -> Result<SecretsFile, VaultError> {
        let path = self.secrets_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SecretsFile::default()),
            Err(e) => return Err(self.secrets_io("read", e)),
        };
        let parse = |message: String| {
            VaultError::Index(IndexError::Parse {
                path: path.clone(),
                message,
            })
        };
        let file: SecretsFile = toml::from_str(&text).map_err(|e| parse(e.to_string()))?;
        if file.version != VERSION {
            return Err(parse(format!(
                "version = {} is not supported by this signet (expected {VERSION}): upgrade signet",
                file.version
            )));
        }
        Ok(file)
    }

    /// Runs `f` on the secret index under its lock and writes the result
    /// back if `f` succeeds and changed something.
    fn update_secrets<T>(
        &self,
        f: impl FnOnce(&mut SecretsFile) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        self.index.ensure_dir()?;
        #[cfg(unix)]
        let _lock = lock_beside(&self.secrets_path()).map_err(|e| self.secrets_io("lock", e))?;
        let mut file = self.load_secrets()?;
        let before = file.clone();
        let out = f(&mut file)?;
        if file != before {
            let body = toml::to_string(&file).map_err(|e| {
                VaultError::Index(IndexError::Parse {
                    path: self.secrets_path(),
                    message: format!("cannot serialise: {e}"),
                })
            })?;
            replace_atomically(&self.secrets_path(), &[HEADER.as_bytes(), body.as_bytes()])
                .map_err(|e| self.secrets_io("write", e))?;
        }
        Ok(out)
    }

    /// Every stored secret (interrupted operations finished or undone first).
    pub fn secret_entries(&self) -> Result<Vec<SecretEntry>, VaultError> {
        let _one = self.serialise();
        self.repair_secrets()?;
        Ok(self.load_secrets()?.secrets)
    }

    /// The active secret named `name`.
    pub fn find_secret(&self, name: &str) -> Result<SecretEntry, VaultError> {
        let _one = self.serialise();
        self.repair_secrets()?;
        self.load_secrets()?
            .active(name)
            .cloned()
            .ok_or_else(|| VaultError::NoSuchSecret(name.to_owned()))
    }

    /// Stores a secret (or replaces one, with `req.replace`): the journal
    /// in the module doc. `now` is unix time.
    pub fn add_secret(&self, req: &AddSecretRequest, now: u64) -> Result<SecretEntry, VaultError> {
        req.check()
            .map_err(|e| VaultError::BadName(e.to_string()))?;
        let _one = self.serialise();
        self.repair_secrets()?;
        // Ask the store first: one that is down fails here, with the index
        // untouched.
        let store = self.store()?;
        self.call_store(|s| s.get_bytes("signet-secret.probe").map(|_| ()))?;
        let mut raw = [0u8; 16];
        OsRng.fill_bytes(&mut raw);
        let account = format!("{ACCOUNT_PREFIX}{}", hex::encode(raw));
        let entry = SecretEntry {
            name: req.name.clone(),
            kind: req.kind.as_str().to_owned(),
            resource: req.resource.clone(),
            scopes: req.scopes.clone(),
            title: req.title.clone(),
            fingerprint: req.value.fingerprint(),
            account: account.clone(),
            created_at: crate::clock::rfc3339(now),
            created_unix: now,
            expires_at: if req.lifetime == 0 {
                0
            } else {
                now.saturating_add(req.lifetime)
            },
            store: store.name().to_owned(),
            state: State::Pending,
        };
        let replaced = self.update_secrets(|f| {
            let old = f.active(&req.name).cloned();
            match &old {
                Some(_) if !req.replace => {
                    return Err(VaultError::Exists(format!(
                        "a secret named {:?} is already stored: choose another name, replace it with `signet secret add {} --replace …`, or remove it with `signet secret remove {}`",
                        req.name, req.name, req.name
                    )))
                }
                Some(o) => {
                    if let Some(e) = f.secrets.iter_mut().find(|e| e.account == o.account) {
                        e.state = State::Removing;
                    }
                }
                None => {}
            }
            f.secrets.push(entry.clone());
            Ok(old)
        })?;
        fault("after-secret-pending");
        let undo = |v: &Vault| {
            if v.call_store(|s| s.delete(&account)).is_ok() {
                let _ = v.update_secrets(|f| {
                    f.secrets.retain(|e| e.account != account);
                    // The old value is still there: it stays the secret.
                    if let Some(o) = &replaced {
                        if let Some(e) = f.secrets.iter_mut().find(|e| e.account == o.account) {
                            e.state = State::Active;
                        }
                    }
                    Ok(())
                });
            }
        };
        if let Err(e) = self.call_store(|s| s.put_bytes(&account, req.value.expose())) {
            undo(self);
            return Err(e);
        }
        fault("after-secret-put");
        let verified = matches!(
            self.call_store(|s| s.get_bytes(&account)),
            Ok(Some(back)) if secret::fingerprint(back.as_slice()) == entry.fingerprint
        );
        if !verified {
            undo(self);
            return Err(VaultError::Mismatch {
                name: req.name.clone(),
                store: store.name().to_owned(),
            });
        }
        let done = self.update_secrets(|f| {
            let e = f
                .secrets
                .iter_mut()
                .find(|e| e.account == account)
                .ok_or_else(|| VaultError::NoSuchSecret(req.name.clone()))?;
            e.state = State::Active;
            Ok(e.clone())
        })?;
        fault("after-secret-commit");
        if let Some(old) = replaced {
            self.call_store(|s| s.delete(&old.account))?;
            self.update_secrets(|f| {
                f.secrets.retain(|e| e.account != old.account);
                Ok(())
            })?;
        }
        info!(secret = %req.name, kind = req.kind.as_str(), store = store.name(), "stored a secret");
        Ok(done)
    }

    /// Deletes a stored secret: tombstone, keyring delete, entry dropped.
    pub fn remove_secret(&self, name: &str) -> Result<SecretEntry, VaultError> {
        let _one = self.serialise();
        self.repair_secrets()?;
        // The store must answer before the tombstone is written.
        self.store()?;
        let entry = self.update_secrets(|f| {
            let found = f
                .active(name)
                .cloned()
                .ok_or_else(|| VaultError::NoSuchSecret(name.to_owned()))?;
            if let Some(e) = f.secrets.iter_mut().find(|e| e.account == found.account) {
                e.state = State::Removing;
            }
            Ok(found)
        })?;
        fault("after-secret-tombstone");
        self.call_store(|s| s.delete(&entry.account))?;
        self.update_secrets(|f| {
            f.secrets.retain(|e| e.account != entry.account);
            Ok(())
        })?;
        info!(secret = %name, "removed a secret");
        Ok(entry)
    }

    /// The value of an active secret, read into locked memory and checked
    /// against its fingerprint.
    pub fn secret_value(&self, entry: &SecretEntry) -> Result<SecretBuf, VaultError> {
        if entry.state != State::Active {
            return Err(VaultError::Unfinished {
                name: entry.name.clone(),
                state: entry.state.as_str(),
            });
        }
        let store = self.store()?;
        let value = self
            .call_store(|s| s.get_bytes(&entry.account))?
            .ok_or_else(|| VaultError::SecretMissing {
                name: entry.name.clone(),
                store: store.name().to_owned(),
            })?;
        if secret::fingerprint(value.as_slice()) != entry.fingerprint {
            return Err(VaultError::Mismatch {
                name: entry.name.clone(),
                store: store.name().to_owned(),
            });
        }
        Ok(value)
    }

    /// Finishes or undoes interrupted secret operations (the module doc's
    /// table). The caller holds the vault's operation mutex.
    fn repair_secrets(&self) -> Result<(), VaultError> {
        let file = self.load_secrets()?;
        if file.secrets.iter().all(|e| e.state == State::Active) {
            return Ok(());
        }
        for e in file.secrets.iter().filter(|e| e.state != State::Active) {
            match e.state {
                State::Pending => {
                    let there = self
                        .call_store(|s| s.get_bytes(&e.account))?
                        .is_some_and(|v| secret::fingerprint(v.as_slice()) == e.fingerprint);
                    self.update_secrets(|f| {
                        if there {
                            // The new value is whole: it wins over an old one
                            // being replaced (which the next pass removes).
                            for x in f.secrets.iter_mut() {
                                if x.account == e.account {
                                    x.state = State::Active;
                                } else if x.name == e.name && x.state == State::Active {
                                    x.state = State::Removing;
                                }
                            }
                        } else {
                            f.secrets.retain(|x| x.account != e.account);
                            // A replace that never stored the new value:
                            // the old one stays the secret.
                            if let Some(x) = f
                                .secrets
                                .iter_mut()
                                .find(|x| x.name == e.name && x.state == State::Removing)
                            {
                                x.state = State::Active;
                            }
                        }
                        Ok(())
                    })?;
                    warn!(secret = %e.name, "finished an interrupted `secret add` ({})", if there { "kept" } else { "nothing had been stored" });
                }
                State::Removing => {}
                State::Active => {}
            }
        }
        // Tombstones last: a replace's old value goes only once its new one
        // is active.
        for e in self.load_secrets()?.secrets {
            let superseded = e.state == State::Removing;
            if superseded {
                self.call_store(|s| s.delete(&e.account))?;
                self.update_secrets(|f| {
                    f.secrets.retain(|x| x.account != e.account);
                    Ok(())
                })?;
                warn!(secret = %e.name, "finished an interrupted removal of a secret value");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use signet_proto::secret::SecretValue;

    use super::*;
    use crate::store::backend::memory::MemoryStore;
    use crate::store::backend::KeyStore as _;

    fn vault() -> (tempfile::TempDir, Arc<MemoryStore>, Vault) {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let store = Arc::new(MemoryStore::default());
        let v = Vault::with_store(store.clone(), dir.path().join("keys.toml"));
        (dir, store, v)
    }

    fn req(name: &str, value: &[u8], replace: bool) -> AddSecretRequest {
        AddSecretRequest {
            name: name.into(),
            kind: SecretKind::EncordApiKey,
            resource: "11111111-2222".into(),
            scopes: vec!["LABEL_READ".into()],
            title: "labels".into(),
            lifetime: 0,
            replace,
            value: SecretValue::copy_of(value),
        }
    }

    #[test]
    fn add_list_read_replace_remove() -> Result<(), VaultError> {
        let (dir, store, v) = vault();
        let e = v.add_secret(&req("labels", b"key-one", false), 100)?;
        assert_eq!(e.state, State::Active);
        assert!(e.account.starts_with(ACCOUNT_PREFIX));
        assert_eq!(v.secret_value(&e)?.as_slice(), b"key-one");
        // The index holds no value.
        let text = std::fs::read_to_string(dir.path().join("secrets.toml")).unwrap_or_default();
        assert!(
            text.contains("labels") && !text.contains("key-one"),
            "{text}"
        );
        // Same name: refused unless --replace.
        let dup = v.add_secret(&req("labels", b"key-two", false), 101);
        assert!(matches!(dup, Err(VaultError::Exists(_))));
        let e2 = v.add_secret(&req("labels", b"key-two", true), 102)?;
        assert_eq!(v.secret_entries()?.len(), 1);
        assert_eq!(v.secret_value(&e2)?.as_slice(), b"key-two");
        assert_eq!(
            store.get_bytes(&e.account)?.map(|b| b.as_slice().to_vec()),
            None
        );
        let gone = v.remove_secret("labels")?;
        assert_eq!(gone.account, e2.account);
        assert!(store.get_bytes(&e2.account)?.is_none());
        assert!(matches!(
            v.find_secret("labels"),
            Err(VaultError::NoSuchSecret(_))
        ));
        assert!(v.add_secret(&req("bad name", b"x", false), 1).is_err());
        Ok(())
    }

    #[test]
    fn interrupted_operations_are_finished_or_undone() -> Result<(), VaultError> {
        let (_d, store, v) = vault();
        let old = v.add_secret(&req("a", b"old-value", false), 1)?;
        // A replace interrupted after its pending entry, before the put.
        let pending = SecretEntry {
            account: format!("{ACCOUNT_PREFIX}00"),
            fingerprint: secret::fingerprint(b"new-value"),
            state: State::Pending,
            ..old.clone()
        };
        v.update_secrets(|f| {
            f.secrets[0].state = State::Removing;
            f.secrets.push(pending.clone());
            Ok(())
        })?;
        // The old value stays the secret.
        let found = v.find_secret("a")?;
        assert_eq!(found.account, old.account);
        assert_eq!(v.secret_value(&found)?.as_slice(), b"old-value");
        // The same, interrupted after the put: the new value wins.
        v.update_secrets(|f| {
            f.secrets[0].state = State::Removing;
            f.secrets.push(pending.clone());
            Ok(())
        })?;
        store.put_bytes(&pending.account, b"new-value")?;
        let found = v.find_secret("a")?;
        assert_eq!(found.account, pending.account);
        assert!(store.get_bytes(&old.account)?.is_none());
        assert_eq!(v.secret_entries()?.len(), 1);
        // A remove interrupted after its tombstone.
        v.update_secrets(|f| {
            f.secrets[0].state = State::Removing;
            Ok(())
        })?;
        assert!(v.secret_entries()?.is_empty());
        assert!(store.get_bytes(&pending.account)?.is_none());
        Ok(())
    }

    #[test]
    fn index_names() {
        assert_eq!(
            index_path(Path::new("/x/keys.toml")),
            PathBuf::from("/x/secrets.toml")
        );
        assert_eq!(
            index_path(Path::new("/x/ci.toml")),
            PathBuf::from("/x/ci.secrets.toml")
        );
    }
}
