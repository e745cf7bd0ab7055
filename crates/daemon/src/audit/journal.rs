//! Copies of audit lines in the systemd journal (native protocol).

use std::io;
use std::path::PathBuf;

use super::writer::Line;

/// systemd-journald's native protocol over a datagram socket.
pub(super) struct Journal {
    #[cfg(unix)]
    socket: std::os::unix::net::UnixDatagram,
    #[cfg(unix)]
    path: PathBuf,
}

impl Journal {
    #[cfg(unix)]
    pub(super) fn new(path: PathBuf) -> io::Result<Self> {
        Ok(Self {
            socket: std::os::unix::net::UnixDatagram::unbound()?,
            path,
        })
    }

    #[cfg(not(unix))]
    fn new(_path: PathBuf) -> io::Result<Self> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// One entry; every field in the binary-safe form (`NAME\n`, 64-bit
    /// little-endian length, value, `\n`).
    pub(super) fn send(&self, rec: &Line<'_>, line_hash: &str) {
        let mut msg = Vec::new();
        let mut field = |name: &str, value: &str| {
            msg.extend_from_slice(name.as_bytes());
            msg.push(b'\n');
            msg.extend_from_slice(&(value.len() as u64).to_le_bytes());
            msg.extend_from_slice(value.as_bytes());
            msg.push(b'\n');
        };
        let summary = match rec.event {
            "sign" => format!(
                "signed {} {} {} with key {}",
                rec.scheme, rec.method, rec.target, rec.key
            ),
            "refuse" => format!("refused: {}", rec.reason),
            other => format!("audit {other}"),
        };
        field("MESSAGE", &summary);
        field("PRIORITY", if rec.event == "sign" { "6" } else { "5" });
        field("SYSLOG_IDENTIFIER", "signetd");
        field("SIGNET_SEQ", &rec.seq.to_string());
        field("SIGNET_DECISION", rec.event);
        field("SIGNET_KEY", rec.key);
        field("SIGNET_KEY_ID", rec.key_id);
        field("SIGNET_SCHEME", rec.scheme);
        field("SIGNET_METHOD", rec.method);
        field("SIGNET_TARGET", rec.target);
        field("SIGNET_DIGEST", rec.digest);
        field("SIGNET_RULE", rec.rule);
        field("SIGNET_REASON", rec.reason);
        field(
            "SIGNET_CALLER_PID",
            &rec.pid.map(|p| p.to_string()).unwrap_or_default(),
        );
        field(
            "SIGNET_CALLER_UID",
            &rec.uid.map(|u| u.to_string()).unwrap_or_default(),
        );
        field("SIGNET_CALLER_EXE", rec.exe);
        field("SIGNET_LINE_HASH", line_hash);
        #[cfg(unix)]
        if let Err(e) = self.socket.send_to(&msg, &self.path) {
            tracing::debug!("journal: {e}");
        }
    }
}
