//! The client's sans-IO core: one [`Op`] per operation, each knowing how to
//! encode its request and how to read its reply, and nothing about sockets.
//!
//! The blocking [`crate::Client`] and the async `AsyncClient` are transports
//! over these: they connect, check who serves the socket, write the request,
//! read exactly one reply frame, apply timeouts and reconnect once — and
//! hand the reply back to the op. So both clients offer the same operations
//! with the same errors, and a new operation is written once, here.
//!
//! Extensions are encoded through [`signet_proto::extension::Extension`],
//! the typed enum the daemon decodes them with.
//!
//! A transport of your own (another runtime, a test double) needs only this
//! module and [`signet_proto::frame`]:
//!
//! ```
//! use signet_client::op::{self, Context, Op};
//! use signet_proto::Response;
//!
//! # fn main() -> Result<(), signet_client::Error> {
//! let mut frame = Vec::new();
//! op::Status.encode(&mut frame)?; // a whole frame, length prefix included
//! assert_eq!(&frame[4..5], &[27]); // SSH_AGENTC_EXTENSION
//! // …send `frame`, read one reply frame, decode its body:
//! let reply = Response::Failure;
//! let ctx = Context { path: std::path::Path::new("/run/user/1000/signet/agent.sock") };
//! assert!(op::Status.decode(reply, &ctx).is_err());
//! # Ok(()) }
//! ```

use std::path::Path;
use std::time::Duration;

use signet_proto::encord::Scheme;
use signet_proto::extension::{
    self, AuditInfo as AuditInfoReply, ErrorCode, ExplainReply, Extension, ExtensionError,
    Status as StatusReply, VersionReply,
};
pub use signet_proto::extension::{Diagnosis, ExpiredKey};
use signet_proto::frame;
use signet_proto::key::fingerprint;
use signet_proto::keystore::{
    decode_stored_list, DoctorReport, GenerateRequest, ImportRequest, PasswdRequest, Selection,
    StoreInfo, StoredKey, UnlockStoreReply, UnlockStoreRequest,
};
use signet_proto::message::msg;
use signet_proto::secret::{self, AddSecretRequest, Released, SecretInfo};
use signet_proto::{
    AddIdentity, Constraint, Ed25519Seed, Identity, NewKey, Passphrase, Request, Response,
    SignRequest as SshSignRequest,
};

use crate::error::{Error, Result};
use crate::http::{self, SignedHeaders};
use crate::keys::{KeyInfo, Signature};

/// What an op may need to know about the connection to explain a reply.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The socket the request went to (named in errors).
    pub path: &'a Path,
}

/// One operation: how its request is encoded and its reply read.
pub trait Op {
    /// What a successful reply yields.
    type Output;

    /// The request carries a secret (a key, a passphrase): the transport
    /// reserves room before encoding, so the buffer never reallocates and
    /// leaves a copy behind, and wipes it once the request is sent.
    const SECRET: bool = false;

    /// A signet extension: the transport checks the agent's protocol version
    /// ([`Version`]) once before the first one.
    const SIGNET: bool = false;

    /// After the reply the agent closes the connection ([`Stop`]).
    const CLOSES: bool = false;

    /// Appends the whole request frame (length prefix included) to `out`.
    /// Fails, with nothing sent, on invalid input or a request over the
    /// agent's size limit.
    fn encode(&self, out: &mut Vec<u8>) -> Result<()>;

