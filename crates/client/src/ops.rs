//! The operations as pure functions: how each request is encoded and how its
//! reply is interpreted. The blocking [`crate::Client`] and the async client
//! share them, so they differ only in how bytes move.

use std::path::Path;
use std::time::Duration;

use signet_proto::extension::{self, ErrorCode, ExtensionError, SignHttpRequest, VersionReply};
use signet_proto::frame;
use signet_proto::message::msg;
use signet_proto::wire::WireWrite;
use signet_proto::{
    AddIdentity, Constraint, Ed25519Seed, Identity, NewKey, Passphrase, Request, Response,
    SignRequest,
};

use crate::error::{Error, Result};
use crate::http::SignedHeaders;
use crate::keys::{KeyInfo, Signature};

/// Capacity reserved before encoding a secret, so the buffer does not
/// reallocate (and leave a copy behind) while the secret is written into it.
pub(crate) const SECRET_RESERVE: usize = 1024;

/// Appends a complete request frame.
pub(crate) fn encode(out: &mut Vec<u8>, req: &Request<'_>) {
    req.encode_frame(out);
}

/// Appends a complete `SSH_AGENTC_EXTENSION` frame whose contents `contents`
/// writes directly into the buffer.
pub(crate) fn encode_extension(out: &mut Vec<u8>, name: &str, contents: impl FnOnce(&mut Vec<u8>)) {
    let start = frame::begin(out);
    out.put_u8(msg::EXTENSION);
    out.put_string(name.as_bytes());
    contents(out);
    frame::end(out, start);
}

/// Fails before sending if an encoded frame is over the agent's limit.
pub(crate) fn check_size(out: &[u8]) -> Result<()> {
    let len = out.len().saturating_sub(frame::LEN_PREFIX);
    if len > signet_proto::MAX_FRAME_LEN {
        return Err(Error::TooLarge {
            len,
            max: signet_proto::MAX_FRAME_LEN,
        });
    }
    Ok(())
}

pub(crate) fn encode_version(out: &mut Vec<u8>) {
    encode_extension(out, extension::VERSION, extension::encode_version_request);
}

/// Interprets the reply to `version@signet`.
pub(crate) fn version_reply(resp: Response, path: &Path) -> Result<VersionReply> {
    let not_signet = || Error::NotSignet {
        path: path.to_owned(),
    };
    match resp {
        Response::ExtensionResponse { name, contents } if name == extension::VERSION => {
            let reply = VersionReply::decode(&contents)?;
            if reply.protocol != extension::PROTOCOL_VERSION {
                return Err(Error::ProtocolMismatch {
                    path: path.to_owned(),
                    agent: Some(reply.protocol),
                    client: extension::PROTOCOL_VERSION,
                });
            }
            Ok(reply)
        }
        Response::ExtensionFailure(contents) => match ExtensionError::decode(&contents) {
            Ok(Some(e)) if e.code == ErrorCode::VersionMismatch => Err(Error::ProtocolMismatch {
                path: path.to_owned(),
                agent: None,
                client: extension::PROTOCOL_VERSION,
            }),
            Ok(Some(e)) => Err(from_extension_error(e, "")),
            _ => Err(not_signet()),
        },
        // A plain agent answers an extension it does not know with FAILURE
        // (OpenSSH), or some other reply: either way, not signetd.
        _ => Err(not_signet()),
    }
}

