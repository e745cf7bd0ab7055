//! Layer 4: one request in, exactly one reply out.
//!
//! **Owns**: decoding a request once ([`Request`], and for extensions the
//! typed [`Extension`]), the gate every request passes before any handler
//! runs (`admit`, below), one handler per request family (one file each:
//! [`identities`], [`lock`], [`sign`], [`info`], [`explain`], [`store`]),
//! and the wire's failure replies: this is the only layer that knows error
//! codes. **Must not**: read sockets or frames (that is `server`), or keep
//! state of its own (the state is the `agent`'s).
//!
//! Handlers return `Result`; [`handle`] turns an error into
//! `SSH_AGENT_FAILURE` (or, for signet's extensions,
//! `SSH_AGENT_EXTENSION_FAILURE` with a code and a reason for the user) and
//! logs why. Nothing here closes a connection: only framing errors do, in
//! the server's session.

mod explain;
mod identities;
mod info;
mod lock;
mod sign;
mod store;

use signet_proto::extension::{ErrorCode, Extension, ExtensionError};
use signet_proto::message::encode_status;
use signet_proto::{AddIdentity, Passphrase, Request, Response, SignRequest};
use tracing::debug;

use crate::access::peer::Peer;
use crate::agent::stored::LoadError;
use crate::agent::{Agent, KeyError};
use crate::store::vault::VaultError;

