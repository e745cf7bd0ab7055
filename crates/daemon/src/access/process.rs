//! The process behind a connection, pinned when the connection is accepted.
//!
//! A pid is a number the kernel hands out again once its process is gone,
//! and a process can `exec` another program without leaving its
//! connection. So at accept signetd takes a **pidfd** for the peer — from
//! the kernel itself (`SO_PEERPIDFD`, Linux 6.5: the very process that
//! called `connect`), else `pidfd_open` on the SO_PEERCRED pid, checked to
//! have started before the connection was accepted — and reads through it
//! what rules may ask about: the executable, the memory layout its `exec`
//! gave it (the *image*), the cgroup, and the supplementary groups.
//!
//! "Through it" means: read `/proc/PID/…`, then check the pidfd's process
//! has not exited. While it lives its pid cannot belong to anyone else, so
//! what was read was its.
//!
//! An `exec` gives a process a new address space. signetd holds, from
//! accept on, an open `/proc/PID/pagemap` (permitted to whoever may read
//! `/proc/PID/exe`): it stays bound to the address space of accept time,
//! and reading it returns nothing once that address space is gone. One
//! 8-byte read at offset 0 (virtual page 0, never mapped: no information
//! about the process) tells per request, in one system call, whether the
//! process still runs the image it connected with. Where it cannot be
//! opened, the image of `/proc/PID/stat` and the executable are compared
//! instead. Each request that a rule on these facts decides
//! reads them again the same way ([`Process::exe_now`],
//! [`Process::cgroup_now`], [`Process::groups_now`]) and fails with a
//! [`Stale`] when the process has exited or executed another program (or
//! the same one again) since it connected, or moved to another cgroup:
//! a connection is judged by the process that opened it, as it was then.
//!
//! What this does **not** prove (docs/security.md): which process *wrote*
//! a request. The kernel does not say; a connection shared with a forked
//! child or passed to another process (`SCM_RIGHTS`) speaks with the facts
//! of the process that connected, for as long as that process lives
//! unchanged. Nor does it stop a process of the same uid that may `ptrace`
//! the connected one from acting through it.
//!
//! **Must not**: decide anything (rules are `policy`'s); cache a fact past
//! the request it was read for.

use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::access::peer::Peer;

/// How the pidfd was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinnedBy {
    /// `SO_PEERPIDFD`: the kernel's own record of who connected.
    PeerPidfd,
    /// `pidfd_open` on the SO_PEERCRED pid (kernels before 6.5), checked to
    /// have started before the connection was accepted.
    PidfdOpen,
}

/// What `exec` gave a process: its start time (which no `exec` changes,
/// but a recycled pid would) and the addresses of its code, stack,
/// arguments and environment from `/proc/PID/stat` (fields 26–28, 45–51),
/// which every `exec` sets anew (randomised by ASLR). The kernel shows the
/// addresses only to those who may `ptrace`-read the process; otherwise
/// the code addresses read as 1 and the rest as zeros, and
/// [`Image::layout_visible`] is false. (A process without an address space
/// — exiting — shows zeros.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Image {
    /// Start time in clock ticks since boot (field 22).
    pub start_time: u64,
    layout: [u64; 10],
}

impl Image {
    /// Parses a `/proc/PID/stat` line. The command name is in parentheses
    /// and may contain anything; fields are counted after the last `)`.
    pub fn from_stat(stat: &str) -> Option<Self> {
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Field N (1-based, as proc(5) counts) is fields[N - 3].
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        let mut layout = [0; 10];
        for (slot, n) in layout
            .iter_mut()
            .zip([26, 27, 28, 45, 46, 47, 48, 49, 50, 51])
        {
            // Older kernels lack fields 45–51: zeros, like a hidden layout.
            *slot = field(n).unwrap_or(0);
        }
        Some(Self {
            start_time: field(22)?,
            layout,
        })
    }

