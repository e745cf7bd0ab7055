//! Keys at rest: the key store (OS keyring) plus the index, kept consistent,
//! and in a sealed store every seed sealed under the store key.
//!
//! **Owns**: the crash-safety protocol between the index (`store::index`)
//! and the keyring (`store::backend`), what goes into each keyring entry
//! (a sealed seed, the wrapped store key; `store::seal` makes and opens
//! them), name rules, and `doctor`. Everything here blocks; async callers
//! (the key-store handlers in `dispatch::store`, `agent::stored`, start-up)
//! go through [`blocking`] (`spawn_blocking`, and the stack wiped after:
//! `hardening::scrubbed`). One operation runs at a time per daemon (a
//! mutex), and each index change holds the index's file lock. The vault
//! never keeps the unlocked store key: the agent does, and passes it in
//! where a seed must be opened.
//!
//! ## "The whole key or nothing"
//!
//! The index entry's `state` is a write-ahead journal, written (atomically)
//! *before* each keyring change, so whatever point a crash (`kill -9`, power
//! loss) interrupts, the next start-up or `signet doctor` knows what was
//! under way and can finish or undo it without guessing. Each keyring write
//! replaces one entry whole (a reader sees the old bytes or the new):
//!
//! | operation | steps | crash after step → repair |
//! |---|---|---|
//! | generate / import | 1. entry `pending` → 2. keyring put (sealed, in a sealed store) → 3. read back, compare → 4. entry `active` | 1: secret absent → drop the entry (nothing was stored; an import's source file is still there). 2–3: secret present, and (plain) matching the key id or (sealed) intact and sealed to this store's key → mark `active` (the whole key). |
//! | remove | 1. entry `removing` (tombstone) → 2. keyring delete → 3. entry removed | 1: delete the secret, drop the entry. 2: drop the entry. |
//! | rename | one atomic index write | old or new name, nothing else changes (the keyring is filed by key id). |
//! | seal a store (first `unlock-store`) | 1. `[sealing]` `pending` with the new store key's public half → 2. wrapped store key put → 3. read back → 4. `[sealing]` `active` | 1: no store key in the keyring → drop `[sealing]` (nothing was sealed to it). 2–3: the store key is there with that public half → mark `active`. |
//! | seal a key stored in the clear (migration, at `unlock-store`) | 1. seal in memory, open again, compare → 2. put over the clear entry → 3. read back, open, compare | the entry holds the clear seed or the sealed one, both usable; the next unlock (or `doctor` while unlocked) seals what is left. |
//! | `passwd` | 1. new wrapped store key put as `signet-store-key.next` → 2. put over `signet-store-key` → 3. `.next` deleted | 1: the old passphrase opens the store (and `.next` is dropped), or the new one does (and the change is finished). 2: the new one opens it. No key is resealed: only the store key's wrapping changes. |
//!
//! A secret is never deleted by a repair, only by `signet remove`. When the
//! store can enumerate its entries (keyutils and Secret Service can), a
//! secret with no index entry at all (an index deleted by hand, say) is
//! re-added as `recovered-<first 8 hex of the key id>`, and a store key
//! with no `[sealing]` record is adopted. An `active` entry whose secret is
//! gone (keyutils after a reboot) is reported, and dropped only with
//! `signet doctor --fix`.
//!
//! `SIGNET_FAULT=<step>` makes the daemon abort at that step (a test hook
//! for the crash tests): `after-index-pending`, `after-keyring-put`,
//! `after-read-back`, `after-index-commit`, `after-tombstone`,
//! `after-keyring-delete`; sealing a store: `after-sealing-pending`,
//! `after-store-key-put`, `after-sealing-commit`; migration:
//! `after-migrate-put`; `passwd`: `after-passwd-next`, `after-passwd-put`.

mod doctor;
mod sealed;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore as _};
use signet_proto::key::{ed25519_blob, fingerprint, key_id, KeySelector};
use signet_proto::keystore::StoreInfo;
use tracing::{info, warn};

