use std::fs;
use std::io::Write as _;
use std::time::Duration;

use signet_proto::audit::{self as chain, Input, Kind, KnownSeal, LogFile, Record};

use super::*;

fn ev(i: u32) -> Event {
    Event {
        decision: Verdict::Sign,
        key: "ci-bot".into(),
        key_public: Some([0xab; 32]),
        scheme: "encord-v2",
        method: "GET".into(),
        target: format!("/v2/public/projects/{i}"),
        digest: [7; 32],
        created: Some(1_700_000_000),
        pid: Some(42),
        uid: 1000,
        exe: "/usr/bin/python3".into(),
        rule: Some("read-only".into()),
        reason: String::new(),
        time: 0,
    }
}

fn rt() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

fn cfg() -> AuditConfig {
    AuditConfig {
        journal: false,
        ..AuditConfig::default()
    }
}

/// The log's files, oldest first, as `signet audit verify` reads them.
fn files(path: &Path, keep: usize) -> Vec<LogFile> {
    let mut out = Vec::new();
    for n in (1..=keep).rev() {
        let p = open::rotated(path, n);
        if let Ok(b) = fs::read(&p) {
            out.push(LogFile {
                name: p.display().to_string(),
                bytes: b,
            });
        }
    }
    out.push(LogFile {
        name: path.display().to_string(),
        bytes: fs::read(path).unwrap_or_default(),
    });
    out
}

fn check(path: &Path, keep: usize, key: [u8; 32]) -> chain::Report {
    let head: Vec<KnownSeal> = open::read_head(path)
        .map(|line| KnownSeal {
            source: "audit.head".into(),
            line,
        })
        .into_iter()
        .collect();
    chain::verify(&Input {
        files: &files(path, keep),
        key: Some(key),
        known_seals: &head,
        live: None,
    })
}

fn records(path: &Path) -> Vec<Record> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A writer with the test's audit key (the same seed every time, as a
/// daemon reads the same key at every start).
fn start(cfg: &AuditConfig, path: &Path, key: &AuditKey) -> io::Result<Auditor> {
    let again = test_key()?;
    assert_eq!(again.public(), key.public());
    // The key is new at the first start only (as a daemon makes it then).
    let first = !path.exists() && !open::sibling(path, "head").exists();
    Auditor::start(cfg, path.to_owned(), false, Some(again), first)
}

fn test_key() -> io::Result<AuditKey> {
    AuditKey::from_seed(&signet_proto::Ed25519Seed::new([5; 32]))
}

#[test]
fn lines_are_records_byte_for_byte_and_seals_verify() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let key = test_key()?;
    let a = start(&cfg(), &path, &key)?;
    let ssh = Event {
        scheme: "ssh",
        method: String::new(),
        target: String::new(),
        created: None,
        rule: None,
        ..ev(1)
    };
    let refused = Event {
        decision: Verdict::Refuse,
        reason: "rate limit \"x\"\n".into(),
        ..ev(2)
    };
    rt().block_on(async {
        a.commit(ev(0)).await.map_err(io::Error::other)?;
        a.commit(ssh).await.map_err(io::Error::other)
    })?;
    a.record(refused);
    assert!(a.close(Duration::from_secs(5)));
    let text = fs::read_to_string(&path)?;
    for line in text.lines() {
        let rec: Record = serde_json::from_str(line).map_err(io::Error::other)?;
        assert_eq!(chain::canonical(&rec), line.as_bytes(), "{line}");
    }
    let recs = records(&path);
    let events: Vec<&str> = recs.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(events, ["seal", "sign", "sign", "refuse", "seal"]);
    assert_eq!(recs[0].trigger, "start");
    assert_eq!(recs[4].trigger, "shutdown");
    assert_eq!(recs[1].key_id, "ab".repeat(32));
    assert_eq!(recs[1].digest, "07".repeat(32));
    assert_eq!(recs[2].scheme, "ssh");
    assert!(recs[2].method.is_empty() && recs[2].created.is_none());
    assert_eq!(recs[3].reason, "rate limit \"x\"\n");
    let r = check(&path, 2, key.public());
    assert!(r.ok(), "{:?}", r.findings);
    assert_eq!(r.seals, 2);
    // audit.head holds the last seal.
    let head = open::read_head(&path).unwrap_or_default();
    assert_eq!(
        chain::line_hash(&head),
        r.last_seal.map(|p| p.hash).unwrap_or_default()
    );
    // Nothing secret: no signature-looking or body fields at all.
    assert!(!text.contains("signature") && !text.contains("body"));
    Ok(())
}

