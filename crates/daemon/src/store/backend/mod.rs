//! Where private keys rest: the OS keyring, behind one small trait.
//!
//! **Owns**: the [`KeyStore`] trait and its error type, which every store
//! implements: [`keyutils`] (the Linux kernel keyring), [`keyring`] (Secret
//! Service, macOS Keychain, Windows Credential Manager, through the
//! `keyring` crate's v4 store crates) and [`memory`] (unit tests). Which one
//! the daemon uses is chosen in `store::open`.
//!
//! **Must not**: fall back to a plaintext file, ever. A store that is
//! unavailable or locked is an error that names the store and the fix.
//!
//! Layout in every store: service = the keyring service name (default
//! `signet`, `[store] service` / `SIGNET_KEYRING_SERVICE`), account = the key
//! id (64 hex digits of the raw public key, so renaming never touches the
//! keyring), secret = the 32-byte Ed25519 seed, as binary.
//!
//! Every call blocks (D-Bus round trips, a possible unlock prompt): callers in
//! async code go through `tokio::task::spawn_blocking` (see `store::vault::blocking`).

#[cfg(any(target_os = "linux", target_os = "macos", windows))]
pub mod keyring;
#[cfg(target_os = "linux")]
pub mod keyutils;
pub mod memory;

use signet_proto::Ed25519Seed;

use crate::hardening::SecretBuf;
use zeroize::Zeroizing;

/// A store of Ed25519 seeds, filed by key id under one service name.
pub trait KeyStore: Send + Sync {
    /// The store's name as configured and shown (`keyutils`, `secret-service`, …).
    fn name(&self) -> &'static str;
    /// Stores (or replaces) the seed of `key_id`.
    fn put(&self, key_id: &str, seed: &Ed25519Seed) -> Result<(), StoreError>;
    /// The seed of `key_id`, `None` when the store has no such entry.
    fn get(&self, key_id: &str) -> Result<Option<Ed25519Seed>, StoreError>;
    /// Deletes the entry of `key_id`; false when there was none.
    fn delete(&self, key_id: &str) -> Result<bool, StoreError>;
    /// The key ids stored under this service, or `None` when the store cannot
    /// enumerate (then only the index's journal finds orphans).
    fn list(&self) -> Result<Option<Vec<String>>, StoreError>;
    /// Stores (or replaces) an entry of any length up to
    /// `hardening::SECRET_BUF_CAP` bytes under `account` (a bearer secret: see
    /// `store::vault`'s secrets; never a key id).
    fn put_bytes(&self, account: &str, secret: &[u8]) -> Result<(), StoreError>;
    /// The entry of `account`, read into locked memory; `None` when the
    /// store has none.
    fn get_bytes(&self, account: &str) -> Result<Option<SecretBuf>, StoreError>;
}

/// Moves the bytes a keyring crate returned into locked memory (its
/// buffer is wiped when the `Zeroizing` drops).
pub fn into_locked(
    store: &'static str,
    account: &str,
    bytes: Zeroizing<Vec<u8>>,
) -> Result<SecretBuf, StoreError> {
    SecretBuf::copy_of(&bytes)
        .map_err(|e| StoreError::Failed {
            store,
            detail: format!("cannot allocate locked memory for an entry: {e}"),
        })?
        .ok_or_else(|| StoreError::Failed {
            store,
            detail: format!(
                "the entry {account} is {} bytes, larger than any entry signet writes (written by another program?): inspect it and remove it by hand",
                bytes.len()
            ),
        })
}

/// Why a store operation failed. Every message names the store and says what
/// to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached at all.
    #[error("the {store} key store is unavailable ({detail}): {fix}")]
    Unavailable {
        /// The store's name.
        store: &'static str,
        /// What went wrong.
        detail: String,
        /// What to do.
        fix: String,
    },
    /// The store answered but is locked or refused access.
    #[error("the {store} key store is locked or refused access ({detail}): {fix}")]
    Locked {
        /// The store's name.
        store: &'static str,
        /// What went wrong.
        detail: String,
        /// What to do.
        fix: String,
    },
    /// Anything else the store reported.
    #[error("the {store} key store failed: {detail}")]
    Failed {
        /// The store's name.
        store: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The entry exists but does not hold a 32-byte seed.
    #[error("the {store} entry for key {key_id} is not a 32-byte Ed25519 seed (written by another program?): inspect it and remove it by hand")]
    Corrupt {
        /// The store's name.
        store: &'static str,
        /// The key id.
        key_id: String,
    },
}

/// Turns the bytes a store returned into a seed, wiping the copy.
pub fn seed_from_bytes(
    store: &'static str,
    key_id: &str,
    bytes: Zeroizing<Vec<u8>>,
) -> Result<Ed25519Seed, StoreError> {
    let arr: &[u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt {
            store,
            key_id: key_id.to_owned(),
        })?;
    Ok(Ed25519Seed::new(*arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secret_is_corrupt() {
        let r = seed_from_bytes("memory", "ab", Zeroizing::new(vec![0; 31]));
        assert!(matches!(r, Err(StoreError::Corrupt { .. })));
    }
}
