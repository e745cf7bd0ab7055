//! The gate: the one function every decoded request passes before any
//! handler runs ([`admit`]), as OpenSSH's `process_message` decides in one
//! place what a locked agent answers.
//!
//! It decides, in this order, from the caller, the operation, the key and
//! the agent's state:
//!
//! 1. **the lock** ([`while_locked`]): a locked agent answers `UNLOCK`, an
//!    empty `REQUEST_IDENTITIES`, `version@signet`, `status@signet` without
//!    key information, and `query`; everything else gets the locked error
//!    (`SSH_AGENT_FAILURE`, or the `locked` extension failure for signet's
//!    extensions);
//! 2. **the caller's role**: the operations of [`AdminOp`] need an admin
//!    (`Agent::role_of`: in user mode the owner, in system mode root and
//!    `[system] admin_uids` / `admin_groups`); a signer asking for one is
//!    refused with [`NOT_ADMIN`], and the refusal is audited;
//! 3. for a signature, **the key** (by blob, or by selector for Encord),
//!    what exactly it would sign, and **the key's rule, idle timeout and
//!    rate limits** (`policy::decide`, a value: the gate acts on it);
//! 4. **confirmation** with the user, for keys that need it.
//!
//! What it admits comes with a permit only this module can make
//! ([`AdminPermit`], [`ReadPermit`], [`Grant`]): the handlers take one, so
//! none of them can run ungated, and none checks a permission itself.
//!
//! Performance: on the signing path that allows, the gate allocates
//! nothing (the decision is a value, the rule's name a shared `Arc<str>`);
//! the lock is one atomic load; the role is asked only for admin
//! operations, never for signing.

use std::sync::Arc;

use signet_proto::extension::{ErrorCode, ExtensionError};
use tokio::time::Instant;
use tracing::{info, warn};

use super::secrets;
use super::sign::{self, Signing};
use super::{AdminOp, Failure, Op, ReadOp, SignOp};
use crate::access::caller::Caller;
use crate::agent::{Agent, Role};
use crate::audit::{Event, Verdict};
use crate::confirm;
use crate::store::vault::secrets::SecretEntry;

/// What a signer is told when it asks for an admin's operation.
pub(crate) const NOT_ADMIN: &str =
    "refused: this operation needs an admin of the system agent (root or [system] admin_uids)";

/// Proof that the gate admitted an admin operation from an admin.
pub(crate) struct AdminPermit {
    _sealed: (),
}

/// Proof that the gate admitted a read; says whether it may show keys.
pub(crate) struct ReadPermit {
    show_keys: bool,
}

impl ReadPermit {
    /// Whether the reply may name keys (not while the agent is locked).
    pub(crate) fn show_keys(&self) -> bool {
        self.show_keys
    }
}

/// A signature the gate decided to make: the key, what it signs, and the
/// rule that allowed it.
pub(crate) struct Grant<'a> {
    /// The key and what it signs.
    pub(crate) signing: Signing<'a>,
    /// The rule that allowed it, if the key has one.
    pub(crate) rule: Option<Arc<str>>,
    /// When the gate decided (the key's last use, once signed).
    pub(crate) decided: Instant,
    _sealed: (),
}

