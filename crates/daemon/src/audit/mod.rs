//! Layer 2: the audit log: every signature and every refusal, one JSON line
//! each, hash-chained and sealed by the audit key (format and verification
//! in `signet_proto::audit`).
//!
//! **Owns**: the writer thread ([`writer`]), resuming or restarting the
//! chain at start-up ([`open`]), the audit key in memory and, in system
//! mode, its file ([`key`]), `audit.head` ([`head`]) and the journal copy
//! ([`journal`]). **Must not**: import the policy, the key store or the
//! agent (start-up passes the key seed in), touch the disk on the signing
//! path, or record a body, a signature or a secret.
//!
//! **No signature without its record.** The signing path calls
//! [`Auditor::commit`] before the signature leaves the daemon. It returns
//! once the record is *durably queued*, which `[audit] durability` defines:
//! `queued` (the default): in the queue of a writer that has not failed; the
//! writer keeps it until it is written, retrying through write errors, so
//! it is lost only if the process dies within the batch window (~5 ms)
//! before its batch is written; `written`: its batch is in the file
//! (survives a crash or kill of signetd); `fsync`: its batch is also
//! fdatasynced (survives a power loss). While the writer reports errors
//! (ENOSPC, EIO, a removed directory it cannot re-create), `commit` refuses
//! ("audit log cannot be written: …; signing is suspended until it can")
//! when `required`, and the refusal's own record waits in memory to be
//! written first when the log recovers. A full queue (a writer that cannot
//! keep up) makes the signer wait for room, up to [`SIGN_WAIT`], then
//! refuse. Refusals never wait: [`Auditor::record`] queues or counts them.

mod head;
mod journal;
pub mod key;
mod line;
mod open;
mod writer;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use signet_proto::extension::AuditInfo;

pub use journal::JOURNAL_SOCKET;
pub use key::AuditKey;

use crate::config::{AuditConfig, Durability};
use writer::{Item, Settings, Shared, Writer};

/// How long a signature waits for room in a full audit queue before it is
/// withheld.
pub const SIGN_WAIT: Duration = Duration::from_secs(2);

/// What an audit line records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verdict {
    /// A signature was made.
    Sign,
    /// A request was refused.
    #[default]
    Refuse,
    /// Records that could not be kept (written by the writer itself).
    Dropped,
    /// A bearer secret was released to a caller (`get-secret@signet`): the
    /// record names the secret and the caller, never the value.
    Release,
}

impl Verdict {
    /// The `event` field of the line.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Sign => "sign",
            Verdict::Refuse => "refuse",
            Verdict::Dropped => "dropped",
            Verdict::Release => "release",
        }
    }
}

/// What happened, as the signing path reports it.
///
/// Built on every signature, so it is cheap to make: the key's name and the
/// caller's executable are shared (`Arc<str>`, no copy), and everything that
/// is only text for the log (the key id's hex, the digest's hex, the time)
/// is formatted by the writer thread, off the signing path.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// Signed or refused (`Dropped` is the writer's own).
    pub decision: Verdict,
    /// Key name.
    pub key: Arc<str>,
    /// The key's public key (the log shows its hex, Encord's key id).
    pub key_public: Option<[u8; 32]>,
    /// Scheme name.
    pub scheme: &'static str,
    /// HTTP method (empty for SSH).
    pub method: String,
    /// Request target (empty for SSH).
    pub target: String,
    /// SHA-256 of the body (HTTP) or of the signed data (SSH).
    pub digest: [u8; 32],
    /// v2 `created`.
    pub created: Option<u64>,
    /// Caller pid.
    pub pid: Option<i32>,
    /// Caller uid.
    pub uid: u32,
    /// Caller executable (`?` when it could not be read).
    pub exe: Arc<str>,
    /// Deciding rule.
    pub rule: Option<Arc<str>>,
    /// Refusal reason.
    pub reason: String,
    /// Unix time of the event (0: when it is queued).
    pub time: u64,
}

/// Why a signature is withheld.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The log cannot be written (and `[audit] required`).
    #[error("audit log cannot be written: {0}; signing is suspended until it can")]
    Suspended(String),
    /// The writer has not made room in the queue for [`SIGN_WAIT`].
    #[error(
        "the audit log is not keeping up (its queue is full): signature withheld; retry shortly"
    )]
    Backlog,
    /// The writer thread is gone.
    #[error("the audit log's writer has stopped: signature withheld")]
    Gone,
}

/// The signing path's handle on the writer thread.
pub struct Auditor {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    path: PathBuf,
    required: bool,
    durability: Durability,
    cap: usize,
    seal_every: u64,
    seal_interval_secs: u64,
}

