//! Layer 2: per-key policy: which requests a key may sign, for whom, and how
//! often.
//!
//! Rules are named tables in the configuration (`[policies.NAME]`) and a key
//! is bound to one by name (`[keys.KEY] policy = "NAME"`); a key with no
//! policy is unrestricted, as before. The same decision function serves
//! signing and `explain@signet` (a dry run), so what `signet explain` says is
//! what signing does. See docs/policy-audit.md.
//!
//! Dimensions of a rule, each unrestricted when absent:
//! - `schemes`: `encord-v1`, `encord-v2`, `ssh` (raw SSH agent signatures
//!   of SSH logins and `ssh-keygen -Y sign` data), `raw` (raw signatures of
//!   anything else: `ssh-add -T`, `signet sign`; never allowed by a rule
//!   that does not name it, since such bytes can be Encord signatures);
//! - `methods` and `targets` (request-target globs, `*` = any characters);
//! - who calls: `uids` or `groups` (either matching is enough; a group
//!   counts when the calling process holds it, not when `/etc/group` lists
//!   the user), and, each required when set, `executables` (globs on the
//!   executable the connecting process ran) and `units` (its systemd unit,
//!   from its full cgroup path: a system unit `NAME`, or `user:NAME` for a
//!   user unit of the caller's own uid) — process facts read through the
//!   pidfd pinned at accept and refused when they changed since
//!   (`access::caller`);
//! - `rate_per_minute`/`burst` per key and `caller_rate_per_minute`/
//!   `caller_burst` per (key, caller uid) — enforced by [`ratelimit`];
//! - `idle_timeout`: the key is unloaded after this long without a signature.
//!
//! **Owns**: resolving rules ([`Policies`]), the rate limiter's buckets, and
//! the decision ([`decide`]), returned as a value: an idle-expired key is
//! reported, never removed here (the caller acts on it). Caller facts that
//! cost a `/proc` read (executable, unit, groups) are read only when a rule
//! needs them (`access::caller`). **Must not**: sign, hold key material,
//! touch the key table, or import `store`, `audit` or `confirm`; its only
//! I/O is what `access` reads.

mod glob;
pub mod ratelimit;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use signet_proto::sshdata::Unstructured;
use signet_proto::text::escape;
use tokio::time::Instant;

use crate::access::accounts::{AccountsError, Databases};
use crate::access::caller::{Caller, FactError};
use crate::access::unit;
use crate::config::{self, Config, Invalid, PolicyConfig, Principal, UnitSpec};

pub use glob::glob;
use ratelimit::RateLimiter;

/// Why the rules cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A rule's syntax, or a key naming no rule.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A rule names a user the user database does not have.
    #[error("policies.{rule}: no user {user} in /etc/passwd: fix the name or use the numeric uid")]
    UnknownUser {
        /// The rule.
        rule: String,
        /// The user as written.
        user: Principal,
    },
    /// A rule names a group the group database does not have.
    #[error("policies.{rule}: no group {group} in /etc/group: create it or use the numeric gid")]
    UnknownGroup {
        /// The rule.
        rule: String,
        /// The group as written.
        group: Principal,
    },
    /// The user and group databases cannot be read.
    #[error(transparent)]
    Accounts(#[from] AccountsError),
}

/// What is being signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation<'a> {
    /// An Encord HTTP request.
    Http {
        /// `encord-v1` or `encord-v2`.
        scheme: signet_proto::encord::Scheme,
        /// The method as sent (compared case-insensitively).
        method: &'a str,
        /// The request target: path plus `?query`.
        target: &'a str,
    },
    /// A raw SSH agent signature over what raw signing exists for: an SSH
    /// login with this key, or SSHSIG data (`ssh-keygen -Y sign`); see
    /// `signet_proto::sshdata`.
    Ssh,
    /// A raw signature over anything else (`ssh-add -T`, `signet sign`):
    /// signed for a key with a rule only if the rule names `raw`.
    Raw(Unstructured),
}

impl Operation<'_> {
    /// The scheme name used in rules and logs.
    pub fn scheme_name(&self) -> &'static str {
        match self {
            Operation::Http { scheme, .. } => scheme.as_str(),
            Operation::Ssh => "ssh",
            Operation::Raw(_) => "raw",
        }
    }
}

/// One rule, resolved and ready to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's name (`[policies.NAME]`).
    pub name: Arc<str>,
    schemes: Option<Vec<String>>,
    methods: Option<Vec<String>>,
    targets: Option<Vec<String>>,
    /// uids named directly.
    uids: Option<BTreeSet<u32>>,
    /// gids of the named groups (matched against the caller's gid and its
    /// process's supplementary groups).
    gids: Option<BTreeSet<u32>>,
    /// uids `/etc/group` lists in the named groups: not allowed for that,
    /// only told why they are refused.
    listed: BTreeSet<u32>,
    executables: Option<Vec<String>>,
    units: Option<Vec<UnitSpec>>,
    /// Per-key rate limit, if any.
    pub key_rate: Option<Rate>,
    /// Per-(key, caller uid) rate limit, if any.
    pub caller_rate: Option<Rate>,
    /// Idle timeout, if any.
    pub idle_timeout: Option<Duration>,
}

