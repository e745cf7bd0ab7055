//! Who is on the other end of a connection: the peer's credentials from the
//! kernel (SO_PEERCRED, [`Peer`]), its process pinned at accept
//! ([`Client`], with [`crate::access::process::Process`]), and who wrote
//! each request ([`Writer`]: the kernel's SO_PASSCRED credentials on the
//! request's bytes).

use std::fmt;
use std::sync::Arc;

use crate::access::process::Process;

/// The credentials the kernel recorded when the peer called `connect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
    /// Process id, when the platform reports it.
    pub pid: Option<i32>,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "uid {} pid {}", self.uid, pid),
            None => write!(f, "uid {}", self.uid),
        }
    }
}

impl Peer {
    /// Reads the peer's credentials from a connected socket.
    #[cfg(unix)]
    pub fn of(stream: &tokio::net::UnixStream) -> std::io::Result<Self> {
        let cred = stream.peer_cred()?;
        Ok(Self {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid().filter(|&p| p > 0),
        })
    }
}

/// A connection's peer: its credentials, and its process as pinned when the
/// connection was accepted (`None`: no pid, no pidfd on this platform, or
/// the process had already gone).
#[derive(Debug, Clone)]
pub struct Client {
    /// SO_PEERCRED.
    pub peer: Peer,
    /// The process, pinned by a pidfd with its facts at accept.
    pub process: Option<Arc<Process>>,
}

impl Client {
    /// The peer of an accepted Unix socket, its process pinned now.
    #[cfg(unix)]
    pub fn accepted(stream: &tokio::net::UnixStream) -> std::io::Result<Self> {
        let peer = Peer::of(stream)?;
        #[cfg(target_os = "linux")]
        let process = {
            use std::os::fd::AsFd as _;
            Process::at_accept(&peer, stream.as_fd()).ok().map(Arc::new)
        };
        #[cfg(not(target_os = "linux"))]
        let process = None;
        Ok(Self { peer, process })
    }

    /// A peer handed in without its connection (`signetd::handle`: tests,
    /// benchmarks, fuzzing): its pid, if any, pinned now with `pidfd_open`.
    pub fn pin(peer: Peer) -> Self {
        let process = peer
            .pid
            .and_then(|_| Process::by_pid(&peer).ok())
            .map(Arc::new);
        Self { peer, process }
    }

    /// A peer with no process to pin (the Windows pipe).
    pub fn unpinned(peer: Peer) -> Self {
        Self {
            peer,
            process: None,
        }
    }
}

/// Who wrote one request's bytes, as the kernel attached it to them
/// (`SO_PASSCRED`: every write carries the writing process's pid, which a
/// process can misstate only with privilege).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Not known: a transport that does not say (the Windows pipe), or a
    /// request handed in without a connection (`signetd::handle`).
    Untracked,
    /// One process wrote every byte of the request.
    Process {
        /// Its pid in signetd's pid namespace (0: not visible there).
        pid: i32,
        /// Its real uid.
        uid: u32,
    },
    /// Bytes of more than one process, or some the kernel gave no
    /// credentials for.
    Mixed,
}

impl Writer {
    /// The writer of bytes from two reads, `self` first.
    pub fn and(self, other: Writer) -> Writer {
        match (self, other) {
            (a, b) if a == b => a,
            _ => Writer::Mixed,
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.peer.fmt(f)
    }
}
