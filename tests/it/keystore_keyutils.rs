//! Keys at rest in the real Linux kernel keyring (keyutils): generate,
//! import (every accepted format and the refusals), register, list, load,
//! unload, rename, remove, doctor, crash consistency at every step, and the
//! private key found nowhere but the keyring.

use crate::keystore_common::*;
use serde_json::Value;
use signet_tests::keystore::{Store, StoreAgent};

#[test]
fn generate_restart_load_sign_verify() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    let r = agent.signet(["generate", "ci-bot", "--comment", "ci@example"]);
    r.assert_ok();
    let line = r.stdout.trim().to_owned();
    assert!(
        line.starts_with("ssh-ed25519 AAAA") && line.ends_with(" ci@example"),
        "{r}"
    );
    let public = public_of_line(&line);
    let id = hex::encode(public);
    assert_eq!(agent.keyutils_entries(), vec![id.clone()]);

    // pubkey prints exactly the line; list shows it stored, not loaded.
    let p = agent.signet(["pubkey", "ci-bot"]);
    p.assert_ok();
    assert_eq!(p.stdout, format!("{line}\n"));
    let list = agent.list_json();
    let first = row(&list, "ci-bot").unwrap_or_else(|| panic!("{list}"));
    assert_eq!(first["stored"], true);
    assert_eq!(first["loaded"], false);
    assert_eq!(first["key_id"], id.as_str());
    assert_eq!(first["store"], "keyutils");
    let human = agent.signet(["list"]);
    assert!(human.stdout.contains("not loaded"), "{human}");

    // A new daemon finds the key in the kernel keyring.
    agent.restart(&[]);
    let r = agent.signet(["load", "ci-bot"]);
    r.assert_ok();
    let loaded = row_of(&agent, "ci-bot");
    assert_eq!(loaded["loaded"], true);
    let left = loaded["expires_in_secs"].as_u64().unwrap_or(0);
    assert!(
        (8 * 3600 - 60..=8 * 3600).contains(&left),
        "default lifetime 8h: {loaded}"
    );
    sign_and_verify(&agent, "ci-bot", &public);

    // Register: everything needed to paste into Encord.
    let r = agent.signet(["register", "ci-bot"]);
    r.assert_ok();
    for needle in [
        line.as_str(),
        id.as_str(),
        "SHA256:",
        "Settings → API keys",
        "Service Accounts",
        "Title:        ci-bot",
    ] {
        assert!(r.stdout.contains(needle), "register lacks {needle:?}:\n{r}");
    }
    let j: Value = serde_json::from_str(&agent.signet(["register", "ci-bot", "--json"]).stdout)
        .unwrap_or_default();
    assert_eq!(j["public_key"], line.as_str());

    // Status names the store, why, and the reboot caveat.
    let r = agent.signet(["status"]);
    r.assert_ok();
    assert!(r.stdout.contains("store:   keyutils"), "{r}");
    assert!(r.stdout.contains("SIGNET_STORE"), "{r}");
    assert!(r.stdout.contains("reboot"), "{r}");
    let j: Value =
        serde_json::from_str(&agent.signet(["status", "--json"]).stdout).unwrap_or_default();
    assert_eq!(j["store"]["backend"], "keyutils");
    assert_eq!(j["store"]["service"], agent.service());

    // Unload, then load with no lifetime.
    agent.signet(["unload", "ci-bot"]).assert_ok();
    assert_eq!(row_of(&agent, "ci-bot")["loaded"], false);
    agent
        .signet(["load", "--all", "--lifetime", "0"])
        .assert_ok();
    assert_eq!(row_of(&agent, "ci-bot")["expires_in_secs"], Value::Null);

    // Locking keeps loaded keys (hidden, refused) and locks the key store;
    // after unlocking they sign again, and the messages say so.
    let r = agent.signet_input(["lock", "--passphrase-stdin"], b"pw\n");
    r.assert_ok();
    assert!(
        r.stderr.contains("1 loaded key(s) stay loaded")
            && r.stderr.contains("the key store is locked too"),
        "{r}"
    );
    let r = agent.signet_input(["unlock", "--passphrase-stdin"], b"pw\n");
    r.assert_ok();
    assert!(
        r.stderr.contains("1 loaded key(s) sign again")
            && r.stderr.contains("key store stays locked"),
        "{r}"
    );
    assert_eq!(row_of(&agent, "ci-bot")["loaded"], true);
    sign_and_verify(&agent, "ci-bot", &public);
    agent.unlock_store().assert_ok();

    // Rename keeps the key loaded under its new name; the keyring entry
    // (filed by key id) is untouched.
    agent.signet(["rename", "ci-bot", "deploy"]).assert_ok();
    assert!(row(&agent.list_json(), "ci-bot").is_none());
    assert_eq!(row_of(&agent, "deploy")["loaded"], true);
    sign_and_verify(&agent, "deploy", &public);
    assert_eq!(agent.keyutils_entries(), vec![id.clone()]);
    assert_fails_with(
        &agent.signet(["rename", "deploy", "bad name"]),
        &["invalid key name"],
    );

    // Delete: refused without a terminal or --yes; then gone everywhere.
    assert_fails_with(&agent.signet(["delete", "deploy"]), &["--yes"]);
    assert_eq!(agent.keyutils_entries(), vec![id.clone()]);
    agent.signet(["delete", "deploy", "--yes"]).assert_ok();
    assert!(stored_rows(&agent.list_json()).is_empty());
    assert!(agent.keyutils_entries().is_empty());
    agent.signet(["load", "deploy"]).assert_code(5);
    agent.signet(["pubkey", "deploy"]).assert_code(5);
    assert!(!agent.index_text().contains(&id));
}

