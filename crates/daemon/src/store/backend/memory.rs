//! An in-memory store, for unit tests (never selectable by configuration).

use std::collections::BTreeMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

use super::{into_locked, KeyStore, StoreError};
use crate::hardening::SecretBuf;

/// The store.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, Zeroizing<Vec<u8>>>>,
}

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Zeroizing<Vec<u8>>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KeyStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn put(&self, account: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.map()
            .insert(account.to_owned(), Zeroizing::new(secret.to_vec()));
        Ok(())
    }

    fn get(&self, account: &str) -> Result<Option<SecretBuf>, StoreError> {
        let found = self.map().get(account).cloned();
        found.map(|b| into_locked("memory", account, b)).transpose()
    }

    fn delete(&self, account: &str) -> Result<bool, StoreError> {
        Ok(self.map().remove(account).is_some())
    }

    fn list(&self) -> Result<Option<Vec<String>>, StoreError> {
        Ok(Some(
            self.map()
                .keys()
                .filter(|a| super::is_key_id(a))
                .cloned()
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() -> Result<(), StoreError> {
        let s = MemoryStore::default();
        let id = "ab".repeat(32);
        assert!(s.get(&id)?.is_none());
        s.put(&id, &[1; 32])?;
        s.put(super::super::STORE_KEY_ACCOUNT, &[2; 40])?;
        assert_eq!(
            s.get(&id)?.map(|b| b.as_slice().to_vec()),
            Some(vec![1; 32])
        );
        // Only key ids are listed.
        assert_eq!(s.list()?, Some(vec![id.clone()]));
        assert!(s.delete(&id)?);
        assert!(!s.delete(&id)?);
        Ok(())
    }
}
