//! Opening the log at start-up: take the log's lock, check the chain the
//! daemon is about to continue, and either resume it or move it aside and
//! start a new chain that names it. Never "no audit" in silence.
//!
//! The file checked is the newest one with lines (`audit.log`, or
//! `audit.log.1` when `audit.log` is empty after a rotation was cut short),
//! with `signet_proto::audit::verify`: every line a canonical record, the
//! chain unbroken, every seal signed by this agent's audit key, and the
//! latest seal kept in `audit.head` present at its place (a log with seals
//! of this agent's key but no `audit.head` had it deleted). A file that fails
//! is renamed `audit.log.broken-<UTC time>` and kept; a file that is missing
//! although `audit.head` (or an audit key that already existed) says there
//! was one is recorded the same way. Rotated files further back are
//! `signet audit verify`'s business, not the daemon's.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use signet_proto::audit::{self, Input, Kind, KnownSeal, LogFile, Record, GENESIS};
use tracing::warn;

/// What the writer must write first.
pub(super) enum Start {
    /// Continue the chain (a start seal).
    Resume,
    /// `audit.log` was empty and the chain ends in `audit.log.1`: a rotation
    /// seal first.
    Rotated,
    /// A new chain, naming what could not be resumed.
    NewChain(Broken),
}

/// Why a new chain starts, and what it follows.
#[derive(Debug, Clone)]
pub(super) struct Broken {
    /// The file as moved aside (or the path with what happened to it).
    pub file: String,
    /// `seq` and hash of its last good line.
    pub last: Option<(u64, String)>,
    /// What was wrong.
    pub reason: String,
}

/// The log, opened and checked.
pub(super) struct Opened {
    /// The file, for appending.
    pub file: File,
    /// Its length.
    pub size: u64,
    /// The chain's last line.
    pub seq: u64,
    pub prev: String,
    /// The file's number in the chain.
    pub file_no: u64,
    /// Lines after the last seal (left by a run that did not stop cleanly).
    pub unsealed: u64,
    /// The last seal line, if any.
    pub last_seal: String,
    /// What to write first.
    pub start: Start,
    /// Said in the start seal (an incomplete last line cut off).
    pub note: String,
    /// The lock file, held while the daemon runs.
    pub lock: File,
}

/// `path` with its extension replaced (`audit.log` → `audit.lock`); the
/// head file's name is `signet_proto::audit::head_file`, which the CLI
/// reads too.
pub(super) fn sibling(path: &Path, ext: &str) -> PathBuf {
    if ext == "head" {
        return audit::head_file(path);
    }
    path.with_extension(ext)
}

/// `path.N`.
pub(super) fn rotated(path: &Path, n: usize) -> PathBuf {
    audit::rotated_file(path, n)
}

/// `path.broken-<time>`, a name not taken yet.
pub(super) fn broken_name(path: &Path) -> PathBuf {
    let stamp = crate::clock::rfc3339(crate::clock::unix_now()).replace([':', '-'], "");
    let mut n = 0;
    loop {
        let mut s = path.as_os_str().to_owned();
        s.push(format!(".broken-{stamp}"));
        if n > 0 {
            s.push(format!("-{n}"));
        }
        let p = PathBuf::from(s);
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Opens `path` for appending (0600, created if missing), never through a
/// symbolic link (signetd may run as root: a link planted in its state
/// directory must not make it write to another file).
pub(super) fn open_append(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    o.open(path)
}

/// The log's directory must be signetd's own: owned by its uid and writable
/// by nobody else. Whoever can write it can delete or roll back the log,
/// and could plant links for signetd to write through; a directory another
/// user made first (a `--state-dir` in a shared place) is refused, never
/// used. The directory itself may be a link (systemd's `DynamicUser=` makes
/// the state directory one): its target is judged.
pub(super) fn check_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        let m = fs::metadata(dir)?;
        let uid = rustix::process::geteuid().as_raw();
        let mode = m.mode() & 0o7777;
        if m.uid() != uid || mode & 0o022 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the audit log's directory {} is owned by uid {} (mode {mode:04o}); it must be owned by uid {uid} (signetd's) and writable by nobody else, or whoever can write it could delete or roll back the log and plant links for signetd to write through: give it to uid {uid} with `chmod go-w`, or choose another --state-dir",
                    dir.display(),
                    m.uid()
                ),
            ));
        }
    }
    Ok(())
}

