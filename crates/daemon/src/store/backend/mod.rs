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
//! keyring) for a key, or a name of signetd's own (the store key:
//! [`STORE_KEY_ACCOUNT`]), secret = the entry's bytes: a sealed seed, a
//! wrapped store key, or (a store that is not sealed, and every entry
//! signet wrote before sealing existed) the 32-byte seed itself. What the
//! bytes mean is `store::seal`'s business; a backend stores bytes.
//!
//! Entries are read straight into locked memory ([`SecretBuf`]): the kernel
//! keyring copies into it, and the buffer the keyring crates return is
//! copied into it and wiped at once.
//!
//! Every call blocks (D-Bus round trips, a possible unlock prompt): callers in
//! async code go through `tokio::task::spawn_blocking` (see `store::vault::blocking`).

#[cfg(any(target_os = "linux", target_os = "macos", windows))]
pub mod keyring;
#[cfg(target_os = "linux")]
pub mod keyutils;
pub mod memory;

use zeroize::Zeroizing;

use crate::hardening::SecretBuf;

/// The account of the wrapped store key of a sealed store.
pub const STORE_KEY_ACCOUNT: &str = "signet-store-key";
/// The account of a new wrapped store key while `signet passwd` replaces
/// the old one (see `store::vault`).
pub const STORE_KEY_NEXT_ACCOUNT: &str = "signet-store-key.next";

/// A store of secrets, filed by account under one service name.
pub trait KeyStore: Send + Sync {
    /// The store's name as configured and shown (`keyutils`, `secret-service`, …).
    fn name(&self) -> &'static str;
    /// Stores (or replaces, atomically) the entry of `account`.
    fn put(&self, account: &str, secret: &[u8]) -> Result<(), StoreError>;
    /// The entry of `account`, `None` when the store has none.
    fn get(&self, account: &str) -> Result<Option<SecretBuf>, StoreError>;
    /// Deletes the entry of `account`; false when there was none.
    fn delete(&self, account: &str) -> Result<bool, StoreError>;
    /// The key ids (accounts of 64 hex digits) stored under this service,
    /// or `None` when the store cannot enumerate (then only the index's
    /// journal finds orphans).
    fn list(&self) -> Result<Option<Vec<String>>, StoreError>;
    /// [`KeyStore::put`] for a bearer secret (`store::vault`'s secrets; never
    /// a key id): every entry is bytes, up to `hardening::SECRET_BUF_CAP`.
    fn put_bytes(&self, account: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.put(account, secret)
    }
    /// [`KeyStore::get`] for a bearer secret: read into locked memory.
    fn get_bytes(&self, account: &str) -> Result<Option<SecretBuf>, StoreError> {
        self.get(account)
    }
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
    /// The entry is larger than any entry signet writes.
    #[error("the {store} entry {account} is {len} bytes, larger than any entry signet writes (written by another program?): inspect it and remove it by hand")]
    TooLarge {
        /// The store's name.
        store: &'static str,
        /// The account.
        account: String,
        /// Its size.
        len: usize,
    },
    /// Locked memory for the entry could not be had.
    #[error("cannot allocate locked memory for a {store} entry: {detail}")]
    Memory {
        /// The store's name.
        store: &'static str,
        /// Why.
        detail: String,
    },
}

/// Moves the bytes a keyring crate returned into locked memory, wiping the
/// crate's buffer.
pub fn into_locked(
    store: &'static str,
    account: &str,
    bytes: Zeroizing<Vec<u8>>,
) -> Result<SecretBuf, StoreError> {
    let memory = |e: std::io::Error| StoreError::Memory {
        store,
        detail: e.to_string(),
    };
    SecretBuf::copy_of(&bytes)
        .map_err(memory)?
        .ok_or_else(|| StoreError::TooLarge {
            store,
            account: account.to_owned(),
            len: bytes.len(),
        })
}

/// Whether `account` is a key id (64 hex digits), as opposed to one of
/// signetd's own entries.
pub fn is_key_id(account: &str) -> bool {
    account.len() == 64 && account.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_entries_are_refused_and_key_ids_recognised() -> Result<(), StoreError> {
        let r = into_locked("memory", "ab", Zeroizing::new(vec![0; 5000]));
        assert!(matches!(r, Err(StoreError::TooLarge { len: 5000, .. })));
        let ok = into_locked("memory", "ab", Zeroizing::new(vec![7; 40]))?;
        assert_eq!(ok.as_slice(), &[7; 40][..]);
        assert!(is_key_id(&"a1".repeat(32)));
        assert!(!is_key_id(STORE_KEY_ACCOUNT));
        Ok(())
    }
}
