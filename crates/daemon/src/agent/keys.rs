//! The keys the agent holds in memory, and their lifetimes.
//!
//! Each key lives in one [`LoadedKey`] behind an `Arc`, so that signing happens
//! outside the table's lock; the signing key zeroizes itself when the last
//! reference drops. Lifetimes use the monotonic clock (`tokio::time::Instant`,
//! which tests can pause) and one reaper task removes expired keys.

use std::sync::{Arc, RwLock};

use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::Sha512;
use signet_proto::extension::KeyInfo;
use signet_proto::key::{ed25519_blob, KeySelector};
use signet_proto::Ed25519Seed;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::hardening::LockedBox;

/// One key held by the agent.
pub struct LoadedKey {
    /// The 32-byte public key.
    pub public: [u8; 32],
    /// Its SSH public key blob, precomputed for listing.
    pub blob: Vec<u8>,
    /// Name (the comment sent with the key). Shared, so the audit log's
    /// events can carry it without a copy per signature.
    pub name: std::sync::Arc<str>,
    /// The name the configuration's rules know this key by: its name when
    /// it was first loaded in this daemon's run (`Agent::add_key` sets it),
    /// so that renaming the key never moves its rule
    /// (`[keys.NAME] policy`).
    pub bound_as: std::sync::Arc<str>,
    /// When the key must be removed, if it has a lifetime.
    pub expires_at: Option<Instant>,
    /// Whether every use needs the user's confirmation.
    pub confirm: bool,
    /// Where the key came from.
    pub origin: Origin,
    /// When the key last signed (or was loaded), for idle timeouts.
    last_used: std::sync::Mutex<Instant>,
    signing: LockedBox<SigningHalves>,
}

/// Where a loaded key came from (shown by `signet list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Added over the socket (`ssh-add`, `signet add`).
    Agent,
    /// Loaded from the key store (`signet load`, autoload, `source = "keyring"`).
    Keyring,
    /// A systemd credential (`source = "credential"`).
    Credential,
    /// A key file (`source = "file"`).
    File,
}

impl Origin {
    /// The name on the wire (`list@signet`) and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Agent => "agent",
            Origin::Keyring => "keyring",
            Origin::Credential => "credential",
            Origin::File => "file",
        }
    }
}

/// What signing needs, precomputed once per key.
///
/// Performance: `SigningKey::sign` re-derives the expanded secret (a SHA-512
/// of the seed, then clamping) on every call and wipes it again; keeping the
/// expanded key saves that per signature (≈0.3 µs of ≈20 µs here, see
/// crates/bench/RESULTS.md). The signature is byte-for-byte the same:
/// `SigningKey::sign` is `ExpandedSecretKey::from(seed).raw_sign::<Sha512>`.
/// The expanded key is as secret as the seed: it lives in the same locked
/// pages and zeroizes itself on drop (ed25519-dalek's `zeroize` feature).
struct SigningHalves {
    expanded: ExpandedSecretKey,
    verifying: VerifyingKey,
}

impl LoadedKey {
    /// Builds a key from its seed; fails if `public` does not belong to it.
    pub fn new(
        seed: &Ed25519Seed,
        public: [u8; 32],
        name: String,
        expires_at: Option<Instant>,
        confirm: bool,
        origin: Origin,
    ) -> Result<Self, KeyError> {
        // Built straight into locked memory: the key never sits in an
        // ordinary heap allocation.
        // The SigningKey is a temporary (it zeroizes itself when dropped here).
        let verifying = SigningKey::from_bytes(seed.expose()).verifying_key();
        let signing = LockedBox::new(SigningHalves {
            expanded: ExpandedSecretKey::from(seed.expose()),
            verifying,
        })
        .map_err(|e| KeyError::Memory(e.to_string()))?;
        if signing.verifying.to_bytes() != public {
            return Err(KeyError::PublicMismatch);
        }
        let name: Arc<str> = name.into();
        Ok(Self {
            blob: ed25519_blob(&public),
            public,
            bound_as: name.clone(),
            name,
            expires_at,
            confirm,
            origin,
            last_used: std::sync::Mutex::new(Instant::now()),
            signing,
        })
    }

    /// Records a use now (idle timeouts count from the last use).
    pub fn touch(&self, now: Instant) {
        let mut last = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
        *last = (*last).max(now);
    }

