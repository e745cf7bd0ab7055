//! Prompts and logs that cannot be forged (issue 15): text a peer chooses
//! — a key's name or comment, a request's method and target, the path of
//! the caller's executable, a key file's path — reaches the askpass
//! prompt, the daemon's log, the client's error, `signet list` and
//! `signet audit tail` escaped, so a newline, a carriage return, an ESC
//! sequence or a NUL can never add a line ("Requested by uid 0:
//! /usr/sbin/sshd"), rewrite one or recolour the terminal.
//!
//! Played with real processes: the real `signet` CLI copied to a path
//! made of such characters signs through the real agent, whose fake
//! askpass records the exact bytes of each prompt; hostile names, targets
//! and methods go over the wire as the bytes a hostile client would send.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use signet_proto::encord::Scheme;
use signet_proto::extension::{ErrorCode, ExtensionError, SignHttpRequest, SIGN_REQUEST};
use signet_proto::text::escape;
use signet_proto::{Constraint, Request, Response};
use signet_tests::{Agent, AgentOptions, TestKey};

/// The line a forger wants the user to read.
const FORGED: &str = "Requested by uid 0: /usr/sbin/sshd";

/// Text with every character that could forge or hide a line.
fn hostile(prefix: &str) -> String {
    format!("{prefix}\n{FORGED}\r\u{1b}[2K\u{1b}[31m\0")
}

/// An agent whose askpass appends each prompt's exact bytes, NUL-ended,
/// to `prompts` and says no.
fn agent(config: &str) -> Agent {
    Agent::start_customized(
        AgentOptions {
            config: Some(config.to_owned()),
            ..AgentOptions::default()
        },
        |dir, cmd| {
            let script = dir.join("record-askpass");
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\nprintf '%s\\0' \"$1\" >> '{}'\nexit 1\n",
                    dir.join("prompts").display()
                ),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700))
                .unwrap_or_else(|e| panic!("{e}"));
            cmd.env("SIGNET_ASKPASS", script);
        },
    )
}

