//! The writer thread: it takes queued events in batches, formats and chains
//! them, seals, writes, rotates, and keeps what it could not write.
//!
//! **Batches.** With `durability = "queued"` the thread gathers events for
//! [`BATCH_WINDOW`] after the first one (the senders then never have to
//! wake it) and writes the batch with one `write(2)`. When a sender waits
//! for its record (`written`, `fsync`) the thread writes at once: a batch is
//! whatever queued up while the previous one was being written.
//!
//! **All or nothing.** A batch is formatted into one buffer and the chain
//! advances only once the whole buffer is in the file; a failed write is cut
//! back off the file (`ftruncate` to the last good length), so the file
//! never holds half a batch and the next attempt formats the same records
//! again from the same chain position.
//!
//! **Failure.** When a write fails (ENOSPC, EIO, a directory that is gone),
//! the batch's records stay in memory, first in line, and the thread
//! retries every [`RETRY`]; [`Shared::failing`] tells the signing path,
//! which refuses new signatures while `required`. Records that wait in
//! memory are bounded ([`Writer::pending_cap`]): beyond it a refusal is only
//! counted, and the count is written as a `dropped` line when the log
//! recovers. A signature's record is never dropped while `required` (no
//! signature is made while the log fails, except the few already queued,
//! which are kept whatever the bound); without `required` a signature beyond
//! the bound is counted as unrecorded in that `dropped` line.
//!
//! **Under its feet.** Before each batch the file is checked (`fstat` of
//! the open file, `stat` of the path): removed, truncated, grown by bytes
//! signetd did not write, or replaced, the file is moved aside (if it is
//! still there) and a new chain starts that names it.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use signet_proto::audit::{SEAL_CONTEXT, TRIGGER_ROTATION};
use tracing::{error, info, warn};

use super::head::Head;
use super::journal::Journal;
use super::key::AuditKey;
use super::line::{hex32, Line};
use super::open::{self, broken_name, file_name, Broken, Opened, Start};
use super::{Event, Verdict};
use crate::config::Durability;

/// How long the writer gathers events before writing them (`queued`).
pub(super) const BATCH_WINDOW: Duration = Duration::from_millis(5);

/// How often a log that cannot be written is tried again.
pub(super) const RETRY: Duration = Duration::from_millis(250);

/// One queued event, and who waits for its record (`written`, `fsync`).
pub(super) struct Item {
    pub ev: Event,
    pub done: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
}

/// What the signing path hands the writer.
#[derive(Default)]
pub(super) struct Queue {
    pub items: Vec<Item>,
    /// Some item has a sender waiting: write at once.
    pub waiters: bool,
    /// Answered once everything queued before is written (true) or could
    /// not be (false).
    pub flush: Vec<mpsc::Sender<bool>>,
    /// An audit key that arrived after start-up.
    pub key: Option<AuditKey>,
    pub stop: bool,
    /// The writer waits on the condition variable (senders must wake it).
    pub idle: bool,
}

/// What `audit-info@signet` shows.
#[derive(Debug, Default, Clone)]
pub(super) struct Status {
    pub problem: String,
    pub head_seq: u64,
    pub head_hash: String,
    pub last_seal: String,
    pub pending: u64,
    pub public: Option<[u8; 32]>,
}

/// The writer and the signing path share this.
#[derive(Default)]
pub(super) struct Shared {
    pub queue: Mutex<Queue>,
    pub wake: Condvar,
    /// The last write failed: signing stops while `required`.
    pub failing: AtomicBool,
    /// The writer thread has ended.
    pub gone: AtomicBool,
    /// Refusals that could not even be queued.
    pub dropped: AtomicU64,
    pub status: Mutex<Status>,
    /// Unit tests: every write fails as on a full disk.
    #[cfg(test)]
    pub inject: AtomicBool,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The chain's position: the last line's `seq` and hash (hex), and lines
/// since the last seal.
#[derive(Clone, Copy)]
struct Chain {
    seq: u64,
    prev: [u8; 64],
    since_seal: u64,
}

impl Chain {
    fn genesis() -> Self {
        Self {
            seq: 0,
            prev: [b'0'; 64],
            since_seal: 0,
        }
    }

