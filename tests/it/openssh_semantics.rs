//! Where OpenSSH's `ssh-agent` is stricter, signetd is too (issue 23 item
//! 3), driven by the real `ssh-add` and raw agent messages: a confirmation
//! is yes only for exit 0 with an empty or "yes" answer; an empty lock
//! passphrase is refused; a default lifetime (`[agent] default_lifetime`,
//! `signetd -t`) applies to keys added over the protocol; `signet start` /
//! `signet env --ssh` also export `SSH_AUTH_SOCK`.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use signet_proto::{Constraint, Passphrase, Request, Response, SignRequest};
use signet_tests::{bin, run, wait_for, Agent, AgentOptions, TestKey};

/// An askpass program that prints `dir/answer` and exits with the status
/// in `dir/status` (0 when absent).
fn write_askpass(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("answering-askpass");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat '{answer}' 2>/dev/null\nexit \"$(cat '{status}' 2>/dev/null || echo 0)\"\n",
            answer = dir.join("answer").display(),
            status = dir.join("status").display(),
        ),
    )
    .unwrap_or_else(|e| panic!("writing askpass: {e}"));
    fs::set_permissions(&script, fs::Permissions::from_mode(0o700))
        .unwrap_or_else(|e| panic!("chmod: {e}"));
    script
}

fn sign(agent: &Agent, key: &TestKey) -> Response {
    let blob = key.blob();
    agent.connect().request(&Request::Sign(SignRequest {
        key_blob: &blob,
        data: b"confirm me",
        flags: 0,
    }))
}

#[test]
fn a_confirmation_is_yes_only_for_exit_0_and_an_empty_or_yes_answer() {
    let agent = Agent::start_customized(AgentOptions::default(), |dir, cmd| {
        cmd.env("SIGNET_ASKPASS", write_askpass(dir));
    });
    let key = TestKey::from_seed(71, "confirmed");
    assert_eq!(
        agent
            .connect()
            .request(&key.add_request(vec![Constraint::Confirm])),
        Response::Success
    );
    let answer = |text: &str, status: u8| {
        fs::write(agent.dir().join("answer"), text).unwrap_or_else(|e| panic!("{e}"));
        fs::write(agent.dir().join("status"), status.to_string()).unwrap_or_else(|e| panic!("{e}"));
    };
    for (text, status, allowed) in [
        ("no\n", 0, false),
        ("No", 0, false),
        ("y\n", 0, false),
        ("yes please\n", 0, false),
        ("yes\n", 1, false),
        ("\n", 1, false),
        ("", 0, true),
        ("\n", 0, true),
        ("yes\n", 0, true),
        ("YES", 0, true),
    ] {
        answer(text, status);
        let got = sign(&agent, &key);
        assert_eq!(
            matches!(got, Response::Signature(_)),
            allowed,
            "answer {text:?} with exit {status}: {got:?}\n--- log\n{}",
            agent.log()
        );
    }
    // The refusal says what the answer was.
    agent.wait_log_line(&["answered", "not yes"]);
}

#[test]
fn an_empty_lock_passphrase_is_refused_and_locks_nothing() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "lockme");
    agent.ssh_add([&key.private]).assert_ok();

    let r = agent.ssh_add_with_passphrase("", ["-x"]);
    assert!(
        !r.status.success(),
        "ssh-add -x with an empty passphrase: {r}"
    );
    // Not locked: the key is still listed and signs.
    let r = agent.ssh_add(["-l"]);
    r.assert_ok();
    assert!(r.stdout.contains("lockme"), "{r}");
    agent
        .ssh_add(["-T".as_ref(), key.public.as_os_str()])
        .assert_ok();
    agent.wait_log_line(&["empty passphrase"]);

    // Raw: an empty LOCK fails; a real one locks, and the empty UNLOCK
    // does not open it.
    let mut conn = agent.connect();
    let p = |s: &str| Passphrase::new(s.as_bytes().to_vec());
    assert_eq!(conn.request(&Request::Lock(p(""))), Response::Failure);
    assert_eq!(conn.request(&Request::Lock(p("s3cret"))), Response::Success);
    assert_eq!(conn.request(&Request::Unlock(p(""))), Response::Failure);
    assert!(matches!(
        conn.request(&Request::RequestIdentities),
        Response::Identities(ids) if ids.is_empty()
    ));
    assert_eq!(
        conn.request(&Request::Unlock(p("s3cret"))),
        Response::Success
    );
}

/// Whether `ssh-add -l` lists a key named `name`.
fn lists(agent: &Agent, name: &str) -> bool {
    agent.ssh_add(["-l"]).stdout.contains(name)
}