    /// Interprets the agent's one reply.
    fn decode(self, reply: Response, ctx: &Context<'_>) -> Result<Self::Output>;
}

/// Capacity reserved before encoding a secret, so the buffer does not
/// reallocate (and leave a copy behind) while the secret is written into it.
pub(crate) const SECRET_RESERVE: usize = 1024;

/// Encodes `ext` as a frame and checks its size.
fn encode_ext(out: &mut Vec<u8>, ext: &Extension<'_>) -> Result<()> {
    let start = out.len();
    ext.encode_frame(out);
    check_size(&out[start..])
}

/// Encodes an agent protocol request as a frame and checks its size.
fn encode_req(out: &mut Vec<u8>, req: &Request<'_>) -> Result<()> {
    let start = out.len();
    req.encode_frame(out);
    check_size(&out[start..])
}

/// Fails before sending if an encoded frame is over the agent's limit.
fn check_size(frame: &[u8]) -> Result<()> {
    let len = frame.len().saturating_sub(frame::LEN_PREFIX);
    if len > signet_proto::MAX_FRAME_LEN {
        return Err(Error::TooLarge {
            len,
            max: signet_proto::MAX_FRAME_LEN,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading replies: the shared rules.

/// The contents of a successful reply to the signet extension `name`;
/// failures keep what the agent said, mapped by [`from_extension_error`].
fn extension_reply(resp: Response, name: &str, selector: &str) -> Result<Vec<u8>> {
    match resp {
        Response::ExtensionResponse {
            name: got,
            contents,
        } => {
            if got == name {
                Ok(contents)
            } else {
                Err(Error::BadReply {
                    reason: format!("the reply to {name} is named {got:?}"),
                })
            }
        }
        Response::Failure => Err(Error::Refused {
            reason: format!(
                "the agent refused {name} without saying why: check the agent's log and `signet status`"
            ),
            code: None,
        }),
        Response::ExtensionFailure(contents) => Err(extension_failure(&contents, selector, name)),
        other => Err(unexpected(&other)),
    }
}

/// The contents of a key-store reply: every failure keeps the agent's own
/// reason (it names the stored key and says what to do).
fn store_reply(resp: Response, name: &str) -> Result<Vec<u8>> {
    if let Response::ExtensionFailure(c) = &resp {
        if let Ok(Some(e)) = ExtensionError::decode(c) {
            return Err(match e.code {
                ErrorCode::Locked => Error::Locked,
                code => Error::Refused {
                    reason: e.reason,
                    code: Some(code),
                },
            });
        }
    }
    extension_reply(resp, name, "")
}

/// A reply that should be `SUCCESS`; `refused` explains a bare `FAILURE`.
fn success(resp: Response, refused: &str, selector: &str) -> Result<()> {
    match resp {
        Response::Success => Ok(()),
        Response::Failure => Err(Error::Refused {
            reason: refused.to_owned(),
            code: None,
        }),
        Response::ExtensionFailure(contents) => {
            Err(extension_failure(&contents, selector, refused))
        }
        other => Err(unexpected(&other)),
    }
}

/// Turns an `EXTENSION_FAILURE` payload into an error; an empty payload (a
/// non-signet agent) gets `fallback` as its reason.
fn extension_failure(contents: &[u8], selector: &str, fallback: &str) -> Error {
    match ExtensionError::decode(contents) {
        Ok(Some(e)) => from_extension_error(e, selector),
        Ok(None) => Error::Refused {
            reason: fallback.to_owned(),
            code: None,
        },
        Err(e) => Error::Protocol(e),
    }
}

/// Maps signet's error codes onto the client's error variants.
fn from_extension_error(e: ExtensionError, selector: &str) -> Error {
    match e.code {
        ErrorCode::Locked => Error::Locked,
        ErrorCode::NoSuchKey => Error::NoSuchKey {
            selector: selector.to_owned(),
        },
        ErrorCode::AmbiguousKey => Error::AmbiguousKey {
            selector: selector.to_owned(),
            candidates: Vec::new(),
        },
        code => Error::Refused {
            reason: e.reason,
            code: Some(code),
        },
    }
}

fn unexpected(resp: &Response) -> Error {
    let t = match resp {
        Response::Success => msg::SUCCESS,
        Response::Failure => msg::FAILURE,
        Response::Identities(_) => msg::IDENTITIES_ANSWER,
        Response::Signature(_) => msg::SIGN_RESPONSE,
        Response::ExtensionResponse { .. } => msg::EXTENSION_RESPONSE,
        Response::ExtensionFailure(_) => msg::EXTENSION_FAILURE,
    };
    Error::Protocol(signet_proto::Error::UnexpectedReply(t))
}

/// Seconds for a lifetime constraint: sub-second parts round up.
fn lifetime_secs(lifetime: Duration) -> Result<u32> {
    if lifetime.is_zero() {
        return Err(Error::InvalidInput {
            what: "lifetime",
            reason: "must be at least one second (omit it for no lifetime)".to_owned(),
        });
    }
    let secs = lifetime
        .as_secs()
        .saturating_add(u64::from(lifetime.subsec_nanos() > 0));
    u32::try_from(secs).map_err(|_| Error::InvalidInput {
        what: "lifetime",
        reason: format!(
            "{secs} seconds is too long: the limit is {} seconds",
            u32::MAX
        ),
    })
}

/// Seconds for a key-store lifetime: sub-second parts round up; an explicit
/// zero means "no lifetime".
fn store_lifetime_secs(lifetime: Option<Duration>) -> Option<u64> {
    lifetime.map(|l| l.as_secs() + u64::from(l.subsec_nanos() > 0))
}

// ---------------------------------------------------------------------------
// The agent protocol's own messages.

/// `version@signet`: the protocol handshake. Fails with
/// [`Error::ProtocolMismatch`] for another protocol version and
/// [`Error::NotSignet`] for a plain SSH agent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Version;

impl Op for Version {
    type Output = VersionReply;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Version)
    }

    fn decode(self, resp: Response, ctx: &Context<'_>) -> Result<VersionReply> {
        let not_signet = || Error::NotSignet {
            path: ctx.path.to_owned(),
        };
        match resp {
            Response::ExtensionResponse { name, contents } if name == extension::VERSION => {
                let reply = VersionReply::decode(&contents)?;
                if reply.protocol != extension::PROTOCOL_VERSION {
                    return Err(Error::ProtocolMismatch {
                        path: ctx.path.to_owned(),
                        agent: Some(reply.protocol),
                        client: extension::PROTOCOL_VERSION,
                    });
                }
                Ok(reply)
            }
            Response::ExtensionFailure(contents) => match ExtensionError::decode(&contents) {
                Ok(Some(e)) if e.code == ErrorCode::VersionMismatch => {
                    Err(Error::ProtocolMismatch {
                        path: ctx.path.to_owned(),
                        agent: None,
                        client: extension::PROTOCOL_VERSION,
                    })
                }
                Ok(Some(e)) => Err(from_extension_error(e, "")),
                _ => Err(not_signet()),
            },
            // A plain agent answers an extension it does not know with FAILURE
            // (OpenSSH), or some other reply: either way, not signetd.
            _ => Err(not_signet()),
        }
    }
}

/// The standard `query` extension: the extensions the agent supports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query;

impl Op for Query {
    type Output = Vec<String>;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Query)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Vec<String>> {
        let contents = extension_reply(resp, extension::QUERY, "")?;
        Ok(extension::decode_query_reply(&contents)?)
    }
}

/// `REQUEST_IDENTITIES`: key blobs and comments, as `ssh-add -L` sees them.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListIdentities;

impl Op for ListIdentities {
    type Output = Vec<Identity>;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_req(out, &Request::RequestIdentities)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Vec<Identity>> {
        match resp {
            Response::Identities(ids) => Ok(ids),
            Response::Failure => Err(Error::Refused {
                reason: "the agent refused to list its keys: it may be locked (`signet unlock`)"
                    .to_owned(),
                code: None,
            }),
            Response::ExtensionFailure(contents) => Err(extension_failure(
                &contents,
                "",
                "the agent refused to list its keys",
            )),
            other => Err(unexpected(&other)),
        }
    }
}

const SIGN_REFUSED: &str = "the agent refused to sign: the key may not be loaded (`signet list`), \
the agent may be locked (`signet unlock`), or the confirmation was denied";

/// `SIGN_REQUEST`: a raw Ed25519 signature of `data` by the key whose public
/// key blob is `key_blob`.
#[derive(Debug, Clone, Copy)]
pub struct Sign<'a> {
    /// The key's SSH public key blob ([`KeyInfo::key_blob`]).
    pub key_blob: &'a [u8],
    /// The bytes to sign.
    pub data: &'a [u8],
}

impl Op for Sign<'_> {
    type Output = Signature;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_req(
            out,
            &Request::Sign(SshSignRequest {
                key_blob: self.key_blob,
                data: self.data,
                flags: 0,
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Signature> {
        match resp {
            Response::Signature(blob) => Signature::from_ssh_blob(&blob),
            Response::Failure => Err(Error::Refused {
                reason: SIGN_REFUSED.to_owned(),
                code: None,
            }),
            Response::ExtensionFailure(contents) => Err(extension_failure(
                &contents,
                &fingerprint(self.key_blob),
                SIGN_REFUSED,
            )),
            other => Err(unexpected(&other)),
        }
    }
}

const ADD_REFUSED: &str = "the agent refused the key: a locked agent refuses new keys \
(`signet status`, `signet unlock`), and a system agent takes them only from an admin (root or \
[system] admin_uids); otherwise see the agent's log";

/// The constraint extension that makes a confirmed key's "yes" last a while
/// for the process that asked: `uint32 seconds`. signetd refuses every
/// other constraint extension.
pub const CONFIRM_REMEMBER: &str = "confirm-remember@signet";

/// `ADD_IDENTITY` / `ADD_ID_CONSTRAINED`: an Ed25519 key named `name`.
///
/// The seed is copied only into the request buffer, which the transport
/// zeroes once the request is sent.
#[derive(Debug, Clone, Copy)]
pub struct Add<'a> {
    /// The key's secret seed.
    pub seed: &'a Ed25519Seed,
    /// Its public key.
    pub public: &'a [u8; 32],
    /// Its name (the comment).
    pub name: &'a str,
    /// Removed after this long (`None`: kept until removed).
    pub lifetime: Option<Duration>,
    /// The user confirms every use.
    pub confirm: bool,
    /// With `confirm`: after a yes, the same process is not asked again for
    /// this long ([`CONFIRM_REMEMBER`]).
    pub remember: Option<Duration>,
}

impl Op for Add<'_> {
    type Output = ();
    const SECRET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut constraints = Vec::new();
        if let Some(l) = self.lifetime {
            constraints.push(Constraint::Lifetime(lifetime_secs(l)?));
        }
        if self.confirm {
            constraints.push(Constraint::Confirm);
        }
        if let Some(r) = self.remember {
            if !self.confirm {
                return Err(Error::InvalidInput {
                    what: "remember",
                    reason: "only a key that needs confirmation can remember a yes: add --confirm"
                        .to_owned(),
                });
            }
            // An extension constraint's details run to the end of the
            // message, so it goes last.
            constraints.push(Constraint::Extension {
                name: CONFIRM_REMEMBER.to_owned(),
                details: lifetime_secs(r)?.to_be_bytes().to_vec(),
            });
        }
        let add = Request::AddIdentity(AddIdentity {
            key: NewKey::Ed25519 {
                public: *self.public,
                seed: self.seed.clone(),
            },
            comment: self.name.to_owned(),
            constraints,
        });
        encode_req(out, &add)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<()> {
        success(resp, ADD_REFUSED, self.name)
    }
}

const REMOVE_REFUSED: &str = "the agent refused to remove the key: it may not be loaded \
(`signet list`), the agent may be locked (`signet unlock`), or, on a system agent, you are not \
an admin (root or [system] admin_uids)";

/// `REMOVE_IDENTITY`: unloads the key whose public key blob is `key_blob`.
#[derive(Debug, Clone, Copy)]
pub struct Remove<'a> {
    /// The key's SSH public key blob.
    pub key_blob: &'a [u8],
}

