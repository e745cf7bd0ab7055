//! signet's own operations, carried by `SSH_AGENTC_EXTENSION` as `NAME@signet`.
//!
//! Request: `byte 27, string name, <fields>`: the fields follow the name
//! directly, as in OpenSSH's `session-bind@openssh.com`. Success: `byte 29
//! (SSH_AGENT_EXTENSION_RESPONSE), string name, <reply fields>`. Failure of a
//! signet extension: `byte 28 (SSH_AGENT_EXTENSION_FAILURE), uint32 code, string
//! reason` (see [`ExtensionError`]), so the reason reaches the user. An
//! extension signet does not know gets a bare `SSH_AGENT_FAILURE`.
//!
//! [`PROTOCOL_VERSION`] changes whenever any payload here changes shape; clients
//! send `version@signet` first and refuse to talk to a different version.

use crate::encord::Scheme;
use crate::error::{Error, Field, Result};
use crate::keystore::{
    decode_names, encode_names, GenerateRequest, ImportRequest, PasswdRequest, Selection,
    UnlockStoreRequest,
};
use crate::message::Passphrase;
use crate::secret::{self, AddSecretRequest};
use crate::wire::{Reader, WireWrite};

/// The version of signet's extension payloads.
pub const PROTOCOL_VERSION: u32 = 1;

/// The standard extension that lists supported extensions (RFC 9987 §3.8.1).
pub const QUERY: &str = "query";
/// Protocol version handshake: request `uint32 version`; reply `uint32 version,
/// string agent version`.
pub const VERSION: &str = "version@signet";
/// Sign an Encord HTTP request: see [`SignHttpRequest`] and [`SignHttpReply`].
pub const SIGN_REQUEST: &str = "sign-request@signet";
/// List loaded keys with their details: see [`KeyInfo`].
pub const LIST: &str = "list@signet";
/// Daemon status: see [`Status`].
pub const STATUS: &str = "status@signet";
/// Ask the daemon to shut down gracefully (replies first, then stops).
pub const STOP: &str = "stop@signet";
/// Dry run of the policy check: which rule allows or refuses a request,
/// without signing: [`ExplainRequest`] → [`ExplainReply`].
pub const EXPLAIN: &str = "explain@signet";
/// What the agent knows that explains a failure to the user: whether it can
/// ask for confirmation (it has an askpass program), and the keys whose
/// lifetime ended recently: no request fields → [`Diagnosis`].
pub const DIAGNOSE: &str = "diagnose@signet";
/// Re-read the configuration file, as SIGHUP does: no request fields →
/// `string message` (what was reloaded); an invalid file is a failure and
/// the previous configuration stays.
pub const RELOAD: &str = "reload@signet";
/// Where the agent's audit log is and how it is sealed: no request fields →
/// [`AuditInfo`]. `signet audit verify`/`tail`/`pubkey` ask it, so the user
/// need not know the path.
pub const AUDIT_INFO: &str = "audit-info@signet";
/// Give the user PIN of the daemon's `[pkcs11]` token (`signet unlock
/// --token`): `string pin` (**carries a secret**) → `string message` (the
/// token and the keys it loaded). A wrong PIN is a failure whose reason
/// says how many signet has counted.
pub const TOKEN_LOGIN: &str = "token-login@signet";
/// OpenSSH's session binding, sent by `ssh` before it uses agent keys. signet
/// acknowledges it (it keeps no per-session destination rules yet).
pub const SESSION_BIND: &str = "session-bind@openssh.com";

/// Make a new key inside the daemon and store it in the key store:
/// [`crate::keystore::GenerateRequest`] → [`crate::keystore::StoredKey`].
pub const GENERATE: &str = "generate@signet";
/// Store a key the client read from a file: [`crate::keystore::ImportRequest`]
/// (**carries a secret**) → [`crate::keystore::StoredKey`].
pub const IMPORT: &str = "import@signet";
/// List the stored keys, merged with what is loaded: no request fields →
/// [`crate::keystore::decode_stored_list`].
pub const STORED: &str = "stored@signet";
/// Load stored keys into the agent: [`crate::keystore::Selection`] → the
/// loaded keys as a stored-key list.
pub const LOAD: &str = "load@signet";
/// Drop keys loaded from the store: [`crate::keystore::Selection`] (lifetime
/// ignored) → the unloaded keys as a stored-key list.
pub const UNLOAD: &str = "unload@signet";
/// Delete a stored key (unloading it first): one name →
/// [`crate::keystore::StoredKey`].
pub const DELETE: &str = "delete@signet";
/// Rename a stored key: old and new names → [`crate::keystore::StoredKey`].
pub const RENAME: &str = "rename@signet";
/// Check that index and store agree, finishing interrupted operations:
/// `byte fix` → [`crate::keystore::DoctorReport`].
pub const DOCTOR: &str = "doctor@signet";
/// Which key store the daemon uses and why: no request fields →
/// [`crate::keystore::StoreInfo`].
pub const STORE: &str = "store@signet";
/// Unlock a sealed key store (or set one up): [`UnlockStoreRequest`]
/// (**carries a secret**) → [`crate::keystore::UnlockStoreReply`].
pub const UNLOCK_STORE: &str = "unlock-store@signet";
/// Forget the unlocked store key (loaded keys stay loaded): no request
/// fields → `byte was_unlocked`.
pub const LOCK_STORE: &str = "lock-store@signet";
/// Change a sealed key store's passphrase: [`PasswdRequest`] (**carries
/// secrets**) → no reply fields.
pub const PASSWD: &str = "passwd@signet";

/// Every extension signetd answers, as listed by `query`.
pub const SUPPORTED: &[&str] = &[
    QUERY,
    VERSION,
    SIGN_REQUEST,
    LIST,
    STATUS,
    STOP,
    GENERATE,
    IMPORT,
    STORED,
    LOAD,
    UNLOAD,
    DELETE,
    RENAME,
    DOCTOR,
    STORE,
    EXPLAIN,
    DIAGNOSE,
    RELOAD,
    UNLOCK_STORE,
    LOCK_STORE,
    PASSWD,
    AUDIT_INFO,
    crate::secret::SECRET_ADD,
    crate::secret::SECRET_LIST,
    crate::secret::SECRET_REMOVE,
    crate::secret::GET_SECRET,
    TOKEN_LOGIN,
];

