//! The one accept loop, over a transport: a Unix socket (bound by signetd or
//! passed by systemd) or, on Windows, a named pipe.
//!
//! Accept, check the peer, take a connection slot, hand the connection to
//! its session; back off on accept errors; at shutdown stop accepting and
//! give the sessions in flight `grace` to finish. What differs between
//! transports (how a connection's peer is known, what a refused one gets,
//! where its session runs) is the [`Transport`]'s.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;
use tracing::{error, warn};

use crate::access::peer::Client;
use crate::agent::Agent;
use crate::server::idle::{self, Full, IdleWatch, Limits, Registration};

/// What a transport's session needs besides its connection.
pub(crate) struct Served {
    /// The agent.
    pub agent: Arc<Agent>,
    /// The idle watch the session is registered with.
    pub idle: Arc<IdleWatch>,
    /// The connection's place in it, released when the session ends.
    pub registration: Registration,
}

/// A listening endpoint.
pub(crate) trait Transport {
    /// An accepted connection, before its peer is checked.
    type Conn;

    /// Waits for the next connection.
    fn accept(&mut self) -> impl Future<Output = std::io::Result<Self::Conn>>;

    /// The connection's peer, its process pinned, if it may use the agent;
    /// `None` when it was refused (the transport has answered or closed it).
    fn admit(&mut self, conn: Self::Conn) -> Option<(Self::Conn, Client)>;

    /// Starts the connection's session, tracked by `tracker`.
    fn spawn(&self, conn: Self::Conn, client: Client, served: Served, tracker: &TaskTracker);
}

/// Accepts connections on `transport` until shutdown, then waits up to
/// `grace` for the connections in flight. At most `max_connections` are
/// open, and at most `[agent] max_connections_per_uid` of one uid (read
/// at start-up): see `idle` for who makes room.
pub(crate) async fn run<T: Transport>(
    mut transport: T,
    agent: Arc<Agent>,
    max_connections: usize,
    grace: Duration,
) {
    let limits = Limits {
        total: max_connections,
        per_uid: agent
            .config()
            .agent
            .max_connections_per_uid
            .min(max_connections),
    };
    let tracker = TaskTracker::new();
    let idle = Arc::new(IdleWatch::default());
    tokio::spawn(idle::sweep(idle.clone(), agent.clone()));
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            _ = agent.shutdown.cancelled() => break,
            r = transport.accept() => r,
        };
        let conn = match accepted {
            Ok(conn) => {
                backoff = Duration::ZERO;
                conn
            }
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                error!("accept failed: {e}; retrying in {backoff:?}");
                tokio::select! {
                    _ = agent.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let Some((conn, client)) = transport.admit(conn) else {
            continue;
        };
        let registration = match idle.admit(client.peer.uid, limits) {
            Ok(r) => r,
            Err(Full::Uid(n)) => {
                warn!(peer = %client, "refused connection: uid {} has {n} connections open, all busy (agent.max_connections_per_uid)", client.peer.uid);
                continue;
            }
            Err(Full::Total(n)) => {
                warn!(peer = %client, "refused connection: {n} connections already open, all busy (agent.max_connections)");
                continue;
            }
        };
        let served = Served {
            agent: agent.clone(),
            idle: idle.clone(),
            registration,
        };
        transport.spawn(conn, client, served, &tracker);
    }
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        warn!(
            "{} connections still open after {grace:?}; closing them",
            tracker.len()
        );
    }
}
