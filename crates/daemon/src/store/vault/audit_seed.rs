//! The seed of the audit key (the key that seals the audit log), kept in
//! the key store in user mode.
//!
//! It is filed under the store's service like a key, but under an account
//! that is not a key id (`signetd-audit-…`), and it has no index entry: it
//! never appears in `signet list`, cannot be loaded as a signing key, and
//! `doctor` leaves it alone (it only adopts accounts that are key ids).
//! The audit layer never sees the store: start-up (and the agent, at
//! `unlock-store`) fetches the seed here and hands it over.
//!
//! In a sealed store it is one of signetd's own secrets
//! ([`Vault::own_secret`]): sealed under the store key like a key, so a
//! process that reads the keyring cannot forge seals. It can then be opened
//! only while the store is unlocked: until the first `signet unlock-store`
//! after a start the audit log is chained but not sealed, and the first
//! seal after the unlock covers every record before it.
//!
//! Design decision: before the store has a store key at all (`seal =
//! "passphrase"` and no passphrase chosen yet, or `seal = "none"`) nothing
//! can seal it, and an agent that is never unlocked (keys added with
//! `ssh-add` only) must still seal its log: the seed is then stored in the
//! clear, as every key was before sealing, and the first `unlock-store`
//! (which chooses the passphrase) seals it in place. So a process that read
//! the keyring before that first unlock may hold that audit key.

use rand_core::{OsRng, RngCore as _};
use tracing::info;

use super::{Vault, VaultError};
use crate::hardening::LockedSeed;
use crate::store::seal::StoreKey;

