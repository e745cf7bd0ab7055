//! Layer 4: one request in, exactly one reply out.
//!
//! **Owns**: decoding a request once into an [`Op`] (the agent protocol's
//! messages, and for extensions the typed [`Extension`], grouped by who may
//! ask: an admin's operations, reading the agent's state, signing), the
//! gate every request passes before any handler runs ([`gate`]), one
//! handler per request family (one file each: [`identities`], [`lock`],
//! [`sign`], [`info`], [`explain`], [`store`], [`secrets`]), and the wire's failure
//! replies: this is the only layer that knows error codes. **Must not**:
//! read sockets or frames (that is `server`), or keep state of its own
//! (the state is the `agent`'s).
//!
//! A handler runs only with what the gate hands it: an [`gate::AdminPermit`],
//! a [`gate::ReadPermit`] or, for a signature, a [`gate::Grant`], none of
//! which any other module can make. So no handler checks a permission, and
//! a new handler cannot forget to be gated.
//!
//! Handlers return `Result`; [`handle`] turns an error into
//! `SSH_AGENT_FAILURE` (or, for signet's extensions,
//! `SSH_AGENT_EXTENSION_FAILURE` with a code and a reason for the user) and
//! logs why. Nothing here closes a connection: only framing errors do, in
//! the server's session. No reply is larger than a frame may be
//! ([`frame::MAX_FRAME_LEN`]): one that would be is answered with a failure
//! instead.

mod explain;
mod gate;
mod identities;
mod info;
mod lock;
mod secrets;
mod sign;
mod store;

use signet_proto::extension::{
    ErrorCode, ExplainRequest, Extension, ExtensionError, SignHttpRequest,
};
use signet_proto::keystore::{
    GenerateRequest, ImportRequest, PasswdRequest, Selection, UnlockStoreRequest,
};
use signet_proto::message::{encode_status, msg};
use signet_proto::secret::AddSecretRequest;
use signet_proto::{
    frame, AddIdentity, Passphrase, Request, Response, SignRequest, SmartcardRequest,
};
use tracing::{debug, error};

use crate::access::caller::Caller;
use crate::access::peer::{Client, Peer, Writer};
use crate::agent::stored::LoadError;
use crate::agent::{AddError, Agent, KeyError};
use crate::store::vault::VaultError;

use gate::Admitted;

