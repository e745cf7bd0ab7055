//! `signet audit verify`, `tail` and `pubkey`: the agent's audit log.
//!
//! The log is found by asking the agent at the socket (`audit-info@signet`
//! names its path and its audit public key, and says how far it has
//! written), so the user need not know where its state directory is; with
//! no agent answering, the default path (or `--path`) is read and the seals
//! can only be checked with `--pubkey`. A missing or unreadable log is the
//! same error, with the same exit code (1), for `verify` and `tail`.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use serde_json::json;
use signet_client::{AuditInfo, Client, Error as ClientError};
use signet_proto::audit::{self, Input, Kind, KnownSeal, LiveHead, LogFile, Record};
use signet_proto::text::escape;

use super::{out, Ctx};
use crate::cli::{exit, AuditArgs, AuditCommand, TailArgs, VerifyArgs};
use crate::failure::Failure;

/// Where the log is, and what its agent said about it.
struct Located {
    path: PathBuf,
    /// The agent's answer, when it is this log's agent.
    agent: Option<AuditInfo>,
    /// The socket asked, for messages.
    socket: Option<PathBuf>,
    /// Why the agent's word is missing.
    no_agent: Option<String>,
}

fn default_path(system: bool) -> PathBuf {
    crate::file_paths::with_env(|env| signet_proto::paths::audit_log(env, system))
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Asks the agent where its log is; falls back to `--path` or the default.
fn locate(a: &AuditArgs, socket: Option<PathBuf>) -> Result<Located> {
    let socket = match socket {
        Some(s) => Some(s),
        None if a.system => Some(PathBuf::from(signet_proto::paths::SYSTEM_SOCKET)),
        None => Client::socket_path().ok(),
    };
    let asked = socket
        .as_ref()
        .map(|s| Client::connect_to(s).and_then(|mut c| c.audit_info()));
    let fallback = || a.path.clone().unwrap_or_else(|| default_path(a.system));
    let sock_name = socket
        .as_ref()
        .map(|s| s.display().to_string())
        .unwrap_or_else(|| "the default socket".into());
    Ok(match asked {
        Some(Ok(info)) if !info.enabled => {
            if a.path.is_none() {
                bail!(
                    "the agent at {sock_name} writes no audit log: {} (--path FILE reads a log anyway)",
                    info.problem
                );
            }
            Located {
                path: fallback(),
                agent: None,
                socket,
                no_agent: Some(format!("the agent at {sock_name} writes no audit log")),
            }
        }
        Some(Ok(info)) => {
            let theirs = PathBuf::from(&info.path);
            match &a.path {
                Some(p) if !same_file(p, &theirs) => Located {
                    path: p.clone(),
                    agent: None,
                    socket,
                    no_agent: Some(format!(
                        "the agent at {sock_name} writes another log ({})",
                        theirs.display()
                    )),
                },
                _ => Located {
                    path: theirs,
                    agent: Some(info),
                    socket,
                    no_agent: None,
                },
            }
        }
        Some(Err(e)) => Located {
            path: fallback(),
            agent: None,
            socket,
            no_agent: Some(match e {
                ClientError::NotRunning { .. } => format!("no agent answers at {sock_name}"),
                e => format!("the agent at {sock_name} did not say where its log is ({e})"),
            }),
        },
        None => Located {
            path: fallback(),
            agent: None,
            socket,
            no_agent: Some("no socket to ask the agent on".into()),
        },
    })
}

/// `path.N` … `path.1`, then `path`: oldest first.
fn chain_files(path: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<(u32, PathBuf)> = Vec::new();
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let prefix = format!("{}.", name.to_string_lossy());
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if let Some(num) = n.strip_prefix(&prefix).and_then(|s| s.parse::<u32>().ok()) {
                    rotated.push((num, e.path()));
                }
            }
        }
    }
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    files.push(path.to_path_buf());
    files
}

