//! `[policies.NAME]`: the rules keys are bound to, as written, and the checks
//! that need no user or group database.

use serde::Deserialize;

use super::{Config, Invalid, Lifetime, Principal};

/// The scheme names a rule may list.
pub const SCHEME_NAMES: &[&str] = &["encord-v1", "encord-v2", "ssh", "raw"];

/// `[policies.NAME]` as written in the configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Allowed schemes: `encord-v1`, `encord-v2`, `ssh`, `raw`.
    pub schemes: Option<Vec<String>>,
    /// Allowed HTTP methods (case-insensitive).
    pub methods: Option<Vec<String>>,
    /// Allowed request targets (path and query), globs with `*`.
    pub targets: Option<Vec<String>>,
    /// Allowed caller uids (numbers or user names).
    pub uids: Option<Vec<Principal>>,
    /// Allowed caller groups (names or gids).
    pub groups: Option<Vec<Principal>>,
    /// Allowed caller executables, globs on the resolved `/proc/PID/exe`.
    pub executables: Option<Vec<String>>,
    /// Allowed systemd units (e.g. `ci-runner.service`).
    pub units: Option<Vec<String>>,
    /// Signatures per minute for the key, all callers together.
    pub rate_per_minute: Option<u32>,
    /// Bucket size for `rate_per_minute` [default: `rate_per_minute`].
    pub burst: Option<u32>,
    /// Signatures per minute for each caller uid.
    pub caller_rate_per_minute: Option<u32>,
    /// Bucket size for `caller_rate_per_minute` [default: that rate].
    pub caller_burst: Option<u32>,
    /// Unload the key after this long without a signature (`"15m"`).
    pub idle_timeout: Option<Lifetime>,
}

impl PolicyConfig {
    /// The methods as compared: trimmed and upper-cased.
    pub fn normalised_methods(&self) -> Option<Vec<String>> {
        self.methods
            .as_ref()
            .map(|ms| ms.iter().map(|m| m.trim().to_ascii_uppercase()).collect())
    }
}

/// Checks every rule and every key's rule name.
pub(super) fn validate(cfg: &Config) -> Result<(), Invalid> {
    for (name, p) in &cfg.policies {
        check(name, p)?;
    }
    for (key, k) in &cfg.keys {
        if let Some(rule) = &k.policy {
            if !cfg.policies.contains_key(rule) {
                return Err(Invalid::UnknownRule {
                    key: key.clone(),
                    rule: rule.clone(),
                });
            }
        }
    }
    Ok(())
}

/// What is wrong with one rule.
fn check(name: &str, p: &PolicyConfig) -> Result<(), Invalid> {
    let bad = |problem: String| {
        Err(Invalid::Rule {
            rule: name.to_owned(),
            problem,
        })
    };
    for s in p.schemes.iter().flatten() {
        if !SCHEME_NAMES.contains(&s.as_str()) {
            return bad(format!(
                "scheme {s:?} is unknown: use {}",
                SCHEME_NAMES.join(", ")
            ));
        }
    }
    if let Some(m) = p
        .normalised_methods()
        .iter()
        .flatten()
        .find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return bad(format!("method {m:?} is not an HTTP method"));
    }
    for t in p.targets.iter().flatten() {
        if !(t.starts_with('/') || t.starts_with('*')) {
            return bad(format!(
                "target {t:?} must start with / (a path such as /v2/public/projects*)"
            ));
        }
    }
    for e in p.executables.iter().flatten() {
        if !e.starts_with('/') {
            return bad(format!("executable {e:?} must be an absolute path"));
        }
    }
    for (per, burst, what) in [
        (p.rate_per_minute, p.burst, "key"),
        (p.caller_rate_per_minute, p.caller_burst, "caller"),
    ] {
        match per {
            None if burst.is_some() => return bad(format!("{what} burst without a rate")),
            Some(0) => {
                return bad(format!(
                    "{what} rate_per_minute must be at least 1 (remove the key's scheme to forbid signing)"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}
