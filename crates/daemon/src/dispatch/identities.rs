//! The agent protocol's key management: list (`REQUEST_IDENTITIES`), add
//! (`ADD_IDENTITY`, `ADD_ID_CONSTRAINED`), remove one, remove all.

use std::time::Duration;

use signet_proto::key::{blob_algorithm, ED25519_CERT_ALGORITHM};
use signet_proto::message::encode_status;
use signet_proto::text::escape;
use signet_proto::{AddIdentity, Constraint, Identity, NewKey, Response};
use tokio::time::Instant;
use tracing::{info, warn};

use super::gate::{AdminPermit, ReadPermit};
use super::{Failure, Outcome};
use crate::access::peer::Peer;
use crate::agent::{AddError, Agent, LoadedKey, Origin};
use crate::sshkey;

/// The constraint extension that says how long a confirmation lasts
/// (signet-client's `op::CONFIRM_REMEMBER`).
const CONFIRM_REMEMBER: &str = "confirm-remember@signet";

/// `REQUEST_IDENTITIES`: every live key (none while locked).
pub(super) fn list(agent: &Agent, permit: &ReadPermit, out: &mut Vec<u8>) -> Outcome {
    let ids = if !permit.show_keys() {
        Vec::new()
    } else {
        agent
            .keys
            .snapshot(Instant::now())
            .iter()
            .map(|k| Identity {
                key_blob: k.blob.clone(),
                comment: k.name.to_string(),
            })
            .collect()
    };
    Response::Identities(ids).encode_frame(out);
    Ok(())
}

/// `ADD_IDENTITY` / `ADD_ID_CONSTRAINED`: an Ed25519 key, or an Ed25519 key
/// with its OpenSSH certificate (an identity of its own), with an optional
/// lifetime and confirmation; any other constraint refuses the key.
pub(super) async fn add(
    agent: &Agent,
    add: AddIdentity,
    _: &AdminPermit,
    peer: &Peer,
    out: &mut Vec<u8>,
) -> Outcome {
    let (public, seed, certificate) = match add.key {
        NewKey::Ed25519 { public, seed } => (public, seed, None),
        NewKey::Ed25519Cert {
            certificate,
            public,
            seed,
        } => (public, seed, Some(certificate)),
        NewKey::Unsupported { algorithm } => {
            warn!(%peer, "refused to add a {algorithm} key: signetd holds only Ed25519 keys");
            return Err(Failure::plain(format!("unsupported key type {algorithm}")));
        }
    };
    let now = Instant::now();
    // A certificate must certify this key, verify under its authority and
    // not have expired (OpenSSH's cert_parse and sshkey_private_deserialize
    // checks; one not yet valid is kept: the server judges it).
    let certificate = match certificate {
        None => None,
        Some(blob) => {
            let info = sshkey::certificate_of(&blob, &public, agent.wall_clock()).map_err(|e| {
                warn!(%peer, "refused to add a certificate: {e}");
                Failure::plain(format!("cannot add certificate: {e}"))
            })?;
            Some((blob, info))
        }
    };
    let mut expires_at = None;
    let mut confirm = false;
    let mut remember = None;
    for c in add.constraints {
        match c {
            // As OpenSSH: the lifetime counts from now; 0 means already
            // expired. A lifetime past what the clock can hold is refused.
            Constraint::Lifetime(secs) => {
                expires_at = Some(
                    now.checked_add(Duration::from_secs(u64::from(secs)))
                        .ok_or_else(|| {
                            Failure::plain(format!(
                                "lifetime of {secs} s is longer than this agent can count"
                            ))
                        })?,
                )
            }
            Constraint::Confirm => confirm = true,
            // How long a yes lasts for the process that gave it: uint32
            // seconds, and nothing else.
            Constraint::Extension { name, details } if name == CONFIRM_REMEMBER => {
                let secs: [u8; 4] = details.as_slice().try_into().map_err(|_| {
                    Failure::plain(format!("malformed {CONFIRM_REMEMBER} constraint"))
                })?;
                remember = Some(std::time::Duration::from_secs(u64::from(
                    u32::from_be_bytes(secs),
                )));
            }
            Constraint::Extension { name, .. } => {
                warn!(%peer, "refused to add a key with unknown constraint {:?}", escape(&name));
                return Err(Failure::plain(format!(
                    "unsupported key constraint {}",
                    escape(&name)
                )));
            }
        }
    }
    // Without a lifetime constraint, the default lifetime if one is set
    // (`signetd -t`, `[agent] default_lifetime`), as `ssh-agent -t`.
    if expires_at.is_none() {
        if let Some(secs) = agent.added_key_lifetime() {
            expires_at = now.checked_add(Duration::from_secs(secs));
        }
    }
    // A certificate is removed when its validity ends, or sooner with a
    // shorter lifetime.
    if let Some((_, info)) = &certificate {
        let left = info.valid_before.saturating_sub(agent.wall_clock());
        if let Some(end) = now.checked_add(Duration::from_secs(left)) {
            expires_at = Some(expires_at.map_or(end, |t: Instant| t.min(end)));
        }
    }
    if remember.is_some() && !confirm {
        warn!(%peer, "refused a key with {CONFIRM_REMEMBER} but no confirm constraint");
        return Err(Failure::plain(format!(
            "{CONFIRM_REMEMBER} without the confirm constraint"
        )));
    }
    if confirm && !crate::confirm::available() {
        warn!(%peer, "key {:?} needs confirmation, but signetd has no askpass program (SIGNET_ASKPASS or SSH_ASKPASS): every use of it will be refused", escape(&add.comment));
    }
    let name = add.comment;
    let key = LoadedKey::new(
        seed.expose(),
        public,
        name.clone(),
        expires_at,
        confirm,
        Origin::Agent,
    )
    .map_err(|e| Failure::plain(format!("cannot add key: {e}")))?
    .with_remember(remember);
    let (key, what) = match certificate {
        Some((blob, info)) => (key.with_certificate(blob, info), "certificate"),
        None => (key, "key"),
    };
    let refused = |e: AddError| {
        warn!(%peer, "refused to add a key: {e}");
        Failure::plain(format!("cannot add key: {e}"))
    };
    let stored = agent
        .stored_entries()
        .await
        .map_err(|e| refused(AddError::Store(e)))?;
    agent.add_key(key, &stored).map_err(refused)?;
    info!(%peer, key = %escape(&name), lifetime_secs = ?expires_at.map(|t| t.saturating_duration_since(now).as_secs()), confirm, "{what} added");
    encode_status(out, true);
    Ok(())
}

/// `REMOVE_IDENTITY`: the identity with this blob, a plain key's or a
/// certificate's (removing one leaves the other, as in OpenSSH).
pub(super) fn remove(
    agent: &Agent,
    key_blob: &[u8],
    _: &AdminPermit,
    peer: &Peer,
    out: &mut Vec<u8>,
) -> Outcome {
    if !agent.keys.remove_identity(key_blob) {
        return Err(Failure::plain(format!(
            "cannot remove: no such {}",
            match blob_algorithm(key_blob) {
                Some(ED25519_CERT_ALGORITHM) => "certificate",
                _ => "key",
            }
        )));
    }
    info!(%peer, "removed an identity");
    encode_status(out, true);
    Ok(())
}

/// `REMOVE_ALL_IDENTITIES`.
pub(super) fn remove_all(
    agent: &Agent,
    _: &AdminPermit,
    peer: &Peer,
    out: &mut Vec<u8>,
) -> Outcome {
    let n = agent.keys.clear();
    info!(%peer, "removed all keys ({n})");
    encode_status(out, true);
    Ok(())
}
