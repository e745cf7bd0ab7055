//! Signing: SSH `SIGN_REQUEST` and `sign-request@signet` through one
//! pipeline.
//!
//! Each entry point chooses the key and says what would be signed
//! ([`ssh_signing`], [`http_signing`]: a [`Signing`]); the gate decides it
//! (the key's rule, idle timeout, rate limits, the user's confirmation) and
//! hands back a [`Grant`]; [`pipeline`] then does the rest, the same for
//! both: the signature, its audit record (committed before the reply is
//! encoded: a signature whose record is not durably queued is withheld),
//! the key's last use, and the reply.

use std::sync::Arc;

use signet_proto::encord::{self, Prepared};
use signet_proto::extension::{self, ErrorCode, ExtensionError, SignHttpRequest};
use signet_proto::key::{blob_algorithm, ED25519_ALGORITHM, ED25519_CERT_ALGORITHM};
use signet_proto::message::encode_ed25519_sign_response;
use signet_proto::sshdata::{self, RawData};
use signet_proto::text::escape;
use signet_proto::SignRequest;
use tokio::time::Instant;
use tracing::warn;

use super::gate::Grant;
use super::{key_error, Failure, Outcome};
use crate::access::caller::Caller;
use crate::access::caller::ProcessIdentity;
use crate::agent::{Agent, LoadedKey};
use crate::audit::{Event, Verdict};
use crate::policy::Operation;

/// What a key would sign: the client's bytes (SSH), or the base of an
/// Encord request the agent built itself.
pub(crate) enum Message<'a> {
    /// Raw SSH signing: exactly these bytes.
    Ssh(&'a [u8]),
    /// An Encord request: the signature base, and how to make headers.
    Encord(Prepared),
}

/// One signature to decide and make: the key, what it signs, and how to
/// show it.
pub(crate) struct Signing<'a> {
    /// The key.
    pub(crate) key: Arc<LoadedKey>,
    /// What the policy judges.
    pub(crate) op: Operation<'a>,
    /// The bytes signed.
    message: Message<'a>,
    /// What the audit log records as the digest: of the data (SSH) or of
    /// the body (HTTP).
    digest: [u8; 32],
    /// Encord v2's `created`, recorded when signed.
    created: Option<u64>,
}

impl Signing<'_> {
    fn bytes(&self) -> &[u8] {
        match &self.message {
            Message::Ssh(data) => data,
            Message::Encord(prepared) => prepared.message(),
        }
    }

    /// The confirmation prompt; everything the client chose is escaped, so
    /// it cannot forge a line ("Requested by …") the user relies on.
    pub(crate) fn prompt(&self, caller: &Caller, who: Option<&ProcessIdentity>) -> String {
        let key = escape(&self.key.name);
        let what = match self.op {
            Operation::Http { method, target, .. } => format!(
                "Allow key \"{key}\" to sign {} {}?",
                escape(&method.to_ascii_uppercase()),
                escape(target)
            ),
            _ => format!(
                "Allow use of key \"{key}\" to sign {} bytes?",
                self.bytes().len()
            ),
        };
        let remember = match (self.key.remember, who) {
            (Some(r), Some(p)) => format!(
                "\nA yes is remembered for {} for this process only (pid {}, {}); `signet lock` forgets it.",
                signet_proto::duration::human(r.as_secs()),
                p.pid,
                escape(&p.exe)
            ),
            (Some(_), None) => {
                "\nThis process cannot be identified, so a yes is not remembered.".to_owned()
            }
            (None, _) => String::new(),
        };
        format!("{what}\nRequested by {}{remember}", caller.describe())
    }

    /// The audit event for this signature or its refusal.
    pub(crate) fn event(
        &self,
        caller: &Caller,
        decision: Verdict,
        rule: Option<Arc<str>>,
        reason: String,
    ) -> Event {
        let (method, target) = match self.op {
            Operation::Http { method, target, .. } => {
                (method.to_ascii_uppercase(), target.to_owned())
            }
            _ => (String::new(), String::new()),
        };
        let peer = &caller.peer;
        Event {
            decision,
            key: self.key.name.clone(),
            key_public: Some(self.key.public),
            scheme: self.op.scheme_name(),
            method,
            target,
            digest: self.digest,
            created: self.created.filter(|_| decision == Verdict::Sign),
            pid: caller.pid(),
            uid: peer.uid,
            exe: caller.exe_shared().unwrap_or_else(|| "?".into()),
            rule,
            reason,
            time: 0,
        }
    }
}

