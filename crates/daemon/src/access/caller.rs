//! Facts about the process asking, read from `/proc` when a rule needs them:
//! its executable (through a short-lived cache), its systemd unit, and its
//! supplementary groups.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::access::peer::Peer;

/// An executable read from `/proc` (`None`: unreadable), shared.
type CachedExe = Option<Arc<str>>;

/// Executables of recent callers by pid, each read from `/proc/PID/exe` at
/// most once per [`EXE_CACHE_TTL`]: a readlink there costs more than a
/// policy check and the audit record together. The trade-off: a process
/// that `exec`s another binary while keeping its connection (which needs a
/// socket without close-on-exec) is judged by its old executable for up to
/// that long; pids are not reused within a second in practice.
#[derive(Debug, Default)]
pub struct ExeCache {
    entries: std::sync::Mutex<std::collections::HashMap<i32, (tokio::time::Instant, CachedExe)>>,
}

/// How long a cached executable is trusted.
pub const EXE_CACHE_TTL: Duration = Duration::from_secs(1);

impl ExeCache {
    fn get(&self, pid: i32, read: impl FnOnce() -> Option<Arc<str>>) -> Option<Arc<str>> {
        let now = tokio::time::Instant::now();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, exe)) = map.get(&pid) {
            if now.saturating_duration_since(*at) < EXE_CACHE_TTL {
                return exe.clone();
            }
        }
        if map.len() > 1024 {
            map.retain(|_, (at, _)| now.saturating_duration_since(*at) < EXE_CACHE_TTL);
        }
        let exe = read();
        map.insert(pid, (now, exe.clone()));
        exe
    }
}

/// Which process asked, precisely enough to remember a confirmation for it
/// (`confirm_remember`): its pid, its start time (so a recycled pid is
/// another process) and its executable (so an `exec` is another program).
///
/// Read from `/proc` for each request, not cached: the caller's pid is the
/// one `SO_PEERCRED` gave at connect. A connection handed to another
/// process keeps the connecting process's pid; if that process is gone,
/// there is no identity and nothing is remembered. (Issue 15 pins these
/// facts with a pidfd at accept; until then this is what the daemon has.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessIdentity {
    /// Its pid.
    pub pid: i32,
    /// Its start time in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start_time: u64,
    /// Its executable (`/proc/PID/exe`).
    pub exe: Arc<str>,
}

impl ProcessIdentity {
    /// An identity from given facts (unit tests).
    pub fn for_test(pid: i32, start_time: u64, exe: &str) -> Self {
        Self {
            pid,
            start_time,
            exe: exe.into(),
        }
    }
}

