//! Process hardening at start-up: no core dumps, no ptrace by same-uid
//! processes (Linux `PR_SET_DUMPABLE` 0, which also makes `/proc/PID/mem`
//! unreadable to them), and no secret inherited through the environment
//! ([`scrub_environment`]).
//!
//! Uses rustix's safe wrappers where rustix has them; the few raw calls it
//! lacks (locked key pages below, `SO_PEERPIDFD` in [`peer_pidfd`], taking
//! an inherited descriptor) are the only `unsafe` code in signet, each block
//! with a `SAFETY` comment. Failures are logged, not fatal: an agent that
//! runs is better than none, and the log says what protection is missing.

#[cfg(any(target_os = "linux", target_os = "macos"))]
use tracing::debug;
#[cfg(unix)]
use tracing::warn;

/// Passes the names a previous image of this process dropped to the next.
const SCRUBBED_VAR: &str = "SIGNETD_SCRUBBED";

/// Drops every environment variable that may hold a secret
/// ([`signet_proto::environ::is_secret`]: `ENCORD_SSH_KEY`,
/// `ENCORD_SSH_KEY_FILE`, `SSH_ASKPASS_PASSWORD`, anything named like a key,
/// password or token), so that neither the askpass program nor anything
/// reading `/proc/PID/environ` finds one. Returns the names dropped, for the
/// log (which is not set up yet). Call it first, while the process has one
/// thread and no descriptor of its own.
///
/// Removing a variable from the environment list does not erase it from the
/// block the kernel copied at `exec`, which `/proc/PID/environ` (and `ps e`)
/// show for as long as the process runs. So when there is something to drop,
/// signetd executes itself again: the same pid, arguments and descriptors
/// (a socket systemd passed stays valid, `LISTEN_PID` is still right), with
/// the filtered environment and the dropped *names* in `SIGNETD_SCRUBBED`.
/// Only if that `exec` fails are the variables removed in place, with a
/// warning that `/proc` still shows them.
pub fn scrub_environment() -> Scrubbed {
    let mut scrubbed = Scrubbed::default();
    if let Some(names) = std::env::var_os(SCRUBBED_VAR) {
        scrubbed.names = names
            .to_string_lossy()
            .split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        std::env::remove_var(SCRUBBED_VAR);
    }
    let secret: Vec<std::ffi::OsString> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| signet_proto::environ::is_secret(&k.to_string_lossy()))
        .collect();
    if secret.is_empty() {
        return scrubbed;
    }
    let names: Vec<String> = secret
        .iter()
        .map(|k| k.to_string_lossy().into_owned())
        .collect();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        #[cfg(target_os = "linux")]
        let exe: std::io::Result<std::path::PathBuf> = Ok("/proc/self/exe".into());
        #[cfg(not(target_os = "linux"))]
        let exe = std::env::current_exe();
        if let Ok(exe) = exe {
            let mut args = std::env::args_os();
            let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
            let kept = std::env::vars_os().filter(|(k, _)| !secret.contains(k));
            let err = std::process::Command::new(&exe)
                .arg0(arg0)
                .args(args)
                .env_clear()
                .envs(kept)
                .env(SCRUBBED_VAR, names.join(","))
                .exec();
            scrubbed.reexec_failed = Some(err.to_string());
        }
    }
    for k in &secret {
        std::env::remove_var(k);
    }
    scrubbed.names = names;
    scrubbed
}

/// What [`scrub_environment`] did.
#[derive(Debug, Default)]
pub struct Scrubbed {
    /// The variables dropped.
    pub names: Vec<String>,
    /// Why executing a clean image failed, when it did (the variables were
    /// then removed in place only).
    pub reexec_failed: Option<String>,
}

