//! Spans of time on the command line: `--lifetime 15m`, "expires in 14m".
//! The grammar is the one the configuration file uses
//! (`signet_proto::duration`); the command line adds its own limits.

use std::time::Duration;

pub use signet_proto::duration::human;

/// Parses `90s`, `15m`, `8h`, `2d`, plain seconds (`600`), or a sum of
/// parts (`1h30m`). Zero and spans over `u32::MAX` seconds (the protocol's
/// limit) are refused.
pub fn parse(s: &str) -> Result<Duration, String> {
    let secs = signet_proto::duration::parse_secs(s).map_err(|e| e.to_string())?;
    if secs == 0 {
        return Err("a lifetime must be at least one second (omit --lifetime for none)".to_owned());
    }
    if secs > u64::from(u32::MAX) {
        return Err(format!(
            "{:?} is too long: the limit is {} seconds",
            s.trim(),
            u32::MAX
        ));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let cases = [
            ("90s", 90),
            ("15m", 900),
            ("8h", 28_800),
            ("2d", 172_800),
            ("600", 600),
            ("1h30m", 5400),
            (" 45 ", 45),
        ];
        for (input, secs) in cases {
            assert_eq!(parse(input), Ok(Duration::from_secs(secs)), "{input}");
        }
    }

    #[test]
    fn refused_forms() {
        for input in [
            "",
            "0",
            "0s",
            "m",
            "15x",
            "1.5h",
            "-5",
            "15 m",
            "99999999999d",
            "5000000000",
        ] {
            assert!(parse(input).is_err(), "{input:?} should be refused");
        }
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