/// A token bucket's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens added per minute.
    pub per_minute: u32,
    /// Bucket capacity.
    pub burst: u32,
}

/// The outcome of a policy check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may be signed.
    pub allowed: bool,
    /// The rule that decided, if the key has one (shared with the rule:
    /// a decision is made on every signature and costs no allocation when
    /// it allows).
    pub rule: Option<Arc<str>>,
    /// Why it was refused, a sentence for the user: `key ci-bot: method
    /// DELETE not allowed by rule read-only`. Empty when allowed: see
    /// [`Decision::explain`].
    pub reason: String,
    /// The key has been idle longer than its rule allows: the caller
    /// unloads it (the decision itself changes nothing).
    pub idle_expired: bool,
}

impl Decision {
    fn allow(rule: Option<Arc<str>>) -> Self {
        Self {
            allowed: true,
            rule,
            reason: String::new(),
            idle_expired: false,
        }
    }

    /// The sentence for `signet explain`: the refusal's reason, or why the
    /// request is allowed.
    pub fn explain(&self, key: &str) -> String {
        match (&self.rule, self.allowed) {
            (_, false) => self.reason.clone(),
            (Some(rule), true) => format!("key {key}: allowed by rule {rule}"),
            (None, true) => format!("key {key}: no policy (unrestricted)"),
        }
    }
}

/// Every rule and which key uses which, built from a [`Config`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    rules: BTreeMap<String, Rule>,
    by_key: BTreeMap<String, String>,
    /// `[secrets.NAME] policy`, by secret name.
    by_secret: BTreeMap<String, String>,
}

impl Policies {
    /// Resolves the configuration's rules against the system's user and
    /// group databases (read only when a rule names users or groups).
    pub fn from_config(cfg: &Config) -> Result<Self, PolicyError> {
        let needs_db = cfg
            .policies
            .values()
            .any(|p| p.groups.is_some() || p.uids.is_some());
        let db = if needs_db {
            Databases::system()?
        } else {
            Databases::default()
        };
        Self::with_databases(cfg, &db)
    }

    /// As [`Policies::from_config`] with given databases.
    pub fn with_databases(cfg: &Config, db: &Databases) -> Result<Self, PolicyError> {
        // `config::parse` checked this already; a configuration built in
        // code is checked here.
        config::validate_policies(cfg)?;
        let mut rules = BTreeMap::new();
        for (name, p) in &cfg.policies {
            rules.insert(name.clone(), compile(name, p, db)?);
        }
        let by_key = cfg
            .keys
            .iter()
            .filter_map(|(k, c)| Some((k.clone(), c.policy.clone()?)))
            .collect();
        Ok(Self {
            rules,
            by_key,
            by_secret: secret_rules(cfg),
        })
    }

    /// Policies that refuse every key that names a rule: used when the
    /// rules cannot be resolved, so that a failure never widens access.
    pub fn fail_closed(cfg: &Config) -> Self {
        let by_key = cfg
            .keys
            .iter()
            .filter_map(|(k, c)| Some((k.clone(), c.policy.clone()?)))
            .collect();
        Self {
            rules: BTreeMap::new(),
            by_key,
            by_secret: secret_rules(cfg),
        }
    }

    /// The rule of `[keys.BOUND]`, if any: `bound` is the name the key was
    /// bound to the configuration under when it was loaded
    /// (`LoadedKey::bound_as`), which a rename does not change.
    pub fn rule_for(&self, bound: &str) -> Option<&Rule> {
        self.rules.get(self.by_key.get(bound)?)
    }

    /// Whether the key bound as `bound` (shown as `key` in reasons) may
    /// perform `op` for `caller` (rate limits aside).
    pub fn evaluate(
        &self,
        bound: &str,
        key: &str,
        op: &Operation<'_>,
        caller: &Caller,
    ) -> Decision {
        match self.rule_for(bound) {
            None if self.by_key.contains_key(bound) => Decision {
                allowed: false,
                rule: self.by_key.get(bound).map(|r| r.as_str().into()),
                reason: format!(
                    "key {key}: its policy could not be resolved (see the agent's log), so it signs nothing"
                ),
                idle_expired: false,
            },
            None => Decision::allow(None),
            Some(rule) => rule.evaluate(key, op, caller),
        }
    }

