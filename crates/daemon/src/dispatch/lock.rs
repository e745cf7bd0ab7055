//! `LOCK` and `UNLOCK` (`ssh-add -x` / `-X`).

use signet_proto::message::encode_status;
use signet_proto::Passphrase;
use tracing::{info, warn};

use super::gate::AdminPermit;
use super::{Failure, Outcome};
use crate::access::peer::Peer;
use crate::agent::{Agent, LockError};

/// `LOCK`: locks with the passphrase. Loaded keys stay loaded, hidden and
/// refused until `UNLOCK` (as OpenSSH's agent keeps them); the unlocked
/// store key of a sealed store is forgotten, so loading more keys needs
/// `signet unlock-store` again (see `agent::stored`).
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
    let store = agent.lock_store();
    // Every remembered confirmation goes too: after an unlock, each process
    // is asked again.
    agent.keys.forget_approvals();
    info!(%peer, keys = agent.keys.snapshot(tokio::time::Instant::now()).len(), store_locked = store, "agent locked (loaded keys kept, hidden)");
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
