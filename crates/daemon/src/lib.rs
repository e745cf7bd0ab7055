//! signetd's modules as a library, so that benchmarks (`crates/bench`) and
//! fuzz targets can drive the real dispatcher and key table in-process.
//!
//! The `signetd` binary (`main.rs`) is the only supported way to run the
//! agent; nothing here is a stable API. See `main.rs` for what the daemon
//! owns and what it must not do.

pub mod access;
pub mod agent;
pub mod audit;
pub mod clock;
pub mod config;
pub mod confirm;
pub mod dispatch;
pub mod hardening;
pub mod policy;
pub mod server;
pub mod startup;
pub mod store;

pub use access::peer::Peer;
pub use agent::{Agent, LoadedKey, Origin};
pub use config::{parse as parse_config, Config};
pub use dispatch::handle;
