//! The socket: creating it safely, accepting connections, checking peers.
//!
//! The socket's directory is checked (and made, 0700, when missing) by
//! [`crate::server::socket_dir`] before anything is bound in it, and the socket is
//! bound under umask 0177, so it is never accessible to others even for an
//! instant (no chmod after bind). A socket file nobody answers on is stale and replaced; one
//! that answers means another agent runs there, and start-up stops. Every
//! accepted connection's peer uid is checked (SO_PEERCRED): only the
//! daemon's own uid and root may talk to it (in system mode, the allow-list);
//! a refused peer gets one reply saying why ([`crate::server::refusal`]). A semaphore caps concurrent
//! connections; past the cap a new connection is closed at once and existing
//! ones are unaffected. Accept errors (e.g. out of file descriptors) back off
//! instead of ending the daemon.

use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustix::fs::Mode;
use signet_proto::paths::Sharing;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::access::accounts::{AccountsError, Databases};
use crate::access::allow::Access;
use crate::access::peer::Client;
use crate::agent::Agent;
use crate::config::{Principal, SystemConfig};
use crate::server::accept::{self, Served, Transport};
use crate::server::refusal::Refusals;
use crate::server::session;
use crate::server::workers::Workers;

/// Why the socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another agent answers on the socket.
    #[error("another agent is already running on {0} (stop it with `signet stop`, or choose another --socket)")]
    AlreadyRunning(PathBuf),
    /// A process of another user listens on the socket path.
    #[error("a process of uid {uid} (not this user, not root) listens on {}: it may be trying to intercept the agent; remove the socket (as root if need be) or choose another --socket", path.display())]
    Squatted {
        /// The socket path.
        path: PathBuf,
        /// Who serves it.
        uid: u32,
    },
    /// Anything else.
    #[error("cannot create the socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A non-socket file is in the way.
    #[error("{0} exists and is not a socket: move it away or choose another --socket")]
    NotASocket(PathBuf),
    /// The socket's directory cannot be trusted or created.
    #[error(transparent)]
    Dir(#[from] crate::server::socket_dir::DirError),
    /// The path does not fit in a socket address.
    #[error(transparent)]
    TooLong(#[from] signet_proto::paths::PathError),
    /// `[system] socket_group` names no group.
    #[error("[system] socket_group: no group {0} in /etc/group: create it (groupadd) or remove the setting")]
    SocketGroup(Principal),
    /// The group database cannot be read.
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    /// The socket cannot be given to its group.
    #[error("cannot give {} to gid {gid}: {source}", path.display())]
    Chown {
        /// The socket path.
        path: PathBuf,
        /// The group.
        gid: u32,
        /// The cause.
        source: io::Error,
    },
    /// The socket's mode cannot be set.
    #[error("cannot make {} {mode:04o}: {source}", path.display())]
    Chmod {
        /// The socket path.
        path: PathBuf,
        /// The mode.
        mode: u32,
        /// The cause.
        source: io::Error,
    },
}

/// Makes a socket signetd created itself usable by other users in system
/// mode: 0660 with `socket_group` or 0666 without. The allow-list, not these
/// bits, decides who is served. Its directory is not touched here: signetd
/// made it 0755 if it created it (`socket_dir`), and an existing one is left
/// as it was.
pub fn share(path: &Path, cfg: &SystemConfig) -> Result<(), BindError> {
    use rustix::fs::{chmod, chown, Gid};
    let mode = |mode: u32| {
        chmod(path, Mode::from_raw_mode(mode)).map_err(|e| BindError::Chmod {
            path: path.to_owned(),
            mode,
            source: e.into(),
        })
    };
    match &cfg.socket_group {
        Some(g) => {
            let gid = Databases::system()?
                .gid_of(g)
                .ok_or_else(|| BindError::SocketGroup(g.clone()))?;
            chown(path, None, Some(Gid::from_raw(gid))).map_err(|e| BindError::Chown {
                path: path.to_owned(),
                gid,
                source: e.into(),
            })?;
            mode(0o660)
        }
        None => mode(0o666),
    }
}

/// The bound socket and what is needed to remove exactly it at the end.
pub struct BoundSocket {
    /// The listener.
    pub listener: UnixListener,
    path: PathBuf,
    identity: (u64, u64),
}

impl BoundSocket {
    /// A listening socket passed by the service manager (socket activation).
    /// Its file belongs to the manager: [`BoundSocket::remove`] leaves it.
    pub fn inherited(listener: UnixListener) -> Self {
        // The credentials of who writes what (see `session`); a socket
        // that refuses SO_PASSCRED leaves requests' writers unknown, and
        // rules on callers then refuse them.
        if let Err(e) = rustix::net::sockopt::set_socket_passcred(&listener, true) {
            warn!("cannot set SO_PASSCRED on the inherited socket: {e}");
        }
        Self {
            listener,
            path: PathBuf::new(),
            identity: (0, 0),
        }
    }

    /// Removes the socket file if it is still the one this daemon created.
    pub fn remove(&self) {
        if self.path.as_os_str().is_empty() {
            return;
        }
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.identity => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    warn!("cannot remove socket {}: {e}", self.path.display());
                }
            }
            _ => {}
        }
    }
}

