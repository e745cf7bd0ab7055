//! Keys at rest: the key store (OS keyring) plus the index, kept consistent.
//!
//! **Owns**: the crash-safety protocol between the index (`store::index`)
//! and the keyring (`store::backend`), name rules, and `doctor`. Everything
//! here blocks; async callers (the key-store handlers in `dispatch::store`,
//! `agent::stored`, start-up) go through [`blocking`] (`spawn_blocking`). One operation
//! runs at a time per daemon (a mutex), and each index change holds the
//! index's file lock.
//!
//! ## "The whole key or nothing"
//!
//! The index entry's `state` is a write-ahead journal, written (atomically)
//! *before* each keyring change, so whatever point a crash (`kill -9`, power
//! loss) interrupts, the next start-up or `signet doctor` knows what was
//! under way and can finish or undo it without guessing:
//!
//! | operation | steps | crash after step → repair |
//! |---|---|---|
//! | generate / import | 1. entry `pending` → 2. keyring put → 3. read back, compare → 4. entry `active` | 1: secret absent → drop the entry (nothing was stored; an import's source file is still there). 2–3: secret present and matches the key id → mark `active` (the whole key). |
//! | remove | 1. entry `removing` (tombstone) → 2. keyring delete → 3. entry removed | 1: delete the secret, drop the entry. 2: drop the entry. |
//! | rename | one atomic index write | old or new name, nothing else changes (the keyring is filed by key id). |
//!
//! A secret is never deleted by a repair, only by `signet remove`. When the
//! store can enumerate its entries (keyutils and Secret Service can), a
//! secret with no index entry at all (an index deleted by hand, say) is
//! re-added as `recovered-<first 8 hex of the key id>`. An `active` entry
//! whose secret is gone (keyutils after a reboot) is reported, and dropped
//! only with `signet doctor --fix`.
//!
//! `SIGNET_FAULT=<step>` makes the daemon abort at that step (a test hook
//! for the crash tests): `after-index-pending`, `after-keyring-put`,
//! `after-read-back`, `after-index-commit`, `after-tombstone`,
//! `after-keyring-delete`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use ed25519_dalek::SigningKey;
use signet_proto::key::{ed25519_blob, fingerprint, key_id, KeySelector};
use signet_proto::keystore::{DoctorReport, StoreInfo};
use signet_proto::Ed25519Seed;
use tracing::{info, warn};

use crate::clock::rfc3339;
use crate::config::Backend;
use crate::store::backend::{KeyStore, StoreError};
use crate::store::index::{Entry, Index, IndexError, IndexFile, State};
use crate::store::open::{self, UnknownBackend};

mod audit_seed;
pub mod secrets;

/// Aborts the process if `SIGNET_FAULT` names `step` (crash-test hook).
pub fn fault(step: &str) {
    if std::env::var("SIGNET_FAULT").is_ok_and(|f| f == step) {
        warn!("SIGNET_FAULT={step}: aborting now (test hook)");
        std::process::abort();
    }
}

/// Why a key-store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No stored key matches.
    #[error("no stored key matches \"{}\": `signet list` shows the stored keys", signet_proto::text::escape(.0))]
    NoSuchKey(String),
    /// Several stored keys match.
    #[error("several stored keys match \"{}\": name one by its exact name, key id or fingerprint", signet_proto::text::escape(.0))]
    Ambiguous(String),
    /// The name is taken, or the key is already stored.
    #[error("{0}")]
    Exists(String),
    /// The name is not acceptable.
    #[error("{0}")]
    BadName(String),
    /// The key store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The keyring has no secret for an indexed key.
    #[error("the secret of key {name:?} is missing from the {store} key store{hint}: import it again, or drop the entry with `signet doctor --fix`")]
    Missing {
        /// The key's name.
        name: String,
        /// The store.
        store: String,
        /// Extra explanation.
        hint: &'static str,
    },
    /// What the keyring gave back is not the key stored.
    #[error("the {store} key store returned a different secret for key {name:?} than was stored: nothing was kept; check the store")]
    Mismatch {
        /// The key's name.
        name: String,
        /// The store.
        store: String,
    },
    /// The blocking task running a store operation failed.
    #[error("the key store task failed: {0}")]
    Task(String),
    /// No stored secret has this name.
    #[error("no secret named {0:?} is stored: `signet secret list` shows the stored secrets; store one with `signet secret add NAME --kind …`")]
    NoSuchSecret(String),
    /// The keyring has no value for an indexed secret.
    #[error("the value of secret {name:?} is missing from the {store} key store (the kernel keyring forgets everything at reboot): store it again with `signet secret add {name} --replace …`")]
    SecretMissing {
        /// The secret's name.
        name: String,
        /// The store.
        store: String,
    },
    /// The key is half-done (pending or removing).
    #[error("key {name:?} is {state}: an earlier operation was interrupted; run `signet doctor` to finish it")]
    Unfinished {
        /// The key's name.
        name: String,
        /// Its state.
        state: &'static str,
    },
}

