//! The writer thread: formats, chains, writes and rotates the audit log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use signet_proto::audit::{line_hash, Record, GENESIS};
use tracing::{error, warn};

use super::journal::Journal;
use super::{Event, Msg, Verdict};

/// The file's write buffer: a 5 ms batch at 40,000 signatures/s is ~70 KiB
/// of lines, written in a couple of write(2) calls rather than nine.
const WRITE_BUFFER: usize = 64 * 1024;

/// How long the writer gathers events before writing them.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(5);

pub(super) struct Writer {
    path: PathBuf,
    file: BufWriter<File>,
    size: u64,
    seq: u64,
    /// Hex SHA-256 of the last line (64 ASCII digits, or [`GENESIS`]).
    prev: String,
    max_bytes: u64,
    keep: usize,
    pub(super) journal: Option<Journal>,
    /// The line being written (reused: no allocation per line).
    line: Vec<u8>,
    /// The last second formatted, and its RFC 3339 text.
    clock: (u64, String),
}

/// One audit line as written: a [`Record`] with borrowed fields, so a line
/// costs no copies. Same field names, order and omissions as [`Record`]
/// (a unit test holds them byte-for-byte equal), so `audit verify`, `tail`
/// and any JSON reader see one format.
#[derive(Serialize)]
pub(super) struct Line<'a> {
    pub(super) seq: u64,
    pub(super) time: &'a str,
    pub(super) event: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) key: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) key_id: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) scheme: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) method: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) target: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) created: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) uid: Option<u32>,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) exe: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) rule: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) reason: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub(super) rotated_from: &'a str,
    pub(super) prev: &'a str,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

impl<'a> Line<'a> {
    fn new(seq: u64, time: &'a str, event: &'a str, prev: &'a str) -> Self {
        Self {
            seq,
            time,
            event,
            key: "",
            key_id: "",
            scheme: "",
            method: "",
            target: "",
            digest: "",
            created: None,
            pid: None,
            uid: None,
            exe: "",
            rule: "",
            reason: "",
            rotated_from: "",
            prev,
        }
    }
}

/// Lowercase hex of 32 bytes, on the stack.
fn hex32<'a>(bytes: &[u8; 32], out: &'a mut [u8; 64]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    // Only ASCII digits were written.
    std::str::from_utf8(out).unwrap_or_default()
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true).read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// The last complete line of `file` and the length up to its end.
fn last_line(file: &mut File) -> io::Result<(Option<Vec<u8>>, u64)> {
    let len = file.metadata()?.len();
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    // Keep only complete lines (a crash can leave a partial one).
    let complete = tail.iter().rposition(|&b| b == b'\n').map(|i| i + 1);
    let Some(end) = complete else {
        return Ok((None, if start == 0 { 0 } else { len }));
    };
    let body = &tail[..end - 1];
    let line_start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Ok((Some(body[line_start..].to_vec()), start + end as u64))
}