#[test]
fn chain_resumes_across_restarts_and_rotates_with_seals() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state/audit.log");
    let key = test_key()?;
    let c = AuditConfig {
        max_bytes: 4096,
        keep: 3,
        seal_every: 7,
        ..cfg()
    };
    let a = start(&c, &path, &key)?;
    rt().block_on(async {
        for i in 0..5 {
            a.commit(ev(i)).await.map_err(io::Error::other)?;
        }
        Ok::<_, io::Error>(())
    })?;
    assert!(a.close(Duration::from_secs(5)));
    let r = check(&path, 3, key.public());
    assert!(r.ok(), "{:?}", r.findings);
    let last = r.last_line.map(|p| p.seq).unwrap_or_default();
    // Resumed by a new writer (a restart): the chain continues, rotating
    // several times; only `keep` files stay.
    let a = start(&c, &path, &key)?;
    rt().block_on(async {
        for i in 0..60 {
            a.commit(ev(i)).await.map_err(io::Error::other)?;
        }
        Ok::<_, io::Error>(())
    })?;
    assert!(a.close(Duration::from_secs(5)));
    assert!(open::rotated(&path, 3).exists());
    assert!(!open::rotated(&path, 4).exists());
    let all = files(&path, 3);
    let r = check(&path, 3, key.public());
    assert!(r.ok(), "{:?}", r.findings);
    assert!(r.lines > 30 && r.seals >= 4, "{r:?}");
    assert!(r.last_line.map(|p| p.seq).unwrap_or_default() > last + 60);
    // Every file but the oldest starts with a rotation seal naming its
    // number and predecessor.
    for f in &all[1..] {
        let first = f.bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let rec: Record = serde_json::from_slice(first).map_err(io::Error::other)?;
        assert!(rec.opens_rotated_file() && rec.is_seal(), "{rec:?}");
        assert_eq!(rec.keep, Some(3));
        assert!(rec.file_no.is_some_and(|n| n >= 1));
    }
    // A count seal appears at most every 7 records.
    let mut since = 0;
    for f in &all {
        for l in f.bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let rec: Record = serde_json::from_slice(l).map_err(io::Error::other)?;
            since = if rec.is_seal() { 0 } else { since + 1 };
            assert!(since <= 7);
        }
    }
    Ok(())
}

#[test]
fn incomplete_last_line_is_cut_and_said_in_the_start_seal() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let key = test_key()?;
    let a = start(&cfg(), &path, &key)?;
    rt().block_on(a.commit(ev(1))).map_err(io::Error::other)?;
    assert!(a.close(Duration::from_secs(5)));
    let mut f = fs::OpenOptions::new().append(true).open(&path)?;
    f.write_all(b"{\"seq\":4,\"ti")?;
    drop(f);
    let a = start(&cfg(), &path, &key)?;
    assert!(a.close(Duration::from_secs(5)));
    let recs = records(&path);
    let start_seal = &recs[3];
    assert_eq!(start_seal.trigger, "start");
    assert!(
        start_seal
            .reason
            .contains("incomplete last line (12 bytes)"),
        "{start_seal:?}"
    );
    assert!(check(&path, 2, key.public()).ok());
    Ok(())
}

#[test]
fn garbage_or_truncation_moves_the_log_aside_and_starts_a_new_chain() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let key = test_key()?;
    let a = start(&cfg(), &path, &key)?;
    rt().block_on(async {
        for i in 0..3 {
            a.commit(ev(i)).await.map_err(io::Error::other)?;
        }
        Ok::<_, io::Error>(())
    })?;
    assert!(a.close(Duration::from_secs(5)));
    let before = fs::read(&path)?;
    let good_lines = before
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    fs::OpenOptions::new()
        .append(true)
        .open(&path)?
        .write_all(b"not a record\n")?;
    let a = start(&cfg(), &path, &key)?;
    assert!(a.close(Duration::from_secs(5)));
    let broken: Vec<_> = fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("audit.log.broken-")
        })
        .collect();
    assert_eq!(broken.len(), 1);
    let kept = fs::read(broken[0].path())?;
    assert!(
        kept.starts_with(&before),
        "the broken file keeps every line"
    );
    let recs = records(&path);
    assert_eq!(recs[0].event, "new-chain");
    assert_eq!(recs[0].broken_file, broken[0].file_name().to_string_lossy());
    assert_eq!(recs[0].broken_seq, Some(good_lines as u64));
    let last_good = before
        .split(|&b| b == b'\n')
        .rfind(|l| !l.is_empty())
        .map(chain::line_hash)
        .unwrap_or_default();
    assert_eq!(recs[0].broken_hash, last_good);
    let at = format!(":{}: not an audit record", good_lines + 1);
    assert!(recs[0].reason.contains(&at), "{:?}", recs[0]);
    assert_eq!(recs[1].trigger, "new-chain");
    let r = check(&path, 2, key.public());
    assert_eq!(r.first_problem().map(|f| f.kind), Some(Kind::NewChain));

    // Truncated back to an older seal, then restarted: audit.head knows.
    let a = start(&cfg(), &path, &key)?;
    rt().block_on(a.commit(ev(9))).map_err(io::Error::other)?;
    assert!(a.close(Duration::from_secs(5)));
    let text = fs::read_to_string(&path)?;
    let lines: Vec<&str> = text.lines().collect();
    // Cut after the new-chain seal (line 2): a valid, sealed prefix.
    fs::write(&path, format!("{}\n{}\n", lines[0], lines[1]))?;
    let a = start(&cfg(), &path, &key)?;
    assert!(a.close(Duration::from_secs(5)));
    let recs = records(&path);
    assert_eq!(recs[0].event, "new-chain");
    assert!(
        recs[0].reason.contains("audit.head recorded a seal"),
        "{:?}",
        recs[0]
    );
    Ok(())
}

