//! The gate: what every decoded request passes before its handler runs.
//!
//! One function ([`admit`]) decides, from the operation and the agent's
//! state, whether a handler may run, as OpenSSH's `process_message` decides
//! in one place what a locked agent answers. Today it decides the lock; the
//! per-key decision (rule, idle timeout, rate limit, confirm) is made by the
//! one signing pipeline in `sign.rs` once the key is known. Handlers do the
//! work and check no permission themselves.
//!
//! While locked (as before the gate existed): signing, adding and removing
//! keys, and the key-store changes that need a secret (generate, import,
//! load, delete) are refused, and so are `explain@signet` and
//! `sign-request@signet`; the identities list, `status@signet`,
//! `list@signet` and `stored@signet` answer without key information
//! ([`Admitted::locked`]); the rest answers as usual.

use signet_proto::extension::Extension;

use super::{locked_error, Failure, Op};
use crate::agent::Agent;

/// What the gate tells the handler it admitted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admitted {
    /// The agent was locked when the request was admitted: show no key
    /// information.
    pub locked: bool,
}

/// How the gate treats an operation while the agent is locked.
enum WhileLocked {
    /// Refused with the plain `SSH_AGENT_FAILURE` (agent protocol messages).
    Refuse,
    /// Refused with the `locked` extension failure.
    RefuseExtension,
    /// Answered (without key information where it has any).
    Answer,
}

/// The lock table: one line per operation, checked by the compiler to be
/// complete.
fn while_locked(op: &Op<'_>) -> WhileLocked {
    use WhileLocked::{Answer, Refuse, RefuseExtension};
    match op {
        Op::Sign(_) | Op::Add(_) | Op::Remove { .. } | Op::RemoveAll => Refuse,
        // LOCK on a locked agent is the handler's "already locked".
        Op::Identities | Op::Lock(_) | Op::Unlock(_) | Op::Unsupported { .. } => Answer,
        Op::Extension(ext) => match ext {
            Extension::Explain(_)
            | Extension::SignRequest(_)
            | Extension::Generate(_)
            | Extension::Import(_)
            | Extension::Load(_)
            | Extension::Delete { .. } => RefuseExtension,
            Extension::Query
            | Extension::Version
            | Extension::Status
            | Extension::List
            | Extension::Stop
            | Extension::Stored
            | Extension::Unload(_)
            | Extension::Rename { .. }
            | Extension::Doctor { .. }
            | Extension::Store
            | Extension::Unknown { .. } => Answer,
        },
    }
}

/// Admits `op`, or refuses it with the reply the client gets.
pub(crate) fn admit(agent: &Agent, op: &Op<'_>) -> Result<Admitted, Failure> {
    let locked = agent.lock.is_locked();
    if locked {
        match while_locked(op) {
            WhileLocked::Refuse => return Err(Failure::plain("the agent is locked")),
            WhileLocked::RefuseExtension => return Err(Failure::Ext(locked_error())),
            WhileLocked::Answer => {}
        }
    }
    Ok(Admitted { locked })
}
