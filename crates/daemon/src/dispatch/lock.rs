//! `LOCK` and `UNLOCK` (`ssh-add -x` / `-X`).

use signet_proto::message::encode_status;
use signet_proto::Passphrase;
use tracing::{info, warn};

use super::gate::AdminPermit;
use super::{Failure, Outcome};
use crate::access::peer::Peer;
use crate::agent::{Agent, LockError};

/// `LOCK`: locks with the passphrase and drops the keys loaded from the
/// key store (they are one `signet load` away).
pub(super) async fn lock(
    agent: &Agent,
    p: Passphrase,
    _: &AdminPermit,
    peer: &Peer,
    out: &mut Vec<u8>,
) -> Outcome {
    agent.lock.lock(p).await.map_err(|e| {
        if e == LockError::EmptyPassphrase {
            warn!(%peer, "{e}");
        }
        Failure::plain(e.to_string())
    })?;
    agent.drop_stored_keys();
    // Every remembered confirmation goes too: after an unlock, each process
    // is asked again.
    agent.keys.forget_approvals();
    info!(%peer, "agent locked");
    encode_status(out, true);
    Ok(())
}

/// `UNLOCK`: a wrong passphrase is answered after a growing delay.
pub(super) async fn unlock(
    agent: &Agent,
    p: Passphrase,
    _: &AdminPermit,
    peer: &Peer,
    out: &mut Vec<u8>,
) -> Outcome {
    match agent.lock.unlock(p).await {
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
    }
}