    /// Whether the kernel showed the layout (signetd may read the
    /// process): to others it writes the code addresses as 1.
    pub fn layout_visible(&self) -> bool {
        !(self.layout[0] == 1 && self.layout[1] == 1)
    }
}

/// Why facts read now are not the facts of the process that connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The process has exited (its connection lives on in another process,
    /// a child or one it passed the socket to).
    Exited,
    /// The process executed a program since it connected (`now`: the
    /// executable it runs now, when readable).
    Executed {
        /// Its executable now.
        now: Option<String>,
    },
    /// The process is in another cgroup than when it connected.
    Moved {
        /// Its cgroup now.
        now: Option<String>,
    },
    /// Its uids are no longer the connection's (a `setuid` since), so its
    /// groups are not the connection's.
    OtherUid,
    /// The fact cannot be read (`EACCES`: signetd may not read that
    /// process's `/proc/PID/exe` — see [`Sight`]).
    Unreadable(io::ErrorKind),
    /// The process runs in another user namespace than signetd, where it
    /// holds the capability to rename its own executable
    /// (`prctl(PR_SET_MM_MAP)` with `CAP_CHECKPOINT_RESTORE` there): its
    /// `/proc/PID/exe` proves nothing.
    UserNamespace,
}

/// The peer's process, pinned at accept: its pidfd and the facts read
/// through it then.
#[derive(Debug)]
pub struct Process {
    pid: i32,
    uid: u32,
    #[cfg(target_os = "linux")]
    pidfd: std::os::fd::OwnedFd,
    pinned_by: PinnedBy,
    image: Image,
    /// `/proc/PID/pagemap` of the address space at accept (see the module
    /// docs); `None` when it could not be opened.
    mm: Option<std::fs::File>,
    /// Whether it ran in another user namespace than signetd at accept
    /// (see [`Stale::UserNamespace`]); unknown counts as another.
    foreign_userns: bool,
    exe: Option<Arc<str>>,
    cgroup: Option<Arc<str>>,
    groups: Option<Arc<[u32]>>,
}

/// `/proc` (the facts' only source).
const PROC: &str = "/proc";

impl Process {
    /// Pins the process at the other end of `socket`, whose SO_PEERCRED
    /// credentials are `peer`. `None` when the platform gives no pid or no
    /// pidfd, or the process has already exited or its pid was taken again
    /// (then rules on process facts refuse the connection, fail closed).
    #[cfg(target_os = "linux")]
    pub fn at_accept(peer: &Peer, socket: std::os::fd::BorrowedFd<'_>) -> Result<Self, Stale> {
        let pid = peer.pid.filter(|&p| p > 0).ok_or(Stale::Exited)?;
        match crate::hardening::peer_pidfd(socket) {
            Ok(Some(pidfd)) => Self::pin(peer, pid, pidfd, PinnedBy::PeerPidfd, None),
            Ok(None) => Self::by_pid(peer),
            Err(_) => Err(Stale::Exited),
        }
    }

    /// Pins the process whose pid SO_PEERCRED reported, with `pidfd_open`:
    /// the fallback for kernels without `SO_PEERPIDFD`, and how a request
    /// handed in without a connection (`signetd::handle`) is judged. The
    /// process must have started no later than now (the connection was
    /// accepted before this), its uids must be the peer's, and it must
    /// still live after its facts are read.
    #[cfg(target_os = "linux")]
    pub fn by_pid(peer: &Peer) -> Result<Self, Stale> {
        Self::by_pid_accepted_at(peer, boot_ticks_now())
    }

    /// [`Process::by_pid`] for a connection accepted at `accepted` (clock
    /// ticks since boot).
    #[cfg(target_os = "linux")]
    fn by_pid_accepted_at(peer: &Peer, accepted: u64) -> Result<Self, Stale> {
        use rustix::process::{pidfd_open, Pid, PidfdFlags};
        let pid = peer.pid.filter(|&p| p > 0).ok_or(Stale::Exited)?;
        let raw = Pid::from_raw(pid).ok_or(Stale::Exited)?;
        let pidfd = pidfd_open(raw, PidfdFlags::empty()).map_err(|_| Stale::Exited)?;
        Self::pin(peer, pid, pidfd, PinnedBy::PidfdOpen, Some(accepted))
    }

