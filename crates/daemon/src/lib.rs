//! signetd's modules as a library, so that benchmarks (`crates/bench`) and
//! fuzz targets can drive the real dispatcher and key table in-process.
//!
//! The `signetd` binary (`main.rs`) is the only supported way to run the
//! agent; nothing here is a stable API. See `main.rs` for what the daemon
//! owns and what it must not do.

#[cfg(unix)]
pub mod activation;
pub mod audit;
pub mod caller;
pub mod config;
pub mod confirm;
pub mod dispatch;
pub mod hardening;
pub mod idle;
pub mod index;
pub mod keys;
pub mod keystore;
#[cfg(any(target_os = "linux", target_os = "macos", windows))]
pub mod keystore_keyring;
#[cfg(target_os = "linux")]
pub mod keystore_keyutils;
#[cfg(unix)]
pub mod listener;
pub mod lock;
#[cfg(windows)]
pub mod pipe;
pub mod policy;
pub mod ratelimit;
pub mod session;
#[cfg(unix)]
pub mod sources;
pub mod system;
pub mod vault;
pub mod vault_ext;
#[cfg(unix)]
pub mod workers;
