//! Sealed key stores (issue 16), against the real kernel keyring and a real
//! gnome-keyring (`dbus-run-session`), read as same-user malware would read
//! them (`keyctl pipe`, `secret-tool lookup`): what they hold is not a
//! seed and no part of it signs as the key; `unlock-store` then `load`
//! signs; after the idle timeout `load` asks again; a wrong passphrase,
//! damaged, foreign, older and newer entries are each named with the next
//! step and nothing is lost; `passwd` rewraps only the store key; a store
//! written before sealing is sealed by its first unlock; `kill -9` at every
//! step (and at random moments) of sealing, unsealing, `passwd` and
//! migration loses nothing; `import --remove-source` refuses a link, a
//! hard-linked file and (without `--force`) a store that forgets at reboot;
//! and signetd's memory, read as root, holds the seed only in locked pages
//! while the key is loaded and nowhere after unload, remove --all or delete.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::keystore_common::*;
use serde_json::Value;
use sha2::Digest as _;
use signet_tests::keystore::{Store, StoreAgent, STORE_PASSPHRASE};
use signet_tests::memscan;

const STORE_KEY: &str = "signet-store-key";
const STORE_KEY_NEXT: &str = "signet-store-key.next";

/// A key file with a known seed, imported as `name`.
fn import_known(agent: &StoreAgent, name: &str) -> (PathBuf, [u8; 32], [u8; 32]) {
    let file = keygen(&agent.dir().join("keys"), name, "ed25519", "");
    let (seed, public) = signet_tests::read_ed25519_private(&file);
    agent
        .signet([
            "import".as_ref(),
            file.as_os_str(),
            "--name".as_ref(),
            name.as_ref(),
        ])
        .assert_ok();
    (file, seed, public)
}

fn generate(agent: &StoreAgent, name: &str) -> [u8; 32] {
    let r = agent.signet(["generate", name]);
    r.assert_ok();
    public_of_line(r.stdout.trim())
}

fn id(public: &[u8; 32]) -> String {
    hex::encode(public)
}

fn store_status(agent: &StoreAgent) -> Value {
    let r = agent.signet(["status", "--json"]);
    r.assert_ok();
    let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}:\n{r}"));
    doc["store"].clone()
}

