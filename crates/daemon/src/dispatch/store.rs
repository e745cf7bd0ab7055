//! The key-store extensions, one small function each: `store@signet`,
//! `stored@signet`, `generate@signet`, `import@signet`, `load@signet`,
//! `unload@signet`, `delete@signet`, `rename@signet`, `doctor@signet`, and
//! for a sealed store `unlock-store@signet`, `lock-store@signet`,
//! `passwd@signet`.
//!
//! Design decision: the daemon does **all** keyring I/O and holds all key
//! material; the CLI only sends requests. Every keyring call blocks and runs
//! on tokio's blocking pool ([`vault::blocking`]), never on an async worker.
//! Keys loaded from the store have origin `keyring`; they are held until
//! unloaded, expired or the daemon stops (locking the agent hides them
//! until it is unlocked).

use std::sync::Arc;

use signet_proto::extension::{ErrorCode, ExtensionError};
use signet_proto::keystore::{
    encode_stored_list, GenerateRequest, ImportRequest, PasswdRequest, Selection, StoredKey,
    UnlockStoreReply, UnlockStoreRequest, STORE_PKCS11,
};
use signet_proto::wire::WireWrite as _;
use tokio::time::Instant;
use tracing::{info, warn};

use super::gate::{AdminPermit, ReadPermit};
use super::{add_error, load_error, vault_error};
use crate::access::peer::Peer;
use crate::agent::{Agent, LoadedKey};
use crate::store::index::{Entry, IndexFile};
use crate::store::vault::{self, Vault, VaultError};

type ExtResult<T> = Result<T, ExtensionError>;

fn internal(why: impl Into<String>) -> ExtensionError {
    ExtensionError::new(ErrorCode::Internal, why)
}

/// The key store, or the reason there is none.
fn vault_of(agent: &Agent) -> ExtResult<Arc<Vault>> {
    agent.vault().ok_or_else(|| {
        internal("the key store is not set up in this daemon: see its log (`signet status`)")
    })
}

/// Runs blocking vault work off the async workers.
async fn blocking<T: Send + 'static>(
    vault: &Arc<Vault>,
    f: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
) -> ExtResult<T> {
    vault::blocking(vault, f).await.map_err(|e| vault_error(&e))
}

/// A stored key merged with the agent's loaded state (not loaded while the
/// agent is locked).
fn describe(agent: &Agent, e: &Entry, locked: bool) -> StoredKey {
    let public = e.public().unwrap_or([0; 32]);
    let now = Instant::now();
    let loaded = if locked {
        None
    } else {
        agent.keys.get(&public, now)
    };
    StoredKey {
        name: e.name.clone(),
        comment: e.comment.clone(),
        public,
        created_at: e.created_at.clone(),
        store: e.store.clone(),
        state: e.state.as_str().to_owned(),
        loaded: loaded.is_some(),
        expires_in: loaded
            .and_then(|k| k.expires_at)
            .map(|t| t.saturating_duration_since(now).as_secs()),
    }
}

/// A name and comment for a new stored key: visible, within `[agent]
/// max_name_bytes`, and the name no other key's (stored, loaded or
/// configured: see `Agent::check_name`).
async fn names_free(agent: &Agent, name: &str, comment: &str, public: &[u8; 32]) -> ExtResult<()> {
    agent.check_label(comment).map_err(|e| add_error(&e))?;
    let stored = others_in_store(agent, name).await?;
    agent
        .check_name(name, public, &stored)
        .map_err(|e| add_error(&e))
}

/// The stored keys not named `name`: the vault refuses a name another
/// stored key has with its own message.
async fn others_in_store(agent: &Agent, name: &str) -> ExtResult<Vec<Entry>> {
    let mut stored = agent.stored_entries().await.map_err(|e| vault_error(&e))?;
    stored.retain(|e| e.name != name);
    Ok(stored)
}

#[cfg(unix)]
pub(super) use token::{smartcard, token_login};

fn unknown_store(name: &str) -> ExtensionError {
    ExtensionError::new(
        ErrorCode::BadRequest,
        format!(
            "unknown store {:?}: leave it out for the key store, or use \"{STORE_PKCS11}\" for the [pkcs11] token",
            signet_proto::text::escape(name)
        ),
    )
}