fn row_of(agent: &StoreAgent, name: &str) -> Value {
    row(&agent.list_json(), name).unwrap_or_else(|| panic!("no row {name}"))
}

#[test]
fn imports_each_format_and_refuses_the_rest() {
    let agent = StoreAgent::start(Store::Keyutils);
    let dir = agent.dir().join("keys");

    // OpenSSH, unencrypted.
    let plain = keygen(&dir, "plain", "ed25519", "");
    agent
        .signet([
            "import".as_ref(),
            plain.as_os_str(),
            "--name".as_ref(),
            "plain".as_ref(),
        ])
        .assert_ok();
    assert_eq!(pubkey(&agent, "plain"), pub_file_key(&plain));

    // OpenSSH, encrypted: a wrong passphrase stores nothing.
    let enc = keygen(&dir, "enc", "ed25519", "correct horse");
    let before = agent.keyutils_entries();
    let r = agent.signet_input(
        [
            "import".as_ref(),
            enc.as_os_str(),
            "--passphrase-stdin".as_ref(),
        ],
        b"wrong\n",
    );
    assert_fails_with(&r, &["wrong passphrase"]);
    assert_eq!(agent.keyutils_entries(), before);
    assert!(row(&agent.list_json(), "enc").is_none());
    let r = agent.signet_input(
        [
            "import".as_ref(),
            enc.as_os_str(),
            "--passphrase-stdin".as_ref(),
        ],
        b"correct horse\n",
    );
    r.assert_ok();
    // The name defaults to the key's comment.
    assert_eq!(pubkey(&agent, "enc"), pub_file_key(&enc));

    // PKCS#8 PEM from openssl.
    let pem = dir.join("openssl.pem");
    signet_tests::run(
        signet_tests::ssh_command("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&pem),
    )
    .assert_ok();
    let r = agent.signet([
        "import".as_ref(),
        pem.as_os_str(),
        "--name".as_ref(),
        "pkcs8".as_ref(),
    ]);
    r.assert_ok();
    assert!(r.stderr.contains("PKCS#8"), "{r}");
    assert_eq!(pubkey(&agent, "pkcs8"), pkcs8_public(&pem));

    // Encord's downloaded private key .txt: the OpenSSH text, here with
    // Windows line endings and blank lines around it.
    let encord_src = keygen(&dir, "encord-src", "ed25519", "");
    let text = std::fs::read_to_string(&encord_src).unwrap_or_default();
    let txt = dir.join("encord-private-key.txt");
    std::fs::write(&txt, format!("\r\n{}\r\n\r\n", text.replace('\n', "\r\n")))
        .unwrap_or_else(|e| panic!("{e}"));
    // A download others may read (0644) is refused as ssh-add refuses it,
    // unless --force.
    signet_tests::chmod(&txt, 0o644);
    assert_fails_with(
        &agent.signet([
            "import".as_ref(),
            txt.as_os_str(),
            "--name".as_ref(),
            "encord".as_ref(),
        ]),
        &[
            "UNPROTECTED PRIVATE KEY FILE",
            "0644",
            "chmod 600",
            "--force",
        ],
    );
    assert!(row(&agent.list_json(), "encord").is_none());
    agent
        .signet([
            "import".as_ref(),
            txt.as_os_str(),
            "--name".as_ref(),
            "encord".as_ref(),
            "--force".as_ref(),
        ])
        .assert_ok();
    assert_eq!(pubkey(&agent, "encord"), pub_file_key(&encord_src));

    // Corrupt files.
    let corrupt = dir.join("corrupt");
    let mut damaged = text.clone();
    damaged.replace_range(60..120, "");
    std::fs::write(&corrupt, damaged).unwrap_or_else(|e| panic!("{e}"));
    signet_tests::chmod(&corrupt, 0o600);
    assert_fails_with(
        &agent.signet(["import".as_ref(), corrupt.as_os_str()]),
        &["damaged"],
    );
    let junk = dir.join("junk");
    std::fs::write(&junk, "hello, not a key\n").unwrap_or_else(|e| panic!("{e}"));
    signet_tests::chmod(&junk, 0o600);
    assert_fails_with(
        &agent.signet(["import".as_ref(), junk.as_os_str()]),
        &["not a private key"],
    );

    // RSA: refused, naming the type.
    let rsa = keygen(&dir, "rsa", "rsa", "");
    assert_fails_with(
        &agent.signet(["import".as_ref(), rsa.as_os_str()]),
        &["an RSA key (ssh-rsa)", "signet holds Ed25519 keys only"],
    );

    // Duplicate: refused, naming the key already stored.
    let r = agent.signet([
        "import".as_ref(),
        plain.as_os_str(),
        "--name".as_ref(),
        "again".as_ref(),
    ]);
    assert_fails_with(&r, &["already stored as \"plain\""]);
    // Name taken.
    let other = keygen(&dir, "other", "ed25519", "");
    let r = agent.signet([
        "import".as_ref(),
        other.as_os_str(),
        "--name".as_ref(),
        "plain".as_ref(),
    ]);
    assert_fails_with(&r, &["already named \"plain\""]);

    // --remove-source: the file is gone only once the key is stored (the
    // kernel keyring needs --force: see remove_source_refusals).
    let gone = keygen(&dir, "gone", "ed25519", "");
    let gone_pub = pub_file_key(&gone);
    agent
        .signet([
            "import".as_ref(),
            gone.as_os_str(),
            "--remove-source".as_ref(),
            "--force".as_ref(),
        ])
        .assert_ok();
    assert!(!gone.exists());
    assert_eq!(pubkey(&agent, "gone"), gone_pub);
    // A refused import keeps its source.
    let r = agent.signet([
        "import".as_ref(),
        plain.as_os_str(),
        "--name".as_ref(),
        "x".as_ref(),
        "--remove-source".as_ref(),
        "--force".as_ref(),
    ]);
    r.assert_fail();
    assert!(plain.exists());

    // `-` reads the key from stdin.
    let piped = keygen(&dir, "piped", "ed25519", "");
    let bytes = std::fs::read(&piped).unwrap_or_default();
    agent
        .signet_input(["import", "-", "--name", "from-stdin"], &bytes)
        .assert_ok();
    assert_eq!(pubkey(&agent, "from-stdin"), pub_file_key(&piped));

    // Index and keyring agree: one secret per stored key.
    let stored = stored_rows(&agent.list_json());
    assert_eq!(stored.len(), 6, "{stored:?}");
    assert_eq!(agent.keyutils_entries().len(), 6);
    agent.signet(["doctor"]).assert_ok();
}

/// The public key of an `openssl genpkey -algorithm ed25519` PEM (RFC 8410:
/// the last 32 bytes of the DER are the seed).
fn pkcs8_public(pem: &std::path::Path) -> [u8; 32] {
    use base64::Engine as _;
    let text = std::fs::read_to_string(pem).unwrap_or_default();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_default();
    let seed: [u8; 32] = der[der.len() - 32..].try_into().unwrap_or([0; 32]);
    ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes()
}

/// Reads a secret straight from the kernel keyring with `keyctl pipe`.
/// What the kernel keyring holds for `key_id`, read as any process of the
/// user can (`keyctl pipe`).
fn keyring_bytes(agent: &StoreAgent, key_id: &str) -> Vec<u8> {
    let desc = format!("keyring:{key_id}@{}", agent.service());
    let r = signet_tests::run(
        signet_tests::ssh_command("keyctl").args(["search", "@u", "user", &desc]),
    );
    r.assert_ok();
    let out = std::process::Command::new("keyctl")
        .args(["pipe", r.stdout.trim()])
        .output()
        .unwrap_or_else(|e| panic!("keyctl pipe: {e}"));
    assert!(out.status.success(), "keyctl pipe failed");
    out.stdout
}

#[test]
fn private_keys_appear_nowhere_but_the_keyring() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    let dir = agent.dir().join("keys");
    let file = keygen(&dir, "imported", "ed25519", "");
    let (imported_seed, _) = signet_tests::read_ed25519_private(&file);
    agent
        .signet([
            "import".as_ref(),
            file.as_os_str(),
            "--remove-source".as_ref(),
            "--force".as_ref(),
        ])
        .assert_ok();
    let r = agent.signet(["generate", "made-here"]);
    r.assert_ok();
    let made = public_of_line(r.stdout.trim());
    // Same-user malware reading the kernel keyring gets ciphertext only.
    assert_not_a_usable_seed(&keyring_bytes(&agent, &hex::encode(made)), &made, None);
    let imported_id = hex::encode(pub_file_key(&file));
    assert_not_a_usable_seed(
        &keyring_bytes(&agent, &imported_id),
        &pub_file_key(&file),
        Some(&imported_seed),
    );
    // Everything a user does with them, at trace level.
    for args in [
        &["load", "--all"][..],
        &["list"],
        &["list", "--json"],
        &["register", "made-here"],
        &["rename", "made-here", "renamed"],
        &["unload", "renamed"],
        &["load", "renamed"],
        &["doctor"],
        &["status"],
    ] {
        agent.signet(args).assert_ok();
    }
    sign_and_verify(&agent, "renamed", &made);
    agent.restart(&[]);
    agent.signet(["load", "--all"]).assert_ok();
    agent.signet(["delete", "imported", "--yes"]).assert_ok();
    agent.stop();
    let log = agent.log();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "not a verbose log"
    );
    assert_secret_absent(
        &imported_seed,
        &agent.config_dir(),
        &log,
        "the imported key",
    );
    // The index is private.
    let index = agent.config_dir().join("keys.toml");
    assert_eq!(signet_tests::mode_of(&index), 0o600);
    assert_eq!(signet_tests::mode_of(&agent.config_dir()), 0o700);
}

