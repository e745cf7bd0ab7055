//! The one reaper: removes keys whose lifetime has ended and keys idle for
//! longer than their rule's idle timeout, as OpenSSH's agent has one
//! `reaper()` for lifetimes, and forgets the unlocked store key of a sealed
//! store when its `unlock_idle` or `unlock_max` has passed. One task, sleeping on the monotonic clock
//! (`tokio::time`, which tests pause) until the next deadline, woken early
//! when a key is added or the configuration changes.

use std::sync::Arc;

use tokio::time::Instant;
use tracing::info;

use super::Agent;

impl Agent {
    /// Runs the reaper until shutdown (spawn it once).
    pub async fn reap(self: Arc<Self>) {
        loop {
            let policies = self.policies();
            let idle_for = |bound: &str| policies.rule_for(bound).and_then(|r| r.idle_timeout);
            let next = [
                self.keys.next_expiry(),
                self.keys.next_idle_deadline(idle_for),
                self.store_unlock.deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
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
                    if self.store_unlock.reap(now) {
                        info!("key store locked again: its unlock timed out (keys already loaded stay loaded)");
                    }
                }
            }
        }
    }
}
