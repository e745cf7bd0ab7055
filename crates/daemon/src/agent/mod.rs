//! The agent's state: the loaded keys and the lock.

pub mod keys;
pub mod lock;