/// `store@signet`: which store, why, whether it answers, and whether it is
/// sealed and unlocked.
pub(super) async fn info(agent: &Agent, _: &ReadPermit, reply: &mut Vec<u8>) -> ExtResult<()> {
    let vault = vault_of(agent)?;
    let mut info = blocking(&vault, |v| Ok(v.info())).await?;
    if info.sealing == "locked" {
        if let Some(left) = agent.store_unlocked_for() {
            info.sealing = "unlocked".to_owned();
            info.unlocked_for = left;
        }
    }
    info.encode(reply);
    Ok(())
}

/// `stored@signet`: every stored key, with whether it is loaded.
pub(super) async fn stored(
    agent: &Agent,
    permit: &ReadPermit,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    let vault = vault_of(agent)?;
    let entries = blocking(&vault, |v| v.entries()).await?;
    let keys: Vec<StoredKey> = entries
        .iter()
        .map(|e| describe(agent, e, !permit.show_keys()))
        .collect();
    encode_stored_list(reply, &keys);
    Ok(())
}

/// `generate@signet`: a new key made here, stored (sealed, in a sealed
/// store), never sent anywhere.
pub(super) async fn generate(
    agent: &Agent,
    req: GenerateRequest,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    match req.store.as_str() {
        "" => {}
        #[cfg(unix)]
        STORE_PKCS11 => return token::generate(agent, req, peer, reply).await,
        other => return Err(unknown_store(other)),
    }
    let vault = vault_of(agent)?;
    // The name is checked before the key exists: a new key's public key
    // cannot collide with anything, so any key stands in for it here.
    names_free(agent, &req.name, &req.comment, &[0; 32]).await?;
    let entry = blocking(&vault, move |v| v.generate(&req.name, &req.comment)).await?;
    info!(%peer, key = %entry.name, "generated a key in the key store");
    if vault.forgets_at_reboot() {
        warn!(key = %entry.name, "the key is in the kernel keyring only: it does not survive a reboot");
    }
    describe(agent, &entry, false).encode(reply);
    Ok(())
}

/// `import@signet`: a key the client read from a file.
pub(super) async fn import(
    agent: &Agent,
    req: ImportRequest,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    match req.store.as_str() {
        "" => {}
        #[cfg(unix)]
        STORE_PKCS11 => return token::import(agent, req, peer, reply).await,
        other => return Err(unknown_store(other)),
    }
    let vault = vault_of(agent)?;
    names_free(agent, &req.name, &req.comment, &req.public).await?;
    let entry = blocking(&vault, move |v| {
        v.create(&req.name, &req.comment, req.seed.expose(), req.public)
    })
    .await?;
    info!(%peer, key = %entry.name, "imported a key into the key store");
    describe(agent, &entry, false).encode(reply);
    Ok(())
}

/// `load@signet`: stored keys into the agent.
pub(super) async fn load(
    agent: &Agent,
    sel: Selection,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    vault_of(agent)?;
    let entries = agent.load_stored(sel).await.map_err(|e| load_error(&e))?;
    let keys: Vec<StoredKey> = entries.iter().map(|e| describe(agent, e, false)).collect();
    for k in &keys {
        info!(%peer, key = %k.name, expires_in = ?k.expires_in, "loaded from the key store");
    }
    encode_stored_list(reply, &keys);
    Ok(())
}

/// `unload@signet`: drop stored keys from the agent (the store keeps them).
pub(super) async fn unload(
    agent: &Agent,
    sel: Selection,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    let vault = vault_of(agent)?;
    let entries = blocking(&vault, |v| v.entries()).await?;
    let mut gone = Vec::new();
    if sel.all {
        for e in &entries {
            if e.public().is_some_and(|p| agent.keys.remove(&p)) {
                gone.push(describe(agent, e, false));
            }
        }
    } else {
        let index = IndexFile {
            keys: entries,
            ..IndexFile::default()
        };
        for n in &sel.names {
            let e = vault::find_in(&index, n).map_err(|e| vault_error(&e))?;
            let Some(p) = e.public() else { continue };
            if !agent.keys.remove(&p) {
                return Err(ExtensionError::new(
                    ErrorCode::NoSuchKey,
                    format!("key {:?} is stored but not loaded", e.name),
                ));
            }
            gone.push(describe(agent, &e, false));
        }
    }
    for k in &gone {
        info!(%peer, key = %k.name, "unloaded");
    }
    encode_stored_list(reply, &gone);
    Ok(())
}

