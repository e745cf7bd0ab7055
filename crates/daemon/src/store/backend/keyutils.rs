//! The Linux kernel keyring store (keyutils).
//!
//! Secrets are `user` keys in the **user keyring `@u`**, described
//! `keyring:<key id>@<service>` (the description format of the `keyring`
//! crate's keyutils store, so its tools recognise them), and also linked into
//! the user's persistent keyring when the kernel has one.
//!
//! Why not `linux-keyutils-keyring-store` itself: that store adds keys to the
//! caller's *session* keyring. A daemon restarted from another login session
//! (a second SSH login, a systemd user unit) has a different session keyring
//! and would not find them. `@u` is shared by every process of the user, so a
//! key stored by one daemon is found by the next one for as long as the
//! kernel keeps the user keyring; the persistent keyring link keeps it across
//! a logout (for `/proc/sys/kernel/keys/persistent_keyring_expiry` seconds,
//! three days by default, renewed on each use). **Nothing survives a reboot**:
//! `signet status` and the README say so. This module drives the same
//! `linux-keyutils` crate that store is built on.
//!
//! Keys are created with possessor and same-user permissions only (no group,
//! no others), so that a daemon whose session keyring does not link `@u` can
//! still search and read them.

use linux_keyutils::{
    Key, KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission,
};
use signet_proto::Ed25519Seed;
use zeroize::Zeroizing;

use crate::hardening::SecretBuf;
use crate::store::backend::{KeyStore, StoreError};

const NAME: &str = "keyutils";
const PREFIX: &str = "keyring:";
/// Most links read when listing a keyring.
const MAX_LINKS: usize = 4096;

/// The kernel keyring store for one service name.
pub struct Keyutils {
    service: String,
    user: KeyRing,
    persistent: Option<KeyRing>,
}

impl Keyutils {
    /// Opens the user keyring (creating it if the kernel has not yet).
    pub fn open(service: &str) -> Result<Self, StoreError> {
        if service.is_empty() {
            return Err(StoreError::Failed {
                store: NAME,
                detail: "the keyring service name is empty".to_owned(),
            });
        }
        let user = KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(|e| {
            StoreError::Unavailable {
                store: NAME,
                detail: format!("cannot open the user keyring @u: {e}"),
                fix: "the kernel keyring may be disabled or blocked (containers often \
                          filter keyctl): run signetd where keyctl works, or choose another \
                          store with [store] backend / SIGNET_STORE"
                    .to_owned(),
            }
        })?;
        // Best effort: not every kernel (or container) has persistent keyrings.
        let persistent = KeyRing::get_persistent(KeyRingIdentifier::User).ok();
        Ok(Self {
            service: service.to_owned(),
            user,
            persistent,
        })
    }

    fn description(&self, key_id: &str) -> String {
        format!("{PREFIX}{key_id}@{}", self.service)
    }

    fn find(&self, key_id: &str) -> Result<Option<Key>, StoreError> {
        match self.user.search(&self.description(key_id)) {
            Ok(k) => Ok(Some(k)),
            Err(KeyError::KeyDoesNotExist)
            | Err(KeyError::KeyExpired)
            | Err(KeyError::KeyRevoked) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    /// The key id in a description of ours, if it is one.
    fn key_id_of<'a>(&self, description: &'a str) -> Option<&'a str> {
        let rest = description.strip_prefix(PREFIX)?;
        let (id, service) = rest.split_once('@')?;
        (service == self.service && id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(id)
    }
}

fn failed(e: KeyError) -> StoreError {
    match e {
        KeyError::AccessDenied | KeyError::PermissionDenied => StoreError::Locked {
            store: NAME,
            detail: e.to_string(),
            fix: "the kernel refused access to the user keyring: run signetd as the user who \
                  owns the keys"
                .to_owned(),
        },
        KeyError::QuotaExceeded => StoreError::Failed {
            store: NAME,
            detail: "the user's kernel key quota is full (see /proc/sys/kernel/keys/maxkeys \
                     and maxbytes): remove unused keys or raise the quota"
                .to_owned(),
        },
        other => StoreError::Failed {
            store: NAME,
            detail: other.to_string(),
        },
    }
}

impl KeyStore for Keyutils {
    fn name(&self) -> &'static str {
        NAME
    }

