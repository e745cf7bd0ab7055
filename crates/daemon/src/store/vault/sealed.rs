//! The sealed store's own operations: setting up the store key (the first
//! `signet unlock-store`), unlocking it, changing its passphrase, sealing
//! keys found in the clear, and the secrets signetd keeps for itself. The
//! crash-safe steps of each are in the table of the module above.

use signet_proto::index::Sealing;
use tracing::{info, warn};
use zeroize::Zeroizing;

use super::{fault, memory, public_of, Vault, VaultError};
use crate::config::SealMode;
use crate::hardening::{locked_seed, LockedSeed};
use crate::store::backend::{STORE_KEY_ACCOUNT, STORE_KEY_NEXT_ACCOUNT};
use crate::store::index::State;
use crate::store::seal::{self, KdfParams, Kind, Recipient, SealError, StoreKey};

/// What the configuration and the index say about sealing (no secret, and
/// no keyring call).
#[derive(Debug, Clone)]
pub struct SealingInfo {
    /// `[store] seal` in force.
    pub mode: SealMode,
    /// The store key's public half, when the store is sealed.
    pub recipient: Option<Recipient>,
    /// How it is wrapped, for people.
    pub kdf: String,
}

/// What [`Vault::migrate`] did.
#[derive(Debug, Clone, Default)]
pub struct MigrateReport {
    /// Keys that were in the clear and are sealed now.
    pub sealed: Vec<String>,
    /// Keys that could not be sealed, with why (each left as it was).
    pub problems: Vec<String>,
}

impl Vault {
    /// What the configuration and the index say about sealing.
    pub fn sealing_info(&self) -> SealingInfo {
        let sealing = self.sealing().ok().flatten();
        SealingInfo {
            mode: if sealing.is_some() {
                SealMode::Passphrase
            } else {
                self.seal
            },
            recipient: sealing
                .as_ref()
                .filter(|s| s.state == State::Active)
                .and_then(|s| Recipient::from_hex(&s.recipient)),
            kdf: sealing.map(|s| s.kdf).unwrap_or_default(),
        }
    }

    /// Whether the store is sealed (has an active store key).
    pub fn is_sealed(&self) -> bool {
        self.sealing_info().recipient.is_some()
    }

    /// Sets up the store key of a sealed store: made here, wrapped under
    /// `passphrase`, journalled in `[sealing]`. Returns it unlocked, and
    /// whether it was made now: a store that turns out to have one already
    /// (an index that had lost its `[sealing]` record, another daemon of the
    /// same store meanwhile) is unlocked with `passphrase` instead, never
    /// given a second store key.
    pub fn set_up(&self, passphrase: &[u8]) -> Result<(StoreKey, bool), VaultError> {
        if passphrase.is_empty() {
            return Err(VaultError::BadPassphrase(
                "refusing an empty passphrase for the key store: choose one",
            ));
        }
        let _one = self.serialise();
        self.repair_sealing()?;
        if self.sealing()?.is_some() {
            return self.unlock_serialised(passphrase).map(|k| (k, false));
        }
        // Never overwrite a store key: one without an index record belongs
        // to keys sealed to it.
        if let Some(found) = self.call_store(|s| s.get(STORE_KEY_ACCOUNT))? {
            let who = seal::store_key_recipient(found.as_slice())
                .map(|r| format!(" ({}…)", r.short()))
                .unwrap_or_default();
            return Err(VaultError::Inconsistent(format!(
                "the {} key store already holds a store key{who}, but keys.toml has no [sealing] \
                 record of it (a deleted or replaced index?); nothing was changed",
                self.store_name()
            )));
        }
        let key = StoreKey::generate().map_err(|e| VaultError::Memory(e.to_string()))?;
        let wrapped = Zeroizing::new(key.wrap(passphrase, self.kdf).map_err(|why| {
            VaultError::StoreKeyBad {
                store: self.store_name(),
                why,
                next: "try again",
            }
        })?);
        let recipient = key.recipient();
        let record = Sealing {
            mode: SealMode::Passphrase.as_str().to_owned(),
            state: State::Pending,
            recipient: recipient.hex(),
            kdf: format!("{}, xchacha20-poly1305", self.kdf),
            created_at: super::now_rfc3339(),
        };
        self.index.update(|f| {
            f.set_sealing(Some(record.clone()));
            Ok::<_, VaultError>(())
        })?;
        fault("after-sealing-pending");
        let undo = || {
            if self.call_store(|s| s.delete(STORE_KEY_ACCOUNT)).is_ok() {
                let _ = self.index.update(|f| {
                    f.set_sealing(None);
                    Ok::<_, VaultError>(())
                });
            }
        };
        if let Err(e) = self.call_store(|s| s.put(STORE_KEY_ACCOUNT, &wrapped)) {
            undo();
            return Err(e);
        }
        fault("after-store-key-put");
        let back = self.call_store(|s| s.get(STORE_KEY_ACCOUNT));
        if !matches!(&back, Ok(Some(b)) if b.as_slice() == wrapped.as_slice()) {
            undo();
            return Err(VaultError::Mismatch {
                name: "the store key".into(),
                store: self.store_name(),
            });
        }
        self.index.update(|f| {
            if let Some(s) = f.sealing.as_mut() {
                s.state = State::Active;
            }
            Ok::<_, VaultError>(())
        })?;
        fault("after-sealing-commit");
        self.pin(recipient);
        info!(store_key = %recipient.short(), kdf = %self.kdf, "sealed the key store: a new store key, wrapped under the passphrase");
        Ok((key, true))
    }

