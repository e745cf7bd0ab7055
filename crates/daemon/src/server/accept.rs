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

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::{error, warn};

use crate::access::peer::Peer;
use crate::agent::Agent;
use crate::server::idle::{self, IdleWatch};

/// What a transport's session needs besides its connection.
pub(crate) struct Served {
    /// The agent.
    pub agent: Arc<Agent>,
    /// The idle watch the session registers with.
    pub idle: Arc<IdleWatch>,
    /// The connection's slot, released when the session ends.
    pub permit: OwnedSemaphorePermit,
}

/// A listening endpoint.
pub(crate) trait Transport {
    /// An accepted connection, before its peer is checked.
    type Conn;

    /// Waits for the next connection.
    fn accept(&mut self) -> impl Future<Output = std::io::Result<Self::Conn>>;

    /// The connection's peer if it may use the agent; `None` when it was
    /// refused (the transport has answered or closed it).
    fn admit(&mut self, conn: Self::Conn) -> Option<(Self::Conn, Peer)>;

    /// Starts the connection's session, tracked by `tracker`.
    fn spawn(&self, conn: Self::Conn, peer: Peer, served: Served, tracker: &TaskTracker);
}

/// Accepts connections on `transport` until shutdown, then waits up to
/// `grace` for the connections in flight.
pub(crate) async fn run<T: Transport>(
    mut transport: T,
    agent: Arc<Agent>,
    max_connections: usize,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
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
        let Some((conn, peer)) = transport.admit(conn) else {
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            warn!(%peer, "refused connection: {max_connections} connections already open (agent.max_connections)");
            continue;
        };
        let served = Served {
            agent: agent.clone(),
            idle: idle.clone(),
            permit,
        };
        transport.spawn(conn, peer, served, &tracker);
    }
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        warn!(
            "{} connections still open after {grace:?}; closing them",
            tracker.len()
        );
    }
}
