//! An in-memory store, for unit tests (never selectable by configuration).

use std::collections::BTreeMap;
use std::sync::Mutex;

use signet_proto::Ed25519Seed;

use super::{KeyStore, StoreError};

/// The store.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, Ed25519Seed>>,
    blobs: Mutex<BTreeMap<String, zeroize::Zeroizing<Vec<u8>>>>,
}

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Ed25519Seed>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KeyStore for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn put(&self, key_id: &str, seed: &Ed25519Seed) -> Result<(), StoreError> {
        self.map().insert(key_id.to_owned(), seed.clone());
        Ok(())
    }

    fn get(&self, key_id: &str) -> Result<Option<Ed25519Seed>, StoreError> {
        Ok(self.map().get(key_id).cloned())
    }

    fn delete(&self, key_id: &str) -> Result<bool, StoreError> {
        let blob = self
            .blobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key_id)
            .is_some();
        Ok(self.map().remove(key_id).is_some() || blob)
    }

    fn list(&self) -> Result<Option<Vec<String>>, StoreError> {
        Ok(Some(self.map().keys().cloned().collect()))
    }

    fn put_bytes(&self, account: &str, secret: &[u8]) -> Result<(), StoreError> {
        let mut blobs = self.blobs.lock().unwrap_or_else(|p| p.into_inner());
        blobs.insert(account.to_owned(), zeroize::Zeroizing::new(secret.to_vec()));
        Ok(())
    }

    fn get_bytes(&self, account: &str) -> Result<Option<crate::hardening::SecretBuf>, StoreError> {
        let blobs = self.blobs.lock().unwrap_or_else(|p| p.into_inner());
        match blobs.get(account) {
            Some(b) => super::into_locked("memory", account, b.clone()).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() -> Result<(), StoreError> {
        let s = MemoryStore::default();
        assert_eq!(s.get("a")?, None);
        s.put("a", &Ed25519Seed::new([1; 32]))?;
        assert_eq!(s.get("a")?, Some(Ed25519Seed::new([1; 32])));
        assert_eq!(s.list()?, Some(vec!["a".to_owned()]));
        assert!(s.delete("a")?);
        assert!(!s.delete("a")?);
        Ok(())
    }
}
