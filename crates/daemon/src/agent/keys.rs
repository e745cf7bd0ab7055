//! The keys the agent holds in memory, and their lifetimes.
//!
//! Each key lives in one [`LoadedKey`] behind an `Arc`, so that signing happens
//! outside the table's lock; the signing key zeroizes itself when the last
//! reference drops. A key on a PKCS#11 token is held by reference only
//! (the token, its `CKA_ID`): the same [`LoadedKey`], a different
//! [`Signer`], and its signatures are made by the token on a blocking
//! thread ([`LoadedKey::blocks`]). Lifetimes use the monotonic clock (`tokio::time::Instant`,
//! which tests can pause) and one reaper task removes expired keys.
//!
//! An entry is an identity, as in OpenSSH's `idtab`: a plain key, or a key
//! with an OpenSSH certificate ([`LoadedKey::certificate`]), told apart by
//! their blobs. `ssh-add` adds a key and then its certificate, so both
//! entries hold the same key, each with its own name, lifetime and
//! confirmation. A certificate stops being offered when its validity ends
//! by the wall clock (`valid before`), whatever the monotonic lifetime
//! says (a suspended machine's monotonic clock does not count the
//! suspension); the reaper removes it at the moment computed when it was
//! added.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::VerifyingKey;
use sha2::Sha512;
use signet_proto::extension::{CertificateInfo, ExpiredKey, KeyInfo};
use signet_proto::key::{ed25519_blob, KeySelector};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::access::caller::ProcessIdentity;
use crate::clock::{self, WallClock};
use crate::hardening::LockedBox;
use crate::sshkey::CertInfo;

/// One key held by the agent.
pub struct LoadedKey {
    /// The 32-byte public key.
    pub public: [u8; 32],
    /// The identity's SSH public key blob, precomputed for listing: the
    /// key's, or its certificate's.
    pub blob: Vec<u8>,
    /// The OpenSSH certificate this identity presents, if it is one.
    pub certificate: Option<CertInfo>,
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
    /// With `confirm`: how long a yes lasts for the process that asked
    /// (`confirm-remember@signet`, `[keys.NAME] confirm_remember`).
    pub remember: Option<Duration>,
    /// When the key was added (its lifetime counts from here).
    added_at: Instant,
    /// When the key last signed (or was loaded), for idle timeouts.
    last_used: std::sync::Mutex<Instant>,
    /// The processes a yes was remembered for, and until when. Kept with
    /// the key, so that unloading or replacing the key forgets them too.
    approvals: Mutex<Vec<(ProcessIdentity, Instant)>>,
    signing: Signer,
}

/// What makes a key's signatures: the expanded key in locked memory, or a
/// token that holds the private key and never gives it out.
enum Signer {
    /// In memory (every source but `[pkcs11]`).
    Memory(LockedBox<SigningHalves>),
    /// On a PKCS#11 token, by `CKA_ID`.
    #[cfg(unix)]
    Token {
        token: Arc<crate::store::pkcs11::Token>,
        id: Vec<u8>,
    },
}

/// Why a signature could not be made (only a token's can fail).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignError {
    /// The token refused or is gone.
    #[cfg(unix)]
    #[error(transparent)]
    Token(#[from] crate::store::pkcs11::TokenError),
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
    /// A PKCS#11 token (`[pkcs11]`): the key never leaves it.
    Pkcs11,
}

impl Origin {
    /// The name on the wire (`list@signet`) and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Agent => "agent",
            Origin::Keyring => "keyring",
            Origin::Credential => "credential",
            Origin::File => "file",
            Origin::Pkcs11 => "pkcs11",
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
    ///
    /// The expanded key is built straight into locked memory, and the stack
    /// the derivation used (a SHA-512 of the seed, a temporary signing key)
    /// is wiped afterwards (`hardening::scrubbed`): the only copy of the key
    /// left is in the locked page.
    pub fn new(
        seed: &[u8; 32],
        public: [u8; 32],
        name: String,
        expires_at: Option<Instant>,
        confirm: bool,
        origin: Origin,
    ) -> Result<Self, KeyError> {
        crate::hardening::scrubbed(|| Self::build(seed, public, name, expires_at, confirm, origin))
    }