    #[cfg(target_os = "linux")]
    fn pin(
        peer: &Peer,
        pid: i32,
        pidfd: std::os::fd::OwnedFd,
        pinned_by: PinnedBy,
        accepted: Option<u64>,
    ) -> Result<Self, Stale> {
        let dir = Path::new(PROC).join(pid.to_string());
        // The address space first: an exec after this is seen later.
        let mm = std::fs::File::open(dir.join("pagemap")).ok();
        let image = read_image(&dir)?;
        let exe = read_exe(&dir).ok().map(Arc::from);
        let cgroup = read_cgroup(&dir).ok().flatten().map(Arc::from);
        let groups = read_groups(&dir, peer.uid).ok().map(Arc::from);
        let foreign_userns = match (std::fs::read_link(dir.join("ns/user")), own_user_ns()) {
            (Ok(theirs), Some(ours)) => theirs != *ours,
            _ => true,
        };
        if exited(&pidfd) {
            return Err(Stale::Exited);
        }
        // A pid taken by a process that started after the connection was
        // accepted is not the one that connected (pidfd_open only: the
        // kernel's SO_PEERPIDFD names the connecting process itself).
        if accepted.is_some_and(|t| image.start_time > t) {
            return Err(Stale::Exited);
        }
        Ok(Self {
            pid,
            uid: peer.uid,
            pidfd,
            pinned_by,
            image,
            mm,
            foreign_userns,
            exe,
            cgroup,
            groups,
        })
    }

    /// Elsewhere there is no pidfd: no process is pinned, and rules on
    /// process facts refuse (fail closed).
    #[cfg(not(target_os = "linux"))]
    pub fn by_pid(_peer: &Peer) -> Result<Self, Stale> {
        Err(Stale::Unreadable(io::ErrorKind::Unsupported))
    }

    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// How it was pinned.
    pub fn pinned_by(&self) -> PinnedBy {
        self.pinned_by
    }

    /// What its `exec` gave it, as read at accept.
    pub fn image(&self) -> Image {
        self.image
    }

    /// Its executable at accept (`None`: unreadable to signetd).
    pub fn exe(&self) -> Option<&Arc<str>> {
        self.exe.as_ref()
    }

    /// Its cgroup path at accept (`None`: unreadable or in no cgroup).
    pub fn cgroup(&self) -> Option<&Arc<str>> {
        self.cgroup.as_ref()
    }

    /// Its supplementary groups at accept (`None`: unreadable, or its uids
    /// were not the connection's).
    pub fn groups(&self) -> Option<&[u32]> {
        self.groups.as_deref()
    }

    fn dir(&self) -> std::path::PathBuf {
        Path::new(PROC).join(self.pid.to_string())
    }

    /// The process is alive and runs the image it connected with: no
    /// `exec` since accept (any program, the same one included).
    pub fn same_image(&self) -> Result<(), Stale> {
        match &self.mm {
            Some(mm) => {
                let same = same_address_space(mm);
                self.check_alive()?;
                if same {
                    Ok(())
                } else {
                    Err(Stale::Executed {
                        now: read_exe(&self.dir()).ok(),
                    })
                }
            }
            None => {
                let image = read_image(&self.dir());
                self.check_alive()?;
                let image = image?;
                if image.start_time != self.image.start_time {
                    return Err(Stale::Exited);
                }
                if image.layout_visible() && image != self.image {
                    return Err(Stale::Executed {
                        now: read_exe(&self.dir()).ok(),
                    });
                }
                Ok(())
            }
        }
    }

