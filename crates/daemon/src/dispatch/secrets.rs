//! The secret extensions, one small function each: `secret-add@signet`,
//! `secret-list@signet`, `secret-remove@signet` (admins), and the release,
//! `get-secret@signet`, which runs only with the gate's [`Release`] permit
//! (the gate decided lock, rule, role, expiry and rate).
//!
//! The value of a secret exists in the daemon only in the request frame
//! (wiped by the session), the [`AddSecretRequest`]'s zeroizing value, the
//! locked [`SecretBuf`] read from the keyring, and the reply frame (written
//! into room reserved beforehand, wiped by the session after sending).
//! Nothing here logs, audits or reports it: the log and the audit record
//! name the secret and the caller, and the audit record carries the value's
//! fingerprint's digest so that a release can be matched to a stored value.

use std::sync::Arc;

use signet_proto::extension::{ErrorCode, ExtensionError};
use signet_proto::secret::{encode_list, AddSecretRequest, SecretInfo, SecretKind, GET_SECRET};
use signet_proto::wire::WireWrite as _;
use tracing::info;

use super::gate::{AdminPermit, ReadPermit, Release};
use super::{vault_error, Failure};
use crate::access::caller::Caller;
use crate::access::peer::Peer;
use crate::agent::Agent;
use crate::audit::{Event, Verdict};
use crate::store::vault::secrets::SecretEntry;
use crate::store::vault::{self, Vault, VaultError};

type ExtResult<T> = Result<T, ExtensionError>;

/// The key store, or the reason there is none.
pub(super) fn vault_of(agent: &Agent) -> ExtResult<Arc<Vault>> {
    agent.vault().ok_or_else(|| {
        ExtensionError::new(
            ErrorCode::Internal,
            "the key store is not set up in this daemon: see its log (`signet status`)",
        )
    })
}

/// Runs blocking vault work off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    vault: &Arc<Vault>,
    f: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
) -> ExtResult<T> {
    vault::blocking(vault, f).await.map_err(|e| vault_error(&e))
}

/// What the client is told about a stored secret.
pub(super) fn describe(agent: &Agent, e: &SecretEntry) -> SecretInfo {
    SecretInfo {
        name: e.name.clone(),
        kind: e.kind().unwrap_or(SecretKind::EncordBearer),
        resource: e.resource.clone(),
        scopes: e.scopes.clone(),
        title: e.title.clone(),
        fingerprint: e.fingerprint.clone(),
        created_at: e.created_at.clone(),
        expires_at: agent.secret_expiry(e).unwrap_or(0),
        store: e.store.clone(),
        state: e.state.as_str().to_owned(),
        rule: agent.secret_rule(&e.name).unwrap_or_default(),
    }
}

/// `secret-add@signet`: stores a secret the client read from a TTY or stdin.
pub(super) async fn add(
    agent: &Agent,
    req: AddSecretRequest,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    req.check()
        .map_err(|e| ExtensionError::new(ErrorCode::BadRequest, e.to_string()))?;
    let vault = vault_of(agent)?;
    let now = agent.wall_clock();
    let name = req.name.clone();
    let entry = blocking(&vault, move |v| v.add_secret(&req, now)).await?;
    info!(%peer, secret = %name, kind = %entry.kind, "secret stored");
    describe(agent, &entry).encode(reply);
    Ok(())
}

/// `secret-list@signet`: every stored secret, without values.
pub(super) async fn list(agent: &Agent, _: &ReadPermit, reply: &mut Vec<u8>) -> ExtResult<()> {
    let vault = vault_of(agent)?;
    let entries = blocking(&vault, |v| v.secret_entries()).await?;
    let infos: Vec<SecretInfo> = entries.iter().map(|e| describe(agent, e)).collect();
    encode_list(reply, &infos);
    Ok(())
}

/// `secret-remove@signet`: deletes a stored secret.
pub(super) async fn remove(
    agent: &Agent,
    name: String,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    let vault = vault_of(agent)?;
    let entry = blocking(&vault, move |v| v.remove_secret(&name)).await?;
    info!(%peer, secret = %entry.name, "secret removed");
    describe(agent, &entry).encode(reply);
    Ok(())
}

/// Finds the active secret `name` for the gate.
pub(super) async fn find(agent: &Agent, name: String) -> ExtResult<SecretEntry> {
    let vault = vault_of(agent)?;
    blocking(&vault, move |v| v.find_secret(&name)).await
}

/// `get-secret@signet`, admitted by the gate: the value is read from the
/// keyring, the release recorded (a release whose record cannot be queued
/// is withheld), and the reply written.
pub(super) async fn release(
    agent: &Agent,
    permit: Release,
    caller: &Caller,
    out: &mut Vec<u8>,
) -> Result<(), Failure> {
    let vault = vault_of(agent)?;
    let entry = permit.entry;
    let e = entry.clone();
    let value = blocking(&vault, move |v| v.secret_value(&e)).await?;
    let peer = caller.peer;
    let digest = signet_proto::secret::fingerprint_digest(value.as_slice());
    let kind = entry.kind().unwrap_or(SecretKind::EncordBearer);
    // No release without its record (as no signature without its record).
    let committed = agent
        .commit_audit(|| Event {
            decision: Verdict::Release,
            key: entry.name.as_str().into(),
            scheme: kind.as_str(),
            target: entry.resource.clone(),
            digest,
            pid: peer.pid,
            uid: peer.uid,
            exe: caller.exe_shared().unwrap_or_else(|| "?".into()),
            rule: permit.rule.clone(),
            ..Event::default()
        })
        .await;
    if let Err(e) = committed {
        tracing::warn!(%peer, secret = %entry.name, "secret withheld: {e}");
        return Err(Failure::Ext(ExtensionError::new(
            ErrorCode::Refused,
            format!("secret {}: not released: {e}", entry.name),
        )));
    }
    info!(%peer, secret = %entry.name, rule = permit.rule.as_deref().unwrap_or("-"), "secret released");
    let info = describe(agent, &entry);
    // The frame is written straight into the session's buffer (which the
    // session wipes after sending), with room reserved first so that it
    // does not reallocate, leaving a copy behind, once the value is in it.
    out.reserve(value.as_slice().len() + 1024);
    let start = signet_proto::frame::begin(out);
    out.push(signet_proto::message::msg::EXTENSION_RESPONSE);
    out.put_string(GET_SECRET.as_bytes());
    info.encode(out);
    out.put_string(value.as_slice());
    signet_proto::frame::end(out, start);
    drop(value);
    Ok(())
}
