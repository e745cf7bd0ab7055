//! The key-store extensions (`generate@signet`, `import@signet`,
//! `stored@signet`, `load@signet`, `unload@signet`, `delete@signet`,
//! `rename@signet`, `doctor@signet`, `store@signet`), start-up (store
//! choice, repair, autoload) and what locking does to keyring keys.
//!
//! Design decision: the daemon does **all** keyring I/O and holds all key
//! material; the CLI only sends requests. Every keyring call is blocking and
//! runs on tokio's blocking pool (`spawn_blocking`), never on an async worker.
//! Keys loaded from the store are marked with source `keyring`; they are held
//! until unloaded, expired, the agent is locked (locking drops them: they are
//! one `signet load` away) or the daemon stops.

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use rand_core::OsRng;
use signet_proto::extension::{self, ErrorCode, ExtensionError};
use signet_proto::keystore::{
    decode_names, encode_stored_list, GenerateRequest, ImportRequest, Selection, StoredKey,
};
use signet_proto::Ed25519Seed;
use tokio::time::Instant;
use tracing::{info, warn};
use zeroize::Zeroize as _;

use crate::access::peer::Peer;
use crate::agent::keys::LoadedKey;
use crate::config::{Config, ConfigSource};
use crate::dispatch::Agent;
use crate::store::index::{Entry, State};
use crate::store::vault::{Vault, VaultError};

/// The `source` of keys loaded from the key store.
pub const SOURCE: &str = "keyring";

type ExtResult<T> = Result<T, ExtensionError>;

fn internal(why: impl Into<String>) -> ExtensionError {
    ExtensionError::new(ErrorCode::Internal, why)
}

fn locked() -> ExtensionError {
    ExtensionError::new(
        ErrorCode::Locked,
        "the agent is locked: unlock it with `signet unlock`",
    )
}

fn bad_request(e: signet_proto::Error) -> ExtensionError {
    ExtensionError::new(ErrorCode::BadRequest, format!("malformed request: {e}"))
}

/// Runs blocking vault work on the blocking pool.
async fn blocking<T: Send + 'static>(
    vault: &Arc<Vault>,
    f: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
) -> ExtResult<T> {
    let v = vault.clone();
    match tokio::task::spawn_blocking(move || f(&v)).await {
        Ok(r) => r.map_err(|e| e.to_extension()),
        Err(e) => Err(internal(format!("the key store task failed: {e}"))),
    }
}

/// Chooses and opens the store, repairs interrupted operations, and starts
/// autoloading. Runs before the daemon listens. Fails only for an invalid
/// `SIGNET_STORE` (an unavailable store is reported, and retried later).
pub async fn start(agent: &Arc<Agent>, source: &ConfigSource) -> anyhow::Result<()> {
    let config = agent.config();
    let index = source.index_path(&config);
    let backend = config.store.backend.clone();
    let service = config.store.effective_service();
    let env = std::env::var("SIGNET_STORE").ok();
    let vault = tokio::task::spawn_blocking(move || Vault::open(&backend, env, service, index))
        .await
        .map_err(|e| anyhow::anyhow!("key store set-up failed: {e}"))?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let vault = Arc::new(vault);
    let info = {
        let v = vault.clone();
        tokio::task::spawn_blocking(move || v.info())
            .await
            .map_err(|e| anyhow::anyhow!("key store set-up failed: {e}"))?
    };
    info!(store = %info.backend, service = %info.service, index = %info.index, "key store: {}", info.reason);
    if info.backend == "keyutils" {
        info!("key store: the kernel keyring does not survive a reboot");
    }
    if !info.problem.is_empty() {
        warn!("key store: {}", info.problem);
    }
    agent.set_vault(vault.clone());
    if info.problem.is_empty() {
        match blocking(&vault, |v| v.doctor(false, false)).await {
            Ok(r) => {
                for f in &r.findings {
                    warn!("key store repair at start-up: {f}");
                }
            }
            Err(e) => warn!("key store check at start-up failed: {}", e.reason),
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
                match load(&agent, &vault, sel).await {
                    Ok(keys) => {
                        for k in keys {
                            info!(key = %k.name, "autoloaded from the key store");
                        }
                    }
                    Err(e) => warn!("autoload: {}", e.reason),
                }
            });
        }
    }
    Ok(())
}

/// Locking the agent drops every key loaded from the key store.
pub fn on_lock(agent: &Agent) {
    let now = Instant::now();
    let mut n = 0;
    for k in agent.keys.snapshot(now) {
        if k.source == SOURCE && agent.keys.remove(&k.public) {
            n += 1;
        }
    }
    if n > 0 {
        info!("agent locked: dropped {n} keys loaded from the key store (`signet load` them again after unlocking)");
    }
}