fn write_config(agent: &StoreAgent, text: &str) {
    std::fs::create_dir_all(agent.config_dir()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(agent.config_dir().join("config.toml"), text).unwrap_or_else(|e| panic!("{e}"));
}

fn remove_config(agent: &StoreAgent) {
    let _ = std::fs::remove_file(agent.config_dir().join("config.toml"));
}

/// `signet unlock-store` with `passphrase` on stdin.
fn unlock_with(agent: &StoreAgent, passphrase: &str) -> signet_tests::Run {
    agent.signet_input(
        ["unlock-store", "--passphrase-stdin"],
        format!("{passphrase}\n").as_bytes(),
    )
}

fn ciphertext_only(store: Store) {
    let mut agent = StoreAgent::start(store);
    let made = generate(&agent, "made");
    let (_file, seed, imported) = import_known(&agent, "imported");
    for (public, seed) in [(made, None), (imported, Some(&seed))] {
        let bytes = agent
            .entry_bytes(&id(&public))
            .unwrap_or_else(|| panic!("no keyring entry for {}", id(&public)));
        assert!(bytes.starts_with(b"signet:sealed:1\n"), "{bytes:?}");
        assert_not_a_usable_seed(&bytes, &public, seed);
    }
    // The store key's entry: wrapped, the passphrase nowhere in it.
    let wrapped = agent.entry_bytes(STORE_KEY).unwrap_or_default();
    assert!(wrapped.starts_with(b"signet:store-key:1\n"), "{wrapped:?}");
    assert!(!wrapped
        .windows(STORE_PASSPHRASE.len())
        .any(|w| w == STORE_PASSPHRASE.as_bytes()));
    // The index names the store key's public half only.
    let index = agent.index_text();
    assert!(
        index.contains("[sealing]") && index.contains("argon2id"),
        "{index}"
    );
    // Unlocked: load signs.
    agent.signet(["load", "made", "imported"]).assert_ok();
    sign_and_verify(&agent, "made", &made);
    sign_and_verify(&agent, "imported", &imported);
    // A new daemon: the store is locked; load says what to do, changes nothing.
    let before = agent.entry_bytes(&id(&made));
    agent.restart_locked(&[]);
    assert_eq!(store_status(&agent)["sealing"], "locked");
    let r = agent.signet(["load", "made"]);
    r.assert_code(4);
    assert!(r.stderr.contains("signet unlock-store"), "{r}");
    assert_eq!(agent.entry_bytes(&id(&made)), before);
    agent.unlock_store().assert_ok();
    agent.signet(["load", "--all"]).assert_ok();
    sign_and_verify(&agent, "made", &made);
    sign_and_verify(&agent, "imported", &imported);
    agent.signet(["doctor"]).assert_ok();
}

#[test]
fn the_kernel_keyring_holds_ciphertext_only() {
    ciphertext_only(Store::Keyutils);
}

#[test]
fn the_secret_service_holds_ciphertext_only() {
    ciphertext_only(Store::SecretService);
}

/// An askpass program that answers `answer` and counts its runs in a file.
fn counting_askpass(dir: &Path, answer: &str) -> (PathBuf, PathBuf) {
    let count = dir.join("askpass.count");
    let script = dir.join("askpass.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> '{}'\nprintf '%s\\n' '{answer}'\n",
            count.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    signet_tests::chmod(&script, 0o700);
    (script, count)
}

fn runs(count: &Path) -> usize {
    std::fs::read_to_string(count)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn unlock_once_then_load_until_the_idle_timeout_then_load_asks_again() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    write_config(
        &agent,
        "[store]\nunlock_idle = \"2s\"\nunlock_max = \"1h\"\n",
    );
    agent.restart(&[]);
    let public = generate(&agent, "k");
    agent.signet(["load", "k"]).assert_ok();
    sign_and_verify(&agent, "k", &public);
    let st = store_status(&agent);
    assert_eq!(st["sealing"], "unlocked", "{st}");
    // Idle for the timeout: the reaper locks the store; the key stays loaded.
    signet_tests::wait_for(Duration::from_secs(10), "the store to lock again", || {
        (store_status(&agent)["sealing"] == "locked").then_some(())
    });
    sign_and_verify(&agent, "k", &public);
    assert!(agent.log().contains("its unlock timed out"));
    agent.signet(["unload", "k"]).assert_ok();
    // No terminal, no askpass: refused with the next step (exit 4).
    let r = agent.signet(["load", "k"]);
    r.assert_code(4);
    assert!(r.stderr.contains("unlock-store"), "{r}");
    // With an askpass program: load asks once, then loads.
    let (askpass, count) = counting_askpass(agent.dir(), STORE_PASSPHRASE);
    let load = |agent: &StoreAgent| {
        let mut cmd = agent.signet_command();
        cmd.env("SIGNET_ASKPASS", &askpass).args(["load", "k"]);
        signet_tests::run(&mut cmd)
    };
    let r = load(&agent);
    r.assert_ok();
    assert_eq!(runs(&count), 1, "{r}");
    sign_and_verify(&agent, "k", &public);
    // Within the idle time it does not ask again.
    agent.signet(["unload", "k"]).assert_ok();
    load(&agent).assert_ok();
    assert_eq!(runs(&count), 1);
    // SIGUSR1 drops the keys and locks the store.
    let pid = agent.daemon_pid();
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::USR1);
    }
    signet_tests::wait_for(signet_tests::DEADLINE, "SIGUSR1", || {
        (store_status(&agent)["sealing"] == "locked").then_some(())
    });
    // lock-store: loaded keys stay.
    agent.unlock_store().assert_ok();
    agent.signet(["load", "k"]).assert_ok();
    let r = agent.signet(["lock-store"]);
    r.assert_ok();
    assert!(r.stderr.contains("loaded keys stay loaded"), "{r}");
    sign_and_verify(&agent, "k", &public);
    assert_eq!(store_status(&agent)["sealing"], "locked");
}

