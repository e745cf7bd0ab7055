//! The vault's unit tests, over the in-memory store.

use super::*;
use crate::hardening::SecretBuf;
use crate::store::backend::memory::MemoryStore;
use signet_proto::Ed25519Seed;

fn bytes(b: Option<SecretBuf>) -> Option<Vec<u8>> {
    b.map(|b| b.as_slice().to_vec())
}

fn vault() -> (tempfile::TempDir, Arc<MemoryStore>, Vault) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let store = Arc::new(MemoryStore::default());
    let v = Vault::with_store(store.clone(), dir.path().join("keys.toml"));
    (dir, store, v)
}

fn seed(b: u8) -> ([u8; 32], [u8; 32]) {
    let s = [b; 32];
    let p = public_of(&s);
    (s, p)
}

#[test]
fn create_find_rename_delete() -> Result<(), VaultError> {
    let (_d, store, v) = vault();
    let (s, p) = seed(1);
    let e = v.create("ci", "", &s, p)?;
    assert_eq!(e.state, State::Active);
    assert_eq!(e.comment, "ci");
    assert_eq!(bytes(store.get(&key_id(&p))?), Some(s.to_vec()));
    assert_eq!(v.find(&key_id(&p))?.name, "ci");
    assert_eq!(v.find(&e.fingerprint)?.name, "ci");
    // Duplicates: same key, or same name.
    let dup = v.create("other", "", &s, p).err().map(|e| e.to_string());
    assert!(dup.unwrap_or_default().contains("\"ci\""));
    let (s2, p2) = seed(2);
    assert!(matches!(
        v.create("ci", "", &s2, p2),
        Err(VaultError::Exists(_))
    ));
    // Wrong public key.
    assert!(v.create("x", "", &s2, p).is_err());
    let (_, renamed) = v.rename("ci", "deploy")?;
    assert_eq!(renamed.name, "deploy");
    assert_eq!(**v.secret(&renamed, None)?, s);
    assert!(matches!(v.find("ci"), Err(VaultError::NoSuchKey(_))));
    v.delete("deploy")?;
    assert!(store.get(&key_id(&p))?.is_none());
    assert!(v.entries()?.is_empty());
    Ok(())
}

#[test]
fn names_are_checked() {
    for bad in [
        "",
        "a b",
        "-x",
        ".x",
        &"a".repeat(65),
        &"ab".repeat(32),
        "x/y",
    ] {
        assert!(check_name(bad).is_err(), "{bad:?}");
    }
    for good in ["ci-bot", "a.b_c@d+e", "Z9"] {
        assert!(check_name(good).is_ok(), "{good:?}");
    }
}

#[test]
fn doctor_finishes_and_undoes_interrupted_operations() -> Result<(), VaultError> {
    let (_d, store, v) = vault();
    let (s1, p1) = seed(1);
    let (s2, p2) = seed(2);
    let (s3, p3) = seed(3);
    let (_s4, p4) = seed(4);
    let mk = |name: &str, p: [u8; 32], state| Entry {
        name: name.into(),
        comment: name.into(),
        key_id: key_id(&p),
        fingerprint: fingerprint(&ed25519_blob(&p)),
        created_at: rfc3339(0),
        store: "memory".into(),
        state,
    };
    // 1: pending, secret stored (crash after put) → active.
    // 2: pending, secret never stored (crash before put) → dropped.
    // 3: removing, secret still there (crash after tombstone) → deleted.
    // 4: active, secret gone → reported; dropped with --fix.
    // 5: secret with no entry → recovered.
    store.put(&key_id(&p1), &s1)?;
    store.put(&key_id(&p3), &s3)?;
    let (s5, p5) = seed(5);
    store.put(&key_id(&p5), &s5)?;
    v.index.save(&IndexFile {
        keys: vec![
            mk("one", p1, State::Pending),
            mk("two", p2, State::Pending),
            mk("three", p3, State::Removing),
            mk("four", p4, State::Active),
        ],
        ..IndexFile::default()
    })?;
    let _ = s2;
    let _ = Ed25519Seed::zeroed();
    let r = v.doctor(true, false, None)?;
    assert_eq!(r.remaining, 1, "{r:?}");
    let names: Vec<String> = v.entries()?.into_iter().map(|e| e.name).collect();
    let recovered = format!("recovered-{}", &key_id(&p5)[..8]);
    assert_eq!(names, vec!["one".to_string(), "four".into(), recovered]);
    assert_eq!(v.find("one")?.state, State::Active);
    assert!(store.get(&key_id(&p3))?.is_none());
    // Nothing is lost: every secret that was stored is still there.
    assert_eq!(bytes(store.get(&key_id(&p1))?), Some(s1.to_vec()));
    assert_eq!(bytes(store.get(&key_id(&p5))?), Some(s5.to_vec()));
    let r = v.doctor(true, true, None)?;
    assert_eq!(r.remaining, 0, "{r:?}");
    assert!(matches!(v.find("four"), Err(VaultError::NoSuchKey(_))));
    let r = v.doctor(true, false, None)?;
    assert!(r.findings.is_empty(), "{r:?}");
    Ok(())
}