impl Op for Remove<'_> {
    type Output = ();

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_req(
            out,
            &Request::RemoveIdentity {
                key_blob: self.key_blob,
            },
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<()> {
        success(resp, REMOVE_REFUSED, &fingerprint(self.key_blob))
    }
}

/// `REMOVE_ALL_IDENTITIES`: unloads every key.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveAll;

impl Op for RemoveAll {
    type Output = ();

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_req(out, &Request::RemoveAllIdentities)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<()> {
        success(
            resp,
            "the agent refused to remove its keys: it may be locked (`signet unlock`)",
            "",
        )
    }
}

/// `LOCK`: the agent refuses to sign or list keys until unlocked.
#[derive(Debug, Clone, Copy)]
pub struct Lock<'a>(pub &'a Passphrase);

impl Op for Lock<'_> {
    type Output = ();
    const SECRET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_req(out, &Request::Lock(self.0.clone()))
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<()> {
        success(
            resp,
            "the agent refused to lock: it may already be locked (`signet status`), or, on a \
             system agent, you are not an admin (root or [system] admin_uids)",
            "",
        )
    }
}

/// What a bare `FAILURE` to [`Unlock`] means until the agent's state says
/// which ([`unlock_failure`]).
const UNLOCK_REFUSED: &str = "the agent refused to unlock: the passphrase is wrong, \
or the agent is not locked (`signet status`)";