#[test]
fn a_wrong_passphrase_is_refused_changes_nothing_and_backs_off() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    let public = generate(&agent, "k");
    agent.restart_locked(&[]);
    let index = agent.index_text();
    let entry = agent.entry_bytes(&id(&public));
    let wrapped = agent.entry_bytes(STORE_KEY);
    for n in 1..=3 {
        let r = unlock_with(&agent, "not the passphrase");
        r.assert_code(1);
        assert!(
            r.stderr.contains("wrong passphrase") && r.stderr.contains("nothing was changed"),
            "{r}"
        );
        // Each failure is counted (the delay before the next answer grows
        // with it: unit-tested on a paused clock in agent/store_key.rs).
        let counted = format!("failures={n}");
        signet_tests::wait_for(signet_tests::DEADLINE, "the failure in the log", || {
            agent
                .log()
                .lines()
                .any(|l| l.contains("wrong passphrase") && l.contains(&counted))
                .then_some(())
        });
    }
    assert_eq!(agent.index_text(), index);
    assert_eq!(agent.entry_bytes(&id(&public)), entry);
    assert_eq!(agent.entry_bytes(STORE_KEY), wrapped);
    assert_eq!(store_status(&agent)["sealing"], "locked");
    agent.unlock_store().assert_ok();
    agent.signet(["load", "k"]).assert_ok();
    sign_and_verify(&agent, "k", &public);
}

