//! Layer 0: the daemon's configuration file (TOML), as plain data.
//!
//! **Owns**: every section's type (`[agent]`, `[encord]`, `[store]`,
//! `[keys.NAME]`, `[system]`, `[policies.NAME]`, `[audit]`, `[pkcs11]`), reading the
//! file, and checking everything that can be checked without the system's
//! user and group databases. **Must not**: import anything else from this
//! crate; every other layer reads its settings from here.
//!
//! Found at `--config`, else `$SIGNET_CONFIG`, else
//! `$XDG_CONFIG_HOME/signet/config.toml` (`~/.config/signet/config.toml`). A
//! default file that has never been there means defaults; a missing
//! explicit file is an error, and so is a file that was read before and is
//! gone at a reload (which keeps the configuration in force: fail closed).
//! Unknown keys are errors that name the key, so a typo never silently
//! weakens a setting. Reloaded on SIGHUP (timeouts and the `created` offset
//! apply to new requests; the socket path and connection cap need a restart).
//!
//! The key store settings (`[store]`, `[keys.NAME]`, `[agent]
//! default_lifetime`) are described in docs/keystore.md. `[store]` is read at
//! start-up only (a new store needs a restart); `[keys.NAME]` and
//! `default_lifetime` apply to the next `signet load`.
//!
//! `[policies.NAME]` and `[keys.NAME] policy` (per-key policy, see the
//! `policy` layer) apply to the next request after a reload; `[audit]` is
//! read at start-up only. See docs/policy-audit.md.

mod agent;
mod audit;
mod keys;
mod pkcs11;
mod policy;
mod secrets;
mod store;
mod system;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use signet_proto::paths;

pub use agent::{AgentConfig, EncordConfig, Lifetime, DEFAULT_LOAD_LIFETIME_SECS};
pub use audit::{state_dir, AuditConfig, Durability};
pub use keys::{KeyConfig, KeySource};
pub use pkcs11::{module_allowed, PinSource, Pkcs11Config, TokenKeyRef, TokenSelector};
pub use policy::{PolicyConfig, UnitSpec};
pub use secrets::SecretConfig;
pub use store::{Backend, SealMode, StoreConfig, BACKEND_NAMES};
pub use system::{Principal, SystemConfig};

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
    /// see docs/service-accounts.md.
    #[serde(default)]
    pub system: SystemConfig,
    /// `[policies.NAME]`: named rules keys are bound to with `[keys.KEY]
    /// policy`; see docs/policy-audit.md.
    #[serde(default)]
    pub policies: BTreeMap<String, PolicyConfig>,
    /// `[audit]`: the hash-chained audit log (read at start-up only); see
    /// docs/policy-audit.md.
    #[serde(default)]
    pub audit: AuditConfig,
    /// `[pkcs11]`: keys on a PKCS#11 token (read at start-up only); see
    /// docs/pkcs11.md.
    #[serde(default)]
    pub pkcs11: Pkcs11Config,
    /// `[secrets.NAME]`: who may have a stored bearer secret, for how long
    /// and how often; see docs/secrets.md.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretConfig>,
}

/// What is wrong with a configuration's text. Each message names the key.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// Not TOML, an unknown key, or a value of the wrong type.
    #[error(transparent)]
    Toml(Box<toml::de::Error>),
    /// `[agent] max_connections = 0`.
    #[error("agent.max_connections must be at least 1")]
    NoConnections,
    /// A `[agent]` limit out of its range.
    #[error("agent.{key} = {value} is out of range: use {range}")]
    Limit {
        /// The setting.
        key: &'static str,
        /// Its value.
        value: u64,
        /// What is accepted.
        range: &'static str,
    },
    /// `[store] backend` names no key store.
    #[error("store.backend = {0:?} is not a key store: use one of {BACKEND_NAMES}")]
    Backend(String),
    /// `[store] service = ""`.
    #[error("store.service must not be empty")]
    EmptyService,
    /// A `[keys.NAME]` source setting that does not fit together.
    #[error("keys.{key}: {problem}")]
    KeySource {
        /// The key's name.
        key: String,
        /// What is wrong, and what to write instead.
        problem: String,
    },
    /// A `[policies.NAME]` rule that cannot work.
    #[error("policies.{rule}: {problem}")]
    Rule {
        /// The rule's name.
        rule: String,
        /// What is wrong, and what to write instead.
        problem: String,
    },
    /// An `[audit]` value out of range.
    #[error("{0}")]
    Audit(String),
    /// A `[pkcs11]` setting that cannot work.
    #[error("pkcs11: {0}")]
    Pkcs11(String),
    /// A `[secrets.NAME]` table that cannot work.
    #[error("secrets.{secret}: {problem}")]
    Secret {
        /// The secret's name.
        secret: String,
        /// What is wrong, and what to write instead.
        problem: String,
    },
    /// `[keys.KEY] policy` names no rule.
    #[error("keys.{key}: policy {rule:?} is not defined: add [policies.{rule}] or fix the name")]
    UnknownRule {
        /// The key's name.
        key: String,
        /// The rule it names.
        rule: String,
    },
}

