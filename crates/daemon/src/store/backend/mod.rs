//! Where private keys rest: the OS keyring, behind one small trait.
//!
//! **Owns**: the [`KeyStore`] trait, its error type, the choice of store from
//! configuration (`[store] backend`, overridden by `SIGNET_STORE`), and an
//! in-memory store for unit tests. The real stores are
//! [`crate::store::backend::keyutils`] (the Linux kernel keyring) and
//! [`crate::store::backend::keyring`] (Secret Service, macOS Keychain, Windows
//! Credential Manager, through the `keyring` crate's v4 store crates).
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
//! async code go through `tokio::task::spawn_blocking` (see `vault`).

#[cfg(any(target_os = "linux", target_os = "macos", windows))]
pub mod keyring;
#[cfg(target_os = "linux")]
pub mod keyutils;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use signet_proto::Ed25519Seed;
use zeroize::Zeroizing;

pub use crate::config::{Backend, BACKEND_NAMES};

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

/// How long secrets last in `backend`, for `signet status`.
pub fn persistence(backend: Backend) -> &'static str {
    match backend {
        Backend::Keyutils => {
            "kernel memory only: keys do NOT survive a reboot (and are dropped when \
             the user's last session ends, unless the persistent keyring keeps them); \
             keep another copy or use a Secret Service for keys you cannot re-create"
        }
        Backend::SecretService => "on disk, encrypted by the Secret Service provider",
        Backend::Keychain => "on disk, in the macOS login keychain",
        Backend::Windows => "on disk, in the Windows Credential Manager",
        Backend::Memory => "process memory only (tests)",
        Backend::Auto => "",
    }
}

/// A store name that is not one of [`BACKEND_NAMES`].
#[derive(Debug, thiserror::Error)]
#[error("unknown key store {name:?} in {from}: use one of {BACKEND_NAMES}")]
pub struct UnknownBackend {
    /// The name given.
    pub name: String,
    /// Where: `SIGNET_STORE` or `[store] backend`.
    pub from: &'static str,
}

/// The store the daemon uses: which, why, and the store itself (or why it
/// could not be opened; opening is retried on the next operation).
pub struct Chosen {
    /// The concrete backend (never `Auto`).
    pub backend: Backend,
    /// Why it was chosen.
    pub reason: String,
    /// The opened store, or why it could not be opened.
    pub store: Result<Arc<dyn KeyStore>, StoreError>,
}

/// Picks and opens the store. `configured` is `[store] backend`; `env` is
/// `SIGNET_STORE`, which wins. Blocks (it may talk to D-Bus).
pub fn choose(
    configured: &str,
    env: Option<&str>,
    service: &str,
) -> Result<Chosen, UnknownBackend> {
    let (name, from) = match env.filter(|e| !e.is_empty()) {
        Some(e) => (e, "SIGNET_STORE"),
        None => (configured, "[store] backend"),
    };
    let backend = Backend::parse(name).ok_or_else(|| UnknownBackend {
        name: name.to_owned(),
        from,
    })?;
    if backend != Backend::Auto {
        return Ok(Chosen {
            backend,
            reason: format!("{from} = {name:?}"),
            store: open(backend, service),
        });
    }
    Ok(auto(service, from))
}

#[cfg(target_os = "linux")]
fn auto(service: &str, from: &str) -> Chosen {
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|v| !v.is_empty());
    let runtime_bus = std::env::var_os("XDG_RUNTIME_DIR")
        .map(|d| std::path::Path::new(&d).join("bus"))
        .filter(|p| p.exists());
    if bus.is_some() || runtime_bus.is_some() {
        match open(Backend::SecretService, service) {
            Ok(store) => {
                return Chosen {
                    backend: Backend::SecretService,
                    reason: format!("{from} = \"auto\": a Secret Service answers on the session bus"),
                    store: Ok(store),
                }
            }
            Err(e) => {
                return Chosen {
                    backend: Backend::Keyutils,
                    reason: format!(
                        "{from} = \"auto\": the session bus has no working Secret Service ({e}), so the kernel keyring"
                    ),
                    store: open(Backend::Keyutils, service),
                }
            }
        }
    }
    Chosen {
        backend: Backend::Keyutils,
        reason: format!("{from} = \"auto\": no D-Bus session bus, so the kernel keyring"),
        store: open(Backend::Keyutils, service),
    }
}

#[cfg(target_os = "macos")]
fn auto(service: &str, from: &str) -> Chosen {
    Chosen {
        backend: Backend::Keychain,
        reason: format!("{from} = \"auto\": macOS"),
        store: open(Backend::Keychain, service),
    }
}

#[cfg(windows)]
fn auto(service: &str, from: &str) -> Chosen {
    Chosen {
        backend: Backend::Windows,
        reason: format!("{from} = \"auto\": Windows"),
        store: open(Backend::Windows, service),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn auto(_service: &str, from: &str) -> Chosen {
    Chosen {
        backend: Backend::Auto,
        reason: format!("{from} = \"auto\""),
        store: Err(StoreError::Unavailable {
            store: "auto",
            detail: "no key store is supported on this platform".to_owned(),
            fix: "run signetd on Linux, macOS or Windows".to_owned(),
        }),
    }
}

/// Opens one backend. Blocks.
pub fn open(backend: Backend, service: &str) -> Result<Arc<dyn KeyStore>, StoreError> {
    let unsupported = |store: &'static str| StoreError::Unavailable {
        store,
        detail: "not built for this platform".to_owned(),
        fix: format!("choose another store in [store] backend or SIGNET_STORE ({BACKEND_NAMES})"),
    };
    match backend {
        #[cfg(target_os = "linux")]
        Backend::Keyutils => Ok(Arc::new(crate::store::backend::keyutils::Keyutils::open(
            service,
        )?)),
        #[cfg(target_os = "linux")]
        Backend::SecretService => Ok(Arc::new(crate::store::backend::keyring::secret_service(
            service,
        )?)),
        #[cfg(target_os = "macos")]
        Backend::Keychain => Ok(Arc::new(crate::store::backend::keyring::keychain(service)?)),
        #[cfg(windows)]
        Backend::Windows => Ok(Arc::new(crate::store::backend::keyring::windows(service)?)),
        Backend::Memory => Ok(Arc::new(MemoryStore::default())),
        other => Err(unsupported(other.as_str())),
    }
}

/// An in-memory store, for unit tests (never selectable by configuration).
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, Ed25519Seed>>,
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
        Ok(self.map().remove(key_id).is_some())
    }

    fn list(&self) -> Result<Option<Vec<String>>, StoreError> {
        Ok(Some(self.map().keys().cloned().collect()))
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

    #[test]
    fn unknown_store_names_are_refused() {
        assert!(choose("plaintext", None, "s").is_err());
        let err = choose("auto", Some("kwallet"), "s")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("SIGNET_STORE"), "{err}");
    }

    #[test]
    fn short_secret_is_corrupt() {
        let r = seed_from_bytes("memory", "ab", Zeroizing::new(vec![0; 31]));
        assert!(matches!(r, Err(StoreError::Corrupt { .. })));
    }
}