impl Scrubbed {
    /// Logs what was dropped (names only).
    pub fn log(&self) {
        if self.names.is_empty() {
            return;
        }
        match &self.reexec_failed {
            None => tracing::info!(
                "dropped from the environment, as they may hold secrets: {}",
                self.names.join(", ")
            ),
            Some(e) => tracing::warn!(
                "dropped from the environment, as they may hold secrets: {}; but signetd could not execute itself again ({e}), so /proc/{}/environ still shows them: do not pass secrets to signetd in its environment",
                self.names.join(", "),
                std::process::id()
            ),
        }
    }
}

/// Applies every protection this platform supports.
pub fn apply() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{set_dumpable_behavior, DumpableBehavior};
        match set_dumpable_behavior(DumpableBehavior::NotDumpable) {
            Ok(()) => debug!("ptrace and core dumps disabled (PR_SET_DUMPABLE 0)"),
            Err(e) => warn!("cannot disable ptrace attach (PR_SET_DUMPABLE): {e}"),
        }
    }
    #[cfg(target_os = "macos")]
    deny_attach();
    #[cfg(unix)]
    {
        use rustix::process::{setrlimit, Resource, Rlimit};
        let zero = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        if let Err(e) = setrlimit(Resource::Core, zero) {
            warn!("cannot disable core dumps (RLIMIT_CORE): {e}");
        }
    }
}

/// macOS: `ptrace(PT_DENY_ATTACH)`, as OpenSSH's agent does: debuggers
/// cannot attach (and an attached one makes the process exit). Compiled with
/// `cargo check --target x86_64-apple-darwin`; not run here.
#[cfg(target_os = "macos")]
#[allow(unsafe_code)]
fn deny_attach() {
    // SAFETY: PT_DENY_ATTACH takes no address or data argument; the call only
    // changes this process's tracing policy.
    let rc = unsafe { libc::ptrace(libc::PT_DENY_ATTACH, 0, std::ptr::null_mut(), 0) };
    if rc == 0 {
        debug!("debugger attach denied (PT_DENY_ATTACH)");
    } else {
        warn!(
            "cannot deny debugger attach (PT_DENY_ATTACH): {}",
            std::io::Error::last_os_error()
        );
    }
}

pub use locked::LockedBox;