/// A request as the gate and the handlers see it: the agent protocol's
/// messages, with signet's extensions decoded.
pub(crate) enum Op<'a> {
    /// `SSH_AGENTC_REQUEST_IDENTITIES`.
    Identities,
    /// `SSH_AGENTC_SIGN_REQUEST`.
    Sign(SignRequest<'a>),
    /// `SSH_AGENTC_ADD_IDENTITY` / `ADD_ID_CONSTRAINED`.
    Add(AddIdentity),
    /// `SSH_AGENTC_REMOVE_IDENTITY`.
    Remove {
        /// The key's public blob.
        key_blob: &'a [u8],
    },
    /// `SSH_AGENTC_REMOVE_ALL_IDENTITIES`.
    RemoveAll,
    /// `SSH_AGENTC_LOCK`.
    Lock(Passphrase),
    /// `SSH_AGENTC_UNLOCK`.
    Unlock(Passphrase),
    /// `SSH_AGENTC_EXTENSION`, decoded.
    Extension(Extension<'a>),
    /// A message type signetd does not implement.
    Unsupported {
        /// Its type byte.
        msg_type: u8,
    },
}

impl<'a> Op<'a> {
    /// Decodes a message body, extension contents included.
    fn decode(body: &'a [u8]) -> Result<Self, Failure> {
        let msg_type = body.first().copied().unwrap_or(0);
        let req = Request::decode(body)
            .map_err(|e| Failure::plain(format!("malformed message (type {msg_type}): {e}")))?;
        Ok(match req {
            Request::RequestIdentities => Op::Identities,
            Request::Sign(s) => Op::Sign(s),
            Request::AddIdentity(a) => Op::Add(a),
            Request::RemoveIdentity { key_blob } => Op::Remove { key_blob },
            Request::RemoveAllIdentities => Op::RemoveAll,
            Request::Lock(p) => Op::Lock(p),
            Request::Unlock(p) => Op::Unlock(p),
            Request::Extension { name, contents } => {
                Op::Extension(Extension::decode(name, contents).map_err(|e| {
                    Failure::Ext(ExtensionError::new(
                        ErrorCode::BadRequest,
                        format!("malformed {name} request: {e}"),
                    ))
                })?)
            }
            Request::Unsupported { msg_type } => Op::Unsupported { msg_type },
        })
    }
}

/// Why a request failed. `Plain` becomes `SSH_AGENT_FAILURE`; `Ext` becomes
/// `SSH_AGENT_EXTENSION_FAILURE` with a reason the client can show.
pub(crate) enum Failure {
    Plain(String),
    Ext(ExtensionError),
}

impl Failure {
    fn plain(why: impl Into<String>) -> Self {
        Failure::Plain(why.into())
    }
}

impl From<ExtensionError> for Failure {
    fn from(e: ExtensionError) -> Self {
        Failure::Ext(e)
    }
}

type Outcome = Result<(), Failure>;

/// Handles one message body and appends exactly one reply frame to `out`.
pub async fn handle(agent: &Agent, body: &[u8], peer: &Peer, out: &mut Vec<u8>) {
    let msg_type = body.first().copied().unwrap_or(0);
    let outcome = match Op::decode(body) {
        Ok(op) => run(agent, op, peer, out).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {}
        Err(Failure::Plain(why)) => {
            debug!(%peer, msg_type, "request failed: {why}");
            encode_status(out, false);
        }
        Err(Failure::Ext(err)) => {
            debug!(%peer, msg_type, code = err.code.to_u32(), "extension failed: {}", err.reason);
            let mut contents = Vec::new();
            err.encode(&mut contents);
            Response::ExtensionFailure(contents).encode_frame(out);
        }
    }
}

/// The gate, then the one handler for `op`.
async fn run(agent: &Agent, op: Op<'_>, peer: &Peer, out: &mut Vec<u8>) -> Outcome {
    let admitted = admit(agent, &op)?;
    match op {
        Op::Identities => identities::list(agent, admitted, out),
        Op::Sign(req) => sign::ssh(agent, req, peer, out).await,
        Op::Add(add) => identities::add(agent, add, peer, out),
        Op::Remove { key_blob } => identities::remove(agent, key_blob, peer, out),
        Op::RemoveAll => identities::remove_all(agent, peer, out),
        Op::Lock(p) => lock::lock(agent, p, peer, out).await,
        Op::Unlock(p) => lock::unlock(agent, p, peer, out).await,
        Op::Extension(ext) => {
            let name = ext.name();
            let mut reply = Vec::new();
            extension(agent, ext, admitted, peer, &mut reply).await?;
            Response::ExtensionResponse {
                name: name.to_owned(),
                contents: reply,
            }
            .encode_frame(out);
            Ok(())
        }
        Op::Unsupported { msg_type } => Err(Failure::plain(format!(
            "message type {msg_type} is not supported by signetd"
        ))),
    }
}

/// Every extension's handler: a total match, so a new extension in
/// `signet-proto` does not compile until it has one.
async fn extension(
    agent: &Agent,
    ext: Extension<'_>,
    admitted: Admitted,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> Outcome {
    match ext {
        Extension::Query => info::query(reply),
        Extension::Version => info::version(reply),
        Extension::Status => info::status(agent, admitted, reply),
        Extension::List => info::list(agent, admitted, reply),
        Extension::Stop => info::stop(agent, peer),
        Extension::Explain(req) => explain::explain(agent, req, peer, reply)?,
        Extension::SignRequest(req) => sign::http(agent, req, peer, reply).await?,
        Extension::Store => store::info(agent, reply).await?,
        Extension::Stored => store::stored(agent, admitted, reply).await?,
        Extension::Generate(req) => store::generate(agent, req, peer, reply).await?,
        Extension::Import(req) => store::import(agent, req, peer, reply).await?,
        Extension::Load(sel) => store::load(agent, sel, peer, reply).await?,
        Extension::Unload(sel) => store::unload(agent, sel, admitted, peer, reply).await?,
        Extension::Delete { selector } => store::delete(agent, selector, peer, reply).await?,
        Extension::Rename { selector, to } => {
            store::rename(agent, selector, to, admitted, peer, reply).await?
        }
        Extension::Doctor { fix } => store::doctor(agent, fix, peer, reply).await?,
        Extension::Unknown { name, .. } => {
            return Err(Failure::plain(format!("unknown extension {name:?}")))
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The gate: what every decoded request passes before its handler runs.
//
// One function (`admit`) decides, from the operation and the agent's
// state, whether a handler may run, as OpenSSH's `process_message` decides
// in one place what a locked agent answers. Today it decides the lock; the
// per-key decision (rule, idle timeout, rate limit, confirm) is made by the
// one signing pipeline in `sign.rs` once the key is known. Handlers do the
// work and check no permission themselves.
//
// While locked (as before the gate existed): signing, adding and removing
// keys, and the key-store operations generate, import, load and delete are
// refused, and so are `explain@signet` and
// `sign-request@signet`; the identities list, `status@signet`,
// `list@signet` and `stored@signet` answer without key information
// (`Admitted::locked`); the rest answers as usual.

/// What the gate tells the handler it admitted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admitted {
    /// The agent was locked when the request was admitted: show no key
    /// information.
    pub locked: bool,
}

/// How the gate treats an operation while the agent is locked.
enum WhileLocked {
    /// Refused with the plain `SSH_AGENT_FAILURE` (agent protocol messages).
    Refuse,
    /// Refused with the `locked` extension failure.
    RefuseExtension,
    /// Answered (without key information where it has any).
    Answer,
}

/// The lock table: one line per operation, checked by the compiler to be
/// complete.
fn while_locked(op: &Op<'_>) -> WhileLocked {
    use WhileLocked::{Answer, Refuse, RefuseExtension};
    match op {
        Op::Sign(_) | Op::Add(_) | Op::Remove { .. } | Op::RemoveAll => Refuse,
        // LOCK on a locked agent is the handler's "already locked".
        Op::Identities | Op::Lock(_) | Op::Unlock(_) | Op::Unsupported { .. } => Answer,
        Op::Extension(ext) => match ext {
            Extension::Explain(_)
            | Extension::SignRequest(_)
            | Extension::Generate(_)
            | Extension::Import(_)
            | Extension::Load(_)
            | Extension::Delete { .. } => RefuseExtension,
            Extension::Query
            | Extension::Version
            | Extension::Status
            | Extension::List
            | Extension::Stop
            | Extension::Stored
            | Extension::Unload(_)
            | Extension::Rename { .. }
            | Extension::Doctor { .. }
            | Extension::Store
            | Extension::Unknown { .. } => Answer,
        },
    }
}

/// Admits `op`, or refuses it with the reply the client gets.
fn admit(agent: &Agent, op: &Op<'_>) -> Result<Admitted, Failure> {
    let locked = agent.lock.is_locked();
    if locked {
        match while_locked(op) {
            WhileLocked::Refuse => return Err(Failure::plain("the agent is locked")),
            WhileLocked::RefuseExtension => return Err(Failure::Ext(locked_error())),
            WhileLocked::Answer => {}
        }
    }
    Ok(Admitted { locked })
}

/// The extension failure for a locked agent.
fn locked_error() -> ExtensionError {
    ExtensionError::new(
        ErrorCode::Locked,
        "the agent is locked: unlock it with `signet unlock`",
    )
}

/// A key selection failure as the client should see it.
fn key_error(e: &KeyError) -> ExtensionError {
    match e {
        KeyError::Ambiguous(_) => ExtensionError::new(ErrorCode::AmbiguousKey, e.to_string()),
        KeyError::NotFound(sel) if sel.is_empty() => ExtensionError::new(
            ErrorCode::NoSuchKey,
            "no key is loaded: load one with `signet add` or `signet load`",
        ),
        KeyError::NotFound(sel) => ExtensionError::new(
            ErrorCode::NoSuchKey,
            format!("key {sel:?} is not loaded: `signet list` shows the loaded keys"),
        ),
        KeyError::PublicMismatch | KeyError::Memory(_) => {
            ExtensionError::new(ErrorCode::Internal, e.to_string())
        }
    }
}

/// A key-store failure as the client should see it.
fn vault_error(e: &VaultError) -> ExtensionError {
    let code = match e {
        VaultError::NoSuchKey(_) => ErrorCode::NoSuchKey,
        VaultError::Ambiguous(_) => ErrorCode::AmbiguousKey,
        VaultError::Exists(_) | VaultError::Unfinished { .. } => ErrorCode::Refused,
        VaultError::BadName(_) => ErrorCode::BadRequest,
        VaultError::Store(_)
        | VaultError::Index(_)
        | VaultError::Missing { .. }
        | VaultError::Mismatch { .. }
        | VaultError::Task(_) => ErrorCode::Internal,
    };
    ExtensionError::new(code, e.to_string())
}

/// A failure to load stored keys as the client should see it.
fn load_error(e: &LoadError) -> ExtensionError {
    match e {
        LoadError::Vault(v) => vault_error(v),
        LoadError::NothingStored => ExtensionError::new(ErrorCode::NoSuchKey, e.to_string()),
        LoadError::NoStore | LoadError::Key { .. } | LoadError::Partial { .. } => {
            ExtensionError::new(ErrorCode::Internal, e.to_string())
        }
    }
}