impl Writer {
    pub(super) fn open(path: PathBuf, max_bytes: u64, keep: usize) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let mut file = open_append(&path)?;
        let (mut last, good_len) = last_line(&mut file)?;
        let len = file.metadata()?.len();
        if good_len < len {
            warn!(
                "audit log {}: dropping an incomplete last line ({} bytes) left by a crash",
                path.display(),
                len - good_len
            );
            file.set_len(good_len)?;
        }
        let mut from_rotated = false;
        if last.is_none() {
            if let Ok(mut old) = File::open(rotated(&path, 1)) {
                last = last_line(&mut old)?.0;
                from_rotated = last.is_some();
            }
        }
        let (seq, prev) = match &last {
            Some(line) => {
                let rec: Record = serde_json::from_slice(line).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the last line of the audit log {} is not an audit record ({e}): move the file away to start a new chain",
                            path.display()
                        ),
                    )
                })?;
                (rec.seq, line_hash(line))
            }
            None => (0, GENESIS.to_owned()),
        };
        let mut w = Self {
            path,
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            size: good_len,
            seq,
            prev,
            max_bytes,
            keep,
            journal: None,
            line: Vec::with_capacity(1024),
            clock: (u64::MAX, String::new()),
        };
        if from_rotated {
            w.header()?;
        }
        Ok(w)
    }

    pub(super) fn run(mut self, rx: Receiver<Msg>, dropped: std::sync::Arc<AtomicU64>) {
        while let Ok(first) = rx.recv() {
            // Collect for a few milliseconds: while this thread sleeps,
            // senders never have to wake it (no futex call per signature),
            // and the file gets one write per batch instead of per line.
            // A flush request skips the wait.
            if matches!(first, Msg::Event(_)) {
                std::thread::sleep(BATCH_WINDOW);
            }
            let mut batch = Vec::new();
            let mut waiting = Vec::new();
            for m in std::iter::once(first).chain(rx.try_iter()) {
                match m {
                    Msg::Event(ev) => batch.push(ev),
                    Msg::Flush(done) => waiting.push(done),
                }
            }
            let lost = dropped.swap(0, Ordering::Relaxed);
            if lost > 0 {
                batch.push(Event {
                    decision: Verdict::Dropped,
                    reason: format!("{lost} refusals were not logged: the audit queue was full"),
                    ..Event::default()
                });
            }
            for ev in batch {
                if let Err(e) = self.write(&ev) {
                    error!("audit log {}: cannot write: {e}", self.path.display());
                }
            }
            if let Err(e) = self.file.flush() {
                error!("audit log {}: cannot write: {e}", self.path.display());
            }
            for done in waiting {
                let _ = done.send(());
            }
        }
        let _ = self.file.flush();
    }

    /// The current second in RFC 3339, formatted once per second.
    fn now(&mut self) -> &str {
        let secs = crate::clock::unix_now();
        if self.clock.0 != secs {
            self.clock = (secs, crate::clock::rfc3339(secs));
        }
        &self.clock.1
    }

    /// Writes `line` (its `seq` and `prev` must follow the chain), then
    /// advances the chain.
    fn append_line(
        line: &Line<'_>,
        buf: &mut Vec<u8>,
        file: &mut BufWriter<File>,
        journal: Option<&Journal>,
    ) -> io::Result<[u8; 32]> {
        buf.clear();
        serde_json::to_writer(&mut *buf, line).map_err(io::Error::other)?;
        let hash: [u8; 32] = Sha256::digest(&buf[..]).into();
        buf.push(b'\n');
        file.write_all(buf)?;
        if let Some(j) = journal {
            let mut hex = [0u8; 64];
            j.send(line, hex32(&hash, &mut hex));
        }
        Ok(hash)
    }

    fn advance(&mut self, seq: u64, hash: &[u8; 32]) {
        let mut hex = [0u8; 64];
        self.prev.clear();
        self.prev.push_str(hex32(hash, &mut hex));
        self.seq = seq;
        self.size += self.line.len() as u64;
    }

    fn header(&mut self) -> io::Result<()> {
        let from = rotated(&self.path, 1)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let seq = self.seq + 1;
        self.now();
        let mut line = Line::new(seq, &self.clock.1, "rotated", &self.prev);
        line.rotated_from = &from;
        let hash = Self::append_line(&line, &mut self.line, &mut self.file, self.journal.as_ref())?;
        self.advance(seq, &hash);
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        // The old file is fsynced on a helper thread: a multi-megabyte fsync
        // here would stall the writer long enough to fill the queue.
        let old = self.file.get_ref().try_clone()?;
        std::thread::spawn(move || {
            if let Err(e) = old.sync_all() {
                warn!("audit log: cannot fsync a rotated file: {e}");
            }
        });
        let _ = fs::remove_file(rotated(&self.path, self.keep));
        for n in (1..self.keep).rev() {
            let from = rotated(&self.path, n);
            if from.exists() {
                fs::rename(&from, rotated(&self.path, n + 1))?;
            }
        }
        fs::rename(&self.path, rotated(&self.path, 1))?;
        self.file = BufWriter::with_capacity(WRITE_BUFFER, open_append(&self.path)?);
        self.size = 0;
        self.header()
    }

    fn write(&mut self, ev: &Event) -> io::Result<()> {
        // Rough size check first (a line is about this long).
        if self.size > 0 && self.size + 512 + ev.target.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let dropped = ev.decision == Verdict::Dropped;
        let (mut key_id, mut digest) = ([0u8; 64], [0u8; 64]);
        let seq = self.seq + 1;
        self.now();
        let mut line = Line::new(seq, &self.clock.1, ev.decision.as_str(), &self.prev);
        line.key = &ev.key;
        if let Some(public) = &ev.key_public {
            line.key_id = hex32(public, &mut key_id);
        }
        line.scheme = ev.scheme;
        line.method = &ev.method;
        line.target = &ev.target;
        if !dropped {
            line.digest = hex32(&ev.digest, &mut digest);
            line.uid = Some(ev.uid);
        }
        line.created = ev.created;
        line.pid = ev.pid;
        line.exe = &ev.exe;
        line.rule = ev.rule.as_deref().unwrap_or_default();
        line.reason = &ev.reason;
        let hash = Self::append_line(&line, &mut self.line, &mut self.file, self.journal.as_ref())?;
        self.advance(seq, &hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
        }
    }

    fn files(path: &Path, keep: usize) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for n in (1..=keep).rev() {
            let p = rotated(path, n);
            if let Ok(b) = fs::read(&p) {
                out.push((p.display().to_string(), b));
            }
        }
        out.push((
            path.display().to_string(),
            fs::read(path).unwrap_or_default(),
        ));
        out
    }

    /// The borrowed line and the public [`Record`] are one format: the same
    /// bytes for the same content, field order and omissions included.
    #[test]
    fn lines_are_records_byte_for_byte() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.log");
        let mut w = Writer::open(path.clone(), 1 << 20, 2)?;
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
        let dropped = Event {
            decision: Verdict::Dropped,
            reason: "3 refusals were not logged".into(),
            ..Event::default()
        };
        for e in [&ev(0), &ssh, &refused, &dropped] {
            w.write(e)?;
        }
        w.file.flush()?;
        let text = fs::read_to_string(&path)?;
        let mut prev = GENESIS.to_owned();
        for line in text.lines() {
            let rec: Record = serde_json::from_str(line).map_err(io::Error::other)?;
            assert_eq!(serde_json::to_string(&rec).map_err(io::Error::other)?, line);
            assert_eq!(rec.prev, prev);
            prev = line_hash(line.as_bytes());
        }
        let recs: Vec<Record> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0].key_id, "ab".repeat(32));
        assert_eq!(recs[0].digest, "07".repeat(32));
        assert_eq!(recs[1].scheme, "ssh");
        assert!(recs[1].method.is_empty() && recs[1].created.is_none());
        assert_eq!(recs[2].reason, "rate limit \"x\"\n");
        assert!(recs[3].digest.is_empty() && recs[3].uid.is_none() && recs[3].key_id.is_empty());
        assert_eq!(w.prev, prev);
        Ok(())
    }

    #[test]
    fn writes_chain_resumes_and_rotates() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state/audit.log");
        let mut w = Writer::open(path.clone(), 4096, 3)?;
        for i in 0..5 {
            w.write(&ev(i))?;
        }
        w.file.flush()?;
        drop(w);
        assert_eq!(signet_proto::audit::verify(&files(&path, 3)), Ok(5));
        // Resumed by a new writer (a restart): the chain continues.
        let mut w = Writer::open(path.clone(), 4096, 3)?;
        assert_eq!(w.seq, 5);
        // Enough to rotate several times; only `keep` files stay.
        for i in 0..60 {
            w.write(&ev(i))?;
        }
        w.file.flush()?;
        drop(w);
        assert!(rotated(&path, 3).exists());
        assert!(!rotated(&path, 4).exists());
        let all = files(&path, 3);
        let n = signet_proto::audit::verify(&all).map_err(io::Error::other)?;
        assert!(n > 10, "{n}");
        // Every file but the oldest starts with a header naming its predecessor.
        for (_, text) in &all[1..] {
            let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
            let rec: Record = serde_json::from_slice(first).map_err(io::Error::other)?;
            assert_eq!(rec.event, "rotated");
        }
        // Nothing secret: no signature-looking or body fields at all.
        let text =
            String::from_utf8_lossy(&all.iter().flat_map(|(_, t)| t.clone()).collect::<Vec<_>>())
                .into_owned();
        assert!(!text.contains("signature") && !text.contains("body"));
        Ok(())
    }

    #[test]
    fn incomplete_last_line_is_dropped_at_start() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.log");
        let mut w = Writer::open(path.clone(), 1 << 20, 2)?;
        w.write(&ev(1))?;
        w.write(&ev(2))?;
        w.file.flush()?;
        drop(w);
        let mut f = OpenOptions::new().append(true).open(&path)?;
        f.write_all(b"{\"seq\":3,\"ti")?;
        drop(f);
        let mut w = Writer::open(path.clone(), 1 << 20, 2)?;
        assert_eq!(w.seq, 2);
        w.write(&ev(3))?;
        w.file.flush()?;
        assert_eq!(signet_proto::audit::verify(&files(&path, 2)), Ok(3));
        Ok(())
    }

    #[test]
    fn empty_file_after_rotation_resumes_from_the_rotated_file() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("audit.log");
        let mut w = Writer::open(path.clone(), 1 << 20, 2)?;
        w.write(&ev(1))?;
        w.file.flush()?;
        drop(w);
        fs::rename(&path, rotated(&path, 1))?;
        let mut w = Writer::open(path.clone(), 1 << 20, 2)?;
        w.write(&ev(2))?;
        w.file.flush()?;
        assert_eq!(signet_proto::audit::verify(&files(&path, 2)), Ok(3));
        Ok(())
    }
}
