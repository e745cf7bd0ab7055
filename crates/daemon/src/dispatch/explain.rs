//! `explain@signet`: the decision signing would make, without signing and
//! without taking rate-limit tokens (what `signet explain` prints is what
//! signing does: the same rule evaluation).

use signet_proto::encord::Scheme;
use signet_proto::extension::{ErrorCode, ExplainReply, ExplainRequest, ExtensionError};
use signet_proto::sshdata::Unstructured;
use tokio::time::Instant;

use super::gate::ReadPermit;
use super::key_error;
use crate::access::accounts::Databases;
use crate::access::caller::Caller;
use crate::access::peer::Peer;
use crate::agent::Agent;
use crate::policy::Operation;

/// `explain@signet` for the caller, or (the gate checked that an admin
/// asks) for another uid.
pub(super) fn explain(
    agent: &Agent,
    req: ExplainRequest<'_>,
    _: &ReadPermit,
    caller: &Caller,
    reply: &mut Vec<u8>,
) -> Result<(), ExtensionError> {
    let peer = &caller.peer;
    let key = agent
        .keys
        .select(req.key, Instant::now())
        .map_err(|e| key_error(&e))?;
    let as_peer = match req.as_uid {
        Some(uid) if uid != peer.uid => Peer {
            uid,
            gid: Databases::system()
                .ok()
                .and_then(|db| db.primary_gid(uid))
                .unwrap_or(u32::MAX),
            // Another uid's process groups, executable and unit are not
            // this process's: only what is given is known.
            pid: None,
        },
        _ => *peer,
    };
    let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let caller = Caller::with_facts(as_peer, given(req.as_exe), given(req.as_unit));
    let op = match req.scheme {
        "ssh" => Operation::Ssh,
        "raw" => Operation::Raw(Unstructured::Arbitrary),
        name => Operation::Http {
            scheme: Scheme::parse(name).ok_or_else(|| {
                ExtensionError::new(
                    ErrorCode::BadRequest,
                    format!("unknown scheme {name:?}: use encord-v1, encord-v2, ssh or raw"),
                )
            })?,
            method: req.method,
            target: req.target,
        },
    };
    let policies = agent.policies();
    let decision = policies.evaluate(&key.bound_as, &key.name, &op, &caller);
    ExplainReply {
        allowed: decision.allowed,
        key: key.name.to_string(),
        rule: decision.rule.as_deref().unwrap_or_default().to_owned(),
        reason: decision.explain(&key.name),
        summary: policies
            .rule_for(&key.bound_as)
            .map(|r| r.summary())
            .unwrap_or_default(),
    }
    .encode(reply);
    Ok(())
}