impl From<toml::de::Error> for Invalid {
    fn from(e: toml::de::Error) -> Self {
        Invalid::Toml(Box::new(e))
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists (or was named explicitly) but cannot be read.
    #[error("cannot read configuration {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file was read before and is gone now: on a reload this keeps
    /// the configuration in force rather than falling back to the
    /// defaults, which would drop every rule.
    #[error("cannot read configuration {}: it was read before and is gone now (deleted, renamed, or its file system unmounted); put it back (an empty file means the defaults) or restart signetd", path.display())]
    Vanished {
        /// The file.
        path: PathBuf,
    },
    /// The file's contents are not a valid configuration.
    #[error("invalid configuration {}: fix the named key (see docs/configuration.md): {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: Invalid,
    },
}

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    path: PathBuf,
    required: bool,
    /// The file has been read once (shared by the clones a reload uses):
    /// from then on a missing file is an error, never the defaults.
    seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ConfigSource {
    /// Resolves the path from the flag, else the environment by the rule
    /// every signet program uses (`signet_proto::paths::config_file`).
    pub fn resolve(flag: Option<PathBuf>) -> Self {
        if let Some(path) = flag {
            return Self {
                path,
                required: true,
                seen: Default::default(),
            };
        }
        let (path, required) = with_file_env(paths::config_file);
        Self {
            path,
            required,
            seen: Default::default(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key index: `[store] index`, else `keys.toml` next to this file.
    pub fn index_path(&self, config: &Config) -> PathBuf {
        paths::index_file(&self.path, config.store.index.as_deref())
    }

    /// Reads and parses the file. A default file that does not exist means
    /// the defaults, unless it existed when read before (a reload after an
    /// editor's rename-save or an unmounted home must not drop every rule):
    /// then it is [`ConfigError::Vanished`].
    pub fn load(&self) -> Result<Config, ConfigError> {
        use std::sync::atomic::Ordering;
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => {
                self.seen.store(true, Ordering::Release);
                t
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && self.seen.load(Ordering::Acquire) =>
            {
                return Err(ConfigError::Vanished {
                    path: self.path.clone(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.required => {
                return Ok(Config::default())
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        parse(&text).map_err(|problem| ConfigError::Invalid {
            path: self.path.clone(),
            problem,
        })
    }
}

/// Runs `f` on the environment the file rules read (read now).
pub(crate) fn with_file_env<T>(f: impl FnOnce(&paths::FileEnv<'_>) -> T) -> T {
    let [signet_config, xdg_config_home, xdg_state_home, home] =
        ["SIGNET_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "HOME"].map(std::env::var_os);
    f(&paths::FileEnv {
        signet_config: signet_config.as_deref(),
        xdg_config_home: xdg_config_home.as_deref(),
        xdg_state_home: xdg_state_home.as_deref(),
        home: home.as_deref(),
    })
}

/// Parses configuration text and checks everything that needs no user or
/// group database (those names are resolved by the `policy` and `access`
/// layers).
pub fn parse(text: &str) -> Result<Config, Invalid> {
    let mut cfg: Config = toml::from_str(text)?;
    // `[audit] required` defaults to true when the file has the section.
    cfg.audit.section = text
        .parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("audit"));
    cfg.audit.check().map_err(Invalid::Audit)?;
    if cfg.agent.max_connections == 0 {
        return Err(Invalid::NoConnections);
    }
    agent::check_limits(&cfg.agent)?;
    if Backend::parse(&cfg.store.backend).is_none() {
        return Err(Invalid::Backend(cfg.store.backend.clone()));
    }
    if cfg.store.service.is_empty() {
        return Err(Invalid::EmptyService);
    }
    for (name, k) in &cfg.keys {
        KeySource::of(name, k)?;
        if k.confirm_remember.is_some_and(|r| r.0.is_some()) && !k.confirm {
            return Err(Invalid::KeySource {
                key: name.clone(),
                problem: "confirm_remember needs confirm = true (it says how long a yes lasts)"
                    .to_owned(),
            });
        }
    }
    pkcs11::check(&cfg.pkcs11)?;
    policy::validate(&cfg)?;
    secrets::validate(&cfg)?;
    Ok(cfg)
}

/// Checks every `[policies.NAME]` rule's syntax and every key's rule name
/// (part of [`parse`]; the `policy` layer calls it again for configurations
/// built in code).
pub fn validate_policies(cfg: &Config) -> Result<(), Invalid> {
    policy::validate(cfg)?;
    secrets::validate(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn confirm_remember_needs_confirm() -> Result<(), Invalid> {
        let cfg = parse("[keys.k]\nconfirm = true\nconfirm_remember = \"10m\"\n")?;
        assert_eq!(
            cfg.keys.get("k").and_then(|k| k.confirm_remember),
            Some(Lifetime(Some(600)))
        );
        let e = error("[keys.k]\nconfirm_remember = \"10m\"\n");
        assert!(
            e.contains("keys.k: confirm_remember needs confirm = true"),
            "{e}"
        );
        // "0" is "ask every time", with or without confirm.
        parse("[keys.k]\nconfirm_remember = \"0\"\n")?;
        Ok(())
    }

    #[test]
    fn a_file_read_once_and_gone_is_an_error_not_the_defaults(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("config.toml");
        let source = ConfigSource {
            path: path.clone(),
            required: false,
            seen: Default::default(),
        };
        // Never there: the defaults.
        assert_eq!(source.load()?, Config::default());
        std::fs::write(&path, "[agent]\nidle_timeout_secs = 7\n")?;
        let reload = source.clone();
        assert_eq!(reload.load()?.agent.idle_timeout_secs, 7);
        std::fs::remove_file(&path)?;
        let err = source
            .load()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("gone now") && err.contains("config.toml"),
            "{err}"
        );
        // Back (empty: the defaults on purpose).
        std::fs::write(&path, "")?;
        assert_eq!(source.load()?, Config::default());
        Ok(())
    }

    #[test]
    fn unknown_key_is_named() {
        assert!(error("[agent]\nmax_conections = 3\n").contains("max_conections"));
    }

    #[test]
    fn store_and_keys_sections() -> Result<(), Invalid> {
        let c = parse(
            "[agent]\ndefault_lifetime = \"1h30m\"\n[store]\nbackend = \"keyutils\"\nservice = \"work\"\n\
             [keys.ci]\nautoload = true\nlifetime = 0\nconfirm = true\n",
        )?;
        assert_eq!(c.agent.default_lifetime, Some(Lifetime(Some(5400))));
        assert_eq!(c.store.backend, "keyutils");
        assert_eq!(c.store.service, "work");
        let ci = c.keys.get("ci").cloned().unwrap_or_default();
        assert!(ci.autoload && ci.confirm);
        assert_eq!(ci.lifetime, Some(Lifetime(None)));
        assert_eq!(Config::default().agent.default_lifetime, None);
        let none = parse("[agent]\ndefault_lifetime = 0\n")?;
        assert_eq!(none.agent.default_lifetime, Some(Lifetime(None)));
        for bad in [
            "[store]\nbackend = \"plaintext\"\n",
            "[keys.ci]\nautolaod = true\n",
            "[store]\nservcie = \"x\"\n",
            "[agent]\ndefault_lifetime = \"8 weeks\"\n",
        ] {
            assert!(!error(bad).is_empty(), "accepted {bad:?}");
        }
        assert!(error("[keys.ci]\nautolaod = true\n").contains("autolaod"));
        Ok(())
    }

    #[test]
    fn defaults_and_values() -> Result<(), Invalid> {
        assert_eq!(parse("")?, Config::default());
        let c = parse("[agent]\nidle_timeout_secs = 0\n[encord]\ncreated_offset_secs = -30\n")?;
        assert_eq!(c.agent.idle_timeout(), None);
        assert_eq!(c.encord.created_offset_secs, -30);
        Ok(())
    }

    #[test]
    fn rule_syntax_is_checked_without_databases() {
        for (text, needle) in [
            ("[keys.k]\npolicy = \"nope\"\n", "nope"),
            ("[policies.p]\nschemes = [\"encord-v3\"]\n", "encord-v3"),
            ("[policies.p]\ntargets = [\"v2/public\"]\n", "v2/public"),
            ("[policies.p]\nmethods = [\"GET /\"]\n", "GET /"),
            ("[policies.p]\nexecutables = [\"python\"]\n", "absolute"),
            ("[policies.p]\nrate_per_minute = 0\n", "rate_per_minute"),
            ("[policies.p]\nburst = 3\n", "burst"),
            ("[policies.p]\nmethdos = [\"GET\"]\n", "methdos"),
        ] {
            let err = error(text);
            assert!(err.contains(needle), "{text:?} gave {err:?}");
        }
    }
}
