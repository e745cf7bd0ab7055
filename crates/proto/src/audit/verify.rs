//! Checking an audit log: its chain, its seals, and what the daemon last
//! said about it.
//!
//! [`verify`] walks the files oldest to newest and reports every problem
//! with the file and line it was found at ([`Finding`]), then compares the
//! end of the log with what is known elsewhere: the latest seal kept in a
//! second place ([`KnownSeal`]: `audit.head`, the journal, the running
//! agent) and the running agent's chain head ([`LiveHead`]). It never stops
//! at the first problem: after a break it continues from the line that
//! broke, so later damage is reported too.
//!
//! What it proves, and what it cannot, is in docs/policy-audit.md
//! ("What verify proves").

use std::collections::HashMap;

use super::{canonical, line_hash, seal_key, seal_signature_ok, Record, GENESIS, NEW_CHAIN};

/// One file of the log, as read.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// Its name, as findings should show it.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A seal the daemon also kept somewhere else than the log.
#[derive(Debug, Clone)]
pub struct KnownSeal {
    /// Where it comes from (`audit.head`, `the journal`, `the running agent`).
    pub source: String,
    /// The seal line, as written to the log.
    pub line: Vec<u8>,
}

/// What the running agent says it has written, asked before the files are
/// read (`seq`, `hash`) and again after (`until`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveHead {
    /// `seq` of the last line it wrote.
    pub seq: u64,
    /// That line's hash.
    pub hash: String,
    /// `seq` of the last line it had written once the files were read: a
    /// line beyond it was not written by the agent.
    pub until: Option<u64>,
}

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Input<'a> {
    /// The files, oldest first (`audit.log.N` … `audit.log.1`, `audit.log`).
    pub files: &'a [LogFile],
    /// The audit key seals must be signed by. Without it seals are only
    /// checked against the key they name, and the report says so.
    pub key: Option<[u8; 32]>,
    /// Seals known from elsewhere.
    pub known_seals: &'a [KnownSeal],
    /// The running agent's head, when it answered.
    pub live: Option<LiveHead>,
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// Not an audit record, not in signetd's canonical form, incomplete,
    /// or a line where it cannot be.
    Malformed,
    /// A line was changed, removed or moved: `prev` or `seq` does not follow.
    Chain,
    /// A seal's signature does not verify: re-chained or forged.
    BadSeal,
    /// A seal is signed by another key than the agent's.
    ForeignKey,
    /// Lines after the last seal that nothing vouches for.
    UnsealedTail,
    /// The log ends before a seal (or head) known from elsewhere.
    Truncated,
    /// Rotated files that should exist do not.
    MissingFiles,
    /// The chain restarts: the daemon could not resume the old one.
    NewChain,
    /// No trusted audit key: the seals prove nothing about who made them.
    Unanchored,
    /// A seal kept elsewhere (`audit.head`) is not a valid seal.
    BadKnownSeal,
    /// Warning: lines a crashed run left unsealed, sealed at the next start.
    CrashTail,
    /// Warning: the audit key changed; the older one is known only from the
    /// newer key's word.
    KeyChange,
    /// Note: lines after the last seal that the running agent vouches for.
    RecentTail,
}

impl Kind {
    /// The name in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Malformed => "malformed",
            Kind::Chain => "chain",
            Kind::BadSeal => "bad_seal",
            Kind::ForeignKey => "foreign_key",
            Kind::UnsealedTail => "unsealed_tail",
            Kind::Truncated => "truncated",
            Kind::MissingFiles => "missing_files",
            Kind::NewChain => "new_chain",
            Kind::Unanchored => "unanchored",
            Kind::BadKnownSeal => "bad_known_seal",
            Kind::CrashTail => "crash_tail",
            Kind::KeyChange => "key_change",
            Kind::RecentTail => "recent_tail",
        }
    }

    /// Whether the log cannot be called intact with this finding (the
    /// others are warnings and notes).
    pub fn is_problem(self) -> bool {
        !matches!(self, Kind::CrashTail | Kind::KeyChange | Kind::RecentTail)
    }

    /// Whether the finding is about the lines themselves (what signetd
    /// refuses to resume from), rather than about what is missing around
    /// them.
    pub fn breaks_lines(self) -> bool {
        matches!(
            self,
            Kind::Malformed | Kind::Chain | Kind::BadSeal | Kind::ForeignKey
        )
    }
}

/// One problem, warning or note, where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind.
    pub kind: Kind,
    /// The file (as named in the input).
    pub file: String,
    /// 1-based line number in that file (0: the file as a whole).
    pub line: usize,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// A line's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The file.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// Its `seq`.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Files read.
    pub files: usize,
    /// Lines read.
    pub lines: u64,
    /// Seals whose signature verified.
    pub seals: u64,
    /// The key seals were checked with.
    pub key: Option<[u8; 32]>,
    /// Whether that key came from the caller (the agent, `--pubkey`), not
    /// from the seals themselves.
    pub anchored: bool,
    /// The newest seal that verified.
    pub last_seal: Option<Position>,
    /// Lines after it.
    pub unsealed: u64,
    /// The newest line.
    pub last_line: Option<Position>,
    /// The last line before the first finding that [`Kind::breaks_lines`]
    /// (all of them if there is none).
    pub last_good: Option<Position>,
    /// Everything found, in the order found.
    pub findings: Vec<Finding>,
}