#[test]
fn doctor_recovers_orphans_and_reports_lost_secrets() {
    let agent = StoreAgent::start(Store::Keyutils);
    let r = agent.signet(["generate", "k1"]);
    r.assert_ok();
    let public = public_of_line(r.stdout.trim());
    let id = hex::encode(public);
    // Lose the index: the secret is an orphan in the keyring.
    std::fs::remove_file(agent.config_dir().join("keys.toml")).unwrap_or_else(|e| panic!("{e}"));
    let r = agent.signet(["doctor"]);
    r.assert_ok();
    let recovered = format!("recovered-{}", &id[..8]);
    assert!(r.stdout.contains(&recovered), "{r}");
    agent.signet(["load", &recovered]).assert_ok();
    sign_and_verify(&agent, &recovered, &public);
    // Lose the secret (as keyutils does at reboot): reported, kept until --fix.
    agent.signet(["unload", "--all"]).assert_ok();
    for line in std::fs::read_to_string("/proc/keys")
        .unwrap_or_default()
        .lines()
    {
        if line.contains(&format!("{id}@{}", agent.service())) {
            let hex_id = line.split_whitespace().next().unwrap_or_default();
            let n = u32::from_str_radix(hex_id, 16).unwrap_or_default();
            signet_tests::run(
                signet_tests::ssh_command("keyctl").args(["invalidate", &n.to_string()]),
            );
        }
    }
    signet_tests::wait_for(signet_tests::DEADLINE, "the secret to go", || {
        agent.keyutils_entries().is_empty().then_some(())
    });
    let r = agent.signet(["doctor"]);
    assert_fails_with(&r, &["problem(s) remain"]);
    assert!(r.stdout.contains("missing"), "{r}");
    assert_fails_with(
        &agent.signet(["load", &recovered]),
        &["missing", "doctor --fix"],
    );
    agent.signet(["doctor", "--fix"]).assert_ok();
    assert!(stored_rows(&agent.list_json()).is_empty());
}