/// The key-store extensions (handled by the daemon's vault).
pub const KEY_STORE: &[&str] = &[
    GENERATE,
    IMPORT,
    STORED,
    LOAD,
    UNLOAD,
    DELETE,
    RENAME,
    DOCTOR,
    STORE,
    UNLOCK_STORE,
    LOCK_STORE,
    PASSWD,
];

/// One extension request, decoded once from its name and contents: every
/// extension signetd answers, with its fields, and [`Extension::Unknown`]
/// for the rest. The daemon matches on this (the compiler checks that every
/// extension has a handler); clients encode through it.
///
/// Extensions without request fields (`query`, `version@signet`,
/// `status@signet`, `list@signet`, `stop@signet`, `stored@signet`,
/// `store@signet`) ignore any contents, and `doctor@signet` reads only its
/// first byte, as signetd always has: decoding accepts exactly what it
/// accepted before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension<'a> {
    /// [`QUERY`]: which extensions the agent supports.
    Query,
    /// [`VERSION`]: the protocol version handshake.
    Version,
    /// [`STATUS`]: the daemon's status.
    Status,
    /// [`LIST`]: the loaded keys with their details.
    List,
    /// [`STOP`]: shut down gracefully.
    Stop,
    /// [`EXPLAIN`]: the policy decision signing would make.
    Explain(ExplainRequest<'a>),
    /// [`SIGN_REQUEST`]: sign an Encord HTTP request.
    SignRequest(SignHttpRequest<'a>),
    /// [`GENERATE`]: make a key inside the daemon and store it.
    Generate(GenerateRequest),
    /// [`IMPORT`]: store a key read from a file (**carries a secret**).
    Import(ImportRequest),
    /// [`STORED`]: the stored keys, merged with what is loaded.
    Stored,
    /// [`LOAD`]: load stored keys into the agent.
    Load(Selection),
    /// [`UNLOAD`]: drop keys loaded from the store.
    Unload(Selection),
    /// [`DELETE`]: delete a stored key.
    Delete {
        /// The key: name, key id or fingerprint.
        selector: String,
    },
    /// [`RENAME`]: rename a stored key.
    Rename {
        /// The key: name, key id or fingerprint.
        selector: String,
        /// Its new name.
        to: String,
    },
    /// [`DOCTOR`]: check that index and store agree.
    Doctor {
        /// Also drop entries whose secret is gone.
        fix: bool,
    },
    /// [`STORE`]: which key store the daemon uses and why.
    Store,
    /// [`DIAGNOSE`]: facts that explain failures.
    Diagnose,
    /// [`RELOAD`]: re-read the configuration.
    Reload,
    /// [`UNLOCK_STORE`]: unlock (or set up) a sealed key store (**carries a
    /// secret**).
    UnlockStore(UnlockStoreRequest),
    /// [`LOCK_STORE`]: forget the unlocked store key.
    LockStore,
    /// [`PASSWD`]: change a sealed key store's passphrase (**carries
    /// secrets**).
    Passwd(PasswdRequest),
    /// [`AUDIT_INFO`]: the audit log's path, key and state.
    AuditInfo,
    /// [`crate::secret::SECRET_ADD`]: store a bearer secret (**carries a secret**).
    SecretAdd(AddSecretRequest),
    /// [`crate::secret::SECRET_LIST`]: the stored secrets (no values).
    SecretList,
    /// [`crate::secret::SECRET_REMOVE`]: delete a stored secret.
    SecretRemove {
        /// The secret's name.
        name: String,
    },
    /// [`crate::secret::GET_SECRET`]: release a secret to the caller (the
    /// reply carries it).
    GetSecret {
        /// The secret's name.
        name: String,
    },
    /// [`TOKEN_LOGIN`]: the PKCS#11 token's user PIN (**a secret**; its
    /// `Debug` is redacted).
    TokenLogin(Passphrase),
    /// An extension signetd does not answer (OpenSSH's
    /// `session-bind@openssh.com` among them): `SSH_AGENT_FAILURE`.
    Unknown {
        /// Its name.
        name: &'a str,
        /// Its contents, undecoded.
        contents: &'a [u8],
    },
}

impl<'a> Extension<'a> {
    /// Decodes the request named `name` from its `contents`.
    pub fn decode(name: &'a str, contents: &'a [u8]) -> Result<Self> {
        Ok(match name {
            QUERY => Extension::Query,
            VERSION => Extension::Version,
            STATUS => Extension::Status,
            LIST => Extension::List,
            STOP => Extension::Stop,
            AUDIT_INFO => Extension::AuditInfo,
            EXPLAIN => Extension::Explain(ExplainRequest::decode(contents)?),
            SIGN_REQUEST => Extension::SignRequest(SignHttpRequest::decode(contents)?),
            GENERATE => Extension::Generate(GenerateRequest::decode(contents)?),
            IMPORT => Extension::Import(ImportRequest::decode(contents)?),
            STORED => Extension::Stored,
            LOAD => Extension::Load(Selection::decode(contents)?),
            UNLOAD => Extension::Unload(Selection::decode(contents)?),
            DELETE => {
                let [selector] = decode_names::<1>(contents)?;
                Extension::Delete { selector }
            }
            RENAME => {
                let [selector, to] = decode_names::<2>(contents)?;
                Extension::Rename { selector, to }
            }
            DOCTOR => Extension::Doctor {
                fix: contents.first().is_some_and(|b| *b != 0),
            },
            STORE => Extension::Store,
            DIAGNOSE => Extension::Diagnose,
            RELOAD => Extension::Reload,
            UNLOCK_STORE => Extension::UnlockStore(UnlockStoreRequest::decode(contents)?),
            LOCK_STORE => Extension::LockStore,
            PASSWD => Extension::Passwd(PasswdRequest::decode(contents)?),
            secret::SECRET_ADD => Extension::SecretAdd(AddSecretRequest::decode(contents)?),
            secret::SECRET_LIST => Extension::SecretList,
            secret::SECRET_REMOVE => {
                let [name] = decode_names::<1>(contents)?;
                Extension::SecretRemove { name }
            }
            secret::GET_SECRET => {
                let [name] = decode_names::<1>(contents)?;
                Extension::GetSecret { name }
            }
            TOKEN_LOGIN => {
                let mut r = Reader::new(contents);
                let pin = Passphrase::new(r.string("pin")?.to_vec());
                r.finish()?;
                Extension::TokenLogin(pin)
            }
            name => Extension::Unknown { name, contents },
        })
    }

    /// The extension's name on the wire.
    pub fn name(&self) -> &'a str {
        match self {
            Extension::Query => QUERY,
            Extension::Version => VERSION,
            Extension::Status => STATUS,
            Extension::List => LIST,
            Extension::Stop => STOP,
            Extension::Explain(_) => EXPLAIN,
            Extension::SignRequest(_) => SIGN_REQUEST,
            Extension::Generate(_) => GENERATE,
            Extension::Import(_) => IMPORT,
            Extension::Stored => STORED,
            Extension::Load(_) => LOAD,
            Extension::Unload(_) => UNLOAD,
            Extension::Delete { .. } => DELETE,
            Extension::Rename { .. } => RENAME,
            Extension::Doctor { .. } => DOCTOR,
            Extension::Store => STORE,
            Extension::Diagnose => DIAGNOSE,
            Extension::Reload => RELOAD,
            Extension::UnlockStore(_) => UNLOCK_STORE,
            Extension::LockStore => LOCK_STORE,
            Extension::Passwd(_) => PASSWD,
            Extension::AuditInfo => AUDIT_INFO,
            Extension::SecretAdd(_) => secret::SECRET_ADD,
            Extension::SecretList => secret::SECRET_LIST,
            Extension::SecretRemove { .. } => secret::SECRET_REMOVE,
            Extension::GetSecret { .. } => secret::GET_SECRET,
            Extension::TokenLogin(_) => TOKEN_LOGIN,
            Extension::Unknown { name, .. } => name,
        }
    }

    /// Encodes the request contents (after the name). For
    /// [`Extension::Import`], [`Extension::UnlockStore`], [`Extension::Passwd`]
    /// and [`Extension::SecretAdd`] the caller must wipe `out` after use.
    pub fn encode_contents(&self, out: &mut Vec<u8>) {
        match self {
            Extension::Version => encode_version_request(out),
            Extension::Query
            | Extension::Status
            | Extension::List
            | Extension::Stop
            | Extension::Stored
            | Extension::Store
            | Extension::Diagnose
            | Extension::Reload
            | Extension::AuditInfo
            | Extension::LockStore
            | Extension::SecretList => {}
            Extension::UnlockStore(req) => req.encode(out),
            Extension::Passwd(req) => req.encode(out),
            Extension::SecretAdd(req) => req.encode(out),
            Extension::SecretRemove { name } | Extension::GetSecret { name } => {
                encode_names(out, &[name])
            }
            Extension::Explain(req) => req.encode(out),
            Extension::SignRequest(req) => req.encode(out),
            Extension::Generate(req) => req.encode(out),
            Extension::Import(req) => req.encode(out),
            Extension::Load(sel) | Extension::Unload(sel) => sel.encode(out),
            Extension::Delete { selector } => encode_names(out, &[selector]),
            Extension::Rename { selector, to } => encode_names(out, &[selector, to]),
            Extension::Doctor { fix } => out.put_u8(u8::from(*fix)),
            Extension::TokenLogin(pin) => out.put_string(pin.expose()),
            Extension::Unknown { contents, .. } => out.extend_from_slice(contents),
        }
    }

    /// Encodes the whole `SSH_AGENTC_EXTENSION` frame (length prefix, type,
    /// name, contents).
    pub fn encode_frame(&self, out: &mut Vec<u8>) {
        let start = crate::frame::begin(out);
        out.put_u8(crate::message::msg::EXTENSION);
        out.put_string(self.name().as_bytes());
        self.encode_contents(out);
        crate::frame::end(out, start);
    }
}