    fn build(
        seed: &[u8; 32],
        public: [u8; 32],
        name: String,
        expires_at: Option<Instant>,
        confirm: bool,
        origin: Origin,
    ) -> Result<Self, KeyError> {
        // The temporaries here (the expanded key before it moves into the
        // locked page) are on the stack `scrubbed` wipes.
        let expanded = ExpandedSecretKey::from(seed);
        let verifying = VerifyingKey::from(&expanded);
        let signing = LockedBox::new(SigningHalves {
            expanded,
            verifying,
        })
        .map_err(|e| KeyError::Memory(e.to_string()))?;
        if signing.verifying.to_bytes() != public {
            return Err(KeyError::PublicMismatch);
        }
        let name: Arc<str> = name.into();
        Ok(Self {
            blob: ed25519_blob(&public),
            certificate: None,
            public,
            bound_as: name.clone(),
            name,
            expires_at,
            confirm,
            origin,
            remember: None,
            added_at: Instant::now(),
            last_used: std::sync::Mutex::new(Instant::now()),
            approvals: Mutex::new(Vec::new()),
            signing: Signer::Memory(signing),
        })
    }

    /// A key on a PKCS#11 token: the token signs, by the key's `CKA_ID`;
    /// nothing secret is held here.
    #[cfg(unix)]
    pub fn on_token(
        token: Arc<crate::store::pkcs11::Token>,
        info: &crate::store::pkcs11::TokenKeyInfo,
        name: String,
        expires_at: Option<Instant>,
        confirm: bool,
    ) -> Self {
        let name: Arc<str> = name.into();
        Self {
            blob: ed25519_blob(&info.public),
            certificate: None,
            public: info.public,
            bound_as: name.clone(),
            name,
            expires_at,
            confirm,
            origin: Origin::Pkcs11,
            remember: None,
            added_at: Instant::now(),
            last_used: std::sync::Mutex::new(Instant::now()),
            approvals: Mutex::new(Vec::new()),
            signing: Signer::Token {
                token,
                id: info.id.clone(),
            },
        }
    }

    /// Whether signing blocks (a token: run it on a blocking thread, never
    /// on an async worker).
    pub fn blocks(&self) -> bool {
        !matches!(self.signing, Signer::Memory(_))
    }

    /// The same key, a confirmation lasting `remember` for the process that
    /// gave it.
    pub fn with_remember(mut self, remember: Option<Duration>) -> Self {
        self.remember = remember.filter(|r| !r.is_zero());
        self
    }

    /// The same key presenting the certificate `blob` (read and checked
    /// by `sshkey::certificate_of`, for this key).
    pub fn with_certificate(mut self, blob: Vec<u8>, info: CertInfo) -> Self {
        self.blob = blob;
        self.certificate = Some(info);
        self
    }

    /// Whether `who` said yes to this key within its remember period.
    pub fn approved(&self, who: &ProcessIdentity, now: Instant) -> bool {
        let mut approvals = self.approvals.lock().unwrap_or_else(|p| p.into_inner());
        approvals.retain(|(_, until)| *until > now);
        approvals.iter().any(|(p, _)| p == who)
    }

    /// Remembers `who`'s yes until `until` (a process's newer yes replaces
    /// its older one; at most `MAX_APPROVALS` processes at once, the
    /// oldest forgotten first).
    pub fn approve(&self, who: ProcessIdentity, until: Instant) {
        let mut approvals = self.approvals.lock().unwrap_or_else(|p| p.into_inner());
        approvals.retain(|(p, _)| *p != who);
        if approvals.len() >= MAX_APPROVALS {
            approvals.remove(0);
        }
        approvals.push((who, until));
    }