impl Report {
    /// No problem (warnings and notes allowed).
    pub fn ok(&self) -> bool {
        !self.findings.iter().any(|f| f.kind.is_problem())
    }

    /// The first problem.
    pub fn first_problem(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.kind.is_problem())
    }

    /// The first finding that breaks the lines themselves.
    pub fn first_break(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.kind.breaks_lines())
    }
}

/// Checks `input`; see the module doc.
pub fn verify(input: &Input<'_>) -> Report {
    let mut w = Walk::new(input);
    w.key_epochs();
    for (fi, f) in input.files.iter().enumerate() {
        w.file(fi, f);
    }
    w.finish()
}

/// The line before the one being checked.
struct Link {
    /// `None` when it was not a record.
    seq: Option<u64>,
    hash: String,
    file: usize,
}

/// A file of the newest chain, by its number.
struct FileInfo {
    name: String,
    /// From its rotation seal; 0 for the file a chain starts in.
    file_no: Option<u64>,
    keep: Option<u64>,
    starts_chain: bool,
}

struct Walk<'a> {
    input: &'a Input<'a>,
    r: Report,
    last: Option<Link>,
    /// The previous line was not a record: accept the next one's link.
    resync: bool,
    /// The key seals must be signed by, by position: before each entry's
    /// position (file, line index) its key, after the last one `final_key`.
    epochs: Vec<((usize, usize), [u8; 32])>,
    /// The newest key: the caller's, else the last seal's.
    final_key: Option<[u8; 32]>,
    /// Where the walk is (file, line index).
    at: (usize, usize),
    /// Files of the newest chain, oldest first.
    segment: Vec<FileInfo>,
    /// Seal seq → line hash, in the newest chain.
    seals: HashMap<u64, String>,
    /// First and last seq of the newest chain.
    first_seq: Option<u64>,
    last_seq: u64,
    /// Where the unsealed lines begin.
    first_unsealed: Option<(String, usize)>,
    /// Whether the running agent's head line was found, and matched.
    live_found: Option<bool>,
    /// The first line of the newest chain beyond what the agent wrote.
    beyond: Option<(String, usize, u64)>,
    broken: bool,
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

impl<'a> Walk<'a> {
    fn new(input: &'a Input<'a>) -> Self {
        Self {
            input,
            r: Report {
                key: input.key,
                anchored: input.key.is_some(),
                ..Report::default()
            },
            last: None,
            resync: false,
            epochs: Vec::new(),
            final_key: input.key,
            at: (0, 0),
            segment: Vec::new(),
            seals: HashMap::new(),
            first_seq: None,
            last_seq: 0,
            first_unsealed: None,
            live_found: None,
            beyond: None,
            broken: false,
        }
    }

    /// Which key signs which lines. The newest key is the caller's (or the
    /// last seal's); each older one is known only from the first seal of
    /// the key after it (`previous_key`), and holds only before that seal.
    fn key_epochs(&mut self) {
        struct Declared {
            pos: (usize, usize),
            by: [u8; 32],
            prev: [u8; 32],
            signed: bool,
        }
        let mut declared: Vec<Declared> = Vec::new();
        let mut last_seal_key = None;
        for (fi, f) in self.input.files.iter().enumerate() {
            for (li, line) in f.bytes.split(|&b| b == b'\n').enumerate() {
                // Cheap test first: only seals matter here.
                if !line.windows(14).any(|w| w == b"\"event\":\"seal\"") {
                    continue;
                }
                let Ok(rec) = serde_json::from_slice::<Record>(line) else {
                    continue;
                };
                let Some(k) = seal_key(&rec) else {
                    continue;
                };
                last_seal_key = Some(k);
                let mut prev = [0u8; 32];
                if !rec.previous_key.is_empty()
                    && hex::decode_to_slice(&rec.previous_key, &mut prev).is_ok()
                {
                    declared.push(Declared {
                        pos: (fi, li),
                        by: k,
                        prev,
                        signed: seal_signature_ok(&rec, &k),
                    });
                }
            }
        }
        if self.final_key.is_none() {
            self.final_key = last_seal_key;
        }
        let Some(mut current) = self.final_key else {
            return;
        };
        for d in declared.into_iter().rev() {
            if d.by == current && d.signed {
                self.epochs.push((d.pos, d.prev));
                current = d.prev;
            }
        }
        self.epochs.reverse();
    }

    /// The key the seal at the current position must be signed by.
    fn expected_key(&self) -> Option<[u8; 32]> {
        self.epochs
            .iter()
            .find(|(pos, _)| *pos > self.at)
            .map(|(_, k)| *k)
            .or(self.final_key)
    }

    fn find(&mut self, kind: Kind, file: &str, line: usize, message: String) {
        if kind.breaks_lines() {
            self.broken = true;
        }
        self.r.findings.push(Finding {
            kind,
            file: file.to_owned(),
            line,
            message,
        });
    }