/// `delete@signet`: unload the key, then delete it from the store.
pub(super) async fn delete(
    agent: &Agent,
    selector: String,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    let vault = vault_of(agent)?;
    let sel = selector.clone();
    let entry = blocking(&vault, move |v| v.find(&sel)).await?;
    if let Some(p) = entry.public() {
        agent.keys.remove(&p);
    }
    let entry = blocking(&vault, move |v| v.delete(&selector)).await?;
    // The key is gone: its name and rule are free for another.
    if let Some(p) = entry.public() {
        agent.forget_binding(&p);
    }
    info!(%peer, key = %entry.name, "removed a key from the key store");
    describe(agent, &entry, false).encode(reply);
    Ok(())
}

/// `rename@signet`: a stored key, and the loaded copy with it.
pub(super) async fn rename(
    agent: &Agent,
    selector: String,
    to: String,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    let vault = vault_of(agent)?;
    // The new name must be free; the key keeps its rule whatever its name.
    let stored = agent.stored_entries().await.map_err(|e| vault_error(&e))?;
    let index = IndexFile {
        keys: stored,
        ..IndexFile::default()
    };
    let old = vault::find_in(&index, &selector).map_err(|e| vault_error(&e))?;
    if let Some(p) = old.public() {
        let others = others_in_store(agent, &to).await?;
        agent
            .check_name(&to, &p, &others)
            .map_err(|e| add_error(&e))?;
    }
    let (before, after) = blocking(&vault, move |v| v.rename(&selector, &to)).await?;
    // A loaded key takes its new name too (re-read from the store, keeping
    // its expiry, confirmation, origin and rule).
    if let Some(p) = after.public() {
        if let Some(loaded) = agent.keys.get(&p, Instant::now()) {
            let (expires_at, confirm, origin, remember) = (
                loaded.expires_at,
                loaded.confirm,
                loaded.origin,
                loaded.remember,
            );
            drop(loaded);
            let e = after.clone();
            let store_key = agent.store_key();
            let made = blocking(&vault, move |v| {
                let seed = v.secret(&e, store_key.as_deref())?;
                Ok(LoadedKey::new(
                    &seed,
                    p,
                    e.name.clone(),
                    expires_at,
                    confirm,
                    origin,
                ))
            })
            .await;
            match made {
                Ok(Ok(key)) => agent
                    .add_key(key.with_remember(remember), &index.keys)
                    .map_err(|e| internal(format!("cannot reload the renamed key: {e}")))?,
                Ok(Err(e)) => return Err(internal(format!("cannot reload the renamed key: {e}"))),
                // A sealed store that is locked: the rename is done, and the
                // loaded copy (whose rule, bound to the key, is unchanged)
                // shows its old name until it is loaded again.
                Err(e) => {
                    warn!(key = %after.name, "renamed; the loaded copy keeps its old name until it is loaded again: {e}")
                }
            }
        }
    }
    info!(%peer, from = %before.name, to = %after.name, "renamed a stored key");
    describe(agent, &after, false).encode(reply);
    Ok(())
}

/// `doctor@signet`: make index and store agree (`fix`: drop entries whose
/// secret is gone). With the store unlocked, sealed entries are opened and
/// checked, and keys found in the clear are sealed.
pub(super) async fn doctor(
    agent: &Agent,
    fix: bool,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    let vault = vault_of(agent)?;
    let key = agent.store_key();
    let report = blocking(&vault, move |v| v.doctor(true, fix, key.as_deref())).await?;
    for f in &report.findings {
        info!(%peer, "doctor: {f}");
    }
    report.encode(reply);
    Ok(())
}

/// `unlock-store@signet`: the passphrase opens the store key (or sets one
/// up), which the agent then holds until it times out.
pub(super) async fn unlock_store(
    agent: &Agent,
    req: UnlockStoreRequest,
    _: &AdminPermit,
    peer: &Peer,
    reply: &mut Vec<u8>,
) -> ExtResult<()> {
    vault_of(agent)?;
    let outcome = agent
        .unlock_store(req.passphrase, req.create)
        .await
        .map_err(|e| {
            warn!(%peer, "unlock-store: {e}");
            vault_error(&e)
        })?;
    info!(%peer, created = outcome.created, sealed = outcome.sealed.len(), loaded = outcome.loaded.len(), "key store unlocked");
    UnlockStoreReply {
        created: outcome.created,
        unlocked_for: outcome.unlocked_for,
        sealed: outcome.sealed,
        loaded: outcome.loaded,
        problems: outcome.problems,
    }
    .encode(reply);
    Ok(())
}

