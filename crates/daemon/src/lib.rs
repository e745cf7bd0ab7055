//! # signetd
//!
//! The signet agent daemon. **Owns** the socket, every connection to it, and
//! every private key signet holds in memory; it is the only crate that does
//! either. It speaks the SSH agent protocol (RFC 9987) plus signet's
//! `NAME@signet` extensions, defined in `signet-proto`.
//!
//! **Must not**: write a private key or passphrase anywhere (disk, logs,
//! error messages, child processes' arguments or environment), log a request
//! with `{:?}`, or let one client's bad input affect another client.
//!
//! The `signetd` binary (`main.rs`: arguments, logging, the runtime) is the
//! only supported way to run the agent. This library exists so that the
//! binary, the benchmarks (`crates/bench`), the fuzz targets (`fuzz/`) and
//! the tests can drive the real dispatcher and key table in-process; it
//! exports only what they use, and none of it is a stable API.
//!
//! ## The layers
//!
//! Each question has one room, and imports point down only (a module may
//! use its own layer's and lower layers' modules; the layer-2 modules do
//! not use each other). `tests/layers.rs` parses every `crate::` path and
//! fails on an upward one. The picture and the path of a sign request are
//! in `docs/architecture.md`.
//!
//! | layer | module | owns |
//! |---|---|---|
//! | 0 | `config/` | the configuration file as plain data: every section's type, reading and checking it |
//! | 0 | `clock` | the wall clock seam (`created`, audit and index times); RFC 3339 |
//! | 0 | `hardening` | no ptrace, no core dumps, locked key memory (the only `unsafe`) |
//! | 0 | `sshkey` | other parties' OpenSSH public keys (ssh-key): users' certificates, host keys, their signatures checked |
//! | 1 | `access/` | who is calling: SO_PEERCRED, caller facts from `/proc`, user and group databases, the allow-list, roles (admin, signer) |
//! | 2 | `policy/` | rules, rate limits, globs; the decision as a value, without side effects |
//! | 2 | `store/` | keys at rest: the vault (index + keyring, crash-safe), the index file, key-source readers, `backend/` (keyutils, keyring crates, memory), choosing one |
//! | 2 | `audit/` | the hash-chained audit log and its writer thread |
//! | 2 | `confirm` | asking the user (askpass) |
//! | 3 | `agent/` | the shared state: key table, lock, configuration and rules in force, rate-limit buckets, store and audit handles, the one reaper, loading stored keys |
//! | 4 | `dispatch/` | one request in, one reply out: decoding (typed extensions), the gate (lock, role, key, rule, rate, confirm: every request, before any handler), one file per request family, the one signing pipeline; the only place that knows wire error codes |
//! | 5 | `server/` | sockets (Unix, socket activation, Windows pipe), the accept loop, per-core workers, sessions and framing, the idle sweeper, refusals |
//! | 6 | [`startup`] | the boot sequence: configuration, audit log, socket, signals, key store, configured key sources, shutdown |
//!
//! Exit codes of the binary: 0 clean shutdown; 1 error (configuration,
//! socket, runtime); 2 usage; 3 another agent already answers on the socket.

mod access;
mod agent;
mod audit;
mod clock;
mod config;
mod confirm;
mod dispatch;
pub mod hardening;
mod policy;
mod server;
mod sshkey;
pub mod startup;
mod store;

pub use access::peer::Peer;
pub use agent::{Agent, LoadedKey, Origin};
pub use config::{parse as parse_config, Config};
pub use dispatch::handle;
pub use server::refusal::frame as refusal_frame;

/// Gives `agent` a key store that lives in memory, its index at `index`,
/// for the fuzz targets and in-process tests: `load@signet` and the other
/// key-store extensions then reach their handlers (the daemon itself never
/// uses it; no configuration can choose it).
pub fn use_memory_store(agent: &Agent, index: std::path::PathBuf) {
    let store = std::sync::Arc::new(store::backend::memory::MemoryStore::default());
    agent.set_vault(std::sync::Arc::new(store::vault::Vault::with_store(
        store, index,
    )));
}