    fn file(&mut self, fi: usize, f: &LogFile) {
        self.r.files += 1;
        let text = &f.bytes[..];
        let newest = fi + 1 == self.input.files.len();
        if text.is_empty() {
            if !newest {
                self.find(
                    Kind::Malformed,
                    &f.name,
                    0,
                    "a rotated file is empty (signetd never leaves one empty): it was emptied"
                        .into(),
                );
            }
            return;
        }
        let complete = text.ends_with(b"\n");
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        let n = lines.len();
        for (li, line) in lines.into_iter().enumerate() {
            if li + 1 == n && !complete {
                self.find(
                    Kind::Malformed,
                    &f.name,
                    li + 1,
                    "the last line is incomplete (cut off while written, or truncated)".into(),
                );
                break;
            }
            self.line(fi, &f.name, li, line);
        }
    }

    fn line(&mut self, fi: usize, name: &str, li: usize, bytes: &[u8]) {
        self.at = (fi, li);
        let at = li + 1;
        let hash = line_hash(bytes);
        self.r.lines += 1;
        let rec: Record = match serde_json::from_slice(bytes) {
            Ok(r) => r,
            Err(e) => {
                self.find(
                    Kind::Malformed,
                    name,
                    at,
                    format!("not an audit record ({e})"),
                );
                self.unsealed(name, at);
                self.last = Some(Link {
                    seq: None,
                    hash,
                    file: fi,
                });
                self.resync = true;
                return;
            }
        };
        if canonical(&rec) != bytes {
            self.find(
                Kind::Malformed,
                name,
                at,
                "not in the form signetd writes (a field added, moved or re-spaced): the line was edited".into(),
            );
        }
        let opens = rec.opens_rotated_file();
        let new_chain = rec.event == NEW_CHAIN;
        if opens && li != 0 {
            self.find(
                Kind::Malformed,
                name,
                at,
                "a rotation seal in the middle of a file (files were joined)".into(),
            );
        }
        if new_chain {
            if li != 0 {
                self.find(
                    Kind::Malformed,
                    name,
                    at,
                    "a new chain in the middle of a file (files were joined)".into(),
                );
            }
            self.new_chain(name, at, &rec);
        } else {
            self.link(fi, name, li, &rec, opens);
        }
        self.resync = false;
        if li == 0 && !new_chain {
            self.segment.push(FileInfo {
                name: name.to_owned(),
                file_no: if rec.is_seal() && opens {
                    rec.file_no
                } else if rec.prev == GENESIS {
                    Some(0)
                } else {
                    None
                },
                keep: rec.keep,
                starts_chain: rec.prev == GENESIS,
            });
        }
        if rec.is_seal() {
            self.seal(name, at, &rec, &hash);
        } else {
            self.unsealed(name, at);
        }
        if let Some(live) = &self.input.live {
            if rec.seq == live.seq {
                self.live_found = Some(live.hash == hash);
            }
            if live.until.is_some_and(|u| rec.seq > u) && self.beyond.is_none() {
                self.beyond = Some((name.to_owned(), at, rec.seq));
            }
        }
        self.first_seq.get_or_insert(rec.seq);
        self.last_seq = rec.seq;
        let pos = Position {
            file: name.to_owned(),
            line: at,
            seq: rec.seq,
            hash: hash.clone(),
        };
        if !self.broken {
            self.r.last_good = Some(pos.clone());
        }
        self.r.last_line = Some(pos);
        self.last = Some(Link {
            seq: Some(rec.seq),
            hash,
            file: fi,
        });
    }

    fn new_chain(&mut self, name: &str, at: usize, rec: &Record) {
        if rec.seq != 1 || rec.prev != GENESIS {
            self.find(
                Kind::Malformed,
                name,
                at,
                "a new-chain line must have seq 1 and prev zeros".into(),
            );
        }
        let last_good = match rec.broken_seq {
            Some(s) => format!(
                "its last good line was seq {s} ({})",
                short(&rec.broken_hash)
            ),
            None => "no good line was left in it".to_owned(),
        };
        self.find(
            Kind::NewChain,
            name,
            at,
            format!(
                "a new chain starts here: signetd could not resume {} ({}); {last_good}",
                rec.broken_file, rec.reason
            ),
        );
        // The chain before this line is another log as far as heads,
        // seals and file numbers go.
        self.segment.clear();
        self.segment.push(FileInfo {
            name: name.to_owned(),
            file_no: Some(0),
            keep: None,
            starts_chain: true,
        });
        self.seals.clear();
        self.first_seq = None;
        self.live_found = None;
        self.beyond = None;
    }