#[test]
fn the_default_lifetime_applies_to_keys_added_over_the_protocol() {
    // [agent] default_lifetime: ssh-add without -t gets it; -t wins.
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\ndefault_lifetime = \"2s\"\n".into()),
        ..AgentOptions::default()
    });
    let short = agent.keygen("ed25519", "short");
    let long = agent.keygen("ed25519", "long");
    agent.ssh_add([&short.private]).assert_ok();
    agent
        .ssh_add(["-t".as_ref(), "600".as_ref(), long.private.as_os_str()])
        .assert_ok();
    let r = agent.signet(["list", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r}"));
    let short_row = v
        .as_array()
        .and_then(|a| a.iter().find(|k| k["name"] == "short"))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        short_row["expires_in_secs"]
            .as_u64()
            .is_some_and(|s| s <= 2),
        "{v}"
    );
    wait_for(Duration::from_secs(15), "the short key to expire", || {
        (!lists(&agent, "short")).then_some(())
    });
    assert!(lists(&agent, "long"), "the key added with -t 600 went too");

    // signetd -t stands over the file's default_lifetime.
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\ndefault_lifetime = \"1h\"\n".into()),
        args: vec!["-t".into(), "2".into()],
        ..AgentOptions::default()
    });
    let key = agent.keygen("ed25519", "flagged");
    agent.ssh_add([&key.private]).assert_ok();
    assert!(lists(&agent, "flagged"));
    wait_for(Duration::from_secs(15), "the -t 2 key to expire", || {
        (!lists(&agent, "flagged")).then_some(())
    });
    agent.wait_log_line(&["default lifetime of added keys: 2s"]);

    // Without either, as ssh-agent: no lifetime.
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "forever");
    agent.ssh_add([&key.private]).assert_ok();
    let r = agent.signet(["list", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r}"));
    assert!(v[0]["expires_in_secs"].is_null(), "{v}");

    // A bad -t is a usage error.
    let r = run(Command::new(bin("signetd")).args(["-t", "1.5h"]));
    r.assert_code(2);
}

#[test]
fn start_and_env_with_ssh_export_ssh_auth_sock_too() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "only-agent");
    agent.ssh_add([&key.private]).assert_ok();
    let sock = agent.socket().display().to_string();

    let r = agent.signet(["env", "--sh", "--ssh"]);
    r.assert_ok();
    assert!(
        r.stdout
            .contains(&format!("SSH_AUTH_SOCK={sock}; export SSH_AUTH_SOCK;")),
        "{r}"
    );
    assert!(r.stdout.contains("SIGNET_AUTH_SOCK="), "{r}");
    let r = agent.signet(["env", "--sh"]);
    assert!(!r.stdout.contains("SSH_AUTH_SOCK"), "{r}");
    let r = agent.signet(["start", "--csh", "--ssh"]);
    r.assert_ok();
    assert!(
        r.stdout.contains(&format!("setenv SSH_AUTH_SOCK {sock};")),
        "{r}"
    );

    // eval'd by a shell with no SSH_AUTH_SOCK, ssh-add finds signetd.
    let script = format!(
        "unset SSH_AUTH_SOCK; eval \"$('{}' start --ssh --sh)\"; ssh-add -l",
        bin("signet").display()
    );
    let mut sh = Command::new("sh");
    agent.clean_env(&mut sh);
    sh.env("SIGNET_AUTH_SOCK", agent.socket())
        .env_remove("SSH_AUTH_SOCK")
        .args(["-c", &script]);
    let r = run(&mut sh);
    r.assert_ok();
    assert!(r.stdout.contains("only-agent"), "{r}");
}

#[test]
fn a_silent_connection_is_kept_by_default_and_closed_only_when_configured() {
    // Default: no idle timeout (the interop lane's idle suite keeps one
    // silent for 630 s, past the former default of 600, and signs).
    let agent = Agent::start();
    let key = TestKey::from_seed(73, "kept");
    let mut conn = agent.connect();
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Success);
    std::thread::sleep(Duration::from_secs(3));
    let blob = key.blob();
    assert!(matches!(
        conn.request(&Request::Sign(SignRequest {
            key_blob: &blob,
            data: b"after silence",
            flags: 0,
        })),
        Response::Signature(_)
    ));
    // Configured: a connection silent for longer is closed.
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\nidle_timeout_secs = 1\n".into()),
        ..AgentOptions::default()
    });
    let mut conn = agent.connect();
    conn.expect_closed(Duration::from_secs(10));
}
