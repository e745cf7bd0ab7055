//! The audit log of the real daemon: one line per signature and refusal,
//! sealed by the audit key; `signet audit verify` over chain, seals and
//! rotated files, and each tampering an attacker who can write the files
//! could try, named with its file and line; a full disk (a real tmpfs)
//! that suspends signing and loses no record; a log that cannot be resumed
//! moved aside and a new chain started; `tail`, `pubkey`, `status`, the
//! journal; and no secret or signature in the log.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use signet_client::{Client, Scheme};
use signet_tests::keystore::Tmpfs;
use signet_tests::{my_uid, read_ed25519_private, wait_for, Agent, AgentOptions, Run, Signal};

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

fn write_lines(path: &Path, lines: &[String]) {
    fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// The lines that are not seals (what the agent was asked).
fn events(path: &Path) -> Vec<Value> {
    lines(path)
        .iter()
        .map(|l| parse(l))
        .filter(|v| v["event"] != "seal")
        .collect()
}

fn wait_events(path: &Path, n: usize) -> Vec<Value> {
    wait_for(Duration::from_secs(10), "audit lines", || {
        let e = events(path);
        (e.len() >= n).then_some(e)
    })
}

fn add_key(agent: &Agent, name: &str) -> [u8; 32] {
    let key = agent.keygen("ed25519", name);
    agent
        .signet(["add".as_ref(), key.private.as_os_str()])
        .assert_ok();
    read_ed25519_private(&key.private).1
}

fn sign(c: &mut Client, target: &str) -> Result<(), String> {
    c.sign_request_body(None, Scheme::EncordV2, "GET", target, b"")
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `signet --json audit verify ARGS`: the run and its document.
fn verify_json(agent: &Agent, args: &[&std::ffi::OsStr]) -> (Run, Value) {
    let mut all: Vec<&std::ffi::OsStr> =
        vec!["--json".as_ref(), "audit".as_ref(), "verify".as_ref()];
    all.extend_from_slice(args);
    let r = agent.signet(all);
    let doc = serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{r}"));
    (r, doc)
}

/// The problems a verify document lists: (kind, file name, line).
fn problems(doc: &Value) -> Vec<(String, String, u64)> {
    doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["problem"] == true)
        .map(|f| {
            let file = Path::new(f["file"].as_str().unwrap_or_default())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                f["kind"].as_str().unwrap_or_default().to_owned(),
                file,
                f["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

const POLICY: &str = r#"
[policies.read-only]
schemes = ["encord-v2"]
methods = ["GET"]
[keys.ci-bot]
policy = "read-only"
"#;

#[test]
fn every_signature_and_refusal_is_one_chained_sealed_line_without_secrets() {
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
    let got = wait_events(&log, 6);
    assert_eq!(got.len(), 6, "{got:?}");
    // The log starts with the start seal, signed by the audit key.
    let all = lines(&log);
    let start_seal = parse(&all[0]);
    assert_eq!(
        (start_seal["event"].as_str(), start_seal["trigger"].as_str()),
        (Some("seal"), Some("start"))
    );
    assert_eq!(start_seal["prev"], signet_proto::audit::GENESIS);
    let first = &got[0];
    assert_eq!(first["seq"], 2);
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
    let last = &got[5];
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
    let got = wait_events(&log, 7);
    let ssh = &got[6];
    assert_eq!(
        (ssh["scheme"].as_str(), ssh["event"].as_str()),
        (Some("raw"), Some("refuse"))
    );
    assert_eq!(ssh["digest"], hex::encode(signet_client::sha256(b"data")));

    // The audit key: printed by `signet audit pubkey`, named by the seals.
    let r = agent.signet(["audit", "pubkey"]);
    r.assert_ok();
    let audit_key = r.stdout.trim().to_owned();
    assert_eq!(audit_key.len(), 64, "{r}");
    assert_eq!(start_seal["audit_key"], audit_key);

    // verify finds the log by asking the agent, and checks the seals with
    // its key; the unsealed last lines are vouched for by the agent's head.
    let r = agent.signet(["audit", "verify"]);
    r.assert_ok();
    assert!(
        r.stdout
            .starts_with("audit log intact: 8 lines in 1 file(s), 1 seals, sealed by audit key"),
        "{r}"
    );
    assert!(r.stdout.contains("(the running agent)"), "{r}");
    assert!(
        r.stderr.contains("[note]") && r.stderr.contains("not sealed yet"),
        "{r}"
    );
    let r = agent.signet(["audit", "tail", "-n", "2"]);
    r.assert_ok();
    let shown: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(shown.len(), 2, "{r}");
    assert!(
        shown[0].contains("#7  refuse  ci-bot  encord-v2 DELETE /v2/public/x"),
        "{r}"
    );
    assert!(
        shown[1].contains("#8  refuse  ci-bot  raw (raw signature)"),
        "{r}"
    );
    // --json: one document, the records as an array.
    let r = agent.signet(["--json", "audit", "tail", "--key", "nobody"]);
    r.assert_ok();
    assert_eq!(r.stdout.trim(), "[]");
    let r = agent.signet(["--json", "audit", "tail", "--key", "ci-bot", "-n", "100"]);
    r.assert_ok();
    let records: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert_eq!(records.as_array().map(Vec::len), Some(7), "{r}");
    assert!(records[0]["seq"].is_number(), "{r}");

    // `signet status` says where the log is and whether signing stops
    // without it: a user-mode agent with no [audit] section does not.
    let r = agent.signet(["status"]);
    r.assert_ok();
    assert!(
        r.stdout
            .contains(&format!("audit:   {} (not required", log.display())),
        "{r}"
    );
    assert!(
        r.stdout
            .contains(&format!("sealed by audit key {audit_key}")),
        "{r}"
    );
    let r = agent.signet(["--json", "status"]);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert_eq!(doc["audit"]["required"], false);
    assert_eq!(doc["audit"]["audit_key"], audit_key);
}

#[test]
fn an_audit_section_or_system_mode_makes_the_log_required() {
    let agent = start("[audit]\nseal_every = 100\n");
    let r = agent.signet(["status"]);
    r.assert_ok();
    assert!(
        r.stdout
            .contains("(required: signing stops while it cannot be written"),
        "{r}"
    );
    let agent = Agent::start_with(AgentOptions {
        config: Some(String::new()),
        args: vec!["--system".to_owned()],
        ..AgentOptions::default()
    });
    let r = agent.signet(["--json", "status"]);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert_eq!(doc["audit"]["required"], true, "{r}");
    // The system agent's log and key are in its own state directory.
    let state = agent.system_state_dir();
    assert_eq!(
        doc["audit"]["path"],
        state.join("audit.log").display().to_string()
    );
    assert!(state.join("audit.key").exists());
    assert_eq!(signet_tests::mode_of(&state.join("audit.key")), 0o600);
}

#[test]
fn signatures_made_just_before_sigterm_are_in_the_log_and_sealed() {
    let mut agent = start("");
    add_key(&agent, "late");
    let pubkey = agent.signet(["audit", "pubkey"]).stdout.trim().to_owned();
    let mut c = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    const N: usize = 300;
    for i in 0..N {
        sign(&mut c, &format!("/v2/public/projects/p{i}")).unwrap_or_else(|e| panic!("{e}"));
    }
    // Stop at once: the writer batches every few milliseconds, so the last
    // signatures are still queued when the signal arrives.
    agent.signal(Signal::TERM);
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}\n--- log\n{}", agent.log());
    drop(c);
    let log = default_log(&agent);
    let signed: Vec<Value> = events(&log)
        .into_iter()
        .filter(|v| v["event"] == "sign")
        .collect();
    assert_eq!(
        signed.len(),
        N,
        "signatures missing from the audit log after SIGTERM"
    );
    assert_eq!(
        signed[N - 1]["target"],
        format!("/v2/public/projects/p{}", N - 1)
    );
    let last = parse(lines(&log).last().map(String::as_str).unwrap_or("{}"));
    assert_eq!(last["trigger"], "shutdown", "{last}");
    // No agent now: the seals are checked with the key printed before.
    let (r, doc) = verify_json(
        &agent,
        &[
            "--path".as_ref(),
            log.as_os_str(),
            "--pubkey".as_ref(),
            pubkey.as_ref(),
        ],
    );
    r.assert_ok();
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["key_source"], "--pubkey");
    assert_eq!(doc["unsealed"], 0);
    // Without a key to trust, verify says it cannot tell who sealed it.
    let (r, doc) = verify_json(&agent, &["--path".as_ref(), log.as_os_str()]);
    r.assert_code(1);
    assert_eq!(problems(&doc)[0].0, "unanchored", "{doc}");
}

/// The log files of `src`'s directory (`audit.log*`, `audit.head`) copied
/// into `dst`.
fn copy_log(src: &Path, dst: &Path) -> PathBuf {
    fs::create_dir_all(dst).unwrap_or_else(|e| panic!("{e}"));
    let dir = src.parent().unwrap_or(Path::new("."));
    for e in fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("audit.log") || name == "audit.head" {
            fs::copy(e.path(), dst.join(&name)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    dst.join("audit.log")
}

/// Recomputes every `prev` from the first line of `files` on, as a forger
/// who edited a line would, keeping everything else (seals included).
fn rechain(files: &[PathBuf]) {
    let mut prev: Option<String> = None;
    for f in files {
        let mut out = Vec::new();
        for l in lines(f) {
            let mut rec: signet_proto::audit::Record =
                serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}"));
            if let Some(p) = &prev {
                rec.prev = p.clone();
            }
            let line = String::from_utf8(signet_proto::audit::canonical(&rec)).unwrap_or_default();
            prev = Some(signet_proto::audit::line_hash(line.as_bytes()));
            out.push(line);
        }
        write_lines(f, &out);
    }
}

#[test]
fn verify_names_each_tampering_and_an_untouched_running_log_verifies() {
    let mut agent = start("[audit]\nmax_bytes = 8192\nkeep = 3\nseal_every = 5\n");
    add_key(&agent, "k");
    let mut c = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..70 {
        sign(&mut c, &format!("/v2/public/projects/{i}")).unwrap_or_else(|e| panic!("{e}"));
    }
    let log = default_log(&agent);
    let rotated = |n: u32| log.with_file_name(format!("audit.log.{n}"));
    wait_for(Duration::from_secs(10), "rotation", || {
        rotated(3).exists().then_some(())
    });
    wait_for(Duration::from_secs(10), "the last signature", || {
        events(&log)
            .last()
            .filter(|v| v["target"] == "/v2/public/projects/69")
            .map(drop)
    });
    assert!(!rotated(4).exists(), "keep = 3 is not honoured");
    // The running agent's log, untouched, verifies (its head vouches for
    // the last, unsealed lines).
    let (r, doc) = verify_json(&agent, &[]);
    r.assert_ok();
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["files"], 4);
    assert_eq!(doc["key_source"], "the running agent");
    assert!(doc["seals"].as_u64().is_some_and(|n| n >= 8), "{doc}");
    let first = parse(&lines(&log)[0]);
    assert_eq!(
        (first["event"].as_str(), first["trigger"].as_str()),
        (Some("seal"), Some("rotation"))
    );
    assert_eq!(first["keep"], 3);
    let pubkey = agent.signet(["audit", "pubkey"]).stdout.trim().to_owned();
    // Stopped: the log ends with the shutdown seal, audit.head holds it.
    drop(c);
    agent.signal(Signal::TERM);
    agent.wait_exit();
    let head = fs::read_to_string(log.with_file_name("audit.head")).unwrap_or_default();
    assert_eq!(
        head.trim(),
        lines(&log).last().map(String::as_str).unwrap_or("")
    );

    /// Tampers with the files of the log at the path; returns the line the
    /// problem must be named at (0: the file as a whole, or any line).
    type Tamper = fn(&Path) -> u64;
    enum How {
        /// On a copy of the files.
        Copy(Tamper),
        /// On the agent's own files, then the agent is started again.
        Restart(Tamper),
    }
    /// The first signature line of `lines` (0-based) that has a line after
    /// it in the same file.
    fn a_signature(l: &[String]) -> usize {
        (1..l.len() - 1)
            .find(|&i| parse(&l[i])["event"] == "sign")
            .unwrap_or_else(|| panic!("no signature line in {l:?}"))
    }
    let cases: Vec<(&str, How, &str, &str)> = vec![
        (
            "edit a line",
            How::Copy(|p| {
                let f = p.with_file_name("audit.log.1");
                let mut l = lines(&f);
                let i = a_signature(&l);
                let t = parse(&l[i])["target"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                l[i] = l[i].replace(&t, "/v2/public/projects/forged");
                write_lines(&f, &l);
                // The next line's prev no longer matches.
                i as u64 + 2
            }),
            "chain",
            "audit.log.1",
        ),
        (
            "delete a middle line",
            How::Copy(|p| {
                let f = p.with_file_name("audit.log.1");
                let mut l = lines(&f);
                let i = a_signature(&l);
                l.remove(i);
                write_lines(&f, &l);
                i as u64 + 1
            }),
            "chain",
            "audit.log.1",
        ),
        (
            "swap two lines",
            How::Copy(|p| {
                let f = p.with_file_name("audit.log.1");
                let mut l = lines(&f);
                let i = a_signature(&l);
                l.swap(i, i + 1);
                write_lines(&f, &l);
                i as u64 + 1
            }),
            "chain",
            "audit.log.1",
        ),
        (
            "truncate the tail",
            How::Copy(|p| {
                let mut l = lines(p);
                l.truncate(l.len() - 3);
                write_lines(p, &l);
                0
            }),
            "truncated",
            "audit.log",
        ),
        (
            "re-chain with recomputed hashes",
            How::Copy(|p| {
                let files: Vec<PathBuf> = [3, 2, 1]
                    .iter()
                    .map(|n| p.with_file_name(format!("audit.log.{n}")))
                    .chain([p.to_owned()])
                    .collect();
                let mut l = lines(&files[1]);
                let i = a_signature(&l);
                let t = parse(&l[i])["target"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                l[i] = l[i].replace(&t, "/v2/public/projects/forged");
                write_lines(&files[1], &l);
                rechain(&files);
                0
            }),
            "bad_seal",
            "audit.log.2",
        ),
        (
            "delete the file",
            How::Copy(|p| {
                fs::remove_file(p).unwrap_or_else(|e| panic!("{e}"));
                0
            }),
            "truncated",
            "audit.log",
        ),
        (
            "delete one rotated file",
            How::Copy(|p| {
                fs::remove_file(p.with_file_name("audit.log.2")).unwrap_or_else(|e| panic!("{e}"));
                1
            }),
            "missing_files",
            "audit.log.1",
        ),
        (
            "delete all rotated files",
            How::Copy(|p| {
                for n in 1..=3 {
                    fs::remove_file(p.with_file_name(format!("audit.log.{n}")))
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                1
            }),
            "missing_files",
            "audit.log",
        ),
        (
            "truncate and restart",
            How::Restart(|p| {
                // Back to the file's first seal after its rotation seal: a
                // valid, sealed prefix, older than audit.head says.
                let l = lines(p);
                let seal = l
                    .iter()
                    .skip(1)
                    .position(|x| x.contains("\"event\":\"seal\""))
                    .map_or(1, |i| i + 2);
                write_lines(p, &l[..seal]);
                1
            }),
            "new_chain",
            "audit.log",
        ),
    ];
    for (i, (name, how, kind, file)) in cases.into_iter().enumerate() {
        let line;
        let (r, doc) = match how {
            How::Copy(tamper) => {
                let copy = copy_log(&log, &agent.dir().join(format!("case-{i}")));
                line = tamper(&copy);
                verify_json(
                    &agent,
                    &[
                        "--path".as_ref(),
                        copy.as_os_str(),
                        "--pubkey".as_ref(),
                        pubkey.as_ref(),
                    ],
                )
            }
            How::Restart(tamper) => {
                line = tamper(&log);
                agent.restart();
                agent.wait_log_line(&["cannot be resumed"]);
                let got = verify_json(&agent, &[]);
                let reason = lines(&log).first().map(|l| parse(l)).unwrap_or_default();
                assert!(
                    reason["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("audit.head recorded a seal")),
                    "{name}: {reason}"
                );
                got
            }
        };
        r.assert_code(1);
        let found = problems(&doc);
        assert!(
            found
                .iter()
                .any(|(k, f, l)| k == kind && f == file && (line == 0 || *l == line)),
            "{name}: expected {kind} at {file}:{line}, found {found:?}\n{doc}\n{r}"
        );
        assert_eq!(doc["ok"], false, "{name}");
        assert!(
            r.stderr.contains("signet: audit log broken:"),
            "{name}: {r}"
        );
    }
}

#[test]
fn a_rollback_of_log_and_head_together_is_caught_only_by_a_second_place() {
    let mut agent = start("[audit]\nseal_every = 3\n");
    add_key(&agent, "k");
    let mut c = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..10 {
        sign(&mut c, &format!("/v2/r/{i}")).unwrap_or_else(|e| panic!("{e}"));
    }
    let pubkey = agent.signet(["audit", "pubkey"]).stdout.trim().to_owned();
    drop(c);
    agent.signal(Signal::TERM);
    agent.wait_exit();
    let log = default_log(&agent);
    let last_seal = lines(&log).last().cloned().unwrap_or_default();
    // The attacker keeps an older, consistent state: the log cut back to a
    // seal, and audit.head holding that seal.
    let copy = copy_log(&log, &agent.dir().join("rolled-back"));
    let l = lines(&copy);
    let seal_at = l
        .iter()
        .enumerate()
        .skip(2)
        .find(|(_, x)| x.contains("\"event\":\"seal\""))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no seal in {l:?}"));
    write_lines(&copy, &l[..=seal_at]);
    fs::write(
        copy.with_file_name("audit.head"),
        format!("{}\n", l[seal_at]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The files alone agree with each other: verify cannot tell (the limit
    // docs/policy-audit.md states).
    let (r, doc) = verify_json(
        &agent,
        &[
            "--path".as_ref(),
            copy.as_os_str(),
            "--pubkey".as_ref(),
            pubkey.as_ref(),
        ],
    );
    r.assert_ok();
    assert_eq!(doc["ok"], true, "{doc}");
    // The journal's copy of the newest seal (a stand-in journalctl that
    // answers for this log only, as the real one filters by
    // SIGNET_AUDIT_LOG) shows the cut.
    let bin = agent.dir().join("fake-bin");
    fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{e}"));
    let entry = agent.dir().join("journal-entry.json");
    fs::write(
        &entry,
        serde_json::json!({ "SIGNET_SEAL": last_seal }).to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let script = bin.join("journalctl");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$*\" in *SIGNET_DECISION=seal*SIGNET_AUDIT_LOG={}*) cat {};; esac\n",
            copy.display(),
            entry.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    signet_tests::chmod(&script, 0o755);
    let r = signet_tests::run(
        agent
            .signet_command()
            .env(
                "PATH",
                format!("{}:{}", bin.display(), signet_tests::CHILD_PATH),
            )
            .args(["--json", "audit", "verify", "--path"])
            .arg(&copy)
            .args(["--pubkey", &pubkey]),
    );
    r.assert_code(1);
    let doc: Value = serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert_eq!(problems(&doc)[0].0, "truncated", "{doc}");
    assert!(
        doc["first_bad"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the journal recorded a seal")),
        "{doc}"
    );
}

#[test]
fn garbage_appended_then_restart_starts_a_new_chain_and_loses_no_signature() {
    let mut agent = start("");
    add_key(&agent, "k");
    let mut c = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..10 {
        sign(&mut c, &format!("/before/{i}")).unwrap_or_else(|e| panic!("{e}"));
    }
    drop(c);
    agent.signal(Signal::TERM);
    agent.wait_exit();
    let log = default_log(&agent);
    let before = fs::read(&log).unwrap_or_default();
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap_or_else(|e| panic!("{e}"));
    std::io::Write::write_all(&mut f, b"this is not an audit record\n")
        .unwrap_or_else(|e| panic!("{e}"));
    drop(f);
    agent.restart();
    // Loud: a warning in the daemon's log naming both files.
    let warning = agent.wait_log_line(&["cannot be resumed", "moved it to"]);
    assert!(warning.contains("WARN"), "{warning}");
    // Keys added over the socket do not outlive the daemon.
    add_key(&agent, "k2");
    let mut c = Client::connect_to(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..10 {
        sign(&mut c, &format!("/after/{i}")).unwrap_or_else(|e| panic!("{e}"));
    }
    wait_for(Duration::from_secs(10), "the new signatures", || {
        (events(&log).iter().filter(|v| v["event"] == "sign").count() == 10).then_some(())
    });
    let broken: Vec<PathBuf> = fs::read_dir(log.parent().unwrap_or(Path::new(".")))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("audit.log.broken-"))
        })
        .collect();
    assert_eq!(broken.len(), 1, "{broken:?}");
    let kept = fs::read(&broken[0]).unwrap_or_default();
    assert!(
        kept.starts_with(&before),
        "the broken file keeps every line it had"
    );
    // The new chain names the old file and its last good line.
    let first = parse(&lines(&log)[0]);
    assert_eq!(first["event"], "new-chain");
    assert_eq!(
        first["broken_file"].as_str().map(Path::new),
        broken[0].file_name().map(Path::new)
    );
    let last_good = lines(&broken[0])
        .iter()
        .rev()
        .nth(1)
        .map(|l| signet_proto::audit::line_hash(l.as_bytes()))
        .unwrap_or_default();
    assert_eq!(first["broken_hash"], last_good);
    // No signature unrecorded: all twenty are in one file or the other.
    let old: Vec<Value> = lines(&broken[0])
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut signed: Vec<String> = old
        .into_iter()
        .chain(events(&log))
        .filter(|v| v["event"] == "sign")
        .filter_map(|v| v["target"].as_str().map(str::to_owned))
        .collect();
    signed.sort();
    let mut want: Vec<String> = (0..10)
        .flat_map(|i| [format!("/after/{i}"), format!("/before/{i}")])
        .collect();
    want.sort();
    assert_eq!(signed, want);
    // verify names the new chain (and the file to look at).
    let (r, doc) = verify_json(&agent, &[]);
    r.assert_code(1);
    assert_eq!(
        problems(&doc)[0],
        ("new_chain".into(), "audit.log".into(), 1),
        "{doc}"
    );
    let msg = doc["first_bad"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(&*broken[0].file_name().unwrap_or_default().to_string_lossy()),
        "{msg}"
    );
}

#[test]
fn a_full_disk_suspends_signing_and_loses_no_record() {
    assert_eq!(my_uid(), 0, "needs root to mount a tmpfs (CI runs as root)");
    let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = base.path().join("state");
    // Declared before the agent, so the agent is stopped before the unmount.
    let fs_ = Tmpfs::mount(&state, "16m");
    let agent = Agent::start_with(AgentOptions {
        config: Some("[audit]\nseal_every = 50\n".to_owned()),
        args: vec!["--state-dir".to_owned(), state.display().to_string()],
        ..AgentOptions::default()
    });
    add_key(&agent, "k");
    let log = state.join("audit.log");
    let stop = Arc::new(AtomicBool::new(false));
    let signed = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let clients: Vec<_> = (0..3)
        .map(|t| {
            let (stop, signed, refused) = (stop.clone(), signed.clone(), refused.clone());
            let sock = agent.socket().to_owned();
            std::thread::spawn(move || {
                let mut c = Client::connect_to(&sock).unwrap_or_else(|e| panic!("{e}"));
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let target = format!("/v2/public/t{t}/{i}");
                    i += 1;
                    match sign(&mut c, &target) {
                        Ok(()) => signed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(target),
                        Err(e) => refused
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((target, e)),
                    }
                    // Paced, so the log stays far below the tmpfs's size.
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        })
        .collect();
    wait_for(Duration::from_secs(20), "some signatures", || {
        (signed.lock().unwrap_or_else(|p| p.into_inner()).len() > 50).then_some(())
    });
    let filler = fs_.fill("filler");
    wait_for(
        Duration::from_secs(20),
        "refusals while the disk is full",
        || (refused.lock().unwrap_or_else(|p| p.into_inner()).len() >= 20).then_some(()),
    );
    let r = agent.signet(["status"]);
    assert!(
        r.stdout
            .contains("CANNOT BE WRITTEN: No space left on device"),
        "{r}"
    );
    fs::remove_file(&filler).unwrap_or_else(|e| panic!("{e}"));
    let recovered_at = signed.lock().unwrap_or_else(|p| p.into_inner()).len();
    wait_for(Duration::from_secs(20), "signing again", || {
        (signed.lock().unwrap_or_else(|p| p.into_inner()).len() > recovered_at + 100).then_some(())
    });
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap_or_else(|_| panic!("a client panicked"));
    }
    let refused = refused.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let signed = signed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // Refused with the message that says why and until when.
    for (_, e) in &refused {
        assert!(
            e.contains("audit log cannot be written: No space left on device")
                && e.contains("signing is suspended until it can"),
            "{e}"
        );
    }
    agent.wait_log_line(&["writable again", "signing resumes"]);
    // Every returned signature has its record; every refusal too.
    let want_signed = signed.len();
    let recorded = wait_for(Duration::from_secs(10), "every record", || {
        let ev = events(&log);
        let signs: std::collections::HashSet<String> = ev
            .iter()
            .filter(|v| v["event"] == "sign")
            .filter_map(|v| v["target"].as_str().map(str::to_owned))
            .collect();
        (signs.len() >= want_signed).then_some((ev, signs))
    });
    let (ev, signs) = recorded;
    for t in &signed {
        assert!(signs.contains(t), "signature for {t} has no record");
    }
    let refusals: std::collections::HashSet<String> = ev
        .iter()
        .filter(|v| v["event"] == "refuse")
        .filter_map(|v| v["target"].as_str().map(str::to_owned))
        .collect();
    for (t, _) in &refused {
        assert!(refusals.contains(t), "refusal of {t} has no record");
    }
    assert_eq!(
        signs.len(),
        signed.len(),
        "a record of a signature that was not returned"
    );
    // The log says the gap, and it verifies.
    assert!(
        lines(&log)
            .iter()
            .any(|l| l.contains("\"trigger\":\"recovered\"") && l.contains("No space left")),
        "no recovery seal"
    );
    let (r, doc) = verify_json(&agent, &[]);
    r.assert_ok();
    assert_eq!(doc["ok"], true, "{doc}");
    drop(agent);
    drop(fs_);
}

#[test]
fn tail_and_verify_fail_alike_on_a_missing_or_unreadable_log() {
    let agent = start("");
    let missing = agent.dir().join("nowhere/audit.log");
    let t = agent.signet([
        "audit".as_ref(),
        "tail".as_ref(),
        "--path".as_ref(),
        missing.as_os_str(),
    ]);
    let v = agent.signet([
        "audit".as_ref(),
        "verify".as_ref(),
        "--path".as_ref(),
        missing.as_os_str(),
    ]);
    t.assert_code(1);
    v.assert_code(1);
    assert_eq!(t.stderr, v.stderr);
    assert!(
        t.stderr
            .contains(&format!("no audit log at {}", missing.display())),
        "{t}"
    );
    // Unreadable: a directory where the file should be.
    let dir = agent.dir().join("isdir/audit.log");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let t = agent.signet([
        "audit".as_ref(),
        "tail".as_ref(),
        "--path".as_ref(),
        dir.as_os_str(),
    ]);
    let v = agent.signet([
        "audit".as_ref(),
        "verify".as_ref(),
        "--path".as_ref(),
        dir.as_os_str(),
    ]);
    t.assert_code(1);
    v.assert_code(1);
    assert_eq!(t.stderr, v.stderr);
    assert!(t.stderr.contains("cannot read the audit log"), "{t}");
}

#[test]
fn each_agent_has_its_own_log_and_verify_asks_the_agent_for_it() {
    let a = start("");
    let b_state = a.dir().join("b-state");
    let b = Agent::start_with(AgentOptions {
        config: Some("[audit]\n".to_owned()),
        args: vec!["--state-dir".to_owned(), b_state.display().to_string()],
        ..AgentOptions::default()
    });
    add_key(&b, "bk");
    b.signet(["sign-request", "--method", "GET", "--url", "/v2/b"])
        .assert_ok();
    // Asked over b's socket, verify and tail read b's log, not a's.
    let r = a.signet([
        "--socket".as_ref(),
        b.socket().as_os_str(),
        "--json".as_ref(),
        "audit".as_ref(),
        "verify".as_ref(),
    ]);
    r.assert_ok();
    let doc: Value = serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{r}"));
    assert_eq!(doc["path"], b_state.join("audit.log").display().to_string());
    let r = a.signet([
        "--socket".as_ref(),
        b.socket().as_os_str(),
        "audit".as_ref(),
        "tail".as_ref(),
    ]);
    assert!(r.stdout.contains("/v2/b"), "{r}");
    assert!(!fs::read_to_string(default_log(&a))
        .unwrap_or_default()
        .contains("/v2/b"));
    // A second agent on the same state directory is refused: b requires
    // its log ([audit] section), and the log is b's.
    let mut second = std::process::Command::new(signet_tests::bin("signetd"));
    b.clean_env(&mut second);
    second
        .arg("--socket")
        .arg(b.dir().join("second.sock"))
        .arg("--config")
        .arg(b.config_file())
        .arg("--state-dir")
        .arg(&b_state);
    let c = signet_tests::run_timeout(&mut second, Duration::from_secs(20));
    c.assert_code(1);
    assert!(
        c.stderr.contains("already written by another signetd") && c.stderr.contains("--state-dir"),
        "{c}"
    );
}

#[test]
fn journal_gets_structured_fields_and_the_seals() {
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
    let mut msgs = Vec::new();
    for _ in 0..2 {
        let n = journal
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no datagram: {e}"));
        msgs.push(buf[..n].to_vec());
    }
    let field = |msg: &[u8], name: &str, value: &str| {
        let mut needle = format!("{name}\n").into_bytes();
        needle.extend_from_slice(&(value.len() as u64).to_le_bytes());
        needle.extend_from_slice(value.as_bytes());
        msg.windows(needle.len()).any(|w| w == needle.as_slice())
    };
    let (seal, msg) = (&msgs[0], &msgs[1]);
    // The start seal, with its whole line (the journal knows the latest seal).
    assert!(field(seal, "SIGNET_DECISION", "seal"));
    assert!(seal.windows(12).any(|w| w == b"SIGNET_SEAL\n"));
    assert!(field(
        seal,
        "SIGNET_AUDIT_LOG",
        &default_log(&agent).display().to_string()
    ));
    assert!(field(msg, "SIGNET_KEY", "journalled"));
    assert!(field(msg, "SIGNET_DECISION", "sign"));
    assert!(field(msg, "SIGNET_METHOD", "POST"));
    assert!(field(msg, "SIGNET_TARGET", "/v2/public/y"));
    assert!(field(msg, "SYSLOG_IDENTIFIER", "signetd"));
    assert!(
        !msg.windows(2).any(|w| w == b"{}"),
        "the body reached the journal"
    );
}