/// Key memory that is never swapped out and never written to a core file.
///
/// The only `unsafe` code in signet. Each [`LockedBox`] owns one anonymous
/// private mapping of whole pages, `mlock`ed (a failure — e.g.
/// `RLIMIT_MEMLOCK` — is logged once and is not fatal) and marked
/// `MADV_DONTDUMP`, holding exactly one value. On drop the value's own
/// destructor runs (ed25519-dalek's keys zeroize themselves), then the whole
/// mapping is overwritten with zeros before it is unlocked and unmapped. A
/// page per key costs 4 KiB of address space per loaded key, which is nothing
/// next to the dozens of keys an agent holds.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod locked {
    use std::ffi::c_void;
    use std::ops::Deref;
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicBool, Ordering};

    use rustix::mm::{self, Advice, MapFlags, ProtFlags};
    use tracing::warn;

    static MLOCK_WARNED: AtomicBool = AtomicBool::new(false);

    /// A value of `T` in its own locked, non-dumpable pages.
    pub struct LockedBox<T> {
        ptr: NonNull<T>,
        len: usize,
    }

    // SAFETY: LockedBox owns its T exclusively, like Box<T>; sending or sharing
    // it is as safe as sending or sharing the T.
    unsafe impl<T: Send> Send for LockedBox<T> {}
    // SAFETY: as above: &LockedBox<T> only hands out &T.
    unsafe impl<T: Sync> Sync for LockedBox<T> {}

    impl<T> LockedBox<T> {
        /// Moves `value` into fresh locked pages. The caller's copy of the
        /// value (moved in) is gone; its stack slot may still hold the bytes
        /// until overwritten, so callers build secrets as late as possible.
        pub fn new(value: T) -> std::io::Result<Self> {
            let page = rustix::param::page_size();
            let size = std::mem::size_of::<T>().max(1);
            let len = size.div_ceil(page) * page;
            debug_assert!(std::mem::align_of::<T>() <= page);
            // SAFETY: a new anonymous private mapping at an address the kernel
            // chooses; it aliases nothing.
            let raw = unsafe {
                mm::mmap_anonymous(
                    std::ptr::null_mut(),
                    len,
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::PRIVATE,
                )
            }?;
            // SAFETY: `raw..raw+len` is the mapping made above, owned here.
            if let Err(e) = unsafe { mm::mlock(raw, len) } {
                if !MLOCK_WARNED.swap(true, Ordering::Relaxed) {
                    warn!("cannot lock key memory against swapping ({e}); raise RLIMIT_MEMLOCK (LimitMEMLOCK= under systemd) to enable it");
                }
            }
            // SAFETY: same mapping; MADV_DONTDUMP only changes core-dump policy.
            if let Err(e) = unsafe { mm::madvise(raw, len, Advice::LinuxDontDump) } {
                warn!("cannot exclude key memory from core dumps (MADV_DONTDUMP): {e}");
            }
            let ptr = NonNull::new(raw.cast::<T>())
                .ok_or_else(|| std::io::Error::other("mmap returned null"))?;
            // SAFETY: the mapping is at least size_of::<T>() bytes, page-aligned
            // (so aligned for T), writable, and holds no value yet.
            unsafe { ptr.as_ptr().write(value) };
            Ok(Self { ptr, len })
        }
    }

    impl<T> Deref for LockedBox<T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: `ptr` holds an initialised T for as long as self lives,
            // and is only mutated in drop.
            unsafe { self.ptr.as_ref() }
        }
    }

    impl<T> std::ops::DerefMut for LockedBox<T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in deref; `&mut self` makes the borrow unique.
            unsafe { self.ptr.as_mut() }
        }
    }

    impl<T> Drop for LockedBox<T> {
        fn drop(&mut self) {
            let raw = self.ptr.as_ptr().cast::<c_void>();
            // SAFETY: the T was initialised in new() and is dropped exactly once.
            unsafe { std::ptr::drop_in_place(self.ptr.as_ptr()) };
            // SAFETY: the mapping is ours and `len` bytes long; volatile writes
            // so the wipe is not optimised away before munmap.
            unsafe {
                let bytes = raw.cast::<u8>();
                for i in 0..self.len {
                    bytes.add(i).write_volatile(0);
                }
            }
            // SAFETY: unlock and unmap the mapping made in new(); nothing
            // refers to it any more.
            unsafe {
                let _ = mm::munlock(raw, self.len);
                let _ = mm::munmap(raw, self.len);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn holds_and_drops_the_value() -> std::io::Result<()> {
            use std::sync::Arc;
            let marker = Arc::new(());
            let b = LockedBox::new((Arc::clone(&marker), [7u8; 100]))?;
            assert_eq!(b.1[99], 7);
            assert_eq!(Arc::strong_count(&marker), 2);
            // While it lives, the kernel counts its page as locked (mlock needs
            // CAP_IPC_LOCK or RLIMIT_MEMLOCK room, which root and CI have).
            let status = std::fs::read_to_string("/proc/self/status")?;
            let locked_kb: u64 = status
                .lines()
                .find_map(|l| l.strip_prefix("VmLck:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0);
            assert!(locked_kb >= 4, "VmLck is {locked_kb} kB");
            drop(b);
            assert_eq!(Arc::strong_count(&marker), 1);
            Ok(())
        }
    }
}

/// Elsewhere: an ordinary box (no mlock); the README says which platforms
/// lock key memory.
#[cfg(not(target_os = "linux"))]
mod locked {
    /// A plain heap box standing in for locked memory.
    pub struct LockedBox<T>(Box<T>);

    impl<T> LockedBox<T> {
        /// Boxes `value`.
        pub fn new(value: T) -> std::io::Result<Self> {
            Ok(Self(Box::new(value)))
        }
    }

    impl<T> std::ops::Deref for LockedBox<T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.0
        }
    }

    impl<T> std::ops::DerefMut for LockedBox<T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.0
        }
    }
}