#[test]
fn damaged_foreign_older_and_newer_entries_are_named_and_kept() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    let public = generate(&agent, "k");
    let (_f, seed, imported) = import_known(&agent, "imp");
    let key_id = id(&public);
    let good = agent.entry_bytes(&key_id).unwrap_or_default();
    // Another store (another service name) with a key of its own.
    let other = StoreAgent::start(Store::Keyutils);
    let theirs = generate(&other, "theirs");
    let foreign = other.entry_bytes(&id(&theirs)).unwrap_or_default();
    let mut damaged = good.clone();
    damaged[60] ^= 0x20;
    let mut newer = b"signet:sealed:2\n".to_vec();
    newer.extend_from_slice(&[7; 140]);
    for (what, bytes, needles) in [
        (
            "damaged",
            damaged,
            &["\"k\"", "checksum", "restore the entry"][..],
        ),
        (
            "foreign",
            foreign,
            &["\"k\"", "another store key", "SIGNET_KEYRING_SERVICE"],
        ),
        ("newer", newer, &["\"k\"", "newer signet", "upgrade signet"]),
    ] {
        agent.keyctl_padd(&key_id, &bytes);
        let r = agent.signet(["load", "k"]);
        r.assert_fail();
        for n in needles {
            assert!(r.stderr.contains(n), "{what}: stderr lacks {n:?}:\n{r}");
        }
        let doctor = agent.signet(["doctor"]);
        doctor.assert_code(1);
        // (doctor's findings are printed escaped: `key \"k\"`.)
        assert!(doctor.stdout.contains(r#"key \"k\""#), "{what}: {doctor}");
        // Nothing deleted, nothing overwritten.
        assert_eq!(agent.entry_bytes(&key_id), Some(bytes), "{what}");
        assert!(agent.list_json().to_string().contains("\"k\""));
    }
    agent.keyctl_padd(&key_id, &good);
    agent.signet(["load", "k"]).assert_ok();
    sign_and_verify(&agent, "k", &public);

    // An entry from before sealing (the seed itself) in a sealed store.
    // While unlocked: refused, naming the key and `signet doctor`, which
    // seals it.
    agent.keyctl_padd(&id(&imported), &seed);
    let r = agent.signet(["load", "imp"]);
    r.assert_fail();
    assert!(
        r.stderr.contains("\"imp\"")
            && r.stderr.contains("in the clear")
            && r.stderr.contains("signet doctor"),
        "{r}"
    );
    assert_eq!(agent.entry_bytes(&id(&imported)), Some(seed.to_vec()));
    let r = agent.signet(["doctor"]);
    r.assert_ok();
    assert!(r.stdout.contains("sealed it"), "{r}");
    let now = agent.entry_bytes(&id(&imported)).unwrap_or_default();
    assert_not_a_usable_seed(&now, &imported, Some(&seed));
    agent.signet(["load", "imp"]).assert_ok();
    sign_and_verify(&agent, "imp", &imported);
    // While locked: refused (the store must be unlocked), unchanged; the
    // unlock seals it.
    agent.signet(["unload", "imp"]).assert_ok();
    agent.keyctl_padd(&id(&imported), &seed);
    agent.signet(["lock-store"]).assert_ok();
    agent.signet(["load", "imp"]).assert_code(4);
    assert_eq!(agent.entry_bytes(&id(&imported)), Some(seed.to_vec()));
    let r = agent.unlock_store();
    r.assert_ok();
    assert!(
        r.stderr
            .contains("sealed 1 key(s) that were stored in the clear: imp"),
        "{r}"
    );
    let now = agent.entry_bytes(&id(&imported)).unwrap_or_default();
    assert_not_a_usable_seed(&now, &imported, Some(&seed));
    agent.signet(["load", "imp"]).assert_ok();
    sign_and_verify(&agent, "imp", &imported);

    // The store key itself: damaged, then another store's.
    let wrapped = agent.entry_bytes(STORE_KEY).unwrap_or_default();
    let mut bad = wrapped.clone();
    bad[30] ^= 1;
    agent.keyctl_padd(STORE_KEY, &bad);
    agent.restart_locked(&[]);
    let r = agent.unlock_store();
    r.assert_fail();
    assert!(
        r.stderr.contains("store key")
            && r.stderr.contains("damaged")
            && r.stderr.contains("nothing was changed"),
        "{r}"
    );
    agent.keyctl_padd(STORE_KEY, &other.entry_bytes(STORE_KEY).unwrap_or_default());
    let r = agent.unlock_store();
    r.assert_fail();
    assert!(
        r.stderr
            .contains("is not the one keys.toml was sealed with"),
        "{r}"
    );
    agent.keyctl_padd(STORE_KEY, &wrapped);
    agent.unlock_store().assert_ok();
    agent.signet(["load", "--all"]).assert_ok();
    sign_and_verify(&agent, "k", &public);
}

/// Keys stored by signet before sealing existed (or with `seal = "none"`):
/// the seed itself in the keyring.
fn store_in_the_clear(store: Store) -> (StoreAgent, Vec<(String, [u8; 32])>) {
    let mut agent = StoreAgent::start_locked(store);
    write_config(&agent, "[store]\nseal = \"none\"\n");
    agent.restart_locked(&[]);
    let a = generate(&agent, "clear-a");
    let (_f, seed, b) = import_known(&agent, "clear-b");
    assert_eq!(
        agent.entry_bytes(&id(&b)),
        Some(seed.to_vec()),
        "not the format before sealing"
    );
    assert_eq!(agent.entry_bytes(&id(&a)).map(|b| b.len()), Some(32));
    remove_config(&agent);
    (agent, vec![("clear-a".into(), a), ("clear-b".into(), b)])
}

fn all_load_and_sign(agent: &StoreAgent, keys: &[(String, [u8; 32])]) {
    agent.signet(["load", "--all"]).assert_ok();
    for (name, public) in keys {
        sign_and_verify(agent, name, public);
        let bytes = agent.entry_bytes(&id(public)).unwrap_or_default();
        assert_not_a_usable_seed(&bytes, public, None);
    }
    agent.signet(["unload", "--all"]).assert_ok();
}

#[test]
fn a_store_from_before_sealing_is_sealed_by_its_first_unlock() {
    let (mut agent, keys) = store_in_the_clear(Store::Keyutils);
    agent.restart_locked(&[]);
    assert_eq!(store_status(&agent)["sealing"], "not set up");
    // Before the passphrase is chosen nothing loads or is stored in the
    // clear, and the message says what to do.
    let r = agent.signet(["load", "clear-a"]);
    r.assert_code(4);
    assert!(
        r.stderr.contains("no passphrase yet") && r.stderr.contains("signet unlock-store"),
        "{r}"
    );
    let r = agent.signet(["generate", "new"]);
    r.assert_code(4);
    assert!(agent.signet(["pubkey", "new"]).code() != Some(0));
    let r = agent.unlock_store();
    r.assert_ok();
    assert!(
        r.stderr
            .contains("sealed 2 key(s) that were stored in the clear"),
        "{r}"
    );
    all_load_and_sign(&agent, &keys);
    agent.signet(["doctor"]).assert_ok();
    let r = agent.signet(["status"]);
    assert!(r.stdout.contains("sealed:  passphrase: unlocked"), "{r}");
}

#[test]
fn passwd_rewraps_the_store_key_only() {
    let mut agent = StoreAgent::start(Store::SecretService);
    let public = generate(&agent, "k");
    let entry = agent.entry_bytes(&id(&public));
    let wrapped = agent.entry_bytes(STORE_KEY);
    // A wrong current passphrase: refused, nothing changed.
    let r = agent.signet_input(["passwd", "--passphrase-stdin"], b"wrong\nnew one\n");
    r.assert_fail();
    assert!(r.stderr.contains("wrong passphrase"), "{r}");
    assert_eq!(agent.entry_bytes(STORE_KEY), wrapped);
    let r = agent.signet_input(
        ["passwd", "--passphrase-stdin"],
        format!("{STORE_PASSPHRASE}\nnew one\n").as_bytes(),
    );
    r.assert_ok();
    assert!(
        r.stderr.contains("the keys themselves were not touched"),
        "{r}"
    );
    assert_eq!(agent.entry_bytes(&id(&public)), entry, "a key was resealed");
    assert_ne!(agent.entry_bytes(STORE_KEY), wrapped);
    assert_eq!(agent.entry_bytes(STORE_KEY_NEXT), None);
    agent.restart_locked(&[]);
    unlock_with(&agent, STORE_PASSPHRASE).assert_fail();
    unlock_with(&agent, "new one").assert_ok();
    agent.signet(["load", "k"]).assert_ok();
    sign_and_verify(&agent, "k", &public);
}

/// After a crash: `doctor` finds nothing missing or damaged; one of
/// `passphrases` unlocks the store (finishing whatever was interrupted),
/// after which `doctor` passes and every key loads and signs, sealed.
fn nothing_lost(
    agent: &mut StoreAgent,
    keys: &[(String, [u8; 32])],
    passphrases: &[&str],
    what: &str,
) {
    agent.restart_locked(&[]);
    let r = agent.signet(["doctor"]);
    for bad in ["missing", "damaged", "does not open", "another store key"] {
        assert!(
            !r.stdout.contains(bad) && !r.stderr.contains(bad),
            "{what}: {bad}:\n{r}"
        );
    }
    let sealing = store_status(agent)["sealing"].clone();
    let opened = passphrases
        .iter()
        .any(|p| unlock_with(agent, p).status.success());
    assert!(
        opened,
        "{what}: no passphrase opens the store ({sealing})\n{}",
        agent.log()
    );
    let r = agent.signet(["doctor"]);
    r.assert_ok();
    assert!(
        !agent.index_text().contains("pending") && !agent.index_text().contains("removing"),
        "{what}: {}",
        agent.index_text()
    );
    all_load_and_sign(agent, keys);
}

fn crash(agent: &mut StoreAgent, step: &str, args: &[&str], input: &str, unlocked: bool) {
    if unlocked {
        agent.restart(&[("SIGNET_FAULT", step)]);
    } else {
        agent.restart_locked(&[("SIGNET_FAULT", step)]);
    }
    let r = agent.signet_input(args, input.as_bytes());
    assert!(!r.status.success(), "{step}: survived the fault:\n{r}");
    let status = agent.wait_exit();
    assert!(!status.success(), "{step}: signetd did not crash");
}

#[test]
fn a_crash_at_each_step_of_sealing_migration_and_passwd_loses_nothing() {
    let unlock = ["unlock-store", "--passphrase-stdin"];
    let unlock_input = format!("{STORE_PASSPHRASE}\n");
    // Sealing a store of clear keys, and sealing the keys (migration).
    for step in [
        "after-sealing-pending",
        "after-store-key-put",
        "after-sealing-commit",
        "after-migrate-put",
    ] {
        let (mut agent, keys) = store_in_the_clear(Store::Keyutils);
        crash(&mut agent, step, &unlock, &unlock_input, false);
        nothing_lost(&mut agent, &keys, &[STORE_PASSPHRASE], step);
    }
    // passwd: either the old passphrase or the new one opens the store,
    // never neither; the keys are never touched.
    for step in ["after-passwd-next", "after-passwd-put"] {
        let mut agent = StoreAgent::start(Store::Keyutils);
        let a = generate(&agent, "a");
        let keys = vec![("a".to_owned(), a)];
        crash(
            &mut agent,
            step,
            &["passwd", "--passphrase-stdin"],
            &format!("{STORE_PASSPHRASE}\nthe new one\n"),
            true,
        );
        assert!(
            agent.entry_bytes(STORE_KEY_NEXT).is_some(),
            "{step}: no .next"
        );
        nothing_lost(&mut agent, &keys, &["the new one", STORE_PASSPHRASE], step);
        assert!(
            agent.entry_bytes(STORE_KEY_NEXT).is_none(),
            "{step}: .next left"
        );
    }
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read as _;
        let _ = f.read_exact(&mut b);
    }
    u64::from_le_bytes(b) % n.max(1)
}

