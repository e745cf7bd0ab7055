//! Keys at rest: the key store backends, the index, and key sources.

pub mod backend;
pub mod index;
pub mod open;
#[cfg(unix)]
pub mod sources;
pub mod vault;