    /// Its executable now, which must be the one it connected with, in the
    /// same image: any `exec` since (another program, or the same again)
    /// is [`Stale::Executed`]. With the address space of accept held, one
    /// read proves it (an executable changes only with the address space,
    /// short of the process renaming its own with `prctl(PR_SET_MM)`);
    /// otherwise the image and the executable are read and compared.
    pub fn exe_now(&self) -> Result<Arc<str>, Stale> {
        if self.foreign_userns && self.exe.is_some() {
            self.check_alive()?;
            return Err(Stale::UserNamespace);
        }
        let Some(was) = &self.exe else {
            // Unreadable at accept: nothing to compare with.
            self.check_alive()?;
            return Err(Stale::Unreadable(io::ErrorKind::PermissionDenied));
        };
        if self.mm.is_some() {
            self.same_image()?;
            return Ok(was.clone());
        }
        let dir = self.dir();
        let image = read_image(&dir);
        let exe = read_exe(&dir);
        self.check_alive()?;
        let image = image?;
        if image.start_time != self.image.start_time {
            return Err(Stale::Exited);
        }
        let exe = exe.map_err(|e| Stale::Unreadable(e.kind()))?;
        let same_layout = !image.layout_visible() || image == self.image;
        if **was == *exe && same_layout {
            Ok(was.clone())
        } else {
            Err(Stale::Executed { now: Some(exe) })
        }
    }

    /// Its cgroup now, which must be the one it connected from
    /// ([`Stale::Moved`] otherwise). `Ok(None)`: in no cgroup signetd can
    /// name (no cgroup v2 line and no `name=systemd` one).
    pub fn cgroup_now(&self) -> Result<Option<Arc<str>>, Stale> {
        let now = read_cgroup(&self.dir());
        self.check_alive()?;
        let now = now.map_err(|e| Stale::Unreadable(e.kind()))?;
        match (&self.cgroup, now) {
            (Some(was), Some(now)) if **was == *now => Ok(Some(was.clone())),
            (None, None) => Ok(None),
            (_, now) => Err(Stale::Moved { now }),
        }
    }

    /// The supplementary groups it holds now and held at accept (a process
    /// can only drop groups without privilege; a group it held at neither
    /// time does not count).
    pub fn groups_now(&self) -> Result<Vec<u32>, Stale> {
        let now = read_groups(&self.dir(), self.uid);
        self.check_alive()?;
        let now = now?;
        let was = self.groups.as_deref().unwrap_or_default();
        Ok(now.into_iter().filter(|g| was.contains(g)).collect())
    }

    /// As if `/proc/PID/pagemap` could not be opened (tests of the
    /// fallback comparison).
    #[cfg(test)]
    fn without_address_space(mut self) -> Self {
        self.mm = None;
        self
    }

    fn check_alive(&self) -> Result<(), Stale> {
        #[cfg(target_os = "linux")]
        if exited(&self.pidfd) {
            return Err(Stale::Exited);
        }
        Ok(())
    }
}

/// signetd's own user namespace (`/proc/self/ns/user`), read once.
fn own_user_ns() -> Option<&'static std::path::PathBuf> {
    static OWN: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    OWN.get_or_init(|| std::fs::read_link("/proc/self/ns/user").ok())
        .as_ref()
}

/// Whether `pagemap` (opened at accept) still reads: its address space is
/// the process's, so no `exec` (nor exit) happened since. Reads the entry
/// of virtual page 0, which is never mapped.
fn same_address_space(pagemap: &std::fs::File) -> bool {
    use std::os::unix::fs::FileExt as _;
    let mut entry = [0u8; 8];
    matches!(pagemap.read_at(&mut entry, 0), Ok(8))
}

/// Whether the pidfd's process has exited (a pidfd polls readable then).
/// A poll that fails counts as exited: fail closed.
#[cfg(target_os = "linux")]
fn exited(pidfd: &std::os::fd::OwnedFd) -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match poll(&mut fds, Some(&zero)) {
        Ok(0) => false,
        Ok(_) => !(fds[0].revents() & (PollFlags::IN | PollFlags::HUP | PollFlags::ERR)).is_empty(),
        Err(_) => true,
    }
}

