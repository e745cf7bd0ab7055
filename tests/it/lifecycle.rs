//! The daemon's life: start-up checks, signals, shutdown and stale sockets.

use std::path::Path;

use signet_proto::extension;
use signet_proto::message::{Request, Response};
use signet_tests::{list_identities, mode_of, run_timeout, Agent, AgentOptions, Signal, TestKey};

#[test]
fn sigterm_exits_0_and_removes_the_socket() {
    let mut agent = Agent::start();
    assert!(agent.socket().exists());
    agent.signal(Signal::TERM);
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}\n--- log\n{}", agent.log());
    assert!(
        !agent.socket().exists(),
        "socket file left behind after SIGTERM"
    );
}

#[test]
fn sigint_exits_0_too() {
    let mut agent = Agent::start();
    agent.signal(Signal::INT);
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}\n--- log\n{}", agent.log());
    assert!(!agent.socket().exists());
}

#[test]
fn stop_extension_replies_then_exits_0() {
    let mut agent = Agent::start();
    let mut conn = agent.connect();
    let reply = conn.request(&Request::Extension {
        name: extension::STOP,
        contents: &[],
    });
    assert!(
        matches!(
            reply,
            Response::Success | Response::ExtensionResponse { .. }
        ),
        "stop@signet got {reply:?}"
    );
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}\n--- log\n{}", agent.log());
    assert!(!agent.socket().exists());
}

#[test]
fn stale_socket_after_kill_9_is_replaced() {
    let mut first = Agent::start();
    let socket = first.socket().to_path_buf();
    first.kill9();
    assert!(
        socket.exists(),
        "expected kill -9 to leave the socket file behind"
    );

    let second = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        ..AgentOptions::default()
    });
    // It serves: add a key and see it listed.
    let r = second.ssh_add(["-l"]);
    r.assert_code(1);
    let key = second.keygen("ed25519", "after-restart");
    second.ssh_add([&key.private]).assert_ok();
    assert!(second.ssh_add(["-l"]).stdout.contains(&key.fingerprint()));
}

#[test]
fn second_daemon_on_a_live_socket_exits_3() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "keep-me");
    agent.ssh_add([&key.private]).assert_ok();

    let r = run_timeout(
        &mut agent.daemon_command(),
        std::time::Duration::from_secs(20),
    );
    r.assert_code(3);
    assert!(
        r.stderr.contains("already running"),
        "no 'already running' message:\n{r}"
    );
    // The first daemon is untouched: same socket, same keys.
    assert!(agent.socket().exists());
    let r = agent.ssh_add(["-l"]);
    r.assert_ok();
    assert!(r.stdout.contains(&key.fingerprint()), "{r}");
}

#[test]
fn sigusr1_drops_all_keys_and_keeps_running() {
    let mut agent = Agent::start();
    let key = agent.keygen("ed25519", "dropped");
    agent.ssh_add([&key.private]).assert_ok();
    agent.ssh_add(["-l"]).assert_ok();

    agent.signal(Signal::USR1);
    signet_tests::wait_for(signet_tests::DEADLINE, "SIGUSR1 to drop the keys", || {
        (agent.ssh_add(["-l"]).code() == Some(1)).then_some(())
    });
    assert!(
        agent.is_running(),
        "signetd exited on SIGUSR1:\n{}",
        agent.log()
    );
    // Still serving: keys can be added again.
    agent.ssh_add([&key.private]).assert_ok();
    agent
        .ssh_add(["-T".as_ref(), key.public.as_os_str()])
        .assert_ok();
}

/// The `created` of a v2 request signature made now by `agent`.
fn signed_created(agent: &Agent) -> u64 {
    let mut c = signet_client::Client::connect_to(agent.socket())
        .unwrap_or_else(|e| panic!("connect: {e}"));
    c.sign_request_body(None, signet_client::Scheme::EncordV2, "GET", "/v2/x", b"")
        .unwrap_or_else(|e| panic!("sign_request: {e}\n--- log\n{}", agent.log()))
        .created
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[test]
fn sighup_reloads_the_config_and_keeps_keys() {
    let mut agent = Agent::start_with(AgentOptions {
        config: Some("[encord]\ncreated_offset_secs = 0\n".into()),
        ..AgentOptions::default()
    });
    let t = TestKey::from_seed(11, "survives-hup");
    let mut conn = agent.connect();
    assert_eq!(conn.request(&t.add_request(vec![])), Response::Success);
    let created = signed_created(&agent);
    assert!(
        created.abs_diff(now()) <= 5,
        "created {created}, now {}",
        now()
    );

    std::fs::write(
        agent.config_file(),
        "[encord]\ncreated_offset_secs = -1000\n",
    )
    .unwrap_or_else(|e| panic!("rewrite config: {e}"));
    agent.signal(Signal::HUP);
    agent.wait_log_line(&["SIGHUP", "reloaded"]);
    assert!(
        agent.is_running(),
        "signetd exited on SIGHUP:\n{}",
        agent.log()
    );
    // The new setting applies to new requests; the key is still there.
    let created = signed_created(&agent);
    assert!(
        created.abs_diff(now() - 1000) <= 5,
        "created {created} does not reflect the reloaded offset (now {})",
        now()
    );
    let mut conn = agent.connect();
    assert_eq!(list_identities(&mut conn).len(), 1);

    // A broken config on SIGHUP is refused; the daemon keeps the last good one.
    std::fs::write(agent.config_file(), "[encord]\nno_such_setting = 1\n")
        .unwrap_or_else(|e| panic!("rewrite config: {e}"));
    agent.signal(Signal::HUP);
    agent.wait_log_line(&["SIGHUP", "keeping the previous"]);
    assert!(agent.is_running());
    let created = signed_created(&agent);
    assert!(created.abs_diff(now() - 1000) <= 5, "created {created}");
}

#[test]
fn bad_config_at_start_exits_1_naming_the_key() {
    let agent = Agent::start();
    let bad = agent.dir().join("bad.toml");
    std::fs::write(&bad, "[agent]\nmax_conections = 3\n").unwrap_or_else(|e| panic!("write: {e}"));
    let mut cmd = std::process::Command::new(signet_tests::bin("signetd"));
    agent.clean_env(&mut cmd);
    cmd.arg("--socket")
        .arg(agent.dir().join("other.sock"))
        .arg("--config")
        .arg(&bad);
    let r = run_timeout(&mut cmd, std::time::Duration::from_secs(20));
    r.assert_code(1);
    assert!(r.stderr.contains("max_conections"), "{r}");
}

#[test]
fn socket_is_0600_in_a_0700_directory_created_on_demand() {
    let base = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let socket = base.path().join("made/by/signetd/agent.sock");
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        ..AgentOptions::default()
    });
    let parent = socket.parent().unwrap_or(Path::new("/"));
    assert_eq!(mode_of(parent), 0o700, "socket directory mode");
    assert_eq!(mode_of(&socket), 0o600, "socket file mode");
    agent.ssh_add(["-l"]).assert_code(1);
}

#[test]
fn usage_error_exits_2() {
    let agent = Agent::start();
    let mut cmd = agent.daemon_command();
    cmd.arg("--no-such-flag");
    let r = run_timeout(&mut cmd, std::time::Duration::from_secs(20));
    r.assert_code(2);
}