/// Why a signet extension failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No loaded key matches the selector.
    NoSuchKey,
    /// The agent is locked.
    Locked,
    /// Refused by policy or by the user (the reason says which).
    Refused,
    /// The request was malformed.
    BadRequest,
    /// Several keys are loaded and the request named none.
    AmbiguousKey,
    /// Not supported by this agent.
    Unsupported,
    /// Something went wrong inside the agent.
    Internal,
    /// Client and agent speak different protocol versions.
    VersionMismatch,
    /// This caller may not use the agent at all: its uid is not the agent's
    /// or root, or not on a system agent's allow-list. Sent once, as the
    /// reply to whatever the caller sends first, before the agent closes the
    /// connection.
    NotAllowed,
    /// The key store is sealed and locked (or has no passphrase yet): the
    /// reason says which; `signet unlock-store` is the next step.
    StoreLocked,
    /// The passphrase given does not open the sealed key store (each wrong
    /// one makes the agent wait longer before it answers).
    WrongPassphrase,
    /// A code this build does not know.
    Other(u32),
}

impl ErrorCode {
    /// The wire value.
    pub fn to_u32(self) -> u32 {
        match self {
            ErrorCode::NoSuchKey => 1,
            ErrorCode::Locked => 2,
            ErrorCode::Refused => 3,
            ErrorCode::BadRequest => 4,
            ErrorCode::AmbiguousKey => 5,
            ErrorCode::Unsupported => 6,
            ErrorCode::Internal => 7,
            ErrorCode::VersionMismatch => 8,
            ErrorCode::NotAllowed => 9,
            ErrorCode::StoreLocked => 10,
            ErrorCode::WrongPassphrase => 11,
            ErrorCode::Other(n) => n,
        }
    }

    /// From the wire value.
    pub fn from_u32(n: u32) -> Self {
        match n {
            1 => ErrorCode::NoSuchKey,
            2 => ErrorCode::Locked,
            3 => ErrorCode::Refused,
            4 => ErrorCode::BadRequest,
            5 => ErrorCode::AmbiguousKey,
            6 => ErrorCode::Unsupported,
            7 => ErrorCode::Internal,
            8 => ErrorCode::VersionMismatch,
            9 => ErrorCode::NotAllowed,
            10 => ErrorCode::StoreLocked,
            11 => ErrorCode::WrongPassphrase,
            n => ErrorCode::Other(n),
        }
    }
}

/// The payload of `SSH_AGENT_EXTENSION_FAILURE` for signet's extensions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ExtensionError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// A sentence for the user: what went wrong and what to do.
    pub reason: String,
}

