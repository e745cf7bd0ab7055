//! systemd integration: socket activation (`LISTEN_FDS`/`LISTEN_PID`) and
//! readiness notification (`NOTIFY_SOCKET`: `READY=1`, `RELOADING=1`,
//! `STOPPING=1`).
//!
//! Both follow sd_listen_fds(3) and sd_notify(3) without linking libsystemd.
//! The variables are read once, at start-up, before the async runtime starts
//! any thread, and removed from the environment so that no child process
//! (the confirm prompter) inherits them. A socket passed by systemd belongs
//! to systemd: signetd never removes its file.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::OnceLock;

use tracing::{debug, warn};

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

/// Why an inherited socket cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `LISTEN_FDS` is not a number.
    #[error(
        "LISTEN_FDS={0:?} is not a number of descriptors: fix the service manager's environment"
    )]
    BadCount(String),
    /// fd 3 is not open.
    #[error("LISTEN_FDS says a socket was passed, but fd 3 is not open: check the .socket unit")]
    NotOpen,
    /// fd 3 is not a listening Unix stream socket.
    #[error("the socket passed on fd 3 is not a listening Unix stream socket ({0}): use `ListenStream=/path` in the .socket unit, without Accept=yes")]
    WrongKind(String),
}

/// The listening socket systemd passed, if this process was socket-activated.
///
/// `LISTEN_PID` must equal our pid (otherwise the variables were meant for a
/// parent process and are ignored); with `LISTEN_FDS` ≥ 1, fd 3 is taken. More
/// than one socket is logged and the others are ignored.
pub fn take_listener() -> Result<Option<std::os::unix::net::UnixListener>, ActivationError> {
    let pid = std::env::var("LISTEN_PID").ok();
    let fds = std::env::var("LISTEN_FDS").ok();
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(var);
    }
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(None);
    };
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        debug!("LISTEN_PID={pid} is not this process; ignoring LISTEN_FDS");
        return Ok(None);
    }
    let count: u32 = fds
        .trim()
        .parse()
        .map_err(|_| ActivationError::BadCount(fds.clone()))?;
    if count == 0 {
        return Ok(None);
    }
    if count > 1 {
        warn!("{count} sockets passed (LISTEN_FDS); using fd 3 only");
    }
    let fd = crate::hardening::inherited_fd(LISTEN_FDS_START).ok_or(ActivationError::NotOpen)?;
    check_listening_unix_stream(&fd)?;
    let listener = std::os::unix::net::UnixListener::from(fd);
    listener
        .set_nonblocking(true)
        .map_err(|e| ActivationError::WrongKind(e.to_string()))?;
    Ok(Some(listener))
}

fn check_listening_unix_stream(fd: &OwnedFd) -> Result<(), ActivationError> {
    use rustix::net::{sockopt, AddressFamily, SocketType};
    let kind = sockopt::socket_type(fd).map_err(|e| ActivationError::WrongKind(e.to_string()))?;
    if kind != SocketType::STREAM {
        return Err(ActivationError::WrongKind(format!("type {kind:?}")));
    }
    #[cfg(target_os = "linux")]
    {
        let domain =
            sockopt::socket_domain(fd).map_err(|e| ActivationError::WrongKind(e.to_string()))?;
        if domain != AddressFamily::UNIX {
            return Err(ActivationError::WrongKind(format!("family {domain:?}")));
        }
        let listening = sockopt::socket_acceptconn(fd)
            .map_err(|e| ActivationError::WrongKind(e.to_string()))?;
        if !listening {
            return Err(ActivationError::WrongKind("not listening".to_owned()));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = AddressFamily::UNIX;
    Ok(())
}

/// Where readiness messages go: `$NOTIFY_SOCKET`, read once.
static NOTIFY: OnceLock<Option<NotifyTarget>> = OnceLock::new();

#[derive(Debug, Clone)]
enum NotifyTarget {
    Path(PathBuf),
    #[cfg(target_os = "linux")]
    Abstract(Vec<u8>),
}

/// Reads and removes `$NOTIFY_SOCKET`. Call once at start-up, before threads.
pub fn init_notify() {
    let target = std::env::var_os("NOTIFY_SOCKET")
        .filter(|s| !s.is_empty())
        .and_then(|s| {
            use std::os::unix::ffi::OsStrExt as _;
            let bytes = s.as_bytes();
            match bytes.first() {
                Some(b'/') => Some(NotifyTarget::Path(PathBuf::from(&s))),
                #[cfg(target_os = "linux")]
                Some(b'@') => Some(NotifyTarget::Abstract(bytes[1..].to_vec())),
                _ => {
                    warn!("NOTIFY_SOCKET={s:?} is neither a path nor an abstract name; readiness will not be reported");
                    None
                }
            }
        });
    std::env::remove_var("NOTIFY_SOCKET");
    let _ = NOTIFY.set(target);
}

/// Sends one sd_notify message (e.g. `"READY=1"`). Without `NOTIFY_SOCKET`
/// it does nothing; a failure is logged, never fatal.
pub fn notify(state: &str) {
    let Some(Some(target)) = NOTIFY.get() else {
        return;
    };
    let sent = UnixDatagram::unbound().and_then(|sock| match target {
        NotifyTarget::Path(p) => sock.send_to(state.as_bytes(), p),
        #[cfg(target_os = "linux")]
        NotifyTarget::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt as _;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(state.as_bytes(), &addr)
        }
    });
    match sent {
        Ok(_) => debug!("sd_notify: {}", state.replace('\n', " ")),
        Err(e) => warn!("cannot notify the service manager ({state}): {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_reaches_a_path_socket() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path)?;
        listener.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        let _ = NOTIFY.set(Some(NotifyTarget::Path(path)));
        // Another test may have set the target first; only check when ours won.
        if let Some(Some(NotifyTarget::Path(p))) = NOTIFY.get() {
            if p.starts_with(dir.path()) {
                notify("READY=1");
                let mut buf = [0u8; 64];
                let n = listener.recv(&mut buf)?;
                assert_eq!(&buf[..n], b"READY=1");
            }
        }
        Ok(())
    }
}