/// The largest secret a [`SecretBuf`] holds: one page, more than any
/// keyring entry signet writes (a bearer token is at most
/// `signet_proto::secret::MAX_VALUE_LEN` bytes).
pub const SECRET_BUF_CAP: usize = 4096;

/// A secret of up to [`SECRET_BUF_CAP`] bytes in locked, non-dumpable
/// memory, wiped when dropped: where keyring entries of variable length
/// (API keys, bearer tokens) are read into, so that no ordinary heap
/// buffer holds them.
pub struct SecretBuf {
    bytes: LockedBox<zeroize::Zeroizing<[u8; SECRET_BUF_CAP]>>,
    len: usize,
}

impl SecretBuf {
    /// An empty buffer (a fresh locked page).
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            bytes: LockedBox::new(zeroize::Zeroizing::new([0u8; SECRET_BUF_CAP]))?,
            len: 0,
        })
    }

    /// A copy of `data`; `None` (and nothing copied) when it is longer than
    /// [`SECRET_BUF_CAP`]. The caller wipes its own copy.
    pub fn copy_of(data: &[u8]) -> std::io::Result<Option<Self>> {
        let mut b = Self::new()?;
        if data.len() > SECRET_BUF_CAP {
            return Ok(None);
        }
        b.bytes[..data.len()].copy_from_slice(data);
        b.len = data.len();
        Ok(Some(b))
    }

    /// The whole capacity, to be filled by a reader; then [`Self::set_len`].
    pub fn capacity_mut(&mut self) -> &mut [u8; SECRET_BUF_CAP] {
        &mut self.bytes
    }

    /// Sets how many bytes of the capacity hold the secret (clamped).
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(SECRET_BUF_CAP);
    }

    /// The secret bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Debug for SecretBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBuf([redacted; {}])", self.len)
    }
}

/// Takes ownership of a file descriptor the service manager passed to this
/// process (socket activation: `LISTEN_FDS` counts them from fd 3).
///
/// Returns `None` when `fd` is not open. The caller must only pass a number
/// that `LISTEN_PID`/`LISTEN_FDS` say was handed to *this* process, and call
/// this at most once per number (`activation` does both, before any other
/// code could have opened or closed descriptors). The descriptor is marked
/// close-on-exec so that no child process inherits the listening socket.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn inherited_fd(fd: std::os::fd::RawFd) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::{BorrowedFd, FromRawFd as _, OwnedFd};
    // SAFETY: the borrow lives only for this fcntl call, which merely asks
    // whether `fd` is open (EBADF otherwise); it neither closes nor keeps it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    rustix::io::fcntl_getfd(borrowed).ok()?;
    // SAFETY: `fd` is open (checked above), and the caller guarantees the
    // service manager passed it to this process for it to own, and that
    // nothing else in this process owns or will close it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    if let Err(e) = rustix::io::fcntl_setfd(&owned, rustix::io::FdFlags::CLOEXEC) {
        warn!("cannot mark the inherited socket close-on-exec: {e}");
    }
    Some(owned)
}

