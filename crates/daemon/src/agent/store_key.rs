//! The unlocked store key of a sealed key store, and its lifetime.
//!
//! `signet unlock-store` asks the passphrase once; the store key it opens
//! (`store::seal::StoreKey`: its secret half in locked memory, wiped on
//! drop) is held here until `[store] unlock_idle` passes without a use,
//! `unlock_max` passes since the unlock (gpg-agent's `default-cache-ttl` and
//! `max-cache-ttl`, on the monotonic clock), `signet lock` or `signet
//! lock-store`, SIGUSR1, or the daemon stops. Meanwhile `load` and autoload
//! open sealed keys without asking. Keys already loaded do not depend on it:
//! they keep their own lifetimes.
//!
//! Wrong passphrases back off as the agent lock does: attempts are one at a
//! time, and each failure adds 100 ms to the delay before the next answer,
//! up to 10 s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use signet_proto::keystore::Selection;
use signet_proto::Passphrase;
use tokio::time::Instant;
use tracing::{info, warn};

use super::lock::{DELAY_MAX, DELAY_STEP};
use super::Agent;
use crate::store::seal::StoreKey;
use crate::store::vault::{self, VaultError};

/// The held store key and when it goes.
struct Held {
    key: Arc<StoreKey>,
    unlocked_at: Instant,
    last_used: Instant,
    idle: Option<Duration>,
    max: Option<Duration>,
}

