//! Keys from systemd credentials and explicit key files, failing closed.
//!
//! The credential is made with the real `systemd-creds encrypt` (sealed with
//! the host key, `--with-key=host`: there is no TPM here) and decrypted the
//! way systemd does for `LoadCredentialEncrypted=`, with `systemd-creds
//! decrypt` into a private directory that becomes `$CREDENTIALS_DIRECTORY`.
//! A key that cannot be read must stop signetd with a non-zero exit and a
//! message naming the key, never start an agent without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use signet_tests::{
    bin, chmod, generate_key, read_ed25519_private, run, system_tool, Agent, AgentOptions, Run,
    CHILD_PATH,
};

fn creds(args: &[&std::ffi::OsStr]) -> Run {
    let r = run(Command::new(system_tool("/usr/bin/systemd-creds"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .args(args));
    r.assert_ok();
    r
}

/// Encrypts `key` as credential `name` and decrypts it into `dir/creds/name`
/// (0400 in a 0700 directory, as systemd presents credentials). Returns the
/// credentials directory.
fn sealed_credential(dir: &Path, name: &str, key: &Path) -> PathBuf {
    let sealed = dir.join(format!("{name}.cred"));
    creds(&[
        "encrypt".as_ref(),
        format!("--name={name}").as_ref(),
        "--with-key=host".as_ref(),
        key.as_os_str(),
        sealed.as_os_str(),
    ]);
    let text = std::fs::read_to_string(&sealed).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !text.contains("OPENSSH PRIVATE KEY"),
        "the credential is not encrypted"
    );
    let creds_dir = dir.join("creds");
    std::fs::create_dir_all(&creds_dir).unwrap_or_else(|e| panic!("{e}"));
    chmod(&creds_dir, 0o700);
    let plain = creds_dir.join(name);
    creds(&[
        "decrypt".as_ref(),
        format!("--name={name}").as_ref(),
        sealed.as_os_str(),
        plain.as_os_str(),
    ]);
    chmod(&plain, 0o400);
    creds_dir
}

/// Runs signetd until it fails (it must), with `config` and `env`.
fn failing_start(dir: &Path, config: &str, env: &[(&str, &Path)]) -> Run {
    // The socket's directory must be private, or signetd stops for that.
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .unwrap_or_else(|e| panic!("{e}"));
    let cfg = dir.join("signetd.toml");
    std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
    // The daemon files its audit key under this service: removed after.
    let keyring = signet_tests::keystore::KeyringService::new("creds");
    let mut cmd = Command::new(bin("signetd"));
    cmd.env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", dir)
        .env("SIGNET_KEYRING_SERVICE", keyring.name())
        .arg("--config")
        .arg(&cfg)
        .arg("--socket")
        .arg(dir.join("agent.sock"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let r = run(&mut cmd);
    r.assert_code(1);
    assert!(
        !dir.join("agent.sock").exists(),
        "a socket was left behind:\n{r}"
    );
    r
}

#[test]
fn key_from_an_encrypted_systemd_credential_signs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let key = generate_key(&dir.path().join("keys"), "ed25519", "ci-bot");
    let (_, public) = read_ed25519_private(&key.private);
    let creds_dir = sealed_credential(dir.path(), "ci-bot", &key.private);
    // No plaintext key outside the credentials directory from here on.
    std::fs::remove_file(&key.private).unwrap_or_else(|e| panic!("{e}"));

    let agent = Agent::start_customized(
        AgentOptions {
            config: Some("[keys.ci-bot]\nsource = \"credential\"\n".to_owned()),
            ..AgentOptions::default()
        },
        |_, cmd| {
            cmd.env("CREDENTIALS_DIRECTORY", &creds_dir);
        },
    );
    let line = agent.wait_log_line(&["loaded configured key", "ci-bot"]);
    assert!(line.contains("systemd credential"), "{line}");
    // The agent holds exactly that key, under its configured name.
    let r = agent.ssh_add(["-L"]);
    r.assert_ok();
    assert!(r.stdout.contains(&key.public_key_part()), "{r}");
    let mut client =
        signet_client::Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    let info = client.resolve("ci-bot").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.key_blob, signet_proto::key::ed25519_blob(&public));
    assert_eq!(info.source, "credential");
    let sig = client
        .sign(&info.key_blob, b"built on a CI machine")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sig.as_bytes().len(), 64);
}