    /// The rules that restrict callers by executable: a daemon that cannot
    /// read its callers' executables cannot evaluate them.
    pub fn with_executables(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .filter(|(_, r)| r.executables.is_some())
            .map(|(name, _)| name.as_str())
    }

    /// A one-line summary of the policy of the key bound as `bound`.
    pub fn summary(&self, bound: &str) -> String {
        self.rule_for(bound)
            .map(Rule::summary)
            .unwrap_or_else(|| "-".to_owned())
    }
}

fn secret_rules(cfg: &Config) -> BTreeMap<String, String> {
    cfg.secrets
        .iter()
        .filter_map(|(k, c)| Some((k.clone(), c.policy.clone()?)))
        .collect()
}

/// Why a rule does not accept a caller.
enum CallerRefusal {
    /// A fact of the caller the rule does not list (`caller uid 1001`):
    /// "… not allowed by rule R".
    NotAllowed(String),
    /// A fact the rule needs but cannot have, a whole clause.
    Other(String),
}

/// What the policy layer needs of a secret being released: values.
#[derive(Debug, Clone, Copy)]
pub struct SecretUse<'a> {
    /// The secret's name (`[secrets.NAME]`).
    pub name: &'a str,
    /// Its rate-limit bucket's id.
    pub id: [u8; 32],
    /// `[secrets.NAME] releases_per_minute` / `release_burst`.
    pub release_rate: Option<Rate>,
}

impl Policies {
    /// The name of the rule `[secrets.NAME]` binds the secret to, if any.
    pub fn secret_rule_name(&self, secret: &str) -> Option<&str> {
        self.by_secret.get(secret).map(String::as_str)
    }
}

/// Decides whether the secret may be released to `caller` now: its rule's
/// caller dimensions (uids, groups, executables, units), then the release
/// rate (the secret's own, else the rule's `rate_per_minute`) and the
/// rule's per-caller rate, which take a token from `limiter`. A secret
/// with no rule is allowed here with `rule: None`: who may have it then
/// (an admin only) is the gate's question, as roles are.
pub fn decide_release(
    policies: &Policies,
    limiter: &RateLimiter,
    secret: SecretUse<'_>,
    caller: &Caller,
    now: Instant,
) -> Decision {
    let bound = policies.by_secret.get(secret.name);
    let rule = bound.and_then(|r| policies.rules.get(r));
    if let (Some(r), None) = (bound, rule) {
        return Decision {
            allowed: false,
            rule: Some(r.as_str().into()),
            reason: format!(
                "secret {}: its policy could not be resolved (see the agent's log), so it is released to nobody",
                secret.name
            ),
            idle_expired: false,
        };
    }
    let refuse = |reason: String| Decision {
        allowed: false,
        rule: rule.map(|r| r.name.clone()),
        reason,
        idle_expired: false,
    };
    if let Some(r) = rule {
        let name = escape(secret.name);
        match r.refused_caller(caller) {
            Some(CallerRefusal::NotAllowed(what)) => {
                return refuse(format!(
                    "secret {name}: {what} not allowed by rule {}",
                    r.name
                ))
            }
            Some(CallerRefusal::Other(why)) => return refuse(format!("secret {name}: {why}")),
            None => {}
        }
    }
    let per_secret = secret.release_rate.or(rule.and_then(|r| r.key_rate));
    let per_caller = rule.and_then(|r| r.caller_rate);
    if let Err(limited) = limiter.take(secret.id, per_secret, caller.peer.uid, per_caller, now) {
        let which = if limited.per_caller {
            format!("per-caller release rate limit for uid {}", caller.peer.uid)
        } else {
            "release rate limit".to_owned()
        };
        return refuse(format!(
            "secret {}: {which} reached; retry in {:.1}s",
            secret.name,
            limited.retry_after.as_secs_f64()
        ));
    }
    Decision::allow(rule.map(|r| r.name.clone()))
}

