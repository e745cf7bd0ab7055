//! Layer 2: keys at rest.
//!
//! **Owns**: the vault (`vault`: the index and the keyring kept consistent
//! across crashes, names, `doctor`), the index file (`index`), the readers
//! of configured key files and systemd credentials (`sources`), the
//! backends behind one trait (`backend`: the kernel keyring, the keyring
//! crates' stores, an in-memory one for tests) and choosing one (`open`).
//! **Must not**: hold loaded keys (that is the agent's key table), fall
//! back to a plaintext file, or import another layer-2 module. Every call
//! here blocks.

pub mod backend;
pub mod index;
pub mod open;
#[cfg(unix)]
pub mod pkcs11;
pub mod seal;
#[cfg(unix)]
pub mod sources;
pub mod vault;