    fn prev(&self) -> &str {
        std::str::from_utf8(&self.prev).unwrap_or_default()
    }
}

/// A seal to write.
#[derive(Clone)]
struct SealSpec {
    trigger: &'static str,
    reason: String,
    unsealed: Option<u64>,
    /// The key of the seals before this one, when it is not this key's.
    previous_key: String,
}

impl SealSpec {
    fn new(trigger: &'static str) -> Self {
        Self {
            trigger,
            reason: String::new(),
            unsealed: None,
            previous_key: String::new(),
        }
    }
}

/// The log could not be written since…
struct Failure {
    since: Instant,
    error: String,
}

/// Settings the writer needs.
pub(super) struct Settings {
    pub path: PathBuf,
    pub max_bytes: u64,
    pub keep: usize,
    pub seal_every: u64,
    pub seal_interval: Duration,
    pub durability: Durability,
    pub required: bool,
    pub pending_cap: usize,
    pub journal: Option<Journal>,
}

pub(super) struct Writer {
    s: Settings,
    file: File,
    /// What signetd has written to `file` (its length, if nobody else
    /// touched it).
    size: u64,
    /// (device, inode) of `file`, to tell when the path names another file.
    id: (u64, u64),
    chain: Chain,
    file_no: u64,
    key: Option<AuditKey>,
    key_hex: String,
    /// The key of the last seal in the log (hex), to notice a new key.
    log_key: String,
    head: Option<Head>,
    /// Events not written yet, oldest first.
    pending: VecDeque<Item>,
    lost_refusals: u64,
    lost_signatures: u64,
    failing: Option<Failure>,
    next_retry: Instant,
    want_seal: Option<SealSpec>,
    first_unsealed_at: Option<Instant>,
    start: Option<Start>,
    start_seal: Option<SealSpec>,
    /// The batch being formatted.
    buf: Vec<u8>,
    /// One line, and a seal's message.
    scratch: Vec<u8>,
    /// Journal entries of the batch, sent once it is written.
    entries: Vec<Vec<u8>>,
    /// The last seal line in the batch.
    seal_in_buf: Option<Vec<u8>>,
    /// The last second formatted, and its RFC 3339 text.
    clock: (u64, String),
    spare: Vec<Item>,
    shared: Arc<Shared>,
    _lock: File,
}

/// `a; b`, or whichever is not empty.
fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}; {b}"),
    }
}

fn file_id(m: &fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        (m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        (0, 0)
    }
}

/// Formats `secs` (cached per second).
fn time_of(clock: &mut (u64, String), secs: u64) -> &str {
    if clock.0 != secs {
        *clock = (secs, crate::clock::rfc3339(secs));
    }
    &clock.1
}

/// Appends `line` and its newline to `buf` (serialized in `scratch`),
/// queues its journal entry, and returns its hash.
fn emit(
    buf: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    journal: Option<&Journal>,
    entries: &mut Vec<Vec<u8>>,
    line: &Line<'_>,
) -> [u8; 32] {
    scratch.clear();
    // A struct of strings and integers always serializes.
    let _ = serde_json::to_writer(&mut *scratch, line);
    let hash: [u8; 32] = Sha256::digest(&scratch[..]).into();
    buf.extend_from_slice(scratch);
    buf.push(b'\n');
    if let Some(j) = journal {
        let mut hex = [0u8; 64];
        entries.push(j.entry(line, hex32(&hash, &mut hex), scratch));
    }
    hash
}