/// Runs blocking vault work on tokio's blocking pool: every store call
/// blocks (D-Bus round trips, a possible unlock prompt) and must stay off
/// the async workers.
pub async fn blocking<T: Send + 'static>(
    vault: &Arc<Vault>,
    f: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
) -> Result<T, VaultError> {
    let v = vault.clone();
    tokio::task::spawn_blocking(move || f(&v))
        .await
        .unwrap_or_else(|e| Err(VaultError::Task(e.to_string())))
}

/// Checks a key name: 1–64 characters from `A-Z a-z 0-9 . _ - @ +`, not a
/// key id (64 hex digits) and not starting with a dot or dash.
pub fn check_name(name: &str) -> Result<(), VaultError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c));
    if name.is_empty() || name.len() > 64 || !ok_chars {
        return Err(VaultError::BadName(format!(
            "invalid key name {name:?}: use 1 to 64 characters from letters, digits and . _ - @ +"
        )));
    }
    if name.starts_with(['.', '-']) {
        return Err(VaultError::BadName(format!(
            "invalid key name {name:?}: it must not start with '.' or '-'"
        )));
    }
    if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(VaultError::BadName(format!(
            "invalid key name {name:?}: 64 hex digits look like a key id; choose another name"
        )));
    }
    Ok(())
}

/// The public key of a seed.
pub fn public_of(seed: &Ed25519Seed) -> [u8; 32] {
    SigningKey::from_bytes(seed.expose())
        .verifying_key()
        .to_bytes()
}

fn now_rfc3339() -> String {
    rfc3339(crate::clock::unix_now())
}

/// The key store and the index, together.
pub struct Vault {
    backend: Backend,
    reason: String,
    service: String,
    store: Mutex<Result<Arc<dyn KeyStore>, StoreError>>,
    index: Index,
    ops: Mutex<()>,
}

impl Vault {
    /// Chooses and opens the store (blocking). An invalid `SIGNET_STORE` is
    /// an error; a store that does not answer is not (the daemon still
    /// serves `ssh-add` keys, and retries the store on the next operation).
    pub fn open(
        configured: &str,
        env: Option<String>,
        service: String,
        index: PathBuf,
    ) -> Result<Self, UnknownBackend> {
        let chosen = open::choose(configured, env.as_deref(), &service)?;
        Ok(Self {
            backend: chosen.backend,
            reason: chosen.reason,
            service,
            store: Mutex::new(chosen.store),
            index: Index::new(index),
            ops: Mutex::new(()),
        })
    }

    /// A vault over a given store (unit tests).
    pub fn with_store(store: Arc<dyn KeyStore>, index: PathBuf) -> Self {
        Self {
            backend: Backend::Memory,
            reason: "test".into(),
            service: "test".into(),
            store: Mutex::new(Ok(store)),
            index: Index::new(index),
            ops: Mutex::new(()),
        }
    }

    fn serialise(&self) -> MutexGuard<'_, ()> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store, reopening it if it failed before.
    fn store(&self) -> Result<Arc<dyn KeyStore>, VaultError> {
        let mut slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(s) = &*slot {
            return Ok(s.clone());
        }
        // `self.backend` is the concrete store chosen at start-up (never
        // `Auto`), so reopening means opening that one again. Its own error
        // already names the store and the fix: pass it on unwrapped.
        match open::open(self.backend, &self.service) {
            Ok(s) => {
                *slot = Ok(s.clone());
                Ok(s)
            }
            Err(e) => {
                *slot = Err(e.clone());
                Err(e.into())
            }
        }
    }

