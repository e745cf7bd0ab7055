//! `[agent]` and `[encord]`, and the lifetime type shared by other sections.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use signet_proto::duration::{self, DurationError};

/// A lifetime: a number of seconds, or a duration in the grammar shared
/// with the command line (`signet_proto::duration`: `"90s"`, `"8h"`,
/// `"1h30m"`, `"120"`), or `0` / `"0"` / `"none"` for no lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime(pub Option<u64>);

impl Lifetime {
    /// Parses the text form.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") {
            return Ok(Lifetime(None));
        }
        let secs = duration::parse_secs(s)?;
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
            Raw::Secs(n) => Ok(Lifetime(Some(n))),
            Raw::Text(t) => Lifetime::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// `[agent] default_lifetime` when none is configured: 8 hours, a working
/// day. Keys loaded from the keyring can be loaded again with one command
/// (and at most one keyring prompt), so a key left loaded by mistake should
/// not stay usable overnight. Keys added with `ssh-add`/`signet add` without a
/// lifetime keep none, as with OpenSSH.
pub const DEFAULT_LOAD_LIFETIME_SECS: u64 = 8 * 3600;

/// `[agent]` section.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Socket path; `--socket` and `SIGNET_AUTH_SOCK` take precedence.
    pub socket: Option<PathBuf>,
    /// Connections served at once; more are accepted and closed at once.
    pub max_connections: usize,
    /// Seconds a client may take to send the rest of a frame it has started.
    pub frame_timeout_secs: u64,
    /// Seconds a connection may stay silent between requests (0 = forever).
    pub idle_timeout_secs: u64,
    /// Seconds in-flight requests get to finish at shutdown.
    pub shutdown_grace_secs: u64,
    /// Lifetime of keys loaded from the key store (`signet load`, autoload)
    /// unless the command or `[keys.NAME] lifetime` says otherwise. Default
    /// 8h; `0` = none.
    pub default_lifetime: Lifetime,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            socket: None,
            max_connections: 1024,
            frame_timeout_secs: 10,
            idle_timeout_secs: 600,
            shutdown_grace_secs: 5,
            default_lifetime: Lifetime(Some(DEFAULT_LOAD_LIFETIME_SECS)),
        }
    }
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
        assert!(Lifetime::parse("8 weeks").is_err());
    }
}