/// Handles one key-store extension, appending the reply contents to `reply`.
pub async fn handle(
    agent: &Agent,
    name: &str,
    contents: &[u8],
    peer: &Peer,
    locked_now: bool,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    let vault = agent.vault().ok_or_else(|| {
        internal("the key store is not set up in this daemon: see its log (`signet status`)")
    })?;
    match name {
        extension::STORE => {
            let info = blocking(&vault, |v| Ok(v.info())).await?;
            info.encode(reply);
        }
        extension::STORED => {
            let entries = blocking(&vault, |v| v.entries()).await?;
            let keys: Vec<StoredKey> = entries
                .iter()
                .map(|e| describe(agent, e, locked_now))
                .collect();
            encode_stored_list(reply, &keys);
        }
        extension::GENERATE => {
            let req = GenerateRequest::decode(contents).map_err(bad_request)?;
            if locked_now {
                return Err(locked());
            }
            let signing = SigningKey::generate(&mut OsRng);
            let mut bytes = signing.to_bytes();
            let seed = Ed25519Seed::new(bytes);
            bytes.zeroize();
            drop(signing);
            let public = crate::store::vault::public_of(&seed);
            let entry = blocking(&vault, move |v| {
                v.create(&req.name, &req.comment, &seed, public)
            })
            .await?;
            info!(%peer, key = %entry.name, "generated a key in the key store");
            describe(agent, &entry, false).encode(reply);
        }
        extension::IMPORT => {
            let req = ImportRequest::decode(contents).map_err(bad_request)?;
            if locked_now {
                return Err(locked());
            }
            let entry = blocking(&vault, move |v| {
                v.create(&req.name, &req.comment, &req.seed, req.public)
            })
            .await?;
            info!(%peer, key = %entry.name, "imported a key into the key store");
            describe(agent, &entry, false).encode(reply);
        }
        extension::LOAD => {
            let sel = Selection::decode(contents).map_err(bad_request)?;
            if locked_now {
                return Err(locked());
            }
            let keys = load(agent, &vault, sel).await?;
            for k in &keys {
                info!(%peer, key = %k.name, expires_in = ?k.expires_in, "loaded from the key store");
            }
            encode_stored_list(reply, &keys);
        }
        extension::UNLOAD => {
            let sel = Selection::decode(contents).map_err(bad_request)?;
            let entries = blocking(&vault, |v| v.entries()).await?;
            let mut gone = Vec::new();
            if sel.all {
                for e in &entries {
                    if let Some(p) = e.public() {
                        if agent.keys.remove(&p) {
                            gone.push(describe(agent, e, locked_now));
                        }
                    }
                }
            } else {
                for n in &sel.names {
                    let e = crate::store::vault::find_in(
                        &crate::store::index::IndexFile {
                            version: 1,
                            keys: entries.clone(),
                        },
                        n,
                    )
                    .map_err(|e| e.to_extension())?;
                    let Some(p) = e.public() else { continue };
                    if !agent.keys.remove(&p) {
                        return Err(ExtensionError::new(
                            ErrorCode::NoSuchKey,
                            format!("key {:?} is stored but not loaded", e.name),
                        ));
                    }
                    gone.push(describe(agent, &e, locked_now));
                }
            }
            for k in &gone {
                info!(%peer, key = %k.name, "unloaded");
            }
            encode_stored_list(reply, &gone);
        }
        extension::DELETE => {
            let [selector] = decode_names::<1>(contents).map_err(bad_request)?;
            if locked_now {
                return Err(locked());
            }
            let sel = selector.clone();
            let entry = blocking(&vault, move |v| v.find(&sel)).await?;
            if let Some(p) = entry.public() {
                agent.keys.remove(&p);
            }
            let entry = blocking(&vault, move |v| v.delete(&selector)).await?;
            info!(%peer, key = %entry.name, "removed a key from the key store");
            describe(agent, &entry, false).encode(reply);
        }
        extension::RENAME => {
            let [old, new] = decode_names::<2>(contents).map_err(bad_request)?;
            let (before, after) = blocking(&vault, move |v| v.rename(&old, &new)).await?;
            // A loaded key takes its new name too (re-read from the store,
            // keeping its expiry and confirmation).
            if let Some(p) = after.public() {
                if let Some(loaded) = agent.keys.get(&p, Instant::now()) {
                    let (expires_at, confirm, source) =
                        (loaded.expires_at, loaded.confirm, loaded.source.clone());
                    drop(loaded);
                    let e = after.clone();
                    let seed = blocking(&vault, move |v| v.secret(&e)).await?;
                    let key =
                        LoadedKey::new(&seed, p, after.name.clone(), expires_at, confirm, source)
                            .map_err(|e| internal(format!("cannot reload the renamed key: {e}")))?;
                    agent.keys.add(key);
                }
            }
            info!(%peer, from = %before.name, to = %after.name, "renamed a stored key");
            describe(agent, &after, locked_now).encode(reply);
        }
        extension::DOCTOR => {
            let fix = contents.first().is_some_and(|b| *b != 0);
            let report = blocking(&vault, move |v| v.doctor(true, fix)).await?;
            for f in &report.findings {
                info!(%peer, "doctor: {f}");
            }
            report.encode(reply);
        }
        other => {
            return Err(ExtensionError::new(
                ErrorCode::Unsupported,
                format!("unknown key-store extension {other:?}"),
            ))
        }
    }
    Ok(())
}