    fn put(&self, key_id: &str, seed: &Ed25519Seed) -> Result<(), StoreError> {
        let key = self
            .user
            .add_key(&self.description(key_id), seed.expose())
            .map_err(failed)?;
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        key.set_perms(perms).map_err(failed)?;
        if let Some(p) = self.persistent {
            // Keeps the key across a logout; harmless to fail.
            let _ = p.link_key(key);
        }
        Ok(())
    }

    fn get(&self, key_id: &str) -> Result<Option<Ed25519Seed>, StoreError> {
        let Some(key) = self.find(key_id)? else {
            return Ok(None);
        };
        let mut buf = Zeroizing::new([0u8; 64]);
        let len = key.read(&mut *buf).map_err(failed)?;
        if len != 32 {
            return Err(StoreError::Corrupt {
                store: NAME,
                key_id: key_id.to_owned(),
            });
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&buf[..32]);
        let out = Ed25519Seed::new(seed);
        zeroize::Zeroize::zeroize(&mut seed);
        Ok(Some(out))
    }

    fn delete(&self, key_id: &str) -> Result<bool, StoreError> {
        // Invalidate removes the key from every keyring at once (@u and the
        // persistent keyring alike).
        let mut found = false;
        while let Some(key) = self.find(key_id)? {
            key.invalidate().map_err(failed)?;
            found = true;
            // The kernel garbage-collects invalidated keys asynchronously; a
            // search right after may still see it for a moment.
            for _ in 0..50 {
                if self.find(key_id)?.is_none() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            if self.find(key_id)?.is_some() {
                break;
            }
        }
        Ok(found)
    }

    fn put_bytes(&self, account: &str, secret: &[u8]) -> Result<(), StoreError> {
        let key = self
            .user
            .add_key(&self.description(account), secret)
            .map_err(failed)?;
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        key.set_perms(perms).map_err(failed)?;
        if let Some(p) = self.persistent {
            let _ = p.link_key(key);
        }
        Ok(())
    }

    fn get_bytes(&self, account: &str) -> Result<Option<SecretBuf>, StoreError> {
        let Some(key) = self.find(account)? else {
            return Ok(None);
        };
        // Read straight into locked memory: no ordinary buffer holds it.
        let mut buf = SecretBuf::new().map_err(|e| StoreError::Failed {
            store: NAME,
            detail: format!("cannot allocate locked memory for an entry: {e}"),
        })?;
        let len = key.read(buf.capacity_mut()).map_err(failed)?;
        if len > crate::hardening::SECRET_BUF_CAP {
            return Err(StoreError::Failed {
                store: NAME,
                detail: format!(
                    "the entry {account} is {len} bytes, larger than any entry signet writes: inspect it and remove it by hand"
                ),
            });
        }
        buf.set_len(len);
        Ok(Some(buf))
    }

    fn list(&self) -> Result<Option<Vec<String>>, StoreError> {
        let mut ids = Vec::new();
        let rings = std::iter::once(self.user).chain(self.persistent);
        for ring in rings {
            let Ok(links) = ring.get_links(MAX_LINKS) else {
                continue;
            };
            for node in links.iter() {
                let Some(key) = node.as_key() else { continue };
                let Ok(meta) = key.metadata() else { continue };
                if let Some(id) = self.key_id_of(meta.get_description()) {
                    if !ids.iter().any(|i: &String| i == id) {
                        ids.push(id.to_owned());
                    }
                }
            }
        }
        Ok(Some(ids))
    }
}
