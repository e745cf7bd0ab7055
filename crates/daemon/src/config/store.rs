//! `[store]`: which key store holds keys at rest, under which name.

use std::path::PathBuf;

use serde::Deserialize;

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
}