    /// Opens the store key with `passphrase`, finishing or undoing an
    /// interrupted `passwd` on the way.
    pub fn unlock(&self, passphrase: &[u8]) -> Result<StoreKey, VaultError> {
        let _one = self.serialise();
        self.unlock_serialised(passphrase)
    }

    fn unlock_serialised(&self, passphrase: &[u8]) -> Result<StoreKey, VaultError> {
        self.repair_sealing()?;
        let Some(sealing) = self.sealing()? else {
            return Err(match self.seal {
                SealMode::Passphrase => VaultError::NotSetUp { what: "unlocked" },
                SealMode::None => VaultError::NotSealed(
                    "this key store is not sealed ([store] seal = \"none\"): there is nothing to \
                     unlock; its keys load without a passphrase",
                ),
            });
        };
        if sealing.state != State::Active {
            return Err(VaultError::Inconsistent(
                "the key store's sealing was interrupted while it was being set up".into(),
            ));
        }
        let expected = Recipient::from_hex(&sealing.recipient).ok_or_else(|| {
            VaultError::Inconsistent("[sealing] recipient in keys.toml is not a public key".into())
        })?;
        let store = self.store_name();
        let main =
            self.call_store(|s| s.get(STORE_KEY_ACCOUNT))?
                .ok_or(VaultError::StoreKeyMissing {
                    store: store.clone(),
                    account: STORE_KEY_ACCOUNT,
                })?;
        let next = self.call_store(|s| s.get(STORE_KEY_NEXT_ACCOUNT))?;
        let check = |bytes: &[u8]| -> Result<(), VaultError> {
            let r = seal::store_key_recipient(bytes).map_err(|why| VaultError::StoreKeyBad {
                store: store.clone(),
                next: "restore the keyring from a backup; nothing was changed",
                why,
            })?;
            if r != expected {
                return Err(VaultError::StoreKeyMismatch {
                    store: store.clone(),
                    keyring: r.short(),
                    index: expected.short(),
                });
            }
            Ok(())
        };
        let first = check(main.as_slice()).and_then(|()| {
            StoreKey::unwrap(main.as_slice(), passphrase).map_err(|e| self.bad_key(e))
        });
        let key = match (first, &next) {
            (Ok(key), next) => {
                match next {
                    // passwd had replaced the main entry and was interrupted
                    // before dropping `.next`: it is done.
                    Some(n) if n.as_slice() == main.as_slice() => {
                        self.call_store(|s| s.delete(STORE_KEY_NEXT_ACCOUNT))?;
                        warn!("key store: finished an interrupted `signet passwd` (the new passphrase is in force)");
                    }
                    // passwd never replaced the main entry: the old
                    // passphrase stays in force.
                    Some(_) => {
                        self.call_store(|s| s.delete(STORE_KEY_NEXT_ACCOUNT))?;
                        warn!("key store: an interrupted `signet passwd` was undone (the old passphrase stays; run `signet passwd` again to change it)");
                    }
                    None => {}
                }
                key
            }
            (Err(first), Some(next)) => {
                // passwd wrote the new wrapping and was interrupted before
                // (or right after) replacing the main entry: the new
                // passphrase opens it; finish the change.
                check(next.as_slice())?;
                match StoreKey::unwrap(next.as_slice(), passphrase) {
                    Ok(key) => {
                        self.call_store(|s| s.put(STORE_KEY_ACCOUNT, next.as_slice()))?;
                        self.call_store(|s| s.delete(STORE_KEY_NEXT_ACCOUNT))?;
                        warn!("key store: finished an interrupted `signet passwd` (the new passphrase is in force)");
                        key
                    }
                    Err(_) => return Err(first),
                }
            }
            (Err(e), None) => return Err(e),
        };
        self.pin(key.recipient());
        Ok(key)
    }

