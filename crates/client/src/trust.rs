//! Who serves the socket, checked before a byte is sent.
//!
//! Two checks, shared by the blocking and the async client:
//!
//! - **the server**: right after `connect`, the kernel says which uid
//!   listens (`SO_PEERCRED` on Linux; `getpeereid` through tokio on other
//!   Unix systems). It must be this process's own effective uid or root
//!   (the system agent); anyone else gets nothing, not even the version
//!   probe, and the caller learns which uid serves the socket.
//! - **the default socket's directory**, before connecting to it: the same
//!   rule `signetd` applies before it binds
//!   ([`signet_proto::paths::check_dir`]), for this process's uid. A path the
//!   caller names itself (`SIGNET_AUTH_SOCK`, `--socket`) may be a system
//!   agent's shared directory, so only the server check applies to it.

use std::io;
use std::path::{Path, PathBuf};

use signet_proto::paths::{self, Lookup, Node, NodeKind, Sharing, Untrusted};

use crate::error::Error;
use crate::socket;

/// This process's effective uid: the identity the agent serves it as.
pub(crate) fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Fails unless `server_uid` is this process's own uid or root.
pub(crate) fn check_server(path: &Path, server_uid: u32) -> Result<(), Error> {
    let own = own_uid();
    if server_uid == own || server_uid == 0 {
        return Ok(());
    }
    Err(Error::UntrustedAgent {
        path: path.to_owned(),
        server_uid,
        own_uid: own,
    })
}

/// The uid of the process listening on the other end of `stream`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn server_uid(stream: &std::os::unix::net::UnixStream) -> io::Result<u32> {
    Ok(rustix::net::sockopt::socket_peercred(stream)?.uid.as_raw())
}

/// The uid of the process listening on the other end of `stream`.
///
/// Without `SO_PEERCRED` (macOS, the BSDs) the blocking client, which may
/// not use unsafe code to call `getpeereid`, trusts the socket file instead:
/// its owner is whoever bound it, and only when the file's directory passes
/// [`check_dir`]'s rule for shared directories can nobody else have put it
/// there. Written for those systems, not run on them here.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn server_uid_of_path(path: &Path) -> io::Result<u32> {
    use std::os::unix::fs::MetadataExt as _;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::path::absolute(dir)?;
    paths::check_dir(&dir, own_uid(), Sharing::Shared, &mut RealFs)
        .or_else(|e| match e {
            // A system agent's directory is root's.
            Untrusted::Owner { owner: 0, .. } => Ok(dir.clone()),
            other => Err(other),
        })
        .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e.to_string()))?;
    Ok(std::fs::symlink_metadata(path)?.uid())
}

/// Checks the default socket's directory before connecting, if `path` is
/// the default location ([`socket::default_location`]). A missing directory
/// means no agent runs there.
pub(crate) fn check_default_dir(path: &Path) -> Result<(), Error> {
    let Ok(default) = socket::default_location() else {
        return Ok(());
    };
    if default != path {
        return Ok(());
    }
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    match paths::check_dir(dir, own_uid(), Sharing::Private, &mut RealFs) {
        Ok(_) => Ok(()),
        Err(Untrusted::Missing { path: missing }) => Err(Error::NotRunning {
            path: path.to_owned(),
            source: io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} does not exist", missing.display()),
            ),
        }),
        Err(problem) => Err(Error::UnsafeSocketDir {
            path: path.to_owned(),
            reason: format!("{problem}: {}", problem.advice()),
        }),
    }
}

/// `lstat` and `readlink` on the real file system.
pub(crate) struct RealFs;

impl Lookup for RealFs {
    fn lstat(&mut self, path: &Path) -> io::Result<Node> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::symlink_metadata(path)?;
        let t = m.file_type();
        let kind = if t.is_dir() {
            NodeKind::Directory
        } else if t.is_symlink() {
            NodeKind::Symlink
        } else {
            NodeKind::Other
        };
        Ok(Node {
            kind,
            uid: m.uid(),
            mode: m.mode() & 0o7777,
        })
    }

    fn read_link(&mut self, path: &Path) -> io::Result<PathBuf> {
        std::fs::read_link(path)
    }
}
