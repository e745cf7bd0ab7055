//! Locking the agent with a passphrase (`ssh-add -x` / `-X`).
//!
//! The passphrase itself is never kept: only a salted bcrypt-pbkdf hash, and
//! an unlock attempt is compared in constant time. Each wrong passphrase adds
//! 100 ms to the delay before the next answer (capped at 10 s), as OpenSSH's
//! agent does, so guessing through the socket is slow.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand_core::{OsRng, RngCore as _};
use signet_proto::Passphrase;
use subtle::ConstantTimeEq as _;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
/// bcrypt-pbkdf rounds: slow enough to make each guess cost, fast enough
/// (tens of milliseconds) that `ssh-add -X` feels instant.
const ROUNDS: u32 = 16;
/// What each wrong passphrase adds to the delay before the next answer
/// (the agent lock's, and the key store's: `store_key`).
pub(super) const DELAY_STEP: Duration = Duration::from_millis(100);
/// The longest delay.
pub(super) const DELAY_MAX: Duration = Duration::from_secs(10);

struct Locked {
    salt: [u8; SALT_LEN],
    hash: Zeroizing<[u8; HASH_LEN]>,
}

/// The agent's lock.
#[derive(Default)]
pub struct AgentLock {
    locked: AtomicBool,
    state: Mutex<LockInner>,
}

#[derive(Default)]
struct LockInner {
    held: Option<Locked>,
    failures: u32,
}

/// Why a lock or unlock request failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LockError {
    /// `LOCK` on a locked agent.
    #[error("the agent is already locked")]
    AlreadyLocked,
    /// `UNLOCK` on an unlocked agent.
    #[error("the agent is not locked")]
    NotLocked,
    /// `LOCK` with an empty passphrase (refused, as OpenSSH's agent does:
    /// anyone could unlock it).
    #[error(
        "refused to lock with an empty passphrase (anyone could unlock it): lock with a passphrase"
    )]
    EmptyPassphrase,
    /// Wrong passphrase.
    #[error("wrong unlock passphrase (failed attempts: {0})")]
    WrongPassphrase(u32),
    /// The KDF failed (it cannot with these fixed parameters).
    #[error("passphrase hashing failed")]
    Kdf,
}

fn hash(
    passphrase: &Passphrase,
    salt: &[u8; SALT_LEN],
) -> Result<Zeroizing<[u8; HASH_LEN]>, LockError> {
    let mut out = Zeroizing::new([0u8; HASH_LEN]);
    // bcrypt-pbkdf rejects empty passphrases; an empty lock passphrase is still
    // a passphrase, so hash a fixed prefix with it.
    let mut input = Zeroizing::new(Vec::with_capacity(passphrase.expose().len() + 1));
    input.push(0x01);
    input.extend_from_slice(passphrase.expose());
    bcrypt_pbkdf::bcrypt_pbkdf(&input[..], salt, ROUNDS, &mut out[..])
        .map_err(|_| LockError::Kdf)?;
    Ok(out)
}

impl AgentLock {
    /// Whether the agent is locked (cheap: read on every request).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Acquire)
    }

    /// Locks with `passphrase`, which may not be empty.
    pub async fn lock(&self, passphrase: Passphrase) -> Result<(), LockError> {
        if passphrase.expose().is_empty() {
            return Err(LockError::EmptyPassphrase);
        }
        let mut inner = self.state.lock().await;
        if inner.held.is_some() {
            return Err(LockError::AlreadyLocked);
        }
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let hash = tokio::task::spawn_blocking(move || hash(&passphrase, &salt))
            .await
            .map_err(|_| LockError::Kdf)??;
        inner.held = Some(Locked { salt, hash });
        inner.failures = 0;
        self.locked.store(true, Ordering::Release);
        Ok(())
    }

    /// Unlocks if `passphrase` matches. A wrong one is answered only after a
    /// delay that grows with each failure; attempts are serialised by the lock,
    /// so parallel guessing gains nothing.
    pub async fn unlock(&self, passphrase: Passphrase) -> Result<(), LockError> {
        let mut inner = self.state.lock().await;
        let Some(held) = inner.held.as_ref() else {
            return Err(LockError::NotLocked);
        };
        let salt = held.salt;
        let attempt = tokio::task::spawn_blocking(move || hash(&passphrase, &salt))
            .await
            .map_err(|_| LockError::Kdf)??;
        let matches = bool::from(attempt.ct_eq(&*held.hash));
        if matches {
            inner.held = None;
            inner.failures = 0;
            self.locked.store(false, Ordering::Release);
            return Ok(());
        }
        inner.failures = inner.failures.saturating_add(1);
        let delay = DELAY_STEP.saturating_mul(inner.failures).min(DELAY_MAX);
        tokio::time::sleep(delay).await;
        Err(LockError::WrongPassphrase(inner.failures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Passphrase {
        Passphrase::new(s.as_bytes().to_vec())
    }

    #[tokio::test(start_paused = true)]
    async fn lock_unlock_and_growing_delay() {
        let l = AgentLock::default();
        assert_eq!(l.unlock(p("x")).await, Err(LockError::NotLocked));
        assert_eq!(l.lock(p("secret")).await, Ok(()));
        assert!(l.is_locked());
        assert_eq!(l.lock(p("other")).await, Err(LockError::AlreadyLocked));
        let t0 = tokio::time::Instant::now();
        assert_eq!(
            l.unlock(p("wrong")).await,
            Err(LockError::WrongPassphrase(1))
        );
        assert_eq!(
            l.unlock(p("wrong")).await,
            Err(LockError::WrongPassphrase(2))
        );
        // 100 ms then 200 ms of (virtual) delay.
        assert!(t0.elapsed() >= Duration::from_millis(300));
        assert!(l.is_locked());
        assert_eq!(l.unlock(p("secret")).await, Ok(()));
        assert!(!l.is_locked());
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_passphrase_locks_nothing() {
        let l = AgentLock::default();
        assert_eq!(l.lock(p("")).await, Err(LockError::EmptyPassphrase));
        assert!(!l.is_locked());
        // Locked with a real one, the empty one does not unlock.
        assert_eq!(l.lock(p("secret")).await, Ok(()));
        assert!(l.unlock(p("")).await.is_err());
        assert!(l.is_locked());
    }
}