/// Reads the log's files. A missing newest file is no error if rotated
/// ones exist or something says the log should be there (verify reports
/// that); `Ok(None)`: there is no log at all.
fn read_files(path: &Path, expected: bool) -> Result<Option<Vec<LogFile>>> {
    let mut files = Vec::new();
    for p in chain_files(path) {
        match std::fs::read(&p) {
            Ok(bytes) => files.push(LogFile {
                name: p.display().to_string(),
                bytes,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && p == path => {
                if files.is_empty() && !expected {
                    return Ok(None);
                }
                files.push(LogFile {
                    name: p.display().to_string(),
                    bytes: Vec::new(),
                });
            }
            Err(e) => {
                return Err(Failure::new(
                    "audit_log_unreadable",
                    exit::ERROR,
                    format!(
                        "cannot read the audit log {}: {e}: run as the agent's user (root for the system agent)",
                        p.display()
                    ),
                )
                .into())
            }
        }
    }
    Ok(Some(files))
}

fn no_log(loc: &Located) -> anyhow::Error {
    let why = loc
        .no_agent
        .as_deref()
        .map(|w| format!(" ({w})"))
        .unwrap_or_default();
    Failure::new(
        "no_audit_log",
        exit::ERROR,
        format!(
            "no audit log at {}{why}: is the agent running, and is this its log? (--path FILE, --system)",
            loc.path.display()
        ),
    )
    .into()
}

/// Runs `signet audit …`.
pub fn run(ctx: &Ctx, a: AuditArgs) -> Result<()> {
    let loc = locate(&a, ctx.socket.clone())?;
    match &a.command {
        AuditCommand::Verify(v) => verify(ctx, &loc, v),
        AuditCommand::Tail(t) => tail(ctx, &loc, t),
        AuditCommand::Pubkey => pubkey(ctx, &loc),
    }
}

fn pubkey(ctx: &Ctx, loc: &Located) -> Result<()> {
    let Some(info) = &loc.agent else {
        return Err(Failure::new(
            "not_running",
            exit::NOT_RUNNING,
            format!(
                "{}: `signet audit pubkey` asks the running agent for its audit key",
                loc.no_agent.as_deref().unwrap_or("no agent answered")
            ),
        )
        .into());
    };
    let Some(key) = info.public_key else {
        bail!(
            "the agent has no audit key, so its log is chained but not sealed: see its log for why (the key store did not answer?)"
        );
    };
    let hex = hex::encode(key);
    ctx.show(
        &format!("{hex}\n"),
        &json!({"audit_key": hex, "path": info.path}),
    )
}

fn parse_pubkey(hex_key: &str) -> Result<[u8; 32]> {
    let mut k = [0u8; 32];
    hex::decode_to_slice(hex_key.trim(), &mut k).map_err(|_| {
        anyhow::anyhow!(
            "--pubkey {hex_key:?} is not an audit public key: give the 64 hex digits `signet audit pubkey` printed"
        )
    })?;
    Ok(k)
}

fn verify(ctx: &Ctx, loc: &Located, v: &VerifyArgs) -> Result<()> {
    let json = ctx.json;
    let given = v.pubkey.as_deref().map(parse_pubkey).transpose()?;
    let agent = loc.agent.as_ref();
    let head_path = audit::head_file(&loc.path);
    let head = std::fs::read(&head_path).ok().map(|b| {
        let line = b.strip_suffix(b"\n").unwrap_or(&b).to_vec();
        KnownSeal {
            source: head_path.display().to_string(),
            line,
        }
    });
    let mut known: Vec<KnownSeal> = head.into_iter().filter(|k| !k.line.is_empty()).collect();
    known.extend(journal_seal(&loc.path));
    if let Some(info) = agent.filter(|i| !i.last_seal.is_empty()) {
        known.push(KnownSeal {
            source: "the running agent".into(),
            line: info.last_seal.clone().into_bytes(),
        });
    }
    let expected = !known.is_empty() || agent.is_some_and(|i| i.head_seq > 0);
    let Some(files) = read_files(&loc.path, expected)? else {
        return Err(no_log(loc));
    };
    // Asked again once the files are read: a line beyond what the agent
    // had written by then is not the agent's.
    let until = match (agent, &loc.socket) {
        (Some(_), Some(sock)) => Client::connect_to(sock)
            .and_then(|mut c| c.audit_info())
            .ok()
            .map(|i| i.head_seq),
        _ => None,
    };
    let live = agent.filter(|i| i.head_seq > 0).map(|i| LiveHead {
        seq: i.head_seq,
        hash: i.head_hash.clone(),
        until,
    });
    let (key, key_source) =
        match (given, agent.and_then(|i| i.public_key)) {
            (Some(k), Some(a)) if k != a => {
                bail!(
            "--pubkey {} is not the audit key of the agent at {} ({}): which one do you mean?",
            hex::encode(k),
            loc.socket.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default(),
            hex::encode(a)
        )
            }
            (Some(k), _) => (Some(k), "--pubkey"),
            (None, Some(a)) => (Some(a), "the running agent"),
            (None, None) => (None, ""),
        };
    let mut report = audit::verify(&Input {
        files: &files,
        key,
        known_seals: &known,
        live,
    });
    // With no agent answering, audit.head is what remembers the latest
    // seal; a sealed log without it may have been cut back to an older
    // seal, which nothing else here can tell (the agent refuses to resume
    // such a log at its next start).
    if agent.is_none() && report.seals > 0 && !head_path.exists() {
        report.findings.push(audit::Finding {
            kind: Kind::Truncated,
            file: files.last().map(|f| f.name.clone()).unwrap_or_default(),
            line: 0,
            message: format!(
                "the log has {} seal(s), but {} is missing: it was deleted, and the log may have been cut back to an older seal",
                report.seals,
                head_path.display()
            ),
        });
    }
    let problems: Vec<&audit::Finding> = report
        .findings
        .iter()
        .filter(|f| f.kind.is_problem())
        .collect();
    let mut counts = serde_json::Map::new();
    for f in &report.findings {
        let n = counts
            .get(f.kind.as_str())
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        counts.insert(f.kind.as_str().to_owned(), json!(n + 1));
    }
    let finding = |f: &audit::Finding| json!({"kind": f.kind.as_str(), "file": f.file, "line": f.line, "message": f.message, "problem": f.kind.is_problem()});
    let doc = json!({
        "ok": report.ok(),
        "path": loc.path.display().to_string(),
        "files": report.files,
        "lines": report.lines,
        "seals": report.seals,
        "unsealed": report.unsealed,
        "anchored": report.anchored,
        "key": report.key.map(hex::encode),
        "key_source": key_source,
        "agent": agent.is_some(),
        "last_seal": report.last_seal.as_ref().map(|p| json!({"file": p.file, "line": p.line, "seq": p.seq})),
        "first_bad": problems.first().map(|f| finding(f)),
        "findings": report.findings.iter().map(finding).collect::<Vec<_>>(),
        "counts": counts,
    });
    if !json {
        for f in &report.findings {
            let label = if f.kind.is_problem() {
                f.kind.as_str().replace('_', " ")
            } else if f.kind == Kind::CrashTail || f.kind == Kind::KeyChange {
                "warning".into()
            } else {
                "note".into()
            };
            eprintln!("{f}  [{label}]");
        }
    }
    if let Some(first) = problems.first() {
        return Err(Failure::new(
            "audit_log_broken",
            exit::ERROR,
            format!(
                "audit log broken: {} problem(s); the first at {first}",
                problems.len()
            ),
        )
        .with_data(doc)
        .into());
    }
    let key = report
        .key
        .map(|k| format!(", sealed by audit key {} ({key_source})", short_hex(&k)))
        .unwrap_or_default();
    ctx.show(
        &format!(
            "audit log intact: {} lines in {} file(s), {} seals{key}, {} … {}\n",
            report.lines,
            report.files,
            report.seals,
            files.first().map(|f| f.name.as_str()).unwrap_or(""),
            files.last().map(|f| f.name.as_str()).unwrap_or("")
        ),
        &doc,
    )
}

/// The latest seal the systemd journal holds for the log at `path`
/// (signetd sends each seal there with its whole line), when `journalctl`
/// is there and may read the journal; nothing otherwise.
fn journal_seal(path: &Path) -> Option<KnownSeal> {
    let out = std::process::Command::new("journalctl")
        .args(["--no-pager", "--quiet", "--output=json", "--lines=1"])
        .args(["SYSLOG_IDENTIFIER=signetd", "SIGNET_DECISION=seal"])
        .arg(format!("SIGNET_AUDIT_LOG={}", path.display()))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let last = out.stdout.split(|&b| b == b'\n').rfind(|l| !l.is_empty())?;
    let entry: serde_json::Value = serde_json::from_slice(last).ok()?;
    // journalctl writes a field that is not valid UTF-8 as an array of bytes.
    let line = match &entry["SIGNET_SEAL"] {
        serde_json::Value::String(s) => s.clone().into_bytes(),
        serde_json::Value::Array(bytes) => bytes
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect::<Option<Vec<u8>>>()?,
        _ => return None,
    };
    Some(KnownSeal {
        source: "the journal".into(),
        line,
    })
}

fn short_hex(k: &[u8; 32]) -> String {
    hex::encode(&k[..8])
}

fn matches(rec: &Record, key: Option<&str>) -> bool {
    key.is_none_or(|k| rec.key == k || rec.key_id == k)
}

fn show(line: &[u8], key: Option<&str>, json: bool) -> Result<()> {
    let Ok(rec) = serde_json::from_slice::<Record>(line) else {
        return out(&format!("? {}\n", escape(&String::from_utf8_lossy(line))));
    };
    if !matches(&rec, key) {
        return Ok(());
    }
    if json {
        return out(&format!("{}\n", String::from_utf8_lossy(line)));
    }
    out(&format!("{}\n", human(&rec)))
}

/// One entry for people: time, decision, key, what, who, rule and reason.
/// Everything a caller chose is escaped (a target cannot forge a line).
/// A reason is a sentence signetd made of escaped pieces: its control
/// characters are escaped too, but it is neither escaped twice nor cut.
pub fn human(r: &Record) -> String {
    let esc = |s: &str| escape(s);
    let sentence = |s: &str| signet_proto::text::escape_controls(s).into_owned();
    let what = if r.scheme == "ssh" {
        "ssh (SSH login or SSHSIG)".to_owned()
    } else if r.scheme == "raw" {
        "raw (raw signature)".to_owned()
    } else if r.method.is_empty() {
        esc(&r.scheme)
    } else {
        format!("{} {} {}", esc(&r.scheme), esc(&r.method), esc(&r.target))
    };
    let who = match (r.uid, r.pid) {
        (Some(u), Some(p)) => format!("uid {u} pid {p} {}", esc(&r.exe)),
        (Some(u), None) => format!("uid {u}"),
        _ => String::new(),
    };
    let mut s = format!("{}  #{}  {:<7} ", esc(&r.time), r.seq, esc(&r.event));
    match r.event.as_str() {
        "rotated" => s.push_str(&format!("(continues {})", esc(&r.rotated_from))),
        "dropped" => s.push_str(&sentence(&r.reason)),
        "seal" => {
            s.push_str(&format!("({}", esc(&r.trigger)));
            if let Some(n) = r.file_no {
                s.push_str(&format!(", file {n} of the chain"));
            }
            if let Some(n) = r.unsealed {
                s.push_str(&format!(", {n} unsealed line(s) before it"));
            }
            s.push(')');
            if !r.reason.is_empty() {
                s.push_str(&format!("  {}", sentence(&r.reason)));
            }
        }
        "new-chain" => s.push_str(&format!(
            "(after {}, last good seq {}): {}",
            esc(&r.broken_file),
            r.broken_seq
                .map(|n| n.to_string())
                .unwrap_or_else(|| "none".into()),
            sentence(&r.reason)
        )),
        _ => {
            s.push_str(&format!("{}  {what}  {who}", esc(&r.key)));
            if !r.rule.is_empty() {
                s.push_str(&format!("  rule {}", esc(&r.rule)));
            }
            if !r.reason.is_empty() {
                s.push_str(&format!("  ({})", sentence(&r.reason)));
            }
        }
    }
    s
}

fn tail(ctx: &Ctx, loc: &Located, t: &TailArgs) -> Result<()> {
    let json = ctx.json;
    let key = t.key.as_deref();
    let Some(files) = read_files(&loc.path, false)? else {
        return Err(no_log(loc));
    };
    let mut recent: Vec<Vec<u8>> = Vec::new();
    for f in &files {
        for line in f.bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let keep = serde_json::from_slice::<Record>(line)
                .map(|r| matches(&r, key))
                .unwrap_or(true);
            if keep {
                recent.push(line.to_vec());
            }
        }
    }
    let skip = recent.len().saturating_sub(t.lines);
    if json && !t.follow {
        // One document: the records as an array (a record that does not
        // parse is shown as its text).
        let docs: Vec<serde_json::Value> = recent[skip..]
            .iter()
            .map(|l| {
                serde_json::from_slice(l).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(l).into())
                })
            })
            .collect();
        return ctx.emit(&docs);
    }
    for line in &recent[skip..] {
        show(line, None, json)?;
    }
    if !t.follow {
        return Ok(());
    }
    // A stream: one JSON record per line from here on.
    super::mark_emitted();
    let path = &loc.path;
    // Follow: poll for growth; a shorter file or a new inode means rotation.
    let mut pos = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut ino = inode(path);
    let mut partial = Vec::new();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let now_ino = inode(path);
        if now_ino != ino || len < pos {
            ino = now_ino;
            pos = 0;
            partial.clear();
        }
        if len == pos {
            continue;
        }
        let Ok(mut f) = std::fs::File::open(path) else {
            continue;
        };
        f.seek(SeekFrom::Start(pos))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        pos += buf.len() as u64;
        partial.extend_from_slice(&buf);
        while let Some(i) = partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = partial.drain(..=i).collect();
            show(&line[..line.len() - 1], key, json)?;
        }
    }
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0)
}

