//! Red-team regressions: attacks on main that worked, each kept as a test
//! that failed before its fix. Real processes, real uids (a `TempUser` made
//! with `useradd`, run with `setpriv`), real sockets and the exact bytes on
//! the wire.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use signet_proto::encord::Scheme;
use signet_proto::extension::{ErrorCode, Extension, ExtensionError, SignHttpRequest};
use signet_proto::Response;
use signet_tests::{bin, chmod, run, shared_tempdir, Agent, AgentOptions, TempUser, TestKey};

/// A line the attacker wants in the daemon's log, as signetd's own
/// formatter writes one (time, level, target).
const FORGED: &str = "2026-01-01T00:00:00.000000Z  INFO signetd: key ci-bot unlocked by root";

/// The executable of a refused connection is read from `/proc/PID/exe`, a
/// path the refused user chose: a newline in its file name used to end the
/// daemon's warning there and start a line of the attacker's (under
/// systemd, a journal entry of its own from `signetd`). Another user, whom
/// the allow-list refuses, must not be able to make the log lie.
#[test]
fn a_refused_users_executable_name_cannot_add_a_line_to_the_daemons_log() {
    let base = shared_tempdir();
    let socket = base.path().join("run/agent.sock");
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some("[system]\nallow_uids = []\n".to_owned()),
        args: vec!["--system".to_owned()],
    });
    let outsider = TempUser::create("rtlog");
    let evil = base.path().join("evil");
    fs::create_dir(&evil).unwrap_or_else(|e| panic!("{e}"));
    chmod(&evil, 0o755);
    let program = evil.join(format!("signet\n{FORGED}"));
    fs::copy(bin("signet"), &program).unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    outsider.chown(&program);

    let r = run(outsider
        .command(&program)
        .env("SIGNET_AUTH_SOCK", &socket)
        .arg("list"));
    r.assert_fail();
    assert!(r.stderr.contains("is not allowed"), "{r}");

    let line = agent.wait_log_line(&["refused connection", &format!("uid {}", outsider.uid)]);
    let log = agent.log();
    assert!(
        !log.lines().any(|l| l.starts_with(FORGED)),
        "the refused user added a line to the daemon's log:\n{log}"
    );
    // The executable is still named, escaped on the warning's own line.
    assert!(line.contains("signet\\n2026-01-01T00:00:00"), "{line}");
}

/// A rule's `targets` are globs on the request target the agent signs.
/// `/v2/public/projects/../datasets/x` matches `/v2/public/projects*`, but
/// a server or proxy that resolves dot-segments (RFC 3986 §5.2.4) acts on
/// `/v2/public/datasets/x`, which the rule refuses; and the signature is
/// valid for the literal target the attacker sends with `curl
/// --path-as-is`. Such a target is refused for every key before any rule
/// is asked, with a reason, and nothing is signed.
#[test]
fn a_target_with_dot_segments_is_not_signed_under_a_targets_rule() {
    let agent = Agent::start_with(AgentOptions {
        config: Some(
            "[policies.projects-read]\nschemes = [\"encord-v2\"]\nmethods = [\"GET\"]\n\
             targets = [\"/v2/public/projects*\"]\n[keys.ci-bot]\npolicy = \"projects-read\"\n"
                .to_owned(),
        ),
        ..AgentOptions::default()
    });
    let key = TestKey::from_seed(41, "ci-bot");
    let mut conn = agent.connect();
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Success);

    let sign = |conn: &mut signet_tests::RawConn, target: &str| {
        let ext = Extension::SignRequest(SignHttpRequest {
            key: "ci-bot",
            scheme: Scheme::EncordV2,
            method: "GET",
            target,
            body_sha256: [0; 32],
        });
        let mut frame = Vec::new();
        ext.encode_frame(&mut frame);
        conn.request_body(&frame[4..])
    };
    // The control: a target the rule allows is signed.
    assert!(
        matches!(
            sign(&mut conn, "/v2/public/projects/p1"),
            Response::ExtensionResponse { .. }
        ),
        "the control request was not signed"
    );
    for target in [
        "/v2/public/projects/../datasets/d1",
        "/v2/public/projects/%2e%2e/datasets/d1",
        "/v2/public/projects/.%2E/datasets/d1",
        "/v2/public/projects/./../../v2/public/datasets/d1",
    ] {
        match sign(&mut conn, target) {
            Response::ExtensionFailure(contents) => {
                let err = ExtensionError::decode(&contents)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| panic!("{target}: a failure without a reason"));
                assert_eq!(err.code, ErrorCode::BadRequest, "{target}: {}", err.reason);
                assert!(
                    err.reason.contains("path segment"),
                    "{target}: {}",
                    err.reason
                );
            }
            other => panic!("{target} was answered with {other:?}: signed under the rule"),
        }
    }
    // The CLI says the same before it sends anything.
    let r = agent.signet([
        "sign-request",
        "--key",
        "ci-bot",
        "--method",
        "GET",
        "--url",
        "https://api.encord.com/v2/public/projects/../datasets/d1",
    ]);
    r.assert_fail();
    assert!(r.stderr.contains("path segment"), "{r}");
}