/// Creates the directory `path` is in, and any missing parent, 0700 each:
/// chmod-ed after `mkdir`, because under systemd's `UMask=0177` a plain
/// `mkdir` would leave them without the search bit; then checks that the
/// directory is signetd's own ([`check_dir`]).
pub(super) fn make_dir(path: &Path) -> io::Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    fs::set_permissions(d, fs::Permissions::from_mode(0o700))?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    check_dir(path)
}

/// Takes `audit.lock` beside the log, or says which process holds it.
fn lock(path: &Path) -> io::Result<File> {
    let lock_path = sibling(path, "lock");
    let mut o = OpenOptions::new();
    o.create(true).read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let mut f = o.open(&lock_path)?;
    #[cfg(unix)]
    {
        use rustix::fs::{flock, FlockOperation};
        if flock(&f, FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "the audit log {} is already written by another signetd (pid {}): give each agent its own state directory (--state-dir) or [audit] path",
                    path.display(),
                    holder.trim()
                ),
            ));
        }
        f.set_len(0)?;
        use std::io::Write as _;
        write!(f, "{}", std::process::id())?;
    }
    Ok(f)
}

/// The latest seal kept beside the log, if there is a readable one.
pub(super) fn read_head(path: &Path) -> Option<Vec<u8>> {
    let bytes = fs::read(sibling(path, "head")).ok()?;
    let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes).to_vec();
    (!line.is_empty()).then_some(line)
}

