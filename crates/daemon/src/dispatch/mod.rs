//! One request in, exactly one reply out.
//!
//! Handlers return `Result`; [`Agent::handle`] turns an error into
//! `SSH_AGENT_FAILURE` (or, for signet's extensions, `SSH_AGENT_EXTENSION_FAILURE`
//! with a code and a reason for the user) and logs why. Nothing here closes a
//! connection: only framing errors do, in `session`.

pub mod store;

use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use signet_proto::encord;
use signet_proto::extension::{
    self, ErrorCode, ExtensionError, SignHttpRequest, Status, VersionReply,
};
use signet_proto::key::{blob_algorithm, parse_ed25519_blob};
use signet_proto::message::{encode_ed25519_sign_response, encode_status};
use signet_proto::{AddIdentity, Constraint, NewKey, Request, Response, SignRequest};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::access::caller::{Caller, ExeCache};
use crate::access::peer::Peer;
use crate::agent::keys::{KeyError, KeyTable, LoadedKey};
use crate::agent::lock::{AgentLock, LockError};
use crate::audit::Event as AuditEvent;
use crate::config::Config;
use crate::confirm;
use crate::policy::ratelimit::RateLimiter;
use crate::policy::{self, Decision, KeyUse, Operation, Policies};

/// The agent's shared state.
pub struct Agent {
    /// Loaded keys.
    pub keys: KeyTable,
    /// The lock.
    pub lock: AgentLock,
    config: RwLock<Arc<Config>>,
    /// The `[policies]` rules resolved from `config`.
    policies: RwLock<Arc<Policies>>,
    limiter: RateLimiter,
    started: Instant,
    socket: String,
    /// Cancelled to shut the daemon down.
    pub shutdown: CancellationToken,
    /// Open connections' last activity, for the idle timeout (`idle.rs`).
    pub idle: Arc<crate::server::idle::IdleWatch>,
    /// Keys at rest (the OS keyring and the index); set once at start-up.
    vault: std::sync::OnceLock<Arc<crate::store::vault::Vault>>,
    /// The audit log's writer, when enabled; set once at start-up.
    auditor: std::sync::OnceLock<crate::audit::Auditor>,
    /// Executables of recent callers (see [`ExeCache`]).
    exe_cache: Arc<ExeCache>,
}

/// Why a request failed. `Plain` becomes `SSH_AGENT_FAILURE`; `Ext` becomes
/// `SSH_AGENT_EXTENSION_FAILURE` with a reason the client can show.
enum Failure {
    Plain(String),
    Ext(ExtensionError),
}

impl Failure {
    fn plain(why: impl Into<String>) -> Self {
        Failure::Plain(why.into())
    }
}

type Outcome = Result<(), Failure>;

impl Agent {
    /// A new agent with no keys.
    pub fn new(config: Config, socket: String, shutdown: CancellationToken) -> Self {
        let policies = resolve_policies(&config);
        Self {
            keys: KeyTable::default(),
            lock: AgentLock::default(),
            config: RwLock::new(Arc::new(config)),
            policies: RwLock::new(Arc::new(policies)),
            limiter: RateLimiter::default(),
            started: Instant::now(),
            socket,
            shutdown,
            idle: Arc::default(),
            vault: std::sync::OnceLock::new(),
            auditor: std::sync::OnceLock::new(),
            exe_cache: Arc::default(),
        }
    }

    /// Closes connections idle for longer than `agent.idle_timeout_secs`
    /// until shutdown (see `idle.rs`); run once, on the accepting runtime.
    pub async fn sweep_idle_connections(self: Arc<Self>) {
        let me = self.clone();
        self.idle
            .clone()
            .run(
                move || me.config().agent.idle_timeout(),
                self.shutdown.clone(),
            )
            .await;
    }

    /// The caller, its executable read through the agent's cache.
    fn caller(&self, peer: &Peer) -> Caller {
        Caller::new(*peer).with_exe_cache(self.exe_cache.clone())
    }

    /// Installs the audit log (once, at start-up; later calls are ignored).
    pub fn set_auditor(&self, auditor: crate::audit::Auditor) {
        let _ = self.auditor.set(auditor);
    }

    /// Writes out every audit event queued so far (shutdown); false if the
    /// writer did not finish within `limit`.
    pub fn flush_audit(&self, limit: std::time::Duration) -> bool {
        self.auditor.get().is_none_or(|a| a.flush(limit))
    }

