//! Layer 0: the wall clock, as one seam.
//!
//! Lifetimes, idle timeouts, rate limits and the frame deadline run on the
//! monotonic clock (`tokio::time::Instant`, which tests pause). The wall
//! clock is needed only where a date leaves the process: Encord v2's
//! `created`, the audit log's `time`, the index's `created_at`. Those read
//! it through [`WallClock`] (the agent's, replaceable in tests) or
//! [`unix_now`]. **Must not**: import anything from this crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of Unix time in seconds.
pub type WallClock = fn() -> u64;

/// Seconds since the Unix epoch now (0 if the system clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds since the epoch as RFC 3339 UTC (`2025-01-02T03:04:05Z`).
pub fn rfc3339(unix: u64) -> String {
    signet_proto::duration::rfc3339(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(1_795_468_257), "2026-11-23T21:10:57Z");
    }

    #[test]
    fn now_is_after_this_code_was_written() {
        assert!(unix_now() > 1_700_000_000);
    }
}