/// What the gate admitted, each with its permit.
pub(crate) enum Admitted<'a> {
    /// An admin operation from an admin.
    Admin(AdminOp<'a>, AdminPermit),
    /// A read.
    Read(ReadOp<'a>, ReadPermit),
    /// A signature, decided.
    Sign(Grant<'a>),
    /// A secret's release, decided.
    Release(Release),
}

/// A release of a stored secret the gate decided to make: the secret and
/// the rule that allowed it (`None`: a secret without a rule, to an admin).
pub(crate) struct Release {
    /// The secret.
    pub(crate) entry: SecretEntry,
    /// The rule that allowed it.
    pub(crate) rule: Option<Arc<str>>,
    _sealed: (),
}

/// How a locked agent treats an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhileLocked {
    /// Answered as usual.
    Answer,
    /// Answered without key information (no keys listed, a key count of 0).
    WithoutKeys,
    /// Refused with the locked error.
    Refuse,
}

/// The lock table: one line per operation, checked by the compiler to be
/// complete. See docs/security.md#lock.
fn while_locked(op: &Op<'_>) -> WhileLocked {
    use WhileLocked::{Answer, Refuse, WithoutKeys};
    match op {
        Op::Admin(AdminOp::Unlock(_)) => Answer,
        Op::Admin(
            AdminOp::Add(_)
            | AdminOp::Remove { .. }
            | AdminOp::RemoveAll
            | AdminOp::Lock(_)
            | AdminOp::Stop
            | AdminOp::Generate(_)
            | AdminOp::Import(_)
            | AdminOp::Load(_)
            | AdminOp::Unload(_)
            | AdminOp::Delete { .. }
            | AdminOp::Rename { .. }
            | AdminOp::Doctor { .. }
            | AdminOp::Reload
            | AdminOp::UnlockStore(_)
            | AdminOp::LockStore
            | AdminOp::Passwd(_)
            | AdminOp::SecretAdd(_)
            | AdminOp::SecretRemove { .. }
            | AdminOp::TokenLogin(_)
            | AdminOp::Smartcard(_),
        ) => Refuse,
        Op::Read(ReadOp::Identities | ReadOp::Status) => WithoutKeys,
        Op::Read(ReadOp::Query | ReadOp::Version) => Answer,
        Op::Read(
            ReadOp::List
            | ReadOp::Stored
            | ReadOp::Store
            | ReadOp::Explain(_)
            | ReadOp::Diagnose
            | ReadOp::AuditInfo
            | ReadOp::SecretList,
        ) => Refuse,
        Op::Sign(_) => Refuse,
        // A locked agent releases no secret.
        Op::Release { .. } => Refuse,
        // Answered with SSH_AGENT_FAILURE, locked or not.
        Op::Unsupported { .. } | Op::UnknownExtension { .. } => Refuse,
    }
}

/// Whether an operation's failures are signet extension failures (a code
/// and a reason) rather than a bare `SSH_AGENT_FAILURE`.
fn is_signet_extension(op: &Op<'_>) -> bool {
    match op {
        Op::Admin(a) => a.is_extension(),
        Op::Read(r) => r.extension_name().is_some(),
        Op::Sign(SignOp::Http(_)) | Op::Release { .. } => true,
        Op::Sign(SignOp::Ssh(_)) | Op::Unsupported { .. } | Op::UnknownExtension { .. } => false,
    }
}

/// The reply to anything a locked agent refuses.
fn locked(op: &Op<'_>) -> Failure {
    match op {
        Op::Unsupported { msg_type } => unsupported(*msg_type),
        Op::UnknownExtension { name } => unknown_extension(name),
        op if is_signet_extension(op) => Failure::Ext(ExtensionError::new(
            ErrorCode::Locked,
            "the agent is locked: unlock it with `signet unlock`",
        )),
        _ => Failure::plain("the agent is locked"),
    }
}

fn unsupported(msg_type: u8) -> Failure {
    Failure::plain(format!(
        "message type {msg_type} is not supported by signetd"
    ))
}

fn unknown_extension(name: &str) -> Failure {
    Failure::plain(format!(
        "unknown extension {:?}",
        signet_proto::text::escape(name)
    ))
}

/// Admits `op` from `caller`, or refuses it with the reply the client gets.
pub(crate) async fn admit<'a>(
    agent: &Agent,
    caller: &Caller,
    op: Op<'a>,
) -> Result<Admitted<'a>, Failure> {
    // 1. The lock.
    let is_locked = agent.lock.is_locked();
    let lock = if is_locked {
        while_locked(&op)
    } else {
        WhileLocked::Answer
    };
    if lock == WhileLocked::Refuse {
        return Err(locked(&op));
    }
    match op {
        Op::Unsupported { msg_type } => Err(unsupported(msg_type)),
        Op::UnknownExtension { name } => Err(unknown_extension(name)),
        // 2. The role.
        Op::Admin(op) => {
            require_admin(agent, caller, op.name(), op.is_extension(), || {
                subject(agent, &op)
            })?;
            Ok(Admitted::Admin(op, AdminPermit { _sealed: () }))
        }
        Op::Read(op) => {
            // A dry run for another uid shows how the rules treat someone
            // else: an admin's question.
            if let ReadOp::Explain(req) = &op {
                if req.as_uid.is_some_and(|uid| uid != caller.peer.uid) {
                    require_admin(
                        agent,
                        caller,
                        signet_proto::extension::EXPLAIN,
                        true,
                        || req.key.to_owned(),
                    )?;
                }
            }
            Ok(Admitted::Read(
                op,
                ReadPermit {
                    show_keys: lock == WhileLocked::Answer,
                },
            ))
        }
        // 3 and 4. The key, its rule, confirmation.
        Op::Sign(SignOp::Ssh(req)) => {
            let signing = sign::ssh_signing(agent, req)?;
            decide(agent, caller, signing).await.map_err(Failure::Plain)
        }
        Op::Sign(SignOp::Http(req)) => {
            let signing = sign::http_signing(agent, req)?;
            decide(agent, caller, signing)
                .await
                .map_err(|reason| Failure::Ext(ExtensionError::new(ErrorCode::Refused, reason)))
        }
        // 3 for a secret: which one, its expiry, its rule (or the role,
        // for a secret without one), its release rate.
        Op::Release { name } => release(agent, caller, name).await.map(Admitted::Release),
    }
}

