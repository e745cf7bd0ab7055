//! Issue 19's messages, each triggered by the real situation against the
//! real daemon: a key whose lifetime ended, a locked agent, an agent at
//! another default path, a killed D-Bus session bus, an ECDSA key file, a
//! wrong unlock passphrase, `--confirm` on an agent with no askpass; and
//! `remove` (unload) against `delete` with a real keyring.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use signet_tests::keystore::{Store, StoreAgent};
use signet_tests::{bin, run, run_with_input, wait_for, Agent, Run, DEADLINE};

fn json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{r}"))
}

#[track_caller]
fn says(r: &Run, needles: &[&str]) {
    for n in needles {
        assert!(r.stderr.contains(n), "stderr lacks {n:?}:\n{r}");
    }
}

#[test]
fn an_expired_session_key_is_named_with_when_and_how_to_add_it_again() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "brief");
    agent
        .signet([
            "add".as_ref(),
            "-t".as_ref(),
            "1s".as_ref(),
            key.private.as_os_str(),
        ])
        .assert_ok();
    std::thread::sleep(Duration::from_secs(2));
    let file = agent.dir().join("data");
    std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("{e}"));
    let r = agent.signet([
        "sign".as_ref(),
        "--key".as_ref(),
        "brief".as_ref(),
        file.as_os_str(),
    ]);
    r.assert_code(5);
    says(
        &r,
        &[
            "key \"brief\" is no longer loaded",
            "its lifetime of 1s ended",
            "ago",
            "signet add FILE -t DUR",
        ],
    );
    // The agent's own selection (sign-request) says the same; --json too.
    let r = agent.signet([
        "--json",
        "sign-request",
        "--key",
        "brief",
        "--method",
        "GET",
        "--url",
        "/v2/public/x",
    ]);
    r.assert_code(5);
    let doc = json(&r);
    assert_eq!(doc["error"]["kind"], "key_expired", "{r}");
    assert_eq!(doc["error"]["exit_code"], 5, "{r}");
    // With no key named and nothing loaded: the same explanation.
    let r = agent.signet(["sign-request", "--method", "GET", "--url", "/v2/public/x"]);
    r.assert_code(5);
    says(&r, &["\"brief\" is no longer loaded"]);
    // Added again: a plain "no such key" for a name never loaded.
    let r = agent.signet([
        "sign".as_ref(),
        "--key".as_ref(),
        "never".as_ref(),
        file.as_os_str(),
    ]);
    r.assert_code(5);
    assert!(!r.stderr.contains("lifetime"), "{r}");
}

#[test]
fn an_expired_stored_key_says_signet_load() {
    let agent = StoreAgent::start(Store::Keyutils);
    agent.signet(["generate", "stored-brief"]).assert_ok();
    agent
        .signet(["load", "stored-brief", "--lifetime", "1s"])
        .assert_ok();
    std::thread::sleep(Duration::from_secs(2));
    let r = agent.signet([
        "sign-request",
        "--key",
        "stored-brief",
        "--method",
        "GET",
        "--url",
        "/x",
    ]);
    r.assert_code(5);
    says(
        &r,
        &[
            "key \"stored-brief\" is no longer loaded",
            "lifetime of 1s",
            "signet load stored-brief",
        ],
    );
    // Loaded again, it signs, and is no longer reported as expired.
    agent.signet(["load", "stored-brief"]).assert_ok();
    agent
        .signet([
            "sign-request",
            "--key",
            "stored-brief",
            "--method",
            "GET",
            "--url",
            "/x",
        ])
        .assert_ok();
}

#[test]
fn a_locked_agent_says_its_keys_are_hidden_and_unlock_tells_wrong_from_not_locked() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "locked-key");
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    let r = run_with_input(
        agent
            .signet_command()
            .args(["unlock", "--passphrase-stdin"]),
        b"pw\n",
    );
    r.assert_ok();
    says(&r, &["the agent is not locked"]);
    run_with_input(
        agent.signet_command().args(["lock", "--passphrase-stdin"]),
        b"pw\n",
    )
    .assert_ok();
    let r = agent.signet(["status"]);
    r.assert_ok();
    assert!(r.stdout.contains("keys:    hidden while locked"), "{r}");
    assert!(!r.stdout.contains("keys:    0"), "{r}");
    let st = json(&agent.signet(["--json", "status"]));
    assert_eq!(
        (st["locked"].clone(), st["keys"].clone()),
        (Value::Bool(true), Value::Null)
    );
    let r = agent.signet(["list"]);
    r.assert_code(4);
    says(&r, &["hidden while locked", "signet unlock"]);
    // A wrong passphrase says so, and the agent stays locked.
    let r = run_with_input(
        agent
            .signet_command()
            .args(["unlock", "--passphrase-stdin"]),
        b"not-it\n",
    );
    r.assert_code(1);
    says(&r, &["wrong passphrase", "still locked"]);
    assert_eq!(json(&agent.signet(["--json", "status"]))["locked"], true);
    run_with_input(
        agent
            .signet_command()
            .args(["unlock", "--passphrase-stdin"]),
        b"pw\n",
    )
    .assert_ok();
    agent.signet(["list"]).assert_ok();
}