fn compile(name: &str, p: &PolicyConfig, db: &Databases) -> Result<Rule, PolicyError> {
    let mut uids: Option<BTreeSet<u32>> = None;
    let mut gids: Option<BTreeSet<u32>> = None;
    let mut listed = BTreeSet::new();
    if p.uids.is_some() || p.groups.is_some() {
        let mut u = BTreeSet::new();
        for principal in p.uids.iter().flatten() {
            let uid = db
                .uid_of(principal)
                .ok_or_else(|| PolicyError::UnknownUser {
                    rule: name.to_owned(),
                    user: principal.clone(),
                })?;
            u.insert(uid);
        }
        let mut g = BTreeSet::new();
        for principal in p.groups.iter().flatten() {
            let gid = db
                .gid_of(principal)
                .ok_or_else(|| PolicyError::UnknownGroup {
                    rule: name.to_owned(),
                    group: principal.clone(),
                })?;
            g.insert(gid);
            listed.extend(db.members_of(gid));
        }
        uids = Some(u);
        gids = Some(g);
    }
    // The syntax (a rate of at least 1, a burst only with a rate) was
    // checked by `config::validate_policies`.
    let rate = |per: Option<u32>, burst: Option<u32>| {
        per.map(|n| Rate {
            per_minute: n.max(1),
            burst: burst.unwrap_or(n).max(1),
        })
    };
    Ok(Rule {
        name: name.into(),
        schemes: p.schemes.clone(),
        methods: p.normalised_methods(),
        targets: p.targets.clone(),
        uids,
        gids,
        listed,
        executables: p.executables.clone(),
        units: p.unit_specs(),
        key_rate: rate(p.rate_per_minute, p.burst),
        caller_rate: rate(p.caller_rate_per_minute, p.caller_burst),
        idle_timeout: p.idle_timeout.and_then(|l| l.0).map(Duration::from_secs),
    })
}

/// Whether a rule's `units` entry names the caller's units: a system unit
/// by its name (or template), a user unit only of the caller's own uid.
fn spec_matches(spec: &UnitSpec, u: &unit::Unit, caller_uid: u32) -> bool {
    match spec {
        UnitSpec::System(name) => unit::names(name, &u.system),
        UnitSpec::User(name) => u
            .user
            .as_ref()
            .is_some_and(|(uid, unit)| *uid == caller_uid && unit::names(name, unit)),
    }
}

/// What the policy layer needs to know of the key being used: values, so
/// that it never sees the key table or key material.
#[derive(Debug, Clone, Copy)]
pub struct KeyUse<'a> {
    /// The key's name (shown in reasons).
    pub name: &'a str,
    /// The name its rule is bound to (`[keys.NAME]`), fixed when it was
    /// loaded.
    pub bound_as: &'a str,
    /// Its public key (rate-limit buckets are per key).
    pub public: [u8; 32],
    /// When it last signed (or was loaded), for idle timeouts.
    pub last_used: Instant,
}

/// Decides whether `key` may perform `op` for `caller` now: the key's rule,
/// its idle timeout, then its rate limits (which take a token from
/// `limiter`, the only state this changes). A key past its idle timeout is
/// refused with [`Decision::idle_expired`] set: removing it is the caller's
/// job.
pub fn decide(
    policies: &Policies,
    limiter: &RateLimiter,
    key: KeyUse<'_>,
    op: &Operation<'_>,
    caller: &Caller,
    now: Instant,
) -> Decision {
    let decision = policies.evaluate(key.bound_as, key.name, op, caller);
    if !decision.allowed {
        return decision;
    }
    let Some(rule) = policies.rule_for(key.bound_as) else {
        return decision;
    };
    let refuse = |reason: String| Decision {
        allowed: false,
        rule: Some(rule.name.clone()),
        reason,
        idle_expired: false,
    };
    if let Some(idle) = rule.idle_timeout {
        if key.last_used.checked_add(idle).is_some_and(|t| t <= now) {
            return Decision {
                idle_expired: true,
                ..refuse(format!(
                    "key {}: unloaded after {}s without use (idle timeout of rule {}): load it again",
                    key.name,
                    idle.as_secs(),
                    rule.name
                ))
            };
        }
    }
    if let Err(limited) = limiter.take(
        key.public,
        rule.key_rate,
        caller.peer.uid,
        rule.caller_rate,
        now,
    ) {
        let which = if limited.per_caller {
            format!("per-caller rate limit for uid {}", caller.peer.uid)
        } else {
            "rate limit".to_owned()
        };
        return refuse(format!(
            "key {}: {which} of rule {} reached; retry in {:.1}s",
            key.name,
            rule.name,
            limited.retry_after.as_secs_f64()
        ));
    }
    decision
}