/// `UNLOCK`.
#[derive(Debug, Clone, Copy)]
pub struct Unlock<'a>(pub &'a Passphrase);

impl Op for Unlock<'_> {
    type Output = ();
    const SECRET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_req(out, &Request::Unlock(self.0.clone()))
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<()> {
        success(resp, UNLOCK_REFUSED, "")
    }
}

/// Whether an [`Unlock`] failure is the agent's bare refusal, which the
/// agent's lock state then explains ([`unlock_failure`]).
pub(crate) fn unlock_is_ambiguous(e: &Error) -> bool {
    matches!(e, Error::Refused { code: None, .. })
}

/// A bare refusal to unlock, told apart by the lock state read right after:
/// still locked means the passphrase was wrong.
pub(crate) fn unlock_failure(e: Error, status: Result<StatusReply>) -> Error {
    match status {
        Ok(s) if s.locked => Error::WrongPassphrase,
        Ok(_) => Error::NotLocked,
        Err(_) => e,
    }
}

// ---------------------------------------------------------------------------
// signet's extensions.

/// `status@signet`: versions, pid, socket, lock state, key count, uptime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Status;

impl Op for Status {
    type Output = StatusReply;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Status)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<StatusReply> {
        let contents = extension_reply(resp, extension::STATUS, "")?;
        Ok(StatusReply::decode(&contents)?)
    }
}

/// `audit-info@signet`: where the agent's audit log is and the public key
/// its seals verify with.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditInfo;

impl Op for AuditInfo {
    type Output = AuditInfoReply;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::AuditInfo)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<AuditInfoReply> {
        let contents = extension_reply(resp, extension::AUDIT_INFO, "")?;
        Ok(AuditInfoReply::decode(&contents)?)
    }
}

/// `list@signet`: the loaded keys with their details.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListKeys;

impl Op for ListKeys {
    type Output = Vec<KeyInfo>;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::List)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Vec<KeyInfo>> {
        let contents = extension_reply(resp, extension::LIST, "")?;
        extension::decode_list_reply(&contents)?
            .into_iter()
            .map(KeyInfo::from_proto)
            .collect()
    }
}

/// `stop@signet`: the agent replies, then shuts down.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stop;

impl Op for Stop {
    type Output = ();
    const SIGNET: bool = true;
    const CLOSES: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Stop)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<()> {
        match resp {
            Response::Success => Ok(()),
            other => extension_reply(other, extension::STOP, "").map(drop),
        }
    }
}

/// `sign-request@signet`: the headers that sign an Encord HTTP request.
///
/// Only `body_sha256` crosses the socket, never the body. The method and
/// URL are checked before anything is sent.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// The key (name, key id or fingerprint; `None`: the only loaded key).
    pub key: Option<&'a str>,
    /// The signing scheme.
    pub scheme: Scheme,
    /// The HTTP method.
    pub method: &'a str,
    /// A full URL, or the request target (path and query).
    pub url_or_target: &'a str,
    /// SHA-256 of the body bytes exactly as sent.
    pub body_sha256: [u8; 32],
}

impl Op for SignRequest<'_> {
    type Output = SignedHeaders;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let target = http::request_target(self.method, self.url_or_target)?;
        encode_ext(
            out,
            &Extension::SignRequest(extension::SignHttpRequest {
                key: self.key.unwrap_or(""),
                scheme: self.scheme,
                method: self.method,
                target,
                body_sha256: self.body_sha256,
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<SignedHeaders> {
        let contents =
            extension_reply(resp, extension::SIGN_REQUEST, self.key.unwrap_or("").trim())?;
        let reply = extension::SignHttpReply::decode(&contents)?;
        Ok(SignedHeaders::from_reply(reply))
    }
}

/// `explain@signet`: which policy rule would allow or refuse a request, and
/// why, without signing. For HTTP schemes the URL is reduced to the request
/// target as [`SignRequest`] does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explain<'a> {
    /// The key (name, key id or fingerprint; `None`: the only loaded key).
    pub key: Option<&'a str>,
    /// `encord-v1`, `encord-v2` or `ssh`.
    pub scheme: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The URL or request target.
    pub url_or_target: &'a str,
    /// Evaluate as this uid (root, or your own uid).
    pub as_uid: Option<u32>,
    /// Evaluate as this executable path.
    pub as_exe: Option<&'a str>,
    /// Evaluate as running in this systemd unit.
    pub as_unit: Option<&'a str>,
}

impl Op for Explain<'_> {
    type Output = ExplainReply;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let target = if self.scheme == "ssh" {
            ""
        } else {
            http::request_target(self.method, self.url_or_target)?
        };
        encode_ext(
            out,
            &Extension::Explain(extension::ExplainRequest {
                key: self.key.unwrap_or(""),
                scheme: self.scheme,
                method: self.method,
                target,
                as_uid: self.as_uid,
                as_exe: self.as_exe.unwrap_or(""),
                as_unit: self.as_unit.unwrap_or(""),
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<ExplainReply> {
        let contents = extension_reply(resp, extension::EXPLAIN, self.key.unwrap_or(""))?;
        Ok(ExplainReply::decode(&contents)?)
    }
}

/// `diagnose@signet`: what the agent knows that explains a failure: whether
/// it can ask for confirmation, and the keys whose lifetime ended recently.
#[derive(Debug, Clone, Copy, Default)]
pub struct Diagnose;

impl Op for Diagnose {
    type Output = Diagnosis;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Diagnose)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Diagnosis> {
        let contents = extension_reply(resp, extension::DIAGNOSE, "")?;
        Ok(Diagnosis::decode(&contents)?)
    }
}

/// `reload@signet`: the agent re-reads its configuration (as SIGHUP does)
/// and says what it did; an invalid file is refused with the reason and the
/// previous configuration kept.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reload;

impl Op for Reload {
    type Output = String;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Reload)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<String> {
        let contents = store_reply(resp, extension::RELOAD)?;
        let mut r = signet_proto::wire::Reader::new(&contents);
        let said = r.utf8("message")?.to_owned();
        r.finish()?;
        Ok(said)
    }
}

/// `token-login@signet`: gives the agent's `[pkcs11]` token its user PIN
/// (`signet unlock --token`); returns what the agent says (the keys it
/// loaded). A wrong PIN is refused with the count the agent keeps, which
/// stops before the token's own limit. **Carries a secret.**
#[derive(Debug, Clone, Copy)]
pub struct TokenLogin<'a> {
    /// The PIN.
    pub pin: &'a Passphrase,
}

