//! # signet-proto
//!
//! The wire contract between `signetd` and its clients, and nothing else.
//!
//! **Owns**: the SSH agent protocol messages signet speaks (RFC 9987, formerly
//! draft-miller-ssh-agent) as plain types with encode/decode, the framing limit
//! ([`MAX_FRAME_LEN`]), signet's own `NAME@signet` extension payloads, the
//! construction of Encord request signature bases (v1 and RFC 9421 v2), the
//! socket path rule and the socket-directory trust rule every party applies
//! ([`paths`]; the caller does the `lstat`s), which environment variables may
//! hold a secret ([`environ`]), what a raw SSH signature request signs (an SSH
//! login, SSHSIG data or anything else: [`sshdata`]), and the error type for
//! all of it.
//!
//! **Must not**: do I/O (no sockets, files, clocks or tokio), hold or use private
//! keys (it carries secret bytes from a decoded `ADD_IDENTITY` or `LOCK` to the
//! daemon in zeroize-on-drop types, never anything more), or depend on the daemon.
//!
//! Decoding borrows from the frame buffer wherever it can, so the hot path
//! (`SIGN_REQUEST` → `SIGN_RESPONSE`) allocates nothing here. Agent messages use a
//! small hand-written reader ([`wire`]) instead of `ssh-encoding` for exactly that
//! reason: zero-copy borrows of key blobs and data to be signed.

pub mod audit;
pub mod duration;
pub mod encord;
pub mod environ;
mod error;
pub mod extension;
pub mod frame;
pub mod index;
pub mod key;
pub mod keystore;
pub mod message;
pub mod paths;
pub mod secret;
pub mod sshdata;
pub mod text;
pub mod wire;

pub use error::{Error, Result};
pub use frame::MAX_FRAME_LEN;
pub use message::{
    AddIdentity, Constraint, Ed25519Seed, Identity, NewKey, Passphrase, Request, Response,
    SignRequest, SmartcardRequest,
};
