//! Stores reached through the `keyring` crate's v4 architecture:
//! `keyring-core` entries built by a store crate chosen at run time.
//!
//! - Secret Service over D-Bus (GNOME Keyring, KWallet, KeePassXC):
//!   `zbus-secret-service-keyring-store` (pure Rust; the secret crosses the
//!   bus encrypted, `EncryptionType::Dh`). Linux; tested here against a real
//!   gnome-keyring.
//! - macOS Keychain: `apple-native-keyring-store` (`keychain` feature).
//!   Written and `cfg`-gated; **not built or run here**.
//! - Windows Credential Manager: `windows-native-keyring-store`. Written and
//!   `cfg`-gated; **not built or run here**.
//!
//! Entry: service = the keyring service name, user = the key id, secret =
//! the 32-byte seed (binary API).

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KrError};
use signet_proto::Ed25519Seed;
use zeroize::Zeroizing;

use crate::store::backend::{seed_from_bytes, KeyStore, StoreError};

/// A `keyring-core` store under one service name.
pub struct KeyringCore {
    name: &'static str,
    fix: &'static str,
    service: String,
    store: Arc<CredentialStore>,
}

#[cfg(target_os = "linux")]
const SECRET_SERVICE_FIX: &str =
    "start or unlock a Secret Service in your session (GNOME Keyring, \
KWallet, KeePassXC with Secret Service integration), e.g. log in to the desktop or run \
`gnome-keyring-daemon --unlock`; or use the kernel keyring with SIGNET_STORE=keyutils (keys \
stored in the Secret Service are not visible there)";

/// What to do when this agent's session bus is gone.
#[cfg(target_os = "linux")]
const DEAD_BUS_FIX: &str = "the login session signetd was started in has ended (a logout, or a \
new login with a new bus), and an agent cannot move to another bus. Your stored keys are still \
in the keyring: restart the agent from your current session (`signet stop && eval \"$(signet \
start)\"`, or `systemctl --user restart signet.service`)";

/// Whether the D-Bus session bus in this process's environment has gone
/// away: none of its `unix:path=` / `unix:abstract=` addresses accepts a
/// connection (`Some(address)`); `None` while one does, or when there is
/// no address to test.
#[cfg(target_os = "linux")]
fn session_bus_gone() -> Option<String> {
    use std::os::linux::net::SocketAddrExt as _;
    use std::os::unix::net::{SocketAddr, UnixStream};
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").ok()?;
    let mut tested = false;
    for entry in address.split(';') {
        let Some(params) = entry.strip_prefix("unix:") else {
            continue;
        };
        for kv in params.split(',') {
            let addr = if let Some(p) = kv.strip_prefix("path=") {
                SocketAddr::from_pathname(p).ok()
            } else if let Some(n) = kv.strip_prefix("abstract=") {
                SocketAddr::from_abstract_name(n.as_bytes()).ok()
            } else {
                None
            };
            let Some(addr) = addr else { continue };
            tested = true;
            if UnixStream::connect_addr(&addr).is_ok() {
                return None;
            }
        }
    }
    tested.then_some(address)
}

/// Opens the Secret Service store (connects to the session bus). Blocks.
#[cfg(target_os = "linux")]
pub fn secret_service(service: &str) -> Result<KeyringCore, StoreError> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| {
        // Reopened after a failure: a bus that went away is named as such.
        match session_bus_gone() {
            Some(address) => StoreError::Unavailable {
                store: "secret-service",
                detail: format!("its D-Bus session bus {address} no longer answers ({e})"),
                fix: DEAD_BUS_FIX.to_owned(),
            },
            None => StoreError::Unavailable {
                store: "secret-service",
                detail: e.to_string(),
                fix: SECRET_SERVICE_FIX.to_owned(),
            },
        }
    })?;
    let kc = KeyringCore {
        name: "secret-service",
        fix: SECRET_SERVICE_FIX,
        service: service.to_owned(),
        store,
    };
    // A search proves the service answers (and unlocks the collection, or
    // fails saying it is locked) before the daemon relies on it.
    kc.list()?;
    Ok(kc)
}