impl ExtensionError {
    /// A failure with a reason.
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// Encodes the payload (after the message type byte).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.code.to_u32());
        out.put_string(self.reason.as_bytes());
    }

    /// Decodes the payload; an empty payload (a non-signet agent) yields `None`.
    pub fn decode(contents: &[u8]) -> Result<Option<Self>> {
        if contents.is_empty() {
            return Ok(None);
        }
        let mut r = Reader::new(contents);
        let code = ErrorCode::from_u32(r.u32("error code")?);
        let reason = String::from_utf8_lossy(r.string("reason")?).into_owned();
        r.finish()?;
        Ok(Some(Self { code, reason }))
    }
}

/// `version@signet` request contents.
pub fn encode_version_request(out: &mut Vec<u8>) {
    out.put_u32(PROTOCOL_VERSION);
}

/// `version@signet` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionReply {
    /// The agent's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The agent's release, e.g. `0.1.0`.
    pub agent_version: String,
}

impl VersionReply {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.protocol);
        out.put_string(self.agent_version.as_bytes());
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let protocol = r.u32("protocol version")?;
        let agent_version = r.utf8("agent version")?.to_owned();
        r.finish()?;
        Ok(Self {
            protocol,
            agent_version,
        })
    }
}

/// `query` reply contents: the extension names, one `string` each, to the end.
pub fn encode_query_reply(out: &mut Vec<u8>, names: &[&str]) {
    for n in names {
        out.put_string(n.as_bytes());
    }
}

/// Decodes a `query` reply.
pub fn decode_query_reply(contents: &[u8]) -> Result<Vec<String>> {
    let mut r = Reader::new(contents);
    let mut names = Vec::new();
    while !r.is_empty() {
        names.push(r.utf8("extension name")?.to_owned());
    }
    Ok(names)
}

/// `sign-request@signet` request: sign an HTTP request the Encord way.
///
/// The body never crosses the socket, only its SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignHttpRequest<'a> {
    /// Which key: a name, key id or fingerprint; empty for the only loaded key.
    pub key: &'a str,
    /// Which signing scheme.
    pub scheme: Scheme,
    /// The HTTP method (the agent upper-cases it).
    pub method: &'a str,
    /// The request target: path, plus `?query` when there is one.
    pub target: &'a str,
    /// SHA-256 of the body bytes exactly as sent.
    pub body_sha256: [u8; 32],
}

impl<'a> SignHttpRequest<'a> {
    /// Encodes the request contents (after the extension name).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.key.as_bytes());
        out.put_string(self.scheme.as_str().as_bytes());
        out.put_string(self.method.as_bytes());
        out.put_string(self.target.as_bytes());
        out.put_string(&self.body_sha256);
    }

    /// Decodes the request contents.
    pub fn decode(contents: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let key = r.utf8("key")?;
        let scheme_name = r.utf8("scheme")?;
        let scheme = Scheme::parse(scheme_name).ok_or(Error::Invalid {
            field: Field("scheme"),
            reason: "expected encord-v1 or encord-v2",
        })?;
        let method = r.utf8("method")?;
        let target = r.utf8("request target")?;
        let body_sha256 = r.fixed::<32>("body digest")?;
        r.finish()?;
        Ok(Self {
            key,
            scheme,
            method,
            target,
            body_sha256,
        })
    }
}

/// `sign-request@signet` reply: the headers to add to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignHttpReply {
    /// The `created` time the agent put in the signature (0 for v1).
    pub created: u64,
    /// Header names and values, in the order to send them.
    pub headers: Vec<(String, String)>,
}

impl SignHttpReply {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u64(self.created);
        out.put_u32(u32::try_from(self.headers.len()).unwrap_or(u32::MAX));
        for (name, value) in &self.headers {
            out.put_string(name.as_bytes());
            out.put_string(value.as_bytes());
        }
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let created = r.u64("created")?;
        let n = r.u32("header count")? as usize;
        let mut headers = Vec::with_capacity(n.min(r.remaining() / 8));
        for _ in 0..n {
            headers.push((
                r.utf8("header name")?.to_owned(),
                r.utf8("header value")?.to_owned(),
            ));
        }
        r.finish()?;
        Ok(Self { created, headers })
    }
}

/// `explain@signet` request: what would be signed, for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainRequest<'a> {
    /// Which key (as in [`SignHttpRequest`]).
    pub key: &'a str,
    /// `encord-v1`, `encord-v2` or `ssh` (raw signing).
    pub scheme: &'a str,
    /// The HTTP method (empty for `ssh`).
    pub method: &'a str,
    /// The request target (empty for `ssh`).
    pub target: &'a str,
    /// Evaluate as this uid instead of the caller's (root, or the caller's
    /// own uid, only).
    pub as_uid: Option<u32>,
    /// Evaluate as this executable path instead of the caller's (empty: the
    /// caller's own).
    pub as_exe: &'a str,
    /// Evaluate as running in this systemd unit (empty: the caller's own).
    pub as_unit: &'a str,
}

impl<'a> ExplainRequest<'a> {
    /// Encodes the request contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.key.as_bytes());
        out.put_string(self.scheme.as_bytes());
        out.put_string(self.method.as_bytes());
        out.put_string(self.target.as_bytes());
        match self.as_uid {
            Some(uid) => {
                out.put_u8(1);
                out.put_u32(uid);
            }
            None => out.put_u8(0),
        }
        out.put_string(self.as_exe.as_bytes());
        out.put_string(self.as_unit.as_bytes());
    }

    /// Decodes the request contents.
    pub fn decode(contents: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let req = Self {
            key: r.utf8("key")?,
            scheme: r.utf8("scheme")?,
            method: r.utf8("method")?,
            target: r.utf8("target")?,
            as_uid: match r.u8("has uid")? {
                0 => None,
                _ => Some(r.u32("uid")?),
            },
            as_exe: r.utf8("executable")?,
            as_unit: r.utf8("unit")?,
        };
        r.finish()?;
        Ok(req)
    }
}

/// `explain@signet` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainReply {
    /// Whether the request would be signed (rate limits aside: a dry run
    /// takes no tokens).
    pub allowed: bool,
    /// The key's name.
    pub key: String,
    /// The rule that decides (empty: the key has no policy).
    pub rule: String,
    /// The decision as a sentence.
    pub reason: String,
    /// The rule in one line (empty: no policy).
    pub summary: String,
}

