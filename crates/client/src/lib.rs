//! # signet-client
//!
//! Talks to `signetd`, signet's local Ed25519 credential agent, over its
//! socket: list keys, sign data and Encord HTTP requests, add and remove keys,
//! lock, unlock and stop the agent.
//!
//! **Owns**: the client side of the socket: connecting (the socket path
//! rule, [`Client::socket_path`]), checking who serves it before sending a
//! byte (the server's uid from `SO_PEERCRED` must be this process's own or
//! root; the default socket's directory must pass `signetd`'s check), framing requests and replies with
//! [`signet_proto`], the protocol-version handshake, and turning the agent's
//! answers into typed values and one [`Error`] type whose messages say what to
//! do.
//!
//! **Must not**: hold private keys beyond passing them to
//! [`Client::add_ed25519`] (the request buffer is zeroed once sent), sign
//! anything itself, or depend on the daemon crate. Signing happens in the
//! agent.
//!
//! Keys at rest in the OS keyring are managed through the agent too
//! ([`Client::generate`], [`Client::import_ed25519`], [`Client::stored_keys`],
//! [`Client::load_stored`], [`Client::unload_stored`], [`Client::delete_stored`],
//! [`Client::rename_stored`], [`Client::doctor`], [`Client::store_info`]): the
//! agent does all keyring I/O; the client only asks.
//!
//! ## A sans-IO core and two transports
//!
//! [`op`] holds one [`op::Op`] per operation: how its request is encoded
//! (extensions through `signet-proto`'s typed
//! [`Extension`](signet_proto::extension::Extension)) and how its reply is
//! read, with no I/O. The clients are transports over it: connect and check
//! who serves the socket, write, read exactly one reply frame, time out,
//! reconnect once. Every public method is one [`Client::run`] of an op.
//!
//! Blocking and std-only by default: a [`std::os::unix::net::UnixStream`] on
//! Unix. On Windows a `cfg(windows)` branch opens the named pipe
//! `\\.\pipe\signet-agent` (or `$SIGNET_AUTH_SOCK`) with
//! [`std::fs::OpenOptions`]; that branch is written but only compiled on
//! Windows, which signet's CI does not build yet. The `tokio` feature adds
//! `AsyncClient` (Unix only) with the same operations, over the same ops.
//!
//! ## Example: sign an Encord request
//!
//! ```no_run
//! use signet_client::{Client, Scheme};
//!
//! # fn main() -> Result<(), signet_client::Error> {
//! let mut agent = Client::connect()?;
//! let body = br#"{"title":"x"}"#;
//! let headers = agent.sign_request_body(
//!     None, // the only loaded key
//!     Scheme::EncordV2,
//!     "POST",
//!     "https://api.encord.com/v2/public/projects",
//!     body,
//! )?;
//! for (name, value) in headers.iter() {
//!     println!("{name}: {value}");
//! }
//! # Ok(()) }
//! ```

#[cfg(all(feature = "tokio", unix))]
mod async_client;
mod blocking;
mod error;
mod http;
mod keys;
pub mod op;
mod socket;
mod transport;
#[cfg(unix)]
mod trust;

#[cfg(all(feature = "tokio", unix))]
pub use async_client::AsyncClient;
pub use blocking::Client;
pub use error::{Error, Result};
pub use http::{sha256, sha256_reader, Header, SignedHeaders, HASH_BUFFER_LEN};
pub use keys::{CertificateInfo, KeyInfo, Signature};
pub use op::{Diagnosis, ExpiredKey, Explain};
pub use signet_proto::encord::Scheme;
pub use signet_proto::extension::{
    AuditInfo, ErrorCode, ExplainReply, Status, VersionReply, PROTOCOL_VERSION,
};
pub use signet_proto::keystore::{DoctorReport, StoreInfo, StoredKey, UnlockStoreReply};
pub use signet_proto::secret::{AddSecretRequest, Released, SecretInfo, SecretKind, SecretValue};
pub use signet_proto::{Ed25519Seed, Identity, Passphrase};
pub use socket::DEFAULT_PIPE;

#[cfg(test)]
mod tests;

/// The README's Rust example, compiled as a doc test (`cargo test --doc`) so
/// that it keeps matching this API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