impl Op for TokenLogin<'_> {
    type Output = String;
    const SECRET: bool = true;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::TokenLogin(self.pin.clone()))
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<String> {
        let contents = store_reply(resp, extension::TOKEN_LOGIN)?;
        let mut r = signet_proto::wire::Reader::new(&contents);
        let said = r.utf8("message")?.to_owned();
        r.finish()?;
        Ok(said)
    }
}

/// Whether `e` says a key is not loaded (the agent's memory of expired
/// keys may say more: [`explain_missing`]). Its selector, if any.
pub(crate) fn missing_selector(e: &Error) -> Option<&str> {
    match e {
        Error::NoSuchKey { selector } => Some(selector),
        _ => None,
    }
}

/// A missing key explained by what the agent remembers: if the key named
/// (or, with no name, the only key) was loaded and its lifetime ended,
/// [`Error::KeyExpired`]; otherwise `e` as it was.
pub(crate) fn explain_missing(e: Error, diagnosis: Option<Diagnosis>) -> Error {
    let (Some(selector), Some(d)) = (missing_selector(&e), diagnosis) else {
        return e;
    };
    let sel = signet_proto::key::KeySelector::parse(selector);
    let matching = d.expired.into_iter().find(|k| {
        if selector.is_empty() {
            return true;
        }
        signet_proto::key::parse_ed25519_blob(&k.key_blob)
            .is_ok_and(|public| sel.matches(&public, &k.name))
    });
    match matching {
        Some(k) => Error::KeyExpired {
            name: k.name,
            expired_secs_ago: k.expired_secs_ago,
            lifetime_secs: k.lifetime_secs,
            origin: k.origin,
        },
        None => e,
    }
}

// ---------------------------------------------------------------------------
// The key store: keys at rest, managed by the agent (which does all keyring
// I/O and holds all key material; these only ask).

/// `generate@signet`: a new Ed25519 key made inside the agent and stored
/// under `name` (the key never leaves the agent).
#[derive(Debug, Clone, Copy)]
pub struct Generate<'a> {
    /// The new key's name.
    pub name: &'a str,
    /// The comment of its public key line (empty: the name).
    pub comment: &'a str,
    /// Where: empty for the key store, `"pkcs11"` for the agent's PKCS#11
    /// token (the pair is made on the token and never leaves it).
    pub store: &'a str,
}

impl Op for Generate<'_> {
    type Output = StoredKey;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::Generate(GenerateRequest {
                name: self.name.to_owned(),
                comment: self.comment.to_owned(),
                store: self.store.to_owned(),
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<StoredKey> {
        Ok(StoredKey::decode(&store_reply(resp, extension::GENERATE)?)?)
    }
}

/// `import@signet`: stores a key read from a file (the agent reads it back
/// from the keyring and compares before it replies). **Carries a secret.**
#[derive(Debug, Clone, Copy)]
pub struct Import<'a> {
    /// The key's secret seed.
    pub seed: &'a Ed25519Seed,
    /// Its public key.
    pub public: &'a [u8; 32],
    /// The name to store it under.
    pub name: &'a str,
    /// The comment of its public key line.
    pub comment: &'a str,
    /// Where: empty for the key store, `"pkcs11"` for the agent's token.
    pub store: &'a str,
    /// Into the token: accept that the key existed outside it (weaker).
    pub allow_import: bool,
}

impl Op for Import<'_> {
    type Output = StoredKey;
    const SECRET: bool = true;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        // The request (and its zeroizing seed copy) is dropped right here.
        encode_ext(
            out,
            &Extension::Import(ImportRequest {
                name: self.name.to_owned(),
                comment: self.comment.to_owned(),
                seed: self.seed.clone(),
                public: *self.public,
                store: self.store.to_owned(),
                allow_import: self.allow_import,
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<StoredKey> {
        Ok(StoredKey::decode(&store_reply(resp, extension::IMPORT)?)?)
    }
}

/// `stored@signet`: every stored key, with whether it is loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stored;

impl Op for Stored {
    type Output = Vec<StoredKey>;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Stored)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Vec<StoredKey>> {
        Ok(decode_stored_list(&store_reply(resp, extension::STORED)?)?)
    }
}

/// `load@signet`: stored keys into the agent (`all`, or by name).
/// `lifetime`: `None` uses the configured lifetime; `Some(Duration::ZERO)`
/// none.
#[derive(Debug, Clone, Copy)]
pub struct Load<'a> {
    /// The stored keys to load.
    pub names: &'a [String],
    /// Every stored key.
    pub all: bool,
    /// How long they stay loaded.
    pub lifetime: Option<Duration>,
}