impl Held {
    fn deadline(&self) -> Option<Instant> {
        let idle = self.idle.map(|d| self.last_used + d);
        let max = self.max.map(|d| self.unlocked_at + d);
        match (idle, max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The audit key's seed in a sealed store (user mode): which keyring
/// account holds it, and whether the audit log has the key yet. Until it
/// has, each unlock tries to open (or make) it.
#[derive(Default)]
struct AuditSeed {
    account: Option<String>,
    installed: bool,
}

/// The store key while the store is unlocked.
#[derive(Default)]
pub struct StoreUnlock {
    held: Mutex<Option<Held>>,
    audit: Mutex<AuditSeed>,
    /// Failed attempts; held across each attempt, so that attempts are
    /// serialised and parallel guessing gains nothing.
    failures: tokio::sync::Mutex<u32>,
}

impl StoreUnlock {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn audit(&self) -> std::sync::MutexGuard<'_, AuditSeed> {
        self.audit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The audit log has its key now.
    pub fn audit_key_installed(&self) {
        self.audit().installed = true;
    }

    /// The store key, if unlocked and not expired, counting this as a use.
    pub fn use_key(&self, now: Instant) -> Option<Arc<StoreKey>> {
        let mut slot = self.slot();
        if slot
            .as_ref()
            .and_then(Held::deadline)
            .is_some_and(|d| d <= now)
        {
            *slot = None;
            info!("key store locked again: its unlock timed out");
        }
        let held = slot.as_mut()?;
        held.last_used = held.last_used.max(now);
        Some(held.key.clone())
    }

    /// Seconds until the store locks again (`Some(None)`: unlocked with no
    /// timeout), or `None` when locked. Not a use.
    pub fn unlocked_for(&self, now: Instant) -> Option<Option<u64>> {
        let slot = self.slot();
        let held = slot.as_ref()?;
        match held.deadline() {
            Some(d) if d <= now => None,
            Some(d) => Some(Some(d.saturating_duration_since(now).as_secs())),
            None => Some(None),
        }
    }

    /// Holds `key` from `now`.
    fn hold(
        &self,
        key: Arc<StoreKey>,
        now: Instant,
        idle: Option<Duration>,
        max: Option<Duration>,
    ) {
        *self.slot() = Some(Held {
            key,
            unlocked_at: now,
            last_used: now,
            idle,
            max,
        });
    }

    /// Forgets the store key; false if it was not held. Loads already under
    /// way finish with their own reference; the key is wiped when the last
    /// one drops.
    pub fn forget(&self) -> bool {
        self.slot().take().is_some()
    }

    /// When the held key times out, for the reaper.
    pub fn deadline(&self) -> Option<Instant> {
        self.slot().as_ref().and_then(Held::deadline)
    }

    /// Forgets the key if its time is up; true if it did.
    pub fn reap(&self, now: Instant) -> bool {
        let mut slot = self.slot();
        if slot
            .as_ref()
            .and_then(Held::deadline)
            .is_some_and(|d| d <= now)
        {
            *slot = None;
            return true;
        }
        false
    }
}

/// What `unlock-store` did.
#[derive(Debug, Clone, Default)]
pub struct UnlockOutcome {
    /// The store key was made now (the first unlock of an unsealed store).
    pub created: bool,
    /// Keys that were in the clear and are sealed now.
    pub sealed: Vec<String>,
    /// Keys loaded because the configuration autoloads them.
    pub loaded: Vec<String>,
    /// What could not be done (each key left as it was).
    pub problems: Vec<String>,
    /// Seconds until the store locks again, if it will.
    pub unlocked_for: Option<u64>,
}

fn secs(l: crate::config::Lifetime) -> Option<Duration> {
    l.0.map(Duration::from_secs)
}

impl Agent {
    /// The unlocked store key, if any (counts as a use).
    pub fn store_key(&self) -> Option<Arc<StoreKey>> {
        self.store_unlock.use_key(Instant::now())
    }

    /// Start-up: the audit key's seed is under `account` of a sealed store;
    /// `installed`: the audit log already has the key (a seed from before
    /// sealing, in the clear). Each unlock then opens, makes or seals it.
    pub fn audit_seed_in_store(&self, account: String, installed: bool) {
        let mut a = self.store_unlock.audit();
        a.account = Some(account);
        a.installed |= installed;
    }

    /// After an unlock: the audit key's seed opened with `key` (made and
    /// sealed the first time, sealed in place if it was in the clear) and,
    /// if the audit log is still without a key, handed to it. What fails
    /// is returned for the unlock's reply (the unlock itself stands).
    async fn audit_key_after_unlock(
        &self,
        vault: &Arc<crate::store::vault::Vault>,
        key: &Arc<StoreKey>,
    ) -> Option<String> {
        let (account, installed) = {
            let a = self.store_unlock.audit();
            (a.account.clone()?, a.installed)
        };
        let k = key.clone();
        let opened = vault::blocking(vault, move |v| {
            let Some((seed, made)) = v.audit_seed(&account, Some(&k))? else {
                return Ok(None);
            };
            if installed {
                return Ok(None);
            }
            crate::audit::AuditKey::from_bytes(&seed)
                .map(|a| Some((a, made)))
                .map_err(|e| VaultError::Memory(e.to_string()))
        })
        .await;
        match opened {
            Ok(Some((audit_key, made))) => {
                info!(
                    made,
                    "audit key: opened from the sealed key store; the audit log is sealed from now on"
                );
                self.set_audit_key(audit_key);
                None
            }
            Ok(None) => None,
            Err(e) => {
                warn!("audit key: {e}: the audit log stays chained but not sealed");
                Some(format!(
                    "the audit key could not be opened ({e}): the audit log stays chained but not sealed"
                ))
            }
        }
    }

    /// Runs `attempt` (which asks the vault with a passphrase) one at a
    /// time, and answers a wrong passphrase only after the growing delay.
    async fn passphrase_attempt<T>(
        &self,
        attempt: impl std::future::Future<Output = Result<T, VaultError>>,
    ) -> Result<T, VaultError> {
        let mut failures = self.store_unlock.failures.lock().await;
        match attempt.await {
            Err(VaultError::WrongPassphrase) => {
                *failures = failures.saturating_add(1);
                let delay = DELAY_STEP.saturating_mul(*failures).min(DELAY_MAX);
                warn!(failures = *failures, "key store: wrong passphrase");
                tokio::time::sleep(delay).await;
                Err(VaultError::WrongPassphrase)
            }
            Ok(v) => {
                *failures = 0;
                Ok(v)
            }
            Err(e) => Err(e),
        }
    }

    /// `unlock-store`: opens the store key with `passphrase` (or, when
    /// `create` and the store has none, makes one wrapped under it), seals
    /// what is still stored in the clear, holds the key until it times out,
    /// and loads the keys the configuration autoloads.
    pub async fn unlock_store(
        &self,
        passphrase: Passphrase,
        create: bool,
    ) -> Result<UnlockOutcome, VaultError> {
        let vault = self.vault().ok_or(VaultError::Task(
            "the key store is not set up in this daemon: see its log (`signet status`)".into(),
        ))?;
        let v = vault.clone();
        let (key, created) = self
            .passphrase_attempt(vault::blocking(&v, move |v| {
                if create {
                    return v.set_up(passphrase.expose());
                }
                v.unlock(passphrase.expose()).map(|k| (k, false))
            }))
            .await?;
        let key = Arc::new(key);
        let k = key.clone();
        let migrated = vault::blocking(&vault, move |v| v.migrate(&k)).await?;
        let config = self.config();
        self.store_unlock.hold(
            key,
            Instant::now(),
            secs(config.store.unlock_idle),
            secs(config.store.unlock_max),
        );
        self.keys.notify_changed();
        info!(created, "key store unlocked");
        let mut outcome = UnlockOutcome {
            created,
            sealed: migrated.sealed,
            problems: migrated.problems,
            ..UnlockOutcome::default()
        };
        if let Some(held) = self.store_unlock.use_key(Instant::now()) {
            outcome
                .problems
                .extend(self.audit_key_after_unlock(&vault, &held).await);
        }
        // Keys the configuration loads by itself, now that they can be.
        let loaded_now = |name: &str| {
            self.keys
                .snapshot(Instant::now())
                .iter()
                .any(|k| &*k.name == name && k.origin == super::Origin::Keyring)
        };
        let waiting: Vec<String> = config
            .keys
            .iter()
            .filter(|(n, k)| {
                (k.autoload || k.source.as_deref() == Some("keyring")) && !loaded_now(n)
            })
            .map(|(n, _)| n.clone())
            .collect();
        if !waiting.is_empty() {
            let sel = Selection {
                all: false,
                names: waiting,
                lifetime: None,
            };
            match self.load_stored(sel).await {
                Ok(entries) => outcome.loaded = entries.into_iter().map(|e| e.name).collect(),
                Err(e) => outcome.problems.push(format!("autoload: {e}")),
            }
        }
        outcome.unlocked_for = self.store_unlock.unlocked_for(Instant::now()).flatten();
        Ok(outcome)
    }

    /// `lock-store`, `signet lock`, SIGUSR1: forgets the store key; true if
    /// it was held.
    pub fn lock_store(&self) -> bool {
        let was = self.store_unlock.forget();
        if was {
            info!("key store locked");
        }
        was
    }

    /// Seconds until the store locks again, `Some(None)` for never, `None`
    /// when locked.
    pub fn store_unlocked_for(&self) -> Option<Option<u64>> {
        self.store_unlock.unlocked_for(Instant::now())
    }

    /// `passwd`: the store key wrapped again under `new`; it is held
    /// unlocked afterwards (the user just proved the old passphrase).
    pub async fn passwd_store(&self, old: Passphrase, new: Passphrase) -> Result<(), VaultError> {
        let vault = self.vault().ok_or(VaultError::Task(
            "the key store is not set up in this daemon: see its log (`signet status`)".into(),
        ))?;
        let key = self
            .passphrase_attempt(vault::blocking(&vault, move |v| {
                v.passwd(old.expose(), new.expose())
            }))
            .await?;
        let config = self.config();
        let key = Arc::new(key);
        self.store_unlock.hold(
            key.clone(),
            Instant::now(),
            secs(config.store.unlock_idle),
            secs(config.store.unlock_max),
        );
        self.keys.notify_changed();
        let _ = self.audit_key_after_unlock(&vault, &key).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wrong_passphrases_back_off_one_at_a_time() {
        let agent = Agent::new(
            crate::config::Config::default(),
            "test".into(),
            tokio_util::sync::CancellationToken::new(),
        );
        let t0 = Instant::now();
        for n in 1..=3u32 {
            let r: Result<(), _> = agent
                .passphrase_attempt(async { Err(VaultError::WrongPassphrase) })
                .await;
            assert!(matches!(r, Err(VaultError::WrongPassphrase)));
            // 100 ms, then 200, then 300 of (virtual) delay.
            let waited: u64 = (1..=u64::from(n)).map(|i| i * 100).sum();
            assert!(
                t0.elapsed() >= Duration::from_millis(waited),
                "{n}: {:?}",
                t0.elapsed()
            );
        }
        // A right one answers at once and resets the count.
        let t1 = Instant::now();
        agent
            .passphrase_attempt(async { Ok::<_, VaultError>(()) })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(t1.elapsed() < Duration::from_millis(1));
        assert_eq!(*agent.store_unlock.failures.lock().await, 0);
        // Other errors are not counted and not delayed.
        let t2 = Instant::now();
        let r: Result<(), _> = agent
            .passphrase_attempt(async { Err(VaultError::NotSetUp { what: "x" }) })
            .await;
        assert!(r.is_err() && t2.elapsed() < Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_and_maximum_timeouts() -> Result<(), crate::store::seal::SealError> {
        let u = StoreUnlock::default();
        let t0 = Instant::now();
        u.hold(
            Arc::new(StoreKey::generate()?),
            t0,
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(150)),
        );
        assert_eq!(u.unlocked_for(t0), Some(Some(60)));
        // Each use pushes the idle deadline, never past the maximum.
        assert!(u.use_key(t0 + Duration::from_secs(50)).is_some());
        assert!(u.use_key(t0 + Duration::from_secs(100)).is_some());
        assert_eq!(u.deadline(), Some(t0 + Duration::from_secs(150)));
        assert!(!u.reap(t0 + Duration::from_secs(149)));
        assert!(u.reap(t0 + Duration::from_secs(150)));
        assert!(u.use_key(t0 + Duration::from_secs(150)).is_none());
        // Idle: no use for the idle time.
        u.hold(
            Arc::new(StoreKey::generate()?),
            t0,
            Some(Duration::from_secs(60)),
            None,
        );
        assert!(u.use_key(t0 + Duration::from_secs(60)).is_none());
        assert_eq!(u.unlocked_for(t0), None);
        // No timeouts: held until forgotten.
        u.hold(Arc::new(StoreKey::generate()?), t0, None, None);
        assert_eq!(
            u.unlocked_for(t0 + Duration::from_secs(1 << 30)),
            Some(None)
        );
        assert!(u.forget());
        assert!(!u.forget());
        Ok(())
    }
}