impl Rule {
    fn evaluate(&self, key: &str, op: &Operation<'_>, caller: &Caller) -> Decision {
        let key = escape(key);
        let deny = |what: String| Decision {
            allowed: false,
            rule: Some(self.name.clone()),
            reason: format!("key {key}: {what} not allowed by rule {}", self.name),
            idle_expired: false,
        };
        let scheme = op.scheme_name();
        if let Operation::Raw(what) = op {
            // Raw bytes can be an Encord signature (a v1 digest, a v2
            // base): a rule allows them only by naming them.
            if !self.schemes.iter().flatten().any(|x| x == "raw") {
                return Decision {
                    allowed: false,
                    rule: Some(self.name.clone()),
                    reason: format!(
                        "key {key}: raw signing of {} not allowed by rule {}: it signs SSH logins and SSHSIG data, other bytes only with scheme \"raw\"",
                        what.describe(),
                        self.name
                    ),
                    idle_expired: false,
                };
            }
        } else if let Some(s) = &self.schemes {
            if !s.iter().any(|x| x == scheme) {
                return deny(format!("scheme {scheme}"));
            }
        }
        if let Operation::Http { method, target, .. } = op {
            if let Some(ms) = &self.methods {
                if !ms.iter().any(|m| m.eq_ignore_ascii_case(method)) {
                    return deny(format!("method {}", escape(&method.to_ascii_uppercase())));
                }
            }
            if let Some(ts) = &self.targets {
                if !ts.iter().any(|t| glob(t, target)) {
                    return deny(format!("target {}", escape(target)));
                }
            }
        }
        match self.refused_caller(caller) {
            Some(CallerRefusal::NotAllowed(what)) => return deny(what),
            Some(CallerRefusal::Other(why)) => {
                return Decision {
                    allowed: false,
                    rule: Some(self.name.clone()),
                    reason: format!("key {key}: {why}"),
                    idle_expired: false,
                }
            }
            None => {}
        }
        Decision::allow(Some(self.name.clone()))
    }

    /// What about `caller` this rule does not allow, or `None` when its
    /// uids, groups, executables and units all allow it.
    fn refused_caller(&self, caller: &Caller) -> Option<CallerRefusal> {
        let peer = &caller.peer;
        let deny = |what: String| Some(CallerRefusal::NotAllowed(what));
        let unknown = |fact: &str, why: &FactError| {
            Some(CallerRefusal::Other(format!(
                "rule {} needs the caller's {fact}, but {why}",
                self.name
            )))
        };
        // A rule on callers judges the process that opened the connection;
        // a request another process wrote over it (a child that inherited
        // it, or one it was passed to) is not that process's.
        if self.uids.is_some() || self.executables.is_some() || self.units.is_some() {
            if let Err(why) = caller.written_by_connector() {
                return Some(CallerRefusal::Other(format!(
                    "rule {} judges its caller, but {why}",
                    self.name
                )));
            }
        }
        if let (Some(uids), Some(gids)) = (&self.uids, &self.gids) {
            if !(uids.contains(&peer.uid) || caller.holds_any(gids)) {
                let hint = if self.listed.contains(&peer.uid) {
                    " (the group database lists it in the rule's group, but the calling process does not hold the group)"
                } else {
                    ""
                };
                return deny(format!("caller uid {}{hint}", peer.uid));
            }
        }
        if let Some(es) = &self.executables {
            match caller.checked_exe() {
                Ok(exe) if es.iter().any(|e| glob(e, exe)) => {}
                Ok(exe) => return deny(format!("caller executable {}", escape(exe))),
                Err(why) => return unknown("executable", why),
            }
        }
        if let Some(us) = &self.units {
            match caller.checked_unit() {
                Ok(Some((_, u))) if us.iter().any(|spec| spec_matches(spec, u, peer.uid)) => {}
                Ok(Some((path, u))) => {
                    let user = match &u.user {
                        Some((uid, name)) => {
                            format!(", user unit {} of uid {uid}", escape(name))
                        }
                        None => String::new(),
                    };
                    return deny(format!(
                        "caller in cgroup {} (system unit {}{user})",
                        escape(path),
                        escape(&u.system)
                    ));
                }
                Ok(None) => return deny("caller outside a systemd unit".to_owned()),
                Err(why) => return unknown("systemd unit", why),
            }
        }
        None
    }