impl ExplainReply {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(u8::from(self.allowed));
        out.put_string(self.key.as_bytes());
        out.put_string(self.rule.as_bytes());
        out.put_string(self.reason.as_bytes());
        out.put_string(self.summary.as_bytes());
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let reply = Self {
            allowed: r.u8("allowed")? != 0,
            key: r.utf8("key")?.to_owned(),
            rule: r.utf8("rule")?.to_owned(),
            reason: r.utf8("reason")?.to_owned(),
            summary: r.utf8("summary")?.to_owned(),
        };
        r.finish()?;
        Ok(reply)
    }
}

/// One loaded key, as `list@signet` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The public key blob.
    pub key_blob: Vec<u8>,
    /// The key's name (its comment when added with `ssh-add`).
    pub name: String,
    /// Seconds until the key is removed, if it has a lifetime.
    pub expires_in: Option<u64>,
    /// Whether every use must be confirmed.
    pub confirm: bool,
    /// Where the key came from (`agent` for keys added over the socket).
    pub source: String,
    /// The key's policy in one line (`read-only: schemes encord-v2; …`), or
    /// empty when the key has none.
    pub policy: String,
    /// Whether the key itself is one of the agent's identities (in
    /// `REQUEST_IDENTITIES`); false when only certificates of it were added
    /// (then `name`, `expires_in` and `confirm` are its first
    /// certificate's). Agents before certificates: always true.
    pub listed: bool,
    /// The OpenSSH certificates the agent holds for this key (each is an
    /// identity of its own in `REQUEST_IDENTITIES`, beside the plain key).
    pub certificates: Vec<CertificateInfo>,
}

/// An OpenSSH certificate of a loaded key, as `list@signet` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The certificate blob: its identity in `REQUEST_IDENTITIES`,
    /// `SIGN_REQUEST` and `REMOVE_IDENTITY`.
    pub blob: Vec<u8>,
    /// Its comment (name) as added.
    pub name: String,
    /// The certificate's key id (`ssh-keygen -I`).
    pub key_id: String,
    /// Whether it is a host certificate (`ssh-keygen -h`) rather than a
    /// user certificate.
    pub host: bool,
    /// Its principals (`ssh-keygen -n`); empty: any.
    pub principals: Vec<String>,
    /// Valid from this Unix time (`0`: always).
    pub valid_after: u64,
    /// Valid until before this Unix time (`u64::MAX`: forever).
    pub valid_before: u64,
    /// The `SHA256:` fingerprint of the CA key that signed it.
    pub ca_fingerprint: String,
    /// Seconds until the agent removes it (its lifetime, or the end of its
    /// validity, whichever comes first), if either applies.
    pub expires_in: Option<u64>,
    /// Whether every use must be confirmed.
    pub confirm: bool,
}

/// Encodes a `list@signet` reply: the keys, then one policy line per key,
/// then per key whether it is listed itself and its certificates (trailing
/// sections, so that clients built
/// before policies or certificates existed can still read the list up to
/// them, and newer clients read older agents' lists).
pub fn encode_list_reply(out: &mut Vec<u8>, keys: &[KeyInfo]) {
    out.put_u32(u32::try_from(keys.len()).unwrap_or(u32::MAX));
    for k in keys {
        out.put_string(&k.key_blob);
        out.put_string(k.name.as_bytes());
        match k.expires_in {
            Some(s) => {
                out.put_u8(1);
                out.put_u64(s);
            }
            None => out.put_u8(0),
        }
        out.put_u8(u8::from(k.confirm));
        out.put_string(k.source.as_bytes());
    }
    for k in keys {
        out.put_string(k.policy.as_bytes());
    }
    for k in keys {
        out.put_u8(u8::from(k.listed));
        out.put_u32(u32::try_from(k.certificates.len()).unwrap_or(u32::MAX));
        for c in &k.certificates {
            out.put_string(&c.blob);
            out.put_string(c.name.as_bytes());
            out.put_string(c.key_id.as_bytes());
            out.put_u8(u8::from(c.host));
            out.put_u32(u32::try_from(c.principals.len()).unwrap_or(u32::MAX));
            for p in &c.principals {
                out.put_string(p.as_bytes());
            }
            out.put_u64(c.valid_after);
            out.put_u64(c.valid_before);
            out.put_string(c.ca_fingerprint.as_bytes());
            match c.expires_in {
                Some(s) => {
                    out.put_u8(1);
                    out.put_u64(s);
                }
                None => out.put_u8(0),
            }
            out.put_u8(u8::from(c.confirm));
        }
    }
}

fn decode_certificate(r: &mut Reader<'_>) -> Result<CertificateInfo> {
    let blob = r.string("certificate")?.to_vec();
    let name = r.utf8("certificate name")?.to_owned();
    let key_id = r.utf8("certificate key id")?.to_owned();
    let host = r.u8("certificate type")? != 0;
    let n = r.u32("principal count")? as usize;
    let mut principals = Vec::with_capacity(n.min(r.remaining() / 4));
    for _ in 0..n {
        principals.push(r.utf8("principal")?.to_owned());
    }
    Ok(CertificateInfo {
        blob,
        name,
        key_id,
        host,
        principals,
        valid_after: r.u64("valid after")?,
        valid_before: r.u64("valid before")?,
        ca_fingerprint: r.utf8("CA fingerprint")?.to_owned(),
        expires_in: match r.u8("has lifetime")? {
            0 => None,
            _ => Some(r.u64("expires in")?),
        },
        confirm: r.u8("confirm")? != 0,
    })
}