/// Now, in the clock ticks `/proc/PID/stat` counts start times in.
#[cfg(target_os = "linux")]
fn boot_ticks_now() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let hz = rustix::param::clock_ticks_per_second().max(1);
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
    // Rounded up: a process started in this very tick is not "later".
    secs.saturating_mul(hz) + (nanos * hz).div_ceil(1_000_000_000)
}

fn read_image(dir: &Path) -> Result<Image, Stale> {
    let stat = std::fs::read_to_string(dir.join("stat")).map_err(|_| Stale::Exited)?;
    Image::from_stat(&stat).ok_or(Stale::Exited)
}

fn read_exe(dir: &Path) -> io::Result<String> {
    Ok(std::fs::read_link(dir.join("exe"))?.display().to_string())
}

fn read_cgroup(dir: &Path) -> io::Result<Option<String>> {
    Ok(cgroup_path(&std::fs::read_to_string(dir.join("cgroup"))?).map(str::to_owned))
}

fn read_groups(dir: &Path, uid: u32) -> Result<Vec<u32>, Stale> {
    let status = std::fs::read_to_string(dir.join("status")).map_err(|_| Stale::Exited)?;
    groups_from_status(&status, uid).ok_or(Stale::OtherUid)
}

/// The process's cgroup path in a `/proc/PID/cgroup` text: the cgroup v2
/// line (`0::/path`), else the `name=systemd` v1 hierarchy (systems
/// without a unified hierarchy). Paths are relative to signetd's cgroup
/// namespace.
pub fn cgroup_path(text: &str) -> Option<&str> {
    let line = text.lines().find(|l| l.starts_with("0::")).or_else(|| {
        text.lines()
            .find(|l| l.split(':').nth(1) == Some("name=systemd"))
    })?;
    line.splitn(3, ':').nth(2)
}

/// The supplementary groups in a `/proc/PID/status` text, if its real and
/// effective uids are `uid` (else they are not the connection's groups).
pub fn groups_from_status(status: &str, uid: u32) -> Option<Vec<u32>> {
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
    groups.filter(|_| uids_match)
}

/// What this daemon can see of its callers, found out once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sight {
    /// signetd's effective uid.
    pub euid: u32,
    /// Whether it may read other users' `/proc/PID/exe` (and layout):
    /// `CAP_SYS_PTRACE` in its effective set, in the initial user
    /// namespace (a capability in another covers only that namespace's
    /// processes). Without it, only its own uid's dumpable processes. An
    /// LSM may still deny a read: that caller's facts are then unknown.
    pub other_users_exe: bool,
}

/// Bit 19 of the capability sets.
const CAP_SYS_PTRACE: u32 = 19;

/// `/proc/self/ns/user` in the initial user namespace (the kernel's fixed
/// `PROC_USER_INIT_INO`).
const INITIAL_USER_NS: &str = "user:[4026531837]";

impl Sight {
    /// This process's sight.
    pub fn of_this_process() -> Self {
        #[cfg(unix)]
        {
            let euid = rustix::process::geteuid().as_raw();
            let cap = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| effective_caps(&s))
                .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0);
            // The capability counts only over processes in signetd's user
            // namespace and those below it.
            let initial = std::fs::read_link("/proc/self/ns/user")
                .is_ok_and(|ns| ns.as_os_str() == INITIAL_USER_NS);
            Self {
                euid,
                other_users_exe: cap && initial,
            }
        }
        #[cfg(not(unix))]
        Self::default()
    }

    /// Whether signetd can read the executable of a process of `uid`
    /// (a process of its own uid: unless that process is not dumpable).
    pub fn sees_exe_of(&self, uid: u32) -> bool {
        self.other_users_exe || uid == self.euid
    }
}