    fn link(&mut self, fi: usize, name: &str, li: usize, rec: &Record, opens: bool) {
        let at = li + 1;
        if li == 0 && fi > 0 && !opens {
            self.find(
                Kind::Chain,
                name,
                at,
                "this file does not start with a rotation seal: lines were removed from its start, or it does not belong to this log".into(),
            );
        }
        let Some(prev) = &self.last else {
            // The oldest line there is.
            if rec.prev == GENESIS {
                if rec.seq != 1 {
                    self.find(
                        Kind::Chain,
                        name,
                        at,
                        format!("the first line has seq {} (expected 1)", rec.seq),
                    );
                }
            } else if !opens {
                self.find(
                    Kind::Chain,
                    name,
                    at,
                    "the oldest line is neither the start of the chain nor a rotation seal: lines or files were removed from the start".into(),
                );
            }
            return;
        };
        if self.resync {
            return;
        }
        if rec.prev == prev.hash {
            if let Some(p) = prev.seq.filter(|p| rec.seq != p + 1) {
                self.find(
                    Kind::Chain,
                    name,
                    at,
                    format!("seq {} follows seq {p}", rec.seq),
                );
            }
            return;
        }
        let prev_file = self
            .input
            .files
            .get(prev.file)
            .map(|f| f.name.as_str())
            .unwrap_or_default();
        let prev_no = self.segment.last().and_then(|f| f.file_no);
        let (kind, what) = match prev.seq {
            _ if li == 0 && opens => match (rec.file_no, prev_no) {
                (Some(n), Some(m)) if n > m + 1 => (
                    Kind::MissingFiles,
                    format!(
                        "{} rotated file(s) are missing between {prev_file} and this one (file {m} is followed by file {n})",
                        n - m - 1
                    ),
                ),
                _ => (
                    Kind::Chain,
                    format!(
                        "this file does not continue {prev_file}: lines were removed from its end or changed, or a rotated file between them is missing"
                    ),
                ),
            },
            Some(p) if rec.seq == p + 1 => (
                Kind::Chain,
                format!("prev does not match line {li} (the line before it): that line was changed, or this one was moved"),
            ),
            Some(p) if rec.seq > p + 1 => (
                Kind::Chain,
                format!(
                    "seq jumps from {p} to {}: {} line(s) were removed before this one",
                    rec.seq,
                    rec.seq - p - 1
                ),
            ),
            Some(p) => (
                Kind::Chain,
                format!(
                    "seq {} comes after seq {p}: lines were moved (reordered)",
                    rec.seq
                ),
            ),
            None => (
                Kind::Chain,
                "prev does not match the line before it".to_owned(),
            ),
        };
        self.find(kind, name, at, what);
    }

    fn unsealed(&mut self, name: &str, at: usize) {
        self.r.unsealed += 1;
        if self.first_unsealed.is_none() {
            self.first_unsealed = Some((name.to_owned(), at));
        }
    }

    fn seal(&mut self, name: &str, at: usize, rec: &Record, hash: &str) {
        let Some(k) = seal_key(rec) else {
            self.find(
                Kind::Malformed,
                name,
                at,
                "a seal without a valid audit_key".into(),
            );
            self.unsealed(name, at);
            return;
        };
        if let Some(expected) = self.expected_key().filter(|e| *e != k) {
            let whose = if self.r.anchored && self.epochs.iter().all(|(p, _)| *p <= self.at) {
                "this agent's key"
            } else {
                "the key the log's later seals say made it"
            };
            self.find(
                Kind::ForeignKey,
                name,
                at,
                format!(
                    "this seal is signed by audit key {}, not {whose} {}: the log was re-sealed with another key, or it is another agent's",
                    short(&hex::encode(k)),
                    short(&hex::encode(expected))
                ),
            );
            self.unsealed(name, at);
            return;
        }
        if !seal_signature_ok(rec, &k) {
            self.find(
                Kind::BadSeal,
                name,
                at,
                "this seal's signature does not verify: lines before it were changed and the chain recomputed, or the seal was forged".into(),
            );
            self.unsealed(name, at);
            return;
        }
        self.r.seals += 1;
        self.r.key = Some(k);
        self.r.unsealed = 0;
        self.first_unsealed = None;
        self.r.last_seal = Some(Position {
            file: name.to_owned(),
            line: at,
            seq: rec.seq,
            hash: hash.to_owned(),
        });
        self.seals.insert(rec.seq, hash.to_owned());
        if !rec.previous_key.is_empty() {
            self.find(
                Kind::KeyChange,
                name,
                at,
                format!(
                    "the audit key changed here: the seals before this line were made by key {}, which only this seal (by key {}) vouches for (a key store that forgot the old key: a kernel keyring forgets at reboot)",
                    short(&rec.previous_key),
                    short(&rec.audit_key)
                ),
            );
        }
        if let Some(n) = rec.unsealed.filter(|n| *n > 0) {
            self.find(
                Kind::CrashTail,
                name,
                at,
                format!(
                    "the {n} line(s) before this seal were left unsealed by a run of signetd that did not stop cleanly (a crash or kill -9); they were sealed only at this start, so nothing proves them between that crash and this line"
                ),
            );
        }
    }

    fn finish(mut self) -> Report {
        let newest = self
            .input
            .files
            .last()
            .map(|f| f.name.clone())
            .unwrap_or_default();
        self.missing_files(&newest);
        self.tail();
        self.known_seals();
        if !self.r.anchored && self.r.seals > 0 {
            let key = self.r.key.map(hex::encode).unwrap_or_default();
            self.find(
                Kind::Unanchored,
                &newest,
                0,
                format!(
                    "the seals verify with the key they name ({key}), but nothing says it is this agent's: run verify where the agent answers (SIGNET_AUTH_SOCK), or pass --pubkey with the key `signet audit pubkey` printed"
                ),
            );
        }
        self.r
    }

