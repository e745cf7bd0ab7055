//! Signing: SSH `SIGN_REQUEST` and `sign-request@signet` through one
//! pipeline.
//!
//! Each entry point chooses the key and says what is signed ([`Signing`]);
//! [`pipeline`] then does the rest, the same for both: the policy decision
//! (rule, idle timeout, rate limit), the user's confirmation if the key
//! needs it, the signature, the audit record (a signature whose record
//! cannot be queued is withheld), and the key's last use.

use std::sync::Arc;

use signet_proto::encord;
use signet_proto::extension::{ErrorCode, ExtensionError, SignHttpRequest};
use signet_proto::key::{blob_algorithm, parse_ed25519_blob};
use signet_proto::message::encode_ed25519_sign_response;
use signet_proto::text::escape;
use signet_proto::SignRequest;
use tokio::time::Instant;
use tracing::warn;

use super::{key_error, Failure, Outcome};
use crate::access::peer::Peer;
use crate::agent::{Agent, LoadedKey};
use crate::audit::{Event, Verdict};
use crate::confirm;
use crate::policy::Operation;

/// Why a signature is withheld when the audit log cannot keep up.
const AUDIT_FULL: &str =
    "the audit log is not keeping up (its queue is full): signature withheld; retry shortly";

/// One signature to make: the key, what it signs, and how to show it.
struct Signing<'a> {
    key: Arc<LoadedKey>,
    /// What the policy judges.
    op: Operation<'a>,
    /// The bytes signed.
    message: &'a [u8],
    /// What the audit log records as the digest: of the data (SSH) or of
    /// the body (HTTP).
    digest: [u8; 32],
    /// Encord v2's `created`, recorded when signed.
    created: Option<u64>,
}

impl Signing<'_> {
    /// The confirmation prompt; everything the client chose is escaped, so
    /// it cannot forge a line ("Requested by …") the user relies on.
    fn prompt(&self, peer: &Peer) -> String {
        let key = escape(&self.key.name);
        let what = match self.op {
            Operation::Ssh => format!(
                "Allow use of key \"{key}\" to sign {} bytes?",
                self.message.len()
            ),
            Operation::Http { method, target, .. } => format!(
                "Allow key \"{key}\" to sign {} {}?",
                escape(&method.to_ascii_uppercase()),
                escape(target)
            ),
        };
        format!("{what}\nRequested by {}", peer.describe())
    }

    fn event(&self, peer: &Peer, exe: Option<Arc<str>>, decision: Verdict) -> Event {
        let (method, target) = match self.op {
            Operation::Ssh => (String::new(), String::new()),
            Operation::Http { method, target, .. } => {
                (method.to_ascii_uppercase(), target.to_owned())
            }
        };
        Event {
            decision,
            key: self.key.name.clone(),
            key_public: Some(self.key.public),
            scheme: self.op.scheme_name(),
            method,
            target,
            digest: self.digest,
            created: self.created.filter(|_| decision == Verdict::Sign),
            pid: peer.pid,
            uid: peer.uid,
            exe: exe.unwrap_or_else(|| "?".into()),
            rule: None,
            reason: String::new(),
        }
    }
}

/// Why the pipeline made no signature: a sentence for the user (SSH
/// clients only see FAILURE; the log and the audit record say why).
struct Refused(String);

/// The pipeline both entry points share; the signature is made only if
/// every step allows it.
async fn pipeline(agent: &Agent, peer: &Peer, s: &Signing<'_>) -> Result<[u8; 64], Refused> {
    let caller = agent.caller(peer);
    let now = Instant::now();
    let event = |decision, rule, reason| Event {
        rule,
        reason,
        ..s.event(peer, caller.exe_shared(), decision)
    };
    let decision = agent.decide(&s.key, &s.op, &caller, now);
    if decision.idle_expired {
        agent.unload_idle(&s.key);
    }
    if !decision.allowed {
        warn!(%peer, "refused: {}", decision.reason);
        agent.audit(|| {
            event(
                Verdict::Refuse,
                decision.rule.clone(),
                decision.reason.clone(),
            )
        });
        return Err(Refused(decision.reason));
    }
    if s.key.confirm {
        if let Err(why) = confirm::ask(&s.prompt(peer)).await {
            let reason = format!("key {}: {why}", s.key.name);
            agent.audit(|| event(Verdict::Refuse, decision.rule.clone(), reason.clone()));
            return Err(Refused(reason));
        }
    }
    let sig = s.key.sign(s.message);
    if !agent.audit(|| event(Verdict::Sign, decision.rule.clone(), String::new())) {
        return Err(Refused(AUDIT_FULL.to_owned()));
    }
    s.key.touch(now);
    Ok(sig)
}

/// `SSH_AGENTC_SIGN_REQUEST`: raw signing with the key of that blob. SSH
/// has no reason field: the client sees FAILURE, the log says why.
pub(super) async fn ssh(
    agent: &Agent,
    req: SignRequest<'_>,
    peer: &Peer,
    out: &mut Vec<u8>,
) -> Outcome {
    let public = parse_ed25519_blob(req.key_blob).map_err(|_| {
        Failure::plain(format!(
            "sign request for a {} key, which signetd does not hold",
            blob_algorithm(req.key_blob).unwrap_or("malformed")
        ))
    })?;
    let key = agent
        .keys
        .get(&public, Instant::now())
        .ok_or_else(|| Failure::plain("sign request for a key that is not loaded"))?;
    let signing = Signing {
        key,
        op: Operation::Ssh,
        message: req.data,
        digest: sha256(req.data),
        created: None,
    };
    let sig = pipeline(agent, peer, &signing)
        .await
        .map_err(|Refused(why)| Failure::Plain(why))?;
    encode_ed25519_sign_response(out, &sig);
    Ok(())
}

/// `sign-request@signet`: an Encord HTTP request, signed over the base the
/// scheme defines (v2's `created` from the agent's wall clock).
pub(super) async fn http(
    agent: &Agent,
    req: SignHttpRequest<'_>,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> Result<(), ExtensionError> {
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
    let signing = Signing {
        key,
        op: Operation::Http {
            scheme: req.scheme,
            method: req.method,
            target: req.target,
        },
        message: prepared.message(),
        digest: req.body_sha256,
        created: Some(created),
    };
    let sig = pipeline(agent, peer, &signing)
        .await
        .map_err(|Refused(reason)| ExtensionError::new(ErrorCode::Refused, reason))?;
    prepared.into_headers(&sig).encode(reply);
    Ok(())
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}