use crate::clock::rfc3339;
use crate::config::{Backend, SealMode};
use crate::hardening::{locked_seed, LockedSeed, SecretBuf};
use crate::store::backend::{KeyStore, StoreError};
use crate::store::index::{Entry, Index, IndexError, IndexFile, Sealing, State};
use crate::store::open::{self, UnknownBackend};
use crate::store::seal::{self, KdfParams, Kind, Recipient, SealError, StoreKey};

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
    /// A sealed store that has no store key yet.
    #[error("the key store has no passphrase yet: choose one with `signet unlock-store` (it seals every key stored so far); nothing was {what}")]
    NotSetUp {
        /// What did not happen (`stored`, `loaded`, …).
        what: &'static str,
    },
    /// The sealed store is locked and the operation needs it open.
    #[error(
        "the key store is locked: unlock it with `signet unlock-store`{why}; nothing was {what}"
    )]
    StoreLocked {
        /// What did not happen.
        what: &'static str,
        /// Why an unlock is needed, for the operations that do not obviously
        /// need one.
        why: &'static str,
    },
    /// The passphrase does not open the store key.
    #[error("wrong passphrase for the key store: nothing was changed; try again")]
    WrongPassphrase,
    /// A passphrase that cannot be used.
    #[error("{0}")]
    BadPassphrase(&'static str),
    /// A key stored in the clear in a sealed store.
    #[error("key {name:?} is stored in the clear in the {store} key store (written by signet before sealing, or while `[store] seal = \"none\"`), not sealed like the others: nothing was changed; `signet doctor` seals it while the key store is unlocked")]
    Unsealed {
        /// The key's name.
        name: String,
        /// The store.
        store: String,
    },
    /// A sealed entry that cannot be opened.
    #[error("key {name:?}: its {store} entry cannot be opened: {why}: {next}")]
    Sealed {
        /// The key's name.
        name: String,
        /// The store.
        store: String,
        /// What is wrong.
        why: SealError,
        /// What to do.
        next: &'static str,
    },
    /// The wrapped store key is missing from the keyring.
    #[error("keys.toml says this key store is sealed, but the {store} key store has no store key (entry {account}): no sealed key can be opened without it; restore the keyring from a backup; nothing was deleted")]
    StoreKeyMissing {
        /// The store.
        store: String,
        /// The entry.
        account: &'static str,
    },
    /// The wrapped store key cannot be used.
    #[error("the store key in the {store} key store cannot be used: {why}: {next}")]
    StoreKeyBad {
        /// The store.
        store: String,
        /// What is wrong.
        why: SealError,
        /// What to do.
        next: &'static str,
    },
    /// The store key in the keyring is not the one the index names.
    #[error("the store key in the {store} key store ({keyring}…) is not the one keys.toml was sealed with ({index}…): another signet may share this keyring service, or one of them was replaced; nothing was changed: check [store] service (SIGNET_KEYRING_SERVICE) and [store] index")]
    StoreKeyMismatch {
        /// The store.
        store: String,
        /// The keyring's store key, short.
        keyring: String,
        /// The index's, short.
        index: String,
    },
    /// The index and the keyring disagree in a way only `doctor` repairs.
    #[error("{0}: run `signet doctor`")]
    Inconsistent(String),
    /// The store is sealed by another mode than the configuration asks.
    #[error("{0}")]
    NotSealed(&'static str),
    /// Locked memory could not be had.
    #[error("cannot allocate locked memory: {0}")]
    Memory(String),
}

fn memory(e: std::io::Error) -> VaultError {
    VaultError::Memory(e.to_string())
}

/// Runs blocking vault work on tokio's blocking pool: every store call
/// blocks (D-Bus round trips, a possible unlock prompt) and must stay off
/// the async workers. The stack the work used is wiped afterwards (it may
/// have held a seed on its way to locked memory).
pub async fn blocking<T: Send + 'static>(
    vault: &Arc<Vault>,
    f: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
) -> Result<T, VaultError> {
    let v = vault.clone();
    tokio::task::spawn_blocking(move || crate::hardening::scrubbed(|| f(&v)))
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
pub fn public_of(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

fn now_rfc3339() -> String {
    rfc3339(crate::clock::unix_now())
}

/// What to tell the user to do about a sealed entry that does not open.
fn next_step(why: &SealError) -> &'static str {
    match why {
        SealError::Newer { .. } => "upgrade signet (nothing was changed)",
        SealError::OtherKey { .. } => {
            "it was sealed by another key store that shares this keyring service name \
             (check [store] service and SIGNET_KEYRING_SERVICE); nothing was changed"
        }
        SealError::Memory(_) => "raise RLIMIT_MEMLOCK (LimitMEMLOCK=) and try again",
        _ => {
            "restore the entry from a backup of the keyring or import the key again \
             (nothing was deleted; `signet doctor` lists every such key)"
        }
    }
}

/// The key store and the index, together.
pub struct Vault {
    backend: Backend,
    reason: String,
    service: String,
    store: Mutex<Result<Arc<dyn KeyStore>, StoreError>>,
    index: Index,
    ops: Mutex<()>,
    /// How new stores are sealed (`[store] seal`).
    seal: SealMode,
    /// What new store keys are wrapped with.
    kdf: KdfParams,
    /// The store key's public half as an unlock in this daemon's life
    /// proved it (derived from the secret half the passphrase opened): what
    /// new keys are sealed to. Not the index's or the keyring's copy, which
    /// anyone who can write them could replace with a key of their own.
    pinned: Mutex<Option<Recipient>>,
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
        seal: SealMode,
    ) -> Result<Self, UnknownBackend> {
        let chosen = open::choose(configured, env.as_deref(), &service)?;
        Ok(Self {
            backend: chosen.backend,
            reason: chosen.reason,
            service,
            store: Mutex::new(chosen.store),
            index: Index::new(index),
            ops: Mutex::new(()),
            seal,
            kdf: KdfParams::DEFAULT,
            pinned: Mutex::new(None),
        })
    }

    /// A vault over a given store (unit tests), not sealed.
    pub fn with_store(store: Arc<dyn KeyStore>, index: PathBuf) -> Self {
        Self {
            backend: Backend::Memory,
            reason: "test".into(),
            service: "test".into(),
            store: Mutex::new(Ok(store)),
            index: Index::new(index),
            ops: Mutex::new(()),
            seal: SealMode::None,
            kdf: KdfParams::DEFAULT,
            pinned: Mutex::new(None),
        }
    }

    /// The same vault sealing new stores with `seal`, wrapping store keys
    /// with `kdf` (unit tests use cheaper parameters).
    pub fn sealing_with(mut self, seal: SealMode, kdf: KdfParams) -> Self {
        self.seal = seal;
        self.kdf = kdf;
        self
    }

    fn serialise(&self) -> MutexGuard<'_, ()> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pinned(&self) -> Option<Recipient> {
        *self.pinned.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pin(&self, r: Recipient) {
        *self.pinned.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
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

    fn store_name(&self) -> String {
        match &*self.store.lock().unwrap_or_else(|p| p.into_inner()) {
            Ok(s) => s.name().to_owned(),
            Err(_) => self.backend.as_str().to_owned(),
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

    /// Whether the store is kept on the kernel keyring, which forgets
    /// everything at a reboot.
    pub fn forgets_at_reboot(&self) -> bool {
        self.backend == Backend::Keyutils
    }

    /// Which store, why, whether it answers, and how it is sealed (may
    /// reopen it: blocks). The lock state of a sealed store is the agent's
    /// to add.
    pub fn info(&self) -> StoreInfo {
        let problem = match self.store() {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        let sealing = self.sealing_info();
        StoreInfo {
            backend: self.backend.as_str().to_owned(),
            reason: self.reason.clone(),
            persistence: open::persistence(self.backend).to_owned(),
            service: self.service.clone(),
            index: self.index.path().display().to_string(),
            problem,
            seal: sealing.mode.as_str().to_owned(),
            sealing: match (&sealing.recipient, sealing.mode) {
                (Some(_), _) => "locked".to_owned(),
                (None, SealMode::Passphrase) => "not set up".to_owned(),
                (None, SealMode::None) => String::new(),
            },
            unlocked_for: None,
            recipient: sealing.recipient.map(|r| r.hex()).unwrap_or_default(),
            kdf: sealing.kdf,
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

    /// The `[sealing]` record, if the store is sealed.
    fn sealing(&self) -> Result<Option<Sealing>, VaultError> {
        Ok(self.index.load()?.sealing)
    }

    /// What a new key's entry holds: the seed sealed to the store key in a
    /// sealed store (or one that should be: a store with `seal =
    /// "passphrase"` and no store key yet refuses), else the seed.
    fn entry_bytes(&self, id: &str, seed: &[u8; 32]) -> Result<Vec<u8>, VaultError> {
        match self.sealing()? {
            Some(s) if s.state != State::Active => Err(VaultError::Inconsistent(
                "the key store's sealing was interrupted while it was being set up".into(),
            )),
            Some(s) => {
                let recipient = self.pinned().ok_or(VaultError::StoreLocked {
                    what: "stored",
                    why: " once in this session: signetd then seals new keys without asking, \
                          with the store key that unlock proved",
                })?;
                if Recipient::from_hex(&s.recipient) != Some(recipient) {
                    return Err(VaultError::StoreKeyMismatch {
                        store: self.store_name(),
                        keyring: recipient.short(),
                        index: s.recipient.chars().take(16).collect(),
                    });
                }
                seal::seal(&recipient, id, seed).map_err(|why| VaultError::Sealed {
                    name: id.to_owned(),
                    store: self.store_name(),
                    next: next_step(&why),
                    why,
                })
            }
            None if self.seal == SealMode::Passphrase => {
                Err(VaultError::NotSetUp { what: "stored" })
            }
            None => Ok(seed.to_vec()),
        }
    }

    /// Makes a new key inside the daemon (its seed drawn straight into
    /// locked memory) and stores it.
    pub fn generate(&self, name: &str, comment: &str) -> Result<Entry, VaultError> {
        let mut seed = locked_seed().map_err(memory)?;
        OsRng.fill_bytes(&mut seed[..]);
        let public = public_of(&seed);
        self.create(name, comment, &seed, public)
    }

    /// Stores a new key: the journal protocol in the module doc.
    pub fn create(
        &self,
        name: &str,
        comment: &str,
        seed: &[u8; 32],
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
        // Sealed (or refused) before the index is touched, too.
        let bytes = zeroize::Zeroizing::new(self.entry_bytes(&id, seed)?);
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
        if let Err(e) = self.call_store(|s| s.put(&id, &bytes)) {
            // The put may or may not have happened: undo both sides; if the
            // undo fails too, the pending entry tells doctor what to check.
            if self.call_store(|s| s.delete(&id)).is_ok() {
                let _ = self.drop_entry(&id);
            }
            return Err(e);
        }
        fault("after-keyring-put");
        let verified = matches!(
            self.call_store(|s| s.get(&id)),
            Ok(Some(back)) if back.as_slice() == bytes.as_slice()
        );
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
        info!(key = %name, key_id = %id, store = store.name(), sealed = bytes.len() != 32, "stored a key");
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

    /// The secret of an active entry, in locked memory, checked against its
    /// key id. A sealed entry needs the unlocked store key.
    pub fn secret(&self, entry: &Entry, key: Option<&StoreKey>) -> Result<LockedSeed, VaultError> {
        if entry.state != State::Active {
            return Err(VaultError::Unfinished {
                name: entry.name.clone(),
                state: entry.state.as_str(),
            });
        }
        let store = self.store()?;
        let sealing = self.sealing()?;
        // Do not even read the keyring: the answer is the same.
        match (&sealing, key) {
            // `seal = "passphrase"` and no store key yet: keys stored in the
            // clear (signet before sealing) load only once they are sealed,
            // which the first `unlock-store` does.
            (None, _) if self.seal == SealMode::Passphrase => {
                return Err(VaultError::NotSetUp { what: "loaded" })
            }
            (Some(_), None) => {
                return Err(VaultError::StoreLocked {
                    what: "loaded",
                    why: "",
                })
            }
            _ => {}
        }
        let bytes =
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
        let seed = self.open_entry(&entry.name, &entry.key_id, &bytes, sealing.is_some(), key)?;
        if Some(public_of(&seed)) != entry.public() {
            return Err(VaultError::Mismatch {
                name: entry.name.clone(),
                store: store.name().to_owned(),
            });
        }
        Ok(seed)
    }

    /// The seed in an entry's bytes: opened with `key` when sealed; in the
    /// clear only when the store is not sealed.
    fn open_entry(
        &self,
        name: &str,
        account: &str,
        bytes: &SecretBuf,
        sealed_store: bool,
        key: Option<&StoreKey>,
    ) -> Result<LockedSeed, VaultError> {
        let sealed = |why: SealError| VaultError::Sealed {
            name: name.to_owned(),
            store: self.store_name(),
            next: next_step(&why),
            why,
        };
        match seal::classify(bytes.as_slice()) {
            Kind::Plain if sealed_store => Err(VaultError::Unsealed {
                name: name.to_owned(),
                store: self.store_name(),
            }),
            Kind::Plain => {
                let mut seed = locked_seed().map_err(memory)?;
                seed.copy_from_slice(bytes.as_slice());
                Ok(seed)
            }
            Kind::Sealed => match key {
                Some(k) => k.open(account, bytes.as_slice()).map_err(sealed),
                None if sealed_store => Err(VaultError::StoreLocked {
                    what: "loaded",
                    why: "",
                }),
                None => Err(VaultError::Inconsistent(format!(
                    "key {name:?} is sealed, but keys.toml has no [sealing] record of the store key"
                ))),
            },
            Kind::Newer { kind, version } => Err(sealed(SealError::Newer { kind, version })),
            Kind::StoreKey | Kind::Unknown => Err(sealed(SealError::Damaged(
                "it is not a key entry signet wrote",
            ))),
        }
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
mod tests;
