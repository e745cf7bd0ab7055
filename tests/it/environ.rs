//! signetd does not inherit secrets from whoever starts it (issue #12).
//!
//! `signet start` from an environment holding `ENCORD_SSH_KEY` (a private
//! key), `ENCORD_SSH_KEY_FILE`, `SSH_ASKPASS_PASSWORD` and other key-,
//! password- and token-named variables leaves no trace of them in
//! `/proc/<signetd>/environ`: it does not pass them. A signetd started some
//! other way with them (by hand, by systemd, through socket activation)
//! executes itself again without them, keeping its pid and any socket it was
//! passed; its askpass program never sees them either.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use signet_proto::Constraint;
use signet_tests::{
    bin, chmod, run, system_tool, wait_for, Agent, AgentOptions, TestKey, CHILD_PATH, DEADLINE,
};

/// What a careless shell might hold, and must not reach signetd.
const SECRETS: &[(&str, &str)] = &[
    (
        "ENCORD_SSH_KEY",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAtest-secret-1\n-----END OPENSSH PRIVATE KEY-----\n",
    ),
    ("ENCORD_SSH_KEY_FILE", "/home/u/.ssh/test-secret-2"),
    ("SSH_ASKPASS_PASSWORD", "test-secret-3"),
    ("AWS_SECRET_ACCESS_KEY", "test-secret-4"),
    ("GITHUB_TOKEN", "ghp_test-secret-5"),
];

/// `/proc/PID/environ`, as the kernel keeps it (the block copied at exec).
fn environ(pid: i32) -> Vec<u8> {
    fs::read(format!("/proc/{pid}/environ")).unwrap_or_else(|e| panic!("/proc/{pid}/environ: {e}"))
}

#[track_caller]
fn assert_no_secret(block: &[u8], what: &str) {
    let text = String::from_utf8_lossy(block).replace('\0', "\n");
    for (name, value) in SECRETS {
        assert!(
            !text.contains(value),
            "{what} holds the value of {name}:\n{text}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with(&format!("{name}="))),
            "{what} holds {name}:\n{text}"
        );
    }
}

fn service() -> String {
    format!("signet-test-env-{}", std::process::id())
}

#[test]
fn signet_start_leaves_no_secret_in_signetds_environ() {
    let _keyring = signet_tests::keystore::KeyringService::named(service());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let home = dir.path().join("home");
    let run_dir = dir.path().join("run");
    for d in [&home, &run_dir] {
        fs::create_dir(d).unwrap_or_else(|e| panic!("{e}"));
        chmod(d, 0o700);
    }
    let signet = |args: &[&str]| {
        let mut cmd = Command::new(bin("signet"));
        cmd.env_clear()
            .env("PATH", CHILD_PATH)
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run_dir)
            .env("SIGNET_KEYRING_SERVICE", service())
            .env("KEEP_ME", "still-here")
            .envs(SECRETS.iter().copied())
            .args(args);
        run(&mut cmd)
    };
    signet(&["start"]).assert_ok();
    let st = signet(&["status", "--json"]);
    st.assert_ok();
    let doc: serde_json::Value =
        serde_json::from_str(&st.stdout).unwrap_or_else(|e| panic!("{e}: {st}"));
    let pid = doc["pid"]
        .as_i64()
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or_else(|| panic!("no pid: {st}"));
    let block = environ(pid);
    let stop = signet(&["stop"]);
    assert_no_secret(&block, "signetd's /proc environ");
    let text = String::from_utf8_lossy(&block).replace('\0', "\n");
    assert!(
        text.contains("\nKEEP_ME=still-here\n") || text.starts_with("KEEP_ME=still-here\n"),
        "{text}"
    );
    // Not passed at all: signetd had nothing to drop (and did not run twice).
    assert!(!text.contains("SIGNETD_SCRUBBED"), "{text}");
    let log = fs::read_to_string(home.join(".local/state/signet/signetd.log")).unwrap_or_default();
    assert!(!log.contains("dropped from the environment"), "{log}");
    stop.assert_ok();
}

/// An askpass program that records its environment and says yes.
fn env_recording_askpass(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("env-askpass");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > '{}'\nexit 0\n",
            dir.join("askpass.env").display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&script, fs::Permissions::from_mode(0o700))
        .unwrap_or_else(|e| panic!("{e}"));
    script
}

