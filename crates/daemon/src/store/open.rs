//! Choosing and opening the key store: `[store] backend`, overridden by
//! `SIGNET_STORE`; `auto` picks the platform's store (on Linux, a Secret
//! Service when the session bus has one, else the kernel keyring).
//!
//! Every call blocks (it may talk to D-Bus).

use std::sync::Arc;

use crate::config::{Backend, BACKEND_NAMES};
use crate::store::backend::memory::MemoryStore;
use crate::store::backend::{KeyStore, StoreError};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_store_names_are_refused() {
        assert!(choose("plaintext", None, "s").is_err());
        let err = choose("auto", Some("kwallet"), "s")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("SIGNET_STORE"), "{err}");
    }
}
