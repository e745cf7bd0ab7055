//! Layer 6: the boot sequence.
//!
//! **Owns**: the order in which the daemon comes up: the key store (chosen,
//! repaired, autoloaded) and the keys the configuration names with a
//! `source`, loaded failing closed. **Must not**: be imported by any other
//! module.

use std::sync::Arc;

use signet_proto::keystore::Selection;
use signet_proto::Ed25519Seed;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::agent::{Agent, LoadedKey, Origin};
use crate::config::{ConfigSource, Invalid, KeySource};
use crate::store::open::UnknownBackend;
use crate::store::vault::{self, Vault, VaultError};

/// Why the daemon cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `SIGNET_STORE` or `[store] backend` names no key store.
    #[error(transparent)]
    Store(#[from] UnknownBackend),
    /// A start-up task on the blocking pool failed.
    #[error("key store set-up failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A configured key's source settings do not fit together.
    #[error(transparent)]
    Config(#[from] Invalid),
    /// A configured key could not be loaded (fail closed).
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Why a configured key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("cannot load key {name:?} from {source_desc}: {why}")]
pub struct SourceError {
    name: String,
    source_desc: String,
    why: String,
}

/// Chooses and opens the key store, repairs interrupted operations, and
/// starts autoloading. Runs before the daemon listens. Fails only for an
/// invalid `SIGNET_STORE` (an unavailable store is reported, and retried
/// later).
pub async fn open_store(agent: &Arc<Agent>, source: &ConfigSource) -> Result<(), StartError> {
    let config = agent.config();
    let index = source.index_path(&config);
    let backend = config.store.backend.clone();
    let service = config.store.effective_service();
    let env = std::env::var("SIGNET_STORE").ok();
    let vault =
        tokio::task::spawn_blocking(move || Vault::open(&backend, env, service, index)).await??;
    let vault = Arc::new(vault);
    let info = {
        let v = vault.clone();
        tokio::task::spawn_blocking(move || v.info()).await?
    };
    info!(store = %info.backend, service = %info.service, index = %info.index, "key store: {}", info.reason);
    if info.backend == "keyutils" {
        info!("key store: the kernel keyring does not survive a reboot");
    }
    if !info.problem.is_empty() {
        warn!("key store: {}", info.problem);
    }
    agent.set_vault(vault.clone());
    if !info.problem.is_empty() {
        return Ok(());
    }
    match vault::blocking(&vault, |v| v.doctor(false, false)).await {
        Ok(r) => {
            for f in &r.findings {
                warn!("key store repair at start-up: {f}");
            }
        }
        Err(e) => warn!("key store check at start-up failed: {e}"),
    }
    let autoload: Vec<String> = config
        .keys
        .iter()
        .filter(|(_, k)| k.autoload)
        .map(|(n, _)| n.clone())
        .collect();
    if !autoload.is_empty() {
        let agent = agent.clone();
        tokio::spawn(async move {
            let sel = Selection {
                all: false,
                names: autoload,
                lifetime: None,
            };
            match agent.load_stored(sel).await {
                Ok(keys) => {
                    for k in keys {
                        info!(key = %k.name, "autoloaded from the key store");
                    }
                }
                Err(e) => warn!("autoload: {e}"),
            }
        });
    }
    Ok(())
}

/// Loads every key that has a `source`, in name order. The first failure
/// stops start-up (fail closed): the error names the key, its source and
/// what to do.
#[cfg(unix)]
pub async fn load_configured(agent: &Arc<Agent>) -> Result<usize, StartError> {
    use crate::store::sources;
    let config = agent.config();
    let mut n = 0;
    for (name, k) in &config.keys {
        let Some(source) = KeySource::of(name, k)? else {
            continue;
        };
        let err = |why: String| SourceError {
            name: name.clone(),
            source_desc: source.describe(),
            why,
        };
        let seed = match &source {
            KeySource::Credential(c) => {
                let name = c.clone();
                tokio::task::spawn_blocking(move || sources::read_credential(&name))
                    .await
                    .map_err(|e| err(e.to_string()))?
            }
            KeySource::File(p) => {
                let p = p.clone();
                tokio::task::spawn_blocking(move || sources::read_private_file(&p))
                    .await
                    .map_err(|e| err(e.to_string()))?
            }
            KeySource::Keyring => from_key_store(agent, name).await,
        }
        .map_err(err)?;
        let public = vault::public_of(&seed);
        let expires_at = k
            .lifetime
            .and_then(|l| l.0)
            .map(|s| Instant::now() + std::time::Duration::from_secs(s));
        let origin = match &source {
            KeySource::Credential(_) => Origin::Credential,
            KeySource::File(_) => Origin::File,
            KeySource::Keyring => Origin::Keyring,
        };
        let key = LoadedKey::new(&seed, public, name.clone(), expires_at, k.confirm, origin)
            .map_err(|e| err(e.to_string()))?;
        drop(seed);
        agent.keys.add(key);
        info!(key = %name, source = %source.describe(), "loaded configured key");
        n += 1;
    }
    Ok(n)
}

#[cfg(unix)]
async fn from_key_store(agent: &Arc<Agent>, name: &str) -> Result<Ed25519Seed, String> {
    let vault = agent
        .vault()
        .ok_or_else(|| "the key store is not open".to_owned())?;
    let name = name.to_owned();
    vault::blocking(&vault, move |v| {
        let entry = v.find(&name)?;
        v.secret(&entry)
    })
    .await
    .map_err(|e: VaultError| e.to_string())
}