    /// Queues an audit event (built only when auditing is on); false when a
    /// log is configured but the event could not be queued.
    fn audit(&self, event: impl FnOnce() -> AuditEvent) -> bool {
        match self.auditor.get() {
            Some(a) => a.record(event()),
            None => true,
        }
    }

    /// Installs the key store (once, at start-up; later calls are ignored).
    pub fn set_vault(&self, vault: Arc<crate::store::vault::Vault>) {
        let _ = self.vault.set(vault);
    }

    /// The key store, once set up.
    pub fn vault(&self) -> Option<Arc<crate::store::vault::Vault>> {
        self.vault.get().cloned()
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replaces the configuration (SIGHUP), policies included.
    pub fn set_config(&self, config: Config) {
        let policies = resolve_policies(&config);
        let mut slot = self.config.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(config);
        drop(slot);
        let mut slot = self.policies.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(policies);
        drop(slot);
        // An idle timeout may have appeared: the reaper re-plans.
        self.keys.notify_changed();
    }

    /// The policies in force.
    pub fn policies(&self) -> Arc<Policies> {
        self.policies
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Decides whether `key` may perform `op` for `caller` now (see
    /// [`policy::decide`]), and unloads the key if the decision says it has
    /// been idle too long. `Err` carries the refusal with its reason.
    pub fn authorize(
        &self,
        key: &LoadedKey,
        op: &Operation<'_>,
        caller: &Caller,
        now: Instant,
    ) -> Result<Decision, Decision> {
        let use_ = KeyUse {
            name: &key.name,
            public: key.public,
            last_used: key.last_used(),
        };
        let decision = policy::decide(&self.policies(), &self.limiter, use_, op, caller, now);
        if decision.idle_expired {
            self.keys.remove(&key.public);
        }
        if decision.allowed {
            Ok(decision)
        } else {
            Err(decision)
        }
    }

    /// Removes keys whose lifetime has ended or that have been idle too
    /// long: one task, sleeping until the next deadline on the monotonic
    /// clock, woken early when a key is added or the configuration changes.
    pub async fn reap(self: Arc<Self>) {
        loop {
            let policies = self.policies();
            let idle_for = |name: &str| policies.rule_for(name).and_then(|r| r.idle_timeout);
            let next = match (
                self.keys.next_expiry(),
                self.keys.next_idle_deadline(idle_for),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.keys.changed() => {}
                _ = async {
                    match next {
                        Some(t) => tokio::time::sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                } => {
                    let now = Instant::now();
                    for name in self.keys.reap(now) {
                        info!(key = %name, "key lifetime ended; removed");
                    }
                    for name in self.keys.reap_idle(now, idle_for) {
                        info!(key = %name, "key idle timeout reached; removed");
                    }
                }
            }
        }
    }

    /// Handles one message body and appends exactly one reply frame to `out`.
    pub async fn handle(&self, body: &[u8], peer: &Peer, out: &mut Vec<u8>) {
        let msg_type = body.first().copied().unwrap_or(0);
        let outcome = match Request::decode(body) {
            Ok(req) => self.dispatch(req, peer, out).await,
            Err(e) => Err(Failure::plain(format!(
                "malformed message (type {msg_type}): {e}"
            ))),
        };
        match outcome {
            Ok(()) => {}
            Err(Failure::Plain(why)) => {
                debug!(%peer, msg_type, "request failed: {why}");
                encode_status(out, false);
            }
            Err(Failure::Ext(err)) => {
                debug!(%peer, msg_type, code = err.code.to_u32(), "extension failed: {}", err.reason);
                let mut contents = Vec::new();
                err.encode(&mut contents);
                Response::ExtensionFailure(contents).encode_frame(out);
            }
        }
    }

    async fn dispatch(&self, req: Request<'_>, peer: &Peer, out: &mut Vec<u8>) -> Outcome {
        let locked = self.lock.is_locked();
        match req {
            Request::Sign(sign) => self.sign(sign, peer, out, locked).await,
            Request::RequestIdentities => {
                let ids = if locked {
                    Vec::new()
                } else {
                    self.keys
                        .snapshot(Instant::now())
                        .iter()
                        .map(|k| signet_proto::Identity {
                            key_blob: k.blob.clone(),
                            comment: k.name.to_string(),
                        })
                        .collect()
                };
                Response::Identities(ids).encode_frame(out);
                Ok(())
            }
            Request::AddIdentity(add) => {
                refuse_if_locked(locked)?;
                self.add(add, peer)?;
                encode_status(out, true);
                Ok(())
            }
            Request::RemoveIdentity { key_blob } => {
                refuse_if_locked(locked)?;
                let public = parse_ed25519_blob(key_blob)
                    .map_err(|e| Failure::plain(format!("cannot remove: {e}")))?;
                if !self.keys.remove(&public) {
                    return Err(Failure::plain("cannot remove: no such key"));
                }
                info!(%peer, "removed a key");
                encode_status(out, true);
                Ok(())
            }
            Request::RemoveAllIdentities => {
                refuse_if_locked(locked)?;
                let n = self.keys.clear();
                info!(%peer, "removed all keys ({n})");
                encode_status(out, true);
                Ok(())
            }
            Request::Lock(p) => {
                self.lock
                    .lock(p)
                    .await
                    .map_err(|e| Failure::plain(e.to_string()))?;
                crate::dispatch::store::on_lock(self);
                info!(%peer, "agent locked");
                encode_status(out, true);
                Ok(())
            }
            Request::Unlock(p) => match self.lock.unlock(p).await {
                Ok(()) => {
                    info!(%peer, "agent unlocked");
                    encode_status(out, true);
                    Ok(())
                }
                Err(e @ LockError::WrongPassphrase(_)) => {
                    warn!(%peer, "{e}");
                    Err(Failure::plain(e.to_string()))
                }
                Err(e) => Err(Failure::plain(e.to_string())),
            },
            Request::Extension { name, contents } => {
                self.extension(name, contents, peer, out, locked).await
            }
            Request::Unsupported { msg_type } => Err(Failure::plain(format!(
                "message type {msg_type} is not supported by signetd"
            ))),
        }
    }

    async fn sign(
        &self,
        req: SignRequest<'_>,
        peer: &Peer,
        out: &mut Vec<u8>,
        locked: bool,
    ) -> Outcome {
        refuse_if_locked(locked)?;
        let public = parse_ed25519_blob(req.key_blob).map_err(|_| {
            Failure::plain(format!(
                "sign request for a {} key, which signetd does not hold",
                blob_algorithm(req.key_blob).unwrap_or("malformed")
            ))
        })?;
        let key = self
            .keys
            .get(&public, Instant::now())
            .ok_or_else(|| Failure::plain("sign request for a key that is not loaded"))?;
        let caller = self.caller(peer);
        let now = Instant::now();
        let event = |decision: &'static str, rule: Option<Arc<str>>, reason: String| AuditEvent {
            decision,
            key: key.name.clone(),
            key_public: Some(key.public),
            scheme: "ssh",
            digest: sha256(req.data),
            pid: peer.pid,
            uid: peer.uid,
            exe: caller.exe_shared().unwrap_or_else(|| "?".into()),
            rule,
            reason,
            ..AuditEvent::default()
        };
        let decision = match self.authorize(&key, &Operation::Ssh, &caller, now) {
            Ok(d) => d,
            Err(refused) => {
                // SSH has no reason field: the client sees FAILURE, the log says why.
                warn!(%peer, "refused: {}", refused.reason);
                self.audit(|| event("refuse", refused.rule.clone(), refused.reason.clone()));
                return Err(Failure::Plain(refused.reason));
            }
        };
        if key.confirm {
            let prompt = format!(
                "Allow use of key \"{}\" to sign {} bytes?\nRequested by {}",
                confirm::escape(&key.name),
                req.data.len(),
                peer.describe()
            );
            if let Err(why) = confirm::ask(&prompt).await {
                self.audit(|| event("refuse", decision.rule.clone(), why.clone()));
                return Err(Failure::Plain(why));
            }
        }
        let sig = key.sign(req.data);
        if !self.audit(|| event("sign", decision.rule.clone(), String::new())) {
            return Err(Failure::plain(AUDIT_FULL));
        }
        key.touch(now);
        encode_ed25519_sign_response(out, &sig);
        Ok(())
    }

    fn add(&self, add: AddIdentity, peer: &Peer) -> Result<(), Failure> {
        let (public, seed) = match add.key {
            NewKey::Ed25519 { public, seed } => (public, seed),
            NewKey::Unsupported { algorithm } => {
                warn!(%peer, "refused to add a {algorithm} key: signetd holds only Ed25519 keys");
                return Err(Failure::plain(format!("unsupported key type {algorithm}")));
            }
        };
        let now = Instant::now();
        let mut expires_at = None;
        let mut confirm = false;
        for c in add.constraints {
            match c {
                // As OpenSSH: the lifetime counts from now; 0 means already expired.
                Constraint::Lifetime(secs) => {
                    expires_at = Some(now + std::time::Duration::from_secs(u64::from(secs)))
                }
                Constraint::Confirm => confirm = true,
                Constraint::Extension { name, .. } => {
                    warn!(%peer, "refused to add a key with unknown constraint {name:?}");
                    return Err(Failure::plain(format!("unsupported key constraint {name}")));
                }
            }
        }
        let name = add.comment;
        let key = LoadedKey::new(
            &seed,
            public,
            name.clone(),
            expires_at,
            confirm,
            "agent".into(),
        )
        .map_err(|e: KeyError| Failure::plain(format!("cannot add key: {e}")))?;
        self.keys.add(key);
        info!(%peer, key = %name, lifetime_secs = ?expires_at.map(|t| t.saturating_duration_since(now).as_secs()), confirm, "key added");
        Ok(())
    }

    async fn extension(
        &self,
        name: &str,
        contents: &[u8],
        peer: &Peer,
        out: &mut Vec<u8>,
        locked: bool,
    ) -> Outcome {
        let mut reply = Vec::new();
        match name {
            extension::QUERY => extension::encode_query_reply(&mut reply, extension::SUPPORTED),
            extension::VERSION => VersionReply {
                protocol: extension::PROTOCOL_VERSION,
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            }
            .encode(&mut reply),
            extension::STATUS => Status {
                protocol: extension::PROTOCOL_VERSION,
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                pid: std::process::id(),
                locked,
                keys: if locked {
                    0
                } else {
                    u32::try_from(self.keys.snapshot(Instant::now()).len()).unwrap_or(u32::MAX)
                },
                uptime_secs: self.started.elapsed().as_secs(),
                socket: self.socket.clone(),
            }
            .encode(&mut reply),
            extension::LIST => {
                let infos = if locked {
                    Vec::new()
                } else {
                    let policies = self.policies();
                    self.keys.infos_with_policy(Instant::now(), |name| {
                        policies
                            .rule_for(name)
                            .map(|r| r.summary())
                            .unwrap_or_default()
                    })
                };
                extension::encode_list_reply(&mut reply, &infos);
            }
            extension::STOP => {
                info!(%peer, "stop requested over the socket");
                self.shutdown.cancel();
            }
            extension::EXPLAIN => self
                .explain(contents, peer, &mut reply, locked)
                .map_err(Failure::Ext)?,
            extension::SIGN_REQUEST => self
                .sign_http(contents, peer, &mut reply, locked)
                .await
                .map_err(Failure::Ext)?,
            store_op if extension::KEY_STORE.contains(&store_op) => {
                crate::dispatch::store::handle(self, store_op, contents, peer, locked, &mut reply)
                    .await
                    .map_err(Failure::Ext)?
            }
            other => {
                return Err(Failure::plain(format!("unknown extension {other:?}")));
            }
        }
        Response::ExtensionResponse {
            name: name.to_owned(),
            contents: reply,
        }
        .encode_frame(out);
        Ok(())
    }

    /// `explain@signet`: the decision signing would make, without signing
    /// and without taking rate-limit tokens.
    fn explain(
        &self,
        contents: &[u8],
        peer: &Peer,
        reply: &mut Vec<u8>,
        locked: bool,
    ) -> Result<(), ExtensionError> {
        let bad = |why: String| ExtensionError::new(ErrorCode::BadRequest, why);
        let req = extension::ExplainRequest::decode(contents)
            .map_err(|e| bad(format!("malformed explain request: {e}")))?;
        if locked {
            return Err(locked_error());
        }
        let key = self
            .keys
            .select(req.key, Instant::now())
            .map_err(|e| key_error(&e))?;
        let as_peer = match req.as_uid {
            Some(uid) if uid != peer.uid && peer.uid != 0 => {
                return Err(ExtensionError::new(
                    ErrorCode::Refused,
                    format!(
                        "only root may explain a decision for another uid (you are uid {})",
                        peer.uid
                    ),
                ))
            }
            Some(uid) if uid != peer.uid => Peer {
                uid,
                gid: crate::access::accounts::Databases::system()
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
            name => Operation::Http {
                scheme: signet_proto::encord::Scheme::parse(name).ok_or_else(|| {
                    bad(format!(
                        "unknown scheme {name:?}: use encord-v1, encord-v2 or ssh"
                    ))
                })?,
                method: req.method,
                target: req.target,
            },
        };
        let policies = self.policies();
        let decision = policies.evaluate(&key.name, &op, &caller);
        extension::ExplainReply {
            allowed: decision.allowed,
            key: key.name.to_string(),
            rule: decision.rule.as_deref().unwrap_or_default().to_owned(),
            reason: decision.explain(&key.name),
            summary: policies
                .rule_for(&key.name)
                .map(|r| r.summary())
                .unwrap_or_default(),
        }
        .encode(reply);
        Ok(())
    }

    async fn sign_http(
        &self,
        contents: &[u8],
        peer: &Peer,
        reply: &mut Vec<u8>,
        locked: bool,
    ) -> Result<(), ExtensionError> {
        let req = SignHttpRequest::decode(contents).map_err(|e| {
            ExtensionError::new(
                ErrorCode::BadRequest,
                format!("malformed sign-request: {e}"),
            )
        })?;
        if locked {
            return Err(locked_error());
        }
        let key = self
            .keys
            .select(req.key, Instant::now())
            .map_err(|e| key_error(&e))?;
        let created = unix_now().saturating_add_signed(self.config().encord.created_offset_secs);
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
        let caller = self.caller(peer);
        let now = Instant::now();
        let op = Operation::Http {
            scheme: req.scheme,
            method: req.method,
            target: req.target,
        };
        let event = |decision: &'static str, rule: Option<Arc<str>>, reason: String| AuditEvent {
            decision,
            key: key.name.clone(),
            key_public: Some(key.public),
            scheme: req.scheme.as_str(),
            method: req.method.to_ascii_uppercase(),
            target: req.target.to_owned(),
            digest: req.body_sha256,
            created: (decision == "sign").then_some(created),
            pid: peer.pid,
            uid: peer.uid,
            exe: caller.exe_shared().unwrap_or_else(|| "?".into()),
            rule,
            reason,
        };
        let decision = match self.authorize(&key, &op, &caller, now) {
            Ok(d) => d,
            Err(refused) => {
                warn!(%peer, "refused: {}", refused.reason);
                self.audit(|| event("refuse", refused.rule.clone(), refused.reason.clone()));
                return Err(ExtensionError::new(ErrorCode::Refused, refused.reason));
            }
        };
        if key.confirm {
            let prompt = format!(
                "Allow key \"{}\" to sign {} {}?\nRequested by {}",
                confirm::escape(&key.name),
                req.method.to_ascii_uppercase(),
                req.target,
                peer.describe()
            );
            if let Err(why) = confirm::ask(&prompt).await {
                let reason = format!("key {}: {why}", key.name);
                self.audit(|| event("refuse", decision.rule.clone(), reason.clone()));
                return Err(ExtensionError::new(ErrorCode::Refused, reason));
            }
        }
        let sig = key.sign(prepared.message());
        if !self.audit(|| event("sign", decision.rule.clone(), String::new())) {
            return Err(ExtensionError::new(ErrorCode::Refused, AUDIT_FULL));
        }
        key.touch(now);
        prepared.into_headers(&sig).encode(reply);
        Ok(())
    }
}

/// The configuration's policies; if they cannot be resolved (a group
/// database read failing after the configuration was checked), every key
/// that names a rule refuses to sign rather than signing unrestricted.
fn resolve_policies(config: &Config) -> Policies {
    Policies::from_config(config).unwrap_or_else(|e| {
        warn!("policies cannot be resolved, keys with a policy will sign nothing: {e:#}");
        Policies::fail_closed(config)
    })
}

/// Why a signature is withheld when the audit log cannot keep up.
const AUDIT_FULL: &str =
    "the audit log is not keeping up (its queue is full): signature withheld; retry shortly";

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

fn refuse_if_locked(locked: bool) -> Result<(), Failure> {
    if locked {
        Err(Failure::plain("the agent is locked"))
    } else {
        Ok(())
    }
}

/// A key selection failure as the client should see it.
fn key_error(e: &KeyError) -> ExtensionError {
    match e {
        KeyError::Ambiguous(_) => ExtensionError::new(ErrorCode::AmbiguousKey, e.to_string()),
        KeyError::NotFound(sel) if sel.is_empty() => ExtensionError::new(
            ErrorCode::NoSuchKey,
            "no key is loaded: load one with `signet add` or `signet load`",
        ),
        KeyError::NotFound(sel) => ExtensionError::new(
            ErrorCode::NoSuchKey,
            format!("key {sel:?} is not loaded: `signet list` shows the loaded keys"),
        ),
        KeyError::PublicMismatch | KeyError::Memory(_) => {
            ExtensionError::new(ErrorCode::Internal, e.to_string())
        }
    }
}

fn locked_error() -> ExtensionError {
    ExtensionError::new(
        ErrorCode::Locked,
        "the agent is locked: unlock it with `signet unlock`",
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