/// Runs `args` and SIGKILLs signetd after a random delay (0 to `within`).
fn kill_during(agent: &mut StoreAgent, args: &[&str], input: &str, within: Duration) -> Duration {
    use std::io::Write as _;
    let pid = agent.daemon_pid();
    let mut cmd = agent.signet_command();
    let mut child = cmd
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let delay = Duration::from_millis(random_below(within.as_millis() as u64));
    std::thread::sleep(delay);
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
    let _ = child.wait();
    agent.wait_exit();
    delay
}

#[test]
fn kill_9_at_random_moments_of_sealing_migration_unsealing_and_passwd_loses_nothing() {
    // Argon2id takes a few hundred milliseconds here: kills fall before,
    // during and after it.
    let within = Duration::from_millis(1500);
    for round in 0..4 {
        // Sealing a store of clear keys (store key, then migration).
        let (mut agent, keys) = store_in_the_clear(Store::Keyutils);
        agent.restart_locked(&[]);
        let at = kill_during(
            &mut agent,
            &["unlock-store", "--passphrase-stdin"],
            &format!("{STORE_PASSPHRASE}\n"),
            within,
        );
        nothing_lost(
            &mut agent,
            &keys,
            &[STORE_PASSPHRASE],
            &format!("seal round {round} at {at:?}"),
        );
        // Unsealing (loading every key) and passwd, on the same store.
        let at = kill_during(
            &mut agent,
            &["load", "--all"],
            "",
            Duration::from_millis(300),
        );
        nothing_lost(
            &mut agent,
            &keys,
            &[STORE_PASSPHRASE],
            &format!("load round {round} at {at:?}"),
        );
        let at = kill_during(
            &mut agent,
            &["passwd", "--passphrase-stdin"],
            &format!("{STORE_PASSPHRASE}\nround {round}\n"),
            within,
        );
        nothing_lost(
            &mut agent,
            &keys,
            &[&format!("round {round}"), STORE_PASSPHRASE],
            &format!("passwd round {round} at {at:?}"),
        );
    }
}