/// Runs `op` in a daemon that aborts at `step`, restarts it, and returns it.
fn crash_at(agent: &mut StoreAgent, step: &str, op: &[&str], input: Option<&[u8]>) {
    agent.restart(&[("SIGNET_FAULT", step)]);
    let r = match input {
        Some(i) => agent.signet_input(op, i),
        None => agent.signet(op),
    };
    assert!(
        !r.status.success(),
        "{step}: the operation survived the fault:\n{r}"
    );
    let status = agent.wait_exit();
    assert!(
        !status.success(),
        "{step}: signetd did not crash ({status})"
    );
    agent.restart(&[]);
    agent.signet(["doctor"]).assert_ok();
    let index = agent.index_text();
    assert!(
        !index.contains("pending") && !index.contains("removing"),
        "{step}: half-done entry left:\n{index}"
    );
}

/// After a crash: either the whole key (listed, in the keyring, loads and
/// signs with `public`) or nothing at all.
fn whole_or_nothing(agent: &StoreAgent, name: &str, public: Option<[u8; 32]>, step: &str) {
    let list = agent.list_json();
    let stored = stored_rows(&list);
    match public {
        Some(p) => {
            assert_eq!(stored.len(), 1, "{step}: {list}");
            assert_eq!(stored[0]["name"], name, "{step}");
            assert_eq!(agent.keyutils_entries(), vec![hex::encode(p)], "{step}");
            agent.signet(["load", name]).assert_ok();
            sign_and_verify(agent, name, &p);
            agent.signet(["unload", name]).assert_ok();
        }
        None => {
            assert!(stored.is_empty(), "{step}: {list}");
            assert!(
                agent.keyutils_entries().is_empty(),
                "{step}: secret left behind"
            );
        }
    }
}

