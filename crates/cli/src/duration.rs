//! Parsing and printing spans of time: `--lifetime 15m`, "expires in 14m".

use std::time::Duration;

/// Parses `90s`, `15m`, `8h`, `2d`, plain seconds (`600`), or a sum of
/// parts (`1h30m`). Zero and spans over `u32::MAX` seconds (the protocol's
/// limit) are refused.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration: use e.g. 90s, 15m, 8h, 2d or plain seconds".to_owned());
    }
    let bad = || format!("{s:?} is not a duration: use e.g. 90s, 15m, 8h, 2d or plain seconds");
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let (num, after) = rest.split_at(digits);
        let n: u64 = num.parse().map_err(|_| bad())?;
        let unit_len = after.bytes().take_while(|b| !b.is_ascii_digit()).count();
        let (unit, next) = after.split_at(unit_len);
        let factor = match unit {
            "" if total == 0 && next.is_empty() => 1,
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{s:?} is too long"))?;
        rest = next;
    }
    if total == 0 {
        return Err("a lifetime must be at least one second (omit --lifetime for none)".to_owned());
    }
    if total > u64::from(u32::MAX) {
        return Err(format!(
            "{s:?} is too long: the limit is {} seconds",
            u32::MAX
        ));
    }
    Ok(Duration::from_secs(total))
}

/// A short human form: `42s`, `14m`, `14m 10s`, `2h 5m`, `3d 4h`.
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
    // The two most significant units are precise enough for a human.
    parts[first..]
        .iter()
        .take(2)
        .filter(|(v, _)| *v > 0)
        .map(|(v, u)| format!("{v}{u}"))
        .collect::<Vec<_>>()
        .join(" ")
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