/// The decision on releasing the secret `name` to `caller`: every refusal
/// audited (who asked for which secret, and why not).
async fn release(agent: &Agent, caller: &Caller, name: String) -> Result<Release, Failure> {
    let peer = caller.peer;
    let refuse = |code: ErrorCode, rule: Option<Arc<str>>, reason: String| {
        warn!(%peer, secret = %signet_proto::text::escape(&name), "refused: {reason}");
        agent.audit(|| Event {
            decision: Verdict::Refuse,
            key: name.as_str().into(),
            scheme: signet_proto::secret::GET_SECRET,
            pid: peer.pid,
            uid: peer.uid,
            exe: caller.exe_shared().unwrap_or_else(|| "?".into()),
            rule: rule.clone(),
            reason: reason.clone(),
            ..Event::default()
        });
        Failure::Ext(ExtensionError::new(code, reason))
    };
    let entry = match secrets::find(agent, name.clone()).await {
        Ok(e) => e,
        Err(e) => return Err(refuse(e.code, None, e.reason)),
    };
    let rule_name = agent.secret_rule(&entry.name);
    if let Some(expiry) = agent.secret_expiry(&entry) {
        if expiry <= agent.wall_clock() {
            return Err(refuse(
                ErrorCode::Refused,
                rule_name.map(Into::into),
                format!(
                    "secret {}: expired at {}: store a new value with `signet secret add {} --replace …` (a bearer token: `signet secret mint-bearer {} --replace --key KEY`)",
                    entry.name,
                    crate::clock::rfc3339(expiry),
                    entry.name,
                    entry.name
                ),
            ));
        }
    }
    if rule_name.is_none() && agent.role_of(caller) != Role::Admin {
        return Err(refuse(
            ErrorCode::Refused,
            None,
            format!(
                "secret {}: it has no rule, so only an admin of the agent may have it: bind it to one with [secrets.{}] policy = \"RULE\" (see docs/secrets.md)",
                entry.name, entry.name
            ),
        ));
    }
    let decision = agent.decide_release(&entry, caller, Instant::now());
    if !decision.allowed {
        return Err(refuse(ErrorCode::Refused, decision.rule, decision.reason));
    }
    Ok(Release {
        entry,
        rule: decision.rule,
        _sealed: (),
    })
}

/// Refuses a non-admin, with an audit record naming the operation (as its
/// `scheme`) and the key it named.
fn require_admin(
    agent: &Agent,
    caller: &Caller,
    operation: &'static str,
    extension: bool,
    subject: impl FnOnce() -> String,
) -> Result<(), Failure> {
    if agent.role_of(caller) == Role::Admin {
        return Ok(());
    }
    let peer = caller.peer;
    let key = subject();
    warn!(%peer, operation, key = %signet_proto::text::escape(&key), "{NOT_ADMIN}");
    agent.audit(|| Event {
        decision: Verdict::Refuse,
        key: key.into(),
        scheme: operation,
        pid: caller.pid(),
        uid: peer.uid,
        exe: caller.exe_shared().unwrap_or_else(|| "?".into()),
        reason: format!("uid {}: {NOT_ADMIN}", peer.uid),
        ..Event::default()
    });
    Err(if extension {
        Failure::Ext(ExtensionError::new(ErrorCode::Refused, NOT_ADMIN))
    } else {
        Failure::plain(NOT_ADMIN)
    })
}

/// The key an admin operation names, for the audit record of a refusal.
fn subject(agent: &Agent, op: &AdminOp<'_>) -> String {
    match op {
        AdminOp::Add(add) => add.comment.clone(),
        AdminOp::Remove { key_blob } => agent
            .keys
            .get_identity(key_blob, Instant::now())
            .map(|k| k.name.to_string())
            .unwrap_or_default(),
        AdminOp::Generate(req) => req.name.clone(),
        AdminOp::Import(req) => req.name.clone(),
        AdminOp::Load(sel) | AdminOp::Unload(sel) => sel.names.join(","),
        AdminOp::Delete { selector } | AdminOp::Rename { selector, .. } => selector.clone(),
        AdminOp::RemoveAll
        | AdminOp::Lock(_)
        | AdminOp::Unlock(_)
        | AdminOp::Stop
        | AdminOp::Doctor { .. }
        | AdminOp::Reload
        | AdminOp::UnlockStore(_)
        | AdminOp::LockStore
        | AdminOp::Passwd(_)
        | AdminOp::TokenLogin(_) => String::new(),
        AdminOp::Smartcard(req) => req.provider.clone(),
        AdminOp::SecretAdd(req) => req.name.clone(),
        AdminOp::SecretRemove { name } => name.clone(),
    }
}