impl Op for Load<'_> {
    type Output = Vec<StoredKey>;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::Load(Selection {
                all: self.all,
                names: self.names.to_vec(),
                lifetime: store_lifetime_secs(self.lifetime),
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Vec<StoredKey>> {
        Ok(decode_stored_list(&store_reply(resp, extension::LOAD)?)?)
    }
}

/// `unload@signet`: stored keys out of the agent (they stay in the keyring).
#[derive(Debug, Clone, Copy)]
pub struct Unload<'a> {
    /// The stored keys to unload.
    pub names: &'a [String],
    /// Every stored key.
    pub all: bool,
}

impl Op for Unload<'_> {
    type Output = Vec<StoredKey>;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::Unload(Selection {
                all: self.all,
                names: self.names.to_vec(),
                lifetime: None,
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Vec<StoredKey>> {
        Ok(decode_stored_list(&store_reply(resp, extension::UNLOAD)?)?)
    }
}

/// `delete@signet`: a stored key out of the keyring and the index
/// (unloading it first).
#[derive(Debug, Clone, Copy)]
pub struct Delete<'a> {
    /// The stored key: name, key id or fingerprint.
    pub name: &'a str,
}

impl Op for Delete<'_> {
    type Output = StoredKey;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::Delete {
                selector: self.name.to_owned(),
            },
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<StoredKey> {
        Ok(StoredKey::decode(&store_reply(resp, extension::DELETE)?)?)
    }
}

/// `rename@signet`: a stored key gets a new name.
#[derive(Debug, Clone, Copy)]
pub struct Rename<'a> {
    /// The stored key: name, key id or fingerprint.
    pub old: &'a str,
    /// Its new name.
    pub new: &'a str,
}

impl Op for Rename<'_> {
    type Output = StoredKey;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::Rename {
                selector: self.old.to_owned(),
                to: self.new.to_owned(),
            },
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<StoredKey> {
        Ok(StoredKey::decode(&store_reply(resp, extension::RENAME)?)?)
    }
}

/// `doctor@signet`: makes the index and the keyring agree, finishing
/// interrupted operations; `fix` also drops entries whose secret is gone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Doctor {
    /// Drop entries whose secret is gone.
    pub fix: bool,
}

impl Op for Doctor {
    type Output = DoctorReport;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Doctor { fix: self.fix })
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<DoctorReport> {
        Ok(DoctorReport::decode(&store_reply(
            resp,
            extension::DOCTOR,
        )?)?)
    }
}

/// `store@signet`: which key store the agent uses, why, and whether it
/// answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Store;

impl Op for Store {
    type Output = StoreInfo;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::Store)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<StoreInfo> {
        Ok(StoreInfo::decode(&store_reply(resp, extension::STORE)?)?)
    }
}

// ---------------------------------------------------------------------------
// Bearer secrets.

/// `secret-add@signet`: stores an Encord API key or bearer token.
#[derive(Debug)]
pub struct SecretAdd<'a> {
    /// The request; its value is copied into the frame (wiped after sending).
    pub request: &'a AddSecretRequest,
}

impl Op for SecretAdd<'_> {
    type Output = SecretInfo;
    const SECRET: bool = true;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.request.check().map_err(|e| Error::InvalidInput {
            what: "secret",
            reason: e.to_string(),
        })?;
        out.reserve(self.request.value.expose().len() + SECRET_RESERVE);
        let start = out.len();
        let begin = frame::begin(out);
        out.push(msg::EXTENSION);
        signet_proto::wire::WireWrite::put_string(out, secret::SECRET_ADD.as_bytes());
        self.request.encode(out);
        frame::end(out, begin);
        check_size(&out[start..])
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<SecretInfo> {
        Ok(SecretInfo::decode(&store_reply(resp, secret::SECRET_ADD)?)?)
    }
}

/// `secret-list@signet`: the stored secrets, without values.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecretList;

impl Op for SecretList {
    type Output = Vec<SecretInfo>;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::SecretList)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Vec<SecretInfo>> {
        Ok(secret::decode_list(&store_reply(
            resp,
            secret::SECRET_LIST,
        )?)?)
    }
}

/// `secret-remove@signet`: deletes a stored secret.
#[derive(Debug, Clone, Copy)]
pub struct SecretRemove<'a> {
    /// The secret's name.
    pub name: &'a str,
}

impl Op for SecretRemove<'_> {
    type Output = SecretInfo;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::SecretRemove {
                name: self.name.to_owned(),
            },
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<SecretInfo> {
        Ok(SecretInfo::decode(&store_reply(
            resp,
            secret::SECRET_REMOVE,
        )?)?)
    }
}

/// `get-secret@signet`: the secret, if its rule releases it to this
/// caller. The reply carries the value: the transport wipes its buffers.
#[derive(Debug, Clone, Copy)]
pub struct GetSecret<'a> {
    /// The secret's name.
    pub name: &'a str,
}