/// A stored key merged with the agent's loaded state.
fn describe(agent: &Agent, e: &Entry, locked_now: bool) -> StoredKey {
    let public = e.public().unwrap_or([0; 32]);
    let now = Instant::now();
    let loaded = if locked_now {
        None
    } else {
        agent.keys.get(&public, now)
    };
    StoredKey {
        name: e.name.clone(),
        comment: e.comment.clone(),
        public,
        created_at: e.created_at.clone(),
        store: e.store.clone(),
        state: e.state.as_str().to_owned(),
        loaded: loaded.is_some(),
        expires_in: loaded
            .and_then(|k| k.expires_at)
            .map(|t| t.saturating_duration_since(now).as_secs()),
    }
}

/// The lifetime for a key: the request's, else `[keys.NAME] lifetime`, else
/// `[agent] default_lifetime`. `Some(0)` in a request means none.
fn lifetime_for(config: &Config, name: &str, requested: Option<u64>) -> Option<u64> {
    match requested {
        Some(0) => None,
        Some(n) => Some(n),
        None => match config.keys.get(name).and_then(|k| k.lifetime) {
            Some(l) => l.0,
            None => config.agent.default_lifetime.0,
        },
    }
}

async fn load(agent: &Agent, vault: &Arc<Vault>, sel: Selection) -> ExtResult<Vec<StoredKey>> {
    let entries = blocking(vault, |v| v.entries()).await?;
    let index = crate::store::index::IndexFile {
        version: 1,
        keys: entries.clone(),
    };
    let chosen: Vec<Entry> = if sel.all {
        entries
            .into_iter()
            .filter(|e| e.state == State::Active)
            .collect()
    } else {
        let mut v = Vec::new();
        for n in &sel.names {
            let e = crate::store::vault::find_in(&index, n).map_err(|e| e.to_extension())?;
            v.push(e);
        }
        v
    };
    if chosen.is_empty() {
        return Err(ExtensionError::new(
            ErrorCode::NoSuchKey,
            "no stored keys to load: store one with `signet generate` or `signet import`",
        ));
    }
    let config = agent.config();
    let mut loaded = Vec::new();
    let mut failed = Vec::new();
    for e in chosen {
        let entry = e.clone();
        let seed = match blocking(vault, move |v| v.secret(&entry)).await {
            Ok(s) => s,
            Err(err) => {
                failed.push(err.reason);
                continue;
            }
        };
        let Some(public) = e.public() else { continue };
        let secs = lifetime_for(&config, &e.name, sel.lifetime);
        let expires_at = secs.map(|s| Instant::now() + Duration::from_secs(s));
        let confirm = config.keys.get(&e.name).is_some_and(|k| k.confirm);
        let key = LoadedKey::new(
            &seed,
            public,
            e.name.clone(),
            expires_at,
            confirm,
            SOURCE.into(),
        )
        .map_err(|err| internal(format!("cannot load {:?}: {err}", e.name)))?;
        drop(seed);
        agent.keys.add(key);
        loaded.push(describe(agent, &e, false));
    }
    if !failed.is_empty() {
        let done: Vec<&str> = loaded.iter().map(|k| k.name.as_str()).collect();
        let prefix = if done.is_empty() {
            String::new()
        } else {
            format!("loaded {}; ", done.join(", "))
        };
        return Err(internal(format!("{prefix}{}", failed.join("; "))));
    }
    Ok(loaded)
}