impl Vault {
    /// The seed filed under `account` (in locked memory), and whether it
    /// was made now; made and stored if there is none. With `key` (the
    /// unlocked store key), a sealed seed is opened and one in the clear is
    /// sealed in place. `Ok(None)`: the store is sealed (or is to be, and
    /// has no passphrase yet) and locked, so the seed cannot be had until
    /// `signet unlock-store`. Blocks (it talks to the store).
    pub fn audit_seed(
        &self,
        account: &str,
        key: Option<&StoreKey>,
    ) -> Result<Option<(LockedSeed, bool)>, VaultError> {
        match self.own_secret_with(account, key, |b| OsRng.fill_bytes(b), true) {
            Ok((seed, made)) => {
                if made {
                    info!(
                        account,
                        sealed = self.is_sealed(),
                        "made the audit key and stored its seed in the key store"
                    );
                }
                Ok(Some((seed, made)))
            }
            Err(VaultError::StoreLocked { .. } | VaultError::NotSetUp { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::SealMode;
    use crate::store::backend::memory::MemoryStore;
    use crate::store::backend::KeyStore as _;
    use crate::store::seal::{self, KdfParams, Kind};

    const ACCOUNT: &str = "signetd-audit-0123456789abcdef";

    fn dir() -> Result<tempfile::TempDir, VaultError> {
        tempfile::tempdir().map_err(|e| VaultError::Task(e.to_string()))
    }

    fn stored(store: &MemoryStore) -> Result<Vec<u8>, VaultError> {
        Ok(store
            .get(ACCOUNT)?
            .map(|b| b.as_slice().to_vec())
            .unwrap_or_default())
    }

    #[test]
    fn made_once_then_found_and_not_listed() -> Result<(), VaultError> {
        let dir = dir()?;
        let store = Arc::new(MemoryStore::default());
        let v = Vault::with_store(store, dir.path().join("keys.toml"));
        let Some((a, made)) = v.audit_seed(ACCOUNT, None)? else {
            panic!("an unsealed store gives the seed at once");
        };
        assert!(made);
        let Some((b, made)) = v.audit_seed(ACCOUNT, None)? else {
            panic!("found again");
        };
        assert!(!made);
        assert_eq!(a[..], b[..]);
        assert!(v.entries()?.is_empty());
        let report = v.doctor(true, true, None)?;
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        Ok(())
    }

    #[test]
    fn in_a_sealed_store_it_waits_for_the_unlock_and_is_sealed() -> Result<(), VaultError> {
        let dir = dir()?;
        let store = Arc::new(MemoryStore::default());
        let cheap = KdfParams {
            m_kib: 8 * 1024,
            t: 1,
            p: 1,
        };
        let v = Vault::with_store(store.clone(), dir.path().join("keys.toml"))
            .sealing_with(SealMode::Passphrase, cheap);
        // No passphrase yet: made and kept in the clear (nothing can seal
        // it); the first unlock seals it in place.
        let Some((made, true)) = v.audit_seed(ACCOUNT, None)? else {
            panic!("made before the store has a passphrase");
        };
        assert_eq!(stored(&store)?, made[..].to_vec());
        let (key, _) = v.set_up(b"pw")?;
        let Some((same, false)) = v.audit_seed(ACCOUNT, Some(&key))? else {
            panic!("found at the first unlock");
        };
        assert_eq!(made[..], same[..]);
        let at_rest = stored(&store)?;
        assert_eq!(seal::classify(&at_rest), Kind::Sealed);
        assert!(!at_rest.windows(32).any(|w| w == &made[..]));
        // A new daemon: locked, so it waits; unlocked, the same seed.
        assert!(v.audit_seed(ACCOUNT, None)?.is_none());
        let Some((again, false)) = v.audit_seed(ACCOUNT, Some(&key))? else {
            panic!("opened, not made again");
        };
        assert_eq!(made[..], again[..]);
        Ok(())
    }

    #[test]
    fn made_in_a_sealed_store_only_while_unlocked_and_sealed_at_once() -> Result<(), VaultError> {
        let dir = dir()?;
        let store = Arc::new(MemoryStore::default());
        let cheap = KdfParams {
            m_kib: 8 * 1024,
            t: 1,
            p: 1,
        };
        let index = dir.path().join("keys.toml");
        let v = Vault::with_store(store.clone(), index.clone())
            .sealing_with(SealMode::Passphrase, cheap);
        let (key, _) = v.set_up(b"pw")?;
        // Another daemon of the same store, not unlocked yet: it waits and
        // stores nothing in the clear.
        let fresh =
            Vault::with_store(store.clone(), index).sealing_with(SealMode::Passphrase, cheap);
        assert!(fresh.audit_seed(ACCOUNT, None)?.is_none());
        assert!(store.get(ACCOUNT)?.is_none());
        let Some((made, true)) = v.audit_seed(ACCOUNT, Some(&key))? else {
            panic!("made while unlocked");
        };
        let at_rest = stored(&store)?;
        assert_eq!(seal::classify(&at_rest), Kind::Sealed);
        assert!(!at_rest.windows(32).any(|w| w == &made[..]));
        assert!(fresh.audit_seed(ACCOUNT, None)?.is_none());
        Ok(())
    }

    #[test]
    fn a_seed_in_the_clear_is_used_then_sealed_by_the_unlock() -> Result<(), VaultError> {
        let dir = dir()?;
        let store = Arc::new(MemoryStore::default());
        let index = dir.path().join("keys.toml");
        // Written by signet before sealing.
        let old = Vault::with_store(store.clone(), index.clone());
        let Some((seed, true)) = old.audit_seed(ACCOUNT, None)? else {
            panic!("made");
        };
        assert_eq!(stored(&store)?, seed[..].to_vec());
        let cheap = KdfParams {
            m_kib: 8 * 1024,
            t: 1,
            p: 1,
        };
        let v = Vault::with_store(store.clone(), index).sealing_with(SealMode::Passphrase, cheap);
        // Before the unlock: still usable (it is in the clear anyway).
        let Some((before, false)) = v.audit_seed(ACCOUNT, None)? else {
            panic!("the clear seed is usable");
        };
        assert_eq!(before[..], seed[..]);
        let (key, _) = v.set_up(b"pw")?;
        let Some((after, false)) = v.audit_seed(ACCOUNT, Some(&key))? else {
            panic!("the same seed");
        };
        assert_eq!(after[..], seed[..]);
        assert_eq!(seal::classify(&stored(&store)?), Kind::Sealed);
        Ok(())
    }
}