impl Writer {
    pub fn new(
        s: Settings,
        o: Opened,
        key: Option<AuditKey>,
        shared: Arc<Shared>,
    ) -> io::Result<Self> {
        let id = file_id(&o.file.metadata()?);
        let head = match Head::start(open::sibling(&s.path, "head")) {
            Ok(h) => Some(h),
            Err(e) => {
                warn!("audit head: cannot start its writer: {e}");
                None
            }
        };
        let mut prev = [b'0'; 64];
        if o.prev.len() == 64 {
            prev.copy_from_slice(o.prev.as_bytes());
        }
        let chain = Chain {
            seq: o.seq,
            prev,
            since_seal: o.unsealed,
        };
        let key_hex = key
            .as_ref()
            .map(|k| hex::encode(k.public()))
            .unwrap_or_default();
        {
            let mut st = shared.status();
            st.public = key.as_ref().map(AuditKey::public);
            st.head_seq = o.seq;
            st.head_hash = o.prev.clone();
            st.last_seal = o.last_seal.clone();
        }
        let log_key = serde_json::from_str::<signet_proto::audit::Record>(&o.last_seal)
            .map(|r| r.audit_key)
            .unwrap_or_default();
        let mut start_seal = SealSpec {
            reason: o.note.clone(),
            unsealed: (o.unsealed > 0).then_some(o.unsealed),
            ..SealSpec::new("start")
        };
        if !key_hex.is_empty() && !log_key.is_empty() && log_key != key_hex {
            warn!(
                "audit log {}: the audit key is new ({key_hex}); the log's seals so far were made by {log_key}, which the start seal names",
                s.path.display()
            );
            start_seal.previous_key = log_key.clone();
            start_seal.reason = join(
                &start_seal.reason,
                "a new audit key: the key store did not have the old one",
            );
        }
        let start_seal = Some(start_seal);
        Ok(Self {
            file: o.file,
            size: o.size,
            id,
            chain,
            file_no: o.file_no,
            key,
            key_hex,
            log_key,
            head,
            pending: VecDeque::new(),
            lost_refusals: 0,
            lost_signatures: 0,
            failing: None,
            next_retry: Instant::now(),
            want_seal: None,
            first_unsealed_at: (o.unsealed > 0).then(Instant::now),
            start: Some(o.start),
            start_seal,
            buf: Vec::with_capacity(64 * 1024),
            scratch: Vec::with_capacity(1024),
            entries: Vec::new(),
            seal_in_buf: None,
            clock: (u64::MAX, String::new()),
            spare: Vec::new(),
            shared,
            _lock: o.lock,
            s,
        })
    }

    /// The thread's body: until stopped, write what comes.
    pub fn run(mut self) {
        let shared = self.shared.clone();
        // Whatever ends this thread (a panic included), signers must see it.
        struct Gone(Arc<Shared>);
        impl Drop for Gone {
            fn drop(&mut self) {
                self.0.gone.store(true, Ordering::SeqCst);
            }
        }
        let _gone = Gone(shared.clone());
        self.write_start();
        loop {
            let (stop, flushes) = self.take();
            self.timers();
            self.drain();
            if stop {
                self.shutdown();
                for f in flushes {
                    let _ = f.send(self.clean());
                }
                return;
            }
            let clean = self.clean();
            for f in flushes {
                let _ = f.send(clean);
            }
        }
    }

    fn clean(&self) -> bool {
        self.failing.is_none() && self.pending.is_empty()
    }

    /// Waits for work or a timer, then takes everything queued.
    fn take(&mut self) -> (bool, Vec<mpsc::Sender<bool>>) {
        let shared = self.shared.clone();
        let mut q = shared.lock();
        loop {
            if !q.items.is_empty() || !q.flush.is_empty() || q.stop || q.key.is_some() {
                break;
            }
            let timeout = self.next_timer();
            if timeout == Some(Duration::ZERO) {
                break;
            }
            q.idle = true;
            q = match timeout {
                Some(t) => {
                    shared
                        .wake
                        .wait_timeout(q, t)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => shared.wake.wait(q).unwrap_or_else(|p| p.into_inner()),
            };
            q.idle = false;
        }
        // Gather for a few milliseconds: while this thread sleeps, senders
        // never have to wake it (no futex call per signature), and the file
        // gets one write per batch instead of per line.
        if self.s.durability == Durability::Queued
            && !q.waiters
            && q.flush.is_empty()
            && !q.stop
            && !q.items.is_empty()
            && self.failing.is_none()
        {
            drop(q);
            std::thread::sleep(BATCH_WINDOW);
            q = shared.lock();
        }
        std::mem::swap(&mut q.items, &mut self.spare);
        q.waiters = false;
        let flushes = std::mem::take(&mut q.flush);
        let stop = q.stop;
        let key = q.key.take();
        drop(q);
        if let Some(k) = key {
            self.install_key(k);
        }
        let mut items = std::mem::take(&mut self.spare);
        let lost = self.shared.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            self.lost_refusals += lost;
        }
        for item in items.drain(..) {
            self.accept(item);
        }
        self.spare = items;
        if self.failing.is_some() {
            self.settle_waiters();
        }
        if self.failing.is_none() {
            self.flush_lost();
        }
        (stop, flushes)
    }

