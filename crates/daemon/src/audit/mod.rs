//! Layer 2: the audit log: every signature and every refusal, one JSON line
//! each, hash-chained (format and verification in `signet_proto::audit`).
//!
//! The signing path never touches the disk: it hands an [`Event`] to a
//! bounded channel ([`Auditor::record`], here) and one dedicated thread
//! (`writer`) formats, chains, writes and rotates. If the channel is full (the disk stalls while
//! requests keep coming) a *signature* is withheld and the request refused
//! (`audit log backlog full`), because an unaudited signature is what the log
//! exists to rule out; a *refusal* that cannot be queued is counted and the
//! count written to the log later (nothing was signed). Writes are flushed
//! after each batch; files are fsynced when rotated.
//!
//! Rotation is by size (`max_bytes`): `audit.log` becomes `audit.log.1` (older
//! files shift up to `keep`), and the new file starts with a `rotated` header
//! carrying the hash of the old file's last line. At start-up the chain
//! resumes from the last line on disk.
//!
//! With `journal = true` and systemd's journal socket present, each line is
//! also sent to the journal with `SIGNET_*` fields (native protocol,
//! `journal`).
//!
//! Must not: record a body, a signature or a secret; import another layer-2
//! module.

mod journal;
mod writer;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;

use crate::config::AuditConfig;
use journal::Journal;
use writer::Writer;

/// systemd-journald's native socket.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// What an audit line records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verdict {
    /// A signature was made.
    Sign,
    /// A request was refused.
    #[default]
    Refuse,
    /// Refusals that could not be queued (written by the writer itself).
    Dropped,
}

impl Verdict {
    /// The `event` field of the line.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Sign => "sign",
            Verdict::Refuse => "refuse",
            Verdict::Dropped => "dropped",
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
}

/// What the writer thread receives.
// Events are nearly every message, and the channel preallocates its slots at
// this size anyway; boxing them would add an allocation per signature.
#[allow(clippy::large_enum_variant)]
pub(super) enum Msg {
    Event(Event),
    /// Everything queued before this is written and flushed; then the
    /// sender is told.
    Flush(mpsc::Sender<()>),
}

/// The signing path's handle on the writer thread.
pub struct Auditor {
    tx: SyncSender<Msg>,
    dropped: std::sync::Arc<AtomicU64>,
    path: PathBuf,
}

impl Auditor {
    /// Opens (or creates) the log, resumes its chain and starts the writer.
    pub fn start(cfg: &AuditConfig, path: PathBuf) -> io::Result<Self> {
        let journal = if cfg.journal {
            let socket = cfg
                .journal_socket
                .clone()
                .unwrap_or_else(|| PathBuf::from(JOURNAL_SOCKET));
            (std::env::var_os("JOURNAL_STREAM").is_some() || socket.exists()).then_some(socket)
        } else {
            None
        };
        let mut writer = Writer::open(path.clone(), cfg.max_bytes.max(4096), cfg.keep.max(1))?;
        writer.journal = journal.and_then(|p| Journal::new(p).ok());
        let (tx, rx) = mpsc::sync_channel(cfg.queue.max(16));
        let dropped = std::sync::Arc::new(AtomicU64::new(0));
        let d = dropped.clone();
        std::thread::Builder::new()
            .name("signetd-audit".into())
            .spawn(move || writer.run(rx, d))?;
        Ok(Self { tx, dropped, path })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues an event; false if it could not be queued.
    ///
    /// A full queue means the writer thread is behind (on a busy 2-core
    /// machine it competes with the signers for CPU). For a signature that
    /// is backpressure, not a reason to refuse: the signing thread waits for
    /// room, in short sleeps, for up to [`SIGN_WAIT`], which throttles
    /// signing to the rate the log can record. Only a writer that is stuck
    /// that long (a stalled disk) or gone makes the signature be withheld,
    /// so no signature is ever made without its record. Refusals never wait:
    /// one that cannot be queued is counted and reported later.
    pub fn record(&self, ev: Event) -> bool {
        let is_sign = ev.decision == Verdict::Sign;
        let mut msg = match self.tx.try_send(Msg::Event(ev)) {
            Ok(()) => return true,
            Err(TrySendError::Full(m)) if is_sign => m,
            Err(TrySendError::Full(m) | TrySendError::Disconnected(m)) => {
                if let Msg::Event(e) = &m {
                    self.count_dropped(e);
                }
                return false;
            }
        };
        let deadline = std::time::Instant::now() + SIGN_WAIT;
        loop {
            std::thread::sleep(std::time::Duration::from_micros(200));
            match self.tx.try_send(msg) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => msg = back,
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Waits (up to `limit`) until every event queued so far is written and
    /// flushed: called at shutdown, after the last connection ended, so the
    /// log holds every signature made. False if the writer did not answer.
    pub fn flush(&self, limit: std::time::Duration) -> bool {
        let (done, wait) = mpsc::channel();
        let deadline = std::time::Instant::now() + limit;
        let mut msg = Msg::Flush(done);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => msg = back,
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        wait.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .is_ok()
    }

    fn count_dropped(&self, ev: &Event) {
        if ev.decision != Verdict::Sign {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// How long a signature waits for room in a full audit queue before it is
/// withheld (see [`Auditor::record`]).
pub const SIGN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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

    #[cfg(unix)]
    #[test]
    fn journal_datagrams_carry_signet_fields() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let sock = dir.path().join("journal.sock");
        let server = std::os::unix::net::UnixDatagram::bind(&sock)?;
        server.set_read_timeout(Some(Duration::from_secs(5)))?;
        let cfg = AuditConfig {
            journal: true,
            journal_socket: Some(sock.clone()),
            ..AuditConfig::default()
        };
        let a = Auditor::start(&cfg, dir.path().join("audit.log"))?;
        assert!(a.record(ev(9)));
        let mut buf = vec![0u8; 65536];
        let n = server.recv(&mut buf)?;
        let msg = &buf[..n];
        let has = |name: &str, value: &str| {
            let mut needle = format!("{name}\n").into_bytes();
            needle.extend_from_slice(&(value.len() as u64).to_le_bytes());
            needle.extend_from_slice(value.as_bytes());
            msg.windows(needle.len()).any(|w| w == needle.as_slice())
        };
        assert!(has("SIGNET_KEY", "ci-bot"));
        assert!(has("SIGNET_DECISION", "sign"));
        assert!(has("SIGNET_TARGET", "/v2/public/projects/9"));
        assert!(has("SIGNET_RULE", "read-only"));
        assert!(has("SIGNET_CALLER_UID", "1000"));
        Ok(())
    }
}