/// `$XDG_STATE_HOME/signet/run/agent.HOST.sock` in `agent`'s directory.
fn state_default(agent: &Agent) -> PathBuf {
    let uname = rustix::system::uname();
    let host = signet_proto::paths::host_label(&uname.nodename().to_string_lossy());
    agent
        .dir()
        .join("state/signet/run")
        .join(format!("agent.{host}.sock"))
}

/// `signet` with `agent`'s environment but no SIGNET_AUTH_SOCK: the
/// default paths decide.
fn signet_by_default(agent: &Agent) -> Command {
    let mut cmd = Command::new(bin("signet"));
    agent.clean_env(&mut cmd);
    cmd
}

/// A second `signetd` in an agent's directory, on another socket; killed
/// on drop.
struct Daemon(std::process::Child);

impl Daemon {
    fn start(agent: &Agent, socket: &Path) -> Self {
        let mut cmd = Command::new(bin("signetd"));
        agent.clean_env(&mut cmd);
        cmd.arg("--socket").arg(socket);
        let log = agent.dir().join(format!(
            "signetd-{}.log",
            socket
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let d = Daemon(agent.spawn_logged(&mut cmd, &log));
        wait_for(DEADLINE, "the second agent to answer", || {
            std::os::unix::net::UnixStream::connect(socket).ok()
        });
        d
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn another_agent_at_another_default_path_is_named_and_used_by_start() {
    // An agent where a shell without XDG_RUNTIME_DIR finds it (under
    // XDG_STATE_HOME); the CLI's shell has XDG_RUNTIME_DIR, whose default
    // path has no agent.
    let a = Agent::start();
    let state_sock = state_default(&a);
    let _other = Daemon::start(&a, &state_sock);

    let r = run(signet_by_default(&a).arg("status"));
    r.assert_code(3);
    says(
        &r,
        &[
            "but signetd",
            &format!("answers at {}", state_sock.display()),
            &format!("export SIGNET_AUTH_SOCK={};", state_sock.display()),
            "a second, empty agent",
        ],
    );
    let r = run(signet_by_default(&a).args(["--json", "list"]));
    r.assert_code(3);
    let doc = json(&r);
    assert_eq!(doc["error"]["kind"], "not_running", "{r}");
    assert_eq!(
        doc["other_agent"],
        state_sock.to_string_lossy().as_ref(),
        "{r}"
    );
    // `signet start` uses it rather than starting a second, empty agent.
    let r = run(signet_by_default(&a).arg("start"));
    r.assert_ok();
    assert_eq!(
        r.stdout,
        format!("export SIGNET_AUTH_SOCK={};\n", state_sock.display()),
        "{r}"
    );
    says(&r, &["already answers at", "rather than starting a second"]);
    let runtime_sock = a.dir().join("run/signet/agent.sock");
    assert!(!runtime_sock.exists(), "a second agent was started:\n{r}");
}

#[test]
fn with_both_default_agents_running_the_runtime_one_answers() {
    let a = Agent::start();
    let runtime_sock = a.dir().join("run/signet/agent.sock");
    let state_sock = state_default(&a);
    let _runtime = Daemon::start(&a, &runtime_sock);
    let _state = Daemon::start(&a, &state_sock);
    let st = json(&run(signet_by_default(&a).args(["--json", "status"])));
    assert_eq!(st["socket"], runtime_sock.to_string_lossy().as_ref());
    // The runtime one stops: the next command names the other.
    run(signet_by_default(&a).arg("stop")).assert_ok();
    let r = run(signet_by_default(&a).arg("list"));
    r.assert_code(3);
    says(&r, &[&format!("answers at {}", state_sock.display())]);
}

/// The dbus-daemon of the agent's private session (a child of the
/// dbus-run-session that is signetd's parent).
fn session_dbus_daemon(agent: &StoreAgent) -> i32 {
    let ppid = |pid: i32| -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let daemon = i32::try_from(agent.daemon_pid()).unwrap_or_else(|e| panic!("{e}"));
    let session = ppid(daemon).unwrap_or_else(|| panic!("no parent of signetd"));
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .find(|&pid| {
            ppid(pid) == Some(session)
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "dbus-daemon")
        })
        .unwrap_or_else(|| panic!("no dbus-daemon under dbus-run-session {session}"))
}

#[test]
fn a_dead_session_bus_says_restart_the_agent_not_switch_stores() {
    let agent = StoreAgent::start(Store::SecretService);
    agent.signet(["generate", "kept"]).assert_ok();
    let bus = session_dbus_daemon(&agent);
    if let Some(p) = rustix::process::Pid::from_raw(bus) {
        rustix::process::kill_process(p, rustix::process::Signal::KILL)
            .unwrap_or_else(|e| panic!("kill dbus-daemon: {e}"));
    }
    wait_for(DEADLINE, "the session bus to die", || {
        (!std::path::Path::new(&format!("/proc/{bus}/comm")).exists()
            || std::fs::read_to_string(format!("/proc/{bus}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            }))
        .then_some(())
    });
    for args in [&["generate", "other"][..], &["load", "kept"]] {
        let r = agent.signet(args);
        r.assert_code(1);
        says(
            &r,
            &[
                "D-Bus session bus",
                "no longer answers",
                "restart the agent",
                "stored keys are still in the keyring",
            ],
        );
        assert!(!r.stderr.contains("SIGNET_STORE=keyutils"), "{r}");
    }
}

#[test]
fn an_ecdsa_or_rsa_key_file_is_called_what_it_is() {
    let agent = Agent::start();
    for (kind, said) in [
        ("ecdsa", "an ECDSA key (ecdsa-sha2-nistp256)"),
        ("rsa", "an RSA key (ssh-rsa)"),
    ] {
        let key = agent.keygen(kind, &format!("{kind}-key"));
        for cmd in ["add", "import"] {
            let r = agent.signet([cmd.as_ref(), key.private.as_os_str()]);
            r.assert_code(1);
            says(
                &r,
                &[
                    said,
                    "signet holds Ed25519 keys only",
                    "ssh-keygen -t ed25519",
                ],
            );
            assert!(!r.stderr.contains("damaged"), "{r}");
        }
    }
    assert_eq!(agent.ssh_add(["-l"]).code(), Some(1), "nothing was added");
}

#[test]
fn confirm_without_an_askpass_in_the_agent_is_refused_with_the_way_out() {
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "wants-confirm");
    let r = agent.signet(["add".as_ref(), "-c".as_ref(), key.private.as_os_str()]);
    r.assert_code(1);
    says(
        &r,
        &[
            "no askpass program",
            "SIGNET_ASKPASS",
            "signet start",
            "nothing was added",
        ],
    );
    assert_eq!(
        agent.ssh_add(["-l"]).code(),
        Some(1),
        "the key was added anyway"
    );
    let r = agent.signet(
        ["--json", "add", "-c"]
            .iter()
            .map(|s| s.as_ref())
            .chain([key.private.as_os_str()]),
    );
    assert_eq!(json(&r)["error"]["kind"], "no_askpass", "{r}");
}

#[test]
fn remove_unloads_and_delete_deletes_with_a_real_keyring() {
    let agent = StoreAgent::start(Store::Keyutils);
    agent.signet(["generate", "kept"]).assert_ok();
    agent.signet(["load", "kept"]).assert_ok();
    let ids = agent.keyutils_entries();
    assert_eq!(ids.len(), 1);
    // remove: out of the agent, still in the keyring and the index.
    let r = agent.signet(["remove", "kept"]);
    r.assert_ok();
    says(
        &r,
        &["removed kept", "stays in the keyring", "signet delete kept"],
    );
    assert_eq!(agent.keyutils_entries(), ids);
    let row = |agent: &StoreAgent| {
        agent
            .list_json()
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["name"] == "kept").cloned())
    };
    assert_eq!(
        row(&agent).map(|r| r["loaded"].clone()),
        Some(Value::Bool(false))
    );
    // Old scripts' --yes deletes nothing any more.
    let r = agent.signet(["remove", "kept", "--yes"]);
    r.assert_code(5);
    says(
        &r,
        &[
            "--yes is ignored",
            "stored in the keyutils keyring but not loaded",
            "signet delete kept",
        ],
    );
    assert_eq!(agent.keyutils_entries(), ids);
    // remove --all unloads every key, deletes nothing.
    agent.signet(["load", "kept"]).assert_ok();
    agent.signet(["remove", "--all"]).assert_ok();
    assert_eq!(agent.keyutils_entries(), ids);
    // delete: refused without a terminal or --yes, then gone everywhere.
    let r = agent.signet(["delete", "kept"]);
    r.assert_code(1);
    says(&r, &["without confirmation", "--yes"]);
    assert_eq!(agent.keyutils_entries(), ids);
    agent.signet(["delete", "kept", "--yes"]).assert_ok();
    assert!(agent.keyutils_entries().is_empty());
    assert!(row(&agent).is_none());
    // A session key is not deleted: delete says how to unload it.
    let key = signet_tests::generate_key(&agent.dir().join("keys"), "ed25519", "session-only");
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    let r = agent.signet(["delete", "session-only", "--yes"]);
    r.assert_code(5);
    says(
        &r,
        &["not stored in the keyring", "signet remove session-only"],
    );
}