impl Op for GetSecret<'_> {
    type Output = Released;
    const SECRET: bool = true;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::GetSecret {
                name: self.name.to_owned(),
            },
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<Released> {
        let contents = zeroize::Zeroizing::new(store_reply(resp, secret::GET_SECRET)?);
        Ok(Released::decode(&contents)?)
    }
}

/// `unlock-store@signet`: the passphrase of a sealed key store (with
/// `create`, sets up one that has no passphrase yet). **Carries a secret.**
pub struct UnlockStore<'a> {
    /// The passphrase.
    pub passphrase: &'a Passphrase,
    /// Set the store up with it if it has no store key yet.
    pub create: bool,
}

impl Op for UnlockStore<'_> {
    type Output = UnlockStoreReply;
    const SECRET: bool = true;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::UnlockStore(UnlockStoreRequest {
                passphrase: self.passphrase.clone(),
                create: self.create,
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<UnlockStoreReply> {
        Ok(UnlockStoreReply::decode(&store_reply(
            resp,
            extension::UNLOCK_STORE,
        )?)?)
    }
}

/// `lock-store@signet`: forget the unlocked store key; true if it was held.
#[derive(Debug, Clone, Copy, Default)]
pub struct LockStore;

impl Op for LockStore {
    type Output = bool;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(out, &Extension::LockStore)
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<bool> {
        let reply = store_reply(resp, extension::LOCK_STORE)?;
        Ok(reply.first().is_some_and(|b| *b != 0))
    }
}

/// `passwd@signet`: change a sealed key store's passphrase. **Carries
/// secrets.**
pub struct Passwd<'a> {
    /// The current passphrase.
    pub old: &'a Passphrase,
    /// The new one.
    pub new: &'a Passphrase,
}