    /// When the next timer is due: the retry of a failing log, or the
    /// interval seal.
    fn next_timer(&self) -> Option<Duration> {
        let now = Instant::now();
        if self.failing.is_some() {
            return Some(self.next_retry.saturating_duration_since(now));
        }
        if self.key.is_some() && self.chain.since_seal > 0 {
            if let Some(t) = self.first_unsealed_at {
                return Some((t + self.s.seal_interval).saturating_duration_since(now));
            }
        }
        None
    }

    fn timers(&mut self) {
        if self.want_seal.is_some() || self.key.is_none() || self.chain.since_seal == 0 {
            return;
        }
        if self
            .first_unsealed_at
            .is_some_and(|t| t.elapsed() >= self.s.seal_interval)
        {
            self.want_seal = Some(SealSpec::new("interval"));
        }
    }

    fn install_key(&mut self, key: AuditKey) {
        info!(
            "audit log: audit key {} installed; sealing from now on",
            hex::encode(key.public())
        );
        self.key_hex = hex::encode(key.public());
        self.shared.status().public = Some(key.public());
        self.key = Some(key);
        if self.start.is_none() {
            let unsealed = self.chain.since_seal;
            let mut spec = SealSpec {
                reason: "the audit key became available after start-up".into(),
                unsealed: (unsealed > 0).then_some(unsealed),
                ..SealSpec::new("start")
            };
            if !self.log_key.is_empty() && self.log_key != self.key_hex {
                spec.previous_key = self.log_key.clone();
            }
            self.want_seal = Some(spec);
        } else if let Some(spec) = &mut self.start_seal {
            if !self.log_key.is_empty() && self.log_key != self.key_hex {
                spec.previous_key = self.log_key.clone();
            }
        }
    }

    /// Takes one event into the pending line (bounded while failing).
    fn accept(&mut self, mut item: Item) {
        if self.failing.is_some() && self.pending.len() >= self.s.pending_cap {
            let sign = matches!(item.ev.decision, Verdict::Sign | Verdict::Release);
            if !sign {
                self.lost_refusals += 1;
                return;
            }
            if !self.s.required {
                self.lost_signatures += 1;
                if let Some(done) = item.done.take() {
                    let _ = done.send(Ok(()));
                }
                return;
            }
            // A signature already made (queued before the failure was
            // seen): kept, whatever the bound.
        }
        self.pending.push_back(item);
    }

    /// Records of what was lost while the log failed, once it is written
    /// again.
    fn flush_lost(&mut self) {
        if self.lost_refusals == 0 && self.lost_signatures == 0 {
            return;
        }
        let mut reason = format!(
            "{} refusals were not logged: the audit queue or the memory for records waiting to be written was full",
            self.lost_refusals
        );
        if self.lost_signatures > 0 {
            reason.push_str(&format!(
                "; {} signatures were made without a record ([audit] required = false) while the log could not be written",
                self.lost_signatures
            ));
        }
        self.lost_refusals = 0;
        self.lost_signatures = 0;
        self.pending.push_back(Item {
            ev: Event {
                decision: Verdict::Dropped,
                reason,
                time: crate::clock::unix_now(),
                ..Event::default()
            },
            done: None,
        });
    }