fn read_or_empty(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Opens and checks the log at `path` (see the module doc). `key`: this
/// agent's audit public key, `None` when there is none; `key_is_new`: it was
/// made at this start (earlier seals were made by another key).
pub(super) fn open(path: &Path, key: Option<[u8; 32]>, key_is_new: bool) -> io::Result<Opened> {
    make_dir(path)?;
    let lock = lock(path)?;
    let head = read_head(path);
    let mut text = read_or_empty(path)?;
    let mut note = String::new();
    // A crash can leave a last line without its newline: cut it off.
    if !text.is_empty() && !text.ends_with(b"\n") {
        let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let cut = text.len() - keep;
        warn!(
            "audit log {}: cutting off an incomplete last line ({cut} bytes) left by a crash",
            path.display()
        );
        note = format!("an incomplete last line ({cut} bytes) left by a crash was cut off");
        text.truncate(keep);
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(keep as u64)?;
    }
    let (checked_path, checked, start) = if text.is_empty() {
        let one = rotated(path, 1);
        let old = read_or_empty(&one)?;
        if old.is_empty() {
            (path.to_owned(), old, Start::Resume)
        } else {
            (one, old, Start::Rotated)
        }
    } else {
        (path.to_owned(), text, Start::Resume)
    };
    let mut opened = Opened {
        file: open_append(path)?,
        size: 0,
        seq: 0,
        prev: GENESIS.to_owned(),
        file_no: 0,
        unsealed: 0,
        last_seal: String::new(),
        start,
        note,
        lock,
    };
    opened.size = opened.file.metadata()?.len();
    if checked.is_empty() {
        // Nothing to resume. A first start, unless something says there
        // was a log here.
        let missing = match (&head, key) {
            (Some(h), _) => {
                let rec: Option<Record> = serde_json::from_slice(h).ok();
                Some(Broken {
                    file: format!("{} (missing)", file_name(path)),
                    last: rec.as_ref().map(|r| (r.seq, audit::line_hash(h))),
                    reason: format!(
                        "the log is missing, but {} recorded a seal at seq {}: it was deleted",
                        file_name(&sibling(path, "head")),
                        rec.map(|r| r.seq).unwrap_or_default()
                    ),
                })
            }
            (None, Some(_)) if !key_is_new => Some(Broken {
                file: format!("{} (missing)", file_name(path)),
                last: None,
                reason: "there is no log, but this log's audit key already existed: the log and its head file were deleted, or the state directory was replaced".into(),
            }),
            _ => None,
        };
        if let Some(b) = missing {
            warn!(
                "audit log {}: {}; starting a new chain",
                path.display(),
                b.reason
            );
            opened.start = Start::NewChain(b);
        }
        return Ok(opened);
    }
    let name = file_name(&checked_path);
    let files = [LogFile {
        name: name.clone(),
        bytes: checked,
    }];
    let known: Vec<KnownSeal> = head
        .iter()
        .map(|h| KnownSeal {
            source: file_name(&sibling(path, "head")),
            line: h.clone(),
        })
        .collect();
    let report = audit::verify(&Input {
        files: &files,
        key: key.filter(|_| !key_is_new),
        known_seals: &known,
        live: None,
    });
    // A new key cannot check seals made before it; everything else that
    // breaks the lines, or a log shorter than audit.head says, cannot be
    // continued.
    let breaks = |k: Kind| {
        (k.breaks_lines() && !(k == Kind::ForeignKey && (key_is_new || key.is_none())))
            || k == Kind::Truncated
    };
    for f in report
        .findings
        .iter()
        .filter(|f| f.kind == Kind::BadKnownSeal)
    {
        warn!(
            "audit log {}: {f}; it will be replaced by the next seal",
            path.display()
        );
    }
    // `audit.head` is written within moments of every seal, the first one
    // included, and at every stop: a log with seals of this key but no
    // head file had it deleted, which is all it takes to hide that its end
    // was cut back to an older seal (nothing else here remembers a later
    // one). Not resumed, as a log shorter than its head says.
    let head_gone = (head.is_none() && report.seals > 0 && key.is_some() && !key_is_new)
        .then(|| {
            format!(
                "{}: the log has {} seal(s) by this agent's audit key, but {} is missing: it was deleted, and the log may have been cut back to an older seal",
                name,
                report.seals,
                file_name(&sibling(path, "head"))
            )
        });
    let bad = report.findings.iter().find(|f| breaks(f.kind));
    if bad.is_some() || head_gone.is_some() {
        let last_good = match bad {
            Some(b) if b.kind != Kind::Truncated => report.last_good.clone(),
            _ => report.last_line.clone(),
        };
        let aside = broken_name(path);
        let reason = bad.map_or_else(|| head_gone.unwrap_or_default(), ToString::to_string);
        fs::rename(&checked_path, &aside)?;
        warn!(
            "audit log {} cannot be resumed: {reason}; moved it to {} and started a new chain",
            checked_path.display(),
            aside.display()
        );
        opened.file = open_append(path)?;
        opened.size = opened.file.metadata()?.len();
        opened.start = Start::NewChain(Broken {
            file: file_name(&aside),
            last: last_good.map(|p| (p.seq, p.hash)),
            reason,
        });
        return Ok(opened);
    }
    // Resume from the last line.
    let Some(last) = report.last_line else {
        return Ok(opened);
    };
    opened.seq = last.seq;
    opened.prev = last.hash;
    opened.unsealed = report.unsealed;
    let first: Option<Record> = files[0]
        .bytes
        .split(|&b| b == b'\n')
        .next()
        .and_then(|l| serde_json::from_slice(l).ok());
    opened.file_no = first
        .filter(Record::is_seal)
        .and_then(|r| r.file_no)
        .unwrap_or(0);
    if let Some(seal) = &report.last_seal {
        opened.last_seal = files[0]
            .bytes
            .split(|&b| b == b'\n')
            .nth(seal.line - 1)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default();
    }
    Ok(opened)
}
