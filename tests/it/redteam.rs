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