fn prompts(agent: &Agent) -> Vec<String> {
    std::fs::read(agent.dir().join("prompts"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Nothing a peer chose got into the log raw: no line begins with the
/// forged text, and no carriage return, ESC or NUL is in it at all.
fn assert_log_unforged(agent: &Agent) {
    let log = agent.log();
    for bad in ['\r', '\u{1b}', '\0'] {
        assert!(!log.contains(bad), "{bad:?} in the log:\n{log}");
    }
    for line in log.lines() {
        assert!(
            !line.trim_start().starts_with("Requested by"),
            "a forged log line: {line:?}"
        );
    }
}

/// A TOML basic string holding `s`.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `sign-request@signet` as a hostile client sends it: the reply.
fn sign_request(agent: &Agent, key: &str, scheme: Scheme, method: &str, target: &str) -> Response {
    let mut contents = Vec::new();
    SignHttpRequest {
        key,
        scheme,
        method,
        target,
        body_sha256: [9; 32],
    }
    .encode(&mut contents);
    agent.connect().request(&Request::Extension {
        name: SIGN_REQUEST,
        contents: &contents,
    })
}

fn failure(reply: &Response) -> ExtensionError {
    match reply {
        Response::ExtensionFailure(contents) => ExtensionError::decode(contents)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("a failure without a reason")),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// The real CLI, copied to a path made of a forged line, ESC sequences
/// and a carriage return (`…/x\nRequested by uid 0: /usr/sbin/sshd\r…/signet`).
fn hostile_cli(agent: &Agent) -> PathBuf {
    let dir = agent
        .dir()
        .join(format!("x\n{FORGED}\r\u{1b}[2K\u{1b}[31m"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let exe = dir.join("signet");
    std::fs::copy(signet_tests::bin("signet"), &exe).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    exe
}

fn run_as(agent: &Agent, exe: &Path, args: &[&str]) -> signet_tests::Run {
    let mut cmd = Command::new(exe);
    agent.clean_env(&mut cmd);
    cmd.env("SIGNET_AUTH_SOCK", agent.socket());
    signet_tests::run(cmd.args(args))
}

const SIGN_GET: &[&str] = &[
    "--method",
    "GET",
    "--url",
    "https://api.encord.com/v2/public/projects",
    "--format",
    "headers",
];

/// The executable's path in the prompt, the client's error, the log, the
/// audit record and `signet audit tail`: escaped wherever a person reads
/// it, kept exactly in the audit record (JSON), and never a line of its own.
#[test]
fn a_hostile_executable_path_forges_no_prompt_or_log_line() {
    let agent = agent(
        "[policies.only-sleep]\nexecutables = [\"/usr/bin/sleep\"]\n[keys.ruled]\npolicy = \"only-sleep\"\n",
    );
    let confirm = TestKey::from_seed(71, "confirm-me");
    let ruled = TestKey::from_seed(72, "ruled");
    let mut conn = agent.connect();
    assert_eq!(
        conn.request(&confirm.add_request(vec![Constraint::Confirm])),
        Response::Success
    );
    assert_eq!(conn.request(&ruled.add_request(vec![])), Response::Success);
    let exe = hostile_cli(&agent);
    let shown_exe = escape(&exe.display().to_string());
    assert!(!shown_exe.contains(['\n', '\r', '\u{1b}']), "{shown_exe}");

    // The confirmation prompt: two lines, the second the real one.
    let mut args = vec!["sign-request", "--key", "confirm-me"];
    args.extend_from_slice(SIGN_GET);
    let r = run_as(&agent, &exe, &args);
    r.assert_fail();
    let shown = prompts(&agent);
    assert_eq!(shown.len(), 1, "{shown:?}\n{}", agent.log());
    let prompt = &shown[0];
    let lines: Vec<&str> = prompt.split('\n').collect();
    assert_eq!(lines.len(), 2, "{prompt:?}");
    assert_eq!(
        lines[0],
        "Allow key \"confirm-me\" to sign GET /v2/public/projects?"
    );
    let requested = format!("Requested by uid {}: {shown_exe} (", signet_tests::my_uid());
    assert!(
        lines[1].starts_with(&requested),
        "{:?}\nexpected it to start with {requested:?}",
        lines[1]
    );
    assert!(!prompt.contains(['\r', '\u{1b}', '\0']), "{prompt:?}");

    // A rule refuses it: the reason names it escaped, to the client and in
    // the log; the audit record keeps the real path.
    let mut args = vec!["sign-request", "--key", "ruled"];
    args.extend_from_slice(SIGN_GET);
    let r = run_as(&agent, &exe, &args);
    r.assert_fail();
    let reason = format!("key ruled: caller executable {shown_exe} not allowed by rule only-sleep");
    assert!(r.stderr.contains(&reason), "{r}\nexpected {reason:?}");
    assert!(!r.stderr.contains(['\r', '\u{1b}']), "{r}");
    agent.wait_log_line(&["refused", &reason]);
    let audit = std::fs::read_to_string(agent.dir().join("state/signet/audit.log"))
        .unwrap_or_else(|e| panic!("{e}"));
    let record = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["key"] == "ruled")
        .unwrap_or_else(|| panic!("no record of ruled:\n{audit}"));
    assert_eq!(record["exe"], exe.display().to_string().as_str());
    assert_eq!(record["reason"], reason.as_str());
    assert_log_unforged(&agent);

    // `signet audit tail`: the entry's caller and reason, escaped, one line.
    let r = agent.signet(["audit", "tail", "--key", "ruled"]);
    r.assert_ok();
    assert!(!r.stdout.contains(['\r', '\u{1b}', '\0']), "{r}");
    let entry: Vec<&str> = r.stdout.lines().filter(|l| l.contains("ruled")).collect();
    assert_eq!(entry.len(), 1, "{r}");
    let who = format!(
        "uid {} pid {} {shown_exe}",
        signet_tests::my_uid(),
        record["pid"]
    );
    assert!(entry[0].contains(&who), "{:?}\nexpected {who:?}", entry[0]);
    assert!(
        entry[0].ends_with(&format!("  rule only-sleep  ({reason})")),
        "{:?}",
        entry[0]
    );
}

/// Targets and methods with control characters are refused before any
/// prompt, for v1 (which signs only the body's digest) as for v2; a key
/// selector with them is named escaped in the error and the log.
#[test]
fn hostile_targets_methods_and_selectors_are_refused_or_escaped() {
    let agent = agent("");
    let confirm = TestKey::from_seed(73, "confirm-me");
    let mut conn = agent.connect();
    assert_eq!(
        conn.request(&confirm.add_request(vec![Constraint::Confirm])),
        Response::Success
    );
    for scheme in [Scheme::EncordV1, Scheme::EncordV2] {
        for target in [
            format!("/public\n{FORGED}"),
            "/public\r".to_owned(),
            "/public\u{1b}[2K".to_owned(),
            "/public\0".to_owned(),
        ] {
            let e = failure(&sign_request(&agent, "confirm-me", scheme, "POST", &target));
            assert_eq!(
                e.code,
                ErrorCode::BadRequest,
                "{scheme:?} {target:?}: {e:?}"
            );
            assert!(
                e.reason.contains("request target: must be printable ASCII"),
                "{e:?}"
            );
        }
        for method in ["PO\nST", "GET\u{1b}[2K", "GET\0"] {
            let e = failure(&sign_request(
                &agent,
                "confirm-me",
                scheme,
                method,
                "/public",
            ));
            assert_eq!(
                e.code,
                ErrorCode::BadRequest,
                "{scheme:?} {method:?}: {e:?}"
            );
            assert!(e.reason.contains("not an HTTP method token"), "{e:?}");
        }
    }
    assert_eq!(prompts(&agent), Vec::<String>::new(), "a prompt was shown");
    // A valid v1 request does reach the prompt: only the digest is signed,
    // and the method and target shown are the checked ones.
    let e = failure(&sign_request(
        &agent,
        "confirm-me",
        Scheme::EncordV1,
        "post",
        "/public/user",
    ));
    assert_eq!(e.code, ErrorCode::Refused, "{e:?}");
    let shown = prompts(&agent);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0]
            .starts_with("Allow key \"confirm-me\" to sign POST /public/user?\nRequested by uid "),
        "{:?}",
        shown[0]
    );
    assert_eq!(shown[0].split('\n').count(), 2, "{:?}", shown[0]);

    // A selector naming no key.
    let selector = hostile("nope");
    let e = failure(&sign_request(
        &agent,
        &selector,
        Scheme::EncordV2,
        "GET",
        "/v2/public/x",
    ));
    assert_eq!(e.code, ErrorCode::NoSuchKey);
    assert_eq!(
        e.reason,
        format!(
            "key \"{}\" is not loaded: `signet list` shows the loaded keys",
            escape(&selector)
        )
    );
    assert_eq!(
        escape(&selector),
        "nope\\nRequested by uid 0: /usr/sbin/sshd\\r\\u{1b}[2K\\u{1b}[31m\\u{0}"
    );
    assert_log_unforged(&agent);
}

/// Key names and comments with control characters are refused
/// (`ADD_IDENTITY`), and the refusal names them escaped; the log names a
/// key file's hostile path escaped; `signet list` shows one line a key.
#[test]
fn hostile_names_are_refused_and_paths_in_the_log_escaped() {
    let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = base.path().join(format!("k\n{FORGED}\r\u{1b}[2K"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    signet_tests::chmod(&dir, 0o700);
    let key = signet_tests::generate_key(&dir, "ed25519", "from-file");
    let agent = agent(&format!(
        "[keys.from-file]\nsource = \"file\"\npath = {}\n",
        toml_string(&key.private.display().to_string())
    ));
    // The path, as the log names it (escaped by the log's own guard: the
    // message puts it in unescaped).
    let shown_path = escape(&key.private.display().to_string());
    assert!(
        shown_path.contains("k\\nRequested by uid 0: /usr/sbin/sshd\\r\\u{1b}[2K/"),
        "{shown_path}"
    );
    agent.wait_log_line(&["loaded configured key", "from-file", &shown_path]);

    let mut conn = agent.connect();
    for comment in [
        hostile("ci"),
        "ci\rINFO".to_owned(),
        "ci\u{1b}[2K".to_owned(),
        "ci\0x".to_owned(),
    ] {
        let reply = conn.request(&TestKey::from_seed(74, &comment).add_request(vec![]));
        assert_eq!(reply, Response::Failure, "{comment:?}");
        agent.wait_log_line(&["key name", &escape(&comment)]);
    }
    // Nothing was added.
    assert_eq!(signet_tests::list_identities(&mut conn).len(), 1);
    assert_log_unforged(&agent);

    // `signet list`: the one key, on one line, nothing hostile.
    let r = agent.signet(["list"]);
    r.assert_ok();
    assert!(!r.stdout.contains(['\r', '\u{1b}', '\0']), "{r}");
    assert_eq!(r.stdout.lines().count(), 2, "{r}");
    assert!(
        r.stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("from-file ")),
        "{r}"
    );
    for line in r.stdout.lines() {
        assert!(!line.trim_start().starts_with("Requested by"), "{line:?}");
    }
}