impl Op for Passwd<'_> {
    type Output = ();
    const SECRET: bool = true;
    const SIGNET: bool = true;

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_ext(
            out,
            &Extension::Passwd(PasswdRequest {
                old: self.old.clone(),
                new: self.new.clone(),
            }),
        )
    }

    fn decode(self, resp: Response, _: &Context<'_>) -> Result<()> {
        store_reply(resp, extension::PASSWD).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_proto::extension::SUPPORTED;

    fn ctx() -> Context<'static> {
        Context {
            path: Path::new("/tmp/agent.sock"),
        }
    }

    fn frame_of(op: &impl Op) -> Vec<u8> {
        let mut out = Vec::new();
        op.encode(&mut out).unwrap_or_else(|e| panic!("{e}"));
        out
    }

    /// Every extension op encodes through the typed enum the daemon decodes
    /// with, to the extension it names.
    #[test]
    fn extension_ops_decode_as_their_extension() {
        let names = [String::from("a")];
        let seed = Ed25519Seed::new([1; 32]);
        let frames = [
            frame_of(&Version),
            frame_of(&Query),
            frame_of(&Status),
            frame_of(&AuditInfo),
            frame_of(&ListKeys),
            frame_of(&Stop),
            frame_of(&Stored),
            frame_of(&Store),
            frame_of(&Doctor { fix: true }),
            frame_of(&Generate {
                name: "n",
                comment: "",
                store: "",
            }),
            frame_of(&TokenLogin {
                pin: &Passphrase::new(b"4711".to_vec()),
            }),
            frame_of(&Import {
                seed: &seed,
                public: &[2; 32],
                name: "n",
                comment: "",
                store: "",
                allow_import: false,
            }),
            frame_of(&Load {
                names: &names,
                all: false,
                lifetime: Some(Duration::from_millis(1500)),
            }),
            frame_of(&Unload {
                names: &names,
                all: true,
            }),
            frame_of(&Delete { name: "a" }),
            frame_of(&Rename { old: "a", new: "b" }),
            frame_of(&SignRequest {
                key: Some("k"),
                scheme: Scheme::EncordV2,
                method: "GET",
                url_or_target: "https://api.encord.com/v2/public/x?y=1",
                body_sha256: [3; 32],
            }),
            frame_of(&Explain {
                scheme: "ssh",
                ..Explain::default()
            }),
            frame_of(&Diagnose),
            frame_of(&Reload),
            frame_of(&SecretAdd {
                request: &AddSecretRequest {
                    name: "labels".into(),
                    kind: signet_proto::secret::SecretKind::EncordBearer,
                    resource: String::new(),
                    scopes: vec![],
                    title: String::new(),
                    lifetime: 0,
                    replace: false,
                    value: signet_proto::secret::SecretValue::copy_of(b"tok"),
                },
            }),
            frame_of(&SecretList),
            frame_of(&SecretRemove { name: "labels" }),
            frame_of(&GetSecret { name: "labels" }),
            frame_of(&UnlockStore {
                passphrase: &Passphrase::new(b"pw".to_vec()),
                create: true,
            }),
            frame_of(&LockStore),
            frame_of(&Passwd {
                old: &Passphrase::new(b"a".to_vec()),
                new: &Passphrase::new(b"b".to_vec()),
            }),
        ];
        let mut seen = Vec::new();
        for f in &frames {
            let Ok(Request::Extension { name, contents }) = Request::decode(&f[4..]) else {
                panic!("not an extension frame: {f:?}");
            };
            let ext = Extension::decode(name, contents).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!matches!(ext, Extension::Unknown { .. }), "{name}");
            seen.push(name.to_owned());
            match ext {
                Extension::Load(sel) => assert_eq!(sel.lifetime, Some(2), "rounded up"),
                Extension::SignRequest(r) => assert_eq!(r.target, "/v2/public/x?y=1"),
                _ => {}
            }
        }
        // Every extension the agent answers has an op.
        for name in SUPPORTED {
            assert!(seen.iter().any(|s| s == name), "no op for {name}");
        }
    }

    #[test]
    fn a_missing_key_that_expired_is_named_with_when_and_how() {
        let blob = signet_proto::key::ed25519_blob(&[7; 32]);
        let d = Diagnosis {
            confirm_available: false,
            expired: vec![ExpiredKey {
                name: "work".into(),
                key_blob: blob,
                origin: "keyring".into(),
                lifetime_secs: 1,
                expired_secs_ago: 2,
            }],
        };
        let missing = |s: &str| Error::NoSuchKey {
            selector: s.to_owned(),
        };
        match explain_missing(missing("work"), Some(d.clone())) {
            e @ Error::KeyExpired { .. } => {
                let m = e.to_string();
                assert!(m.contains("\"work\""), "{m}");
                assert!(m.contains("lifetime of 1s ended 2s ago"), "{m}");
                assert!(m.contains("signet load work"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            explain_missing(
                missing(&signet_proto::key::key_id(&[7; 32])),
                Some(d.clone())
            ),
            Error::KeyExpired { .. }
        ));
        assert!(matches!(
            explain_missing(missing(""), Some(d.clone())),
            Error::KeyExpired { .. }
        ));
        assert!(matches!(
            explain_missing(missing("other"), Some(d)),
            Error::NoSuchKey { .. }
        ));
        assert!(matches!(
            explain_missing(missing("work"), None),
            Error::NoSuchKey { .. }
        ));
    }

    #[test]
    fn invalid_input_is_refused_before_anything_is_encoded() {
        let mut out = Vec::new();
        let bad = SignRequest {
            key: None,
            scheme: Scheme::EncordV2,
            method: "GE T",
            url_or_target: "/x",
            body_sha256: [0; 32],
        };
        assert!(matches!(
            bad.encode(&mut out),
            Err(Error::InvalidInput { .. })
        ));
        assert!(out.is_empty());
        let seed = Ed25519Seed::new([1; 32]);
        let add = Add {
            seed: &seed,
            public: &[0; 32],
            name: "k",
            lifetime: Some(Duration::ZERO),
            confirm: false,
            remember: None,
        };
        assert!(matches!(
            add.encode(&mut out),
            Err(Error::InvalidInput { .. })
        ));
        let remember_without_confirm = Add {
            lifetime: None,
            remember: Some(Duration::from_secs(60)),
            ..add
        };
        assert!(remember_without_confirm.encode(&mut out).is_err());
    }

    #[test]
    fn confirm_remember_is_the_last_constraint() {
        let seed = Ed25519Seed::new([1; 32]);
        let f = frame_of(&Add {
            seed: &seed,
            public: &[0; 32],
            name: "k",
            lifetime: Some(Duration::from_secs(9)),
            confirm: true,
            remember: Some(Duration::from_secs(600)),
        });
        let Ok(Request::AddIdentity(add)) = Request::decode(&f[4..]) else {
            panic!("not an add");
        };
        assert_eq!(
            add.constraints,
            vec![
                Constraint::Lifetime(9),
                Constraint::Confirm,
                Constraint::Extension {
                    name: CONFIRM_REMEMBER.into(),
                    details: 600u32.to_be_bytes().to_vec()
                }
            ]
        );
    }

    #[test]
    fn replies_map_to_errors() {
        let failure = |code: ErrorCode, reason: &str| {
            let mut c = Vec::new();
            ExtensionError::new(code, reason).encode(&mut c);
            Response::ExtensionFailure(c)
        };
        assert!(matches!(
            Status.decode(failure(ErrorCode::Locked, "x"), &ctx()),
            Err(Error::Locked)
        ));
        assert!(matches!(
            Version.decode(Response::Failure, &ctx()),
            Err(Error::NotSignet { .. })
        ));
        // Key-store failures keep the agent's own sentence.
        match (Delete { name: "k" })
            .decode(failure(ErrorCode::NoSuchKey, "no stored key k"), &ctx())
        {
            Err(Error::Refused { reason, code }) => {
                assert_eq!(reason, "no stored key k");
                assert_eq!(code, Some(ErrorCode::NoSuchKey));
            }
            other => panic!("{other:?}"),
        }
        let sr = SignRequest {
            key: Some(" ci "),
            scheme: Scheme::EncordV2,
            method: "GET",
            url_or_target: "/x",
            body_sha256: [0; 32],
        };
        match sr.decode(failure(ErrorCode::NoSuchKey, "x"), &ctx()) {
            Err(Error::NoSuchKey { selector }) => assert_eq!(selector, "ci"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Remove { key_blob: b"" }.decode(Response::Signature(vec![]), &ctx()),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn an_ambiguous_unlock_is_told_apart_by_the_lock_state() {
        let locked = |locked| {
            Ok(StatusReply {
                protocol: 1,
                agent_version: String::new(),
                pid: 1,
                locked,
                keys: 0,
                uptime_secs: 0,
                socket: String::new(),
            })
        };
        let refused = || {
            Unlock(&Passphrase::new(b"x".to_vec()))
                .decode(Response::Failure, &ctx())
                .err()
                .unwrap_or(Error::Locked)
        };
        assert!(unlock_is_ambiguous(&refused()));
        assert!(matches!(
            unlock_failure(refused(), locked(true)),
            Error::WrongPassphrase
        ));
        assert!(matches!(
            unlock_failure(refused(), locked(false)),
            Error::NotLocked
        ));
        assert!(matches!(
            unlock_failure(refused(), Err(Error::Locked)),
            Error::Refused { .. }
        ));
    }
}
