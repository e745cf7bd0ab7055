//! Layer 3: the agent's shared state.
//!
//! **Owns**: the [`Agent`] every connection shares: the loaded keys and
//! their lifetimes ([`keys`]), the lock ([`lock`]), the configuration and
//! the rules resolved from it, the rate limiter's state, the handles on the
//! key store and the audit log, and the one reaper that removes keys whose
//! lifetime or idle timeout has passed ([`reaper`]); adding keys with their
//! names checked and their rules bound to their identity (`bindings`);
//! loading stored keys into the table ([`stored`]); the unlocked store key
//! of a sealed key store and its timeouts ([`store_key`]). **Must not**: know the wire (requests,
//! replies, error codes: that is `dispatch`) or the sockets (`server`).

mod bindings;
pub mod keys;
pub mod lock;
mod reaper;
pub mod store_key;
pub mod stored;
#[cfg(unix)]
pub mod token;

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::access::caller::Caller;
use crate::access::peer::{Client, Writer};
use crate::access::process::Sight;
use crate::access::roles::Roles;
use crate::audit::{AuditError, AuditKey, Auditor, Event};
use crate::clock::{self, WallClock};
use crate::config::{Config, Lifetime};
use crate::policy::ratelimit::RateLimiter;
use crate::policy::{self, Decision, KeyUse, Operation, Policies, SecretUse};
use crate::store::vault::secrets::SecretEntry;
use crate::store::vault::Vault;
use sha2::Digest as _;

pub use crate::access::roles::Role;
pub use bindings::AddError;
pub use keys::{KeyError, KeyTable, LoadedKey, Origin};
pub use lock::{AgentLock, LockError};

/// The agent's shared state.
pub struct Agent {
    /// Loaded keys.
    pub keys: KeyTable,
    /// The lock.
    pub lock: AgentLock,
    /// The unlocked store key of a sealed key store.
    store_unlock: store_key::StoreUnlock,
    config: RwLock<Arc<Config>>,
    /// The `[policies]` rules resolved from `config`.
    policies: RwLock<Arc<Policies>>,
    limiter: RateLimiter,
    /// Release-rate buckets of stored secrets (`get-secret@signet`).
    secret_limiter: RateLimiter,
    /// Which configuration name each key's rule is bound to, by public key
    /// (see `bindings`).
    bindings: std::sync::Mutex<bindings::Bindings>,
    /// Who is an admin (user mode: everyone served; set for system mode).
    roles: RwLock<Arc<Roles>>,
    started: Instant,
    socket: String,
    /// Cancelled to shut the daemon down.
    pub shutdown: CancellationToken,
    /// Keys at rest (the OS keyring and the index); set once at start-up.
    vault: OnceLock<Arc<Vault>>,
    /// The `[pkcs11]` token, when configured; set once at start-up.
    #[cfg(unix)]
    token: OnceLock<Arc<crate::store::pkcs11::Token>>,
    /// The audit log's writer, when enabled; set once at start-up.
    auditor: OnceLock<Auditor>,
    /// What `audit-info@signet` says when there is no writer (disabled, or
    /// the log could not be opened and `[audit] required` is off).
    audit_off: OnceLock<signet_proto::extension::AuditInfo>,
    /// What this daemon can see of its callers' processes.
    sight: Sight,
    /// The wall clock (Encord v2's `created`).
    wall_clock: WallClock,
    /// How the configuration is re-read (SIGHUP, `reload@signet`); set once
    /// at start-up by the boot sequence, which knows the file and the
    /// allow-list.
    reloader: OnceLock<Reloader>,
    /// `signetd -t`: the default lifetime, over `[agent] default_lifetime`.
    lifetime_flag: OnceLock<Lifetime>,
}

/// Re-reads the configuration and installs it, or says why not (the
/// previous configuration stays); `Ok` says what was reloaded.
pub type Reloader = Box<dyn Fn(&Agent) -> Result<String, ReloadError> + Send + Sync>;

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReloadError(pub String);

impl Agent {
    /// A new agent with no keys, serving on `socket` (for `status@signet`).
    pub fn new(config: Config, socket: String, shutdown: CancellationToken) -> Self {
        let policies = resolve_policies(&config);
        Self {
            keys: KeyTable::default(),
            lock: AgentLock::default(),
            store_unlock: store_key::StoreUnlock::default(),
            config: RwLock::new(Arc::new(config)),
            policies: RwLock::new(Arc::new(policies)),
            limiter: RateLimiter::default(),
            secret_limiter: RateLimiter::default(),
            roles: RwLock::new(Arc::new(Roles::Owner)),
            bindings: std::sync::Mutex::default(),
            started: Instant::now(),
            socket,
            shutdown,
            vault: OnceLock::new(),
            #[cfg(unix)]
            token: OnceLock::new(),
            auditor: OnceLock::new(),
            audit_off: OnceLock::new(),
            sight: Sight::of_this_process(),
            wall_clock: clock::unix_now,
            reloader: OnceLock::new(),
            lifetime_flag: OnceLock::new(),
        }
    }