#[test]
fn a_failing_log_suspends_signing_then_writes_the_refusals_first() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let key = test_key()?;
    let c = AuditConfig {
        required: Some(true),
        ..cfg()
    };
    let a = start(&c, &path, &key)?;
    let runtime = rt();
    runtime
        .block_on(a.commit(ev(1)))
        .map_err(io::Error::other)?;
    assert!(a.flush(Duration::from_secs(5)));
    // The file's directory becomes unwritable... simulated: the writer's
    // next writes fail as on a full disk.
    a.shared.inject.store(true, Ordering::SeqCst);
    runtime
        .block_on(a.commit(ev(2)))
        .map_err(io::Error::other)?;
    assert!(!a.flush(Duration::from_secs(5)));
    let info = a.info();
    assert!(
        !info.writing && info.problem.contains("No space left"),
        "{info:?}"
    );
    let refused = runtime.block_on(a.commit(ev(3)));
    let msg = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.starts_with("audit log cannot be written: No space left on device")
            && msg.ends_with("; signing is suspended until it can"),
        "{msg}"
    );
    // Nothing of it is in the file yet.
    let n = records(&path).len();
    assert_eq!(n, 2, "{:?}", records(&path));
    a.shared.inject.store(false, Ordering::SeqCst);
    // The writer tries again every RETRY.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !a.info().writing && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(a.flush(Duration::from_secs(5)));
    runtime
        .block_on(a.commit(ev(4)))
        .map_err(io::Error::other)?;
    assert!(a.close(Duration::from_secs(5)));
    let recs = records(&path);
    let summary: Vec<(String, String)> = recs
        .iter()
        .map(|r| (r.event.clone(), r.target.clone()))
        .collect();
    let t = |i: u32| format!("/v2/public/projects/{i}");
    assert_eq!(
        summary[1..],
        [
            ("sign".into(), t(1)),
            // Queued before the failure was known: its signature went out,
            // its record waited in memory.
            ("sign".into(), t(2)),
            ("refuse".into(), t(3)),
            ("seal".into(), String::new()),
            ("sign".into(), t(4)),
            ("seal".into(), String::new()),
        ]
    );
    assert!(recs[3]
        .reason
        .starts_with("signature withheld: audit log cannot be written"));
    assert_eq!(recs[4].trigger, "recovered");
    assert!(check(&path, 2, key.public()).ok());
    Ok(())
}

#[test]
fn written_durability_returns_after_the_line_is_in_the_file() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let key = test_key()?;
    let c = AuditConfig {
        durability: Durability::Written,
        required: Some(true),
        ..cfg()
    };
    let a = start(&c, &path, &key)?;
    let runtime = rt();
    for i in 0..20 {
        runtime
            .block_on(a.commit(ev(i)))
            .map_err(io::Error::other)?;
        let text = fs::read_to_string(&path)?;
        assert!(text.contains(&format!("/v2/public/projects/{i}\"")), "{i}");
    }
    // A failing write withholds the waiting signature, and its record
    // becomes the refusal.
    a.shared.inject.store(true, Ordering::SeqCst);
    let r = runtime.block_on(a.commit(ev(99)));
    assert!(matches!(r, Err(AuditError::Suspended(_))), "{r:?}");
    a.shared.inject.store(false, Ordering::SeqCst);
    assert!(a.close(Duration::from_secs(5)));
    let recs = records(&path);
    let last = recs.iter().rfind(|r| r.target.ends_with("/99"));
    assert_eq!(last.map(|r| r.event.as_str()), Some("refuse"));
    assert!(check(&path, 2, key.public()).ok());
    Ok(())
}