    /// One line: `read-only: schemes encord-v2; methods GET,POST; …`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let list = |v: &[String]| v.join(",");
        if let Some(s) = &self.schemes {
            parts.push(format!("schemes {}", list(s)));
        }
        if let Some(m) = &self.methods {
            parts.push(format!("methods {}", list(m)));
        }
        if let Some(t) = &self.targets {
            parts.push(format!("targets {}", list(t)));
        }
        if let Some(u) = &self.uids {
            let ids: Vec<String> = u.iter().map(u32::to_string).collect();
            parts.push(format!("uids {}", ids.join(",")));
        }
        if let Some(g) = self.gids.as_ref().filter(|g| !g.is_empty()) {
            let ids: Vec<String> = g.iter().map(u32::to_string).collect();
            parts.push(format!("gids {}", ids.join(",")));
        }
        if let Some(e) = &self.executables {
            parts.push(format!("executables {}", list(e)));
        }
        if let Some(u) = &self.units {
            let names: Vec<String> = u.iter().map(UnitSpec::to_string).collect();
            parts.push(format!("units {}", list(&names)));
        }
        if let Some(r) = self.key_rate {
            parts.push(format!("rate {}/min burst {}", r.per_minute, r.burst));
        }
        if let Some(r) = self.caller_rate {
            parts.push(format!("per-caller {}/min burst {}", r.per_minute, r.burst));
        }
        if let Some(d) = self.idle_timeout {
            parts.push(format!("idle {}s", d.as_secs()));
        }
        if parts.is_empty() {
            parts.push("unrestricted".to_owned());
        }
        format!("{}: {}", self.name, parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::caller::Given;
    use crate::access::peer::Peer;
    use signet_proto::encord::Scheme;

    fn policies(text: &str) -> Policies {
        let cfg = match crate::config::parse(text) {
            Ok(c) => c,
            Err(e) => panic!("{e:#}"),
        };
        let db = Databases::parse(
            "root:x:0:0::/root:/bin/sh\nci:x:1001:1001::/home/ci:/bin/sh\nbob:x:1002:100::/:/bin/sh\n",
            "root:x:0:\nci:x:1001:\nbuilders:x:2000:bob\n",
        );
        match Policies::with_databases(&cfg, &db) {
            Ok(p) => p,
            Err(e) => panic!("{e:#}"),
        }
    }

    fn caller(uid: u32, gid: u32) -> Caller {
        Caller::without_process(Peer {
            uid,
            gid,
            pid: None,
        })
    }

    /// A caller of uid 5 described by `given` (as `signet explain` does).
    fn described(given: Given) -> Caller {
        let peer = Peer {
            uid: 5,
            gid: 5,
            pid: None,
        };
        Caller::dry_run(&Caller::without_process(peer), peer, given)
    }

    fn http<'a>(scheme: Scheme, method: &'a str, target: &'a str) -> Operation<'a> {
        Operation::Http {
            scheme,
            method,
            target,
        }
    }

    const READ_ONLY: &str = "[policies.read-only]\nschemes = [\"encord-v2\"]\nmethods = [\"GET\", \"post\"]\n\
        targets = [\"/v2/public/projects*\", \"/v2/public/user\"]\n[keys.ci-bot]\npolicy = \"read-only\"\n";

    #[test]
    fn schemes_methods_targets() {
        let p = policies(READ_ONLY);
        let c = caller(1000, 1000);
        let ok = p.evaluate(
            "ci-bot",
            "ci-bot",
            &http(Scheme::EncordV2, "get", "/v2/public/projects/x"),
            &c,
        );
        assert!(ok.allowed, "{ok:?}");
        assert_eq!(ok.rule.as_deref(), Some("read-only"));
        let d = p.evaluate(
            "ci-bot",
            "ci-bot",
            &http(Scheme::EncordV2, "DELETE", "/v2/public/projects/x"),
            &c,
        );
        assert!(!d.allowed);
        assert_eq!(
            d.reason,
            "key ci-bot: method DELETE not allowed by rule read-only"
        );
        let d = p.evaluate(
            "ci-bot",
            "ci-bot",
            &http(Scheme::EncordV2, "GET", "/v2/public/datasets"),
            &c,
        );
        assert_eq!(
            d.reason,
            "key ci-bot: target /v2/public/datasets not allowed by rule read-only"
        );
        let d = p.evaluate(
            "ci-bot",
            "ci-bot",
            &http(Scheme::EncordV1, "POST", "/public"),
            &c,
        );
        assert_eq!(
            d.reason,
            "key ci-bot: scheme encord-v1 not allowed by rule read-only"
        );
        let d = p.evaluate("ci-bot", "ci-bot", &Operation::Ssh, &c);
        assert!(!d.allowed && d.reason.contains("scheme ssh"), "{d:?}");
        // Another key has no policy.
        let free = p.evaluate("other", "other", &Operation::Ssh, &c);
        assert!(free.allowed && free.rule.is_none());
        assert_eq!(p.summary("other"), "-");
        assert_eq!(
            p.summary("ci-bot"),
            "read-only: schemes encord-v2; methods GET,POST; targets /v2/public/projects*,/v2/public/user"
        );
    }

    #[test]
    fn control_characters_in_reasons_are_escaped() {
        let p = policies(READ_ONLY);
        let d = p.evaluate(
            "ci-bot",
            "ci-bot",
            &http(Scheme::EncordV2, "GET", "/x\nkey ci-bot: allowed"),
            &caller(0, 0),
        );
        assert!(!d.allowed);
        assert!(!d.reason.contains('\n'), "{}", d.reason);
    }

    #[test]
    fn callers_by_uid_and_group() {
        let p = policies(
            "[policies.ci]\nuids = [\"ci\"]\ngroups = [\"builders\"]\n[keys.k]\npolicy = \"ci\"\n",
        );
        let op = Operation::Ssh;
        assert!(p.evaluate("k", "k", &op, &caller(1001, 1001)).allowed);
        // bob is listed in builders in /etc/group, but this process does
        // not hold it: listing alone admits nobody.
        assert!(!p.evaluate("k", "k", &op, &caller(1002, 100)).allowed);
        // Primary gid of the connection.
        assert!(p.evaluate("k", "k", &op, &caller(3000, 2000)).allowed);
        let d = p.evaluate("k", "k", &op, &caller(3000, 3000));
        assert_eq!(d.reason, "key k: caller uid 3000 not allowed by rule ci");
        // Root is not exempt from a key's rule.
        assert!(!p.evaluate("k", "k", &op, &caller(0, 0)).allowed);
    }

    #[test]
    fn executables_and_units() {
        let p = policies(
            "[policies.ci]\nexecutables = [\"/usr/bin/python3*\"]\nunits = [\"ci-runner.service\"]\n\
             [keys.k]\npolicy = \"ci\"\n[policies.other]\nunits = [\"deploy.service\"]\n[keys.d]\npolicy = \"other\"\n\
             [policies.bash]\nexecutables = [\"/bin/bash\"]\n[keys.b]\npolicy = \"bash\"\n",
        );
        let c = described(Given {
            exe: Some("/usr/bin/python3.11".into()),
            unit: Some("/system.slice/ci-runner.service".into()),
            groups: None,
        });
        assert!(p.evaluate("k", "k", &Operation::Ssh, &c).allowed);
        assert_eq!(
            p.evaluate("d", "d", &Operation::Ssh, &c).reason,
            "key d: caller in cgroup /system.slice/ci-runner.service (system unit ci-runner.service) not allowed by rule other"
        );
        assert_eq!(
            p.evaluate("b", "b", &Operation::Ssh, &c).reason,
            "key b: caller executable /usr/bin/python3.11 not allowed by rule bash"
        );
        // No process: unknown executable, fail closed, and says why.
        let anon = caller(5, 5);
        let d = p.evaluate("k", "k", &Operation::Ssh, &anon);
        assert!(!d.allowed);
        assert!(
            d.reason.starts_with(
                "key k: rule ci needs the caller's executable, but no process is known"
            ),
            "{}",
            d.reason
        );
    }

    #[test]
    fn units_by_their_full_cgroup_path() {
        let p = policies(
            "[policies.ci]\nunits = [\"gitlab-runner.service\", \"runner@.service\"]\n[keys.k]\npolicy = \"ci\"\n\
             [policies.mine]\nuids = [5]\nunits = [\"user:job.service\"]\n[keys.u]\npolicy = \"mine\"\n",
        );
        let at = |path: &str| {
            described(Given {
                unit: Some(path.into()),
                ..Given::default()
            })
        };
        for allowed in [
            "/system.slice/gitlab-runner.service",
            "/system.slice/gitlab-runner.service/job-7",
            "/ci.slice/gitlab-runner.service",
            "/system.slice/system-runner.slice/runner@3.service",
        ] {
            let d = p.evaluate("k", "k", &Operation::Ssh, &at(allowed));
            assert!(d.allowed, "{allowed}: {d:?}");
        }
        // A user service named like the system unit (systemd-run --user
        // --unit=gitlab-runner.service) is not it.
        let d = p.evaluate(
            "k",
            "k",
            &Operation::Ssh,
            &at("/user.slice/user-1000.slice/user@1000.service/app.slice/gitlab-runner.service"),
        );
        assert_eq!(
            d.reason,
            "key k: caller in cgroup /user.slice/user-1000.slice/user@1000.service/app.slice/gitlab-runner.service (system unit user@1000.service, user unit gitlab-runner.service of uid 1000) not allowed by rule ci"
        );
        for refused in [
            "/machine.slice/libpod-1.scope/c/system.slice/gitlab-runner.service",
            "/user.slice/user-1000.slice/session-2.scope",
            "/",
        ] {
            assert!(
                !p.evaluate("k", "k", &Operation::Ssh, &at(refused)).allowed,
                "{refused}"
            );
        }
        // user: only the caller's own user manager (uid 5 here).
        assert!(
            p.evaluate(
                "u",
                "u",
                &Operation::Ssh,
                &at("/user.slice/user-5.slice/user@5.service/app.slice/job.service")
            )
            .allowed
        );
        assert!(
            !p.evaluate(
                "u",
                "u",
                &Operation::Ssh,
                &at("/user.slice/user-6.slice/user@6.service/app.slice/job.service")
            )
            .allowed
        );
        assert!(
            !p.evaluate("u", "u", &Operation::Ssh, &at("/system.slice/job.service"))
                .allowed
        );
        assert_eq!(
            p.summary("k"),
            "ci: units gitlab-runner.service,runner@.service"
        );
    }

    #[test]
    fn groups_count_when_the_process_holds_them() {
        let p = policies("[policies.b]\ngroups = [\"builders\"]\n[keys.k]\npolicy = \"b\"\n");
        // bob (1002) is listed in builders; a process of his holding it:
        let holding = Caller::dry_run(
            &caller(1002, 100),
            Peer {
                uid: 1002,
                gid: 100,
                pid: None,
            },
            Given {
                groups: Some(vec![100, 2000]),
                ..Given::default()
            },
        );
        assert!(p.evaluate("k", "k", &Operation::Ssh, &holding).allowed);
        // The same uid without it (setpriv --clear-groups).
        let d = p.evaluate("k", "k", &Operation::Ssh, &caller(1002, 100));
        assert_eq!(
            d.reason,
            "key k: caller uid 1002 (the group database lists it in the rule's group, but the calling process does not hold the group) not allowed by rule b"
        );
    }

    #[test]
    fn configuration_errors_are_named() {
        let cfg = |t: &str| {
            crate::config::parse(t)
                .map_err(PolicyError::from)
                .and_then(|c| Policies::with_databases(&c, &Databases::default()).map(|_| ()))
        };
        for (text, needle) in [
            ("[keys.k]\npolicy = \"nope\"\n", "nope"),
            ("[policies.p]\nschemes = [\"encord-v3\"]\n", "encord-v3"),
            ("[policies.p]\ntargets = [\"v2/public\"]\n", "v2/public"),
            ("[policies.p]\nmethods = [\"GET /\"]\n", "GET /"),
            ("[policies.p]\ngroups = [\"nosuchgroup\"]\n", "nosuchgroup"),
            ("[policies.p]\nuids = [\"nosuchuser\"]\n", "nosuchuser"),
            ("[policies.p]\nrate_per_minute = 0\n", "rate_per_minute"),
            ("[policies.p]\nburst = 3\n", "burst"),
            ("[policies.p]\nmethdos = [\"GET\"]\n", "methdos"),
            (
                "[policies.p]\nunits = [\"gitlab-runner\"]\n",
                "not a unit name",
            ),
            ("[policies.p]\nunits = [\"vm:a.service\"]\n", "vm:a.service"),
            (
                "[policies.p]\nunits = [\"user:a.service\"]\n",
                "needs uids or groups",
            ),
        ] {
            let err = cfg(text).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(needle), "{text:?} gave {err:?}");
        }
        // A rule built in code is checked too.
        let mut c = Config::default();
        c.policies.insert(
            "p".into(),
            PolicyConfig {
                schemes: Some(vec!["ftp".into()]),
                ..PolicyConfig::default()
            },
        );
        assert!(Policies::with_databases(&c, &Databases::default()).is_err());
    }