    /// Runs `op` on the store. If the store says it is unavailable, the
    /// cached connection is dropped, the store reopened and `op` tried once
    /// more. Why: a Secret Service that was restarted (gnome-keyring killed
    /// and started again, `--replace`, a new login) no longer knows the
    /// D-Bus session the old connection negotiated, and answers every call
    /// with `NoSession`; without the reopen the daemon would fail every
    /// keyring call until it was itself restarted. Every `KeyStore` call is
    /// idempotent (put replaces, delete of nothing is `false`), so one retry
    /// is safe. A *locked* store is not retried: reopening would ask the user
    /// to unlock it a second time.
    fn call_store<T>(
        &self,
        op: impl Fn(&dyn KeyStore) -> Result<T, StoreError>,
    ) -> Result<T, VaultError> {
        let store = self.store()?;
        match op(store.as_ref()) {
            Err(first @ StoreError::Unavailable { .. }) => {
                {
                    let mut slot = self.store.lock().unwrap_or_else(|p| p.into_inner());
                    // Only if nobody replaced it meanwhile.
                    if matches!(&*slot, Ok(s) if Arc::ptr_eq(s, &store)) {
                        *slot = Err(first.clone());
                    }
                }
                match self.store() {
                    Ok(fresh) => {
                        warn!(
                            store = fresh.name(),
                            "key store: reconnected after: {first}"
                        );
                        Ok(op(fresh.as_ref())?)
                    }
                    // Still down: the first error says what happened.
                    Err(_) => Err(first.into()),
                }
            }
            other => Ok(other?),
        }
    }

    /// The index file's path.
    pub fn index_path(&self) -> &std::path::Path {
        self.index.path()
    }

