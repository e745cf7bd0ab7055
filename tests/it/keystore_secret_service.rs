//! Keys at rest in a real Secret Service: gnome-keyring on a private D-Bus
//! session (`dbus-run-session`), its `login` collection created and unlocked
//! headlessly with `gnome-keyring-daemon --unlock`. Restarting the agent
//! starts a new bus and a new gnome-keyring over the same keyring files, as
//! after a logout or a reboot.

use crate::keystore_common::*;
use signet_tests::keystore::{Store, StoreAgent};

#[test]
fn generate_restart_load_sign_verify() {
    let mut agent = StoreAgent::start(Store::SecretService);
    let r = agent.signet(["status"]);
    r.assert_ok();
    assert!(r.stdout.contains("store:   secret-service"), "{r}");
    assert!(!r.stdout.contains("problem:"), "{r}");

    let r = agent.signet(["generate", "svc-bot", "--comment", "svc@example"]);
    r.assert_ok();
    let public = public_of_line(r.stdout.trim());
    assert_eq!(
        row(&agent.list_json(), "svc-bot").unwrap_or_default()["store"],
        "secret-service"
    );

    // A new bus, a new gnome-keyring, a new daemon: the key is still there.
    agent.restart(&[]);
    agent.signet(["load", "svc-bot"]).assert_ok();
    sign_and_verify(&agent, "svc-bot", &public);
    assert_eq!(pubkey(&agent, "svc-bot"), public);

    // Import (encrypted OpenSSH), rename, remove.
    let file = keygen(&agent.dir().join("keys"), "imp", "ed25519", "pw");
    let r = agent.signet_input(
        [
            "import".as_ref(),
            file.as_os_str(),
            "--passphrase-stdin".as_ref(),
        ],
        b"pw\n",
    );
    r.assert_ok();
    let (seed, imp_public) = signet_tests::read_ed25519_private(&{
        // ssh-keygen can decrypt a copy for the test's own check.
        let copy = agent.dir().join("keys/imp-plain");
        std::fs::copy(&file, &copy).unwrap_or_else(|e| panic!("{e}"));
        signet_tests::run(
            signet_tests::ssh_command("ssh-keygen")
                .args(["-q", "-p", "-P", "pw", "-N", "", "-f"])
                .arg(&copy),
        )
        .assert_ok();
        copy
    });
    assert_eq!(pubkey(&agent, "imp"), imp_public);
    agent.signet(["rename", "imp", "imported"]).assert_ok();
    agent.signet(["load", "imported"]).assert_ok();
    sign_and_verify(&agent, "imported", &imp_public);
    agent.signet(["doctor"]).assert_ok();
    agent.signet(["delete", "imported", "--yes"]).assert_ok();
    agent.restart(&[]);
    let stored = stored_rows(&agent.list_json());
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["name"], "svc-bot");
    // The removed key's secret is gone from the Secret Service too: doctor
    // (which lists the collection) finds no orphan to recover.
    let r = agent.signet(["doctor"]);
    r.assert_ok();
    assert!(!r.stdout.contains("recovered-"), "{r}");

    // Nothing secret in the config dir or the trace log (D-Bus traffic
    // included: secrets cross the bus encrypted).
    agent.stop();
    assert_secret_absent(&seed, &agent.config_dir(), &agent.log(), "the imported key");
}

#[test]
fn auto_chooses_the_secret_service_when_the_bus_answers() {
    let agent = StoreAgent::start_with(Store::SecretService, &[("SIGNET_STORE", "auto")]);
    let r = agent.signet(["status"]);
    r.assert_ok();
    assert!(r.stdout.contains("store:   secret-service"), "{r}");
    assert!(r.stdout.contains("Secret Service answers"), "{r}");
}

#[test]
fn crash_after_keyring_put_keeps_the_whole_key() {
    let mut agent = StoreAgent::start(Store::SecretService);
    agent.restart(&[("SIGNET_FAULT", "after-keyring-put")]);
    agent.signet(["generate", "k"]).assert_fail();
    agent.wait_exit();
    agent.restart(&[]);
    agent.signet(["doctor"]).assert_ok();
    let public = pubkey(&agent, "k");
    agent.signet(["load", "k"]).assert_ok();
    sign_and_verify(&agent, "k", &public);
    assert!(!agent.index_text().contains("pending"));
}
