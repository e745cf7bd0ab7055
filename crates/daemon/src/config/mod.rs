//! The daemon's configuration file (TOML).
//!
//! Found at `--config`, else `$SIGNET_CONFIG`, else
//! `$XDG_CONFIG_HOME/signet/config.toml` (`~/.config/signet/config.toml`). A
//! missing default file means defaults; a missing explicit file is an error.
//! Unknown keys are errors that name the key, so a typo never silently
//! weakens a setting. Reloaded on SIGHUP (timeouts and the `created` offset
//! apply to new requests; the socket path and connection cap need a restart).
//!
//! The key store settings (`[store]`, `[keys.NAME]`, `[agent]
//! default_lifetime`) are described in docs/keystore.md. `[store]` is read at
//! start-up only (a new store needs a restart); `[keys.NAME]` and
//! `default_lifetime` apply to the next `signet load`.
//!
//! `[policies.NAME]` and `[keys.NAME] policy` (per-key policy, `policy.rs`)
//! apply to the next request after a reload; `[audit]` (`audit.rs`) is read
//! at start-up only. See docs/policy-audit.md.

use std::collections::BTreeMap;
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
    /// `[store]`: where keys rest (the OS keyring) and the index file.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[keys.NAME]`: per-key settings for stored keys, by key name.
    #[serde(default)]
    pub keys: BTreeMap<String, KeyConfig>,
    /// `[system]`: who may use a system-mode agent (`signetd --system`);
    /// see `system.rs` and docs/service-accounts.md.
    #[serde(default)]
    pub system: crate::access::allow::SystemConfig,
    /// `[policies.NAME]`: named rules keys are bound to with `[keys.KEY]
    /// policy`; see `policy.rs` and docs/policy-audit.md.
    #[serde(default)]
    pub policies: BTreeMap<String, crate::policy::PolicyConfig>,
    /// `[audit]`: the hash-chained audit log (read at start-up only); see
    /// `audit.rs` and docs/policy-audit.md.
    #[serde(default)]
    pub audit: crate::audit::AuditConfig,
}

/// The key store's name in the OS keyring when none is configured.
pub const DEFAULT_SERVICE: &str = "signet";

/// `[store]` section.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `auto`, `secret-service`, `keyutils`, `keychain` or `windows`;
    /// `SIGNET_STORE` overrides it.
    pub backend: String,
    /// The keyring service name secrets are filed under; `SIGNET_KEYRING_SERVICE`
    /// overrides it. Different names keep profiles (and tests) apart.
    pub service: String,
    /// The index file [default: `keys.toml` next to the configuration file].
    pub index: Option<PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: "auto".to_owned(),
            service: DEFAULT_SERVICE.to_owned(),
            index: None,
        }
    }
}

impl StoreConfig {
    /// The service name in force: `SIGNET_KEYRING_SERVICE`, else the file's.
    pub fn effective_service(&self) -> String {
        std::env::var("SIGNET_KEYRING_SERVICE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| self.service.clone())
    }
}

/// `[keys.NAME]`: settings for one stored key.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct KeyConfig {
    /// Load the key when the daemon starts.
    pub autoload: bool,
    /// How long the agent keeps the key once loaded (overrides
    /// `[agent] default_lifetime`; `"0"` = until unloaded).
    pub lifetime: Option<Lifetime>,
    /// Ask the user before every use of the key.
    pub confirm: bool,
    /// Load the key at start-up from this source, failing closed:
    /// `credential`, `file` or `keyring` (see `sources.rs`).
    pub source: Option<String>,
    /// `source = "credential"`: the credential's name [default: the key's name].
    pub credential: Option<String>,
    /// `source = "file"`: the key file's absolute path.
    pub path: Option<PathBuf>,
    /// The `[policies.NAME]` rule this key obeys (keys are matched by name,
    /// whatever their source); none = unrestricted.
    pub policy: Option<String>,
}

/// A lifetime: `"8h"`, `"30m"`, `"90s"`, `"2d"`, a number of seconds, or
/// `0` / `"none"` for no lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime(pub Option<u64>);

impl Lifetime {
    /// Parses the text form.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s == "0" || s.eq_ignore_ascii_case("none") {
            return Ok(Lifetime(None));
        }
        let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => s.split_at(i),
            None => (s, "s"),
        };
        let n: u64 = digits.parse().map_err(|_| {
            format!("invalid lifetime {s:?}: use e.g. 90s, 15m, 8h, 2d or 0 for none")
        })?;
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(format!("invalid lifetime unit in {s:?}: use s, m, h or d")),
        };
        let secs = n.saturating_mul(mult);
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

    /// The key index: `[store] index`, else `keys.toml` next to this file.
    pub fn index_path(&self, config: &Config) -> PathBuf {
        match &config.store.index {
            Some(p) => p.clone(),
            None => self
                .path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("keys.toml"),
        }
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
                "invalid configuration {}: fix the named key (see docs/configuration.md)",
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
    if crate::store::backend::Backend::parse(&cfg.store.backend).is_none() {
        anyhow::bail!(
            "store.backend = {:?} is not a key store: use one of {}",
            cfg.store.backend,
            crate::store::backend::BACKEND_NAMES
        );
    }
    if cfg.store.service.is_empty() {
        anyhow::bail!("store.service must not be empty");
    }
    #[cfg(unix)]
    crate::store::sources::validate(&cfg)?;
    crate::policy::Policies::validate(&cfg)?;
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
    fn store_and_keys_sections() -> anyhow::Result<()> {
        let c = parse(
            "[agent]\ndefault_lifetime = \"30m\"\n[store]\nbackend = \"keyutils\"\nservice = \"work\"\n\
             [keys.ci]\nautoload = true\nlifetime = 0\nconfirm = true\n",
        )?;
        assert_eq!(c.agent.default_lifetime, Lifetime(Some(1800)));
        assert_eq!(c.store.backend, "keyutils");
        assert_eq!(c.store.service, "work");
        let ci = c.keys.get("ci").cloned().unwrap_or_default();
        assert!(ci.autoload && ci.confirm);
        assert_eq!(ci.lifetime, Some(Lifetime(None)));
        assert_eq!(
            Config::default().agent.default_lifetime,
            Lifetime(Some(8 * 3600))
        );
        for bad in [
            "[store]\nbackend = \"plaintext\"\n",
            "[keys.ci]\nautolaod = true\n",
            "[store]\nservcie = \"x\"\n",
            "[agent]\ndefault_lifetime = \"8 weeks\"\n",
        ] {
            let err = parse(bad)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
            assert!(!err.is_empty(), "accepted {bad:?}");
        }
        let err = parse("[keys.ci]\nautolaod = true\n")
            .err()
            .map(|e| format!("{e:#}"));
        assert!(err.unwrap_or_default().contains("autolaod"));
        Ok(())
    }

    #[test]
    fn lifetimes() {
        assert_eq!(Lifetime::parse("90s"), Ok(Lifetime(Some(90))));
        assert_eq!(Lifetime::parse("2d"), Ok(Lifetime(Some(172_800))));
        assert_eq!(Lifetime::parse("none"), Ok(Lifetime(None)));
        assert_eq!(Lifetime::parse("120"), Ok(Lifetime(Some(120))));
        assert!(Lifetime::parse("1y").is_err());
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
