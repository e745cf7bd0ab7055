//! The audit log of the real daemon: one line per signature and refusal,
//! `signet audit verify` over the hash chain (and its detection of removed,
//! edited, swapped and truncated lines, across rotated files), `signet audit
//! tail`, journal datagrams, and no secret or signature in the log.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use signet_client::{Client, Scheme};
use signet_tests::{read_ed25519_private, wait_for, Agent, AgentOptions, Signal};

fn start(config: &str) -> Agent {
    Agent::start_with(AgentOptions {
        config: Some(config.to_owned()),
        ..AgentOptions::default()
    })
}

/// The default log of a harness agent (`$XDG_STATE_HOME/signet/audit.log`).
fn default_log(agent: &Agent) -> PathBuf {
    agent.dir().join("state/signet/audit.log")
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn wait_lines(path: &Path, n: usize) -> Vec<String> {
    wait_for(Duration::from_secs(10), "audit lines", || {
        let l = lines(path);
        (l.len() >= n).then_some(l)
    })
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

const POLICY: &str = r#"
[policies.read-only]
schemes = ["encord-v2"]
methods = ["GET"]
[keys.ci-bot]
policy = "read-only"
"#;

#[test]
fn every_signature_and_refusal_is_one_chained_line_without_secrets() {
    let agent = start(POLICY);
    let key = agent.keygen("ed25519", "ci-bot");
    let (seed, public) = read_ed25519_private(&key.private);
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    let mut c = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    let mut signatures = Vec::new();
    for i in 0..5 {
        let body = format!("{{\"secret-body-{i}\":1}}");
        let signed = c
            .sign_request_body(
                Some("ci-bot"),
                Scheme::EncordV2,
                "GET",
                &format!("/v2/public/projects/p{i}?x=1"),
                body.as_bytes(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        signatures.extend(signed.iter().map(|(_, v)| v.to_owned()));
    }
    let refused = c.sign_request_body(
        Some("ci-bot"),
        Scheme::EncordV2,
        "DELETE",
        "/v2/public/x",
        b"",
    );
    assert!(refused.is_err());

    let log = default_log(&agent);
    let got = wait_lines(&log, 6);
    assert_eq!(got.len(), 6, "{got:?}");
    let first = parse(&got[0]);
    assert_eq!(first["seq"], 1);
    assert_eq!(first["event"], "sign");
    assert_eq!(first["key"], "ci-bot");
    assert_eq!(first["key_id"], hex::encode(public));
    assert_eq!(first["scheme"], "encord-v2");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["target"], "/v2/public/projects/p0?x=1");
    assert_eq!(
        first["digest"],
        hex::encode(signet_client::sha256(b"{\"secret-body-0\":1}"))
    );
    assert!(first["created"].as_u64().is_some_and(|c| c > 1_700_000_000));
    assert_eq!(first["uid"], rustix::process::geteuid().as_raw());
    assert_eq!(first["pid"], std::process::id());
    assert_eq!(
        first["exe"].as_str().map(PathBuf::from),
        std::env::current_exe().ok()
    );
    assert_eq!(first["rule"], "read-only");
    assert_eq!(first["prev"], signet_proto::audit::GENESIS);
    let last = parse(&got[5]);
    assert_eq!(last["event"], "refuse");
    assert_eq!(last["method"], "DELETE");
    assert_eq!(
        last["reason"],
        "key ci-bot: method DELETE not allowed by rule read-only"
    );
    assert!(last.get("created").is_none());

    // Nothing secret: no body, no seed in any encoding, no signature.
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("secret-body"));
    let b64 = base64::engine::general_purpose::STANDARD;
    for needle in [hex::encode(seed), b64.encode(seed)] {
        assert!(!text.contains(&needle), "the seed is in the log");
    }
    for header in &signatures {
        if let Some(sig) = header.split(":").nth(1).filter(|s| s.len() > 40) {
            assert!(!text.contains(sig), "a signature is in the log");
        }
    }

    // A raw signature of arbitrary data is audited too (scheme raw: it is
    // neither an SSH login nor SSHSIG; refused by this rule).
    let msg = agent.dir().join("msg");
    fs::write(&msg, b"data").unwrap_or_else(|e| panic!("{e}"));
    agent
        .signet([
            "sign".as_ref(),
            "--key".as_ref(),
            "ci-bot".as_ref(),
            msg.as_os_str(),
        ])
        .assert_code(1);
    let got = wait_lines(&log, 7);
    let ssh = parse(&got[6]);
    assert_eq!(
        (ssh["scheme"].as_str(), ssh["event"].as_str()),
        (Some("raw"), Some("refuse"))
    );
    assert_eq!(ssh["digest"], hex::encode(signet_client::sha256(b"data")));

    // verify (default path from XDG_STATE_HOME) and tail.
    let r = agent.signet(["audit", "verify"]);
    r.assert_ok();
    assert!(
        r.stdout
            .starts_with("audit log intact: 7 lines in 1 file(s)"),
        "{r}"
    );
    let r = agent.signet(["audit", "tail", "-n", "2"]);
    r.assert_ok();
    let shown: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(shown.len(), 2, "{r}");
    assert!(
        shown[0].contains("#6  refuse  ci-bot  encord-v2 DELETE /v2/public/x"),
        "{r}"
    );
    assert!(
        shown[1].contains("#7  refuse  ci-bot  raw (raw signature)"),
        "{r}"
    );
    // --json: one document, the records as an array.
    let r = agent.signet(["--json", "audit", "tail", "--key", "nobody"]);
    r.assert_ok();
    assert_eq!(r.stdout.trim(), "[]");
    let r = agent.signet(["--json", "audit", "tail", "--key", "ci-bot", "-n", "100"]);
    r.assert_ok();
    let records: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert_eq!(records.as_array().map(Vec::len), Some(7), "{r}");
    assert!(records[0]["seq"].is_number(), "{r}");
}

/// Writes `lines` to a fresh file and runs `signet audit verify` on it.
#[test]
fn signatures_made_just_before_sigterm_are_in_the_log() {
    let mut agent = start("");
    let key = agent.keygen("ed25519", "late");
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    let mut c = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    const N: usize = 300;
    for i in 0..N {
        c.sign_request_body(
            Some("late"),
            Scheme::EncordV2,
            "GET",
            &format!("/v2/public/projects/p{i}"),
            b"",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // Stop at once: the writer batches every few milliseconds, so the last
    // signatures are still queued when the signal arrives.
    agent.signal(Signal::TERM);
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}\n--- log\n{}", agent.log());
    drop(c);
    let log = default_log(&agent);
    let got = lines(&log);
    let signed: Vec<&String> = got.iter().filter(|l| parse(l)["event"] == "sign").collect();
    assert_eq!(
        signed.len(),
        N,
        "signatures missing from the audit log after SIGTERM"
    );
    assert_eq!(
        parse(signed[N - 1])["target"],
        format!("/v2/public/projects/p{}", N - 1)
    );
    let text = fs::read(&log).unwrap_or_default();
    assert_eq!(
        signet_proto::audit::verify(&[(log.display().to_string(), text)]),
        Ok(N as u64)
    );
}

fn verify_copy(agent: &Agent, name: &str, lines: &[String]) -> signet_tests::Run {
    let dir = agent.dir().join(format!("copy-{name}"));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("audit.log");
    fs::write(
        &path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    agent.signet([
        "audit".as_ref(),
        "verify".as_ref(),
        "--path".as_ref(),
        path.as_os_str(),
    ])
}

#[test]
fn verify_names_the_first_removed_edited_or_swapped_line() {
    let agent = start("");
    let key = agent.keygen("ed25519", "k");
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    for i in 0..6 {
        agent
            .signet([
                "sign-request",
                "--method",
                "GET",
                "--url",
                &format!("/v2/x/{i}"),
            ])
            .assert_ok();
    }
    let log = default_log(&agent);
    let good = wait_lines(&log, 6);
    verify_copy(&agent, "intact", &good).assert_ok();
    for (name, tampered, bad_line) in [
        ("removed-3", [&good[..2], &good[3..]].concat(), 3),
        ("removed-last-but-one", [&good[..4], &good[5..]].concat(), 5),
        ("removed-first", good[1..].to_vec(), 1),
        (
            "edited-4",
            {
                let mut t = good.clone();
                t[3] = t[3].replace("/v2/x/3", "/v2/x/9");
                t
            },
            5,
        ),
        (
            "swapped-2-3",
            {
                let mut t = good.clone();
                t.swap(1, 2);
                t
            },
            2,
        ),
    ] {
        let r = verify_copy(&agent, name, &tampered);
        r.assert_code(1);
        assert!(
            r.stderr.contains(&format!("audit.log:{bad_line}: ")),
            "{name}: expected line {bad_line}\n{r}"
        );
    }
}

#[test]
fn rotation_keeps_the_chain_verifiable_and_truncation_of_a_rotated_file_is_caught() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = dir.path().join("audit.log");
    let agent = start(&format!(
        "[audit]\npath = {:?}\nmax_bytes = 4096\nkeep = 3\n",
        log.display().to_string()
    ));
    let key = agent.keygen("ed25519", "k");
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    let mut c = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..60 {
        c.sign_request_body(
            None,
            Scheme::EncordV2,
            "GET",
            &format!("/v2/public/projects/{i}"),
            b"",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let rotated = |n: u32| dir.path().join(format!("audit.log.{n}"));
    wait_for(Duration::from_secs(10), "rotation", || {
        rotated(2).exists().then_some(())
    });
    // Wait until the 60th signature is written somewhere.
    wait_for(Duration::from_secs(10), "all lines", || {
        lines(&log)
            .last()
            .map(|l| parse(l))
            .filter(|v| v["target"] == "/v2/public/projects/59")
            .map(|_| ())
    });
    assert!(!rotated(4).exists(), "keep = 3 is not honoured");
    let path = log.as_os_str();
    let r = agent.signet(["audit".as_ref(), "verify".as_ref(), "--path".as_ref(), path]);
    r.assert_ok();
    let first_of_current = parse(&lines(&log)[0]);
    assert_eq!(first_of_current["event"], "rotated");
    assert_eq!(first_of_current["rotated_from"], "audit.log.1");

    // Remove the last line of audit.log.1: caught at audit.log's header.
    let mut one = lines(&rotated(1));
    one.pop();
    fs::write(
        rotated(1),
        one.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = agent.signet(["audit".as_ref(), "verify".as_ref(), "--path".as_ref(), path]);
    r.assert_code(1);
    assert!(r.stderr.contains(&format!("{}:1: ", log.display())), "{r}");
}

#[test]
fn journal_gets_structured_fields() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sock = dir.path().join("journal.sock");
    let journal = std::os::unix::net::UnixDatagram::bind(&sock).unwrap_or_else(|e| panic!("{e}"));
    journal
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let agent = start(&format!(
        "[audit]\njournal = true\njournal_socket = {:?}\n",
        sock.display().to_string()
    ));
    let key = agent.keygen("ed25519", "journalled");
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    agent
        .signet([
            "sign-request",
            "--method",
            "POST",
            "--url",
            "/v2/public/y",
            "--body",
            "{}",
        ])
        .assert_ok();
    let mut buf = vec![0u8; 65536];
    let n = journal
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no datagram: {e}"));
    let msg = &buf[..n];
    let field = |name: &str, value: &str| {
        let mut needle = format!("{name}\n").into_bytes();
        needle.extend_from_slice(&(value.len() as u64).to_le_bytes());
        needle.extend_from_slice(value.as_bytes());
        msg.windows(needle.len()).any(|w| w == needle.as_slice())
    };
    assert!(field("SIGNET_KEY", "journalled"));
    assert!(field("SIGNET_DECISION", "sign"));
    assert!(field("SIGNET_METHOD", "POST"));
    assert!(field("SIGNET_TARGET", "/v2/public/y"));
    assert!(field("SYSLOG_IDENTIFIER", "signetd"));
    assert!(
        !msg.windows(2).any(|w| w == b"{}"),
        "the body reached the journal"
    );
}
