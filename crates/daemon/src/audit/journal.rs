//! systemd-journald's native protocol over a datagram socket: each audit
//! line is also a journal entry with `SIGNET_*` fields, and each seal
//! carries its whole line (`SIGNET_SEAL`), so the journal is a second place
//! that knows the latest seal.

use std::io;
use std::path::PathBuf;

use super::line::Line;

/// systemd-journald's native socket.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

pub(super) struct Journal {
    #[cfg(unix)]
    socket: std::os::unix::net::UnixDatagram,
    #[cfg(unix)]
    path: PathBuf,
    /// The log's path, in every entry (`SIGNET_AUDIT_LOG`): which agent's
    /// log a line belongs to.
    log: String,
}

impl Journal {
    #[cfg(unix)]
    pub fn new(path: PathBuf, log: String) -> io::Result<Self> {
        Ok(Self {
            socket: std::os::unix::net::UnixDatagram::unbound()?,
            path,
            log,
        })
    }

    #[cfg(not(unix))]
    pub fn new(_path: PathBuf, _log: String) -> io::Result<Self> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// One entry; every field in the binary-safe form (`NAME\n`, 64-bit
    /// little-endian length, value, `\n`). `line` is the line as written.
    pub fn entry(&self, rec: &Line<'_>, line_hash: &str, line: &[u8]) -> Vec<u8> {
        let mut msg = Vec::with_capacity(512 + line.len());
        let mut field = |name: &str, value: &[u8]| {
            msg.extend_from_slice(name.as_bytes());
            msg.push(b'\n');
            msg.extend_from_slice(&(value.len() as u64).to_le_bytes());
            msg.extend_from_slice(value);
            msg.push(b'\n');
        };
        let summary = match rec.event {
            "sign" => format!(
                "signed {} {} {} with key {}",
                rec.scheme, rec.method, rec.target, rec.key
            ),
            "refuse" => format!("refused: {}", rec.reason),
            "seal" => format!("audit seal at seq {} ({})", rec.seq, rec.trigger),
            "new-chain" => format!("audit log: new chain: {}", rec.reason),
            other => format!("audit {other}"),
        };
        let s = |v: &str| v.as_bytes().to_vec();
        field("MESSAGE", summary.as_bytes());
        let priority = match rec.event {
            "sign" | "seal" => "6",
            "new-chain" => "3",
            _ => "5",
        };
        field("PRIORITY", priority.as_bytes());
        field("SYSLOG_IDENTIFIER", b"signetd");
        field("SIGNET_AUDIT_LOG", self.log.as_bytes());
        field("SIGNET_SEQ", rec.seq.to_string().as_bytes());
        field("SIGNET_DECISION", rec.event.as_bytes());
        field("SIGNET_KEY", &s(rec.key));
        field("SIGNET_KEY_ID", &s(rec.key_id));
        field("SIGNET_SCHEME", &s(rec.scheme));
        field("SIGNET_METHOD", &s(rec.method));
        field("SIGNET_TARGET", &s(rec.target));
        field("SIGNET_DIGEST", &s(rec.digest));
        field("SIGNET_RULE", &s(rec.rule));
        field("SIGNET_REASON", &s(rec.reason));
        field(
            "SIGNET_CALLER_PID",
            rec.pid
                .map(|p| p.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(
            "SIGNET_CALLER_UID",
            rec.uid
                .map(|u| u.to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field("SIGNET_CALLER_EXE", &s(rec.exe));
        field("SIGNET_LINE_HASH", line_hash.as_bytes());
        if rec.event == "seal" {
            field("SIGNET_SEAL", line);
        }
        msg
    }

    /// Sends entries made by [`Journal::entry`].
    pub fn send(&self, entry: &[u8]) {
        #[cfg(unix)]
        if let Err(e) = self.socket.send_to(entry, &self.path) {
            tracing::debug!("journal: {e}");
        }
        #[cfg(not(unix))]
        let _ = entry;
    }
}