    /// When the key last signed (or was loaded).
    pub fn last_used(&self) -> Instant {
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the key becomes idle under `timeout` (`None`: later than the
    /// clock can say, i.e. never).
    pub fn idle_deadline(&self, timeout: std::time::Duration) -> Option<Instant> {
        self.last_used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .checked_add(timeout)
    }

    /// Signs `message` with this key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        raw_sign::<Sha512>(&self.signing.expanded, message, &self.signing.verifying).to_bytes()
    }

    fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// The bytes this key takes in an identities answer (its blob and its
    /// name, each a length-prefixed string).
    pub fn identity_bytes(&self) -> usize {
        8 + self.blob.len() + self.name.len()
    }
}

/// Why a key could not be added or found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The private key does not produce the public key sent with it.
    #[error("the private key does not match its public key")]
    PublicMismatch,
    /// Memory for the key could not be allocated.
    #[error("cannot allocate locked memory for the key: {0}")]
    Memory(String),
    /// No key matches.
    #[error("no loaded key matches {0:?}")]
    NotFound(String),
    /// More than one key matches.
    #[error("{0} keys are loaded: name the one to use (signet list shows them)")]
    Ambiguous(usize),
}

/// The table of loaded keys.
#[derive(Default)]
pub struct KeyTable {
    keys: RwLock<Vec<Arc<LoadedKey>>>,
    changed: Notify,
}

impl KeyTable {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<LoadedKey>>> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<LoadedKey>>> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a key if `check` allows it, replacing one with the same public
    /// key (as OpenSSH does, which lets `ssh-add` update a key's lifetime or
    /// comment). `check` runs under the table's lock and sees every other
    /// live key, so that two adds cannot both pass it.
    pub fn insert<E>(
        &self,
        key: LoadedKey,
        now: Instant,
        check: impl FnOnce(&[&LoadedKey]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut keys = self.write();
        let others: Vec<&LoadedKey> = keys
            .iter()
            .filter(|k| k.public != key.public && !k.expired(now))
            .map(|k| &**k)
            .collect();
        check(&others)?;
        drop(others);
        keys.retain(|k| k.public != key.public);
        keys.push(Arc::new(key));
        drop(keys);
        self.changed.notify_one();
        Ok(())
    }

    /// Adds a key without any check, replacing one with the same public key.
    /// The daemon adds keys through `Agent::add_key`, which checks names,
    /// rules and limits; this is for tests and benchmarks that build a
    /// table directly.
    pub fn add(&self, key: LoadedKey) {
        let mut keys = self.write();
        keys.retain(|k| k.public != key.public);
        keys.push(Arc::new(key));
        drop(keys);
        self.changed.notify_one();
    }

    /// Removes the key with this public key; false if it was not there.
    pub fn remove(&self, public: &[u8; 32]) -> bool {
        let mut keys = self.write();
        let before = keys.len();
        keys.retain(|k| k.public != *public);
        before != keys.len()
    }

    /// Removes every key `which` selects; returns how many.
    pub fn remove_where(&self, which: impl Fn(&LoadedKey) -> bool) -> usize {
        let mut keys = self.write();
        let before = keys.len();
        keys.retain(|k| !which(k));
        before - keys.len()
    }

    /// Removes every key and returns how many there were.
    pub fn clear(&self) -> usize {
        let mut keys = self.write();
        let n = keys.len();
        keys.clear();
        n
    }

    /// The key with this public key, unless it has expired.
    pub fn get(&self, public: &[u8; 32], now: Instant) -> Option<Arc<LoadedKey>> {
        self.read()
            .iter()
            .find(|k| k.public == *public && !k.expired(now))
            .cloned()
    }

    /// Resolves a user's key selector among live keys.
    pub fn select(&self, selector: &str, now: Instant) -> Result<Arc<LoadedKey>, KeyError> {
        let sel = KeySelector::parse(selector);
        let keys = self.read();
        let mut live = keys.iter().filter(|k| !k.expired(now));
        if sel == KeySelector::Only {
            let first = live.next().cloned();
            let rest = live.count();
            return match (first, rest) {
                (Some(k), 0) => Ok(k),
                (None, _) => Err(KeyError::NotFound(String::new())),
                (Some(_), n) => Err(KeyError::Ambiguous(n + 1)),
            };
        }
        let mut found = live.filter(|k| sel.matches(&k.public, &k.name));
        match (found.next().cloned(), found.next()) {
            (Some(k), None) => Ok(k),
            (None, _) => Err(KeyError::NotFound(selector.to_owned())),
            (Some(_), Some(_)) => Err(KeyError::Ambiguous(2)),
        }
    }

    /// Live keys, in the order they were added.
    pub fn snapshot(&self, now: Instant) -> Vec<Arc<LoadedKey>> {
        self.read()
            .iter()
            .filter(|k| !k.expired(now))
            .cloned()
            .collect()
    }

    /// Details of every live key, without policy lines.
    pub fn infos(&self, now: Instant) -> Vec<KeyInfo> {
        self.infos_with_policy(now, |_| String::new())
    }

    /// Details of every live key for `list@signet`; `policy` gives each
    /// key's policy line by the name its rule is bound to.
    pub fn infos_with_policy(&self, now: Instant, policy: impl Fn(&str) -> String) -> Vec<KeyInfo> {
        self.snapshot(now)
            .iter()
            .map(|k| KeyInfo {
                key_blob: k.blob.clone(),
                name: k.name.to_string(),
                expires_in: k
                    .expires_at
                    .map(|t| t.saturating_duration_since(now).as_secs()),
                confirm: k.confirm,
                source: k.origin.as_str().to_owned(),
                policy: policy(&k.bound_as),
            })
            .collect()
    }

    /// Removes expired keys; returns their names (for the log).
    pub fn reap(&self, now: Instant) -> Vec<String> {
        let mut keys = self.write();
        let mut gone = Vec::new();
        keys.retain(|k| {
            let dead = k.expired(now);
            if dead {
                gone.push(k.name.to_string());
            }
            !dead
        });
        gone
    }

    /// Removes keys idle for longer than their idle timeout (`timeout_for`
    /// gives it by the name the key's rule is bound to); returns their names.
    pub fn reap_idle(
        &self,
        now: Instant,
        timeout_for: impl Fn(&str) -> Option<std::time::Duration>,
    ) -> Vec<String> {
        let mut keys = self.write();
        let mut gone = Vec::new();
        keys.retain(|k| {
            let idle = timeout_for(&k.bound_as)
                .and_then(|t| k.idle_deadline(t))
                .is_some_and(|d| d <= now);
            if idle {
                gone.push(k.name.to_string());
            }
            !idle
        });
        gone
    }

    /// The earliest idle deadline among held keys.
    pub fn next_idle_deadline(
        &self,
        timeout_for: impl Fn(&str) -> Option<std::time::Duration>,
    ) -> Option<Instant> {
        self.read()
            .iter()
            .filter_map(|k| timeout_for(&k.bound_as).and_then(|t| k.idle_deadline(t)))
            .min()
    }

    /// The earliest expiry among held keys.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.read().iter().filter_map(|k| k.expires_at).min()
    }

