//! `[agent]` and `[encord]`, and the lifetime type shared by other sections.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use signet_proto::duration::{self, DurationError, MAX_LIFETIME_SECS};

/// A lifetime: a number of seconds, or a duration in the grammar shared
/// with the command line (`signet_proto::duration`: `"90s"`, `"8h"`,
/// `"1h30m"`, `"120"`), or `0` / `"0"` / `"none"` for no lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime(pub Option<u64>);

impl Lifetime {
    /// Parses the text form. At most [`MAX_LIFETIME_SECS`] (about 136
    /// years): a longer one is refused, not wrapped or saturated.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") {
            return Ok(Lifetime(None));
        }
        let secs = duration::parse_secs(s)?;
        if secs > MAX_LIFETIME_SECS {
            return Err(DurationError::TooLong(s.to_owned()));
        }
        Ok(Lifetime((secs > 0).then_some(secs)))
    }
}

impl<'de> Deserialize<'de> for Lifetime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(0) => Ok(Lifetime(None)),
            Raw::Secs(n) if n > MAX_LIFETIME_SECS => Err(serde::de::Error::custom(format!(
                "{n} seconds is longer than the longest lifetime accepted ({MAX_LIFETIME_SECS})"
            ))),
            Raw::Secs(n) => Ok(Lifetime(Some(n))),
            Raw::Text(t) => Lifetime::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// The lifetime of keys loaded from the key store when `[agent]
/// default_lifetime` is not set: 8 hours, a working day. Keys loaded from
/// the keyring can be loaded again with one command (and at most one
/// keyring prompt), so a key left loaded by mistake should not stay usable
/// overnight. Keys added with `ssh-add`/`signet add` without a lifetime keep
/// none unless `default_lifetime` (or `signetd -t`) is set, as with
/// OpenSSH's `ssh-agent` without and with `-t`.
pub const DEFAULT_LOAD_LIFETIME_SECS: u64 = 8 * 3600;

/// `[agent]` section.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Socket path; `--socket` and `SIGNET_AUTH_SOCK` take precedence.
    pub socket: Option<PathBuf>,
    /// Connections served at once; past it, the longest-idle connection of
    /// the uid holding the most is closed for a new one.
    pub max_connections: usize,
    /// Connections of one uid served at once; past it, that uid's
    /// longest-idle connection is closed for its new one.
    pub max_connections_per_uid: usize,
    /// Seconds a client may take to send the rest of a frame it has started.
    pub frame_timeout_secs: u64,
    /// Seconds a connection may stay silent between requests (0 = forever,
    /// the default: OpenSSH's agent never closes an idle client, and kept
    /// connections of paramiko, asyncssh, IDEs and ssh multiplexers must
    /// not fail their next request; under pressure the connection caps
    /// close the longest-idle connections first).
    pub idle_timeout_secs: u64,
    /// Seconds in-flight requests get to finish at shutdown.
    pub shutdown_grace_secs: u64,
    /// The default lifetime of keys (as `ssh-agent -t`): when set, of every
    /// key added without one (`ssh-add`, `signet add`) and of keys loaded
    /// from the key store (`signet load`, autoload) unless the command or
    /// `[keys.NAME] lifetime` says otherwise; `0` = none. Unset: keys added
    /// over the protocol keep none (OpenSSH's default) and loaded keys get
    /// [`DEFAULT_LOAD_LIFETIME_SECS`]. `signetd -t` overrides it.
    pub default_lifetime: Option<Lifetime>,
    /// Keys the agent holds at most; one more is refused.
    pub max_keys: usize,
    /// The longest key name or comment accepted, in bytes (`ssh-add`'s
    /// comment, `signet add --name`, `import`/`generate` comments).
    pub max_name_bytes: usize,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            socket: None,
            max_connections: 1024,
            max_connections_per_uid: 256,
            frame_timeout_secs: 10,
            idle_timeout_secs: 0,
            shutdown_grace_secs: 5,
            default_lifetime: None,
            max_keys: 1024,
            max_name_bytes: 255,
        }
    }
}

/// Checks the `[agent]` limits that have a range.
pub(super) fn check_limits(a: &AgentConfig) -> Result<(), super::Invalid> {
    let limit = |key, value: usize, range| super::Invalid::Limit {
        key,
        value: u64::try_from(value).unwrap_or(u64::MAX),
        range,
    };
    if a.max_connections_per_uid == 0 {
        return Err(limit("max_connections_per_uid", 0, "at least 1"));
    }
    // Timeouts a clock can add to now without overflowing, and no longer
    // than anyone would wait.
    for (key, secs, max, range) in [
        (
            "frame_timeout_secs",
            a.frame_timeout_secs,
            3600,
            "0 to 3600",
        ),
        (
            "shutdown_grace_secs",
            a.shutdown_grace_secs,
            3600,
            "0 to 3600",
        ),
        (
            "idle_timeout_secs",
            a.idle_timeout_secs,
            MAX_LIFETIME_SECS,
            "0 to 4294967295",
        ),
    ] {
        if secs > max {
            return Err(super::Invalid::Limit {
                key,
                value: secs,
                range,
            });
        }
    }
    if !(1..=65_536).contains(&a.max_keys) {
        return Err(limit("max_keys", a.max_keys, "1 to 65536"));
    }
    // A name must fit in a reply frame with room to spare.
    if !(1..=65_536).contains(&a.max_name_bytes) {
        return Err(limit("max_name_bytes", a.max_name_bytes, "1 to 65536"));
    }
    Ok(())
}

impl AgentConfig {
    /// Frame deadline as a duration.
    pub fn frame_timeout(&self) -> Duration {
        Duration::from_secs(self.frame_timeout_secs.max(1))
    }

    /// Idle timeout, if any.
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| Duration::from_secs(self.idle_timeout_secs))
    }
}

/// `[encord]` section.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EncordConfig {
    /// Seconds added to the clock for v2 `created` (e.g. -30 to match older
    /// SDK releases that back-dated it for clock skew). Default 0, as the
    /// current SDK.
    pub created_offset_secs: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(Lifetime::parse("90s"), Ok(Lifetime(Some(90))));
        assert_eq!(Lifetime::parse("2d"), Ok(Lifetime(Some(172_800))));
        assert_eq!(Lifetime::parse("none"), Ok(Lifetime(None)));
        assert_eq!(Lifetime::parse("120"), Ok(Lifetime(Some(120))));
        assert_eq!(Lifetime::parse("0"), Ok(Lifetime(None)));
        // The command line's sums are accepted here too.
        assert_eq!(Lifetime::parse("1h30m"), Ok(Lifetime(Some(5400))));
        assert!(Lifetime::parse("1y").is_err());
        // Longer than any clock here counts: refused, never wrapped.
        assert_eq!(
            Lifetime::parse("4294967295"),
            Ok(Lifetime(Some(u64::from(u32::MAX))))
        );
        assert!(Lifetime::parse("4294967296").is_err());
        assert!(Lifetime::parse("106751991167300d").is_err());
        assert!(crate::config::parse("[keys.k]\nlifetime = 9223372036854775807\n").is_err());
        assert!(crate::config::parse("[policies.p]\nidle_timeout = \"99999999999d\"\n").is_err());
        assert!(Lifetime::parse("8 weeks").is_err());
    }
}
