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
