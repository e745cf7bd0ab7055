//! Spans of time as people write them, the one grammar for the command line
//! (`signet load --lifetime 1h30m`) and the configuration file (`lifetime =
//! "1h30m"`), and their short human form ("expires in 14m 10s").
//!
//! Grammar: one or more `<digits><unit>` parts, units `s`, `m`, `h`, `d`,
//! summed (`1h30m`, `2d12h`); or plain digits, meaning seconds (`600`).
//! Surrounding whitespace is ignored; anything else (`1.5h`, `15 m`, `-5`,
//! `1y`) is refused. What a zero means, and how long is too long, is the
//! caller's rule (the configuration's `0` is "none", the command line
//! refuses it); this only refuses what does not fit in 64 bits.

/// The longest key lifetime any signet program accepts, in seconds: what
/// `SSH_AGENTC_ADD_ID_CONSTRAINED` can carry (`uint32`, about 136 years).
/// Longer ones are refused rather than wrapped or saturated.
pub const MAX_LIFETIME_SECS: u64 = u32::MAX as u64;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing but whitespace.
    #[error("empty duration: use e.g. 90s, 15m, 8h, 2d, 1h30m or plain seconds")]
    Empty,
    /// Not in the grammar.
    #[error("{0:?} is not a duration: use e.g. 90s, 15m, 8h, 2d, 1h30m or plain seconds")]
    Invalid(String),
    /// More seconds than 64 bits hold.
    #[error("{0:?} is too long")]
    TooLong(String),
}

/// Parses a duration into seconds.
pub fn parse_secs(text: &str) -> Result<u64, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let bad = || DurationError::Invalid(s.to_owned());
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let (num, after) = rest.split_at(digits);
        let unit_len = after.bytes().take_while(|b| !b.is_ascii_digit()).count();
        let (unit, next) = after.split_at(unit_len);
        let factor = match unit {
            // Plain digits are seconds, but only on their own.
            "" if rest.len() == s.len() => 1,
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = num
            .parse()
            .map_err(|_| DurationError::TooLong(s.to_owned()))?;
        total = n
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| DurationError::TooLong(s.to_owned()))?;
        rest = next;
    }
    Ok(total)
}

/// A short human form: `42s`, `14m`, `14m 10s`, `2h 5m`, `3d 4h` (the two
/// most significant units).
pub fn human(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let parts: [(u64, &str); 4] = [(d, "d"), (h, "h"), (m, "m"), (s, "s")];
    let Some(first) = parts.iter().position(|(v, _)| *v > 0) else {
        return "0s".to_owned();
    };
    parts[first..]
        .iter()
        .take(2)
        .filter(|(v, _)| *v > 0)
        .map(|(v, u)| format!("{v}{u}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seconds since the epoch as RFC 3339 UTC (`2025-01-02T03:04:05Z`): the
/// audit log's times, certificates' validity in `signet list`.
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
    fn accepted_forms() {
        for (input, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("8h", 28_800),
            ("2d", 172_800),
            ("600", 600),
            ("1h30m", 5400),
            ("2d12h", 216_000),
            ("1m1s", 61),
            (" 45 ", 45),
            ("0", 0),
            ("0s", 0),
        ] {
            assert_eq!(parse_secs(input), Ok(secs), "{input}");
        }
    }

    #[test]
    fn refused_forms() {
        for input in [
            "", " ", "m", "15x", "1.5h", "-5", "15 m", "1h30", "30 1h", "1y", "h1",
        ] {
            assert!(parse_secs(input).is_err(), "{input:?} should be refused");
        }
        assert_eq!(
            parse_secs("99999999999999999999d"),
            Err(DurationError::TooLong("99999999999999999999d".into()))
        );
        assert!(matches!(
            parse_secs("999999999999999d"),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn human_forms() {
        assert_eq!(human(0), "0s");
        assert_eq!(human(42), "42s");
        assert_eq!(human(840), "14m");
        assert_eq!(human(850), "14m 10s");
        assert_eq!(human(7500), "2h 5m");
        assert_eq!(human(86_400 + 61), "1d");
    }
}