/// The contents of a successful reply to the signet extension `name`.
pub(crate) fn extension_reply(resp: Response, name: &str, selector: &str) -> Result<Vec<u8>> {
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

/// Interprets a reply that should be `SUCCESS`; `refused` explains a bare
/// `FAILURE`.
pub(crate) fn success(resp: Response, refused: &str, selector: &str) -> Result<()> {
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
pub(crate) fn from_extension_error(e: ExtensionError, selector: &str) -> Error {
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

pub(crate) fn encode_query(out: &mut Vec<u8>) {
    encode_extension(out, extension::QUERY, |_| {});
}

pub(crate) fn query_reply(resp: Response) -> Result<Vec<String>> {
    let contents = extension_reply(resp, extension::QUERY, "")?;
    Ok(extension::decode_query_reply(&contents)?)
}

pub(crate) fn encode_status(out: &mut Vec<u8>) {
    encode_extension(out, extension::STATUS, |_| {});
}

pub(crate) fn status_reply(resp: Response) -> Result<extension::Status> {
    let contents = extension_reply(resp, extension::STATUS, "")?;
    Ok(extension::Status::decode(&contents)?)
}

pub(crate) fn encode_list(out: &mut Vec<u8>) {
    encode_extension(out, extension::LIST, |_| {});
}

pub(crate) fn list_reply(resp: Response) -> Result<Vec<KeyInfo>> {
    let contents = extension_reply(resp, extension::LIST, "")?;
    extension::decode_list_reply(&contents)?
        .into_iter()
        .map(KeyInfo::from_proto)
        .collect()
}

pub(crate) fn encode_stop(out: &mut Vec<u8>) {
    encode_extension(out, extension::STOP, |_| {});
}

pub(crate) fn stop_reply(resp: Response) -> Result<()> {
    match resp {
        Response::Success => Ok(()),
        other => extension_reply(other, extension::STOP, "").map(drop),
    }
}

pub(crate) fn identities_reply(resp: Response) -> Result<Vec<Identity>> {
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

pub(crate) fn encode_sign(out: &mut Vec<u8>, key_blob: &[u8], data: &[u8]) {
    encode(
        out,
        &Request::Sign(SignRequest {
            key_blob,
            data,
            flags: 0,
        }),
    );
}

const SIGN_REFUSED: &str = "the agent refused to sign: the key may not be loaded (`signet list`), \
the agent may be locked (`signet unlock`), or the confirmation was denied";

pub(crate) fn sign_reply(resp: Response, key_blob: &[u8]) -> Result<Signature> {
    match resp {
        Response::Signature(blob) => Signature::from_ssh_blob(&blob),
        Response::Failure => Err(Error::Refused {
            reason: SIGN_REFUSED.to_owned(),
            code: None,
        }),
        Response::ExtensionFailure(contents) => Err(extension_failure(
            &contents,
            &signet_proto::key::fingerprint(key_blob),
            SIGN_REFUSED,
        )),
        other => Err(unexpected(&other)),
    }
}

/// Seconds for a lifetime constraint: sub-second parts round up.
pub(crate) fn lifetime_secs(lifetime: Duration) -> Result<u32> {
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

pub(crate) fn encode_add(
    out: &mut Vec<u8>,
    seed: &Ed25519Seed,
    public: &[u8; 32],
    name: &str,
    lifetime: Option<Duration>,
    confirm: bool,
) -> Result<()> {
    let mut constraints = Vec::new();
    if let Some(l) = lifetime {
        constraints.push(Constraint::Lifetime(lifetime_secs(l)?));
    }
    if confirm {
        constraints.push(Constraint::Confirm);
    }
    let add = Request::AddIdentity(AddIdentity {
        key: NewKey::Ed25519 {
            public: *public,
            seed: seed.clone(),
        },
        comment: name.to_owned(),
        constraints,
    });
    encode(out, &add);
    Ok(())
}

pub(crate) const ADD_REFUSED: &str = "the agent refused the key: a locked agent refuses new keys \
(`signet status`, `signet unlock`); otherwise see the agent's log";

pub(crate) fn encode_remove(out: &mut Vec<u8>, key_blob: &[u8]) {
    encode(out, &Request::RemoveIdentity { key_blob });
}

pub(crate) const REMOVE_REFUSED: &str =
    "the agent refused to remove the key: it may not be loaded \
(`signet list`) or the agent may be locked (`signet unlock`)";

pub(crate) const REMOVE_ALL_REFUSED: &str =
    "the agent refused to remove its keys: it may be locked (`signet unlock`)";

pub(crate) fn encode_lock(out: &mut Vec<u8>, passphrase: &Passphrase, lock: bool) {
    let req = if lock {
        Request::Lock(passphrase.clone())
    } else {
        Request::Unlock(passphrase.clone())
    };
    encode(out, &req);
}

pub(crate) const LOCK_REFUSED: &str =
    "the agent refused to lock: it may already be locked (`signet status`)";

pub(crate) const UNLOCK_REFUSED: &str = "the agent refused to unlock: the passphrase is wrong, \
or the agent is not locked (`signet status`)";

pub(crate) fn encode_sign_request(out: &mut Vec<u8>, req: &SignHttpRequest<'_>) {
    encode_extension(out, extension::SIGN_REQUEST, |out| req.encode(out));
}

pub(crate) fn sign_request_reply(resp: Response, selector: &str) -> Result<SignedHeaders> {
    let contents = extension_reply(resp, extension::SIGN_REQUEST, selector)?;
    let reply = extension::SignHttpReply::decode(&contents)?;
    Ok(SignedHeaders::from_reply(reply))
}

/// Whether an I/O error means the agent closed a connection we had kept
/// open (an idle timeout, say), so that one retry on a new connection is safe.
pub(crate) fn is_closed(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected | UnexpectedEof
    )
}

/// Maps a connect error: nothing listening is [`Error::NotRunning`].
pub(crate) fn connect_error(path: &Path, e: std::io::Error) -> Error {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound | ConnectionRefused => Error::NotRunning {
            path: path.to_owned(),
            source: e,
        },
        PermissionDenied => Error::PermissionDenied {
            path: path.to_owned(),
            source: e,
        },
        _ => Error::Io {
            path: path.to_owned(),
            source: e,
        },
    }
}
