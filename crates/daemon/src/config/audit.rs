//! `[audit]`: the hash-chained, sealed audit log (read at start-up only).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// When a signature may be returned, relative to its audit record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Once the record is queued to a writer that has not failed (it is
    /// written within ~5 ms; a write error keeps it in memory and retries).
    #[default]
    Queued,
    /// Once the record's batch is written to the file (`write(2)` returned):
    /// it survives a crash or kill of signetd, not a power loss.
    Written,
    /// Once the record's batch is written and `fdatasync`ed: it survives a
    /// power loss.
    Fsync,
}

impl Durability {
    /// The configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Queued => "queued",
            Durability::Written => "written",
            Durability::Fsync => "fsync",
        }
    }
}

/// `[audit]` section.
#[derive(Debug, Clone, Deserialize, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Write the audit log [default: true].
    pub enabled: bool,
    /// The log file [default: `audit.log` in the agent's state directory:
    /// [`state_dir`]].
    pub path: Option<PathBuf>,
    /// Rotate when the file would grow past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept (`audit.log.1` … `audit.log.N`).
    pub keep: usize,
    /// Also send each line to the systemd journal.
    pub journal: bool,
    /// The journal's socket (tests point it elsewhere).
    pub journal_socket: Option<PathBuf>,
    /// Events queued for the writer thread before signing waits for room.
    pub queue: usize,
    /// No signature without its record: while the log cannot be written,
    /// signing is refused [default: true in system mode and when the file
    /// has an `[audit]` section; false otherwise: see [`Self::required`]].
    pub required: Option<bool>,
    /// When a signature is returned relative to its record.
    pub durability: Durability,
    /// A seal after this many records.
    pub seal_every: u64,
    /// A seal this many seconds after the first unsealed record.
    pub seal_interval_secs: u64,
    /// Whether the file had an `[audit]` section (set by the parser; it
    /// changes [`Self::required`]'s default, and nothing else: equality
    /// ignores it).
    #[serde(skip)]
    pub section: bool,
}

impl PartialEq for AuditConfig {
    fn eq(&self, other: &Self) -> bool {
        // Every field but `section` (destructured, so a new field cannot be
        // forgotten here).
        let Self {
            enabled,
            path,
            max_bytes,
            keep,
            journal,
            journal_socket,
            queue,
            required,
            durability,
            seal_every,
            seal_interval_secs,
            section: _,
        } = self;
        (
            enabled,
            path,
            max_bytes,
            keep,
            journal,
            journal_socket,
            queue,
            required,
            durability,
            seal_every,
            seal_interval_secs,
        ) == (
            &other.enabled,
            &other.path,
            &other.max_bytes,
            &other.keep,
            &other.journal,
            &other.journal_socket,
            &other.queue,
            &other.required,
            &other.durability,
            &other.seal_every,
            &other.seal_interval_secs,
        )
    }
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
            required: None,
            durability: Durability::Queued,
            seal_every: 1_000,
            seal_interval_secs: 10,
            section: false,
        }
    }
}

impl AuditConfig {
    /// The log file: `path`, else `audit.log` in `state_dir`.
    pub fn resolved_path(&self, state_dir: &Path) -> PathBuf {
        match &self.path {
            Some(p) => p.clone(),
            None => state_dir.join("audit.log"),
        }
    }

    /// Whether signing stops while the log cannot be written: as set, else
    /// true in system mode and when the file has an `[audit]` section.
    pub fn required(&self, system: bool) -> bool {
        self.required.unwrap_or(system || self.section)
    }

    /// What is wrong with the values (part of the configuration's parse).
    pub fn check(&self) -> Result<(), String> {
        if self.seal_every == 0 {
            return Err("audit.seal_every must be at least 1".into());
        }
        if self.seal_interval_secs == 0 {
            return Err("audit.seal_interval_secs must be at least 1".into());
        }
        Ok(())
    }
}

/// The agent's state directory: `--state-dir`; else in system mode
/// `$STATE_DIRECTORY` (systemd's `StateDirectory=`; the first if it names
/// several), else `/var/lib/signet`; in user mode `$XDG_STATE_HOME/signet`
/// (`~/.local/state/signet`). User mode ignores `$STATE_DIRECTORY`: a
/// `signet start` from inside some other service would otherwise write
/// that service's directory.
pub fn state_dir(flag: Option<PathBuf>, system: bool) -> PathBuf {
    if let Some(p) = flag {
        return p;
    }
    if !system {
        return super::with_file_env(|env| {
            signet_proto::paths::state_dir(env).unwrap_or_else(|| Path::new(".").join("signet"))
        });
    }
    if let Some(p) = std::env::var_os("STATE_DIRECTORY").filter(|p| !p.is_empty()) {
        let first = p
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !first.is_empty() {
            return PathBuf::from(first);
        }
    }
    PathBuf::from(signet_proto::paths::SYSTEM_STATE_DIR)
}