    /// Sets the default lifetime from the command line (`signetd -t`,
    /// once, at start-up): it stands over `[agent] default_lifetime`.
    pub fn set_lifetime_flag(&self, lifetime: Lifetime) {
        let _ = self.lifetime_flag.set(lifetime);
    }

    /// The default lifetime, if one is set: `signetd -t`, else `[agent]
    /// default_lifetime` (`Lifetime(None)`: set to none).
    pub fn default_lifetime(&self) -> Option<Lifetime> {
        self.lifetime_flag
            .get()
            .copied()
            .or(self.config().agent.default_lifetime)
    }

    /// The lifetime, in seconds, of a key added over the protocol without
    /// one (`ssh-add`, `signet add`): the default lifetime if one is set,
    /// else none (as `ssh-agent` without `-t`).
    pub fn added_key_lifetime(&self) -> Option<u64> {
        self.default_lifetime().and_then(|l| l.0)
    }

    /// The same agent reading the wall clock from `clock` (tests).
    pub fn with_wall_clock(mut self, clock: WallClock) -> Self {
        self.wall_clock = clock;
        self.keys.set_wall_clock(clock);
        self
    }

    /// Unix time now, by the agent's wall clock.
    pub fn wall_clock(&self) -> u64 {
        (self.wall_clock)()
    }

    /// The socket the agent serves on, as given at start-up.
    pub fn socket(&self) -> &str {
        &self.socket
    }

    /// How long the agent has run.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The same agent judging callers with `sight` (start-up: what this
    /// process can really read of other processes).
    pub fn with_sight(mut self, sight: Sight) -> Self {
        self.sight = sight;
        self
    }

    /// What this daemon can see of its callers' processes.
    pub fn sight(&self) -> Sight {
        self.sight
    }

    /// The caller of one request on `client`'s connection, written by
    /// `writer`.
    pub fn caller(&self, client: &Client, writer: Writer) -> Caller {
        Caller::new(client, writer, self.sight)
    }

    /// Installs how the configuration is re-read (once, at start-up).
    pub fn set_reloader(&self, reloader: Reloader) {
        let _ = self.reloader.set(reloader);
    }

    /// Re-reads the configuration (SIGHUP, `reload@signet`).
    pub fn reload(&self) -> Result<String, ReloadError> {
        match self.reloader.get() {
            Some(r) => r(self),
            None => Err(ReloadError(
                "this agent cannot re-read its configuration (no configuration source was set up)"
                    .to_owned(),
            )),
        }
    }

    /// Installs the audit log (once, at start-up; later calls are ignored).
    pub fn set_auditor(&self, auditor: Auditor) {
        let _ = self.auditor.set(auditor);
    }

    /// Records why there is no audit log (for `audit-info@signet`).
    pub fn set_audit_off(&self, info: signet_proto::extension::AuditInfo) {
        let _ = self.audit_off.set(info);
    }

    /// Hands the audit log a key that was not ready at start-up.
    pub fn set_audit_key(&self, key: AuditKey) {
        if let Some(a) = self.auditor.get() {
            a.set_key(key);
            self.store_unlock.audit_key_installed();
        }
    }

    /// The audit log's state, for `audit-info@signet`.
    pub fn audit_info(&self) -> signet_proto::extension::AuditInfo {
        match self.auditor.get() {
            Some(a) => a.info(),
            None => self.audit_off.get().cloned().unwrap_or_default(),
        }
    }

    /// Writes what is queued and the shutdown seal, and stops the audit
    /// writer (shutdown); false if it did not finish within `limit`.
    pub fn close_audit(&self, limit: Duration) -> bool {
        self.auditor.get().is_none_or(|a| a.close(limit))
    }

    /// Queues the record of a refusal (built only when auditing is on).
    pub fn audit(&self, event: impl FnOnce() -> Event) {
        if let Some(a) = self.auditor.get() {
            a.record(event());
        }
    }

