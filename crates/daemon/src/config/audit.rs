//! `[audit]`: the hash-chained audit log (read at start-up only).

use std::path::PathBuf;

use serde::Deserialize;

/// `[audit]` section.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Write the audit log [default: true].
    pub enabled: bool,
    /// The log file [default: `$XDG_STATE_HOME/signet/audit.log`, in system
    /// mode `/var/lib/signet/audit.log`].
    pub path: Option<PathBuf>,
    /// Rotate when the file would grow past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept (`audit.log.1` … `audit.log.N`).
    pub keep: usize,
    /// Also send each line to the systemd journal.
    pub journal: bool,
    /// The journal's socket (tests point it elsewhere).
    pub journal_socket: Option<PathBuf>,
    /// Events queued for the writer thread before signatures are withheld.
    /// The channel preallocates every slot (~260 bytes each), so this is
    /// also the writer's fixed memory cost: 4,096 slots ≈ 1 MiB, and ~100 ms
    /// of headroom at 40,000 signatures/s (the writer batches every 5 ms).
    pub queue: usize,
    /// Refuse to start when the log cannot be opened [default: false: the
    /// agent starts and logs an error, without an audit trail].
    pub required: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
            max_bytes: 16 * 1024 * 1024,
            keep: 5,
            journal: true,
            journal_socket: None,
            queue: 4_096,
            required: false,
        }
    }
}

impl AuditConfig {
    /// The file in force for user or system mode: `path`, else the rule
    /// every signet program uses (`signet_proto::paths::audit_log`).
    pub fn resolved_path(&self, system: bool) -> PathBuf {
        match &self.path {
            Some(p) => p.clone(),
            None => super::with_file_env(|env| signet_proto::paths::audit_log(env, system)),
        }
    }
}
