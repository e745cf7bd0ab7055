//! Refused connections: one reply that says why, and a log that a refused
//! peer cannot flood.
//!
//! **Owns**: what happens to a connection the access check refused. It gets
//! one `SSH_AGENT_EXTENSION_FAILURE` frame (code `NotAllowed`, the reason as
//! text): the reply to whatever it sends first, which signet's clients show
//! and any SSH agent client takes as a failure (OpenSSH's `ssh-add`, which
//! expects no extension reply there, says `invalid format` and exits 1).
//! Then the peer's first request is read and dropped (at most
//! [`DRAIN_BYTES`], for at most [`DRAIN_TIME`]) before the socket closes: a
//! client that writes after the agent has closed gets `EPIPE`, and `ssh-add`
//! would die of SIGPIPE (exit 141) instead of failing as usual. At most [`MAX_PENDING`] refusals are
//! handled at once; past that the frame is written without waiting and the
//! connection closed. The log gets one line per uid per [`LOG_WINDOW`],
//! counting the refusals it did not show.
//!
//! **Must not**: interpret anything the peer sends, or answer more than once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signet_proto::extension::{ErrorCode, ExtensionError};
use signet_proto::Response;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;
use tokio::sync::Semaphore;
use tracing::warn;

use crate::access::peer::Client;
use signet_proto::text::escape;

/// How much of a refused peer's input is read before closing.
pub const DRAIN_BYTES: usize = 64 * 1024;

/// How long a refused connection is kept open for its request to arrive.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Refused connections handled at the same time.
pub const MAX_PENDING: usize = 64;

/// One log line per uid per this long.
pub const LOG_WINDOW: Duration = Duration::from_secs(60);

/// Past this many uids in the log's memory, uids whose window has passed are
/// forgotten; if none has, a new uid is not logged (its refusals still get
/// their reply).
const MAX_UIDS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Seen {
    since: Instant,
    unlogged: u64,
}

/// The refusals in progress and the rate-limited log.
#[derive(Debug)]
pub struct Refusals {
    pending: Arc<Semaphore>,
    seen: Mutex<HashMap<u32, Seen>>,
}

impl Default for Refusals {
    fn default() -> Self {
        Self {
            pending: Arc::new(Semaphore::new(MAX_PENDING)),
            seen: Mutex::new(HashMap::new()),
        }
    }
}

/// The frame a refused peer gets.
pub fn frame(reason: &str) -> Vec<u8> {
    let mut contents = Vec::new();
    ExtensionError::new(ErrorCode::NotAllowed, reason).encode(&mut contents);
    let mut out = Vec::new();
    Response::ExtensionFailure(contents).encode_frame(&mut out);
    out
}

impl Refusals {
    /// Refuses `stream` from `client`, telling it `reason`; `allowed` (who
    /// may use the agent) goes to the log only. Must run inside the runtime.
    pub fn refuse(&self, stream: UnixStream, client: &Client, reason: String, allowed: &str) {
        let peer = &client.peer;
        if let Some(unlogged) = self.note(peer.uid, Instant::now()) {
            // The executable its process ran at accept; a process names its
            // own, so it is escaped like anything else a peer chose.
            let exe = client
                .process
                .as_ref()
                .and_then(|p| p.exe())
                .map_or_else(|| "?".to_owned(), |e| escape(e));
            let more = if unlogged > 0 {
                format!(
                    " ({unlogged} more refusals of uid {} in the last {} s not logged)",
                    peer.uid,
                    LOG_WINDOW.as_secs()
                )
            } else {
                String::new()
            };
            warn!(uid = peer.uid, gid = peer.gid, pid = ?peer.pid, exe = %exe, "refused connection from {peer}: only {allowed} may use this agent{more}");
        }
        let reply = frame(&reason);
        match self.pending.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    let _permit = permit;
                    reply_and_drain(stream, &reply).await;
                });
            }
            // Too many at once: the reply if it fits, no waiting.
            Err(_) => {
                let _ = stream.try_write(&reply);
            }
        }
    }

    /// Whether a refusal of `uid` at `now` is logged: `Some(n)` with the
    /// number of refusals since the last line that were not, or `None`.
    fn note(&self, uid: u32, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = seen.get_mut(&uid) {
            if now.saturating_duration_since(s.since) < LOG_WINDOW {
                s.unlogged += 1;
                return None;
            }
            let unlogged = s.unlogged;
            *s = Seen {
                since: now,
                unlogged: 0,
            };
            return Some(unlogged);
        }
        if seen.len() >= MAX_UIDS {
            seen.retain(|_, s| now.saturating_duration_since(s.since) < LOG_WINDOW);
            if seen.len() >= MAX_UIDS {
                return None;
            }
        }
        seen.insert(
            uid,
            Seen {
                since: now,
                unlogged: 0,
            },
        );
        Some(0)
    }
}

async fn reply_and_drain(mut stream: UnixStream, reply: &[u8]) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        if stream.write_all(reply).await.is_err() {
            return;
        }
        // The peer's first frame: its length prefix, then that many bytes
        // (at most DRAIN_BYTES in all). Once it is consumed the socket can
        // close without the peer's write failing.
        let mut prefix = [0u8; 4];
        if stream.read_exact(&mut prefix).await.is_err() {
            return;
        }
        let mut left = usize::try_from(u32::from_be_bytes(prefix))
            .unwrap_or(usize::MAX)
            .min(DRAIN_BYTES);
        let mut buf = [0u8; 4096];
        while left > 0 {
            match stream.read(&mut buf[..left.min(4096)]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left -= n,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_uid_per_window_counting_the_rest() {
        let r = Refusals::default();
        let t0 = Instant::now();
        assert_eq!(r.note(1004, t0), Some(0));
        for i in 1..=500 {
            assert_eq!(r.note(1004, t0 + Duration::from_millis(i)), None);
        }
        // Another uid has a window of its own.
        assert_eq!(r.note(1005, t0 + Duration::from_secs(1)), Some(0));
        assert_eq!(r.note(1004, t0 + LOG_WINDOW), Some(500));
        assert_eq!(r.note(1004, t0 + LOG_WINDOW + Duration::from_secs(1)), None);
    }

    #[test]
    fn many_uids_cannot_grow_the_memory_without_bound() {
        let r = Refusals::default();
        let t0 = Instant::now();
        for uid in 0..MAX_UIDS as u32 {
            assert_eq!(r.note(uid, t0), Some(0));
        }
        assert_eq!(r.note(u32::MAX, t0), None, "full: not logged");
        assert_eq!(
            r.note(u32::MAX, t0 + LOG_WINDOW),
            Some(0),
            "old ones forgotten"
        );
        assert!(r.seen.lock().map(|s| s.len()).unwrap_or(0) <= MAX_UIDS);
    }

    #[test]
    fn the_reply_is_an_extension_failure_with_the_reason() -> Result<(), signet_proto::Error> {
        let f = frame("uid 7 is not allowed");
        assert_eq!(&f[..5], &[0, 0, 0, 29, 28]);
        match Response::decode(&f[4..])? {
            Response::ExtensionFailure(c) => assert_eq!(
                ExtensionError::decode(&c)?,
                Some(ExtensionError::new(
                    ErrorCode::NotAllowed,
                    "uid 7 is not allowed"
                ))
            ),
            other => panic!("{other:?}"),
        }
        Ok(())
    }
}