    /// The record of a signature, before the signature leaves the agent:
    /// `Err` means it must be withheld (see `audit::Auditor::commit`).
    /// Without an audit log (`[audit] enabled = false`) there is nothing to
    /// wait for.
    pub async fn commit_audit(&self, event: impl FnOnce() -> Event) -> Result<(), AuditError> {
        match self.auditor.get() {
            Some(a) => a.commit(event()).await,
            None => Ok(()),
        }
    }

    /// Installs the key store (once, at start-up; later calls are ignored).
    pub fn set_vault(&self, vault: Arc<Vault>) {
        let _ = self.vault.set(vault);
    }

    /// The key store, once set up.
    pub fn vault(&self) -> Option<Arc<Vault>> {
        self.vault.get().cloned()
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replaces the configuration (SIGHUP), policies included.
    pub fn set_config(&self, config: Config) {
        let policies = resolve_policies(&config);
        let mut slot = self.config.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(config);
        drop(slot);
        let mut slot = self.policies.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(policies);
        drop(slot);
        // An idle timeout may have appeared: the reaper re-plans.
        self.keys.notify_changed();
    }

    /// Who is an admin; `Roles::Owner` (user mode) until set. Replaced on
    /// SIGHUP with the configuration.
    pub fn set_roles(&self, roles: Roles) {
        let mut slot = self.roles.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(roles);
    }

    /// The roles in force.
    pub fn roles(&self) -> Arc<Roles> {
        self.roles
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The role of `caller`, a caller the agent serves.
    pub fn role_of(&self, caller: &Caller) -> Role {
        self.roles().role_of(caller)
    }

    /// The policies in force.
    pub fn policies(&self) -> Arc<Policies> {
        self.policies
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The policy decision for `key` doing `op` for `caller` now (see
    /// `policy::decide`; it takes a rate-limit token when it allows). It
    /// changes nothing else: a decision that says the key is idle-expired
    /// is acted on by the caller, with [`Agent::unload_idle`].
    pub fn decide(
        &self,
        key: &LoadedKey,
        op: &Operation<'_>,
        caller: &Caller,
        now: Instant,
    ) -> Decision {
        let key_use = KeyUse {
            name: &key.name,
            bound_as: &key.bound_as,
            public: key.public,
            last_used: key.last_used(),
        };
        policy::decide(&self.policies(), &self.limiter, key_use, op, caller, now)
    }

    /// The policy decision for releasing the stored secret `entry` to
    /// `caller` now (see `policy::decide_release`; it takes a release-rate
    /// token when it allows).
    pub fn decide_release(&self, entry: &SecretEntry, caller: &Caller, now: Instant) -> Decision {
        let config = self.config();
        let release_rate = config.secrets.get(&entry.name).and_then(|s| {
            s.releases_per_minute.map(|n| policy::Rate {
                per_minute: n.max(1),
                burst: s.release_burst.unwrap_or(n).max(1),
            })
        });
        let id: [u8; 32] = sha2::Sha256::digest(format!("secret\0{}", entry.name)).into();
        let secret = SecretUse {
            name: &entry.name,
            id,
            release_rate,
        };
        policy::decide_release(&self.policies(), &self.secret_limiter, secret, caller, now)
    }

    /// When the stored secret `entry` expires (unix seconds, `None`:
    /// never): the earlier of its own expiry and `[secrets.NAME] lifetime`
    /// counted from when it was stored.
    pub fn secret_expiry(&self, entry: &SecretEntry) -> Option<u64> {
        let own = (entry.expires_at != 0).then_some(entry.expires_at);
        let configured = self
            .config()
            .secrets
            .get(&entry.name)
            .and_then(|s| s.lifetime)
            .and_then(|l| l.0)
            .map(|secs| entry.created_unix.saturating_add(secs));
        match (own, configured) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The `[policies.NAME]` rule `[secrets.NAME]` binds `secret` to.
    pub fn secret_rule(&self, secret: &str) -> Option<String> {
        self.policies().secret_rule_name(secret).map(str::to_owned)
    }

    /// Unloads a key a decision found idle-expired.
    pub fn unload_idle(&self, key: &LoadedKey) {
        if self.keys.remove(&key.public) {
            info!(key = %signet_proto::text::escape(&key.name), "key idle timeout reached; removed");
        }
    }
}

/// The configuration's policies; if they cannot be resolved (a group
/// database read failing after the configuration was checked), every key
/// that names a rule refuses to sign rather than signing unrestricted.
fn resolve_policies(config: &Config) -> Policies {
    Policies::from_config(config).unwrap_or_else(|e| {
        warn!("policies cannot be resolved, keys with a policy will sign nothing: {e}");
        Policies::fail_closed(config)
    })
}