#[test]
fn remove_source_refuses_links_hard_links_and_a_store_that_forgets() {
    let agent = StoreAgent::start(Store::Keyutils);
    let dir = agent.dir().join("keys");
    let file = keygen(&dir, "src", "ed25519", "");
    let bytes = std::fs::read(&file).unwrap_or_default();
    let untouched = |what: &str| {
        assert_eq!(
            std::fs::read(&file).unwrap_or_default(),
            bytes,
            "{what}: file changed"
        );
        assert!(
            agent.keyutils_entries().is_empty(),
            "{what}: something was imported"
        );
    };
    let import = |path: &Path, extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "import".as_ref(),
            path.as_os_str(),
            "--remove-source".as_ref(),
        ];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        agent.signet(args)
    };
    // A symbolic link: removing it would leave the key at its target.
    let link = dir.join("link");
    std::os::unix::fs::symlink(&file, &link).unwrap_or_else(|e| panic!("{e}"));
    let r = import(&link, &["--force"]);
    assert_fails_with(&r, &["symbolic link", "nothing was imported or removed"]);
    assert_eq!(std::fs::read_link(&link).ok(), Some(file.clone()));
    untouched("symlink");
    // A file with another hard link.
    let other = dir.join("other-name");
    std::fs::hard_link(&file, &other).unwrap_or_else(|e| panic!("{e}"));
    let r = import(&file, &["--force"]);
    assert_fails_with(&r, &["2 hard links", "nothing was imported or removed"]);
    assert!(other.exists());
    untouched("hard link");
    std::fs::remove_file(&other).unwrap_or_else(|e| panic!("{e}"));
    // The kernel keyring forgets at reboot: refused without --force.
    let r = import(&file, &[]);
    assert_fails_with(
        &r,
        &[
            "do NOT survive a reboot",
            "--force",
            "nothing was imported or removed",
        ],
    );
    untouched("keyutils without --force");
    // With --force: imported, removed, and the warning given.
    let r = import(&file, &["--force"]);
    r.assert_ok();
    assert!(!file.exists());
    assert!(r.stderr.contains("do NOT survive a reboot"), "{r}");
    // generate says so too.
    let r = agent.signet(["generate", "made"]);
    assert!(
        r.stderr.contains("do NOT survive a reboot") && r.stderr.contains("no other copy"),
        "{r}"
    );

    // A store that persists: no --force needed, no warning.
    let ss = StoreAgent::start(Store::SecretService);
    let f2 = keygen(&ss.dir().join("keys"), "persist", "ed25519", "");
    let r = ss.signet([
        "import".as_ref(),
        f2.as_os_str(),
        "--remove-source".as_ref(),
    ]);
    r.assert_ok();
    assert!(!f2.exists());
    assert!(!r.stderr.contains("reboot"), "{r}");
}