    /// While failing: senders waiting for their record are told now.
    /// Required: the signature is withheld and its record becomes a refusal.
    /// Not required: the signature goes out and its record waits here.
    fn settle_waiters(&mut self) {
        let Some(f) = &self.failing else {
            return;
        };
        let why = f.error.clone();
        for item in self.pending.iter_mut() {
            let Some(done) = item.done.take() else {
                continue;
            };
            if self.s.required {
                let _ = done.send(Err(why.clone()));
                item.ev.decision = Verdict::Refuse;
                item.ev.created = None;
                item.ev.reason = format!(
                    "signature withheld: audit log cannot be written: {why}; signing is suspended until it can"
                );
            } else {
                let _ = done.send(Ok(()));
            }
        }
        self.shared.status().pending = self.pending.len() as u64;
    }

    /// Writes everything pending, and a wanted seal.
    fn drain(&mut self) {
        loop {
            if self.failing.is_some() && Instant::now() < self.next_retry {
                return;
            }
            if self.start.is_some() {
                if !self.write_start() {
                    return;
                }
                continue;
            }
            if self.pending.is_empty() && self.want_seal.is_none() {
                return;
            }
            match self.check_file() {
                Ok(None) => {}
                Ok(Some(why)) => {
                    self.restart_chain(&why);
                    continue;
                }
                Err(e) => {
                    self.fail(&e);
                    return;
                }
            }
            let est = self
                .pending
                .front()
                .map_or(512, |i| 512 + i.ev.target.len() as u64);
            if self.size > 0 && self.size + est > self.s.max_bytes {
                if let Err(e) = self.rotate() {
                    self.fail(&e);
                    return;
                }
                continue;
            }
            let mut tent = self.chain;
            let pending = std::mem::take(&mut self.pending);
            let mut n = 0;
            for item in &pending {
                let fits = self.size + (self.buf.len() as u64) + 512 + item.ev.target.len() as u64
                    <= self.s.max_bytes;
                if n > 0 && !fits {
                    break;
                }
                self.fmt_event(&mut tent, &item.ev);
                n += 1;
                if tent.since_seal >= self.s.seal_every && self.key.is_some() {
                    self.fmt_seal(&mut tent, &SealSpec::new("count"), None);
                }
            }
            self.pending = pending;
            // A wanted seal goes after the last pending record (without an
            // audit key there is nothing to seal with, and it is dropped).
            let sealing = n == self.pending.len();
            if sealing {
                if let Some(spec) = self.want_seal.clone() {
                    self.fmt_seal(&mut tent, &spec, None);
                }
            }
            match self.commit(tent) {
                Ok(()) => {
                    for _ in 0..n {
                        if let Some(mut item) = self.pending.pop_front() {
                            if let Some(done) = item.done.take() {
                                let _ = done.send(Ok(()));
                            }
                        }
                    }
                    if sealing {
                        self.want_seal = None;
                    }
                    self.recovered();
                    self.publish();
                }
                Err(e) => {
                    self.fail(&e);
                    return;
                }
            }
        }
    }

    /// The first lines after start-up (or after a restarted chain): a new
    /// chain, a rotation seal, the start seal. False if they could not be
    /// written (then they are tried again first).
    fn write_start(&mut self) -> bool {
        let Some(start) = self.start.take() else {
            return true;
        };
        let mut tent = self.chain;
        let mut file_no = self.file_no;
        let mut seal_start = true;
        match &start {
            Start::Resume => {}
            Start::Rotated => {
                file_no += 1;
                self.fmt_rotation(&mut tent, file_no);
            }
            Start::NewChain(b) => {
                file_no = 0;
                self.fmt_new_chain(&mut tent, b);
                seal_start = !self.fmt_seal(&mut tent, &SealSpec::new("new-chain"), None);
            }
        }
        if seal_start {
            if let Some(spec) = self.start_seal.clone() {
                self.fmt_seal(&mut tent, &spec, None);
            }
        }
        match self.commit(tent) {
            Ok(()) => {
                self.file_no = file_no;
                self.start_seal = None;
                self.recovered();
                self.publish();
                true
            }
            Err(e) => {
                self.start = Some(start);
                self.fail(&e);
                false
            }
        }
    }

