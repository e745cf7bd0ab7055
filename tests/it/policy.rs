//! Per-key policy (`[policies.NAME]`, `[keys.KEY] policy`) against the real
//! daemon: each dimension allowed and refused through the Rust client, the
//! `signet` CLI and OpenSSH's own tools; `signet list` and `signet explain`;
//! SIGHUP reload.

use std::fs;

use serde_json::Value;
use signet_client::{Client, Error, ErrorCode, Scheme};
use signet_tests::{bin, wait_for, Agent, AgentOptions};

const READ_ONLY: &str = r#"
[policies.read-only]
schemes = ["encord-v2"]
methods = ["GET", "POST"]
targets = ["/v2/public/projects*", "/v2/public/user*"]

[keys.ci-bot]
policy = "read-only"
"#;

fn start(config: &str) -> Agent {
    Agent::start_with(AgentOptions {
        config: Some(config.to_owned()),
        ..AgentOptions::default()
    })
}

/// Adds a fresh key named `name`; returns its files.
fn add(agent: &Agent, name: &str) -> signet_tests::KeyFiles {
    let key = agent.keygen("ed25519", name);
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    key
}

fn client(agent: &Agent) -> Client {
    Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("connect: {e}"))
}

fn refusal(r: signet_client::Result<signet_client::SignedHeaders>) -> (String, Option<ErrorCode>) {
    match r {
        Err(Error::Refused { reason, code }) => (reason, code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn json(r: &signet_tests::Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{r}"))
}

#[test]
fn read_only_http_key_through_client_cli_and_ssh_tools() {
    let agent = start(READ_ONLY);
    let key = add(&agent, "ci-bot");
    add(&agent, "free");
    let mut c = client(&agent);

    // Allowed: v2 GET and a listed POST path.
    c.sign_request_body(
        Some("ci-bot"),
        Scheme::EncordV2,
        "GET",
        "https://api.encord.com/v2/public/projects/p1",
        b"",
    )
    .unwrap_or_else(|e| panic!("GET refused: {e}"));
    // Refused, with the reason and code 3 (Refused) in the Rust error.
    let (reason, code) = refusal(c.sign_request_body(
        Some("ci-bot"),
        Scheme::EncordV2,
        "DELETE",
        "https://api.encord.com/v2/public/projects/p1",
        b"",
    ));
    assert_eq!(
        reason,
        "key ci-bot: method DELETE not allowed by rule read-only"
    );
    assert_eq!(code, Some(ErrorCode::Refused));
    let (reason, _) = refusal(c.sign_request_body(
        Some("ci-bot"),
        Scheme::EncordV2,
        "GET",
        "https://api.encord.com/v2/public/datasets",
        b"",
    ));
    assert_eq!(
        reason,
        "key ci-bot: target /v2/public/datasets not allowed by rule read-only"
    );
    let (reason, _) = refusal(c.sign_request_body(
        Some("ci-bot"),
        Scheme::EncordV1,
        "POST",
        "https://api.encord.com/public",
        b"{}",
    ));
    assert_eq!(
        reason,
        "key ci-bot: scheme encord-v1 not allowed by rule read-only"
    );
    // The key without a policy signs anything.
    c.sign_request_body(
        Some("free"),
        Scheme::EncordV2,
        "DELETE",
        "/v2/public/x",
        b"",
    )
    .unwrap_or_else(|e| panic!("unrestricted key refused: {e}"));

    // The CLI: the reason on stderr, exit 1.
    let r = agent.signet([
        "sign-request",
        "--key",
        "ci-bot",
        "--method",
        "DELETE",
        "--url",
        "https://api.encord.com/v2/public/projects/p1",
    ]);
    r.assert_code(1);
    assert_eq!(
        r.stderr.trim(),
        "signet: key ci-bot: method DELETE not allowed by rule read-only",
        "{r}"
    );
    agent
        .signet([
            "sign-request",
            "--key",
            "ci-bot",
            "--method",
            "GET",
            "--url",
            "/v2/public/projects",
        ])
        .assert_ok();

    // Raw signing (SSH scheme): refused for ci-bot, by `signet sign` and by
    // `ssh-keygen -Y sign` (plain FAILURE; the agent's log says why).
    let msg = agent.dir().join("msg");
    fs::write(&msg, b"data").unwrap_or_else(|e| panic!("{e}"));
    let r = agent.signet([
        "sign".as_ref(),
        "--key".as_ref(),
        "ci-bot".as_ref(),
        msg.as_os_str(),
    ]);
    r.assert_code(1);
    agent
        .signet([
            "sign".as_ref(),
            "--key".as_ref(),
            "free".as_ref(),
            msg.as_os_str(),
        ])
        .assert_ok();
    let r = agent.ssh_keygen([
        "-Y".as_ref(),
        "sign".as_ref(),
        "-n".as_ref(),
        "file".as_ref(),
        "-f".as_ref(),
        key.public.as_os_str(),
        msg.as_os_str(),
    ]);
    assert!(
        r.code() != Some(0),
        "ssh-keygen signed with an HTTP-only key: {r}"
    );
    agent.wait_log_line(&["refused: key ci-bot: scheme ssh not allowed by rule read-only"]);

    // `signet list`: the policy on one line per key, and in JSON.
    let r = agent.signet(["list"]);
    r.assert_ok();
    let lines: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("policy of"))
        .collect();
    assert_eq!(
        lines,
        vec!["policy of ci-bot: read-only: schemes encord-v2; methods GET,POST; targets /v2/public/projects*,/v2/public/user*"],
        "{r}"
    );
    let doc = json(agent.signet(["list", "--json"]).assert_ok());
    let rows = doc.as_array().cloned().unwrap_or_default();
    let policy_of = |name: &str| {
        rows.iter()
            .find(|k| k["name"] == name)
            .map(|k| k["policy"].clone())
            .unwrap_or(Value::Null)
    };
    assert!(
        policy_of("ci-bot")
            .as_str()
            .is_some_and(|p| p.starts_with("read-only: schemes encord-v2")),
        "{doc}"
    );
    assert_eq!(policy_of("free"), Value::Null);
}

#[test]
fn explain_is_a_dry_run_of_the_same_decision() {
    let agent = start(
        &(READ_ONLY.to_owned()
            + "[policies.slow]\nrate_per_minute = 1\n[keys.slow]\npolicy = \"slow\"\n"),
    );
    add(&agent, "ci-bot");
    add(&agent, "slow");
    let r = agent.signet([
        "explain",
        "--key",
        "ci-bot",
        "--method",
        "DELETE",
        "--url",
        "https://api.encord.com/v2/public/projects/p",
    ]);
    r.assert_code(1);
    assert!(
        r.stdout
            .starts_with("refused: key ci-bot: method DELETE not allowed by rule read-only\npolicy: read-only: schemes encord-v2"),
        "{r}"
    );
    let r = agent.signet([
        "explain",
        "--key",
        "ci-bot",
        "--method",
        "GET",
        "--url",
        "/v2/public/projects/p",
    ]);
    r.assert_ok();
    assert!(
        r.stdout
            .starts_with("allowed: key ci-bot: allowed by rule read-only"),
        "{r}"
    );
    let r = agent.signet(["explain", "--key", "ci-bot", "--ssh"]);
    r.assert_code(1);
    assert!(r.stdout.contains("scheme ssh not allowed"), "{r}");
    let doc = json(&agent.signet([
        "--json",
        "explain",
        "--key",
        "ci-bot",
        "--scheme",
        "encord-v1",
        "--method",
        "POST",
        "--url",
        "/public",
    ]));
    assert_eq!(doc["allowed"], false);
    assert_eq!(doc["rule"], "read-only");
    assert_eq!(
        doc["reason"],
        "key ci-bot: scheme encord-v1 not allowed by rule read-only"
    );
    // A dry run takes no rate-limit token: explain many times, then sign once.
    for _ in 0..5 {
        agent
            .signet([
                "explain", "--key", "slow", "--method", "GET", "--url", "/v2/x",
            ])
            .assert_ok();
    }
    agent
        .signet([
            "sign-request",
            "--key",
            "slow",
            "--method",
            "GET",
            "--url",
            "/v2/x",
        ])
        .assert_ok();
    // The second real signature within the minute is refused.
    let r = agent.signet([
        "sign-request",
        "--key",
        "slow",
        "--method",
        "GET",
        "--url",
        "/v2/x",
    ]);
    r.assert_code(1);
    assert!(
        r.stderr
            .contains("key slow: rate limit of rule slow reached; retry in"),
        "{r}"
    );
    // Unknown key: exit 5 as everywhere.
    agent
        .signet([
            "explain", "--key", "nope", "--method", "GET", "--url", "/v2/x",
        ])
        .assert_code(5);
}

#[test]
fn callers_by_uid_group_executable_and_unit() {
    // Rules name the resolved path, as /proc/PID/exe shows it.
    let signet = fs::canonicalize(bin("signet"))
        .unwrap_or_else(|e| panic!("{e}"))
        .display()
        .to_string();
    let agent = start(&format!(
        r#"
[policies.uid-12345]
uids = [12345]
[keys.by-uid]
policy = "uid-12345"

[policies.root-group]
groups = [0]
[keys.by-group]
policy = "root-group"

[policies.other-group]
groups = [54321]
[keys.by-other-group]
policy = "other-group"

[policies.cli-only]
executables = [{signet:?}]
[keys.by-exe]
policy = "cli-only"

[policies.ci-unit]
units = ["ci-runner.service"]
[keys.by-unit]
policy = "ci-unit"
"#
    ));
    for name in ["by-uid", "by-group", "by-other-group", "by-exe", "by-unit"] {
        add(&agent, name);
    }
    let me = rustix::process::geteuid().as_raw();
    let mut c = client(&agent);
    let sign = |c: &mut Client, key: &str| {
        c.sign_request_body(Some(key), Scheme::EncordV2, "GET", "/v2/public/x", b"")
    };

    // uid: this test runs as uid `me`, not 12345.
    let (reason, _) = refusal(sign(&mut c, "by-uid"));
    assert_eq!(
        reason,
        format!("key by-uid: caller uid {me} not allowed by rule uid-12345")
    );
    // …but explain as uid 12345 says it would be allowed (only root may ask).
    let r = agent.signet([
        "explain", "--key", "by-uid", "--as-uid", "12345", "--method", "GET", "--url", "/v2/x",
    ]);
    if me == 0 {
        r.assert_ok();
    } else {
        r.assert_code(1);
        assert!(r.stderr.contains("only root"), "{r}");
    }

    // Group: gid 0 is this process's primary group when running as root.
    let gid = rustix::process::getegid().as_raw();
    if gid == 0 {
        sign(&mut c, "by-group").unwrap_or_else(|e| panic!("group member refused: {e}"));
    }
    let (reason, _) = refusal(sign(&mut c, "by-other-group"));
    assert!(
        reason.contains("not allowed by rule other-group"),
        "{reason}"
    );

    // Executable: the signet CLI may sign, this test binary may not.
    let (reason, _) = refusal(sign(&mut c, "by-exe"));
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    assert_eq!(
        reason,
        format!("key by-exe: caller executable {exe} not allowed by rule cli-only")
    );
    agent
        .signet([
            "sign-request",
            "--key",
            "by-exe",
            "--method",
            "GET",
            "--url",
            "/v2/x",
        ])
        .assert_ok();

    // Unit: this test does not run in ci-runner.service.
    let (reason, _) = refusal(sign(&mut c, "by-unit"));
    assert!(
        reason.starts_with("key by-unit: caller unit ")
            || reason.contains("outside a systemd unit"),
        "{reason}"
    );
    assert!(reason.ends_with("not allowed by rule ci-unit"), "{reason}");
    // explain with --as-unit shows what the unit itself would get.
    agent
        .signet([
            "explain",
            "--key",
            "by-unit",
            "--as-unit",
            "ci-runner.service",
            "--method",
            "GET",
            "--url",
            "/v2/x",
        ])
        .assert_ok();
}

#[test]
fn sighup_reload_applies_policies_and_a_bad_policy_keeps_the_old_ones() {
    let agent = start("");
    add(&agent, "ci-bot");
    let mut c = client(&agent);
    c.sign_request_body(Some("ci-bot"), Scheme::EncordV1, "POST", "/public", b"{}")
        .unwrap_or_else(|e| panic!("{e}"));
    fs::write(agent.config_file(), READ_ONLY).unwrap_or_else(|e| panic!("{e}"));
    agent.signal(rustix::process::Signal::HUP);
    agent.wait_log_line(&["SIGHUP: configuration reloaded"]);
    let (reason, _) =
        refusal(c.sign_request_body(Some("ci-bot"), Scheme::EncordV1, "POST", "/public", b"{}"));
    assert!(reason.contains("scheme encord-v1 not allowed"), "{reason}");
    // A policy naming a group that does not exist: the reload is refused and
    // the read-only rule stays in force.
    fs::write(
        agent.config_file(),
        "[policies.p]\ngroups = [\"no-such-group-xyz\"]\n[keys.ci-bot]\npolicy = \"p\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    agent.signal(rustix::process::Signal::HUP);
    agent.wait_log_line(&[
        "SIGHUP: keeping the previous configuration",
        "no-such-group-xyz",
    ]);
    let (reason, _) =
        refusal(c.sign_request_body(Some("ci-bot"), Scheme::EncordV1, "POST", "/public", b"{}"));
    assert!(reason.contains("rule read-only"), "{reason}");
    wait_for(
        std::time::Duration::from_secs(1),
        "agent alive",
        || Some(()),
    );
}

/// The default configuration file deleted (an editor's rename-save, an
/// unmounted home), then SIGHUP: the rules in force stay, and the log says
/// why; `signet reload` says so too. Before, a missing default file meant
/// the defaults, and every rule was dropped.
#[test]
fn a_deleted_config_file_keeps_its_rules_on_reload() {
    let agent = Agent::start();
    // The default path (no --config): $XDG_CONFIG_HOME/signet/config.toml.
    let file = agent.dir().join("config/signet/config.toml");
    fs::create_dir_all(file.parent().unwrap_or(agent.dir())).unwrap_or_else(|e| panic!("{e}"));
    fs::write(&file, READ_ONLY).unwrap_or_else(|e| panic!("{e}"));
    agent.signal(rustix::process::Signal::HUP);
    agent.wait_log_line(&["SIGHUP: configuration reloaded"]);
    add(&agent, "ci-bot");
    let mut c = client(&agent);
    let refused_delete = |c: &mut Client| {
        let (reason, _) = refusal(c.sign_request_body(
            Some("ci-bot"),
            Scheme::EncordV2,
            "DELETE",
            "/v2/public/projects/p1",
            b"",
        ));
        assert!(reason.contains("rule read-only"), "{reason}");
    };
    refused_delete(&mut c);
    fs::remove_file(&file).unwrap_or_else(|e| panic!("{e}"));
    agent.signal(rustix::process::Signal::HUP);
    agent.wait_log_line(&["SIGHUP: keeping the previous configuration", "gone now"]);
    refused_delete(&mut c);
    let r = agent.signet(["reload"]);
    r.assert_code(1);
    assert!(r.stderr.contains("gone now"), "{r}");
    refused_delete(&mut c);
    // An empty file is the defaults, on purpose: the rule goes.
    fs::write(&file, "").unwrap_or_else(|e| panic!("{e}"));
    agent.signet(["reload"]).assert_ok();
    c.sign_request_body(
        Some("ci-bot"),
        Scheme::EncordV2,
        "DELETE",
        "/v2/public/projects/p1",
        b"",
    )
    .unwrap_or_else(|e| panic!("the rule stayed after an empty file: {e}"));
}

#[test]
fn an_undefined_policy_stops_the_daemon_at_start() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("config.toml");
    fs::write(&config, "[keys.ci-bot]\npolicy = \"missing\"\n").unwrap_or_else(|e| panic!("{e}"));
    let r = signet_tests::run(
        std::process::Command::new(bin("signetd"))
            .arg("--config")
            .arg(&config)
            .arg("--socket")
            .arg(dir.path().join("s.sock")),
    );
    r.assert_code(1);
    assert!(
        r.stderr
            .contains("keys.ci-bot: policy \"missing\" is not defined"),
        "{r}"
    );
}