    /// Number of keys held (expired ones not yet reaped included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    /// Wakes the reaper so that it re-plans (the configuration changed).
    pub fn notify_changed(&self) {
        self.changed.notify_one();
    }

    /// Resolves when a key has been added (the reaper re-plans then).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key(seed: u8, name: &str, expires_at: Option<Instant>) -> LoadedKey {
        let s = Ed25519Seed::new([seed; 32]);
        let public = SigningKey::from_bytes(s.expose())
            .verifying_key()
            .to_bytes();
        match LoadedKey::new(&s, public, name.into(), expires_at, false, Origin::Agent) {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn precomputed_signing_matches_signing_key() {
        use ed25519_dalek::Signer as _;
        let k = key(3, "a", None);
        let reference = SigningKey::from_bytes(&[3; 32]);
        for msg in [&b""[..], b"x", &[7u8; 300]] {
            assert_eq!(k.sign(msg), reference.sign(msg).to_bytes());
        }
    }

    #[test]
    fn wrong_public_is_refused() {
        let s = Ed25519Seed::new([1; 32]);
        assert_eq!(
            LoadedKey::new(&s, [0; 32], "x".into(), None, false, Origin::Agent).err(),
            Some(KeyError::PublicMismatch)
        );
    }

    #[test]
    fn select_only_and_by_name() {
        let now = Instant::now();
        let t = KeyTable::default();
        assert!(matches!(t.select("", now), Err(KeyError::NotFound(_))));
        t.add(key(1, "a", None));
        assert_eq!(t.select("", now).map(|k| k.name.clone()), Ok("a".into()));
        t.add(key(2, "b", None));
        assert!(matches!(t.select("", now), Err(KeyError::Ambiguous(2))));
        assert_eq!(t.select("b", now).map(|k| k.name.clone()), Ok("b".into()));
    }

    #[test]
    fn re_adding_replaces() {
        let now = Instant::now();
        let t = KeyTable::default();
        t.add(key(1, "a", None));
        t.add(key(1, "renamed", None));
        assert_eq!(t.len(), 1);
        assert_eq!(t.snapshot(now)[0].name.as_ref(), "renamed");
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_is_exact_on_the_monotonic_clock() {
        let t = KeyTable::default();
        let start = Instant::now();
        t.add(key(1, "short", Some(start + Duration::from_secs(2))));
        t.add(key(2, "long", None));
        assert_eq!(t.next_expiry(), Some(start + Duration::from_secs(2)));
        tokio::time::advance(Duration::from_millis(1999)).await;
        assert_eq!(t.snapshot(Instant::now()).len(), 2);
        tokio::time::advance(Duration::from_millis(1)).await;
        // Expired keys are invisible at once, even before the reaper runs.
        assert_eq!(t.snapshot(Instant::now()).len(), 1);
        assert_eq!(t.reap(Instant::now()), vec!["short".to_string()]);
        assert_eq!(t.len(), 1);
    }
}