    /// Whether the file is still the one signetd writes, as it wrote it.
    fn check_file(&mut self) -> io::Result<Option<String>> {
        let meta = self.file.metadata()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            if meta.nlink() == 0 {
                return Ok(Some("was removed".into()));
            }
        }
        if meta.len() < self.size {
            return Ok(Some(format!(
                "was truncated from {} to {} bytes",
                self.size,
                meta.len()
            )));
        }
        if meta.len() > self.size {
            return Ok(Some(format!(
                "grew by {} bytes that signetd did not write",
                meta.len() - self.size
            )));
        }
        match fs::metadata(&self.s.path) {
            Ok(m) if file_id(&m) != self.id => Ok(Some("was replaced by another file".into())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Ok(Some("was renamed or removed".into()))
            }
            Err(e) => Err(e),
        }
    }

    /// The file was changed under signetd: keep it aside as evidence and
    /// start a new chain in a new file that names it.
    fn restart_chain(&mut self, why: &str) {
        let path = self.s.path.clone();
        error!(
            "audit log {}: the file {why} while signetd was running; starting a new chain",
            path.display()
        );
        let aside = if path.exists() {
            let to = broken_name(&path);
            match fs::rename(&path, &to) {
                Ok(()) => file_name(&to),
                Err(e) => {
                    self.fail(&e);
                    return;
                }
            }
        } else {
            format!("{} (gone)", file_name(&path))
        };
        let reopened = open::make_dir(&path).and_then(|()| open::open_append(&path));
        let file = match reopened.and_then(|f| f.metadata().map(|m| (f, m))) {
            Ok((f, m)) => {
                self.id = file_id(&m);
                f
            }
            Err(e) => {
                self.fail(&e);
                return;
            }
        };
        let last = (self.chain.seq > 0).then(|| (self.chain.seq, self.chain.prev().to_owned()));
        self.file = file;
        self.size = 0;
        self.chain = Chain::genesis();
        self.file_no = 0;
        self.start = Some(Start::NewChain(Broken {
            file: aside,
            last,
            reason: format!("{} {why} while signetd was running", file_name(&path)),
        }));
    }

    fn rotate(&mut self) -> io::Result<()> {
        // The old file is fsynced on a helper thread: a multi-megabyte fsync
        // here would stall the writer long enough to fill the queue.
        if let Ok(old) = self.file.try_clone() {
            std::thread::spawn(move || {
                if let Err(e) = old.sync_all() {
                    warn!("audit log: cannot fsync a rotated file: {e}");
                }
            });
        }
        let path = self.s.path.clone();
        let _ = fs::remove_file(open::rotated(&path, self.s.keep));
        for n in (1..self.s.keep).rev() {
            let from = open::rotated(&path, n);
            if from.exists() {
                fs::rename(&from, open::rotated(&path, n + 1))?;
            }
        }
        fs::rename(&path, open::rotated(&path, 1))?;
        let file = open::open_append(&path)?;
        self.id = file_id(&file.metadata()?);
        self.file = file;
        self.size = 0;
        let mut tent = self.chain;
        let no = self.file_no + 1;
        self.fmt_rotation(&mut tent, no);
        self.commit(tent)?;
        self.file_no = no;
        self.publish();
        Ok(())
    }

    /// Writes the batch; the chain advances only if all of it is written.
    fn commit(&mut self, tent: Chain) -> io::Result<()> {
        if self.buf.is_empty() {
            self.chain = tent;
            return Ok(());
        }
        #[cfg(test)]
        if self.shared.inject.load(Ordering::SeqCst) {
            self.buf.clear();
            self.entries.clear();
            self.seal_in_buf = None;
            return Err(io::Error::from_raw_os_error(28));
        }
        let written = self.file.write_all(&self.buf).and_then(|()| {
            if self.s.durability == Durability::Fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Cut back whatever part of the batch reached the file.
            if let Err(t) = self.file.set_len(self.size) {
                warn!("audit log: cannot cut back a partial write: {t}");
            }
            self.buf.clear();
            self.entries.clear();
            self.seal_in_buf = None;
            return Err(e);
        }
        self.size += self.buf.len() as u64;
        self.buf.clear();
        let was_sealed = self.chain.since_seal == 0;
        self.chain = tent;
        if tent.since_seal == 0 {
            self.first_unsealed_at = None;
        } else if was_sealed || self.first_unsealed_at.is_none() {
            self.first_unsealed_at = Some(Instant::now());
        }
        if let Some(j) = &self.s.journal {
            for e in self.entries.drain(..) {
                j.send(&e);
            }
        }
        if let Some(seal) = self.seal_in_buf.take() {
            if let Some(h) = &self.head {
                h.post(&seal);
            }
            self.log_key.clone_from(&self.key_hex);
            self.shared.status().last_seal = String::from_utf8_lossy(&seal).into_owned();
        }
        Ok(())
    }

    fn fail(&mut self, e: &io::Error) {
        let error = e.to_string();
        match &mut self.failing {
            None => {
                if self.s.required {
                    error!(
                        "audit log {}: cannot write: {error}; signing is suspended until it can",
                        self.s.path.display()
                    );
                } else {
                    error!(
                        "audit log {}: cannot write: {error}; signing continues without a record ([audit] required = false): records wait in memory",
                        self.s.path.display()
                    );
                }
                self.failing = Some(Failure {
                    since: Instant::now(),
                    error: error.clone(),
                });
                self.shared.failing.store(true, Ordering::SeqCst);
            }
            Some(f) => f.error.clone_from(&error),
        }
        self.next_retry = Instant::now() + RETRY;
        self.shared.status().problem = error;
        self.settle_waiters();
        self.publish();
    }

    /// After a successful write: if the log had failed, it works again.
    fn recovered(&mut self) {
        let Some(f) = self.failing.take() else {
            return;
        };
        self.shared.failing.store(false, Ordering::SeqCst);
        self.shared.status().problem.clear();
        let secs = f.since.elapsed().as_secs_f64();
        info!(
            "audit log {}: writable again after {secs:.1}s ({}); signing resumes",
            self.s.path.display(),
            f.error
        );
        self.flush_lost();
        self.want_seal = Some(SealSpec {
            reason: format!(
                "the log could not be written for {secs:.1}s ({}); the records held in memory meanwhile come before this seal",
                f.error
            ),
            ..SealSpec::new("recovered")
        });
    }

    fn publish(&self) {
        let mut st = self.shared.status();
        st.head_seq = self.chain.seq;
        st.head_hash = self.chain.prev().to_owned();
        st.pending = self.pending.len() as u64;
    }

    fn shutdown(&mut self) {
        // One more try, whatever the retry timer says.
        self.next_retry = Instant::now();
        self.drain();
        if self.key.is_some() {
            self.want_seal = Some(SealSpec::new("shutdown"));
            self.next_retry = Instant::now();
            self.drain();
        }
        if !self.pending.is_empty() {
            error!(
                "audit log {}: {} records could not be written before shutdown; they are logged here instead, one per line",
                self.s.path.display(),
                self.pending.len()
            );
            let pending = std::mem::take(&mut self.pending);
            let mut tent = self.chain;
            for item in &pending {
                self.fmt_event(&mut tent, &item.ev);
            }
            for line in String::from_utf8_lossy(&self.buf).lines() {
                error!("audit record not written: {line}");
            }
            self.buf.clear();
            self.entries.clear();
        }
        if let Err(e) = self.file.sync_all() {
            warn!("audit log: cannot fsync at shutdown: {e}");
        }
        if let Some(mut h) = self.head.take() {
            h.close();
        }
    }

    fn fmt_event(&mut self, tent: &mut Chain, ev: &Event) {
        let Self {
            clock,
            buf,
            scratch,
            entries,
            s,
            ..
        } = self;
        let (mut key_id, mut digest) = ([0u8; 64], [0u8; 64]);
        let time = time_of(clock, ev.time);
        let prev = tent.prev;
        let prev = std::str::from_utf8(&prev).unwrap_or_default();
        let mut line = Line::new(tent.seq + 1, time, ev.decision.as_str(), prev);
        line.key = &ev.key;
        if let Some(public) = &ev.key_public {
            line.key_id = hex32(public, &mut key_id);
        }
        line.scheme = ev.scheme;
        line.method = &ev.method;
        line.target = &ev.target;
        if ev.decision != Verdict::Dropped {
            line.digest = hex32(&ev.digest, &mut digest);
            line.uid = Some(ev.uid);
        }
        line.created = ev.created;
        line.pid = ev.pid;
        line.exe = &ev.exe;
        line.rule = ev.rule.as_deref().unwrap_or_default();
        line.reason = &ev.reason;
        let hash = emit(buf, scratch, s.journal.as_ref(), entries, &line);
        let mut hex = [0u8; 64];
        hex32(&hash, &mut hex);
        tent.seq += 1;
        tent.prev = hex;
        tent.since_seal += 1;
    }

    /// A seal of the chain so far; false without an audit key.
    fn fmt_seal(
        &mut self,
        tent: &mut Chain,
        spec: &SealSpec,
        rotation: Option<(u64, &str)>,
    ) -> bool {
        let Self {
            clock,
            buf,
            scratch,
            entries,
            s,
            key,
            key_hex,
            seal_in_buf,
            ..
        } = self;
        let Some(key) = key else {
            return false;
        };
        let key_hex: &str = key_hex;
        let time = time_of(clock, crate::clock::unix_now());
        let prev = tent.prev;
        let prev = std::str::from_utf8(&prev).unwrap_or_default();
        let mut line = Line::new(tent.seq + 1, time, "seal", prev);
        line.trigger = spec.trigger;
        line.reason = &spec.reason;
        line.unsealed = spec.unsealed;
        line.audit_key = key_hex;
        line.previous_key = &spec.previous_key;
        if let Some((no, from)) = rotation {
            line.trigger = TRIGGER_ROTATION;
            line.file_no = Some(no);
            line.keep = Some(s.keep as u64);
            line.rotated_from = from;
        }
        scratch.clear();
        scratch.extend_from_slice(SEAL_CONTEXT);
        let _ = serde_json::to_writer(&mut *scratch, &line);
        let sig = hex::encode(key.sign(scratch));
        line.sig = &sig;
        let hash = emit(buf, scratch, s.journal.as_ref(), entries, &line);
        *seal_in_buf = Some(scratch.clone());
        let mut hex = [0u8; 64];
        hex32(&hash, &mut hex);
        tent.seq += 1;
        tent.prev = hex;
        tent.since_seal = 0;
        true
    }

    /// The first line of a rotated-in file: a rotation seal, or (without an
    /// audit key) the `rotated` header of logs before seals.
    fn fmt_rotation(&mut self, tent: &mut Chain, file_no: u64) {
        let from = file_name(&open::rotated(&self.s.path, 1));
        if self.fmt_seal(
            tent,
            &SealSpec::new(TRIGGER_ROTATION),
            Some((file_no, &from)),
        ) {
            return;
        }
        let Self {
            clock,
            buf,
            scratch,
            entries,
            s,
            ..
        } = self;
        let time = time_of(clock, crate::clock::unix_now());
        let prev = tent.prev;
        let prev = std::str::from_utf8(&prev).unwrap_or_default();
        let mut line = Line::new(tent.seq + 1, time, "rotated", prev);
        line.rotated_from = &from;
        let hash = emit(buf, scratch, s.journal.as_ref(), entries, &line);
        let mut hex = [0u8; 64];
        hex32(&hash, &mut hex);
        tent.seq += 1;
        tent.prev = hex;
        tent.since_seal += 1;
    }

    fn fmt_new_chain(&mut self, tent: &mut Chain, b: &Broken) {
        let Self {
            clock,
            buf,
            scratch,
            entries,
            s,
            ..
        } = self;
        let time = time_of(clock, crate::clock::unix_now());
        let genesis = Chain::genesis();
        let mut line = Line::new(1, time, "new-chain", genesis.prev());
        line.broken_file = &b.file;
        line.reason = &b.reason;
        if let Some((seq, hash)) = &b.last {
            line.broken_seq = Some(*seq);
            line.broken_hash = hash;
        }
        let hash = emit(buf, scratch, s.journal.as_ref(), entries, &line);
        let mut hex = [0u8; 64];
        hex32(&hash, &mut hex);
        *tent = Chain {
            seq: 1,
            prev: hex,
            since_seal: 1,
        };
    }
}
