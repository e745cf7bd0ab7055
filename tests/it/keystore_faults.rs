//! Key store faults (issue #6): the keyring going away under a running
//! daemon (a real gnome-keyring, killed and restarted), the index's file
//! system full or read-only (a real tmpfs), and `signet list` with no agent
//! (issue #4). Each test checks that nothing is lost: the index is left
//! byte-for-byte as it was, the keyring keeps every secret, a loaded key
//! keeps signing, and the store works again once the fault is gone.

use crate::keystore_common::*;
use serde_json::Value;
use signet_tests::keystore::{Store, StoreAgent, Tmpfs};

fn index_bytes(agent: &StoreAgent) -> Vec<u8> {
    std::fs::read(agent.config_dir().join("keys.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn secret_service_dies_and_comes_back() {
    let agent = StoreAgent::start(Store::SecretService);
    let r = agent.signet(["generate", "first"]);
    r.assert_ok();
    let public = public_of_line(r.stdout.trim());
    agent.signet(["load", "first"]).assert_ok();
    sign_and_verify(&agent, "first", &public);
    let index = index_bytes(&agent);

    // gnome-keyring crashes. The bus starts a new one on the next call (its
    // D-Bus activation file), with the `login` collection locked and no
    // prompter to unlock it: the store is there but refuses every secret.
    agent.kill_keyring_daemons();

    let store_error = |r: &signet_tests::Run| {
        r.assert_code(1);
        for needle in [
            "the secret-service key store",
            "gnome-keyring-daemon --unlock",
        ] {
            assert!(r.stderr.contains(needle), "stderr lacks {needle:?}:\n{r}");
        }
        assert!(
            r.stderr.contains("locked") || r.stderr.contains("unavailable"),
            "{r}"
        );
    };
    store_error(&agent.signet(["generate", "other"]));
    let file = keygen(&agent.dir().join("keys"), "imp", "ed25519", "");
    let r = agent.signet([
        "import".as_ref(),
        file.as_os_str(),
        "--name".as_ref(),
        "imp".as_ref(),
        "--remove-source".as_ref(),
    ]);
    store_error(&r);
    assert!(file.exists(), "a failed import removed its source");
    // Loading again needs the keyring: refused, and the key already loaded
    // stays loaded and keeps signing.
    store_error(&agent.signet(["load", "first"]));
    sign_and_verify(&agent, "first", &public);
    // Nothing was written or deleted.
    assert_eq!(index_bytes(&agent), index, "the index changed");
    let stored = stored_rows(&agent.list_json());
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["name"], "first");
    assert_eq!(stored[0]["loaded"], true);

    // gnome-keyring is back over the same files, unlocked. The daemon was
    // connected to the dead one: its next call reconnects.
    agent.restart_keyring_daemon();
    agent.signet(["unload", "first"]).assert_ok();
    agent.signet(["load", "first"]).assert_ok();
    sign_and_verify(&agent, "first", &public);
    let r = agent.signet(["generate", "other"]);
    r.assert_ok();
    let other = public_of_line(r.stdout.trim());
    agent.signet(["load", "other"]).assert_ok();
    sign_and_verify(&agent, "other", &other);
    let r = agent.signet(["doctor"]);
    r.assert_ok();
    assert!(r.stdout.contains("index and keyring agree"), "{r}");
}

/// `signet generate`, `rename` and `remove --yes` against an index that
/// cannot be written: each fails naming the index file and `cause`, and
/// leaves the index and the keyring exactly as they were.
fn index_writes_fail(agent: &StoreAgent, index: &[u8], key_ids: &[String], cause: &[&str]) {
    let path = agent.config_dir().join("keys.toml");
    let path = path.to_string_lossy();
    for args in [
        &["generate", "second"][..],
        &["rename", "first", "renamed"],
        &["delete", "first", "--yes"],
    ] {
        let r = agent.signet(args);
        r.assert_code(1);
        assert!(r.stderr.contains(&*path), "{args:?}: index not named:\n{r}");
        for needle in cause {
            assert!(
                r.stderr.contains(needle),
                "{args:?}: stderr lacks {needle:?}:\n{r}"
            );
        }
        assert!(
            r.stderr.contains("left as they were"),
            "{args:?}: does not say nothing changed:\n{r}"
        );
        assert_eq!(index_bytes(agent), index, "{args:?} changed the index");
        assert_eq!(
            agent.keyutils_entries(),
            key_ids,
            "{args:?} changed the keyring"
        );
    }
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(agent.config_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn index_on_a_full_or_read_only_file_system() {
    let agent = StoreAgent::start(Store::Keyutils);
    // The daemon opens the index by path on each operation: a tmpfs mounted
    // over its directory now is where every later read and write goes.
    let fs = Tmpfs::mount(&agent.config_dir(), "64k");
    // The index it sees is new and empty: the unlock finds the store key in
    // the keyring and records it again ([sealing]).
    agent.unlock_store().assert_ok();
    let r = agent.signet(["generate", "first"]);
    r.assert_ok();
    let public = public_of_line(r.stdout.trim());
    let ids = vec![hex::encode(public)];
    assert_eq!(agent.keyutils_entries(), ids);
    let index = index_bytes(&agent);

    // Disk full.
    let filler = fs.fill("filler");
    index_writes_fail(
        &agent,
        &index,
        &ids,
        &["No space left on device", "is full", "free some space"],
    );
    // Reading still works: the key loads and signs.
    agent.signet(["load", "first"]).assert_ok();
    sign_and_verify(&agent, "first", &public);
    std::fs::remove_file(&filler).unwrap_or_else(|e| panic!("{e}"));
    // Nothing to repair, nothing lost.
    let r = agent.signet(["doctor"]);
    r.assert_ok();
    assert!(r.stdout.contains("index and keyring agree"), "{r}");
    assert_eq!(index_bytes(&agent), index);

    // Read-only.
    agent.signet(["unload", "first"]).assert_ok();
    fs.set_read_only(true);
    index_writes_fail(
        &agent,
        &index,
        &ids,
        &["Read-only file system", "read-only; remount it"],
    );
    agent.signet(["load", "first"]).assert_ok();
    sign_and_verify(&agent, "first", &public);
    fs.set_read_only(false);
    let r = agent.signet(["doctor"]);
    r.assert_ok();
    assert!(r.stdout.contains("index and keyring agree"), "{r}");

    // Writable again: everything works, and the first key was never lost.
    let r = agent.signet(["generate", "second"]);
    r.assert_ok();
    let second = public_of_line(r.stdout.trim());
    agent.signet(["rename", "first", "renamed"]).assert_ok();
    sign_and_verify(&agent, "renamed", &public);
    agent.signet(["delete", "second", "--yes"]).assert_ok();
    assert_eq!(agent.keyutils_entries(), ids);
    assert!(!agent.index_text().contains(&hex::encode(second)));
    drop(fs);
}

#[test]
fn list_without_an_agent_reads_the_index() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    let r = agent.signet(["generate", "alpha", "--comment", "alpha@example"]);
    r.assert_ok();
    let alpha = public_of_line(r.stdout.trim());
    agent.signet(["generate", "beta"]).assert_ok();
    agent.signet(["load", "alpha"]).assert_ok();
    agent.stop();

    // Human table: every stored key, marked, and still exit 3.
    let r = agent.signet(["list"]);
    r.assert_code(3);
    assert!(r.stderr.contains("no agent running"), "{r}");
    for name in ["alpha", "beta"] {
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{r}"));
        assert!(line.contains("not loaded (agent not running)"), "{r}");
        assert!(line.contains("keyutils"), "{r}");
    }
    // JSON: one document, the error (exit 3) and beside it the stored keys
    // with the usual row fields, nothing loaded, agent_running false.
    let r = agent.signet(["list", "--json"]);
    r.assert_code(3);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert_eq!(doc["error"]["kind"], "not_running", "{r}");
    assert_eq!(doc["error"]["exit_code"], 3, "{r}");
    let rows = doc["keys"].clone();
    let a = row(&rows, "alpha").unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(a["key_id"], hex::encode(alpha));
    assert_eq!(a["stored"], true);
    assert_eq!(a["loaded"], false);
    assert_eq!(a["agent_running"], false);
    assert!(
        a["public_key"]
            .as_str()
            .unwrap_or_default()
            .ends_with(" alpha@example"),
        "{a}"
    );
    assert_eq!(
        public_of_line(a["public_key"].as_str().unwrap_or_default()),
        alpha
    );
    assert_eq!(stored_rows(&rows).len(), 2, "{rows}");
    // Session-only state is not invented: nothing is shown as loaded.
    assert!(rows
        .as_array()
        .is_some_and(|a| a.iter().all(|r| r["loaded"] == false)));
}

#[test]
fn list_without_an_agent_follows_the_configured_index() {
    let conf = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let elsewhere = conf.path().join("elsewhere/keys.toml");
    let config = conf.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[store]\nindex = {:?}\n", elsewhere.to_string_lossy()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config_s = config.to_string_lossy().into_owned();
    let mut agent = StoreAgent::start_with(Store::Keyutils, &[("SIGNET_CONFIG", &config_s)]);
    agent.signet(["generate", "moved"]).assert_ok();
    assert!(elsewhere.is_file(), "the daemon did not use [store] index");
    agent.stop();

    // With the same SIGNET_CONFIG, `list` finds the key where the daemon put it.
    let r = signet_tests::run(
        agent
            .signet_command()
            .env("SIGNET_CONFIG", &config)
            .arg("list"),
    );
    r.assert_code(3);
    assert!(r.stdout.contains("moved"), "{r}");
    assert!(r.stdout.contains("not loaded (agent not running)"), "{r}");
    // Without it, the default index (next to the default config) is empty.
    let r = agent.signet(["list"]);
    r.assert_code(3);
    assert!(!r.stdout.contains("moved"), "{r}");
    assert!(r.stdout.contains("no stored keys in"), "{r}");
    assert!(r.stdout.contains("config/signet/keys.toml"), "{r}");
    // An unreadable index is said so on stderr; the exit code stays 3.
    std::fs::write(&elsewhere, "this is not toml [[[").unwrap_or_else(|e| panic!("{e}"));
    let r = signet_tests::run(
        agent
            .signet_command()
            .env("SIGNET_CONFIG", &config)
            .arg("list"),
    );
    r.assert_code(3);
    assert!(r.stderr.contains("cannot show the stored keys"), "{r}");
    assert!(r.stderr.contains("is invalid"), "{r}");
}