impl Default for Sight {
    /// A daemon that sees everything (tests that build an agent directly).
    fn default() -> Self {
        Self {
            euid: 0,
            other_users_exe: true,
        }
    }
}

/// `CapEff:` of a `/proc/PID/status` text.
fn effective_caps(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "3613 (sle ep) x) S 3607 3607 29087 0 -1 4194304 131 0 0 0 0 0 0 0 20 0 1 0 729156 2990080 406 18446744073709551615 94687691534336 94687691552265 140735927180736 0 0 0 0 6 0 1 0 0 17 1 0 0 0 0 0 94687691566352 94687691567616 94688134328320 140735927188001 140735927188011 140735927188011 140735927189481 0";

    #[test]
    fn image_is_read_past_a_hostile_name() {
        let image = Image::from_stat(STAT).unwrap_or_else(|| panic!("no image"));
        assert_eq!(image.start_time, 729_156);
        assert!(image.layout_visible());
        // As a process without ptrace access sees it: zeros.
        let hidden = "3613 (sleep) S 3607 3607 29087 0 -1 4194304 131 0 0 0 0 0 0 0 20 0 1 0 729156 2990080 406 18446744073709551615 1 1 0 0 0 0 0 6 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";
        let hidden = Image::from_stat(hidden).unwrap_or_else(|| panic!("no image"));
        assert_eq!(hidden.start_time, 729_156);
        // The kernel writes the code addresses as 1, the rest as 0.
        assert!(!hidden.layout_visible());
        assert_ne!(hidden, image);
        assert_eq!(Image::from_stat("42 (x) S"), None);
    }

    #[test]
    fn cgroup_paths() {
        assert_eq!(
            cgroup_path("12:pids:/\n0::/system.slice/ci.service\n"),
            Some("/system.slice/ci.service")
        );
        assert_eq!(
            cgroup_path("9:name=systemd:/system.slice/a.service\n4:memory:/x\n"),
            Some("/system.slice/a.service")
        );
        assert_eq!(cgroup_path("4:memory:/x\n"), None);
    }

    #[test]
    fn groups_only_when_uids_match() {
        let status = "Name:\tjob\nUid:\t1003\t1003\t1003\t1003\nGid:\t1003\t1003\t1003\t1003\nGroups:\t1003 2000 \n";
        assert_eq!(groups_from_status(status, 1003), Some(vec![1003, 2000]));
        assert_eq!(groups_from_status(status, 1004), None);
        assert_eq!(
            groups_from_status("Uid:\t1\t1\t1\t1\nGroups:\n", 1),
            Some(vec![])
        );
    }

    /// A spawned child's credentials, once its `exec` is complete (the
    /// parent of a vfork-style spawn resumes in the middle of it, before
    /// the new stack is set up).
    #[cfg(target_os = "linux")]
    fn peer_of(child: &std::process::Child) -> Peer {
        let stat = format!("/proc/{}/stat", child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_to_string(&stat)
            .ok()
            .and_then(|s| Image::from_stat(&s))
            .is_none_or(|i| i.layout[2] == 0)
        {
            assert!(std::time::Instant::now() < deadline, "child never ran");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        Peer {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            pid: Some(child.id() as i32),
        }
    }

    /// The fallback pin (pidfd_open) on a real process: its facts, then
    /// its death, and a pid whose process started after the connection.
    #[cfg(target_os = "linux")]
    #[test]
    fn pinned_by_pid_until_it_exits() -> Result<(), Box<dyn std::error::Error>> {
        let mut child = std::process::Command::new("sleep").arg("30").spawn()?;
        let peer = peer_of(&child);
        let p = Process::by_pid(&peer).map_err(|e| format!("{e:?}"))?;
        assert_eq!(p.pinned_by(), PinnedBy::PidfdOpen);
        let exe = std::fs::read_link(format!("/proc/{}/exe", child.id()))?;
        assert_eq!(p.exe().map(|e| &**e), Some(&*exe.display().to_string()));
        assert_eq!(
            p.exe_now().as_deref().ok(),
            Some(&*exe.display().to_string())
        );
        assert!(p.image().layout_visible(), "our own child: readable");
        assert!(p.same_image().is_ok());
        assert!(p.cgroup_now().is_ok());
        // A process that started after the connection was accepted is not
        // the one that connected.
        let started = p.image().start_time;
        assert_eq!(
            Process::by_pid_accepted_at(&peer, started.saturating_sub(1)).err(),
            Some(Stale::Exited)
        );
        child.kill()?;
        child.wait()?;
        assert_eq!(p.exe_now().err(), Some(Stale::Exited));
        assert_eq!(p.same_image().err(), Some(Stale::Exited));
        assert_eq!(p.groups_now().err(), Some(Stale::Exited));
        assert_eq!(p.cgroup_now().err(), Some(Stale::Exited));
        Ok(())
    }

    /// An exec after the pin is seen, through the address space held since
    /// accept and through the image comparison alike.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_exec_after_the_pin_is_seen() -> Result<(), Box<dyn std::error::Error>> {
        use std::io::Write as _;
        for fallback in [false, true] {
            let mut child = std::process::Command::new("/bin/sh")
                .args(["-c", "read go; exec sleep 30"])
                .stdin(std::process::Stdio::piped())
                .spawn()?;
            let peer = peer_of(&child);
            let mut p = Process::by_pid(&peer).map_err(|e| format!("{e:?}"))?;
            if fallback {
                p = p.without_address_space();
            } else {
                assert!(p.mm.is_some(), "pagemap of our own child");
            }
            let shell = p.exe().cloned().ok_or("no exe")?;
            assert_eq!(p.exe_now().ok(), Some(shell.clone()));
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(b"go\n")?;
            }
            let path = format!("/proc/{}/exe", child.id());
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::fs::read_link(&path)?.display().to_string() == *shell {
                assert!(std::time::Instant::now() < deadline, "no exec");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            // The link changes part-way through the kernel's exec; the
            // address space a moment later. Wait (bounded) for the exec to
            // finish: what is asserted is that it is then seen.
            while p.exe_now().is_ok() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "an exec went unseen (fallback: {fallback})"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let now = std::fs::read_link(&path)?.display().to_string();
            assert_eq!(
                p.exe_now().err(),
                Some(Stale::Executed { now: Some(now) }),
                "fallback: {fallback}"
            );
            assert!(matches!(p.same_image(), Err(Stale::Executed { .. })));
            child.kill()?;
            child.wait()?;
            assert_eq!(p.same_image().err(), Some(Stale::Exited));
        }
        Ok(())
    }

    /// SO_PEERPIDFD on a socket pair names the process that made it (this
    /// one): the kernel's own answer, when this kernel has the option.
    #[cfg(target_os = "linux")]
    #[test]
    fn pinned_by_the_kernel_s_peer_pidfd() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::fd::AsFd as _;
        let (a, _b) = std::os::unix::net::UnixStream::pair()?;
        let peer = Peer {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            pid: Some(std::process::id() as i32),
        };
        let p = Process::at_accept(&peer, a.as_fd()).map_err(|e| format!("{e:?}"))?;
        let supported = crate::hardening::peer_pidfd(a.as_fd())?.is_some();
        let expected = if supported {
            PinnedBy::PeerPidfd
        } else {
            PinnedBy::PidfdOpen
        };
        assert_eq!(p.pinned_by(), expected);
        let exe = std::env::current_exe()?.display().to_string();
        assert_eq!(p.exe().map(|e| &**e), Some(exe.as_str()));
        Ok(())
    }

    #[test]
    fn capabilities_from_status() {
        assert_eq!(effective_caps("CapEff:\t0000000000080000\n"), Some(1 << 19));
        assert_eq!(effective_caps("CapInh:\t0\n"), None);
    }
}
