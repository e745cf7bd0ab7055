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

use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};
use tokio_util::task::TaskTracker;

use crate::access::peer::{Client, Peer};
use crate::agent::Agent;
use crate::server::accept::{self, Served, Transport};
use crate::server::session;

/// The default pipe name.
pub const DEFAULT_PIPE: &str = r"\\.\pipe\signet-agent";

/// The named pipe as a transport: a new pipe instance is created for the
/// next client as soon as one connects; every peer is served (the pipe's
/// DACL is the access check), on this runtime.
struct Pipe {
    name: String,
    server: NamedPipeServer,
}

impl Transport for Pipe {
    type Conn = NamedPipeServer;

    async fn accept(&mut self) -> std::io::Result<NamedPipeServer> {
        self.server.connect().await?;
        let next = ServerOptions::new()
            .reject_remote_clients(true)
            .create(&self.name)?;
        Ok(std::mem::replace(&mut self.server, next))
    }

    fn admit(&mut self, conn: NamedPipeServer) -> Option<(NamedPipeServer, Client)> {
        let peer = Peer {
            uid: 0,
            gid: 0,
            pid: None,
        };
        Some((conn, Client::unpinned(peer)))
    }

    fn spawn(&self, conn: NamedPipeServer, client: Client, served: Served, tracker: &TaskTracker) {
        tracker.spawn(session::serve(
            conn,
            client,
            served.agent,
            served.idle,
            served.registration,
        ));
    }
}

/// Serves the pipe until shutdown (the one accept loop, `accept::run`).
pub async fn run(
    name: &str,
    agent: Arc<Agent>,
    max_connections: usize,
    grace: Duration,
) -> std::io::Result<()> {
    let server = ServerOptions::new()
        .first_pipe_instance(true)
        .reject_remote_clients(true)
        .create(name)?;
    let pipe = Pipe {
        name: name.to_owned(),
        server,
    };
    accept::run(pipe, agent, max_connections, grace).await;
    Ok(())
}