#[cfg(not(unix))]
fn inode(_path: &Path) -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_come_oldest_first() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("audit.log");
        for n in [
            "audit.log",
            "audit.log.1",
            "audit.log.10",
            "audit.log.2",
            "audit.log.x",
            "audit.log.broken-20260101T000000Z",
        ] {
            std::fs::write(dir.path().join(n), b"")?;
        }
        let names: Vec<String> = chain_files(&p)
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(
            names,
            vec!["audit.log.10", "audit.log.2", "audit.log.1", "audit.log"]
        );
        Ok(())
    }

    #[test]
    fn human_line() {
        let r = Record {
            seq: 7,
            time: "2026-11-23T21:00:00Z".into(),
            event: "refuse".into(),
            key: "ci-bot".into(),
            scheme: "encord-v2".into(),
            method: "DELETE".into(),
            target: "/v2/public/projects/p".into(),
            uid: Some(1000),
            pid: Some(42),
            exe: "/usr/bin/python3".into(),
            rule: "read-only".into(),
            reason: "key ci-bot: method DELETE not allowed by rule read-only".into(),
            ..Record::default()
        };
        assert_eq!(
            human(&r),
            "2026-11-23T21:00:00Z  #7  refuse  ci-bot  encord-v2 DELETE /v2/public/projects/p  \
             uid 1000 pid 42 /usr/bin/python3  rule read-only  \
             (key ci-bot: method DELETE not allowed by rule read-only)"
        );
        let seal = Record {
            seq: 9,
            time: "2026-11-23T21:00:01Z".into(),
            event: "seal".into(),
            trigger: "start".into(),
            unsealed: Some(2),
            ..Record::default()
        };
        assert_eq!(
            human(&seal),
            "2026-11-23T21:00:01Z  #9  seal    (start, 2 unsealed line(s) before it)"
        );
        let forged = Record {
            target: "/x\n2026-11-23T21:00:02Z  #10  sign".into(),
            method: "GET".into(),
            scheme: "encord-v2".into(),
            event: "sign".into(),
            ..Record::default()
        };
        assert!(!human(&forged).contains('\n'));
    }

    #[test]
    fn pubkey_must_be_64_hex_digits() {
        assert!(parse_pubkey(&"ab".repeat(32)).is_ok());
        let e = parse_pubkey("abc")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("64 hex digits"), "{e}");
    }
}