#[test]
fn a_log_removed_under_the_writer_starts_a_new_chain_naming_it() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let key = test_key()?;
    let a = start(&cfg(), &path, &key)?;
    let runtime = rt();
    runtime
        .block_on(a.commit(ev(1)))
        .map_err(io::Error::other)?;
    assert!(a.flush(Duration::from_secs(5)));
    fs::remove_file(&path)?;
    runtime
        .block_on(a.commit(ev(2)))
        .map_err(io::Error::other)?;
    assert!(a.close(Duration::from_secs(5)));
    let recs = records(&path);
    assert_eq!(recs[0].event, "new-chain");
    assert!(recs[0].reason.contains("was removed"), "{:?}", recs[0]);
    assert_eq!(recs[0].broken_seq, Some(2));
    assert!(recs.iter().any(|r| r.target.ends_with("/2")));
    Ok(())
}

#[test]
fn a_new_audit_key_names_the_old_one_in_its_first_seal() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let key = test_key()?;
    let a = start(&cfg(), &path, &key)?;
    rt().block_on(a.commit(ev(1))).map_err(io::Error::other)?;
    assert!(a.close(Duration::from_secs(5)));
    // The key store forgot the key (a reboot, with the kernel keyring).
    let (fresh, _) = AuditKey::generate()?;
    let new_public = fresh.public();
    let a = Auditor::start(&cfg(), path.clone(), false, Some(fresh), true)?;
    rt().block_on(a.commit(ev(2))).map_err(io::Error::other)?;
    assert!(a.close(Duration::from_secs(5)));
    let recs = records(&path);
    let start_seal = &recs[3];
    assert_eq!(start_seal.trigger, "start");
    assert_eq!(start_seal.previous_key, hex::encode(key.public()));
    assert_eq!(start_seal.audit_key, hex::encode(new_public));
    let r = check(&path, 2, new_public);
    assert!(r.ok(), "{:?}", r.findings);
    assert!(r.findings.iter().any(|f| f.kind == Kind::KeyChange));
    Ok(())
}

#[test]
fn a_second_writer_of_the_same_log_is_refused() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.log");
    let key = test_key()?;
    let a = start(&cfg(), &path, &key)?;
    let second = start(&cfg(), &path, &key);
    let msg = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("already written by another signetd") && msg.contains("--state-dir"),
        "{msg}"
    );
    assert!(a.close(Duration::from_secs(5)));
    Ok(())
}

#[cfg(unix)]
#[test]
fn journal_datagrams_carry_signet_fields_and_seals() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let sock = dir.path().join("journal.sock");
    let server = std::os::unix::net::UnixDatagram::bind(&sock)?;
    server.set_read_timeout(Some(Duration::from_secs(5)))?;
    let c = AuditConfig {
        journal: true,
        journal_socket: Some(sock.clone()),
        ..AuditConfig::default()
    };
    let key = test_key()?;
    let log = dir.path().join("audit.log");
    let a = start(&c, &log, &key)?;
    rt().block_on(a.commit(ev(9))).map_err(io::Error::other)?;
    let mut buf = vec![0u8; 65536];
    let mut msgs = Vec::new();
    for _ in 0..2 {
        let n = server.recv(&mut buf)?;
        msgs.push(buf[..n].to_vec());
    }
    let has = |msg: &[u8], name: &str, value: &str| {
        let mut needle = format!("{name}\n").into_bytes();
        needle.extend_from_slice(&(value.len() as u64).to_le_bytes());
        needle.extend_from_slice(value.as_bytes());
        msg.windows(needle.len()).any(|w| w == needle.as_slice())
    };
    let (seal, sign) = (&msgs[0], &msgs[1]);
    assert!(has(seal, "SIGNET_DECISION", "seal"));
    assert!(seal.windows(11).any(|w| w == b"SIGNET_SEAL"));
    assert!(has(seal, "SIGNET_AUDIT_LOG", &log.display().to_string()));
    assert!(has(sign, "SIGNET_KEY", "ci-bot"));
    assert!(has(sign, "SIGNET_DECISION", "sign"));
    assert!(has(sign, "SIGNET_TARGET", "/v2/public/projects/9"));
    assert!(has(sign, "SIGNET_RULE", "read-only"));
    assert!(has(sign, "SIGNET_CALLER_UID", "1000"));
    assert!(a.close(Duration::from_secs(5)));
    Ok(())
}