/// SHA-512(seed)'s second half: the part of the expanded key that
/// `LoadedKey` keeps (with the scalar) in its locked page.
fn hash_prefix(seed: &[u8; 32]) -> Vec<u8> {
    sha2::Sha512::digest(seed)[32..].to_vec()
}

fn scan(pid: u32, needles: &[&[u8]]) -> Vec<memscan::Hit> {
    memscan::scan(pid, needles)
}

fn describe(hits: &[memscan::Hit]) -> String {
    hits.iter()
        .map(|h| {
            format!(
                "  needle {} at {:#x} in {} (locked: {})",
                h.needle, h.addr, h.region, h.locked
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn memory_holds_the_seed_only_in_locked_pages(store: Store) {
    let agent = StoreAgent::start(store);
    let pid = agent.daemon_pid();
    let (_f, seed, public) = import_known(&agent, "m");
    let prefix = hash_prefix(&seed);
    let pass = STORE_PASSPHRASE.as_bytes();
    // Imported (sealed, not loaded): the seed nowhere, the passphrase
    // (used by the unlock) nowhere.
    let hits = scan(pid, &[&seed, pass]);
    assert!(
        hits.is_empty(),
        "after import and unlock:\n{}",
        describe(&hits)
    );
    // Loaded: the key only in locked pages, and there.
    agent.signet(["load", "m"]).assert_ok();
    let hits = scan(pid, &[&seed, &prefix, pass]);
    assert!(
        hits.iter().all(|h| h.locked),
        "loaded, outside locked pages:\n{}",
        describe(&hits)
    );
    assert!(
        hits.iter().any(|h| h.needle == 1),
        "the loaded key is not in locked memory at all"
    );
    // The control: the scan does read ordinary memory (the public key, which
    // the key table keeps beside the locked page, is found there).
    let hits = scan(pid, &[&public]);
    assert!(
        hits.iter().any(|h| !h.locked),
        "the scan found nothing outside locked pages"
    );
    sign_and_verify(&agent, "m", &public);
    let hits = scan(pid, &[&seed]);
    assert!(
        hits.iter().all(|h| h.locked),
        "after signing:\n{}",
        describe(&hits)
    );
    // Unloaded: nowhere.
    agent.signet(["unload", "m"]).assert_ok();
    let hits = scan(pid, &[&seed, &prefix]);
    assert!(hits.is_empty(), "after unload:\n{}", describe(&hits));
    // Loaded again and every key removed (`remove --all`, as `ssh-add -D`):
    // nowhere.
    agent.signet(["load", "m"]).assert_ok();
    sign_and_verify(&agent, "m", &public);
    agent.signet(["remove", "--all"]).assert_ok();
    let hits = scan(pid, &[&seed, &prefix]);
    assert!(hits.is_empty(), "after remove --all:\n{}", describe(&hits));
    // Loaded again and deleted: nowhere.
    agent.signet(["load", "m"]).assert_ok();
    agent.signet(["delete", "m", "--yes"]).assert_ok();
    let hits = scan(pid, &[&seed, &prefix]);
    assert!(hits.is_empty(), "after delete:\n{}", describe(&hits));
}

#[test]
fn signetd_memory_holds_the_seed_only_in_locked_pages_kernel_keyring() {
    memory_holds_the_seed_only_in_locked_pages(Store::Keyutils);
}

#[test]
fn signetd_memory_holds_the_seed_only_in_locked_pages_secret_service() {
    memory_holds_the_seed_only_in_locked_pages(Store::SecretService);
}

#[test]
fn an_unlock_reply_says_what_it_did() {
    let (mut agent, _keys) = store_in_the_clear(Store::Keyutils);
    write_config(&agent, "[keys.clear-a]\nautoload = true\n");
    agent.restart_locked(&[]);
    let r = agent.signet_input(
        ["--json", "unlock-store", "--passphrase-stdin"],
        format!("{STORE_PASSPHRASE}\n").as_bytes(),
    );
    r.assert_ok();
    let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}:\n{r}"));
    assert_eq!(doc["created"], true, "{doc}");
    assert_eq!(doc["sealed"].as_array().map(Vec::len), Some(2), "{doc}");
    // The autoloaded key waited for the unlock.
    assert_eq!(doc["loaded"], serde_json::json!(["clear-a"]), "{doc}");
    assert!(
        doc["unlocked_for_secs"].as_u64().is_some_and(|s| s > 3000),
        "{doc}"
    );
}

/// The kernel keyring account holding signetd's audit key seed for `agent`
/// (`signetd-audit-…`), read from `/proc/keys` as any process of the user
/// can.
fn audit_account(agent: &StoreAgent) -> Option<String> {
    let text = std::fs::read_to_string("/proc/keys").unwrap_or_default();
    let suffix = format!("@{}:", agent.service());
    text.lines().find_map(|l| {
        let desc = l.split_whitespace().nth(8)?;
        let (name, _) = desc.split_once(&suffix)?;
        name.strip_prefix("keyring:")
            .filter(|a| a.starts_with("signetd-audit-"))
            .map(str::to_owned)
    })
}

fn audit_key(agent: &StoreAgent) -> Value {
    store_status_doc(agent)["audit"]["audit_key"].clone()
}

fn store_status_doc(agent: &StoreAgent) -> Value {
    let r = agent.signet(["status", "--json"]);
    r.assert_ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}:\n{r}"))
}

#[test]
fn the_audit_key_is_sealed_with_the_keys() {
    let mut agent = StoreAgent::start_locked(Store::Keyutils);
    // No passphrase chosen yet: nothing can seal the audit key, so it is
    // made and kept as keys were before sealing, and the log is sealed.
    let first = audit_key(&agent);
    let hex_key = first
        .as_str()
        .unwrap_or_else(|| panic!("no audit key: {first}"))
        .to_owned();
    let account = audit_account(&agent).unwrap_or_else(|| panic!("no audit key entry"));
    let mut public = [0u8; 32];
    hex::decode_to_slice(&hex_key, &mut public).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(agent.entry_bytes(&account).map(|b| b.len()), Some(32));
    // The first unlock-store seals it in place: the same key, ciphertext at rest.
    agent.unlock_store().assert_ok();
    let sealed = agent.entry_bytes(&account).unwrap_or_default();
    assert!(sealed.starts_with(b"signet:sealed:1\n"), "{sealed:?}");
    assert_not_a_usable_seed(&sealed, &public, None);
    assert_eq!(audit_key(&agent), first);
    // A new daemon with the store locked: the log is chained, not sealed
    // (no key), and nothing was written in the clear.
    agent.restart_locked(&[]);
    assert_eq!(
        audit_key(&agent),
        Value::Null,
        "an audit key while the store is locked"
    );
    assert_eq!(agent.entry_bytes(&account), Some(sealed.clone()));
    let log = agent.log();
    assert!(
        log.contains("sealed from the first `signet unlock-store`"),
        "{log}"
    );
    // The unlock opens it: the same key seals the log from then on.
    agent.unlock_store().assert_ok();
    signet_tests::wait_for(
        signet_tests::DEADLINE,
        "the audit key after the unlock",
        || (audit_key(&agent) == first).then_some(()),
    );
    assert_eq!(agent.entry_bytes(&account), Some(sealed));
    // Every seal is by that one key, and the log verifies.
    let r = agent.signet(["audit", "verify"]);
    assert!(r.status.success(), "{r}\n{}", agent.log());
}
