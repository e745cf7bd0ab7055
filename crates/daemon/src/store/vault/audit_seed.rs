//! The seed of the audit key (the key that seals the audit log), kept in
//! the key store in user mode.
//!
//! It is filed under the store's service like a key, but under an account
//! that is not a key id (`signetd-audit-…`), and it has no index entry: it
//! never appears in `signet list`, cannot be loaded as a signing key, and
//! `doctor` leaves it alone (it only adopts accounts that are key ids).
//! The audit layer never sees the store: start-up fetches the seed here
//! and hands it over.

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use signet_proto::Ed25519Seed;
use tracing::info;

use super::{Vault, VaultError};

impl Vault {
    /// The seed filed under `account`, made and stored now if there is
    /// none (then the flag is true). Blocks (it talks to the store).
    pub fn audit_seed(&self, account: &str) -> Result<(Ed25519Seed, bool), VaultError> {
        let _one = self.serialise();
        if let Some(seed) = self.call_store(|s| s.get(account))? {
            return Ok((seed, false));
        }
        let seed = Ed25519Seed::new(SigningKey::generate(&mut OsRng).to_bytes());
        self.call_store(|s| s.put(account, &seed))?;
        let back = self.call_store(|s| s.get(account))?;
        if back.as_ref() != Some(&seed) {
            let store = self.store()?;
            return Err(VaultError::Mismatch {
                name: account.to_owned(),
                store: store.name().to_owned(),
            });
        }
        info!(
            account,
            "made the audit key and stored its seed in the key store"
        );
        Ok((seed, true))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::backend::memory::MemoryStore;

    #[test]
    fn made_once_then_found_and_not_listed() -> Result<(), VaultError> {
        let dir = tempfile::tempdir().map_err(|e| VaultError::Task(e.to_string()))?;
        let store = Arc::new(MemoryStore::default());
        let v = Vault::with_store(store, dir.path().join("keys.toml"));
        let (a, made) = v.audit_seed("signetd-audit-0123456789abcdef")?;
        assert!(made);
        let (b, made) = v.audit_seed("signetd-audit-0123456789abcdef")?;
        assert!(!made);
        assert_eq!(a.expose(), b.expose());
        assert!(v.entries()?.is_empty());
        let report = v.doctor(true, true)?;
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        Ok(())
    }
}