    /// The decision reports an idle-expired key as a value (nothing else
    /// is touched: removing it is the caller's job) and takes rate tokens
    /// only when it allows.
    #[tokio::test(start_paused = true)]
    async fn decide_reports_idle_expiry_and_rate_limits() {
        let p = policies(
            "[policies.r]\nrate_per_minute = 1\nidle_timeout = \"15m\"\n[keys.k]\npolicy = \"r\"\n",
        );
        let limiter = RateLimiter::default();
        let c = caller(1000, 1000);
        let now = Instant::now();
        let key = |last_used| KeyUse {
            name: "k",
            bound_as: "k",
            public: [1; 32],
            last_used,
        };
        tokio::time::advance(Duration::from_secs(15 * 60)).await;
        let later = Instant::now();
        let d = decide(&p, &limiter, key(now), &Operation::Ssh, &c, later);
        assert!(!d.allowed && d.idle_expired, "{d:?}");
        assert!(d.reason.contains("idle timeout of rule r"), "{d:?}");
        // The refusal took no token: a fresh use is allowed once, then limited.
        let d = decide(&p, &limiter, key(later), &Operation::Ssh, &c, later);
        assert!(d.allowed && !d.idle_expired, "{d:?}");
        let d = decide(&p, &limiter, key(later), &Operation::Ssh, &c, later);
        assert!(
            !d.allowed && !d.idle_expired && d.reason.contains("rate limit"),
            "{d:?}"
        );
    }

    #[test]
    fn rates_and_idle() {
        let p = policies(
            "[policies.r]\nrate_per_minute = 60\nburst = 5\ncaller_rate_per_minute = 6\nidle_timeout = \"15m\"\n[keys.k]\npolicy = \"r\"\n",
        );
        let r = p.rule_for("k").cloned();
        assert_eq!(
            r.as_ref().and_then(|r| r.key_rate),
            Some(Rate {
                per_minute: 60,
                burst: 5
            })
        );
        assert_eq!(
            r.as_ref().and_then(|r| r.caller_rate),
            Some(Rate {
                per_minute: 6,
                burst: 6
            })
        );
        assert_eq!(
            r.and_then(|r| r.idle_timeout),
            Some(Duration::from_secs(900))
        );
    }
}
