//! Token buckets for the per-key and per-(key, caller uid) rate limits of
//! the policy layer (`policy::decide` takes the tokens).
//!
//! Time is `tokio::time::Instant`, the monotonic clock tests can pause and
//! advance. A request takes one token from every bucket that applies, or from
//! none: a refusal by the caller's bucket does not use up the key's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::Rate;

/// Which bucket: a key (by public key), and a caller uid for per-caller limits.
type BucketId = ([u8; 32], Option<u32>);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(self, rate: Rate, now: Instant) -> Self {
        let per_sec = f64::from(rate.per_minute) / 60.0;
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        Self {
            tokens: (self.tokens + elapsed * per_sec).min(f64::from(rate.burst)),
            at: now,
        }
    }

    /// How long until one token is there.
    fn wait(self, rate: Rate) -> Duration {
        let per_sec = f64::from(rate.per_minute) / 60.0;
        Duration::from_secs_f64(((1.0 - self.tokens).max(0.0) / per_sec).min(3600.0))
    }
}

/// Past this many buckets, full ones are forgotten (a full bucket is the
/// same as a new one), so that many short-lived callers cannot grow memory.
const PRUNE_AT: usize = 4096;

/// Every bucket.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<BucketId, Bucket>>,
}

/// A refusal: which limit, and when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Whether the per-caller limit (rather than the key's) refused.
    pub per_caller: bool,
    /// When a token will be available.
    pub retry_after: Duration,
}

impl RateLimiter {
    /// Takes a token for `key` (and for `uid` on `key`) if both limits allow.
    pub fn take(
        &self,
        key: [u8; 32],
        key_rate: Option<Rate>,
        uid: u32,
        caller_rate: Option<Rate>,
        now: Instant,
    ) -> Result<(), Limited> {
        if key_rate.is_none() && caller_rate.is_none() {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let mut checked = [None, None];
        for (slot, (id, rate, per_caller)) in [
            ((key, None), key_rate, false),
            ((key, Some(uid)), caller_rate, true),
        ]
        .into_iter()
        .enumerate()
        {
            let Some(rate) = rate else { continue };
            let fresh = Bucket {
                tokens: f64::from(rate.burst),
                at: now,
            };
            let b = buckets
                .get(&id)
                .copied()
                .unwrap_or(fresh)
                .refilled(rate, now);
            if b.tokens < 1.0 {
                return Err(Limited {
                    per_caller,
                    retry_after: b.wait(rate),
                });
            }
            checked[slot] = Some((id, b));
        }
        for (id, mut b) in checked.into_iter().flatten() {
            b.tokens -= 1.0;
            buckets.insert(id, b);
        }
        if buckets.len() > PRUNE_AT {
            // A bucket that has had a minute to refill is at least as full as
            // its burst allows for any rate ≥ burst/min; dropping it is safe
            // for the common case and bounds memory in every case.
            buckets.retain(|_, b| now.saturating_duration_since(b.at) < Duration::from_secs(60));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: [u8; 32] = [1; 32];

    fn rate(per_minute: u32, burst: u32) -> Option<Rate> {
        Some(Rate { per_minute, burst })
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let l = RateLimiter::default();
        for _ in 0..3 {
            assert_eq!(l.take(K, rate(60, 3), 1000, None, Instant::now()), Ok(()));
        }
        let refused = l.take(K, rate(60, 3), 1000, None, Instant::now());
        assert_eq!(
            refused,
            Err(Limited {
                per_caller: false,
                retry_after: Duration::from_secs(1)
            })
        );
        tokio::time::advance(Duration::from_millis(999)).await;
        assert!(l.take(K, rate(60, 3), 1000, None, Instant::now()).is_err());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(l.take(K, rate(60, 3), 1000, None, Instant::now()), Ok(()));
        assert!(l.take(K, rate(60, 3), 1000, None, Instant::now()).is_err());
        // A long pause refills to the burst, not beyond.
        tokio::time::advance(Duration::from_secs(3600)).await;
        for _ in 0..3 {
            assert!(l.take(K, rate(60, 3), 1000, None, Instant::now()).is_ok());
        }
        assert!(l.take(K, rate(60, 3), 1000, None, Instant::now()).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn per_caller_buckets_are_separate_and_do_not_drain_the_key() {
        let l = RateLimiter::default();
        let now = Instant::now();
        assert!(l.take(K, rate(60, 3), 1, rate(1, 1), now).is_ok());
        let second = l.take(K, rate(60, 3), 1, rate(1, 1), now);
        assert!(
            matches!(
                second,
                Err(Limited {
                    per_caller: true,
                    ..
                })
            ),
            "{second:?}"
        );
        // uid 2 has its own bucket; the key bucket still has 2 tokens (the
        // refused request took none).
        assert!(l.take(K, rate(60, 3), 2, rate(1, 1), now).is_ok());
        assert!(l.take(K, rate(60, 3), 3, rate(1, 1), now).is_ok());
        let key_empty = l.take(K, rate(60, 3), 4, rate(1, 1), now);
        assert!(matches!(
            key_empty,
            Err(Limited {
                per_caller: false,
                ..
            })
        ));
        // Another key is independent.
        assert!(l.take([2; 32], rate(60, 3), 1, rate(1, 1), now).is_ok());
        // No limits: never refused.
        for _ in 0..100 {
            assert!(l.take(K, None, 1, None, now).is_ok());
        }
    }
}