    fn bad_key(&self, e: SealError) -> VaultError {
        match e {
            SealError::WrongPassphrase => VaultError::WrongPassphrase,
            why => VaultError::StoreKeyBad {
                store: self.store_name(),
                next: match why {
                    SealError::Newer { .. } => "upgrade signet; nothing was changed",
                    _ => "restore the keyring from a backup; nothing was changed",
                },
                why,
            },
        }
    }

    /// Changes the passphrase: opens the store key with `old`, wraps it
    /// under `new`. No key is resealed.
    pub fn passwd(&self, old: &[u8], new: &[u8]) -> Result<StoreKey, VaultError> {
        if new.is_empty() {
            return Err(VaultError::BadPassphrase(
                "refusing an empty passphrase for the key store: choose one",
            ));
        }
        let _one = self.serialise();
        let key = self.unlock_serialised(old)?;
        let previous =
            self.call_store(|s| s.get(STORE_KEY_ACCOUNT))?
                .ok_or(VaultError::StoreKeyMissing {
                    store: self.store_name(),
                    account: STORE_KEY_ACCOUNT,
                })?;
        // Keep the parameters the store was made with unless they are
        // below today's (a passwd is when old stores catch up).
        let params = seal::store_key_params(previous.as_slice())
            .ok()
            .filter(|p| p.m_kib >= self.kdf.m_kib && p.t >= self.kdf.t)
            .unwrap_or(self.kdf);
        let wrapped = Zeroizing::new(key.wrap(new, params).map_err(|e| self.bad_key(e))?);
        self.call_store(|s| s.put(STORE_KEY_NEXT_ACCOUNT, &wrapped))?;
        fault("after-passwd-next");
        let back = self.call_store(|s| s.get(STORE_KEY_NEXT_ACCOUNT))?;
        if back.as_ref().map(|b| b.as_slice()) != Some(wrapped.as_slice()) {
            let _ = self.call_store(|s| s.delete(STORE_KEY_NEXT_ACCOUNT));
            return Err(VaultError::Mismatch {
                name: "the new store key".into(),
                store: self.store_name(),
            });
        }
        self.call_store(|s| s.put(STORE_KEY_ACCOUNT, &wrapped))?;
        fault("after-passwd-put");
        let back = self.call_store(|s| s.get(STORE_KEY_ACCOUNT))?;
        if back.as_ref().map(|b| b.as_slice()) != Some(wrapped.as_slice()) {
            // Put the old wrapping back; `.next` stays for the next unlock.
            self.call_store(|s| s.put(STORE_KEY_ACCOUNT, previous.as_slice()))?;
            return Err(VaultError::Mismatch {
                name: "the store key".into(),
                store: self.store_name(),
            });
        }
        self.call_store(|s| s.delete(STORE_KEY_NEXT_ACCOUNT))?;
        let sealing_kdf = format!("{params}, xchacha20-poly1305");
        self.index.update(|f| {
            if let Some(s) = f.sealing.as_mut() {
                s.kdf = sealing_kdf.clone();
            }
            Ok::<_, VaultError>(())
        })?;
        info!(
            "key store: passphrase changed (the store key was wrapped again; no key was resealed)"
        );
        Ok(key)
    }