    /// The older files of the newest chain that rotation should have kept.
    fn missing_files(&mut self, newest: &str) {
        let (Some(oldest), Some(last)) = (self.segment.first(), self.segment.last()) else {
            return;
        };
        if oldest.starts_chain {
            return;
        }
        let (Some(first_no), Some(last_no)) = (oldest.file_no, last.file_no) else {
            return;
        };
        let Some(keep) = self.segment.iter().rev().find_map(|f| f.keep) else {
            return;
        };
        let expected = last_no.saturating_sub(keep);
        if first_no <= expected {
            return;
        }
        let names: Vec<String> = (expected..first_no)
            .rev()
            .map(|n| format!("{newest}.{}", last_no - n))
            .collect();
        let (file, what) = (
            oldest.name.clone(),
            format!(
                "{} older rotated file(s) of this chain are missing ({}): signetd keeps {keep}, so they were deleted",
                first_no - expected,
                names.join(", ")
            ),
        );
        self.find(Kind::MissingFiles, &file, 1, what);
    }

    fn tail(&mut self) {
        if self.r.unsealed == 0 {
            return;
        }
        let (file, line) = self.first_unsealed.clone().unwrap_or_default();
        let n = self.r.unsealed;
        let after = match &self.r.last_seal {
            Some(s) => format!("after the last seal ({}:{})", s.file, s.line),
            None => "and no line of this log is sealed".to_owned(),
        };
        if self.live_found == Some(true) {
            self.find(
                Kind::RecentTail,
                &file,
                line,
                format!(
                    "{n} line(s) {after} are not sealed yet; the running agent's head matches them, so they are as it wrote them"
                ),
            );
        } else {
            self.find(
                Kind::UnsealedTail,
                &file,
                line,
                format!(
                    "{n} line(s) from here on, {after}, are not sealed and no running agent vouches for them: signetd did not stop cleanly, or they were added or changed"
                ),
            );
        }
    }