/// A store that is down: every call fails as unavailable.
struct DownStore;

impl KeyStore for DownStore {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn put(&self, _: &str, _: &[u8]) -> Result<(), StoreError> {
        Err(down())
    }
    fn get(&self, _: &str) -> Result<Option<SecretBuf>, StoreError> {
        Err(down())
    }
    fn delete(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
    fn list(&self) -> Result<Option<Vec<String>>, StoreError> {
        Err(down())
    }
}

fn down() -> StoreError {
    StoreError::Unavailable {
        store: "memory",
        detail: "gone".into(),
        fix: "restart it".into(),
    }
}

#[test]
fn a_dead_connection_is_replaced_and_the_call_retried() -> Result<(), VaultError> {
    // The cached store is dead; reopening `Backend::Memory` gives a
    // working one (as a restarted Secret Service would): the operation
    // succeeds on the fresh connection, and later ones use it.
    let dir = tempfile::tempdir().map_err(|e| VaultError::BadName(e.to_string()))?;
    let v = Vault::with_store(Arc::new(DownStore), dir.path().join("keys.toml"));
    let (s, p) = seed(9);
    let e = v.create("k", "", &s, p)?;
    assert_eq!(**v.secret(&e, None)?, s);
    assert_eq!(v.doctor(true, false, None)?.remaining, 0);
    Ok(())
}

#[test]
fn a_store_that_stays_down_leaves_the_index_untouched() -> Result<(), VaultError> {
    let (dir, _store, v) = vault();
    let (s, p) = seed(1);
    v.create("first", "", &s, p)?;
    let path = dir.path().join("keys.toml");
    let before = std::fs::read(&path).map_err(|e| VaultError::BadName(e.to_string()))?;
    // Now every store, the reopened one included, is down.
    let down = Vault {
        backend: Backend::Keychain, // not built on Linux: reopening fails too
        ..Vault::with_store(Arc::new(DownStore), path.clone())
    };
    let (s2, p2) = seed(2);
    let err = down
        .create("second", "", &s2, p2)
        .err()
        .map(|e| e.to_string());
    assert!(err
        .unwrap_or_default()
        .contains("unavailable (gone): restart it"));
    assert!(down.delete("first").is_err());
    let after = std::fs::read(&path).map_err(|e| VaultError::BadName(e.to_string()))?;
    assert_eq!(before, after, "the index changed");
    Ok(())
}

#[test]
fn secret_of_missing_key_says_what_to_do() -> Result<(), VaultError> {
    let (_d, store, v) = vault();
    let (s, p) = seed(7);
    let e = v.create("k", "", &s, p)?;
    store.delete(&e.key_id)?;
    let msg = v
        .secret(&e, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("doctor --fix"), "{msg}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Sealed stores.

use crate::store::backend::{STORE_KEY_ACCOUNT, STORE_KEY_NEXT_ACCOUNT};

/// The cheapest Argon2id cost `store::seal` accepts: the format is the same.
const CHEAP: KdfParams = KdfParams {
    m_kib: 8 * 1024,
    t: 1,
    p: 1,
};

fn sealed_vault() -> (tempfile::TempDir, Arc<MemoryStore>, Vault) {
    let (d, store, v) = vault();
    (d, store, v.sealing_with(SealMode::Passphrase, CHEAP))
}

fn err<T>(r: Result<T, VaultError>) -> VaultError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn a_sealed_store_keeps_no_seed_in_the_clear() -> Result<(), VaultError> {
    let (_d, store, v) = sealed_vault();
    let (s, p) = seed(1);
    // No passphrase yet: nothing is stored in the clear instead.
    assert!(matches!(
        err(v.create("k", "", &s, p)),
        VaultError::NotSetUp { .. }
    ));
    assert!(v.entries()?.is_empty());
    let (key, _) = v.set_up(b"pw")?;
    assert!(v.is_sealed());
    let e = v.create("k", "", &s, p)?;
    let at_rest = bytes(store.get(&e.key_id)?).unwrap_or_default();
    assert_eq!(seal::classify(&at_rest), Kind::Sealed);
    assert!(
        !at_rest.windows(32).any(|w| w == s),
        "the seed is in the keyring"
    );
    // Loading needs the store key; with it, the seed comes back.
    assert!(matches!(
        err(v.secret(&e, None)),
        VaultError::StoreLocked { .. }
    ));
    assert_eq!(**v.secret(&e, Some(&key))?, s);
    // The wrapped store key opens with the passphrase only.
    assert!(matches!(
        err(v.unlock(b"nope")),
        VaultError::WrongPassphrase
    ));
    let again = v.unlock(b"pw")?;
    assert_eq!(**v.secret(&e, Some(&again))?, s);
    // The index names the store key's public half, nothing secret.
    let text = std::fs::read_to_string(v.index_path()).unwrap_or_default();
    assert!(
        text.contains("version = 2") && text.contains(&key.recipient().hex()),
        "{text}"
    );
    assert_eq!(v.doctor(true, false, Some(&key))?.remaining, 0);
    Ok(())
}

#[test]
fn new_keys_are_sealed_only_to_a_store_key_an_unlock_proved() -> Result<(), VaultError> {
    let (dir, store, v) = sealed_vault();
    v.set_up(b"pw")?;
    // A new daemon over the same store and index: not pinned yet.
    let fresh = Vault::with_store(store.clone(), dir.path().join("keys.toml"))
        .sealing_with(SealMode::Passphrase, CHEAP);
    let (s, p) = seed(2);
    assert!(matches!(
        err(fresh.create("k", "", &s, p)),
        VaultError::StoreLocked { .. }
    ));
    // Someone replaces the store key's public half in the index: the pinned
    // one (from the unlock) no longer matches, and nothing is sealed to it.
    fresh.unlock(b"pw")?;
    let attacker = StoreKey::generate().map_err(|e| VaultError::Memory(e.to_string()))?;
    fresh.index.update(|f| {
        if let Some(s) = f.sealing.as_mut() {
            s.recipient = attacker.recipient().hex();
        }
        Ok::<_, VaultError>(())
    })?;
    assert!(matches!(
        err(fresh.create("k", "", &s, p)),
        VaultError::StoreKeyMismatch { .. }
    ));
    assert!(matches!(
        err(fresh.unlock(b"pw")),
        VaultError::StoreKeyMismatch { .. }
    ));
    Ok(())
}

#[test]
fn keys_in_the_clear_are_refused_then_sealed_by_the_unlock() -> Result<(), VaultError> {
    // A store written before sealing: two clear seeds.
    let (dir, store, plain) = vault();
    let (s1, p1) = seed(1);
    let (s2, p2) = seed(2);
    let e1 = plain.create("one", "", &s1, p1)?;
    plain.create("two", "", &s2, p2)?;
    // The same store under `seal = "passphrase"`.
    let v = Vault::with_store(store.clone(), dir.path().join("keys.toml"))
        .sealing_with(SealMode::Passphrase, CHEAP);
    assert!(matches!(
        err(v.secret(&e1, None)),
        VaultError::NotSetUp { .. }
    ));
    let (key, _) = v.set_up(b"pw")?;
    // Before the migration: refused, naming the key and what to do.
    let msg = err(v.secret(&e1, Some(&key))).to_string();
    assert!(
        msg.contains("\"one\"") && msg.contains("signet doctor"),
        "{msg}"
    );
    let r = v.doctor(true, false, None)?;
    assert_eq!(r.remaining, 2, "{r:?}");
    let report = v.migrate(&key)?;
    assert_eq!(report.sealed, vec!["one".to_string(), "two".into()]);
    assert!(report.problems.is_empty());
    for id in [key_id(&p1), key_id(&p2)] {
        let b = bytes(store.get(&id)?).unwrap_or_default();
        assert_eq!(seal::classify(&b), Kind::Sealed);
    }
    assert_eq!(**v.secret(&e1, Some(&key))?, s1);
    // Nothing left to seal; doctor agrees.
    assert!(v.migrate(&key)?.sealed.is_empty());
    assert_eq!(v.doctor(true, false, Some(&key))?.remaining, 0);
    Ok(())
}

#[test]
fn doctor_finishes_a_migration_while_unlocked() -> Result<(), VaultError> {
    let (_d, store, v) = sealed_vault();
    let (key, _) = v.set_up(b"pw")?;
    let (s, p) = seed(3);
    let e = v.create("k", "", &s, p)?;
    // As if a migration had been interrupted before this entry.
    store.put(&e.key_id, &s)?;
    let r = v.doctor(true, false, Some(&key))?;
    assert_eq!(r.remaining, 0, "{r:?}");
    assert!(r.findings.iter().any(|f| f.contains("sealed it")), "{r:?}");
    assert_eq!(**v.secret(&e, Some(&key))?, s);
    Ok(())
}

#[test]
fn passwd_rewraps_only_the_store_key_and_survives_interruption() -> Result<(), VaultError> {
    let (_d, store, v) = sealed_vault();
    let (key, _) = v.set_up(b"old")?;
    let (s, p) = seed(4);
    let e = v.create("k", "", &s, p)?;
    let sealed_before = bytes(store.get(&e.key_id)?);
    assert!(matches!(
        err(v.passwd(b"wrong", b"new")),
        VaultError::WrongPassphrase
    ));
    assert!(matches!(
        err(v.passwd(b"old", b"")),
        VaultError::BadPassphrase(_)
    ));
    let after = v.passwd(b"old", b"new")?;
    assert_eq!(after.recipient(), key.recipient());
    // The key's entry is untouched; only the new passphrase opens the store.
    assert_eq!(bytes(store.get(&e.key_id)?), sealed_before);
    assert!(matches!(err(v.unlock(b"old")), VaultError::WrongPassphrase));
    assert_eq!(**v.secret(&e, Some(&v.unlock(b"new")?))?, s);
    assert!(store.get(STORE_KEY_NEXT_ACCOUNT)?.is_none());

    // Interrupted after `.next` was written (the main entry still old):
    // the old passphrase opens it and drops `.next`...
    let next = after
        .wrap(b"newer", CHEAP)
        .map_err(|e| VaultError::Memory(e.to_string()))?;
    store.put(STORE_KEY_NEXT_ACCOUNT, &next)?;
    v.unlock(b"new")?;
    assert!(store.get(STORE_KEY_NEXT_ACCOUNT)?.is_none());
    // ... or the new one opens it and finishes the change.
    store.put(STORE_KEY_NEXT_ACCOUNT, &next)?;
    let r = v.doctor(true, false, None)?;
    assert!(r.findings.iter().any(|f| f.contains("passwd")), "{r:?}");
    assert_eq!(r.remaining, 0);
    v.unlock(b"newer")?;
    assert!(store.get(STORE_KEY_NEXT_ACCOUNT)?.is_none());
    assert_eq!(bytes(store.get(STORE_KEY_ACCOUNT)?), Some(next));
    assert!(matches!(err(v.unlock(b"new")), VaultError::WrongPassphrase));
    Ok(())
}

#[test]
fn an_interrupted_set_up_is_finished_or_undone() -> Result<(), VaultError> {
    let (_d, store, v) = sealed_vault();
    v.set_up(b"pw")?;
    let record = v.sealing()?;
    // Crash before the store key was put: [sealing] pending, no entry.
    store.delete(STORE_KEY_ACCOUNT)?;
    v.index.update(|f| {
        if let Some(s) = f.sealing.as_mut() {
            s.state = State::Pending;
        }
        Ok::<_, VaultError>(())
    })?;
    let r = v.doctor(false, false, None)?;
    assert!(
        r.findings.iter().any(|f| f.contains("never stored")),
        "{r:?}"
    );
    assert!(v.sealing()?.is_none());
    assert!(std::fs::read_to_string(v.index_path())
        .unwrap_or_default()
        .contains("version = 1"));
    // Crash after the put: the entry is there with the recorded public half.
    let (key, _) = v.set_up(b"pw")?;
    v.index.update(|f| {
        if let Some(s) = f.sealing.as_mut() {
            s.state = State::Pending;
        }
        Ok::<_, VaultError>(())
    })?;
    let r = v.doctor(false, false, None)?;
    assert!(r.findings.iter().any(|f| f.contains("finished")), "{r:?}");
    assert_eq!(v.unlock(b"pw")?.recipient(), key.recipient());
    // A store key the index does not name is adopted, never overwritten.
    v.index.update(|f| {
        f.set_sealing(None);
        Ok::<_, VaultError>(())
    })?;
    let wrapped = bytes(store.get(STORE_KEY_ACCOUNT)?);
    // Setting up again adopts it and unlocks it with the passphrase given:
    // the wrong one is refused, the right one opens it; never a new key.
    assert!(matches!(
        err(v.set_up(b"other")),
        VaultError::WrongPassphrase
    ));
    assert_eq!(bytes(store.get(STORE_KEY_ACCOUNT)?), wrapped);
    let (again, made) = v.set_up(b"pw")?;
    assert!(!made);
    assert_eq!(again.recipient(), key.recipient());
    let _ = record;
    Ok(())
}

#[test]
fn damaged_foreign_and_newer_entries_are_named_and_kept() -> Result<(), VaultError> {
    let (_d, store, v) = sealed_vault();
    let (key, _) = v.set_up(b"pw")?;
    let (s, p) = seed(5);
    let e = v.create("k", "", &s, p)?;
    let good = bytes(store.get(&e.key_id)?).unwrap_or_default();
    let check = |bytes: Vec<u8>, needle: &str| -> Result<(), VaultError> {
        store.put(&e.key_id, &bytes)?;
        let msg = err(v.secret(&e, Some(&key))).to_string();
        assert!(msg.contains("\"k\"") && msg.contains(needle), "{msg}");
        // Nothing was deleted or overwritten.
        assert_eq!(self::bytes(store.get(&e.key_id)?), Some(bytes));
        assert_eq!(v.doctor(true, false, Some(&key))?.remaining, 1);
        Ok(())
    };
    let mut damaged = good.clone();
    damaged[50] ^= 0x40;
    check(damaged, "checksum")?;
    let other = StoreKey::generate().map_err(|e| VaultError::Memory(e.to_string()))?;
    check(
        seal::seal(&other.recipient(), &e.key_id, &s)
            .map_err(|e| VaultError::Memory(e.to_string()))?,
        "another store key",
    )?;
    let mut newer = b"signet:sealed:7\n".to_vec();
    newer.extend_from_slice(&[0; 100]);
    check(newer, "upgrade signet")?;
    store.put(&e.key_id, &good)?;
    assert_eq!(**v.secret(&e, Some(&key))?, s);
    Ok(())
}

#[test]
fn own_secrets_are_sealed_and_never_listed() -> Result<(), VaultError> {
    let (_d, store, v) = sealed_vault();
    let (key, _) = v.set_up(b"pw")?;
    let (made, new) = v.own_secret("signetd-audit-x", Some(&key), |b| b.fill(9))?;
    assert!(new);
    assert_eq!(**made, [9; 32]);
    let at_rest = bytes(store.get("signetd-audit-x")?).unwrap_or_default();
    assert_eq!(seal::classify(&at_rest), Kind::Sealed);
    let (again, new) = v.own_secret("signetd-audit-x", Some(&key), |_| panic!("made twice"))?;
    assert!(!new);
    assert_eq!(**again, [9; 32]);
    assert!(matches!(
        err(v.own_secret("signetd-audit-x", None, |_| {})),
        VaultError::StoreLocked { .. }
    ));
    assert!(v.entries()?.is_empty());
    assert!(v.doctor(true, true, Some(&key))?.findings.is_empty());
    assert!(v.own_secret(&"ab".repeat(32), Some(&key), |_| {}).is_err());
    Ok(())
}