    /// Forgets every remembered yes (`signet lock`).
    pub fn forget_approvals(&self) {
        self.approvals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
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

    /// Signs `message` with this key. For a key that [blocks](Self::blocks)
    /// this calls the token: run it on a blocking thread.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        match &self.signing {
            Signer::Memory(m) => {
                Ok(raw_sign::<Sha512>(&m.expanded, message, &m.verifying).to_bytes())
            }
            #[cfg(unix)]
            Signer::Token { token, id } => {
                let sig = token.sign(id, message)?;
                // A token holding another key under this id (replaced while
                // away) must not produce signatures for the listed key.
                let ok = VerifyingKey::from_bytes(&self.public).is_ok_and(|v| {
                    v.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig))
                        .is_ok()
                });
                if !ok {
                    return Err(SignError::Token(
                        crate::store::pkcs11::TokenError::Failed {
                            token: token.describe().to_owned(),
                            op: "signing",
                            detail: "the token's signature does not verify with this key's public key (was the key replaced on the token?)".to_owned(),
                        },
                    ));
                }
                Ok(sig)
            }
        }
    }

    fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// Whether this identity is a certificate whose validity has ended at
    /// Unix time `wall`.
    fn certificate_ended(&self, wall: u64) -> bool {
        self.certificate
            .as_ref()
            .is_some_and(|c| wall >= c.valid_before)
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
    #[error("no loaded key matches \"{}\"", signet_proto::text::escape(.0))]
    NotFound(String),
    /// More than one key matches.
    #[error("{0} keys are loaded: name the one to use (signet list shows them)")]
    Ambiguous(usize),
}

/// At most this many processes have a remembered yes per key.
pub const MAX_APPROVALS: usize = 64;

/// How many expired keys the agent remembers, and for how long: enough to
/// tell "your key expired 2 minutes ago" from "no such key".
const EXPIRED_KEPT: usize = 32;
const EXPIRED_FOR: Duration = Duration::from_secs(24 * 3600);

/// A key whose lifetime ended, as remembered for messages.
struct Expired {
    name: Arc<str>,
    blob: Vec<u8>,
    public: [u8; 32],
    origin: Origin,
    lifetime: Duration,
    at: Instant,
}

/// The table of loaded keys.
pub struct KeyTable {
    keys: RwLock<Vec<Arc<LoadedKey>>>,
    changed: Notify,
    /// Keys whose lifetime ended recently, newest last.
    expired: Mutex<VecDeque<Expired>>,
    /// The wall clock certificates' validity is judged by.
    wall: WallClock,
}

impl Default for KeyTable {
    fn default() -> Self {
        Self {
            keys: RwLock::default(),
            changed: Notify::default(),
            expired: Mutex::default(),
            wall: clock::unix_now,
        }
    }
}

/// Whether an identity is still live: its lifetime not over, and if it is
/// a certificate, its validity not ended.
fn live(k: &LoadedKey, now: Instant, wall: u64) -> bool {
    !k.expired(now) && !k.certificate_ended(wall)
}

