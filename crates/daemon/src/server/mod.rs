//! Layer 5: the server: sockets and connections.
//!
//! **Owns**: the one accept loop over a transport (`accept`: a Unix socket
//! bound by signetd (`unix`, its directory checked by `socket_dir`) or
//! passed by systemd (`activation`), or the Windows named pipe (`pipe`));
//! refused connections, told why (`refusal`); the per-core connection
//! workers (`workers`); one session per connection, framing and the frame
//! deadline (`session`); the idle sweeper (`idle`). **Must not**: decide
//! what a request may do (that is `dispatch`) or keep agent state.

pub mod accept;
#[cfg(unix)]
pub mod activation;
pub mod idle;
#[cfg(windows)]
pub mod pipe;
#[cfg(unix)]
pub mod refusal;
pub mod session;
#[cfg(unix)]
pub mod socket_dir;
#[cfg(unix)]
pub mod unix;
#[cfg(unix)]
pub mod workers;