    /// Which store, why, and whether it answers (may reopen it: blocks).
    pub fn info(&self) -> StoreInfo {
        let problem = match self.store() {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        StoreInfo {
            backend: self.backend.as_str().to_owned(),
            reason: self.reason.clone(),
            persistence: open::persistence(self.backend).to_owned(),
            service: self.service.clone(),
            index: self.index.path().display().to_string(),
            problem,
        }
    }

    /// Every index entry.
    pub fn entries(&self) -> Result<Vec<Entry>, VaultError> {
        Ok(self.index.load()?.keys)
    }

    /// The one entry `selector` names (name, key id or fingerprint).
    pub fn find(&self, selector: &str) -> Result<Entry, VaultError> {
        find_in(&self.index.load()?, selector)
    }

    /// Stores a new key: the journal protocol in the module doc.
    pub fn create(
        &self,
        name: &str,
        comment: &str,
        seed: &Ed25519Seed,
        public: [u8; 32],
    ) -> Result<Entry, VaultError> {
        check_name(name)?;
        if public_of(seed) != public {
            return Err(VaultError::BadName(
                "the private key does not match its public key: the key file is damaged".into(),
            ));
        }
        let _one = self.serialise();
        let id = key_id(&public);
        // Ask the store before the index is touched: a store that is down
        // fails here and the index stays byte-for-byte as it was (no
        // `pending` entry for doctor to clean up). An entry already under
        // this key id can only hold this very seed (the id is its public
        // key), so its presence changes nothing below.
        self.call_store(|s| s.get(&id).map(|_| ()))?;
        let store = self.store()?;
        let entry = Entry {
            name: name.to_owned(),
            comment: if comment.is_empty() {
                name.to_owned()
            } else {
                comment.to_owned()
            },
            key_id: id.clone(),
            fingerprint: fingerprint(&ed25519_blob(&public)),
            created_at: now_rfc3339(),
            store: store.name().to_owned(),
            state: State::Pending,
        };
        self.index.update(|f| {
            if let Some(e) = f.by_key_id(&id) {
                return Err(VaultError::Exists(format!(
                    "this key is already stored as {:?} ({}): nothing imported",
                    e.name, e.fingerprint
                )));
            }
            if f.by_name(name).is_some() {
                return Err(VaultError::Exists(format!(
                    "a stored key is already named {name:?}: choose another name (--name), or rename the other with `signet rename`"
                )));
            }
            f.keys.push(entry.clone());
            Ok(())
        })?;
        fault("after-index-pending");
        if let Err(e) = self.call_store(|s| s.put(&id, seed)) {
            // The put may or may not have happened: undo both sides; if the
            // undo fails too, the pending entry tells doctor what to check.
            if self.call_store(|s| s.delete(&id)).is_ok() {
                let _ = self.drop_entry(&id);
            }
            return Err(e);
        }
        fault("after-keyring-put");
        let verified = matches!(self.call_store(|s| s.get(&id)), Ok(Some(back)) if back == *seed);
        if !verified {
            if self.call_store(|s| s.delete(&id)).is_ok() {
                let _ = self.drop_entry(&id);
            }
            return Err(VaultError::Mismatch {
                name: name.to_owned(),
                store: store.name().to_owned(),
            });
        }
        fault("after-read-back");
        let done = self.index.update(|f| {
            let e = f
                .by_key_id_mut(&id)
                .ok_or_else(|| VaultError::NoSuchKey(name.to_owned()))?;
            e.state = State::Active;
            Ok::<_, VaultError>(e.clone())
        })?;
        fault("after-index-commit");
        info!(key = %name, key_id = %id, store = store.name(), "stored a key");
        Ok(done)
    }

    fn drop_entry(&self, id: &str) -> Result<(), VaultError> {
        self.index.update(|f| {
            f.remove(id);
            Ok(())
        })
    }

    /// Deletes a stored key: tombstone, keyring delete, entry removed.
    pub fn delete(&self, selector: &str) -> Result<Entry, VaultError> {
        let _one = self.serialise();
        let entry = self.find(selector)?;
        // As in `create`: a store that is down fails before the tombstone.
        self.call_store(|s| s.get(&entry.key_id).map(|_| ()))?;
        self.index.update(|f| {
            if let Some(e) = f.by_key_id_mut(&entry.key_id) {
                e.state = State::Removing;
            }
            Ok::<_, VaultError>(())
        })?;
        fault("after-tombstone");
        self.call_store(|s| s.delete(&entry.key_id))?;
        fault("after-keyring-delete");
        self.drop_entry(&entry.key_id)?;
        info!(key = %entry.name, key_id = %entry.key_id, "deleted a stored key");
        Ok(entry)
    }

    /// Renames a stored key (the keyring is filed by key id: untouched).
    pub fn rename(&self, selector: &str, new: &str) -> Result<(Entry, Entry), VaultError> {
        check_name(new)?;
        let _one = self.serialise();
        self.index.update(|f| {
            let old = find_in(f, selector)?;
            if old.name != new && f.by_name(new).is_some() {
                return Err(VaultError::Exists(format!(
                    "a stored key is already named {new:?}: choose another name"
                )));
            }
            let e = f
                .by_key_id_mut(&old.key_id)
                .ok_or_else(|| VaultError::NoSuchKey(selector.to_owned()))?;
            e.name = new.to_owned();
            Ok((old, e.clone()))
        })
    }

    /// The secret of an active entry, checked against its key id.
    pub fn secret(&self, entry: &Entry) -> Result<Ed25519Seed, VaultError> {
        if entry.state != State::Active {
            return Err(VaultError::Unfinished {
                name: entry.name.clone(),
                state: entry.state.as_str(),
            });
        }
        let store = self.store()?;
        let seed =
            self.call_store(|s| s.get(&entry.key_id))?
                .ok_or_else(|| VaultError::Missing {
                    name: entry.name.clone(),
                    store: store.name().to_owned(),
                    hint: if store.name() == "keyutils" {
                        " (the kernel keyring forgets everything at reboot)"
                    } else {
                        ""
                    },
                })?;
        if Some(public_of(&seed)) != entry.public() {
            return Err(VaultError::Mismatch {
                name: entry.name.clone(),
                store: store.name().to_owned(),
            });
        }
        Ok(seed)
    }

    /// Finds and repairs disagreements between index and store.
    ///
    /// `full`: also check every active key's secret (may prompt for a keyring
    /// unlock; start-up passes false and checks only interrupted operations and
    /// orphans). `fix`: drop active entries whose secret is gone.
    pub fn doctor(&self, full: bool, fix: bool) -> Result<DoctorReport, VaultError> {
        let _one = self.serialise();
        let listed = self.call_store(|s| s.list())?;
        let store = self.store()?;
        let present = |id: &str| -> Result<Option<Ed25519Seed>, VaultError> { Ok(store.get(id)?) };
        let mut report = DoctorReport::default();
        // Secrets deleted by this run: the listing above still names them.
        let mut deleted: Vec<String> = Vec::new();
        self.index.update(|f: &mut IndexFile| {
            let snapshot = f.keys.clone();
            for e in snapshot {
                let name = &e.name;
                match e.state {
                    State::Pending => match present(&e.key_id)? {
                        Some(seed) if Some(public_of(&seed)) == e.public() => {
                            if let Some(x) = f.by_key_id_mut(&e.key_id) {
                                x.state = State::Active;
                            }
                            report.findings.push(format!(
                                "key {name:?}: an interrupted generate/import had stored the secret; finished it (now active)"
                            ));
                        }
                        Some(_) => {
                            report.remaining += 1;
                            report.findings.push(format!(
                                "key {name:?}: pending, and the keyring entry for its key id holds a different key; left both alone: inspect the keyring"
                            ));
                        }
                        None => {
                            f.remove(&e.key_id);
                            report.findings.push(format!(
                                "key {name:?}: an interrupted generate/import never reached the keyring; dropped the incomplete entry (nothing was stored)"
                            ));
                        }
                    },
                    State::Removing => {
                        store.delete(&e.key_id)?;
                        deleted.push(e.key_id.clone());
                        f.remove(&e.key_id);
                        report.findings.push(format!(
                            "key {name:?}: finished an interrupted remove"
                        ));
                    }
                    State::Active if full => {
                        let there = match &listed {
                            Some(ids) => ids.contains(&e.key_id),
                            None => present(&e.key_id)?.is_some(),
                        };
                        if !there && fix {
                            f.remove(&e.key_id);
                            report.findings.push(format!(
                                "key {name:?}: its secret is gone from the {} key store; dropped the entry (--fix)",
                                store.name()
                            ));
                        } else if !there {
                            report.remaining += 1;
                            report.findings.push(format!(
                                "key {name:?}: its secret is missing from the {} key store{}: import it again, or drop the entry with `signet doctor --fix`",
                                store.name(),
                                if store.name() == "keyutils" { " (the kernel keyring forgets everything at reboot)" } else { "" }
                            ));
                        }
                    }
                    State::Active => {}
                }
            }
            if let Some(ids) = &listed {
                for id in ids {
                    if f.by_key_id(id).is_some() || deleted.contains(id) {
                        continue;
                    }
                    let mut public = [0u8; 32];
                    if hex::decode_to_slice(id, &mut public).is_err() {
                        continue;
                    }
                    let mut name = format!("recovered-{}", &id[..8]);
                    let mut n = 2;
                    while f.by_name(&name).is_some() {
                        name = format!("recovered-{}-{n}", &id[..8]);
                        n += 1;
                    }
                    f.keys.push(Entry {
                        name: name.clone(),
                        comment: name.clone(),
                        key_id: id.clone(),
                        fingerprint: fingerprint(&ed25519_blob(&public)),
                        created_at: now_rfc3339(),
                        store: store.name().to_owned(),
                        state: State::Active,
                    });
                    report.findings.push(format!(
                        "key id {id}: a secret in the {} key store had no index entry; added it as {name:?} (rename it with `signet rename`)",
                        store.name()
                    ));
                }
            }
            Ok::<_, VaultError>(())
        })?;
        Ok(report)
    }
}

/// The one entry `selector` names in `f`.
pub fn find_in(f: &IndexFile, selector: &str) -> Result<Entry, VaultError> {
    if let Some(e) = f.by_name(selector) {
        return Ok(e.clone());
    }
    let sel = KeySelector::parse(selector);
    if sel == KeySelector::Only {
        return Err(VaultError::NoSuchKey(String::new()));
    }
    let mut found = f
        .keys
        .iter()
        .filter(|e| e.public().is_some_and(|p| sel.matches(&p, &e.name)));
    match (found.next(), found.next()) {
        (Some(e), None) => Ok(e.clone()),
        (None, _) => Err(VaultError::NoSuchKey(selector.to_owned())),
        (Some(_), Some(_)) => Err(VaultError::Ambiguous(selector.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::backend::memory::MemoryStore;

    fn vault() -> (tempfile::TempDir, Arc<MemoryStore>, Vault) {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let store = Arc::new(MemoryStore::default());
        let v = Vault::with_store(store.clone(), dir.path().join("keys.toml"));
        (dir, store, v)
    }

    fn seed(b: u8) -> (Ed25519Seed, [u8; 32]) {
        let s = Ed25519Seed::new([b; 32]);
        let p = public_of(&s);
        (s, p)
    }

    #[test]
    fn create_find_rename_delete() -> Result<(), VaultError> {
        let (_d, store, v) = vault();
        let (s, p) = seed(1);
        let e = v.create("ci", "", &s, p)?;
        assert_eq!(e.state, State::Active);
        assert_eq!(e.comment, "ci");
        assert_eq!(store.get(&key_id(&p))?, Some(s.clone()));
        assert_eq!(v.find(&key_id(&p))?.name, "ci");
        assert_eq!(v.find(&e.fingerprint)?.name, "ci");
        // Duplicates: same key, or same name.
        let dup = v.create("other", "", &s, p).err().map(|e| e.to_string());
        assert!(dup.unwrap_or_default().contains("\"ci\""));
        let (s2, p2) = seed(2);
        assert!(matches!(
            v.create("ci", "", &s2, p2),
            Err(VaultError::Exists(_))
        ));
        // Wrong public key.
        assert!(v.create("x", "", &s2, p).is_err());
        let (_, renamed) = v.rename("ci", "deploy")?;
        assert_eq!(renamed.name, "deploy");
        assert_eq!(v.secret(&renamed)?, s);
        assert!(matches!(v.find("ci"), Err(VaultError::NoSuchKey(_))));
        v.delete("deploy")?;
        assert_eq!(store.get(&key_id(&p))?, None);
        assert!(v.entries()?.is_empty());
        Ok(())
    }

    #[test]
    fn names_are_checked() {
        for bad in [
            "",
            "a b",
            "-x",
            ".x",
            &"a".repeat(65),
            &"ab".repeat(32),
            "x/y",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["ci-bot", "a.b_c@d+e", "Z9"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn doctor_finishes_and_undoes_interrupted_operations() -> Result<(), VaultError> {
        let (_d, store, v) = vault();
        let (s1, p1) = seed(1);
        let (s2, p2) = seed(2);
        let (s3, p3) = seed(3);
        let (_s4, p4) = seed(4);
        let mk = |name: &str, p: [u8; 32], state| Entry {
            name: name.into(),
            comment: name.into(),
            key_id: key_id(&p),
            fingerprint: fingerprint(&ed25519_blob(&p)),
            created_at: rfc3339(0),
            store: "memory".into(),
            state,
        };
        // 1: pending, secret stored (crash after put) → active.
        // 2: pending, secret never stored (crash before put) → dropped.
        // 3: removing, secret still there (crash after tombstone) → deleted.
        // 4: active, secret gone → reported; dropped with --fix.
        // 5: secret with no entry → recovered.
        store.put(&key_id(&p1), &s1)?;
        store.put(&key_id(&p3), &s3)?;
        let (s5, p5) = seed(5);
        store.put(&key_id(&p5), &s5)?;
        v.index.save(&IndexFile {
            version: 1,
            keys: vec![
                mk("one", p1, State::Pending),
                mk("two", p2, State::Pending),
                mk("three", p3, State::Removing),
                mk("four", p4, State::Active),
            ],
        })?;
        let _ = s2;
        let r = v.doctor(true, false)?;
        assert_eq!(r.remaining, 1, "{r:?}");
        let names: Vec<String> = v.entries()?.into_iter().map(|e| e.name).collect();
        let recovered = format!("recovered-{}", &key_id(&p5)[..8]);
        assert_eq!(names, vec!["one".to_string(), "four".into(), recovered]);
        assert_eq!(v.find("one")?.state, State::Active);
        assert_eq!(store.get(&key_id(&p3))?, None);
        // Nothing is lost: every secret that was stored is still there.
        assert_eq!(store.get(&key_id(&p1))?, Some(s1));
        assert_eq!(store.get(&key_id(&p5))?, Some(s5));
        let r = v.doctor(true, true)?;
        assert_eq!(r.remaining, 0, "{r:?}");
        assert!(matches!(v.find("four"), Err(VaultError::NoSuchKey(_))));
        let r = v.doctor(true, false)?;
        assert!(r.findings.is_empty(), "{r:?}");
        Ok(())
    }

    /// A store that is down: every call fails as unavailable.
    struct DownStore;

    impl KeyStore for DownStore {
        fn name(&self) -> &'static str {
            "memory"
        }
        fn put(&self, _: &str, _: &Ed25519Seed) -> Result<(), StoreError> {
            Err(down())
        }
        fn get(&self, _: &str) -> Result<Option<Ed25519Seed>, StoreError> {
            Err(down())
        }
        fn delete(&self, _: &str) -> Result<bool, StoreError> {
            Err(down())
        }
        fn list(&self) -> Result<Option<Vec<String>>, StoreError> {
            Err(down())
        }
        fn put_bytes(&self, _: &str, _: &[u8]) -> Result<(), StoreError> {
            Err(down())
        }
        fn get_bytes(&self, _: &str) -> Result<Option<crate::hardening::SecretBuf>, StoreError> {
            Err(down())
        }
    }

    fn down() -> StoreError {
        StoreError::Unavailable {
            store: "memory",
            detail: "gone".into(),
            fix: "restart it".into(),
        }
    }

    #[test]
    fn a_dead_connection_is_replaced_and_the_call_retried() -> Result<(), VaultError> {
        // The cached store is dead; reopening `Backend::Memory` gives a
        // working one (as a restarted Secret Service would): the operation
        // succeeds on the fresh connection, and later ones use it.
        let dir = tempfile::tempdir().map_err(|e| VaultError::BadName(e.to_string()))?;
        let v = Vault::with_store(Arc::new(DownStore), dir.path().join("keys.toml"));
        let (s, p) = seed(9);
        let e = v.create("k", "", &s, p)?;
        assert_eq!(v.secret(&e)?, s);
        assert_eq!(v.doctor(true, false)?.remaining, 0);
        Ok(())
    }

    #[test]
    fn a_store_that_stays_down_leaves_the_index_untouched() -> Result<(), VaultError> {
        let (dir, _store, v) = vault();
        let (s, p) = seed(1);
        v.create("first", "", &s, p)?;
        let path = dir.path().join("keys.toml");
        let before = std::fs::read(&path).map_err(|e| VaultError::BadName(e.to_string()))?;
        // Now every store, the reopened one included, is down.
        let down = Vault {
            backend: Backend::Keychain, // not built on Linux: reopening fails too
            ..Vault::with_store(Arc::new(DownStore), path.clone())
        };
        let (s2, p2) = seed(2);
        let err = down
            .create("second", "", &s2, p2)
            .err()
            .map(|e| e.to_string());
        assert!(err
            .unwrap_or_default()
            .contains("unavailable (gone): restart it"));
        assert!(down.delete("first").is_err());
        let after = std::fs::read(&path).map_err(|e| VaultError::BadName(e.to_string()))?;
        assert_eq!(before, after, "the index changed");
        Ok(())
    }

    #[test]
    fn secret_of_missing_key_says_what_to_do() -> Result<(), VaultError> {
        let (_d, store, v) = vault();
        let (s, p) = seed(7);
        let e = v.create("k", "", &s, p)?;
        store.delete(&e.key_id)?;
        let msg = v
            .secret(&e)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("doctor --fix"), "{msg}");
        Ok(())
    }
}
