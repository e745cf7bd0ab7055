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
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
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