/// `SSH_AGENTC_SIGN_REQUEST`: raw signing with the key of that blob. SSH
/// has no reason field: the client sees FAILURE, the log says why.
pub(crate) fn ssh_signing<'a>(agent: &Agent, req: SignRequest<'a>) -> Result<Signing<'a>, Failure> {
    // The identity of exactly that blob: a plain key's blob names the key,
    // a certificate's that certificate (whose signature is the key's).
    let key = match agent.keys.get_identity(req.key_blob, Instant::now()) {
        Some(key) => key,
        None => {
            let algorithm = blob_algorithm(req.key_blob);
            return Err(Failure::plain(match algorithm {
                Some(ED25519_ALGORITHM | ED25519_CERT_ALGORITHM) => {
                    "sign request for a key that is not loaded (or a certificate past its validity)"
                        .to_owned()
                }
                _ => format!(
                    "sign request for a {} key, which signetd does not hold",
                    escape(algorithm.unwrap_or("malformed"))
                ),
            }));
        }
    };
    // What the bytes are decides which of the key's rule applies: an SSH
    // login with this key or SSHSIG data is `ssh`, anything else `raw`.
    let op = match sshdata::classify(req.data, &key.blob) {
        RawData::UserAuth { .. } | RawData::Sshsig { .. } => Operation::Ssh,
        RawData::Other(what) => Operation::Raw(what),
    };
    Ok(Signing {
        key,
        op,
        message: Message::Ssh(req.data),
        digest: sha256(req.data),
        created: None,
    })
}

/// `sign-request@signet`: an Encord HTTP request, signed over the base the
/// scheme defines (v2's `created` from the agent's wall clock).
pub(crate) fn http_signing<'a>(
    agent: &Agent,
    req: SignHttpRequest<'a>,
) -> Result<Signing<'a>, Failure> {
    let key = agent
        .keys
        .select(req.key, Instant::now())
        .map_err(|e| key_error(&e))?;
    let created = agent
        .wall_clock()
        .saturating_add_signed(agent.config().encord.created_offset_secs);
    let prepared = encord::prepare(
        req.scheme,
        req.method,
        req.target,
        &req.body_sha256,
        &key.public,
        created,
    )
    .map_err(|e| {
        ExtensionError::new(
            ErrorCode::BadRequest,
            format!("cannot sign this request: {e}"),
        )
    })?;
    Ok(Signing {
        key,
        op: Operation::Http {
            scheme: req.scheme,
            method: req.method,
            target: req.target,
        },
        message: Message::Encord(prepared),
        digest: req.body_sha256,
        created: Some(created),
    })
}

/// The pipeline both entry points share, after the gate allowed the
/// signature: sign, record, remember the use, reply. A key in memory signs
/// here; a key on a PKCS#11 token signs on a blocking thread (the module
/// blocks), and if the token refuses or is gone the request is refused
/// with the token's reason (and audited), while every other key signs on.
pub(crate) async fn pipeline(
    agent: &Agent,
    caller: &Caller,
    grant: Grant<'_>,
    out: &mut Vec<u8>,
) -> Outcome {
    let s = &grant.signing;
    let signed = if s.key.blocks() {
        let (key, message) = (s.key.clone(), s.bytes().to_vec());
        match tokio::task::spawn_blocking(move || key.sign(&message)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the signing thread failed: {e}")),
        }
    } else {
        s.key.sign(s.bytes()).map_err(|e| e.to_string())
    };
    let sig = match signed {
        Ok(sig) => sig,
        Err(why) => {
            let reason = format!("key {:?} cannot sign: {why}", escape(&s.key.name));
            warn!(key = %s.key.name, "{reason}");
            agent.audit(|| s.event(caller, Verdict::Refuse, grant.rule.clone(), reason.clone()));
            return Err(match s.message {
                Message::Ssh(_) => Failure::plain(reason),
                Message::Encord(_) => Failure::Ext(ExtensionError::new(ErrorCode::Refused, reason)),
            });
        }
    };
    // No signature without its record.
    if let Err(e) = agent
        .commit_audit(|| s.event(caller, Verdict::Sign, grant.rule.clone(), String::new()))
        .await
    {
        tracing::warn!(peer = %caller.peer, key = %s.key.name, "signature withheld: {e}");
        return Err(match s.message {
            Message::Ssh(_) => Failure::plain(e.to_string()),
            Message::Encord(_) => {
                Failure::Ext(ExtensionError::new(ErrorCode::Refused, e.to_string()))
            }
        });
    }
    s.key.touch(grant.decided);
    match grant.signing.message {
        Message::Ssh(_) => encode_ed25519_sign_response(out, &sig),
        Message::Encord(prepared) => {
            let mut reply = Vec::new();
            prepared.into_headers(&sig).encode(&mut reply);
            super::extension_reply(extension::SIGN_REQUEST, reply, out);
        }
    }
    Ok(())
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}