/// Decodes a `list@signet` reply.
pub fn decode_list_reply(contents: &[u8]) -> Result<Vec<KeyInfo>> {
    let mut r = Reader::new(contents);
    let n = r.u32("key count")? as usize;
    let mut keys = Vec::with_capacity(n.min(r.remaining() / 8));
    for _ in 0..n {
        let key_blob = r.string("key blob")?.to_vec();
        let name = r.utf8("name")?.to_owned();
        let expires_in = match r.u8("has lifetime")? {
            0 => None,
            _ => Some(r.u64("expires in")?),
        };
        let confirm = r.u8("confirm")? != 0;
        let source = r.utf8("source")?.to_owned();
        keys.push(KeyInfo {
            key_blob,
            name,
            expires_in,
            confirm,
            source,
            policy: String::new(),
            listed: true,
            certificates: Vec::new(),
        });
    }
    // Agents before policies end here.
    if !r.is_empty() {
        for k in &mut keys {
            k.policy = r.utf8("policy")?.to_owned();
        }
    }
    // Agents before certificates end here.
    if !r.is_empty() {
        for k in &mut keys {
            k.listed = r.u8("listed")? != 0;
            let n = r.u32("certificate count")? as usize;
            // Each certificate takes at least 50 bytes; never trust n.
            k.certificates = Vec::with_capacity(n.min(r.remaining() / 50));
            for _ in 0..n {
                k.certificates.push(decode_certificate(&mut r)?);
            }
        }
    }
    r.finish()?;
    Ok(keys)
}

/// A key whose lifetime ended recently, as `diagnose@signet` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredKey {
    /// Its name.
    pub name: String,
    /// Its public key blob.
    pub key_blob: Vec<u8>,
    /// Where it came from (`agent`, `keyring`, `credential`, `file`).
    pub origin: String,
    /// The lifetime it had, in seconds.
    pub lifetime_secs: u64,
    /// Seconds since it ended.
    pub expired_secs_ago: u64,
}

/// `diagnose@signet` reply: what the agent knows that explains a failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// The agent can ask the user to confirm a key's use (it has an askpass
    /// program); without one, every use of a `confirm` key is refused.
    pub confirm_available: bool,
    /// Keys whose lifetime ended recently, newest first.
    pub expired: Vec<ExpiredKey>,
}

impl Diagnosis {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(u8::from(self.confirm_available));
        out.put_u32(u32::try_from(self.expired.len()).unwrap_or(u32::MAX));
        for k in &self.expired {
            out.put_string(k.name.as_bytes());
            out.put_string(&k.key_blob);
            out.put_string(k.origin.as_bytes());
            out.put_u64(k.lifetime_secs);
            out.put_u64(k.expired_secs_ago);
        }
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let confirm_available = r.u8("confirm available")? != 0;
        let n = r.u32("expired key count")? as usize;
        let mut expired = Vec::with_capacity(n.min(r.remaining() / 28));
        for _ in 0..n {
            expired.push(ExpiredKey {
                name: r.utf8("name")?.to_owned(),
                key_blob: r.string("key blob")?.to_vec(),
                origin: r.utf8("origin")?.to_owned(),
                lifetime_secs: r.u64("lifetime")?,
                expired_secs_ago: r.u64("expired ago")?,
            });
        }
        r.finish()?;
        Ok(Self {
            confirm_available,
            expired,
        })
    }
}

/// `status@signet` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The agent's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The agent's release.
    pub agent_version: String,
    /// The daemon's process id.
    pub pid: u32,
    /// Whether the agent is locked.
    pub locked: bool,
    /// How many keys are loaded.
    pub keys: u32,
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// The socket the daemon listens on.
    pub socket: String,
}

impl Status {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.protocol);
        out.put_string(self.agent_version.as_bytes());
        out.put_u32(self.pid);
        out.put_u8(u8::from(self.locked));
        out.put_u32(self.keys);
        out.put_u64(self.uptime_secs);
        out.put_string(self.socket.as_bytes());
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let s = Self {
            protocol: r.u32("protocol version")?,
            agent_version: r.utf8("agent version")?.to_owned(),
            pid: r.u32("pid")?,
            locked: r.u8("locked")? != 0,
            keys: r.u32("key count")?,
            uptime_secs: r.u64("uptime")?,
            socket: r.utf8("socket")?.to_owned(),
        };
        r.finish()?;
        Ok(s)
    }
}

/// `audit-info@signet` reply: where the agent's audit log is, the public
/// key its seals verify with, and whether it is being written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditInfo {
    /// The agent writes an audit log (`[audit] enabled`, and it opened).
    pub enabled: bool,
    /// The log file (the newest; rotated files are `PATH.1` …).
    pub path: String,
    /// The audit key's public key; `None` when the agent has no audit key
    /// (the log is chained but not sealed).
    pub public_key: Option<[u8; 32]>,
    /// `[audit] required`: signing stops while the log cannot be written.
    pub required: bool,
    /// `[audit] durability`: `queued`, `written` or `fsync`.
    pub durability: String,
    /// The log is being written (false: writes fail, see `problem`).
    pub writing: bool,
    /// Why the log cannot be written or was not opened; empty when fine.
    pub problem: String,
    /// `seq` of the last line written to the file (0: none yet).
    pub head_seq: u64,
    /// Hex hash of that line.
    pub head_hash: String,
    /// The last seal written, as its line (empty: none yet).
    pub last_seal: String,
    /// Records held in memory because the log could not be written.
    pub pending: u64,
    /// `[audit] seal_every`.
    pub seal_every: u64,
    /// `[audit] seal_interval_secs`.
    pub seal_interval_secs: u64,
}

