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
use crate::access::caller::{Caller, Given};
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
    let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let mut facts = Given {
        exe: given(req.as_exe),
        unit: given(req.as_unit),
        groups: None,
    };
    let as_peer = match req.as_uid {
        Some(uid) if uid != peer.uid => {
            // Another uid's process is not this one: what is given is
            // known, and its groups are assumed as a fresh login of it
            // would hold them (its primary group and its /etc/group
            // memberships).
            let db = Databases::system().ok();
            facts.groups = Some(db.as_ref().map(|db| db.groups_of(uid)).unwrap_or_default());
            Peer {
                uid,
                gid: db.and_then(|db| db.primary_gid(uid)).unwrap_or(u32::MAX),
                pid: None,
            }
        }
        _ => *peer,
    };
    // The daemon's real sight: an executable it could not read from such a
    // caller is not taken from --as-exe (`Caller::checked_exe`).
    let caller = Caller::dry_run(caller, as_peer, facts);
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
