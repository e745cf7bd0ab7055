//! The server loop: the socket and its directory (`socket_dir`), connections
//! (a refused one gets one reply saying why: `refusal`), workers, idle
//! connections.

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