/// Steps 3 and 4 for a signature: the key's rule, idle timeout and rate
/// limits, then confirmation. A refusal is audited and returned as the
/// sentence for the user.
async fn decide<'a>(
    agent: &Agent,
    caller: &Caller,
    s: Signing<'a>,
) -> Result<Admitted<'a>, String> {
    let now = Instant::now();
    let peer = &caller.peer;
    let decision = agent.decide(&s.key, &s.op, caller, now);
    if decision.idle_expired {
        agent.unload_idle(&s.key);
    }
    if !decision.allowed {
        warn!(%peer, "refused: {}", decision.reason);
        agent.audit(|| {
            s.event(
                caller,
                Verdict::Refuse,
                decision.rule.clone(),
                decision.reason.clone(),
            )
        });
        return Err(decision.reason);
    }
    if s.key.confirm {
        // A yes this very process gave within the key's remember period
        // stands (the approvals live with the key: agent/keys.rs).
        let who = s.key.remember.and(caller.process_identity());
        if who.as_ref().is_some_and(|p| s.key.approved(p, now)) {
            info!(%peer, key = %signet_proto::text::escape(&s.key.name), "use confirmed earlier by this process");
        } else {
            if let Err(why) = confirm::ask(&s.prompt(caller, who.as_ref())).await {
                let reason = format!("key {}: {why}", s.key.name);
                warn!(%peer, "refused: {}", signet_proto::text::escape(&reason));
                agent.audit(|| {
                    s.event(
                        caller,
                        Verdict::Refuse,
                        decision.rule.clone(),
                        reason.clone(),
                    )
                });
                return Err(reason);
            }
            info!(%peer, key = %signet_proto::text::escape(&s.key.name), "use confirmed");
            // The remember period is the client's number: added with a
            // check (a period past what the clock holds is not remembered).
            let until = s.key.remember.and_then(|r| Instant::now().checked_add(r));
            if let (Some(until), Some(p)) = (until, who) {
                s.key.approve(p, until);
            }
        }
    }
    Ok(Admitted::Sign(Grant {
        signing: s,
        rule: decision.rule,
        decided: now,
        _sealed: (),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation the lock table answers while locked, and nothing
    /// else (the integration test drives the same table over the socket).
    #[test]
    fn a_locked_agent_answers_only_unlock_identities_version_status_and_query() {
        use signet_proto::Passphrase;
        let p = || Passphrase::new(b"x".to_vec());
        assert_eq!(
            while_locked(&Op::Admin(AdminOp::Unlock(p()))),
            WhileLocked::Answer
        );
        assert_eq!(
            while_locked(&Op::Read(ReadOp::Identities)),
            WhileLocked::WithoutKeys
        );
        assert_eq!(
            while_locked(&Op::Read(ReadOp::Status)),
            WhileLocked::WithoutKeys
        );
        for answered in [ReadOp::Query, ReadOp::Version] {
            assert_eq!(while_locked(&Op::Read(answered)), WhileLocked::Answer);
        }
        for refused in [
            Op::Admin(AdminOp::Lock(p())),
            Op::Admin(AdminOp::RemoveAll),
            Op::Admin(AdminOp::Stop),
            Op::Admin(AdminOp::Doctor { fix: false }),
            Op::Admin(AdminOp::UnlockStore(
                signet_proto::keystore::UnlockStoreRequest {
                    passphrase: p(),
                    create: false,
                },
            )),
            Op::Admin(AdminOp::LockStore),
            Op::Admin(AdminOp::Passwd(signet_proto::keystore::PasswdRequest {
                old: p(),
                new: p(),
            })),
            Op::Admin(AdminOp::Rename {
                selector: "a".into(),
                to: "b".into(),
            }),
            Op::Read(ReadOp::List),
            Op::Read(ReadOp::Stored),
            Op::Read(ReadOp::Store),
            Op::Read(ReadOp::AuditInfo),
            Op::UnknownExtension {
                name: "session-bind@openssh.com",
            },
            Op::Unsupported { msg_type: 20 },
        ] {
            assert_eq!(while_locked(&refused), WhileLocked::Refuse);
        }
    }
}