    /// Seals every key stored in the clear (signet before sealing, or
    /// `seal = "none"`): each is sealed in memory, opened again and
    /// compared, written over the clear entry, read back and opened again.
    /// A key that fails any step is left as it was and reported.
    pub fn migrate(&self, key: &StoreKey) -> Result<MigrateReport, VaultError> {
        let _one = self.serialise();
        self.migrate_serialised(key)
    }

    pub(super) fn migrate_serialised(&self, key: &StoreKey) -> Result<MigrateReport, VaultError> {
        let mut report = MigrateReport::default();
        if !self.is_sealed() {
            return Ok(report);
        }
        for e in self.entries()? {
            if e.state != State::Active {
                continue;
            }
            let Some(bytes) = self.call_store(|s| s.get(&e.key_id))? else {
                continue;
            };
            if seal::classify(bytes.as_slice()) != Kind::Plain {
                continue;
            }
            match self.seal_one(key, &e.name, &e.key_id, bytes.as_slice(), e.public()) {
                Ok(()) => report.sealed.push(e.name.clone()),
                Err(why) => report.problems.push(format!("key {:?}: {why}", e.name)),
            }
        }
        if !report.sealed.is_empty() {
            info!(keys = %report.sealed.join(", "), "key store: sealed keys that were stored in the clear");
        }
        Ok(report)
    }

    /// Seals one clear entry in place (see [`Vault::migrate`]).
    pub(super) fn seal_one(
        &self,
        key: &StoreKey,
        name: &str,
        account: &str,
        plain: &[u8],
        public: Option<[u8; 32]>,
    ) -> Result<(), VaultError> {
        let mut seed = locked_seed().map_err(memory)?;
        seed.copy_from_slice(plain);
        if public.is_some_and(|p| public_of(&seed) != p) {
            return Err(VaultError::Mismatch {
                name: name.to_owned(),
                store: self.store_name(),
            });
        }
        let sealed = seal::seal(&key.recipient(), account, &seed).map_err(|e| self.bad_key(e))?;
        let opens = |bytes: &[u8]| {
            key.open(account, bytes)
                .is_ok_and(|back| back.as_slice() == seed.as_slice())
        };
        if !opens(&sealed) {
            return Err(VaultError::Mismatch {
                name: name.to_owned(),
                store: self.store_name(),
            });
        }
        self.call_store(|s| s.put(account, &sealed))?;
        fault("after-migrate-put");
        let back = self.call_store(|s| s.get(account))?;
        if !back.as_ref().is_some_and(|b| opens(b.as_slice())) {
            // Put the clear seed back: the key stays usable, as it was.
            self.call_store(|s| s.put(account, &seed[..]))?;
            return Err(VaultError::Mismatch {
                name: name.to_owned(),
                store: self.store_name(),
            });
        }
        Ok(())
    }

    /// A 32-byte secret signetd keeps for itself (not a key of the user's:
    /// no index entry, never listed, loaded or adopted by `doctor`), filed
    /// under `account` (anything but a key id). Made with `make` and stored
    /// if there is none yet (then the flag is true). In a sealed store it is
    /// sealed like a key: storing a new one needs the store key's public
    /// half from an unlock in this daemon's life, reading needs `key`.
    pub fn own_secret(
        &self,
        account: &str,
        key: Option<&StoreKey>,
        make: impl FnOnce(&mut [u8; 32]),
    ) -> Result<(LockedSeed, bool), VaultError> {
        self.own_secret_with(account, key, make, false)
    }

