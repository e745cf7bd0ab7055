//! Windows: the agent on a named pipe (`\\.\pipe\signet-agent`, or the
//! `--socket` / `SIGNET_AUTH_SOCK` value when it names a pipe).
//!
//! **Not built or tested on Linux CI** (it compiles only on Windows); the
//! README says so. Access: the pipe is created with `first_pipe_instance`
//! (a second daemon fails: "already running") and `reject_remote_clients`;
//! its default DACL gives write access only to the creating user,
//! LocalSystem and Administrators, the Windows analogue of "owner or root".
//! The per-connection SID check that mirrors SO_PEERCRED needs
//! `GetNamedPipeClientProcessId` and token queries through `windows-sys`,
//! which means `unsafe`: it belongs in the hardening module and is not
//! written yet.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::windows::named_pipe::ServerOptions;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tracing::{error, warn};

use crate::access::peer::Peer;
use crate::agent::Agent;
use crate::server::idle::{self, IdleWatch};
use crate::server::session;

/// The default pipe name.
pub const DEFAULT_PIPE: &str = r"\\.\pipe\signet-agent";

/// Serves the pipe until shutdown.
pub async fn run(
    name: &str,
    agent: Arc<Agent>,
    max_connections: usize,
    grace: Duration,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(max_connections));
    let tracker = TaskTracker::new();
    let mut server = ServerOptions::new()
        .first_pipe_instance(true)
        .reject_remote_clients(true)
        .create(name)?;
    let idle = Arc::new(IdleWatch::default());
    tokio::spawn(idle::sweep(idle.clone(), agent.clone()));
    loop {
        tokio::select! {
            _ = agent.shutdown.cancelled() => break,
            r = server.connect() => {
                if let Err(e) = r {
                    error!("pipe connect failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        let connected = server;
        server = ServerOptions::new()
            .reject_remote_clients(true)
            .create(name)?;
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            warn!("refused connection: {max_connections} connections already open");
            continue;
        };
        let peer = Peer {
            uid: 0,
            gid: 0,
            pid: None,
        };
        tracker.spawn(session::serve(
            connected,
            peer,
            agent.clone(),
            idle.clone(),
            permit,
        ));
    }
    tracker.close();
    let _ = tokio::time::timeout(grace, tracker.wait()).await;
    Ok(())
}