/// `lock-store@signet`: forget the store key (loaded keys stay loaded).
pub(super) fn lock_store(agent: &Agent, _: &AdminPermit, peer: &Peer, reply: &mut Vec<u8>) {
    let was = agent.lock_store();
    info!(%peer, was_unlocked = was, "lock-store");
    reply.put_u8(u8::from(was));
}

/// `passwd@signet`: the store key wrapped again under a new passphrase.
pub(super) async fn passwd(
    agent: &Agent,
    req: PasswdRequest,
    _: &AdminPermit,
    peer: &Peer,
    _reply: &mut Vec<u8>,
) -> ExtResult<()> {
    vault_of(agent)?;
    agent.passwd_store(req.old, req.new).await.map_err(|e| {
        warn!(%peer, "passwd: {e}");
        vault_error(&e)
    })?;
    info!(%peer, "key store passphrase changed");
    Ok(())
}

/// Generating and importing onto the `[pkcs11]` token.
#[cfg(unix)]
mod token {
    use signet_proto::extension::{ErrorCode, ExtensionError};
    use signet_proto::keystore::{GenerateRequest, ImportRequest, StoredKey, STORE_PKCS11};
    use tracing::{info, warn};

    use super::{names_free, AdminPermit, ExtResult};
    use crate::access::peer::Peer;
    use crate::agent::token::TokenLoadError;
    use crate::agent::Agent;
    use crate::store::pkcs11::TokenKeyInfo;

    /// The wire error for a token failure.
    pub(in crate::dispatch) fn token_error(e: &TokenLoadError) -> ExtensionError {
        let code = match e {
            TokenLoadError::NoToken => ErrorCode::Unsupported,
            TokenLoadError::Add { .. } => ErrorCode::BadRequest,
            TokenLoadError::Token(_) => ErrorCode::Refused,
            TokenLoadError::Task(_) => ErrorCode::Internal,
        };
        ExtensionError::new(code, e.to_string())
    }

    /// The name is free on the token too (a label is how keys are found).
    async fn label_free(agent: &Agent, name: &str, comment: &str) -> ExtResult<()> {
        names_free(agent, name, comment, &[0; 32]).await?;
        let on_token = agent
            .on_token(|t| t.keys(&[]))
            .await
            .map_err(|e| token_error(&e))?;
        if on_token.iter().any(|k| k.label == name) {
            return Err(ExtensionError::new(
                ErrorCode::BadRequest,
                format!(
                    "the token already has a key labelled {:?}: choose another name",
                    signet_proto::text::escape(name)
                ),
            ));
        }
        Ok(())
    }

    fn describe(agent: &Agent, k: &TokenKeyInfo, comment: &str) -> StoredKey {
        StoredKey {
            name: k.label.clone(),
            comment: if comment.is_empty() {
                k.label.clone()
            } else {
                comment.to_owned()
            },
            public: k.public,
            created_at: crate::clock::rfc3339(agent.wall_clock()),
            store: STORE_PKCS11.to_owned(),
            state: "active".to_owned(),
            loaded: true,
            expires_in: None,
        }
    }

    /// `generate@signet` with store `pkcs11`: the pair is made on the
    /// token (sensitive, never extractable) and loaded by reference.
    pub(super) async fn generate(
        agent: &Agent,
        req: GenerateRequest,
        peer: &Peer,
        reply: &mut Vec<u8>,
    ) -> ExtResult<()> {
        label_free(agent, &req.name, &req.comment).await?;
        let name = req.name.clone();
        let k = agent
            .on_token(move |t| t.generate(&name))
            .await
            .map_err(|e| token_error(&e))?;
        agent.add_token_key(&k).await.map_err(|e| token_error(&e))?;
        info!(%peer, key = %k.label, id = %hex::encode(&k.id), "generated a key pair on the PKCS#11 token");
        describe(agent, &k, &req.comment).encode(reply);
        Ok(())
    }

