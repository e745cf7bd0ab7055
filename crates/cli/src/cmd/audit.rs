//! `signet audit verify` and `signet audit tail`: read the agent's audit log
//! (the files signetd writes; no agent needed).

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::json;
use signet_proto::audit::{self, Record};
use signet_proto::text::escape;

use super::Ctx;
use crate::cli::{exit, AuditArgs, AuditCommand, TailArgs};
use crate::failure::Failure;

fn log_path(a: &AuditArgs) -> PathBuf {
    if let Some(p) = &a.path {
        return p.clone();
    }
    crate::file_paths::with_env(|env| signet_proto::paths::audit_log(env, a.system))
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

/// Runs `signet audit …`.
pub fn run(ctx: &Ctx, a: AuditArgs) -> Result<()> {
    let path = log_path(&a);
    match &a.command {
        AuditCommand::Verify => verify(ctx, &path),
        AuditCommand::Tail(t) => tail(ctx, &path, t),
    }
}

fn verify(ctx: &Ctx, path: &Path) -> Result<()> {
    let mut files = Vec::new();
    for p in chain_files(path) {
        match std::fs::read(&p) {
            Ok(bytes) => files.push((p.display().to_string(), bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && p == path => {
                if files.is_empty() {
                    anyhow::bail!(
                        "no audit log at {}: is this the agent's state directory? (--path FILE)",
                        path.display()
                    );
                }
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", p.display())),
        }
    }
    match audit::verify(&files) {
        Ok(n) => ctx.show(
            &format!(
                "audit log intact: {n} lines in {} file(s), {} … {}\n",
                files.len(),
                files.first().map(|f| f.0.as_str()).unwrap_or(""),
                files.last().map(|f| f.0.as_str()).unwrap_or("")
            ),
            &json!({"ok": true, "lines": n, "files": files.len()}),
        ),
        Err(e) => Err(Failure::new(
            "audit_log_broken",
            exit::ERROR,
            format!("audit log broken at {e}"),
        )
        .with_data(json!({"ok": false, "file": e.file, "line": e.line, "what": e.what}))
        .into()),
    }
}

fn matches(rec: &Record, key: Option<&str>) -> bool {
    key.is_none_or(|k| rec.key == k || rec.key_id == k)
}

fn show(line: &[u8], key: Option<&str>, json: bool) {
    let Ok(rec) = serde_json::from_slice::<Record>(line) else {
        println!("? {}", escape(&String::from_utf8_lossy(line)));
        return;
    };
    if !matches(&rec, key) {
        return;
    }
    if json {
        println!("{}", String::from_utf8_lossy(line));
        return;
    }
    println!("{}", human(&rec));
}

/// One entry for people: time, decision, key, what, who, rule and reason.
pub fn human(r: &Record) -> String {
    let what = if r.scheme == "ssh" {
        "ssh (SSH login or SSHSIG)".to_owned()
    } else if r.scheme == "raw" {
        "raw (raw signature)".to_owned()
    } else if r.method.is_empty() {
        r.scheme.clone()
    } else {
        format!(
            "{} {} {}",
            escape(&r.scheme),
            escape(&r.method),
            escape(&r.target)
        )
    };
    let who = match (r.uid, r.pid) {
        (Some(u), Some(p)) => format!("uid {u} pid {p} {}", escape(&r.exe)),
        (Some(u), None) => format!("uid {u}"),
        _ => String::new(),
    };
    let mut s = format!("{}  #{}  {:<7} ", r.time, r.seq, r.event);
    match r.event.as_str() {
        "rotated" => s.push_str(&format!("(continues {})", r.rotated_from)),
        "dropped" => s.push_str(&escape(&r.reason)),
        _ => {
            s.push_str(&format!("{}  {what}  {who}", escape(&r.key)));
            if !r.rule.is_empty() {
                s.push_str(&format!("  rule {}", escape(&r.rule)));
            }
            if !r.reason.is_empty() {
                s.push_str(&format!("  ({})", escape(&r.reason)));
            }
        }
    }
    s
}

fn tail(ctx: &Ctx, path: &Path, t: &TailArgs) -> Result<()> {
    let json = ctx.json;
    let key = t.key.as_deref();
    let mut recent: Vec<Vec<u8>> = Vec::new();
    for p in chain_files(path) {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
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
        show(line, None, json);
    }
    if !t.follow {
        return Ok(());
    }
    // A stream: one JSON record per line from here on.
    super::mark_emitted();
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
            show(&line[..line.len() - 1], key, json);
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
    }
}
