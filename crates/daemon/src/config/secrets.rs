//! `[secrets.NAME]`: who may have a stored bearer secret (an Encord API key
//! or bearer token), for how long, and how often.

use serde::Deserialize;

use super::{Config, Invalid, Lifetime};

/// `[secrets.NAME]` as written in the configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SecretConfig {
    /// The `[policies.NAME]` rule deciding who may have the secret: its
    /// `uids`, `groups`, `executables`, `units` and its rates. A rule used
    /// by a secret must not restrict `schemes`, `methods`, `targets` or
    /// `idle_timeout` (they concern signatures: a release has none).
    /// Without a rule, only an admin of the agent may have the secret.
    pub policy: Option<String>,
    /// Not released once this long has passed since it was stored
    /// (`"30d"`); the earlier of this and `signet secret add --lifetime`
    /// holds.
    pub lifetime: Option<Lifetime>,
    /// Releases per minute, all callers together [default: the rule's
    /// `rate_per_minute`, else unlimited].
    pub releases_per_minute: Option<u32>,
    /// Bucket size for `releases_per_minute` [default: that rate].
    pub release_burst: Option<u32>,
}

/// Checks every `[secrets.NAME]` table.
pub(super) fn validate(cfg: &Config) -> Result<(), Invalid> {
    for (name, s) in &cfg.secrets {
        let bad = |problem: String| Invalid::Secret {
            secret: name.clone(),
            problem,
        };
        if let Err(e) = signet_proto::secret::check_name(name) {
            return Err(bad(e.to_string()));
        }
        match (s.releases_per_minute, s.release_burst) {
            (None, Some(_)) => return Err(bad("release_burst without releases_per_minute".into())),
            (Some(0), _) => return Err(bad(
                "releases_per_minute must be at least 1 (remove the secret to stop releasing it)"
                    .into(),
            )),
            _ => {}
        }
        let Some(rule) = &s.policy else { continue };
        let Some(p) = cfg.policies.get(rule) else {
            return Err(bad(format!(
                "policy {rule:?} is not defined: add [policies.{rule}] or fix the name"
            )));
        };
        for (field, set) in [
            ("schemes", p.schemes.is_some()),
            ("methods", p.methods.is_some()),
            ("targets", p.targets.is_some()),
            ("idle_timeout", p.idle_timeout.is_some()),
        ] {
            if set {
                return Err(bad(format!(
                    "rule {rule:?} sets {field}, which a secret's release cannot honour (a release signs nothing): give the secret a rule of its own with only uids, groups, executables, units and rates"
                )));
            }
        }
    }
    Ok(())
}
