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
    /// Allowed systemd units: `NAME` (or `system:NAME`) a system unit
    /// (`ci-runner.service`, a template `runner@.service`), `user:NAME` a
    /// user unit of the caller's own uid (with `uids` or `groups` saying
    /// whose). Matched against the caller's full cgroup path.
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

/// One `units` entry, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitSpec {
    /// A unit of the system manager (`NAME`, `system:NAME`).
    System(String),
    /// A unit of the caller's own user manager (`user:NAME`).
    User(String),
}

impl UnitSpec {
    /// Parses an entry; `None` unless it names a service or scope.
    pub fn parse(entry: &str) -> Option<Self> {
        let (user, name) = match entry.split_once(':') {
            Some(("user", name)) => (true, name),
            Some(("system", name)) => (false, name),
            Some(_) => return None,
            None => (false, entry),
        };
        let valid = name.len() <= 255
            && (name.ends_with(".service") || name.ends_with(".scope"))
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@\\:".contains(&b));
        valid.then(|| {
            if user {
                UnitSpec::User(name.to_owned())
            } else {
                UnitSpec::System(name.to_owned())
            }
        })
    }
}

impl std::fmt::Display for UnitSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnitSpec::System(name) => f.write_str(name),
            UnitSpec::User(name) => write!(f, "user:{name}"),
        }
    }
}

impl PolicyConfig {
    /// The `units` entries, parsed (entries that do not parse were refused
    /// by [`validate`]).
    pub fn unit_specs(&self) -> Option<Vec<UnitSpec>> {
        self.units
            .as_ref()
            .map(|us| us.iter().filter_map(|u| UnitSpec::parse(u)).collect())
    }

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
    for u in p.units.iter().flatten() {
        match UnitSpec::parse(u) {
            None => {
                return bad(format!(
                    "unit {u:?} is not a unit name: write a service or scope, e.g. \"gitlab-runner.service\" (a system unit) or \"user:job.service\" (a user unit)"
                ))
            }
            Some(UnitSpec::User(_)) if p.uids.is_none() && p.groups.is_none() => {
                return bad(format!(
                    "unit {u:?}: anyone can start a user unit of any name (systemd-run --user), so a user: entry needs uids or groups saying whose"
                ))
            }
            Some(_) => {}
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