impl AuditInfo {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(u8::from(self.enabled));
        out.put_string(self.path.as_bytes());
        out.put_string(self.public_key.as_ref().map_or(&[][..], |k| &k[..]));
        out.put_u8(u8::from(self.required));
        out.put_string(self.durability.as_bytes());
        out.put_u8(u8::from(self.writing));
        out.put_string(self.problem.as_bytes());
        out.put_u64(self.head_seq);
        out.put_string(self.head_hash.as_bytes());
        out.put_string(self.last_seal.as_bytes());
        out.put_u64(self.pending);
        out.put_u64(self.seal_every);
        out.put_u64(self.seal_interval_secs);
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let enabled = r.u8("enabled")? != 0;
        let path = r.utf8("path")?.to_owned();
        let key = r.string("audit public key")?;
        let public_key = match key.len() {
            0 => None,
            32 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(key);
                Some(k)
            }
            _ => {
                return Err(Error::Invalid {
                    field: Field("audit public key"),
                    reason: "must be empty or 32 bytes",
                })
            }
        };
        let s = Self {
            enabled,
            path,
            public_key,
            required: r.u8("required")? != 0,
            durability: r.utf8("durability")?.to_owned(),
            writing: r.u8("writing")? != 0,
            problem: r.utf8("problem")?.to_owned(),
            head_seq: r.u64("head seq")?,
            head_hash: r.utf8("head hash")?.to_owned(),
            last_seal: r.utf8("last seal")?.to_owned(),
            pending: r.u64("pending")?,
            seal_every: r.u64("seal every")?,
            seal_interval_secs: r.u64("seal interval")?,
        };
        r.finish()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_info_round_trip() {
        let info = AuditInfo {
            enabled: true,
            path: "/var/lib/signet/audit.log".into(),
            public_key: Some([3; 32]),
            required: true,
            durability: "queued".into(),
            writing: false,
            problem: "No space left on device (os error 28)".into(),
            head_seq: 42,
            head_hash: "ab".repeat(32),
            last_seal: "{\"seq\":40}".into(),
            pending: 2,
            seal_every: 1000,
            seal_interval_secs: 10,
        };
        let mut out = Vec::new();
        info.encode(&mut out);
        assert_eq!(AuditInfo::decode(&out), Ok(info));
        let off = AuditInfo::default();
        let mut out = Vec::new();
        off.encode(&mut out);
        assert_eq!(AuditInfo::decode(&out), Ok(off));
        assert!(AuditInfo::decode(&out[..out.len() - 1]).is_err());
    }

    #[test]
    fn sign_http_round_trip() {
        let req = SignHttpRequest {
            key: "ci-bot",
            scheme: Scheme::EncordV2,
            method: "post",
            target: "/v2/public/projects?x=1",
            body_sha256: [4; 32],
        };
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(SignHttpRequest::decode(&out), Ok(req));
        let reply = SignHttpReply {
            created: 1_700_000_000,
            headers: vec![("Signature".into(), "encord-sig=:AA==:".into())],
        };
        let mut out = Vec::new();
        reply.encode(&mut out);
        assert_eq!(SignHttpReply::decode(&out), Ok(reply));
    }

    #[test]
    fn unknown_scheme_is_rejected() {
        let mut out = Vec::new();
        out.put_string(b"");
        out.put_string(b"encord-v9");
        assert!(matches!(
            SignHttpRequest::decode(&out),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn extension_error_round_trip_and_empty() {
        let e = ExtensionError::new(ErrorCode::Locked, "agent is locked: run `signet unlock`");
        let mut out = Vec::new();
        e.encode(&mut out);
        assert_eq!(ExtensionError::decode(&out), Ok(Some(e)));
        assert_eq!(ExtensionError::decode(&[]), Ok(None));
        assert_eq!(ErrorCode::from_u32(99), ErrorCode::Other(99));
    }

    #[test]
    fn list_and_status_round_trip() {
        let keys = vec![
            KeyInfo {
                key_blob: vec![1, 2],
                name: "a".into(),
                expires_in: Some(30),
                confirm: true,
                source: "agent".into(),
                policy: String::new(),
                listed: false,
                certificates: vec![CertificateInfo {
                    blob: vec![3, 4],
                    name: "a".into(),
                    key_id: "alice@example".into(),
                    host: false,
                    principals: vec!["alice".into(), "deploy".into()],
                    valid_after: 10,
                    valid_before: u64::MAX,
                    ca_fingerprint: "SHA256:ca".into(),
                    expires_in: Some(20),
                    confirm: false,
                }],
            },
            KeyInfo {
                key_blob: vec![],
                name: "b".into(),
                expires_in: None,
                confirm: false,
                source: "keyring".into(),
                policy: "read-only: schemes encord-v2".into(),
                listed: true,
                certificates: vec![],
            },
        ];
        let mut out = Vec::new();
        encode_list_reply(&mut out, &keys);
        assert_eq!(decode_list_reply(&out), Ok(keys.clone()));
        // A list from an agent without certificates, or without policies
        // either: no trailing sections.
        let mut without = keys.clone();
        without.iter_mut().for_each(|k| {
            k.certificates.clear();
            k.listed = true;
        });
        let mut older = Vec::new();
        encode_list_reply(&mut older, &without);
        // Two listed flags and empty certificate counts end it.
        older.truncate(older.len() - 10);
        let decoded = decode_list_reply(&older).unwrap_or_default();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded, without);
        assert_eq!(decoded[1].policy, keys[1].policy);
        let policy_bytes: usize = keys.iter().map(|k| 4 + k.policy.len()).sum();
        older.truncate(older.len() - policy_bytes);
        let decoded = decode_list_reply(&older).unwrap_or_default();
        assert_eq!(decoded.len(), 2);
        assert!(decoded.iter().all(|k| k.policy.is_empty()));
        let st = Status {
            protocol: 1,
            agent_version: "0.1.0".into(),
            pid: 42,
            locked: true,
            keys: 2,
            uptime_secs: 9,
            socket: "/run/x".into(),
        };
        let mut out = Vec::new();
        st.encode(&mut out);
        assert_eq!(Status::decode(&out), Ok(st));
    }

    #[test]
    fn explain_round_trip() {
        let req = ExplainRequest {
            key: "ci-bot",
            scheme: "encord-v2",
            method: "DELETE",
            target: "/v2/public/projects/p",
            as_uid: Some(1000),
            as_exe: "/usr/bin/python3",
            as_unit: "",
        };
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(ExplainRequest::decode(&out), Ok(req));
        let reply = ExplainReply {
            allowed: false,
            key: "ci-bot".into(),
            rule: "read-only".into(),
            reason: "key ci-bot: method DELETE not allowed by rule read-only".into(),
            summary: "read-only: methods GET".into(),
        };
        let mut out = Vec::new();
        reply.encode(&mut out);
        assert_eq!(ExplainReply::decode(&out), Ok(reply));
        assert!(ExplainReply::decode(&out[..out.len() - 1]).is_err());
    }

    /// Every known extension survives encode → decode, and its frame is the
    /// bytes the per-payload encoders produce (what clients sent before the
    /// enum existed).
    #[test]
    fn extensions_round_trip_byte_for_byte() {
        use crate::keystore::{GenerateRequest, ImportRequest, Selection};
        use crate::{Ed25519Seed, Request};
        let sel = Selection {
            all: false,
            names: vec!["ci".into(), "deploy".into()],
            lifetime: Some(90),
        };
        let all: Vec<(Extension<'_>, Vec<u8>)> = vec![
            (Extension::Query, vec![]),
            (Extension::Version, {
                let mut v = Vec::new();
                encode_version_request(&mut v);
                v
            }),
            (Extension::Status, vec![]),
            (Extension::Diagnose, vec![]),
            (Extension::Reload, vec![]),
            (Extension::List, vec![]),
            (Extension::Stop, vec![]),
            (Extension::Stored, vec![]),
            (Extension::Store, vec![]),
            (Extension::AuditInfo, vec![]),
            (
                Extension::TokenLogin(Passphrase::new(b"4711".to_vec())),
                vec![0, 0, 0, 4, b'4', b'7', b'1', b'1'],
            ),
            (Extension::Doctor { fix: true }, vec![1]),
            (Extension::Doctor { fix: false }, vec![0]),
            (
                Extension::Explain(ExplainRequest {
                    key: "k",
                    scheme: "ssh",
                    method: "",
                    target: "",
                    as_uid: None,
                    as_exe: "",
                    as_unit: "",
                }),
                vec![],
            ),
            (
                Extension::SignRequest(SignHttpRequest {
                    key: "",
                    scheme: Scheme::EncordV2,
                    method: "GET",
                    target: "/v2/public/x",
                    body_sha256: [9; 32],
                }),
                vec![],
            ),
            (
                Extension::Generate(GenerateRequest {
                    name: "n".into(),
                    comment: "c".into(),
                    store: String::new(),
                }),
                vec![],
            ),
            (
                Extension::Import(ImportRequest {
                    name: "n".into(),
                    comment: String::new(),
                    seed: Ed25519Seed::new([3; 32]),
                    public: [4; 32],
                    store: String::new(),
                    allow_import: false,
                }),
                vec![],
            ),
            (Extension::Load(sel.clone()), vec![]),
            (Extension::Unload(sel), vec![]),
            (
                Extension::Delete {
                    selector: "ci".into(),
                },
                vec![],
            ),
            (
                Extension::Rename {
                    selector: "ci".into(),
                    to: "bot".into(),
                },
                vec![],
            ),
            (
                Extension::UnlockStore(UnlockStoreRequest {
                    passphrase: crate::Passphrase::new(b"pw".to_vec()),
                    create: false,
                }),
                vec![0, 0, 0, 2, b'p', b'w', 0],
            ),
            (Extension::LockStore, vec![]),
            (
                Extension::Passwd(PasswdRequest {
                    old: crate::Passphrase::new(b"a".to_vec()),
                    new: crate::Passphrase::new(b"b".to_vec()),
                }),
                vec![0, 0, 0, 1, b'a', 0, 0, 0, 1, b'b'],
            ),
            (
                Extension::SecretAdd(crate::secret::AddSecretRequest {
                    name: "labels".into(),
                    kind: crate::secret::SecretKind::EncordApiKey,
                    resource: "r-1".into(),
                    scopes: vec!["LABEL_READ".into()],
                    title: String::new(),
                    lifetime: 0,
                    replace: false,
                    value: crate::secret::SecretValue::copy_of(b"k"),
                }),
                vec![],
            ),
            (Extension::SecretList, vec![]),
            (
                Extension::SecretRemove {
                    name: "labels".into(),
                },
                vec![],
            ),
            (
                Extension::GetSecret {
                    name: "labels".into(),
                },
                vec![],
            ),
            (
                Extension::Unknown {
                    name: SESSION_BIND,
                    contents: b"\0\0\0\x01x",
                },
                b"\0\0\0\x01x".to_vec(),
            ),
        ];
        for (ext, fixed) in &all {
            let mut contents = Vec::new();
            ext.encode_contents(&mut contents);
            if !fixed.is_empty() || matches!(ext, Extension::Query) {
                assert_eq!(&contents, fixed, "{}", ext.name());
            }
            let mut frame = Vec::new();
            ext.encode_frame(&mut frame);
            let mut expected = Vec::new();
            Request::Extension {
                name: ext.name(),
                contents: &contents,
            }
            .encode_frame(&mut expected);
            assert_eq!(frame, expected, "{}", ext.name());
            let Ok(Request::Extension { name, contents }) = Request::decode(&frame[4..]) else {
                panic!("{} does not decode as an extension", ext.name());
            };
            assert_eq!(Extension::decode(name, contents).as_ref(), Ok(ext));
        }
        // Every supported name decodes to a known variant.
        for name in SUPPORTED {
            let mut contents = Vec::new();
            if let Some((ext, _)) = all.iter().find(|(e, _)| e.name() == *name) {
                ext.encode_contents(&mut contents);
            }
            let decoded = Extension::decode(name, &contents);
            assert!(
                matches!(decoded, Ok(ref e) if !matches!(e, Extension::Unknown { .. })),
                "{name}: {decoded:?}"
            );
        }
    }

    #[test]
    fn fieldless_extensions_ignore_contents_and_bad_fields_are_errors() {
        assert_eq!(Extension::decode(STATUS, b"junk"), Ok(Extension::Status));
        assert_eq!(
            Extension::decode(DOCTOR, &[]),
            Ok(Extension::Doctor { fix: false })
        );
        assert_eq!(
            Extension::decode(DOCTOR, &[7, 7]),
            Ok(Extension::Doctor { fix: true })
        );
        assert!(Extension::decode(SIGN_REQUEST, b"\0\0").is_err());
        assert!(Extension::decode(DELETE, &[]).is_err());
        assert_eq!(
            Extension::decode("nope@x", b"z"),
            Ok(Extension::Unknown {
                name: "nope@x",
                contents: b"z"
            })
        );
    }

    #[test]
    fn diagnosis_round_trip() {
        let d = Diagnosis {
            confirm_available: true,
            expired: vec![ExpiredKey {
                name: "ci".into(),
                key_blob: vec![1, 2, 3],
                origin: "keyring".into(),
                lifetime_secs: 1,
                expired_secs_ago: 2,
            }],
        };
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(Diagnosis::decode(&out), Ok(d));
        assert!(Diagnosis::decode(&out[..out.len() - 1]).is_err());
    }

    #[test]
    fn query_reply_round_trip() {
        let mut out = Vec::new();
        encode_query_reply(&mut out, SUPPORTED);
        let names = decode_query_reply(&out).unwrap_or_default();
        assert_eq!(names, SUPPORTED);
    }
}