#[test]
fn signetd_started_with_secrets_executes_itself_again_without_them() {
    let _keyring = signet_tests::keystore::KeyringService::named(service());
    let agent = Agent::start_customized(AgentOptions::default(), |dir, cmd| {
        cmd.env("SIGNET_ASKPASS", env_recording_askpass(dir))
            .env("SIGNET_KEYRING_SERVICE", service())
            .env("KEEP_ME", "still-here")
            .envs(SECRETS.iter().copied());
    });
    // Same process (the pid the harness started), clean block.
    let pid = agent.pid_raw();
    let block = environ(pid);
    assert_no_secret(&block, "signetd's /proc environ");
    let text = String::from_utf8_lossy(&block).replace('\0', "\n");
    assert!(text.contains("KEEP_ME=still-here"), "{text}");
    let names: Vec<&str> = SECRETS.iter().map(|(n, _)| *n).collect();
    let line = agent.wait_log_line(&["dropped from the environment, as they may hold secrets:"]);
    for n in &names {
        assert!(line.contains(n), "{n} not named in: {line}");
    }
    for (_, v) in SECRETS {
        assert!(!agent.log().contains(v), "a secret value reached the log");
    }
    // Its arguments are the ones it was started with.
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    assert_eq!(
        args[1..3],
        ["--socket".to_owned(), agent.socket().display().to_string()]
    );

    // The askpass program it runs for a confirm key gets none of them.
    let key = TestKey::from_seed(91, "confirm-env");
    let mut conn = agent.connect();
    assert_eq!(
        conn.request(&key.add_request(vec![Constraint::Confirm])),
        signet_proto::Response::Success
    );
    let blob = key.blob();
    let reply = conn.request(&signet_proto::Request::Sign(signet_proto::SignRequest {
        key_blob: &blob,
        data: b"x",
        flags: 0,
    }));
    assert!(
        matches!(reply, signet_proto::Response::Signature(_)),
        "{reply:?}\n{}",
        agent.log()
    );
    let child_env = fs::read(agent.dir().join("askpass.env")).unwrap_or_else(|e| panic!("{e}"));
    assert_no_secret(&child_env, "the askpass program's environment");
    assert!(String::from_utf8_lossy(&child_env).contains("SSH_ASKPASS_PROMPT=confirm"));
}

#[test]
fn a_socket_activated_signetd_keeps_its_socket_when_it_drops_secrets() {
    let _keyring = signet_tests::keystore::KeyringService::named(service());
    let tool = system_tool("/usr/bin/systemd-socket-activate");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    chmod(dir.path(), 0o700);
    let socket = dir.path().join("agent.sock");
    let log_path = dir.path().join("log");
    let log = fs::File::create(&log_path).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(tool);
    cmd.env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", dir.path())
        .env("SIGNET_KEYRING_SERVICE", service())
        .arg("-l")
        .arg(&socket);
    for var in ["HOME", "SIGNET_KEYRING_SERVICE"] {
        cmd.arg(format!("--setenv={var}"));
    }
    for (k, v) in SECRETS {
        cmd.env(k, v).arg(format!("--setenv={k}"));
    }
    let mut child = cmd
        .arg(bin("signetd"))
        .arg("--socket")
        .arg(&socket)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for(DEADLINE, "the activation socket", || {
        socket.exists().then_some(())
    });
    // The first connection starts signetd, which re-executes itself and
    // still serves the socket it was passed.
    let mut c = signet_client::Client::connect_to(&socket).unwrap_or_else(|e| panic!("{e}"));
    let st = c
        .status()
        .unwrap_or_else(|e| panic!("{e}\n{}", fs::read_to_string(&log_path).unwrap_or_default()));
    let pid = i32::try_from(st.pid).unwrap_or(0);
    assert_eq!(
        Some(pid),
        i32::try_from(child.id()).ok(),
        "the pid systemd-socket-activate became"
    );
    assert_no_secret(&environ(pid), "the activated signetd's /proc environ");
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    assert!(text.contains("dropped from the environment"), "{text}");
    assert!(
        !text.contains("replacing stale socket"),
        "it bound its own socket:\n{text}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