#[test]
fn crash_during_generate_leaves_whole_key_or_nothing() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    for (step, kept) in [
        ("after-index-pending", false),
        ("after-keyring-put", true),
        ("after-read-back", true),
        ("after-index-commit", true),
    ] {
        crash_at(&mut agent, step, &["generate", "k"], None);
        let public = kept.then(|| pubkey(&agent, "k"));
        whole_or_nothing(&agent, "k", public, step);
        if kept {
            agent.signet(["delete", "k", "--yes"]).assert_ok();
        }
    }
    assert!(agent.log().contains("repair at start-up"));
}

#[test]
fn crash_during_import_leaves_whole_key_or_nothing() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    let file = keygen(&agent.dir().join("keys"), "imp", "ed25519", "");
    let public = pub_file_key(&file);
    for (step, kept) in [
        ("after-index-pending", false),
        ("after-keyring-put", true),
        ("after-read-back", true),
        ("after-index-commit", true),
    ] {
        let f = file.to_string_lossy().into_owned();
        crash_at(
            &mut agent,
            step,
            &["import", &f, "--name", "k", "--remove-source", "--force"],
            None,
        );
        // The source is removed only after a reply that never came.
        assert!(file.exists(), "{step}: source removed without a stored key");
        whole_or_nothing(&agent, "k", kept.then_some(public), step);
        if kept {
            agent.signet(["delete", "k", "--yes"]).assert_ok();
        }
    }
}

#[test]
fn crash_during_remove_finishes_the_remove() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    for step in ["after-tombstone", "after-keyring-delete"] {
        agent.restart(&[]);
        agent.signet(["generate", "k"]).assert_ok();
        crash_at(&mut agent, step, &["delete", "k", "--yes"], None);
        whole_or_nothing(&agent, "k", None, step);
    }
}

#[test]
fn configuration_unknown_keys_are_named_and_autoload_works() {
    let mut agent = StoreAgent::start(Store::Keyutils);
    let r = agent.signet(["generate", "auto"]);
    r.assert_ok();
    let public = public_of_line(r.stdout.trim());
    let config = agent.config_dir().join("config.toml");
    std::fs::write(
        &config,
        "[agent]\ndefault_lifetime = \"2h\"\n[store]\nbackend = \"auto\"\n\
         [keys.auto]\nautoload = true\nlifetime = \"1h\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    agent.restart(&[]);
    let auto = signet_tests::wait_for(signet_tests::DEADLINE, "autoload", || {
        row(&agent.list_json(), "auto").filter(|r| r["loaded"] == true)
    });
    let left = auto["expires_in_secs"].as_u64().unwrap_or(0);
    assert!((3500..=3600).contains(&left), "per-key lifetime 1h: {auto}");
    sign_and_verify(&agent, "auto", &public);

    // An unknown key in the file stops the daemon, naming the key.
    std::fs::write(&config, "[store]\nservcie = \"x\"\n").unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = std::process::Command::new(signet_tests::bin("signetd"));
    cmd.env_clear()
        .env("PATH", signet_tests::CHILD_PATH)
        .arg("--config")
        .arg(&config)
        .arg("--socket")
        .arg(agent.dir().join("other.sock"));
    let r = signet_tests::run(&mut cmd);
    r.assert_code(1);
    assert!(r.stderr.contains("servcie"), "{r}");
    // An unknown store name is refused the same way.
    std::fs::write(&config, "[store]\nbackend = \"plaintext\"\n").unwrap_or_else(|e| panic!("{e}"));
    let r = signet_tests::run(&mut cmd);
    r.assert_code(1);
    assert!(
        r.stderr.contains("plaintext") && r.stderr.contains("keyutils"),
        "{r}"
    );
    std::fs::remove_file(&config).unwrap_or_else(|e| panic!("{e}"));
}
