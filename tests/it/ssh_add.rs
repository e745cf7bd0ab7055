//! OpenSSH's `ssh-add` against the real `signetd`: list, add, remove, test a
//! signature, lifetimes, lock and unlock, and refused key types.

use std::time::{Duration, Instant};

use signet_tests::{wait_for, Agent};

/// `ssh-add -l` output lines that name a key (not the "no identities" notice).
fn listed_fingerprints(agent: &Agent) -> Vec<String> {
    let r = agent.ssh_add(["-l"]);
    if r.code() == Some(1) && r.stdout.contains("no identities") {
        return Vec::new();
    }
    r.assert_ok();
    r.stdout
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn empty_agent_lists_nothing_and_exits_1() {
    let agent = Agent::start();
    let r = agent.ssh_add(["-l"]);
    r.assert_code(1);
    assert!(r.stdout.contains("The agent has no identities"), "{r}");
    let r = agent.ssh_add(["-L"]);
    r.assert_code(1);
}

#[test]
fn added_key_is_listed_with_its_fingerprint_and_public_key_and_signs() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "alice@example");
    agent.ssh_add([&key.private]).assert_ok();

    let r = agent.ssh_add(["-l"]);
    r.assert_ok();
    let fp = key.fingerprint();
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains(&fp))
        .unwrap_or_else(|| panic!("fingerprint {fp} not listed:\n{r}"));
    assert!(line.contains("alice@example"), "comment missing: {line}");
    assert!(line.contains("(ED25519)"), "key type missing: {line}");
    assert_eq!(r.stdout.lines().count(), 1, "{r}");

    let r = agent.ssh_add(["-L"]);
    r.assert_ok();
    let listed: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(listed.len(), 1, "{r}");
    let listed_key: String = listed[0]
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(listed_key, key.public_key_part());

    // ssh-add -T asks the agent to sign random data and verifies the result.
    agent
        .ssh_add(["-T".as_ref(), key.public.as_os_str()])
        .assert_ok();

    // Negative control: -T with a key the agent does not hold must fail.
    let other = agent.keygen("ed25519", "not-loaded");
    agent
        .ssh_add(["-T".as_ref(), other.public.as_os_str()])
        .assert_fail();
}

#[test]
fn remove_one_then_remove_all() {
    let agent = Agent::start();
    let a = agent.keygen("ed25519", "a");
    let b = agent.keygen("ed25519", "b");
    agent.ssh_add([&a.private]).assert_ok();
    agent.ssh_add([&b.private]).assert_ok();
    let mut both = listed_fingerprints(&agent);
    both.sort();
    let mut want = vec![a.fingerprint(), b.fingerprint()];
    want.sort();
    assert_eq!(both, want);

    // -d reads the .pub next to the private key and removes only that key.
    agent
        .ssh_add(["-d".as_ref(), a.private.as_os_str()])
        .assert_ok();
    assert_eq!(listed_fingerprints(&agent), vec![b.fingerprint()]);
    agent
        .ssh_add(["-T".as_ref(), a.public.as_os_str()])
        .assert_fail();

    // Removing it again fails: it is gone.
    agent
        .ssh_add(["-d".as_ref(), a.private.as_os_str()])
        .assert_fail();

    agent.ssh_add(["-D"]).assert_ok();
    agent.ssh_add(["-l"]).assert_code(1);
    agent
        .ssh_add(["-T".as_ref(), b.public.as_os_str()])
        .assert_fail();
}

#[test]
fn lifetime_constraint_expires_the_key() {
    let agent = Agent::start();
    let short = agent.keygen("ed25519", "short-lived");
    let long = agent.keygen("ed25519", "long-lived");
    agent.ssh_add([&long.private]).assert_ok();
    let added = Instant::now();
    agent
        .ssh_add(["-t".as_ref(), "2".as_ref(), short.private.as_os_str()])
        .assert_ok();
    assert!(
        listed_fingerprints(&agent).contains(&short.fingerprint()),
        "key with a lifetime not listed right after adding"
    );

    wait_for(Duration::from_secs(12), "the 2 s key to expire", || {
        (!listed_fingerprints(&agent).contains(&short.fingerprint())).then_some(())
    });
    // It must not vanish early: a lifetime of 2 s is at least about 1 s.
    assert!(
        added.elapsed() >= Duration::from_millis(1500),
        "key expired after only {:?}",
        added.elapsed()
    );
    // The key without a lifetime stays, and the expired one can no longer sign.
    assert_eq!(listed_fingerprints(&agent), vec![long.fingerprint()]);
    agent
        .ssh_add(["-T".as_ref(), short.public.as_os_str()])
        .assert_fail();
    agent
        .ssh_add(["-T".as_ref(), long.public.as_os_str()])
        .assert_ok();
}

#[test]
fn lock_hides_keys_and_only_the_right_passphrase_unlocks() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "lockme");
    let extra = agent.keygen("ed25519", "added-while-locked");
    agent.ssh_add([&key.private]).assert_ok();
    let pubfile = key.public.as_os_str();

    // -x asks twice (passphrase and confirmation); the askpass script answers both.
    agent
        .ssh_add_with_passphrase("correct horse", ["-x"])
        .assert_ok();

    // Locked: nothing is listed, nothing signs, nothing can be added.
    let r = agent.ssh_add(["-l"]);
    r.assert_code(1);
    assert!(!r.stdout.contains(&key.fingerprint()), "{r}");
    agent.ssh_add(["-T".as_ref(), pubfile]).assert_fail();
    agent.ssh_add([&extra.private]).assert_fail();
    // Locking again is refused while locked.
    agent.ssh_add_with_passphrase("other", ["-x"]).assert_fail();

    // A wrong passphrase is refused and the agent stays locked.
    agent
        .ssh_add_with_passphrase("wrong horse", ["-X"])
        .assert_fail();
    agent.ssh_add(["-l"]).assert_code(1);
    agent.ssh_add(["-T".as_ref(), pubfile]).assert_fail();

    // The right one restores everything.
    agent
        .ssh_add_with_passphrase("correct horse", ["-X"])
        .assert_ok();
    assert_eq!(listed_fingerprints(&agent), vec![key.fingerprint()]);
    agent.ssh_add(["-T".as_ref(), pubfile]).assert_ok();
    agent.ssh_add([&extra.private]).assert_ok();
}

#[test]
fn rsa_key_is_refused_and_the_agent_keeps_working() {
    let agent = Agent::start();
    let ed = agent.keygen("ed25519", "ed");
    let rsa = agent.keygen("rsa", "rsa-key");
    agent.ssh_add([&ed.private]).assert_ok();

    let r = agent.ssh_add([&rsa.private]);
    r.assert_fail();
    // The daemon says why, naming the key type.
    agent.wait_log_line(&["ssh-rsa"]);

    assert_eq!(listed_fingerprints(&agent), vec![ed.fingerprint()]);
    agent
        .ssh_add(["-T".as_ref(), rsa.public.as_os_str()])
        .assert_fail();
    agent
        .ssh_add(["-T".as_ref(), ed.public.as_os_str()])
        .assert_ok();
}