    fn known_seals(&mut self) {
        let newest = self
            .input
            .files
            .last()
            .map(|f| f.name.clone())
            .unwrap_or_default();
        let end = match &self.r.last_line {
            Some(p) => format!("the log ends at seq {} ({}:{})", p.seq, p.file, p.line),
            None => "the log is empty".to_owned(),
        };
        if let (Some(live), Some((file, line, seq))) = (&self.input.live, self.beyond.clone()) {
            self.find(
                Kind::Chain,
                &file,
                line,
                format!(
                    "seq {seq} is beyond what the running agent has written (seq {}): this line and any after it were added by someone else",
                    live.until.unwrap_or_default()
                ),
            );
        }
        if let Some(live) = self.input.live.clone() {
            match self.live_found {
                Some(true) => {}
                Some(false) => self.find(
                    Kind::Chain,
                    &newest,
                    0,
                    format!(
                        "the line at seq {} is not the one the running agent wrote (its hash is {}): the log was rewritten",
                        live.seq,
                        short(&live.hash)
                    ),
                ),
                None if live.seq > self.last_seq || self.r.last_line.is_none() => self.find(
                    Kind::Truncated,
                    &newest,
                    0,
                    format!(
                        "the running agent has written through seq {}, but {end}: lines were removed from its end, or the file was replaced",
                        live.seq
                    ),
                ),
                None => {}
            }
        }
        for known in self.input.known_seals {
            let rec: Option<Record> = serde_json::from_slice(&known.line).ok();
            let valid = rec.as_ref().filter(|r| r.is_seal()).and_then(|r| {
                let k = seal_key(r)?;
                let known_key = self.final_key.is_none_or(|f| f == k)
                    || self.epochs.iter().any(|(_, e)| *e == k);
                (known_key && seal_signature_ok(r, &k)).then_some(r)
            });
            let Some(rec) = valid else {
                self.find(
                    Kind::BadKnownSeal,
                    &known.source,
                    0,
                    "does not hold a valid seal of this agent's audit key: it was edited or replaced".into(),
                );
                continue;
            };
            let hash = line_hash(&known.line);
            match self.seals.get(&rec.seq) {
                Some(h) if *h == hash => {}
                Some(_) => self.find(
                    Kind::Truncated,
                    &newest,
                    0,
                    format!(
                        "the seal at seq {} differs from the one {} recorded ({}): the log was rewritten",
                        rec.seq, known.source, rec.time
                    ),
                ),
                None if rec.seq > self.last_seq || self.r.last_line.is_none() => self.find(
                    Kind::Truncated,
                    &newest,
                    0,
                    format!(
                        "{} recorded a seal at seq {} ({}), but {end}: lines were removed from its end, or it was replaced by an older copy",
                        known.source, rec.seq, rec.time
                    ),
                ),
                None if self.first_seq.is_some_and(|f| rec.seq < f) => {}
                None => self.find(
                    Kind::Truncated,
                    &newest,
                    0,
                    format!(
                        "{} recorded a seal at seq {} ({}) that the log does not have: the log was rewritten",
                        known.source, rec.seq, rec.time
                    ),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{seal_message, SEAL, TRIGGER_ROTATION};
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    /// Writes chains the way signetd does, in memory.
    struct Log {
        key: SigningKey,
        seq: u64,
        prev: String,
        files: Vec<Vec<String>>,
        file_no: u64,
    }

    impl Log {
        fn new() -> Self {
            Self {
                key: SigningKey::from_bytes(&[7; 32]),
                seq: 0,
                prev: GENESIS.into(),
                files: vec![Vec::new()],
                file_no: 0,
            }
        }

        fn public(&self) -> [u8; 32] {
            self.key.verifying_key().to_bytes()
        }

        fn push(&mut self, mut rec: Record) -> String {
            self.seq += 1;
            rec.seq = self.seq;
            rec.time = "2026-01-01T00:00:00Z".into();
            rec.prev = self.prev.clone();
            if rec.event == SEAL {
                rec.audit_key = hex::encode(self.public());
                rec.sig = hex::encode(self.key.sign(&seal_message(&rec)).to_bytes());
            }
            let line = String::from_utf8(canonical(&rec)).unwrap_or_default();
            self.prev = line_hash(line.as_bytes());
            if let Some(f) = self.files.last_mut() {
                f.push(line.clone());
            }
            line
        }

        fn sign(&mut self, n: usize) {
            for i in 0..n {
                self.push(Record {
                    event: "sign".into(),
                    key: "k".into(),
                    target: format!("/t/{i}"),
                    ..Record::default()
                });
            }
        }

        fn seal(&mut self, trigger: &str) -> String {
            self.push(Record {
                event: SEAL.into(),
                trigger: trigger.into(),
                ..Record::default()
            })
        }

        fn rotate(&mut self, keep: u64) {
            self.file_no += 1;
            self.files.push(Vec::new());
            let no = self.file_no;
            self.push(Record {
                event: SEAL.into(),
                trigger: TRIGGER_ROTATION.into(),
                rotated_from: "audit.log.1".into(),
                file_no: Some(no),
                keep: Some(keep),
                ..Record::default()
            });
        }

        /// The files as `signet audit verify` reads them: oldest first.
        fn files(&self) -> Vec<LogFile> {
            let n = self.files.len();
            self.files
                .iter()
                .enumerate()
                .map(|(i, lines)| LogFile {
                    name: if i + 1 == n {
                        "audit.log".into()
                    } else {
                        format!("audit.log.{}", n - 1 - i)
                    },
                    bytes: lines
                        .iter()
                        .flat_map(|l| format!("{l}\n").into_bytes())
                        .collect(),
                })
                .collect()
        }
    }

    fn check(files: &[LogFile], key: [u8; 32], known: &[KnownSeal]) -> Report {
        verify(&Input {
            files,
            key: Some(key),
            known_seals: known,
            live: None,
        })
    }

    fn kinds(r: &Report) -> Vec<(Kind, String, usize)> {
        r.findings
            .iter()
            .map(|f| (f.kind, f.file.clone(), f.line))
            .collect()
    }

    fn sealed_log() -> Log {
        let mut log = Log::new();
        log.seal("start");
        log.sign(5);
        log.seal("count");
        log.sign(3);
        log.seal("shutdown");
        log
    }

    fn edit(files: &mut [LogFile], f: impl FnOnce(&mut Vec<String>)) {
        let last = files.len() - 1;
        let text = String::from_utf8_lossy(&files[last].bytes).into_owned();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        f(&mut lines);
        files[last].bytes = lines
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect();
    }

    #[test]
    fn an_intact_sealed_log_verifies() {
        let log = sealed_log();
        let r = check(&log.files(), log.public(), &[]);
        assert!(r.ok(), "{:?}", r.findings);
        assert_eq!((r.lines, r.seals, r.unsealed), (11, 3, 0));
        assert_eq!(r.last_seal.map(|p| p.line), Some(11));
    }

    #[test]
    fn each_tampering_is_named_with_its_line() {
        let log = sealed_log();
        let key = log.public();
        // Edited line 3 (a signature's target): caught at line 4.
        let mut f = log.files();
        edit(&mut f, |l| l[2] = l[2].replace("/t/1", "/t/9"));
        let r = check(&f, key, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::Chain, 4))
        );
        // Deleted line 4.
        let mut f = log.files();
        edit(&mut f, |l| {
            l.remove(3);
        });
        let r = check(&f, key, &[]);
        let first = r.first_problem().cloned();
        assert_eq!(
            first.as_ref().map(|p| (p.kind, p.line)),
            Some((Kind::Chain, 4))
        );
        assert!(first.is_some_and(|p| p.message.contains("1 line(s) were removed")));
        // Swapped lines 3 and 4.
        let mut f = log.files();
        edit(&mut f, |l| l.swap(2, 3));
        let r = check(&f, key, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::Chain, 3))
        );
        // Re-chained after an edit: every hash recomputed, the seals kept.
        let text = String::from_utf8_lossy(&log.files()[0].bytes).into_owned();
        let mut lines = Vec::new();
        let mut prev = GENESIS.to_owned();
        for l in text.lines() {
            let mut rec: Record = serde_json::from_str(l).unwrap_or_default();
            rec.target = rec.target.replace("/t/1", "/t/9");
            rec.prev = prev.clone();
            let line = String::from_utf8(canonical(&rec)).unwrap_or_default();
            prev = line_hash(line.as_bytes());
            lines.push(line);
        }
        let f = vec![LogFile {
            name: "audit.log".into(),
            bytes: lines
                .iter()
                .flat_map(|l| format!("{l}\n").into_bytes())
                .collect(),
        }];
        let r = check(&f, key, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::BadSeal, 7))
        );
        // Re-sealed with the forger's own key.
        let mut other = Log::new();
        other.key = SigningKey::from_bytes(&[9; 32]);
        other.seal("start");
        other.sign(2);
        let r = check(&other.files(), key, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::ForeignKey, 1))
        );
        // The tail cut after the last seal but one: audit.head knows better.
        let head = KnownSeal {
            source: "audit.head".into(),
            line: log.files()[0]
                .bytes
                .split(|&b| b == b'\n')
                .nth(10)
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
        };
        let mut f = log.files();
        edit(&mut f, |l| l.truncate(8));
        let r = check(&f, key, std::slice::from_ref(&head));
        assert!(
            kinds(&r).iter().any(|k| k.0 == Kind::Truncated),
            "{:?}",
            r.findings
        );
        assert!(
            kinds(&r).iter().any(|k| k.0 == Kind::UnsealedTail),
            "{:?}",
            r.findings
        );
        // The same head with the intact log: nothing to report.
        assert!(check(&log.files(), key, std::slice::from_ref(&head)).ok());
        // A forged audit.head.
        let bad = KnownSeal {
            source: "audit.head".into(),
            line: head
                .line
                .iter()
                .map(|b| if *b == b'7' { b'8' } else { *b })
                .collect(),
        };
        let r = check(&log.files(), key, &[bad]);
        assert!(
            kinds(&r).iter().any(|k| k.0 == Kind::BadKnownSeal),
            "{:?}",
            r.findings
        );
        // Not a record; not canonical; incomplete.
        let mut f = log.files();
        edit(&mut f, |l| l.push("garbage".into()));
        let r = check(&f, key, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::Malformed, 12))
        );
        assert_eq!(r.last_good.map(|p| p.line), Some(11));
        let mut f = log.files();
        edit(&mut f, |l| l[1] = l[1].replacen('{', "{ ", 1));
        let r = check(&f, key, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::Malformed, 2))
        );
        let mut f = log.files();
        let cut = f[0].bytes.len() - 3;
        f[0].bytes.truncate(cut);
        let r = check(&f, key, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::Malformed, 11))
        );
    }

    #[test]
    fn unsealed_tail_is_a_problem_unless_the_running_agent_vouches() {
        let mut log = sealed_log();
        log.sign(2);
        let files = log.files();
        let r = check(&files, log.public(), &[]);
        assert_eq!(r.unsealed, 2);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::UnsealedTail, 12))
        );
        let head = r.last_line.clone().map(|p| LiveHead {
            seq: p.seq,
            hash: p.hash,
            until: Some(p.seq),
        });
        let live = verify(&Input {
            files: &files,
            key: Some(log.public()),
            known_seals: &[],
            live: head.clone(),
        });
        assert!(live.ok(), "{:?}", live.findings);
        assert_eq!(
            live.findings.first().map(|f| f.kind),
            Some(Kind::RecentTail)
        );
        // The agent is further on than the file: truncated.
        // Lines the agent did not write, after its head.
        let twelfth = line_hash(
            files[0]
                .bytes
                .split(|&b| b == b'\n')
                .nth(11)
                .unwrap_or_default(),
        );
        let behind = head.clone().map(|h| LiveHead {
            seq: h.seq - 1,
            hash: twelfth,
            until: Some(h.seq - 1),
        });
        let r = verify(&Input {
            files: &files,
            key: Some(log.public()),
            known_seals: &[],
            live: behind,
        });
        assert!(
            kinds(&r).contains(&(Kind::Chain, "audit.log".into(), 13)),
            "{:?}",
            r.findings
        );
        let ahead = head.map(|h| LiveHead {
            seq: h.seq + 5,
            hash: h.hash,
            until: Some(h.seq + 5),
        });
        let r = verify(&Input {
            files: &files,
            key: Some(log.public()),
            known_seals: &[],
            live: ahead,
        });
        assert!(
            kinds(&r).iter().any(|k| k.0 == Kind::Truncated),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn rotated_files_link_and_missing_ones_are_named() {
        let mut log = Log::new();
        log.seal("start");
        log.sign(3);
        for _ in 0..4 {
            log.rotate(3);
            log.sign(3);
        }
        log.seal("shutdown");
        // Rotation keeps 3: the files 2, 3, 4 (audit.log.2, .1, audit.log)
        // and file 1 (audit.log.3) remain; file 0 is gone as expected.
        let all = log.files();
        let kept = &all[1..];
        let key = log.public();
        let r = check(kept, key, &[]);
        assert!(r.ok(), "{:?}", r.findings);
        // One more gone (audit.log.3, the oldest kept).
        let r = check(&kept[1..], key, &[]);
        assert_eq!(r.first_problem().map(|p| p.kind), Some(Kind::MissingFiles));
        assert!(
            r.first_problem()
                .is_some_and(|p| p.message.contains("audit.log.3")),
            "{:?}",
            r.findings
        );
        // All rotated files gone.
        let r = check(&kept[3..], key, &[]);
        let p = r.first_problem().cloned();
        assert_eq!(p.as_ref().map(|p| p.kind), Some(Kind::MissingFiles));
        assert!(
            p.is_some_and(|p| p.message.contains("3 older rotated file(s)")),
            "{:?}",
            r.findings
        );
        // One in the middle gone: named at the next file's seal.
        let gap = vec![kept[0].clone(), kept[2].clone(), kept[3].clone()];
        let r = check(&gap, key, &[]);
        let p = r.first_problem().cloned();
        assert_eq!(
            p.as_ref().map(|p| (p.kind, p.line)),
            Some((Kind::MissingFiles, 1))
        );
        assert_eq!(p.map(|p| p.file), Some(kept[2].name.clone()));
        // The last line of a rotated file cut: caught at the next file's seal.
        let mut cut = kept.to_vec();
        let text = String::from_utf8_lossy(&cut[1].bytes).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        cut[1].bytes = lines[..lines.len() - 1]
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect();
        let r = check(&cut, key, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.file.clone(), p.line)),
            Some((Kind::Chain, kept[2].name.clone(), 1))
        );
    }

    #[test]
    fn a_new_chain_is_reported_and_resets_the_chain() {
        let mut log = Log::new();
        log.seq = 0;
        log.prev = GENESIS.into();
        log.push(Record {
            event: NEW_CHAIN.into(),
            broken_file: "audit.log.broken-20260101T000000Z".into(),
            broken_seq: Some(41),
            broken_hash: "ab".repeat(32),
            reason: "line 42 is not an audit record".into(),
            ..Record::default()
        });
        log.seal("new-chain");
        log.sign(2);
        log.seal("shutdown");
        let r = check(&log.files(), log.public(), &[]);
        assert_eq!(kinds(&r), vec![(Kind::NewChain, "audit.log".into(), 1)]);
        assert!(r.findings[0]
            .message
            .contains("audit.log.broken-20260101T000000Z"));
        assert!(!r.ok());
    }

    #[test]
    fn a_new_key_names_the_old_one_and_only_for_the_lines_before() {
        let mut log = sealed_log();
        let old = log.public();
        log.key = SigningKey::from_bytes(&[8; 32]);
        log.sign(1);
        log.push(Record {
            event: SEAL.into(),
            trigger: "start".into(),
            previous_key: hex::encode(old),
            ..Record::default()
        });
        log.sign(2);
        log.seal("shutdown");
        let new = log.public();
        let r = check(&log.files(), new, &[]);
        assert!(r.ok(), "{:?}", r.findings);
        assert_eq!(kinds(&r), vec![(Kind::KeyChange, "audit.log".into(), 13)]);
        // The old key after the change: refused.
        let mut forged = log.files.clone();
        let mut tail = Log::new();
        tail.key = SigningKey::from_bytes(&[7; 32]);
        tail.seq = log.seq;
        tail.prev = log.prev.clone();
        tail.seal("count");
        forged[0].extend(tail.files[0].clone());
        log.files = forged;
        let r = check(&log.files(), new, &[]);
        assert_eq!(
            r.first_problem().map(|p| (p.kind, p.line)),
            Some((Kind::ForeignKey, 17))
        );
        // Checked with the old key alone, the new seals are foreign.
        let r = check(&log.files(), old, &[]);
        assert!(r
            .findings
            .iter()
            .any(|f| f.kind == Kind::ForeignKey && f.line == 13));
    }

    #[test]
    fn without_a_trusted_key_the_report_says_so() {
        let log = sealed_log();
        let r = verify(&Input {
            files: &log.files(),
            ..Input::default()
        });
        assert_eq!(kinds(&r).len(), 1);
        assert_eq!(r.findings[0].kind, Kind::Unanchored);
        assert!(!r.anchored && r.seals == 3);
    }

    #[test]
    fn logs_written_before_seals_still_verify_their_chain() {
        // An old rotated header, then plain lines, no seal.
        let mut log = Log::new();
        log.sign(2);
        log.files.push(Vec::new());
        log.push(Record {
            event: "rotated".into(),
            rotated_from: "audit.log.1".into(),
            ..Record::default()
        });
        log.sign(1);
        let r = check(&log.files(), log.public(), &[]);
        assert_eq!(r.first_problem().map(|p| p.kind), Some(Kind::UnsealedTail));
        assert!(
            r.findings.iter().all(|f| !f.kind.breaks_lines()),
            "{:?}",
            r.findings
        );
    }
}
