//! What the agent says about itself: `query`, `version@signet`,
//! `status@signet`, `list@signet`, `diagnose@signet`, `audit-info@signet`,
//! `reload@signet` and `stop@signet`.

use signet_proto::extension::{self, Diagnosis, ErrorCode, ExtensionError, Status, VersionReply};
use signet_proto::frame::MAX_FRAME_LEN;
use signet_proto::wire::WireWrite as _;
use tokio::time::Instant;
use tracing::info;

use super::gate::{AdminPermit, ReadPermit};
use crate::access::peer::Peer;
use crate::agent::Agent;

/// `query`: the extensions this agent answers.
pub(super) fn query(reply: &mut Vec<u8>) {
    extension::encode_query_reply(reply, extension::SUPPORTED);
}

/// `version@signet`.
pub(super) fn version(reply: &mut Vec<u8>) {
    VersionReply {
        protocol: extension::PROTOCOL_VERSION,
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
    .encode(reply);
}

/// `status@signet` (no key count while locked).
pub(super) fn status(agent: &Agent, permit: &ReadPermit, reply: &mut Vec<u8>) {
    let keys = if !permit.show_keys() {
        0
    } else {
        u32::try_from(agent.keys.snapshot(Instant::now()).len()).unwrap_or(u32::MAX)
    };
    Status {
        protocol: extension::PROTOCOL_VERSION,
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        locked: !permit.show_keys(),
        keys,
        uptime_secs: agent.uptime().as_secs(),
        socket: agent.socket().to_owned(),
    }
    .encode(reply);
}

/// `list@signet`: the loaded keys with their details and policy lines
/// (none while locked). Names and key blobs always fit in a reply (the
/// table is kept so: `agent::bindings`); policy lines, which the
/// configuration can make long, are cut to their rule's name when the
/// whole would not fit.
pub(super) fn list(agent: &Agent, permit: &ReadPermit, reply: &mut Vec<u8>) {
    let mut infos = if !permit.show_keys() {
        Vec::new()
    } else {
        let policies = agent.policies();
        agent.keys.infos_with_policy(Instant::now(), |name| {
            policies
                .rule_for(name)
                .map(|r| r.summary())
                .unwrap_or_default()
        })
    };
    let start = reply.len();
    extension::encode_list_reply(reply, &infos);
    // The frame also holds the reply's type and name.
    if reply.len() - start + 64 > MAX_FRAME_LEN {
        for k in &mut infos {
            if let Some((rule, _)) = k.policy.split_once(": ") {
                k.policy = format!("{rule}: (see `signet explain`)");
            }
        }
        reply.truncate(start);
        extension::encode_list_reply(reply, &infos);
    }
}

/// `diagnose@signet`: whether the agent can ask for confirmation, and the
/// keys whose lifetime ended recently (the client's "expired 2m ago").
pub(super) fn diagnose(agent: &Agent, _: &ReadPermit, reply: &mut Vec<u8>) {
    Diagnosis {
        confirm_available: crate::confirm::available(),
        expired: agent.keys.recently_expired(Instant::now()),
    }
    .encode(reply);
}

/// `audit-info@signet`: where the audit log is, the key its seals verify
/// with, and whether it is being written.
pub(super) fn audit_info(agent: &Agent, _: &ReadPermit, reply: &mut Vec<u8>) {
    agent.audit_info().encode(reply);
}

/// `reload@signet`: re-reads the configuration as SIGHUP does, and says
/// what happened; an invalid file changes nothing.
pub(super) fn reload(
    agent: &Agent,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> Result<(), ExtensionError> {
    match agent.reload() {
        Ok(said) => {
            info!(%peer, "reload requested over the socket: {said}");
            reply.put_string(said.as_bytes());
            Ok(())
        }
        Err(e) => {
            tracing::warn!(%peer, "reload requested over the socket: {e}");
            Err(ExtensionError::new(ErrorCode::Refused, e.to_string()))
        }
    }
}

/// `stop@signet`: replies, then the daemon shuts down gracefully.
pub(super) fn stop(agent: &Agent, _: &AdminPermit, peer: &Peer) {
    info!(%peer, "stop requested over the socket");
    agent.shutdown.cancel();
}