/// A pidfd for the process at the other end of a connected Unix socket,
/// from the kernel (`getsockopt(SOL_SOCKET, SO_PEERPIDFD)`, Linux 6.5): it
/// names the very process that called `connect`, whatever has happened to
/// its pid number since. `Ok(None)` when this kernel does not have the
/// option (the caller falls back to `pidfd_open` on the SO_PEERCRED pid);
/// `Err` when the kernel has it but gives no pidfd (e.g. `ESRCH`: the peer
/// has exited). rustix has no wrapper for this option.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn peer_pidfd(
    socket: std::os::fd::BorrowedFd<'_>,
) -> std::io::Result<Option<std::os::fd::OwnedFd>> {
    use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
    // <asm-generic/socket.h>; SPARC numbers its socket options differently.
    #[cfg(target_arch = "sparc64")]
    const SO_PEERPIDFD: libc::c_int = 0x56;
    #[cfg(not(target_arch = "sparc64"))]
    const SO_PEERPIDFD: libc::c_int = 77;
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `socket` is a live descriptor for the duration of the call;
    // the kernel writes at most `len` (the size of one c_int) bytes into
    // `fd` and updates `len`, both valid, exclusively borrowed locals.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOPROTOOPT) | Some(libc::EINVAL) => Ok(None),
            _ => Err(err),
        };
    }
    if fd < 0 || len as usize != std::mem::size_of::<libc::c_int>() {
        return Err(std::io::Error::other("SO_PEERPIDFD returned no descriptor"));
    }
    // SAFETY: on success the kernel installed a new pidfd (close-on-exec)
    // in this process's table and handed it to us alone; nothing else owns
    // or will close this number.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Who wrote the bytes of one `recvmsg` (SCM_CREDENTIALS, which the kernel
/// attaches to every write when the receiving socket has `SO_PASSCRED`):
/// the writing process's pid (0: not visible in signetd's pid namespace),
/// uid and gid. A writer may claim other ids only with privilege.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    /// The writing process.
    pub pid: i32,
    /// Its (real) uid.
    pub uid: u32,
    /// Its (real) gid.
    pub gid: u32,
}

/// `recvmsg` on a Unix stream socket with `SO_PASSCRED` set: reads into
/// `buf` and returns how many bytes came, with their writer. The kernel
/// never joins the writes of different processes in one read, so the
/// writer holds for every byte returned. Descriptors a peer passes
/// (`SCM_RIGHTS`) are closed unread. rustix's parser would read a pid of 0
/// into its non-zero `Pid` type, so the control messages are parsed here.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn recv_with_sender(
    socket: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> std::io::Result<(usize, Option<Sender>)> {
    use std::os::fd::AsRawFd as _;
    // Room for the credentials and a few descriptors (closed below; the
    // kernel closes those that do not fit), aligned for cmsghdr.
    #[repr(C, align(8))]
    struct Control([u8; 128]);
    let mut control = Control([0; 128]);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid value (null name, no iovecs).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: `msg` points at one iovec over `buf` (valid and exclusively
    // borrowed for `buf.len()` bytes) and at `control` (128 writable,
    // aligned bytes); the kernel writes within those bounds and updates
    // the lengths. The socket is live for the call.
    let n = unsafe {
        libc::recvmsg(
            socket.as_raw_fd(),
            &mut msg,
            libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC,
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut sender = None;
    // SAFETY: `msg` was filled by a successful recvmsg: CMSG_FIRSTHDR and
    // CMSG_NXTHDR walk headers inside `control` within msg_controllen and
    // return null at the end; each header's data is read only within its
    // cmsg_len, with read_unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let header = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let len = (header.cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            if header.cmsg_level == libc::SOL_SOCKET {
                if header.cmsg_type == libc::SCM_CREDENTIALS
                    && len >= std::mem::size_of::<libc::ucred>()
                {
                    let cred = data.cast::<libc::ucred>().read_unaligned();
                    sender = Some(Sender {
                        pid: cred.pid,
                        uid: cred.uid,
                        gid: cred.gid,
                    });
                } else if header.cmsg_type == libc::SCM_RIGHTS {
                    let count = len / std::mem::size_of::<libc::c_int>();
                    for i in 0..count {
                        let fd = data.cast::<libc::c_int>().add(i).read_unaligned();
                        if fd >= 0 {
                            libc::close(fd);
                        }
                    }
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n as usize, sender))
}
