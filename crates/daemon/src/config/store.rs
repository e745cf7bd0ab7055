//! `[store]`: which key store holds keys at rest, under which name, and how
//! they are sealed there.

use std::path::PathBuf;

use serde::Deserialize;

use super::agent::Lifetime;

/// The key store's name in the OS keyring when none is configured.
pub const DEFAULT_SERVICE: &str = "signet";

/// `[store] unlock_idle` when none is configured: an hour without a load.
/// Keys already loaded keep their own lifetime; the store key is needed
/// only to load more, so an hour keeps a working session to one prompt
/// while not leaving the store open over lunch and overnight (gpg-agent's
/// `default-cache-ttl` is 10 minutes, for a cache that every signature
/// uses).
pub const DEFAULT_UNLOCK_IDLE_SECS: u64 = 3600;
/// `[store] unlock_max` when none is configured: 8 hours, a working day,
/// as `[agent] default_lifetime` (gpg-agent's `max-cache-ttl` is 2 hours).
pub const DEFAULT_UNLOCK_MAX_SECS: u64 = 8 * 3600;

/// How a store's keys are sealed at rest (`[store] seal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SealMode {
    /// Each seed sealed under a store key that the user's passphrase
    /// unlocks (`signet unlock-store`): the default for a user's agent.
    Passphrase,
    /// Seeds in the keyring as they are (signet before sealing; a system
    /// agent, whose keys are sealed by systemd credentials instead).
    None,
}

impl SealMode {
    /// The configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            SealMode::Passphrase => "passphrase",
            SealMode::None => "none",
        }
    }
}

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
    /// `passphrase` or `none` [default: `passphrase` for a user's agent,
    /// `none` for a system agent (`--system`)].
    pub seal: Option<SealMode>,
    /// The unlocked store key is forgotten after this long without use
    /// [default 1h; `0`/`"none"`: never for idleness].
    pub unlock_idle: Lifetime,
    /// ... and this long after the unlock, used or not [default 8h;
    /// `0`/`"none"`: no maximum].
    pub unlock_max: Lifetime,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: "auto".to_owned(),
            service: DEFAULT_SERVICE.to_owned(),
            index: None,
            seal: None,
            unlock_idle: Lifetime(Some(DEFAULT_UNLOCK_IDLE_SECS)),
            unlock_max: Lifetime(Some(DEFAULT_UNLOCK_MAX_SECS)),
        }
    }
}

impl StoreConfig {
    /// The seal mode in force: `[store] seal`, else `passphrase` for a
    /// user's agent and `none` for a system agent.
    pub fn seal_mode(&self, system: bool) -> SealMode {
        self.seal.unwrap_or(if system {
            SealMode::None
        } else {
            SealMode::Passphrase
        })
    }

    /// The service name in force: `SIGNET_KEYRING_SERVICE`, else the file's.
    pub fn effective_service(&self) -> String {
        std::env::var("SIGNET_KEYRING_SERVICE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| self.service.clone())
    }
}

/// The store backends a configuration can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Secret Service when a session bus answers, else keyutils (Linux);
    /// Keychain on macOS; Credential Manager on Windows.
    Auto,
    /// Secret Service over D-Bus (GNOME Keyring, KWallet, KeePassXC).
    SecretService,
    /// The Linux kernel keyring (the user keyring `@u`).
    Keyutils,
    /// macOS Keychain.
    Keychain,
    /// Windows Credential Manager.
    Windows,
    /// In-memory, for unit tests only (not selectable by configuration).
    Memory,
}

impl Backend {
    /// Parses a configured name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Backend::Auto,
            "secret-service" => Backend::SecretService,
            "keyutils" => Backend::Keyutils,
            "keychain" => Backend::Keychain,
            "windows" => Backend::Windows,
            _ => return None,
        })
    }

    /// The configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            Backend::Keychain => "keychain",
            Backend::Windows => "windows",
            Backend::Memory => "memory",
        }
    }
}

/// The accepted backend names, for error messages.
pub const BACKEND_NAMES: &str = "auto, secret-service, keyutils, keychain, windows";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names() {
        for n in ["auto", "secret-service", "keyutils", "keychain", "windows"] {
            assert_eq!(Backend::parse(n).map(Backend::as_str), Some(n));
        }
        assert_eq!(Backend::parse("memory"), None);
    }

    #[test]
    fn seal_defaults_by_mode() {
        let c = StoreConfig::default();
        assert_eq!(c.seal_mode(false), SealMode::Passphrase);
        assert_eq!(c.seal_mode(true), SealMode::None);
        let c = StoreConfig {
            seal: Some(SealMode::None),
            ..c
        };
        assert_eq!(c.seal_mode(false), SealMode::None);
    }
}