/// A request as the gate sees it: the agent protocol's messages and
/// signet's extensions, decoded, grouped by who may ask for them. The
/// grouping is the role table: everything in [`AdminOp`] needs an admin;
/// reading ([`ReadOp`]) and signing ([`SignOp`]) are for every caller the
/// agent serves (signers), signing then as the key's rule decides.
pub(crate) enum Op<'a> {
    /// Changes to the agent or the key store: admins only.
    Admin(AdminOp<'a>),
    /// What the agent holds and says about itself.
    Read(ReadOp<'a>),
    /// A signature.
    Sign(SignOp<'a>),
    /// `get-secret@signet`: a stored secret released to the caller, as its
    /// rule decides (a secret with no rule: admins only).
    Release {
        /// The secret's name.
        name: String,
    },
    /// A message type signetd does not implement.
    Unsupported {
        /// Its type byte.
        msg_type: u8,
    },
    /// An extension signetd does not answer (OpenSSH's
    /// `session-bind@openssh.com` among them).
    UnknownExtension {
        /// Its name.
        name: &'a str,
    },
}

/// The operations of an admin: adding, removing, locking, unlocking,
/// stopping, and every change to the key store.
pub(crate) enum AdminOp<'a> {
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
    /// `stop@signet`.
    Stop,
    /// `generate@signet`.
    Generate(GenerateRequest),
    /// `import@signet`.
    Import(ImportRequest),
    /// `load@signet`.
    Load(Selection),
    /// `unload@signet`.
    Unload(Selection),
    /// `delete@signet`.
    Delete {
        /// The stored key.
        selector: String,
    },
    /// `rename@signet`.
    Rename {
        /// The stored key.
        selector: String,
        /// Its new name.
        to: String,
    },
    /// `doctor@signet`.
    Doctor {
        /// Also drop entries whose secret is gone.
        fix: bool,
    },
    /// `reload@signet`: re-read the configuration, as SIGHUP.
    Reload,
    /// `unlock-store@signet`: unlock (or set up) a sealed key store.
    UnlockStore(UnlockStoreRequest),
    /// `lock-store@signet`: forget the unlocked store key.
    LockStore,
    /// `passwd@signet`: change a sealed key store's passphrase.
    Passwd(PasswdRequest),
    /// `secret-add@signet`.
    SecretAdd(AddSecretRequest),
    /// `secret-remove@signet`.
    SecretRemove {
        /// The secret's name.
        name: String,
    },
    /// `token-login@signet`: the `[pkcs11]` token's user PIN.
    TokenLogin(Passphrase),
    /// `SSH_AGENTC_ADD_SMARTCARD_KEY[_CONSTRAINED]` /
    /// `REMOVE_SMARTCARD_KEY` (`ssh-add -s`/`-e`): refused unless
    /// `[pkcs11] allow_ssh_add_smartcard`, and then only a PIN for the
    /// configured module; no module a client names is ever loaded.
    Smartcard(SmartcardRequest),
}

impl AdminOp<'_> {
    /// The operation's name on the wire (logs, audit records).
    pub(crate) fn name(&self) -> &'static str {
        use signet_proto::extension as ext;
        match self {
            AdminOp::Add(_) => "add-identity",
            AdminOp::Remove { .. } => "remove-identity",
            AdminOp::RemoveAll => "remove-all-identities",
            AdminOp::Lock(_) => "lock",
            AdminOp::Unlock(_) => "unlock",
            AdminOp::Stop => ext::STOP,
            AdminOp::Generate(_) => ext::GENERATE,
            AdminOp::Import(_) => ext::IMPORT,
            AdminOp::Load(_) => ext::LOAD,
            AdminOp::Unload(_) => ext::UNLOAD,
            AdminOp::Delete { .. } => ext::DELETE,
            AdminOp::Rename { .. } => ext::RENAME,
            AdminOp::Doctor { .. } => ext::DOCTOR,
            AdminOp::Reload => ext::RELOAD,
            AdminOp::UnlockStore(_) => ext::UNLOCK_STORE,
            AdminOp::LockStore => ext::LOCK_STORE,
            AdminOp::Passwd(_) => ext::PASSWD,
            AdminOp::SecretAdd(_) => signet_proto::secret::SECRET_ADD,
            AdminOp::SecretRemove { .. } => signet_proto::secret::SECRET_REMOVE,
            AdminOp::TokenLogin(_) => ext::TOKEN_LOGIN,
            AdminOp::Smartcard(_) => "smartcard-key",
        }
    }

    /// Whether it is one of signet's extensions (its failures carry a code
    /// and a reason) rather than an agent protocol message.
    pub(crate) fn is_extension(&self) -> bool {
        !matches!(
            self,
            AdminOp::Add(_)
                | AdminOp::Remove { .. }
                | AdminOp::RemoveAll
                | AdminOp::Lock(_)
                | AdminOp::Unlock(_)
                | AdminOp::Smartcard(_)
        )
    }
}

/// Reading the agent's state.
pub(crate) enum ReadOp<'a> {
    /// `SSH_AGENTC_REQUEST_IDENTITIES`.
    Identities,
    /// `query`.
    Query,
    /// `version@signet`.
    Version,
    /// `status@signet`.
    Status,
    /// `list@signet`.
    List,
    /// `stored@signet`.
    Stored,
    /// `store@signet`.
    Store,
    /// `explain@signet`.
    Explain(ExplainRequest<'a>),
    /// `diagnose@signet`: whether the agent can confirm, and recently
    /// expired keys.
    Diagnose,
    /// `audit-info@signet`: the audit log's path, key and state.
    AuditInfo,
    /// `secret-list@signet`.
    SecretList,
}

