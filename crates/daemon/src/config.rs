//! The daemon's configuration file (TOML).
//!
//! Found at `--config`, else `$SIGNET_CONFIG`, else
//! `$XDG_CONFIG_HOME/signet/config.toml` (`~/.config/signet/config.toml`). A
//! missing default file means defaults; a missing explicit file is an error.
//! Unknown keys are errors that name the key, so a typo never silently
//! weakens a setting. Reloaded on SIGHUP (timeouts and the `created` offset
//! apply to new requests; the socket path and connection cap need a restart).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[agent]`: the socket and its limits.
    #[serde(default)]
    pub agent: AgentConfig,
    /// `[encord]`: request signing.
    #[serde(default)]
    pub encord: EncordConfig,
}

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
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            socket: None,
            max_connections: 1024,
            frame_timeout_secs: 10,
            idle_timeout_secs: 600,
            shutdown_grace_secs: 5,
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

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    path: PathBuf,
    required: bool,
}

impl ConfigSource {
    /// Resolves the path from the flag, the environment and XDG defaults.
    pub fn resolve(flag: Option<PathBuf>) -> Self {
        if let Some(path) = flag {
            return Self {
                path,
                required: true,
            };
        }
        if let Some(path) = std::env::var_os("SIGNET_CONFIG").filter(|p| !p.is_empty()) {
            return Self {
                path: path.into(),
                required: true,
            };
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
            .unwrap_or_else(|| PathBuf::from("/nonexistent"));
        Self {
            path: base.join("signet").join("config.toml"),
            required: false,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and parses the file.
    pub fn load(&self) -> anyhow::Result<Config> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.required => {
                return Ok(Config::default())
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read configuration {}", self.path.display()))
            }
        };
        parse(&text).with_context(|| {
            format!(
                "invalid configuration {}: fix the named key (see README, Configuration)",
                self.path.display()
            )
        })
    }
}

/// Parses configuration text.
pub fn parse(text: &str) -> anyhow::Result<Config> {
    let cfg: Config = toml::from_str(text)?;
    if cfg.agent.max_connections == 0 {
        anyhow::bail!("agent.max_connections must be at least 1");
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named() {
        let err = parse("[agent]\nmax_conections = 3\n")
            .err()
            .map(|e| format!("{e:#}"));
        assert!(err.unwrap_or_default().contains("max_conections"));
    }

    #[test]
    fn defaults_and_values() -> anyhow::Result<()> {
        assert_eq!(parse("")?, Config::default());
        let c = parse("[agent]\nidle_timeout_secs = 0\n[encord]\ncreated_offset_secs = -30\n")?;
        assert_eq!(c.agent.idle_timeout(), None);
        assert_eq!(c.encord.created_offset_secs, -30);
        Ok(())
    }
}