    /// [`Vault::own_secret`]; with `clear_until_sealed`, a secret made
    /// while the store has no store key yet (`seal = "passphrase"` before
    /// the first `unlock-store`) is stored in the clear instead of refused,
    /// and sealed in place by the first unlock (the next call with `key`).
    pub(super) fn own_secret_with(
        &self,
        account: &str,
        key: Option<&StoreKey>,
        make: impl FnOnce(&mut [u8; 32]),
        clear_until_sealed: bool,
    ) -> Result<(LockedSeed, bool), VaultError> {
        if crate::store::backend::is_key_id(account) {
            return Err(VaultError::BadName(format!(
                "{account:?} is a key id: signetd's own secrets use other names"
            )));
        }
        let _one = self.serialise();
        let sealed_store = self.is_sealed();
        if let Some(bytes) = self.call_store(|s| s.get(account))? {
            if seal::classify(bytes.as_slice()) != Kind::Plain {
                let seed = self.open_entry(account, account, &bytes, sealed_store, key)?;
                return Ok((seed, false));
            }
            let mut seed = locked_seed().map_err(memory)?;
            seed.copy_from_slice(bytes.as_slice());
            // One stored before the store was sealed: seal it now.
            if let (true, Some(k)) = (sealed_store, key) {
                self.seal_one(k, account, account, bytes.as_slice(), None)?;
            }
            return Ok((seed, false));
        }
        let mut seed = locked_seed().map_err(memory)?;
        make(&mut seed);
        let bytes = if clear_until_sealed && self.sealing()?.is_none() {
            Zeroizing::new(seed.to_vec())
        } else {
            Zeroizing::new(self.entry_bytes(account, &seed)?)
        };
        self.call_store(|s| s.put(account, &bytes))?;
        let back = self.call_store(|s| s.get(account))?;
        if back.as_ref().map(|b| b.as_slice()) != Some(bytes.as_slice()) {
            return Err(VaultError::Mismatch {
                name: account.to_owned(),
                store: self.store_name(),
            });
        }
        Ok((seed, true))
    }

    /// Finishes or undoes an interrupted set-up of the store key (the
    /// `pending` `[sealing]` journal), and adopts a store key the keyring
    /// has but the index does not name. Returns what it did.
    pub(super) fn repair_sealing(&self) -> Result<Vec<String>, VaultError> {
        let mut done = Vec::new();
        let found = self.call_store(|s| s.get(STORE_KEY_ACCOUNT))?;
        let in_keyring = match &found {
            Some(b) => Some(seal::store_key_recipient(b.as_slice()).map_err(|why| {
                VaultError::StoreKeyBad {
                    store: self.store_name(),
                    next: "restore the keyring from a backup; nothing was changed",
                    why,
                }
            })?),
            None => None,
        };
        let params = found
            .as_ref()
            .and_then(|b| seal::store_key_params(b.as_slice()).ok())
            .unwrap_or(KdfParams::DEFAULT);
        self.index.update(|f| {
            match (&mut f.sealing, in_keyring) {
                (Some(s), Some(r)) if s.state == State::Pending && s.recipient == r.hex() => {
                    s.state = State::Active;
                    done.push("an interrupted sealing of the key store had stored the store key; finished it".to_owned());
                }
                (Some(s), None) if s.state == State::Pending => {
                    f.set_sealing(None);
                    done.push("an interrupted sealing of the key store never stored the store key; dropped the incomplete [sealing] record (no key was sealed to it)".to_owned());
                }
                (None, Some(r)) => {
                    f.set_sealing(Some(Sealing {
                        mode: SealMode::Passphrase.as_str().to_owned(),
                        state: State::Active,
                        recipient: r.hex(),
                        kdf: format!("{params}, xchacha20-poly1305"),
                        created_at: super::now_rfc3339(),
                    }));
                    done.push(format!("the keyring holds a store key ({}…) that keys.toml did not name; added its [sealing] record", r.short()));
                }
                _ => {}
            }
            Ok::<_, VaultError>(())
        })?;
        for d in &done {
            warn!("key store: {d}");
        }
        Ok(done)
    }
}