/// The start time (field 22) in a `/proc/PID/stat` text.
pub fn start_time_from_stat(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may contain anything; the
    // fields after the last ')' are: state (3), ppid (4), … starttime (22).
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The process asking, with its `/proc` facts read on first use.
pub struct Caller {
    /// Kernel credentials of the connection.
    pub peer: Peer,
    /// `/proc`, or a test's stand-in (borrowed for `/proc`: a caller is
    /// made per request).
    proc_root: std::borrow::Cow<'static, Path>,
    exe: OnceLock<Option<Arc<str>>>,
    unit: OnceLock<Option<String>>,
    groups: OnceLock<Option<Vec<u32>>>,
    exe_cache: Option<std::sync::Arc<ExeCache>>,
}

impl Caller {
    /// A caller whose facts come from `/proc`.
    pub fn new(peer: Peer) -> Self {
        Self::at(peer, std::borrow::Cow::Borrowed(Path::new("/proc")))
    }

    /// A caller whose facts come from another `/proc` (tests).
    pub fn with_proc_root(peer: Peer, proc_root: &Path) -> Self {
        Self::at(peer, std::borrow::Cow::Owned(proc_root.to_path_buf()))
    }

    fn at(peer: Peer, proc_root: std::borrow::Cow<'static, Path>) -> Self {
        Self {
            peer,
            proc_root,
            exe: OnceLock::new(),
            unit: OnceLock::new(),
            groups: OnceLock::new(),
            exe_cache: None,
        }
    }

    /// Reads the executable through `cache` (see [`ExeCache`]).
    pub fn with_exe_cache(mut self, cache: std::sync::Arc<ExeCache>) -> Self {
        self.exe_cache = Some(cache);
        self
    }

    /// A caller for a dry run (`explain@signet`): facts given replace what
    /// `/proc` would say.
    pub fn with_facts(peer: Peer, exe: Option<String>, unit: Option<String>) -> Self {
        let c = Self::new(peer);
        if let Some(exe) = exe {
            let _ = c.exe.set(Some(exe.into()));
        }
        if let Some(unit) = unit {
            let _ = c.unit.set(Some(unit));
        }
        c
    }

    /// The caller's executable (`/proc/PID/exe`), if readable.
    pub fn exe(&self) -> Option<&str> {
        self.exe_slot().as_deref()
    }

    /// The same, shared (the audit log's events keep it without a copy).
    pub fn exe_shared(&self) -> Option<Arc<str>> {
        self.exe_slot().clone()
    }

    fn exe_slot(&self) -> &Option<Arc<str>> {
        self.exe.get_or_init(|| {
            let pid = self.peer.pid?;
            let read = || {
                std::fs::read_link(self.proc_root.join(pid.to_string()).join("exe"))
                    .ok()
                    .map(|p| p.display().to_string().into())
            };
            match &self.exe_cache {
                Some(cache) => cache.get(pid, read),
                None => read(),
            }
        })
    }

    /// Which process this is, read now (see [`ProcessIdentity`]); `None`
    /// when the platform gives no pid or the process is gone.
    pub fn process_identity(&self) -> Option<ProcessIdentity> {
        let pid = self.peer.pid?;
        let dir = self.proc_root.join(pid.to_string());
        let start = std::fs::read_to_string(dir.join("stat")).ok()?;
        let start_time = start_time_from_stat(&start)?;
        let exe: Arc<str> = std::fs::read_link(dir.join("exe"))
            .ok()?
            .display()
            .to_string()
            .into();
        // Read the start time again: the pid must not have changed hands
        // between the two reads.
        let again = std::fs::read_to_string(dir.join("stat")).ok()?;
        (start_time_from_stat(&again)? == start_time).then_some(ProcessIdentity {
            pid,
            start_time,
            exe,
        })
    }

    /// The caller's systemd unit: the last component of its cgroup path that
    /// ends in `.service` or `.scope`.
    pub fn unit(&self) -> Option<&str> {
        self.unit
            .get_or_init(|| {
                let pid = self.peer.pid?;
                let text =
                    std::fs::read_to_string(self.proc_root.join(pid.to_string()).join("cgroup"))
                        .ok()?;
                unit_from_cgroup(&text)
            })
            .as_deref()
    }

    /// The supplementary groups of the caller's process, if it is still
    /// the caller's (see [`process_groups`]).
    pub fn process_groups(&self) -> Option<&[u32]> {
        self.groups
            .get_or_init(|| {
                let pid = self.peer.pid?;
                process_groups(&self.proc_root, pid, self.peer.uid)
            })
            .as_deref()
    }
}

/// The unit in a `/proc/PID/cgroup` text (cgroup v2 `0::/path` preferred).
pub fn unit_from_cgroup(text: &str) -> Option<String> {
    let line = text
        .lines()
        .find(|l| l.starts_with("0::"))
        .or_else(|| text.lines().find(|l| l.contains("name=systemd")))?;
    let path = line.splitn(3, ':').nth(2)?;
    path.rsplit('/')
        .find(|c| c.ends_with(".service") || c.ends_with(".scope"))
        .map(str::to_owned)
}

/// The supplementary groups of process `pid`, if its real and effective uids
/// are still `uid` (so that a pid recycled by another user's process is not
/// trusted).
pub fn process_groups(proc_root: &Path, pid: i32, uid: u32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(proc_root.join(pid.to_string()).join("status")).ok()?;
    let mut uids_match = false;
    let mut groups = None;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("Uid:") {
            let ids: Vec<u32> = rest
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect();
            uids_match = ids.len() >= 2 && ids[0] == uid && ids[1] == uid;
        } else if let Some(rest) = line.strip_prefix("Groups:") {
            groups = Some(
                rest.split_whitespace()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
            );
        }
    }
    if uids_match {
        groups
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn exe_cache_reads_once_per_ttl() {
        let cache = ExeCache::default();
        let reads = std::cell::Cell::new(0);
        let read = |name: &str| {
            reads.set(reads.get() + 1);
            Some(Arc::<str>::from(name))
        };
        assert_eq!(cache.get(7, || read("/a")).as_deref(), Some("/a"));
        // Within the TTL the first answer stands (an exec is seen late).
        tokio::time::advance(EXE_CACHE_TTL - Duration::from_millis(1)).await;
        assert_eq!(cache.get(7, || read("/b")).as_deref(), Some("/a"));
        assert_eq!(reads.get(), 1);
        // Another pid is read on its own.
        assert_eq!(cache.get(8, || read("/c")).as_deref(), Some("/c"));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(cache.get(7, || read("/b")).as_deref(), Some("/b"));
        assert_eq!(reads.get(), 3);
    }

    #[test]
    fn start_time_is_field_22_even_after_a_hostile_name() {
        let stat = "42 (a) b (c) R 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(start_time_from_stat(stat), Some(987_654));
        let me = Caller::new(Peer {
            uid: 0,
            gid: 0,
            pid: Some(std::process::id() as i32),
        });
        let id = me.process_identity();
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        assert_eq!(id.as_ref().map(|i| &*i.exe), Some(exe.as_str()));
        assert!(id.is_some_and(|i| i.start_time > 0));
    }

    #[test]
    fn unit_parsing() {
        assert_eq!(
            unit_from_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n").as_deref(),
            Some("session-3.scope")
        );
        assert_eq!(
            unit_from_cgroup("0::/system.slice/ci.service/job/x\n").as_deref(),
            Some("ci.service")
        );
        assert_eq!(unit_from_cgroup("0::/\n"), None);
    }
}