impl ReadOp<'_> {
    /// The extension's name, `None` for `REQUEST_IDENTITIES`.
    fn extension_name(&self) -> Option<&'static str> {
        use signet_proto::extension as ext;
        Some(match self {
            ReadOp::Identities => return None,
            ReadOp::Query => ext::QUERY,
            ReadOp::Version => ext::VERSION,
            ReadOp::Status => ext::STATUS,
            ReadOp::List => ext::LIST,
            ReadOp::Stored => ext::STORED,
            ReadOp::Store => ext::STORE,
            ReadOp::Explain(_) => ext::EXPLAIN,
            ReadOp::Diagnose => ext::DIAGNOSE,
            ReadOp::AuditInfo => ext::AUDIT_INFO,
            ReadOp::SecretList => signet_proto::secret::SECRET_LIST,
        })
    }
}

/// A signature: raw (SSH) or of an Encord request.
pub(crate) enum SignOp<'a> {
    /// `SSH_AGENTC_SIGN_REQUEST`.
    Ssh(SignRequest<'a>),
    /// `sign-request@signet`.
    Http(SignHttpRequest<'a>),
}

impl<'a> Op<'a> {
    /// Decodes a message body, extension contents included.
    fn decode(body: &'a [u8]) -> Result<Self, Failure> {
        let msg_type = body.first().copied().unwrap_or(0);
        let req = Request::decode(body)
            .map_err(|e| Failure::plain(format!("malformed message (type {msg_type}): {e}")))?;
        Ok(match req {
            Request::RequestIdentities => Op::Read(ReadOp::Identities),
            Request::Sign(s) => Op::Sign(SignOp::Ssh(s)),
            Request::AddIdentity(a) => Op::Admin(AdminOp::Add(a)),
            Request::RemoveIdentity { key_blob } => Op::Admin(AdminOp::Remove { key_blob }),
            Request::RemoveAllIdentities => Op::Admin(AdminOp::RemoveAll),
            Request::Lock(p) => Op::Admin(AdminOp::Lock(p)),
            Request::Unlock(p) => Op::Admin(AdminOp::Unlock(p)),
            Request::Extension { name, contents } => {
                Self::extension(Extension::decode(name, contents).map_err(|e| {
                    Failure::Ext(ExtensionError::new(
                        ErrorCode::BadRequest,
                        format!("malformed {name} request: {e}"),
                    ))
                })?)
            }
            Request::Unsupported { .. } if SmartcardRequest::decode(body).is_some() => {
                match SmartcardRequest::decode(body) {
                    Some(Ok(req)) => Op::Admin(AdminOp::Smartcard(req)),
                    _ => {
                        return Err(Failure::plain(format!(
                            "malformed smartcard message (type {msg_type})"
                        )))
                    }
                }
            }
            Request::Unsupported { msg_type } => Op::Unsupported { msg_type },
        })
    }

    /// Every extension's group: a total match, so a new extension in
    /// `signet-proto` does not compile until it is placed in the role table.
    fn extension(ext: Extension<'a>) -> Self {
        match ext {
            Extension::Query => Op::Read(ReadOp::Query),
            Extension::Version => Op::Read(ReadOp::Version),
            Extension::Status => Op::Read(ReadOp::Status),
            Extension::List => Op::Read(ReadOp::List),
            Extension::Stored => Op::Read(ReadOp::Stored),
            Extension::Store => Op::Read(ReadOp::Store),
            Extension::Explain(req) => Op::Read(ReadOp::Explain(req)),
            Extension::SignRequest(req) => Op::Sign(SignOp::Http(req)),
            Extension::Stop => Op::Admin(AdminOp::Stop),
            Extension::TokenLogin(pin) => Op::Admin(AdminOp::TokenLogin(pin)),
            Extension::Generate(req) => Op::Admin(AdminOp::Generate(req)),
            Extension::Import(req) => Op::Admin(AdminOp::Import(req)),
            Extension::Load(sel) => Op::Admin(AdminOp::Load(sel)),
            Extension::Unload(sel) => Op::Admin(AdminOp::Unload(sel)),
            Extension::Delete { selector } => Op::Admin(AdminOp::Delete { selector }),
            Extension::Rename { selector, to } => Op::Admin(AdminOp::Rename { selector, to }),
            Extension::Doctor { fix } => Op::Admin(AdminOp::Doctor { fix }),
            Extension::Reload => Op::Admin(AdminOp::Reload),
            Extension::UnlockStore(req) => Op::Admin(AdminOp::UnlockStore(req)),
            Extension::LockStore => Op::Admin(AdminOp::LockStore),
            Extension::Passwd(req) => Op::Admin(AdminOp::Passwd(req)),
            Extension::Diagnose => Op::Read(ReadOp::Diagnose),
            Extension::AuditInfo => Op::Read(ReadOp::AuditInfo),
            Extension::SecretAdd(req) => Op::Admin(AdminOp::SecretAdd(req)),
            Extension::SecretRemove { name } => Op::Admin(AdminOp::SecretRemove { name }),
            Extension::SecretList => Op::Read(ReadOp::SecretList),
            Extension::GetSecret { name } => Op::Release { name },
            Extension::Unknown { name, .. } => Op::UnknownExtension { name },
        }
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

/// Handles one message body from `peer` and appends exactly one reply
/// frame to `out` (tests, benchmarks, fuzzing). The peer's process, if it
/// names a pid, is pinned for this one request (`pidfd_open`); the server
/// pins each connection's once, at accept.
pub async fn handle(agent: &Agent, body: &[u8], peer: &Peer, out: &mut Vec<u8>) {
    serve(agent, body, &Client::pin(*peer), Writer::Untracked, out).await
}

/// Handles one message body from `client`, written by `writer`, and
/// appends exactly one reply frame to `out`.
pub(crate) async fn serve(
    agent: &Agent,
    body: &[u8],
    client: &Client,
    writer: Writer,
    out: &mut Vec<u8>,
) {
    let peer = &client.peer;
    let caller = agent.caller(client, writer);
    let msg_type = body.first().copied().unwrap_or(0);
    let start = out.len();
    let outcome = match Op::decode(body) {
        Ok(op) => run(agent, op, &caller, out).await,
        Err(e) => Err(e),
    };
    let outcome = match outcome {
        Ok(()) if out.len() - start > frame::LEN_PREFIX + frame::MAX_FRAME_LEN => {
            let len = out.len() - start - frame::LEN_PREFIX;
            out.truncate(start);
            error!(%peer, msg_type, "reply of {len} bytes withheld: larger than a frame may be");
            let why = format!(
                "the reply would be {len} bytes, more than the {} a frame may hold; remove keys or shorten their names",
                frame::MAX_FRAME_LEN
            );
            if msg_type == msg::EXTENSION {
                Err(Failure::Ext(ExtensionError::new(ErrorCode::Internal, why)))
            } else {
                Err(Failure::Plain(why))
            }
        }
        other => other,
    };
    match outcome {
        Ok(()) => {}
        Err(Failure::Plain(why)) => {
            debug!(%peer, msg_type, "request failed: {why}");
            out.truncate(start);
            encode_status(out, false);
        }
        Err(Failure::Ext(err)) => {
            debug!(%peer, msg_type, code = err.code.to_u32(), "extension failed: {}", err.reason);
            out.truncate(start);
            let mut contents = Vec::new();
            err.encode(&mut contents);
            Response::ExtensionFailure(contents).encode_frame(out);
        }
    }
}

/// The gate, then the one handler for what it admitted.
async fn run(agent: &Agent, op: Op<'_>, caller: &Caller, out: &mut Vec<u8>) -> Outcome {
    match gate::admit(agent, caller, op).await? {
        Admitted::Admin(op, permit) => admin(agent, op, &permit, caller, out).await,
        Admitted::Read(op, permit) => {
            let Some(name) = op.extension_name() else {
                return identities::list(agent, &permit, out);
            };
            let mut reply = Vec::new();
            read(agent, op, &permit, caller, &mut reply).await?;
            extension_reply(name, reply, out);
            Ok(())
        }
        Admitted::Sign(grant) => sign::pipeline(agent, caller, grant, out).await,
        Admitted::Release(permit) => secrets::release(agent, permit, caller, out).await,
    }
}

/// An extension's reply frame.
fn extension_reply(name: &str, contents: Vec<u8>, out: &mut Vec<u8>) {
    Response::ExtensionResponse {
        name: name.to_owned(),
        contents,
    }
    .encode_frame(out);
}

/// Every admin operation's handler.
async fn admin(
    agent: &Agent,
    op: AdminOp<'_>,
    permit: &gate::AdminPermit,
    caller: &Caller,
    out: &mut Vec<u8>,
) -> Outcome {
    let peer = &caller.peer;
    let name = op.name();
    let mut reply = Vec::new();
    match op {
        AdminOp::Add(add) => return identities::add(agent, add, permit, peer, out).await,
        AdminOp::Remove { key_blob } => {
            return identities::remove(agent, key_blob, permit, peer, out)
        }
        AdminOp::RemoveAll => return identities::remove_all(agent, permit, peer, out),
        AdminOp::Lock(p) => return lock::lock(agent, p, permit, peer, out).await,
        AdminOp::Unlock(p) => return lock::unlock(agent, p, permit, peer, out).await,
        AdminOp::Stop => info::stop(agent, permit, peer),
        AdminOp::Generate(req) => store::generate(agent, req, permit, peer, &mut reply).await?,
        AdminOp::Import(req) => store::import(agent, req, permit, peer, &mut reply).await?,
        AdminOp::Load(sel) => store::load(agent, sel, permit, peer, &mut reply).await?,
        AdminOp::Unload(sel) => store::unload(agent, sel, permit, peer, &mut reply).await?,
        AdminOp::Delete { selector } => {
            store::delete(agent, selector, permit, peer, &mut reply).await?
        }
        AdminOp::Rename { selector, to } => {
            store::rename(agent, selector, to, permit, peer, &mut reply).await?
        }
        AdminOp::Doctor { fix } => store::doctor(agent, fix, permit, peer, &mut reply).await?,
        AdminOp::Reload => info::reload(agent, permit, peer, &mut reply)?,
        AdminOp::UnlockStore(req) => {
            store::unlock_store(agent, req, permit, peer, &mut reply).await?
        }
        AdminOp::LockStore => store::lock_store(agent, permit, peer, &mut reply),
        AdminOp::Passwd(req) => store::passwd(agent, req, permit, peer, &mut reply).await?,
        AdminOp::SecretAdd(req) => secrets::add(agent, req, permit, peer, &mut reply).await?,
        AdminOp::SecretRemove { name } => {
            secrets::remove(agent, name, permit, peer, &mut reply).await?
        }
        #[cfg(unix)]
        AdminOp::TokenLogin(pin) => {
            store::token_login(agent, pin, permit, peer, &mut reply).await?
        }
        #[cfg(unix)]
        AdminOp::Smartcard(req) => return store::smartcard(agent, req, permit, peer, out).await,
        #[cfg(not(unix))]
        AdminOp::TokenLogin(_) | AdminOp::Smartcard(_) => {
            return Err(Failure::plain("PKCS#11 tokens are supported on Unix only"))
        }
    }
    extension_reply(name, reply, out);
    Ok(())
}

/// Every read operation's handler (the extensions; `REQUEST_IDENTITIES`
/// is answered in [`run`]).
async fn read(
    agent: &Agent,
    op: ReadOp<'_>,
    permit: &gate::ReadPermit,
    caller: &Caller,
    reply: &mut Vec<u8>,
) -> Outcome {
    match op {
        ReadOp::Identities => {}
        ReadOp::Query => info::query(reply),
        ReadOp::Version => info::version(reply),
        ReadOp::Status => info::status(agent, permit, reply),
        ReadOp::List => info::list(agent, permit, reply),
        ReadOp::Stored => store::stored(agent, permit, reply).await?,
        ReadOp::Store => store::info(agent, permit, reply).await?,
        ReadOp::Explain(req) => explain::explain(agent, req, permit, caller, reply)?,
        ReadOp::Diagnose => info::diagnose(agent, permit, reply),
        ReadOp::AuditInfo => info::audit_info(agent, permit, reply),
        ReadOp::SecretList => secrets::list(agent, permit, reply).await?,
    }
    Ok(())
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
            format!(
                "key \"{}\" is not loaded: `signet list` shows the loaded keys",
                signet_proto::text::escape(sel)
            ),
        ),
        KeyError::PublicMismatch | KeyError::Memory(_) => {
            ExtensionError::new(ErrorCode::Internal, e.to_string())
        }
    }
}

/// A key-store failure as the client should see it.
fn vault_error(e: &VaultError) -> ExtensionError {
    let code = match e {
        VaultError::NoSuchKey(_) | VaultError::NoSuchSecret(_) => ErrorCode::NoSuchKey,
        VaultError::Ambiguous(_) => ErrorCode::AmbiguousKey,
        VaultError::Exists(_)
        | VaultError::Unfinished { .. }
        | VaultError::Unsealed { .. }
        | VaultError::NotSealed(_) => ErrorCode::Refused,
        VaultError::StoreLocked { .. } | VaultError::NotSetUp { .. } => ErrorCode::StoreLocked,
        VaultError::WrongPassphrase => ErrorCode::WrongPassphrase,
        VaultError::BadName(_) | VaultError::BadPassphrase(_) => ErrorCode::BadRequest,
        VaultError::Store(_)
        | VaultError::Index(_)
        | VaultError::Missing { .. }
        | VaultError::SecretMissing { .. }
        | VaultError::Mismatch { .. }
        | VaultError::Task(_)
        | VaultError::Sealed { .. }
        | VaultError::StoreKeyMissing { .. }
        | VaultError::StoreKeyBad { .. }
        | VaultError::StoreKeyMismatch { .. }
        | VaultError::Inconsistent(_)
        | VaultError::Memory(_) => ErrorCode::Internal,
    };
    ExtensionError::new(code, e.to_string())
}

/// A key refused by the agent's name checks and limits.
fn add_error(e: &AddError) -> ExtensionError {
    let code = match e {
        AddError::BadName { .. } => ErrorCode::BadRequest,
        AddError::NameTaken { .. } | AddError::TooMany(_) | AddError::ListFull(_) => {
            ErrorCode::Refused
        }
        AddError::Store(v) => return vault_error(v),
    };
    ExtensionError::new(code, e.to_string())
}

/// A failure to load stored keys as the client should see it.
fn load_error(e: &LoadError) -> ExtensionError {
    match e {
        LoadError::Vault(v) => vault_error(v),
        LoadError::NothingStored => ExtensionError::new(ErrorCode::NoSuchKey, e.to_string()),
        LoadError::Lifetime(_) => ExtensionError::new(ErrorCode::BadRequest, e.to_string()),
        LoadError::Add {
            source: AddError::BadName { .. },
            ..
        } => ExtensionError::new(ErrorCode::BadRequest, e.to_string()),
        LoadError::Add { .. } => ExtensionError::new(ErrorCode::Refused, e.to_string()),
        LoadError::NoStore | LoadError::Key { .. } | LoadError::Partial { .. } => {
            ExtensionError::new(ErrorCode::Internal, e.to_string())
        }
    }
}