impl Auditor {
    /// Opens the log at `path` (resuming its chain, or moving a log that
    /// cannot be resumed aside and starting a new chain), and starts the
    /// writer. `key`: the audit key, if there is one yet; `key_is_new`: it
    /// was made at this start. `system`: system mode (for `required`'s
    /// default).
    pub fn start(
        cfg: &AuditConfig,
        path: PathBuf,
        system: bool,
        key: Option<AuditKey>,
        key_is_new: bool,
    ) -> io::Result<Self> {
        let journal = if cfg.journal {
            let socket = cfg
                .journal_socket
                .clone()
                .unwrap_or_else(|| PathBuf::from(JOURNAL_SOCKET));
            (std::env::var_os("JOURNAL_STREAM").is_some() || socket.exists()).then_some(socket)
        } else {
            None
        };
        let opened = open::open(&path, key.as_ref().map(AuditKey::public), key_is_new)?;
        let queue = cfg.queue.max(16);
        let settings = Settings {
            path: path.clone(),
            max_bytes: cfg.max_bytes.max(4096),
            keep: cfg.keep.max(1),
            seal_every: cfg.seal_every.max(1),
            seal_interval: Duration::from_secs(cfg.seal_interval_secs.max(1)),
            durability: cfg.durability,
            required: cfg.required(system),
            pending_cap: queue * 4,
            journal: journal
                .and_then(|p| journal::Journal::new(p, path.display().to_string()).ok()),
        };
        let shared = Arc::new(Shared::default());
        let writer = Writer::new(settings, opened, key, shared.clone())?;
        let thread = std::thread::Builder::new()
            .name("signetd-audit".into())
            .spawn(move || writer.run())?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
            path,
            required: cfg.required(system),
            durability: cfg.durability,
            cap: queue,
            seal_every: cfg.seal_every.max(1),
            seal_interval_secs: cfg.seal_interval_secs.max(1),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hands over an audit key that was not ready at start-up: sealing
    /// starts with it.
    pub fn set_key(&self, key: AuditKey) {
        let mut q = self.shared.lock();
        q.key = Some(key);
        drop(q);
        self.shared.wake.notify_one();
    }

    // The item comes back when the queue is full, to be tried again without
    // a copy; boxing it would cost an allocation per signature.
    #[allow(clippy::result_large_err)]
    fn push(&self, item: Item) -> Result<(), Item> {
        let mut q = self.shared.lock();
        if q.items.len() >= self.cap {
            return Err(item);
        }
        if item.done.is_some() {
            q.waiters = true;
        }
        q.items.push(item);
        let wake = q.idle;
        drop(q);
        if wake {
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    fn problem(&self) -> String {
        let p = self.shared.status().problem.clone();
        if p.is_empty() {
            "the last write failed".into()
        } else {
            p
        }
    }

    /// The record of a signature: returns once it is durably queued (see
    /// the module doc); an error means the signature must be withheld (its
    /// refusal is recorded here).
    pub async fn commit(&self, mut ev: Event) -> Result<(), AuditError> {
        if ev.time == 0 {
            ev.time = crate::clock::unix_now();
        }
        if self.shared.gone.load(Ordering::SeqCst) {
            return Err(AuditError::Gone);
        }
        if self.required && self.shared.failing.load(Ordering::SeqCst) {
            let err = AuditError::Suspended(self.problem());
            self.record(Event {
                decision: Verdict::Refuse,
                created: None,
                reason: format!("signature withheld: {err}"),
                ..ev
            });
            return Err(err);
        }
        let (done, wait) = if self.durability == Durability::Queued {
            (None, None)
        } else {
            let (tx, rx) = tokio::sync::oneshot::channel();
            (Some(tx), Some(rx))
        };
        let mut item = Item { ev, done };
        let deadline = std::time::Instant::now() + SIGN_WAIT;
        loop {
            match self.push(item) {
                Ok(()) => break,
                Err(back) => item = back,
            }
            // Backpressure: signing slows to what the log can record.
            if std::time::Instant::now() >= deadline || self.shared.gone.load(Ordering::SeqCst) {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return Err(AuditError::Backlog);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        match wait {
            None => Ok(()),
            Some(rx) => match rx.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(why)) => Err(AuditError::Suspended(why)),
                Err(_) => Err(AuditError::Gone),
            },
        }
    }

    /// The record of a refusal: queued, or counted if the queue is full.
    pub fn record(&self, mut ev: Event) {
        if ev.time == 0 {
            ev.time = crate::clock::unix_now();
        }
        if self.push(Item { ev, done: None }).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What `audit-info@signet` answers.
    pub fn info(&self) -> AuditInfo {
        let st = self.shared.status().clone();
        let gone = self.shared.gone.load(Ordering::SeqCst);
        AuditInfo {
            enabled: true,
            path: self.path.display().to_string(),
            public_key: st.public,
            required: self.required,
            durability: self.durability.as_str().to_owned(),
            writing: !gone && !self.shared.failing.load(Ordering::SeqCst),
            problem: if gone {
                "the audit log's writer has stopped".into()
            } else {
                st.problem
            },
            head_seq: st.head_seq,
            head_hash: st.head_hash,
            last_seal: st.last_seal,
            pending: st.pending,
            seal_every: self.seal_every,
            seal_interval_secs: self.seal_interval_secs,
        }
    }

    /// Waits (up to `limit`) until every event queued so far is written;
    /// false if it was not.
    pub fn flush(&self, limit: Duration) -> bool {
        let (done, wait) = mpsc::channel();
        {
            let mut q = self.shared.lock();
            q.flush.push(done);
        }
        self.shared.wake.notify_one();
        wait.recv_timeout(limit).unwrap_or(false)
    }

    /// Writes what is queued and the shutdown seal, and stops the writer
    /// (called once every connection has ended). False if it did not finish
    /// within `limit` or records could not be written.
    pub fn close(&self, limit: Duration) -> bool {
        let (done, wait) = mpsc::channel();
        {
            let mut q = self.shared.lock();
            q.flush.push(done);
            q.stop = true;
        }
        self.shared.wake.notify_one();
        let clean = wait.recv_timeout(limit).unwrap_or(false);
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            if self.shared.gone.load(Ordering::SeqCst) || clean {
                let _ = t.join();
            }
        }
        clean
    }
}

#[cfg(test)]
mod tests;