impl KeyTable {
    /// The same table judging certificates by `wall` (tests).
    pub fn set_wall_clock(&mut self, wall: WallClock) {
        self.wall = wall;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<LoadedKey>>> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<LoadedKey>>> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a key if `check` allows it, replacing the same identity (the
    /// same blob: as OpenSSH does, which lets `ssh-add` update a key's
    /// lifetime or comment). `check` runs under the table's lock and sees
    /// every other live identity (a certificate of the same key included),
    /// so that two adds cannot both pass it.
    pub fn insert<E>(
        &self,
        key: LoadedKey,
        now: Instant,
        check: impl FnOnce(&[&LoadedKey]) -> Result<(), E>,
    ) -> Result<(), E> {
        let wall = (self.wall)();
        let mut keys = self.write();
        let others: Vec<&LoadedKey> = keys
            .iter()
            .filter(|k| k.blob != key.blob && live(k, now, wall))
            .map(|k| &**k)
            .collect();
        check(&others)?;
        drop(others);
        keys.retain(|k| k.blob != key.blob);
        keys.push(Arc::new(key));
        drop(keys);
        self.changed.notify_one();
        Ok(())
    }

    /// Adds a key without any check, replacing the same identity.
    /// The daemon adds keys through `Agent::add_key`, which checks names,
    /// rules and limits; this is for tests and benchmarks that build a
    /// table directly.
    pub fn add(&self, key: LoadedKey) {
        // A key loaded again has not expired any more.
        self.expired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|e| e.public != key.public);
        let mut keys = self.write();
        keys.retain(|k| k.blob != key.blob);
        keys.push(Arc::new(key));
        drop(keys);
        self.changed.notify_one();
    }

    /// Removes the identity with this blob (a plain key's, or a
    /// certificate's: `REMOVE_IDENTITY`); false if it was not there.
    pub fn remove_identity(&self, blob: &[u8]) -> bool {
        let mut keys = self.write();
        let before = keys.len();
        keys.retain(|k| k.blob != blob);
        before != keys.len()
    }

    /// Removes the key with this public key, its certificates with it;
    /// false if it was not there.
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

    /// A live identity of the key with this public key (the plain key
    /// before its certificates).
    pub fn get(&self, public: &[u8; 32], now: Instant) -> Option<Arc<LoadedKey>> {
        let wall = (self.wall)();
        let keys = self.read();
        let mut of_key = keys
            .iter()
            .filter(|k| k.public == *public && live(k, now, wall));
        let first = of_key.next()?;
        if first.certificate.is_none() {
            return Some(first.clone());
        }
        Some(
            of_key
                .find(|k| k.certificate.is_none())
                .unwrap_or(first)
                .clone(),
        )
    }

    /// The live identity with exactly this blob (`SIGN_REQUEST`: a plain
    /// key's blob names the plain key only, a certificate's that
    /// certificate only, as OpenSSH's `sshkey_equal`).
    pub fn get_identity(&self, blob: &[u8], now: Instant) -> Option<Arc<LoadedKey>> {
        let wall = (self.wall)();
        self.read()
            .iter()
            .find(|k| k.blob == blob && live(k, now, wall))
            .cloned()
    }

    /// Resolves a user's key selector among live keys: a key and its
    /// certificates are one key (the plain identity chosen when it is
    /// loaded, else its first certificate: Encord signs with the key
    /// either way).
    pub fn select(&self, selector: &str, now: Instant) -> Result<Arc<LoadedKey>, KeyError> {
        let sel = KeySelector::parse(selector);
        let live_keys = self.by_key(now);
        let mut live = live_keys.iter();
        if sel == KeySelector::Only {
            let first = live.next().cloned();
            let rest = live.count();
            return match (first, rest) {
                (Some(k), 0) => Ok(k),
                (None, _) => Err(KeyError::NotFound(String::new())),
                (Some(_), n) => Err(KeyError::Ambiguous(n + 1)),
            };
        }
        // A key matches by its own name or by any of its identities' names.
        let snapshot = self.snapshot(now);
        let mut found = live.filter(|k| {
            snapshot
                .iter()
                .filter(|i| i.public == k.public)
                .any(|i| sel.matches(&i.public, &i.name))
        });
        match (found.next().cloned(), found.next()) {
            (Some(k), None) => Ok(k),
            (None, _) => Err(KeyError::NotFound(selector.to_owned())),
            (Some(_), Some(_)) => Err(KeyError::Ambiguous(2)),
        }
    }

    /// One live identity per key, in the order the keys were added: the
    /// plain key if it is loaded, else its first certificate.
    fn by_key(&self, now: Instant) -> Vec<Arc<LoadedKey>> {
        let mut out: Vec<Arc<LoadedKey>> = Vec::new();
        for k in self.snapshot(now) {
            match out.iter_mut().find(|o| o.public == k.public) {
                Some(o) if o.certificate.is_some() && k.certificate.is_none() => *o = k,
                Some(_) => {}
                None => out.push(k),
            }
        }
        out
    }

    /// Live identities, in the order they were added.
    pub fn snapshot(&self, now: Instant) -> Vec<Arc<LoadedKey>> {
        let wall = (self.wall)();
        self.read()
            .iter()
            .filter(|k| live(k, now, wall))
            .cloned()
            .collect()
    }

    /// Details of every live key, without policy lines.
    pub fn infos(&self, now: Instant) -> Vec<KeyInfo> {
        self.infos_with_policy(now, |_| String::new())
    }

    /// Details of every live key for `list@signet`, one per key with its
    /// certificates; `policy` gives each key's policy line by the name its
    /// rule is bound to.
    pub fn infos_with_policy(&self, now: Instant, policy: impl Fn(&str) -> String) -> Vec<KeyInfo> {
        let identities = self.snapshot(now);
        let expires_in = |k: &LoadedKey| {
            k.expires_at
                .map(|t| t.saturating_duration_since(now).as_secs())
        };
        self.by_key(now)
            .iter()
            .map(|k| KeyInfo {
                key_blob: ed25519_blob(&k.public),
                name: k.name.to_string(),
                expires_in: expires_in(k),
                confirm: k.confirm,
                source: k.origin.as_str().to_owned(),
                policy: policy(&k.bound_as),
                listed: k.certificate.is_none(),
                certificates: identities
                    .iter()
                    .filter(|c| c.public == k.public)
                    .filter_map(|c| {
                        let info = c.certificate.as_ref()?;
                        Some(CertificateInfo {
                            blob: c.blob.clone(),
                            name: c.name.to_string(),
                            key_id: info.key_id.clone(),
                            host: info.host,
                            principals: info.principals.clone(),
                            valid_after: info.valid_after,
                            valid_before: info.valid_before,
                            ca_fingerprint: info.ca_fingerprint.clone(),
                            expires_in: expires_in(c),
                            confirm: c.confirm,
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    /// Removes expired keys, remembering them for a while (see
    /// [`KeyTable::recently_expired`]); returns their names (for the log).
    pub fn reap(&self, now: Instant) -> Vec<String> {
        let wall = (self.wall)();
        let mut keys = self.write();
        let mut gone = Vec::new();
        let mut dead_keys = Vec::new();
        keys.retain(|k| {
            let dead = !live(k, now, wall);
            if dead {
                gone.push(k.name.to_string());
                dead_keys.push(k.clone());
            }
            !dead
        });
        drop(keys);
        let mut expired = self.expired.lock().unwrap_or_else(|p| p.into_inner());
        for k in dead_keys {
            let at = k.expires_at.unwrap_or(now);
            expired.retain(|e| e.public != k.public);
            if expired.len() >= EXPIRED_KEPT {
                expired.pop_front();
            }
            expired.push_back(Expired {
                name: k.name.clone(),
                // The key's own blob, for a certificate too: clients match
                // it against the key they asked for.
                blob: ed25519_blob(&k.public),
                public: k.public,
                origin: k.origin,
                lifetime: at.saturating_duration_since(k.added_at),
                at,
            });
        }
        gone
    }

    /// Keys whose lifetime ended in the last day, newest first: those the
    /// reaper removed and those it has yet to (expired keys are invisible
    /// at once).
    pub fn recently_expired(&self, now: Instant) -> Vec<ExpiredKey> {
        let info =
            |name: &str, blob: &[u8], origin: Origin, lifetime: Duration, at: Instant| ExpiredKey {
                name: name.to_owned(),
                key_blob: blob.to_vec(),
                origin: origin.as_str().to_owned(),
                // Lifetimes are whole seconds; `added_at` is a moment after
                // the caller computed the expiry.
                lifetime_secs: lifetime
                    .as_millis()
                    .div_ceil(1000)
                    .try_into()
                    .unwrap_or(u64::MAX),
                expired_secs_ago: now.saturating_duration_since(at).as_secs(),
            };
        let wall = (self.wall)();
        let mut out: Vec<(Instant, ExpiredKey)> = self
            .read()
            .iter()
            .filter(|k| !live(k, now, wall))
            .map(|k| {
                let at = k.expires_at.unwrap_or(now);
                let lifetime = at.saturating_duration_since(k.added_at);
                let blob = ed25519_blob(&k.public);
                (at, info(&k.name, &blob, k.origin, lifetime, at))
            })
            .collect();
        let mut expired = self.expired.lock().unwrap_or_else(|p| p.into_inner());
        expired.retain(|e| now.saturating_duration_since(e.at) < EXPIRED_FOR);
        out.extend(
            expired
                .iter()
                .map(|e| (e.at, info(&e.name, &e.blob, e.origin, e.lifetime, e.at))),
        );
        out.sort_by_key(|k| std::cmp::Reverse(k.0));
        out.into_iter().map(|(_, k)| k).collect()
    }

    /// Forgets every remembered yes of every key (`signet lock`).
    pub fn forget_approvals(&self) {
        for k in self.read().iter() {
            k.forget_approvals();
        }
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

    use ed25519_dalek::SigningKey;

    fn key(seed: u8, name: &str, expires_at: Option<Instant>) -> LoadedKey {
        let s = [seed; 32];
        let public = SigningKey::from_bytes(&s).verifying_key().to_bytes();
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
            assert_eq!(k.sign(msg).ok(), Some(reference.sign(msg).to_bytes()));
        }
    }

    #[test]
    fn wrong_public_is_refused() {
        let s = [1u8; 32];
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
    async fn expired_keys_are_remembered_until_loaded_again() {
        let t = KeyTable::default();
        let start = Instant::now();
        t.add(key(1, "short", Some(start + Duration::from_secs(5))));
        tokio::time::advance(Duration::from_secs(6)).await;
        // Not reaped yet: already reported.
        let e = t.recently_expired(Instant::now());
        assert_eq!(e.len(), 1);
        assert_eq!(
            (
                e[0].name.as_str(),
                e[0].lifetime_secs,
                e[0].expired_secs_ago
            ),
            ("short", 5, 1)
        );
        t.reap(Instant::now());
        tokio::time::advance(Duration::from_secs(60)).await;
        let e = t.recently_expired(Instant::now());
        assert_eq!(
            (e.len(), e[0].expired_secs_ago, e[0].origin.as_str()),
            (1, 61, "agent")
        );
        // Loaded again: no longer expired.
        t.add(key(1, "short", None));
        assert!(t.recently_expired(Instant::now()).is_empty());
        // Forgotten after a day.
        t.add(key(2, "day", Some(Instant::now() + Duration::from_secs(1))));
        tokio::time::advance(Duration::from_secs(2)).await;
        t.reap(Instant::now());
        assert_eq!(t.recently_expired(Instant::now()).len(), 1);
        tokio::time::advance(EXPIRED_FOR).await;
        assert!(t.recently_expired(Instant::now()).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_yes_lasts_for_that_process_only_and_until_forgotten() {
        let k = key(1, "c", None).with_remember(Some(Duration::from_secs(600)));
        let me = ProcessIdentity::for_test(10, 1000, "/usr/bin/python3");
        let same_pid_other_start = ProcessIdentity::for_test(10, 2000, "/usr/bin/python3");
        let same_pid_other_exe = ProcessIdentity::for_test(10, 1000, "/usr/bin/sleep");
        let now = Instant::now();
        assert!(!k.approved(&me, now));
        k.approve(me.clone(), now + Duration::from_secs(600));
        assert!(k.approved(&me, now));
        assert!(!k.approved(&same_pid_other_start, now));
        assert!(!k.approved(&same_pid_other_exe, now));
        tokio::time::advance(Duration::from_secs(599)).await;
        assert!(k.approved(&me, Instant::now()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!k.approved(&me, Instant::now()));
        k.approve(me.clone(), Instant::now() + Duration::from_secs(600));
        k.forget_approvals();
        assert!(!k.approved(&me, Instant::now()));
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