/// The stopped agent's log, cut back to an older seal, with `audit.head`
/// deleted: nothing else remembers the later seals (no journal here), so
/// the agent used to resume the cut log as if it ended there, and `signet
/// audit verify` said "intact" with the last signatures' records gone. A
/// log with seals of the agent's own key but no head file is not resumed:
/// the agent starts a new chain naming it, and verify reports that.
#[test]
fn a_log_cut_back_with_its_head_file_deleted_is_not_resumed_in_silence() {
    let mut agent = Agent::start_with(AgentOptions {
        config: Some("[audit]\nseal_every = 3\n".to_owned()),
        ..AgentOptions::default()
    });
    let key = agent.keygen("ed25519", "audited");
    agent
        .signet([std::ffi::OsStr::new("add"), key.private.as_os_str()])
        .assert_ok();
    for i in 0..7 {
        let url = format!("/v2/public/projects/p{i}");
        agent
            .signet(["sign-request", "--method", "GET", "--url", &url])
            .assert_ok();
    }
    let pubkey = agent.signet(["audit", "pubkey"]);
    pubkey.assert_ok();
    let pubkey = pubkey.stdout.trim().to_owned();
    agent.signet(["stop"]).assert_ok();
    agent.wait_exit();
    let log = agent.dir().join("state/signet/audit.log");
    let text = fs::read_to_string(&log).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = text.lines().collect();
    // The attacker keeps everything up to the second seal (a valid,
    // sealed prefix) and removes the head file that names a later one.
    let seals: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"event\":\"seal\""))
        .map(|(i, _)| i)
        .collect();
    assert!(seals.len() >= 3, "too few seals to cut back to:\n{text}");
    let cut = seals[1] + 1;
    assert!(cut < lines.len() - 1, "nothing after the seal to hide");
    let hidden = lines[cut..]
        .iter()
        .filter(|l| l.contains("\"event\":\"sign\""))
        .count();
    assert!(hidden > 0, "the cut hides no signature:\n{text}");
    fs::write(&log, format!("{}\n", lines[..cut].join("\n"))).unwrap_or_else(|e| panic!("{e}"));
    fs::remove_file(log.with_file_name("audit.head")).unwrap_or_else(|e| panic!("{e}"));

    // Checked while the agent is stopped, with the key kept elsewhere.
    let r = agent.signet(["audit", "verify", "--pubkey", &pubkey]);
    assert!(
        !r.stdout.contains("audit log intact"),
        "verify --pubkey calls the cut log intact:\n{r}"
    );
    r.assert_fail();
    assert!(r.stderr.contains("audit.head is missing"), "{r}");

    agent.restart();
    let r = agent.signet(["audit", "verify"]);
    assert!(
        !r.stdout.contains("audit log intact"),
        "verify calls a log cut back by {} lines ({hidden} signatures) intact:\n{r}",
        lines.len() - cut
    );
    r.assert_fail();
    assert!(r.stderr.contains("audit.head is missing"), "{r}");
    // The cut log is kept, not lost.
    let kept = fs::read_dir(agent.dir().join("state/signet"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("audit.log.broken-")
        });
    assert!(kept, "the cut log was not kept aside");
}

/// A connection flood by a user the allow-list refuses fills the system
/// agent's listen queue faster than any agent accepts (connect costs the
/// flooder microseconds; each refusal costs the agent far more). A
/// non-blocking `connect` then fails at once with `EAGAIN`: the Python
/// adapter (a socket with a timeout) and the tokio client failed every call
/// of an allowed job for as long as the flood lasted, where the blocking
/// client waits in the kernel for its turn. Both now wait as it does (the
/// adapter for at most its timeout), so the job's calls succeed, later.
#[test]
fn a_refused_users_connection_flood_does_not_fail_an_allowed_jobs_calls() {
    let base = shared_tempdir();
    let keys = base.path().join("keys");
    let key = signet_tests::generate_key(&keys, "ed25519", "ci-bot");
    chmod(&keys, 0o700);
    let job = TempUser::create("rtjob");
    let outsider = TempUser::create("rtflood");
    let socket = base.path().join("run/agent.sock");
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(format!(
            "[system]\nallow_uids = [\"{}\"]\n\n[keys.ci-bot]\nsource = \"file\"\npath = \"{}\"\n",
            job.name,
            key.private.display()
        )),
        args: vec!["--system".to_owned()],
    });
    agent.wait_log_line(&["listening", "system=true"]);
    let python = signet_tests::system_tool("/usr/bin/python3");
    let adapter = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../python");

    // The flood: connect and close as fast as possible, counting the
    // connects the full queue refused (EAGAIN), for FLOOD seconds.
    const FLOOD: &str = "12";
    let flood = r#"