/// Opens the macOS login keychain. Blocks.
#[cfg(target_os = "macos")]
pub fn keychain(service: &str) -> Result<KeyringCore, StoreError> {
    const FIX: &str =
        "unlock the login keychain (Keychain Access), or allow signetd when macOS asks";
    let store = apple_native_keyring_store::keychain::Store::new().map_err(|e| {
        StoreError::Unavailable {
            store: "keychain",
            detail: e.to_string(),
            fix: FIX.to_owned(),
        }
    })?;
    Ok(KeyringCore {
        name: "keychain",
        fix: FIX,
        service: service.to_owned(),
        store,
    })
}

/// Opens the Windows Credential Manager. Blocks.
#[cfg(windows)]
pub fn windows(service: &str) -> Result<KeyringCore, StoreError> {
    const FIX: &str = "check that the Credential Manager service runs for your user";
    let store =
        windows_native_keyring_store::Store::new().map_err(|e| StoreError::Unavailable {
            store: "windows",
            detail: e.to_string(),
            fix: FIX.to_owned(),
        })?;
    Ok(KeyringCore {
        name: "windows",
        fix: FIX,
        service: service.to_owned(),
        store,
    })
}

impl KeyringCore {
    fn entry(&self, key_id: &str) -> Result<Entry, StoreError> {
        let label = format!("signet Ed25519 key {key_id} ({})", self.service);
        let mut mods = HashMap::new();
        if self.name == "secret-service" {
            mods.insert("label", label.as_str());
        }
        let mods = (!mods.is_empty()).then_some(&mods);
        self.store
            .build(&self.service, key_id, mods)
            .map_err(|e| self.error(e))
    }

    fn error(&self, e: KrError) -> StoreError {
        #[cfg(target_os = "linux")]
        if self.name == "secret-service"
            && matches!(e, KrError::PlatformFailure(_) | KrError::NoStorageAccess(_))
        {
            if let Some(address) = session_bus_gone() {
                return StoreError::Unavailable {
                    store: self.name,
                    detail: format!("its D-Bus session bus {address} no longer answers"),
                    fix: DEAD_BUS_FIX.to_owned(),
                };
            }
        }
        match e {
            KrError::NoStorageAccess(inner) => StoreError::Locked {
                store: self.name,
                detail: inner.to_string(),
                fix: self.fix.to_owned(),
            },
            KrError::PlatformFailure(inner) => StoreError::Unavailable {
                store: self.name,
                detail: inner.to_string(),
                fix: self.fix.to_owned(),
            },
            other => StoreError::Failed {
                store: self.name,
                detail: other.to_string(),
            },
        }
    }
}

impl KeyStore for KeyringCore {
    fn name(&self) -> &'static str {
        self.name
    }

    fn put(&self, key_id: &str, seed: &Ed25519Seed) -> Result<(), StoreError> {
        self.entry(key_id)?
            .set_secret(seed.expose())
            .map_err(|e| self.error(e))
    }

    fn get(&self, key_id: &str) -> Result<Option<Ed25519Seed>, StoreError> {
        match self.entry(key_id)?.get_secret() {
            Ok(bytes) => seed_from_bytes(self.name, key_id, Zeroizing::new(bytes)).map(Some),
            Err(KrError::NoEntry) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn delete(&self, key_id: &str) -> Result<bool, StoreError> {
        match self.entry(key_id)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KrError::NoEntry) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    fn put_bytes(&self, account: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.entry(account)?
            .set_secret(secret)
            .map_err(|e| self.error(e))
    }

    fn get_bytes(&self, account: &str) -> Result<Option<crate::hardening::SecretBuf>, StoreError> {
        match self.entry(account)?.get_secret() {
            Ok(bytes) => super::into_locked(self.name, account, Zeroizing::new(bytes)).map(Some),
            Err(KrError::NoEntry) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn list(&self) -> Result<Option<Vec<String>>, StoreError> {
        let spec = HashMap::from([("service", self.service.as_str())]);
        match self.store.search(&spec) {
            Ok(entries) => Ok(Some(
                entries
                    .iter()
                    .filter_map(|e| e.get_specifiers())
                    .filter(|(service, _)| *service == self.service)
                    .map(|(_, user)| user)
                    .collect(),
            )),
            Err(KrError::NotSupportedByStore(_)) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }
}