    /// `import@signet` with store `pkcs11`: refused unless the client
    /// says `--allow-import` (a key that existed outside the token is
    /// weaker than one made on it).
    pub(super) async fn import(
        agent: &Agent,
        req: ImportRequest,
        peer: &Peer,
        reply: &mut Vec<u8>,
    ) -> ExtResult<()> {
        if !req.allow_import {
            return Err(ExtensionError::new(
                ErrorCode::Refused,
                "importing into the PKCS#11 token is refused: a key made on the token (`signet generate NAME --store pkcs11`) never existed outside it, an imported one did; to migrate anyway, pass --allow-import",
            ));
        }
        if vault_public(&req) != req.public {
            return Err(ExtensionError::new(
                ErrorCode::BadRequest,
                "the private key does not match its public key",
            ));
        }
        label_free(agent, &req.name, &req.comment).await?;
        let (name, seed, public) = (req.name.clone(), req.seed.clone(), req.public);
        let k = agent
            .on_token(move |t| t.import(&name, seed.expose(), public))
            .await
            .map_err(|e| token_error(&e))?;
        agent.add_token_key(&k).await.map_err(|e| token_error(&e))?;
        warn!(%peer, key = %k.label, "imported a key onto the PKCS#11 token (--allow-import: it existed outside the token before)");
        describe(agent, &k, &req.comment).encode(reply);
        Ok(())
    }

    /// `token-login@signet` (`signet unlock --token`): the user PIN; the
    /// token's keys are loaded at once. A wrong PIN is refused with the
    /// count signet keeps.
    pub(in crate::dispatch) async fn token_login(
        agent: &Agent,
        pin: signet_proto::Passphrase,
        _: &AdminPermit,
        peer: &Peer,
        reply: &mut Vec<u8>,
    ) -> ExtResult<()> {
        use signet_proto::wire::WireWrite as _;
        let token = agent
            .token()
            .ok_or_else(|| token_error(&TokenLoadError::NoToken))?;
        let names = match agent
            .token_login(zeroize::Zeroizing::new(pin.expose().to_vec()))
            .await
        {
            Ok(n) => n,
            Err(e) => {
                warn!(%peer, "{e}");
                return Err(token_error(&e));
            }
        };
        let said = format!(
            "logged in to {}: {} key(s) loaded{}{}",
            token.describe(),
            names.len(),
            if names.is_empty() { "" } else { ": " },
            names.join(", ")
        );
        info!(%peer, "{said}");
        reply.put_string(said.as_bytes());
        Ok(())
    }

    /// `ssh-add -s PROVIDER` / `-e`: never loads PROVIDER. Refused unless
    /// `[pkcs11] allow_ssh_add_smartcard`, and then the PIN is used only
    /// when PROVIDER is the configured module (`-e` is refused: the token's
    /// keys are the configuration's, not a client's to remove).
    pub(in crate::dispatch) async fn smartcard(
        agent: &Agent,
        req: signet_proto::SmartcardRequest,
        _: &AdminPermit,
        peer: &Peer,
        out: &mut Vec<u8>,
    ) -> crate::dispatch::Outcome {
        use crate::dispatch::Failure;
        use signet_proto::message::msg;
        let shown = signet_proto::text::escape(&req.provider);
        let refuse = |why: String| {
            warn!(%peer, provider = %shown, "ssh-add smartcard request refused: {why}");
            Err(Failure::plain(why))
        };
        let config = agent.config();
        if !config.pkcs11.allow_ssh_add_smartcard {
            return refuse("ssh-add -s/-e is refused: signetd never loads a PKCS#11 module a client names; configure the token in [pkcs11] and give its PIN with `signet unlock --token` (or set [pkcs11] allow_ssh_add_smartcard = true to let `ssh-add -s MODULE` give the PIN for the configured module)".to_owned());
        }
        if req.msg_type == msg::REMOVE_SMARTCARD_KEY {
            return refuse(
                "ssh-add -e is refused: the token's keys come from [pkcs11]; remove them there"
                    .to_owned(),
            );
        }
        let configured = config
            .pkcs11
            .module
            .as_deref()
            .and_then(|m| std::fs::canonicalize(m).ok());
        let named = std::fs::canonicalize(&req.provider).ok();
        if configured.is_none() || configured != named {
            return refuse(format!(
                "ssh-add -s {shown} is refused: it is not the configured [pkcs11] module, and signetd never loads another"
            ));
        }
        match agent
            .token_login(zeroize::Zeroizing::new(req.pin.expose().to_vec()))
            .await
        {
            Ok(names) => {
                info!(%peer, keys = %names.join(", "), "ssh-add -s: logged in to the configured token");
                signet_proto::message::encode_status(out, true);
                Ok(())
            }
            Err(e) => refuse(e.to_string()),
        }
    }

    fn vault_public(req: &ImportRequest) -> [u8; 32] {
        crate::store::vault::public_of(req.seed.expose())
    }
}