import socket, sys, time
end = time.time() + float(sys.argv[2]); full = 0
while time.time() < end:
    s = socket.socket(socket.AF_UNIX); s.settimeout(2)
    try:
        s.connect(sys.argv[1])
    except BlockingIOError:
        full += 1
    except OSError:
        pass
    s.close()
print(full)
"#;
    let flooders: Vec<std::process::Child> = (0..4)
        .map(|_| {
            outsider
                .command(&python)
                .args(["-c", flood])
                .arg(&socket)
                .arg(FLOOD)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("starting a flooder: {e}"))
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_secs(1));

    // The job signs through the Python adapter and the tokio client while
    // the flood lasts.
    let sign = r#"
import hashlib, sys
sys.path.insert(0, sys.argv[2])
from signet_encord.agent import AgentClient
ok = 0
for i in range(5):
    c = AgentClient(sys.argv[1], timeout=30)
    try:
        c.sign_request("encord-v2", "GET", "/v2/public/projects/p%d" % i, hashlib.sha256(b"").digest(), key="ci-bot")
        ok += 1
    except Exception as e:
        print("error:", e)
    c.close()
print("signed", ok)
"#;
    let py = run(job
        .command(&python)
        .args(["-c", sign])
        .arg(&socket)
        .arg(&adapter));
    let tokio_runs: Vec<signet_tests::Run> = (0..3)
        .map(|_| {
            run(job
                .command(bin("signet-it-client"))
                .arg("tokio")
                .arg(&socket))
        })
        .collect();

    let full: u64 = flooders
        .into_iter()
        .map(|c| {
            let out = c
                .wait_with_output()
                .unwrap_or_else(|e| panic!("a flooder: {e}"));
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
        })
        .sum();
    // Honest only if the queue was full at times: the flood worked.
    assert!(
        full > 0,
        "the flood never filled the agent's listen queue: this test proves nothing here"
    );
    assert!(
        py.stdout.contains("signed 5"),
        "the Python adapter failed during a flood ({full} connects found the queue full):\n{py}"
    );
    for r in &tokio_runs {
        assert!(
            r.stdout.starts_with("ok protocol="),
            "the tokio client failed during a flood ({full} connects found the queue full):\n{r}"
        );
    }
}

/// A `--state-dir` another user made first (a shared place, a path the
/// operator named before creating it): signetd, as root, used it, and
/// opened `audit.lock` and `audit.log` through whatever links that user
/// planted there, truncating and writing to any file on the machine (here
/// a root-only file became signetd's pid). A state directory that is not
/// signetd's own, or that others may write, is refused at start-up with a
/// message naming it, and no file is opened through a link.
#[test]
fn a_state_directory_another_user_made_is_refused_and_never_written_through() {
    let base = shared_tempdir();
    let root_only = base.path().join("root-only");
    fs::create_dir(&root_only).unwrap_or_else(|e| panic!("{e}"));
    chmod(&root_only, 0o700);
    let precious = root_only.join("precious");
    fs::write(&precious, "root's data\n").unwrap_or_else(|e| panic!("{e}"));
    let attacker = TempUser::create("rtstate");
    let state = base.path().join("state");
    fs::create_dir(&state).unwrap_or_else(|e| panic!("{e}"));
    chmod(&state, 0o777);
    attacker.chown(&state);
    for name in ["audit.lock", "audit.log"] {
        run(attacker
            .command("/bin/ln")
            .arg("-s")
            .arg(&precious)
            .arg(state.join(name)))
        .assert_ok();
    }
    let config = base.path().join("signetd.toml");
    fs::write(&config, "[system]\nallow_uids = []\n").unwrap_or_else(|e| panic!("{e}"));
    let home = base.path().join("home");
    fs::create_dir(&home).unwrap_or_else(|e| panic!("{e}"));
    chmod(&home, 0o700);
    let r = signet_tests::run_timeout(
        std::process::Command::new(bin("signetd"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env(
                "SIGNET_KEYRING_SERVICE",
                format!("signet-it-{}", attacker.name),
            )
            .arg("--system")
            .arg("--config")
            .arg(&config)
            .arg("--socket")
            .arg(base.path().join("run/agent.sock"))
            .arg("--state-dir")
            .arg(&state),
        std::time::Duration::from_secs(20),
    );
    assert!(
        !r.status.success() && r.code().is_some(),
        "signetd ran with another user's state directory:\n{r}"
    );
    assert_eq!(
        fs::read_to_string(&precious).unwrap_or_default(),
        "root's data\n",
        "signetd wrote through a link in another user's state directory"
    );
    assert!(
        r.stderr
            .contains(&format!("the audit log's directory {}", state.display()))
            && r.stderr
                .contains(&format!("is owned by uid {}", attacker.uid)),
        "{r}"
    );
}