#[test]
fn missing_or_unreadable_credential_stops_the_daemon() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let creds_dir = dir.path().join("creds");
    std::fs::create_dir_all(&creds_dir).unwrap_or_else(|e| panic!("{e}"));
    let config = "[keys.deploy-bot]\nsource = \"credential\"\n";

    // Missing: the credential was never loaded into the directory.
    let r = failing_start(dir.path(), config, &[("CREDENTIALS_DIRECTORY", &creds_dir)]);
    assert!(r.stderr.contains("deploy-bot"), "{r}");
    assert!(r.stderr.contains("systemd credential"), "{r}");
    assert!(r.stderr.contains("LoadCredential"), "says what to do:\n{r}");

    // No $CREDENTIALS_DIRECTORY at all (the unit lacks LoadCredential=).
    let r = failing_start(dir.path(), config, &[]);
    assert!(
        r.stderr.contains("deploy-bot") && r.stderr.contains("CREDENTIALS_DIRECTORY"),
        "{r}"
    );

    // Unreadable: a directory where the key should be (root reads any file).
    std::fs::create_dir(creds_dir.join("deploy-bot")).unwrap_or_else(|e| panic!("{e}"));
    let r = failing_start(dir.path(), config, &[("CREDENTIALS_DIRECTORY", &creds_dir)]);
    assert!(
        r.stderr.contains("deploy-bot") && r.stderr.contains("cannot read"),
        "{r}"
    );
    std::fs::remove_dir(creds_dir.join("deploy-bot")).unwrap_or_else(|e| panic!("{e}"));

    // Not a key: refused, never half-loaded.
    std::fs::write(creds_dir.join("deploy-bot"), "hello\n").unwrap_or_else(|e| panic!("{e}"));
    let r = failing_start(dir.path(), config, &[("CREDENTIALS_DIRECTORY", &creds_dir)]);
    assert!(
        r.stderr.contains("deploy-bot") && r.stderr.contains("OpenSSH"),
        "{r}"
    );
}

#[test]
fn passphrase_protected_key_is_refused_in_a_credential() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let key = dir.path().join("enc");
    run(Command::new("ssh-keygen")
        .env_clear()
        .env("PATH", CHILD_PATH)
        .args(["-q", "-t", "ed25519", "-N", "secret", "-C", "enc", "-f"])
        .arg(&key))
    .assert_ok();
    let creds_dir = sealed_credential(dir.path(), "enc", &key);
    let r = failing_start(
        dir.path(),
        "[keys.enc]\nsource = \"credential\"\n",
        &[("CREDENTIALS_DIRECTORY", &creds_dir)],
    );
    assert!(
        r.stderr.contains("passphrase") && r.stderr.contains("systemd-creds"),
        "{r}"
    );
}

#[test]
fn plain_file_source_needs_owner_only_permissions() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let key = generate_key(&dir.path().join("keys"), "ed25519", "file-bot");
    chmod(&key.private, 0o644);
    let config = format!(
        "[keys.file-bot]\nsource = \"file\"\npath = \"{}\"\n",
        key.private.display()
    );
    let r = failing_start(dir.path(), &config, &[]);
    assert!(
        r.stderr.contains("file-bot")
            && r.stderr.contains("0644")
            && r.stderr.contains("chmod 600"),
        "{r}"
    );

    chmod(&key.private, 0o600);
    let agent = Agent::start_with(AgentOptions {
        config: Some(config),
        ..AgentOptions::default()
    });
    agent.wait_log_line(&["loaded configured key", "file-bot"]);
    let r = agent.ssh_add(["-L"]);
    assert!(r.stdout.contains(&key.public_key_part()), "{r}");
}

#[test]
fn an_unknown_source_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = failing_start(dir.path(), "[keys.x]\nsource = \"plaintext\"\n", &[]);
    assert!(
        r.stderr.contains("plaintext") && r.stderr.contains("credential"),
        "{r}"
    );
}