/// Checks (or creates) the socket's directory, then binds the socket.
/// `sharing`: whether users other than the daemon's must reach it (system
/// mode). Must run inside the tokio runtime.
pub fn bind(path: &Path, sharing: Sharing) -> Result<BoundSocket, BindError> {
    let io_err = |source| BindError::Io {
        path: path.to_owned(),
        source,
    };
    signet_proto::paths::check_len(path)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::server::socket_dir::prepare(dir, sharing)?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            use std::os::unix::fs::FileTypeExt as _;
            if !meta.file_type().is_socket() {
                return Err(BindError::NotASocket(path.to_owned()));
            }
            match StdUnixStream::connect(path) {
                Ok(other) => {
                    #[cfg(target_os = "linux")]
                    if let Ok(cred) = rustix::net::sockopt::socket_peercred(&other) {
                        let uid = cred.uid.as_raw();
                        if uid != rustix::process::geteuid().as_raw() && uid != 0 {
                            return Err(BindError::Squatted {
                                path: path.to_owned(),
                                uid,
                            });
                        }
                    }
                    drop(other);
                    return Err(BindError::AlreadyRunning(path.to_owned()));
                }
                Err(e)
                    if e.kind() == io::ErrorKind::ConnectionRefused
                        || e.kind() == io::ErrorKind::NotFound =>
                {
                    info!("replacing stale socket {}", path.display());
                    std::fs::remove_file(path).map_err(io_err)?;
                }
                Err(e) => return Err(io_err(e)),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    // umask is process-wide; nothing else creates files while we start up.
    let old = rustix::process::umask(Mode::from_raw_mode(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    rustix::process::umask(old);
    let std_listener = bound.map_err(io_err)?;
    std_listener.set_nonblocking(true).map_err(io_err)?;
    rustix::net::sockopt::set_socket_passcred(&std_listener, true).map_err(|e| io_err(e.into()))?;
    let meta = std::fs::symlink_metadata(path).map_err(io_err)?;
    let listener = UnixListener::from_std(std_listener).map_err(io_err)?;
    Ok(BoundSocket {
        listener,
        path: path.to_owned(),
        identity: (meta.dev(), meta.ino()),
    })
}

/// The Unix socket as a transport: SO_PEERCRED and the access check at
/// accept, refused peers told why, sessions on the per-core workers.
struct UnixTransport<'a> {
    listener: &'a UnixListener,
    access: Arc<Access>,
    refusals: Refusals,
    workers: Workers,
}

impl Transport for UnixTransport<'_> {
    type Conn = UnixStream;

    async fn accept(&mut self) -> io::Result<UnixStream> {
        self.listener.accept().await.map(|(stream, _)| stream)
    }

    fn admit(&mut self, stream: UnixStream) -> Option<(UnixStream, Client)> {
        // SO_PEERCRED and the pidfd, with the process's facts, right away:
        // what the connection is judged by from now on.
        // Every request's bytes will say which process wrote them (the
        // listener has SO_PASSCRED too, for bytes sent before the accept).
        if let Err(e) = rustix::net::sockopt::set_socket_passcred(&stream, true) {
            warn!("refused connection: cannot ask for its writers' credentials (SO_PASSCRED): {e}");
            return None;
        }
        let client = match Client::accepted(&stream) {
            Ok(c) => c,
            Err(e) => {
                warn!("refused connection: cannot read peer credentials: {e}");
                return None;
            }
        };
        if !self.access.allows(&client) {
            let policy = self.access.policy();
            let reason = policy.refusal(client.peer.uid);
            self.refusals
                .refuse(stream, &client, reason, &policy.describe());
            return None;
        }
        Some((stream, client))
    }

    fn spawn(&self, stream: UnixStream, client: Client, served: Served, tracker: &TaskTracker) {
        let peer = client.peer;
        // Hand the socket to a worker's own reactor (see `workers`).
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                warn!(%peer, "dropped connection: cannot hand it to a worker: {e}");
                return;
            }
        };
        let session = tracker.track_future(async move {
            match UnixStream::from_std(stream) {
                Ok(stream) => {
                    session::serve(
                        stream,
                        client,
                        served.agent,
                        served.idle,
                        served.registration,
                    )
                    .await
                }
                Err(e) => warn!(%peer, "dropped connection: {e}"),
            }
        });
        self.workers.spawn(move || session);
    }
}

/// Accepts connections on `listener` until shutdown (the one accept loop,
/// `accept::run`), then waits up to `grace` for the connections in flight.
/// `access` decides who may connect (the owner in user mode, the
/// allow-list in system mode).
pub async fn run_with(
    listener: &UnixListener,
    agent: Arc<Agent>,
    access: Arc<Access>,
    max_connections: usize,
    grace: Duration,
) {
    let workers = match Workers::start(Workers::default_count()) {
        Ok(w) => w,
        Err(e) => {
            error!("cannot start connection workers: {e}");
            agent.shutdown.cancel();
            return;
        }
    };
    let transport = UnixTransport {
        listener,
        access,
        refusals: Refusals::default(),
        workers,
    };
    accept::run(transport, agent, max_connections, grace).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn socket_is_private_and_stale_one_replaced() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sub").join("agent.sock");
        let bound = bind(&path, Sharing::Private)?;
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(path.parent().ok_or("no parent")?)?
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        assert!(matches!(
            bind(&path, Sharing::Private),
            Err(BindError::AlreadyRunning(_))
        ));
        // Dropping the listener without removing the file leaves a stale socket.
        drop(bound);
        let again = bind(&path, Sharing::Private)?;
        again.remove();
        assert!(!path.exists());
        Ok(())
    }
}
