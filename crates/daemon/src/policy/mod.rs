//! Per-key policy: which requests a key may sign, for whom, and how often.
//!
//! Rules are named tables in the configuration (`[policies.NAME]`) and a key
//! is bound to one by name (`[keys.KEY] policy = "NAME"`); a key with no
//! policy is unrestricted, as before. The same decision function serves
//! signing and `explain@signet` (a dry run), so what `signet explain` says is
//! what signing does. See docs/policy-audit.md.
//!
//! Dimensions of a rule, each unrestricted when absent:
//! - `schemes`: `encord-v1`, `encord-v2`, `ssh` (raw SSH agent signatures:
//!   SSH logins, `ssh-keygen -Y sign`, `signet sign`);
//! - `methods` and `targets` (request-target globs, `*` = any characters);
//! - who calls: `uids` or `groups` (either matching is enough), and, each
//!   required when set, `executables` (globs on `/proc/PID/exe`) and `units`
//!   (the systemd unit from `/proc/PID/cgroup`);
//! - `rate_per_minute`/`burst` per key and `caller_rate_per_minute`/
//!   `caller_burst` per (key, caller uid) — enforced by [`crate::policy::ratelimit`];
//! - `idle_timeout`: the key is unloaded after this long without a signature.
//!
//! Caller facts that cost a `/proc` read (executable, unit, groups) are read
//! only when a rule needs them. What this module must not do: sign, hold key
//! material, or perform I/O other than reading `/proc` and the group database.

pub mod ratelimit;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Deserialize;

use crate::access::allow::Principal;
use crate::access::peer::Peer;
use crate::config::{Config, Lifetime};

/// The scheme names a rule may list.
pub const SCHEME_NAMES: &[&str] = &["encord-v1", "encord-v2", "ssh"];

/// `[policies.NAME]` as written in the configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Allowed schemes: `encord-v1`, `encord-v2`, `ssh`.
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
    /// A raw SSH agent signature over arbitrary data.
    Ssh,
}

impl Operation<'_> {
    /// The scheme name used in rules and logs.
    pub fn scheme_name(&self) -> &'static str {
        match self {
            Operation::Http { scheme, .. } => scheme.as_str(),
            Operation::Ssh => "ssh",
        }
    }
}

/// An executable read from `/proc` (`None`: unreadable), shared.
type CachedExe = Option<Arc<str>>;

/// Executables of recent callers by pid, each read from `/proc/PID/exe` at
/// most once per [`EXE_CACHE_TTL`]: a readlink there costs more than a
/// policy check and the audit record together. The trade-off: a process
/// that `exec`s another binary while keeping its connection (which needs a
/// socket without close-on-exec) is judged by its old executable for up to
/// that long; pids are not reused within a second in practice.
#[derive(Debug, Default)]
pub struct ExeCache {
    entries: std::sync::Mutex<std::collections::HashMap<i32, (tokio::time::Instant, CachedExe)>>,
}

/// How long a cached executable is trusted.
pub const EXE_CACHE_TTL: Duration = Duration::from_secs(1);

impl ExeCache {
    fn get(&self, pid: i32, read: impl FnOnce() -> Option<Arc<str>>) -> Option<Arc<str>> {
        let now = tokio::time::Instant::now();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, exe)) = map.get(&pid) {
            if now.saturating_duration_since(*at) < EXE_CACHE_TTL {
                return exe.clone();
            }
        }
        if map.len() > 1024 {
            map.retain(|_, (at, _)| now.saturating_duration_since(*at) < EXE_CACHE_TTL);
        }
        let exe = read();
        map.insert(pid, (now, exe.clone()));
        exe
    }
}

/// The process asking, with its `/proc` facts read on first use.
pub struct Caller {
    /// Kernel credentials of the connection.
    pub peer: Peer,
    /// `/proc`, or a test's stand-in (borrowed for `/proc`: a caller is
    /// made per request).
    proc_root: std::borrow::Cow<'static, Path>,
    exe: OnceLock<Option<Arc<str>>>,
    unit: OnceLock<Option<String>>,
    groups: OnceLock<Option<Vec<u32>>>,
    exe_cache: Option<std::sync::Arc<ExeCache>>,
}

impl Caller {
    /// A caller whose facts come from `/proc`.
    pub fn new(peer: Peer) -> Self {
        Self::at(peer, std::borrow::Cow::Borrowed(Path::new("/proc")))
    }

    /// A caller whose facts come from another `/proc` (tests).
    pub fn with_proc_root(peer: Peer, proc_root: &Path) -> Self {
        Self::at(peer, std::borrow::Cow::Owned(proc_root.to_path_buf()))
    }

    fn at(peer: Peer, proc_root: std::borrow::Cow<'static, Path>) -> Self {
        Self {
            peer,
            proc_root,
            exe: OnceLock::new(),
            unit: OnceLock::new(),
            groups: OnceLock::new(),
            exe_cache: None,
        }
    }

    /// Reads the executable through `cache` (see [`ExeCache`]).
    pub fn with_exe_cache(mut self, cache: std::sync::Arc<ExeCache>) -> Self {
        self.exe_cache = Some(cache);
        self
    }

    /// A caller for a dry run (`explain@signet`): facts given replace what
    /// `/proc` would say.
    pub fn with_facts(peer: Peer, exe: Option<String>, unit: Option<String>) -> Self {
        let c = Self::new(peer);
        if let Some(exe) = exe {
            let _ = c.exe.set(Some(exe.into()));
        }
        if let Some(unit) = unit {
            let _ = c.unit.set(Some(unit));
        }
        c
    }

    /// The caller's executable (`/proc/PID/exe`), if readable.
    pub fn exe(&self) -> Option<&str> {
        self.exe_slot().as_deref()
    }

    /// The same, shared (the audit log's events keep it without a copy).
    pub fn exe_shared(&self) -> Option<Arc<str>> {
        self.exe_slot().clone()
    }

    fn exe_slot(&self) -> &Option<Arc<str>> {
        self.exe.get_or_init(|| {
            let pid = self.peer.pid?;
            let read = || {
                std::fs::read_link(self.proc_root.join(pid.to_string()).join("exe"))
                    .ok()
                    .map(|p| p.display().to_string().into())
            };
            match &self.exe_cache {
                Some(cache) => cache.get(pid, read),
                None => read(),
            }
        })
    }

    /// The caller's systemd unit: the last component of its cgroup path that
    /// ends in `.service` or `.scope`.
    pub fn unit(&self) -> Option<&str> {
        self.unit
            .get_or_init(|| {
                let pid = self.peer.pid?;
                let text =
                    std::fs::read_to_string(self.proc_root.join(pid.to_string()).join("cgroup"))
                        .ok()?;
                unit_from_cgroup(&text)
            })
            .as_deref()
    }

    fn process_groups(&self) -> Option<&[u32]> {
        self.groups
            .get_or_init(|| {
                let pid = self.peer.pid?;
                crate::access::allow::process_groups(&self.proc_root, pid, self.peer.uid)
            })
            .as_deref()
    }
}

/// The unit in a `/proc/PID/cgroup` text (cgroup v2 `0::/path` preferred).
pub fn unit_from_cgroup(text: &str) -> Option<String> {
    let line = text
        .lines()
        .find(|l| l.starts_with("0::"))
        .or_else(|| text.lines().find(|l| l.contains("name=systemd")))?;
    let path = line.splitn(3, ':').nth(2)?;
    path.rsplit('/')
        .find(|c| c.ends_with(".service") || c.ends_with(".scope"))
        .map(str::to_owned)
}

/// One rule, resolved and ready to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's name (`[policies.NAME]`).
    pub name: Arc<str>,
    schemes: Option<Vec<String>>,
    methods: Option<Vec<String>>,
    targets: Option<Vec<String>>,
    /// uids named directly, plus members of the named groups.
    uids: Option<BTreeSet<u32>>,
    /// gids of the named groups (matched against the caller's gid and its
    /// process's supplementary groups).
    gids: Option<BTreeSet<u32>>,
    executables: Option<Vec<String>>,
    units: Option<Vec<String>>,
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
}

impl Decision {
    fn allow(rule: Option<Arc<str>>) -> Self {
        Self {
            allowed: true,
            rule,
            reason: String::new(),
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
}

impl Policies {
    /// Resolves the configuration's rules against the system's user and
    /// group databases (read only when a rule names users or groups).
    pub fn from_config(cfg: &Config) -> anyhow::Result<Self> {
        let needs_db = cfg
            .policies
            .values()
            .any(|p| p.groups.is_some() || p.uids.is_some());
        let db = if needs_db {
            crate::access::allow::Databases::system()?
        } else {
            crate::access::allow::Databases::default()
        };
        Self::with_databases(cfg, &db)
    }

    /// As [`Policies::from_config`] with given databases.
    pub fn with_databases(
        cfg: &Config,
        db: &crate::access::allow::Databases,
    ) -> anyhow::Result<Self> {
        Self::build(cfg, Some(db))
    }

    /// Checks every rule's syntax and every key's rule name without reading
    /// the user and group databases (called by `config::parse`).
    pub fn validate(cfg: &Config) -> anyhow::Result<()> {
        Self::build(cfg, None).map(|_| ())
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
        }
    }

    fn build(cfg: &Config, db: Option<&crate::access::allow::Databases>) -> anyhow::Result<Self> {
        let mut rules = BTreeMap::new();
        for (name, p) in &cfg.policies {
            rules.insert(name.clone(), compile(name, p, db)?);
        }
        let mut by_key = BTreeMap::new();
        for (key, k) in &cfg.keys {
            if let Some(rule) = &k.policy {
                if !rules.contains_key(rule) {
                    anyhow::bail!(
                        "keys.{key}: policy {rule:?} is not defined: add [policies.{rule}] or fix the name"
                    );
                }
                by_key.insert(key.clone(), rule.clone());
            }
        }
        Ok(Self { rules, by_key })
    }

    /// The rule bound to the key named `key`, if any.
    pub fn rule_for(&self, key: &str) -> Option<&Rule> {
        self.rules.get(self.by_key.get(key)?)
    }

    /// Whether `key` may perform `op` for `caller` (rate limits aside).
    pub fn evaluate(&self, key: &str, op: &Operation<'_>, caller: &Caller) -> Decision {
        match self.rule_for(key) {
            None if self.by_key.contains_key(key) => Decision {
                allowed: false,
                rule: self.by_key.get(key).map(|r| r.as_str().into()),
                reason: format!(
                    "key {key}: its policy could not be resolved (see the agent's log), so it signs nothing"
                ),
            },
            None => Decision::allow(None),
            Some(rule) => rule.evaluate(key, op, caller),
        }
    }

    /// A one-line summary of the key's policy for `signet list`.
    pub fn summary(&self, key: &str) -> String {
        self.rule_for(key)
            .map(Rule::summary)
            .unwrap_or_else(|| "-".to_owned())
    }
}

fn compile(
    name: &str,
    p: &PolicyConfig,
    db: Option<&crate::access::allow::Databases>,
) -> anyhow::Result<Rule> {
    let bad = |what: String| anyhow::anyhow!("policies.{name}: {what}");
    if let Some(schemes) = &p.schemes {
        for s in schemes {
            if !SCHEME_NAMES.contains(&s.as_str()) {
                return Err(bad(format!(
                    "scheme {s:?} is unknown: use {}",
                    SCHEME_NAMES.join(", ")
                )));
            }
        }
    }
    let methods = p.methods.as_ref().map(|ms| {
        ms.iter()
            .map(|m| m.trim().to_ascii_uppercase())
            .collect::<Vec<_>>()
    });
    if let Some(ms) = &methods {
        if let Some(m) = ms
            .iter()
            .find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            return Err(bad(format!("method {m:?} is not an HTTP method")));
        }
    }
    for t in p.targets.iter().flatten() {
        if !(t.starts_with('/') || t.starts_with('*')) {
            return Err(bad(format!(
                "target {t:?} must start with / (a path such as /v2/public/projects*)"
            )));
        }
    }
    for e in p.executables.iter().flatten() {
        if !e.starts_with('/') {
            return Err(bad(format!("executable {e:?} must be an absolute path")));
        }
    }
    let mut uids: Option<BTreeSet<u32>> = None;
    let mut gids: Option<BTreeSet<u32>> = None;
    if p.uids.is_some() || p.groups.is_some() {
        let mut u = BTreeSet::new();
        for principal in p.uids.iter().flatten() {
            let Some(db) = db else { continue };
            u.insert(db.uid_of(principal).ok_or_else(|| {
                bad(format!(
                    "no user {principal} in /etc/passwd: fix the name or use the numeric uid"
                ))
            })?);
        }
        let mut g = BTreeSet::new();
        for principal in p.groups.iter().flatten() {
            let Some(db) = db else { continue };
            let gid = db.gid_of(principal).ok_or_else(|| {
                bad(format!(
                    "no group {principal} in /etc/group: create it or use the numeric gid"
                ))
            })?;
            g.insert(gid);
            u.extend(db.members_of(gid));
        }
        uids = Some(u);
        gids = Some(g);
    }
    let rate = |per: Option<u32>, burst: Option<u32>, what: &str| -> anyhow::Result<Option<Rate>> {
        match per {
            None if burst.is_some() => Err(bad(format!("{what} burst without a rate"))),
            None => Ok(None),
            Some(0) => Err(bad(format!(
                "{what} rate_per_minute must be at least 1 (remove the key's scheme to forbid signing)"
            ))),
            Some(n) => Ok(Some(Rate {
                per_minute: n,
                burst: burst.unwrap_or(n).max(1),
            })),
        }
    };
    Ok(Rule {
        name: name.into(),
        schemes: p.schemes.clone(),
        methods,
        targets: p.targets.clone(),
        uids,
        gids,
        executables: p.executables.clone(),
        units: p.units.clone(),
        key_rate: rate(p.rate_per_minute, p.burst, "key")?,
        caller_rate: rate(p.caller_rate_per_minute, p.caller_burst, "caller")?,
        idle_timeout: p.idle_timeout.and_then(|l| l.0).map(Duration::from_secs),
    })
}

impl Rule {
    fn evaluate(&self, key: &str, op: &Operation<'_>, caller: &Caller) -> Decision {
        let deny = |what: String| Decision {
            allowed: false,
            rule: Some(self.name.clone()),
            reason: format!("key {key}: {what} not allowed by rule {}", self.name),
        };
        let scheme = op.scheme_name();
        if let Some(s) = &self.schemes {
            if !s.iter().any(|x| x == scheme) {
                return deny(format!("scheme {scheme}"));
            }
        }
        if let Operation::Http { method, target, .. } = op {
            if let Some(ms) = &self.methods {
                if !ms.iter().any(|m| m.eq_ignore_ascii_case(method)) {
                    return deny(format!(
                        "method {}",
                        printable(&method.to_ascii_uppercase())
                    ));
                }
            }
            if let Some(ts) = &self.targets {
                if !ts.iter().any(|t| glob(t, target)) {
                    return deny(format!("target {}", printable(target)));
                }
            }
        }
        let peer = &caller.peer;
        if let (Some(uids), Some(gids)) = (&self.uids, &self.gids) {
            let member = uids.contains(&peer.uid)
                || gids.contains(&peer.gid)
                || (!gids.is_empty()
                    && caller
                        .process_groups()
                        .is_some_and(|g| g.iter().any(|g| gids.contains(g))));
            if !member {
                return deny(format!("caller uid {}", peer.uid));
            }
        }
        if let Some(es) = &self.executables {
            match caller.exe() {
                Some(exe) if es.iter().any(|e| glob(e, exe)) => {}
                Some(exe) => return deny(format!("caller executable {}", printable(exe))),
                None => return deny("caller with an unknown executable".to_owned()),
            }
        }
        if let Some(us) = &self.units {
            match caller.unit() {
                Some(unit) if us.iter().any(|u| u == unit) => {}
                Some(unit) => return deny(format!("caller unit {}", printable(unit))),
                None => return deny("caller outside a systemd unit".to_owned()),
            }
        }
        Decision::allow(Some(self.name.clone()))
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
            parts.push(format!("units {}", list(u)));
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

/// Request text in a reason: control characters escaped, length capped, so
/// that a client cannot forge lines in the log or the user's terminal.
fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(200).flat_map(char::escape_default).collect();
    if s.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// `*` matches any run of characters (slashes included); everything else
/// matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_proto::encord::Scheme;

    fn policies(text: &str) -> Policies {
        let cfg = match crate::config::parse(text) {
            Ok(c) => c,
            Err(e) => panic!("{e:#}"),
        };
        let db = crate::access::allow::Databases::parse(
            "root:x:0:0::/root:/bin/sh\nci:x:1001:1001::/home/ci:/bin/sh\nbob:x:1002:100::/:/bin/sh\n",
            "root:x:0:\nci:x:1001:\nbuilders:x:2000:bob\n",
        );
        match Policies::with_databases(&cfg, &db) {
            Ok(p) => p,
            Err(e) => panic!("{e:#}"),
        }
    }

    fn caller(uid: u32, gid: u32) -> Caller {
        Caller::with_proc_root(
            Peer {
                uid,
                gid,
                pid: None,
            },
            Path::new("/nonexistent"),
        )
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
    fn glob_matches() {
        assert!(glob("/v2/public/projects*", "/v2/public/projects/abc?x=1"));
        assert!(glob("/v2/public/projects*", "/v2/public/projects"));
        assert!(!glob("/v2/public/projects*", "/v2/public/datasets"));
        assert!(glob("/v2/*/labels", "/v2/public/projects/p/labels"));
        assert!(!glob("/v2/*/labels", "/v2/public/projects/p/labels/x"));
        assert!(glob("*", ""));
        assert!(!glob("/a", "/ab"));
        assert!(glob("/usr/bin/python3*", "/usr/bin/python3.11"));
    }

    #[test]
    fn schemes_methods_targets() {
        let p = policies(READ_ONLY);
        let c = caller(1000, 1000);
        let ok = p.evaluate(
            "ci-bot",
            &http(Scheme::EncordV2, "get", "/v2/public/projects/x"),
            &c,
        );
        assert!(ok.allowed, "{ok:?}");
        assert_eq!(ok.rule.as_deref(), Some("read-only"));
        let d = p.evaluate(
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
            &http(Scheme::EncordV2, "GET", "/v2/public/datasets"),
            &c,
        );
        assert_eq!(
            d.reason,
            "key ci-bot: target /v2/public/datasets not allowed by rule read-only"
        );
        let d = p.evaluate("ci-bot", &http(Scheme::EncordV1, "POST", "/public"), &c);
        assert_eq!(
            d.reason,
            "key ci-bot: scheme encord-v1 not allowed by rule read-only"
        );
        let d = p.evaluate("ci-bot", &Operation::Ssh, &c);
        assert!(!d.allowed && d.reason.contains("scheme ssh"), "{d:?}");
        // Another key has no policy.
        let free = p.evaluate("other", &Operation::Ssh, &c);
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
        assert!(p.evaluate("k", &op, &caller(1001, 1001)).allowed);
        // bob is a member of builders in /etc/group.
        assert!(p.evaluate("k", &op, &caller(1002, 100)).allowed);
        // Primary gid of the connection.
        assert!(p.evaluate("k", &op, &caller(3000, 2000)).allowed);
        let d = p.evaluate("k", &op, &caller(3000, 3000));
        assert_eq!(d.reason, "key k: caller uid 3000 not allowed by rule ci");
        // Root is not exempt from a key's rule.
        assert!(!p.evaluate("k", &op, &caller(0, 0)).allowed);
    }

    #[test]
    fn executables_and_units_from_proc() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let proc_dir = dir.path().join("42");
        std::fs::create_dir_all(&proc_dir)?;
        std::os::unix::fs::symlink("/usr/bin/python3.11", proc_dir.join("exe"))?;
        std::fs::write(
            proc_dir.join("cgroup"),
            "0::/system.slice/ci-runner.service\n",
        )?;
        let p = policies(
            "[policies.ci]\nexecutables = [\"/usr/bin/python3*\"]\nunits = [\"ci-runner.service\"]\n\
             [keys.k]\npolicy = \"ci\"\n[policies.other]\nunits = [\"deploy.service\"]\n[keys.d]\npolicy = \"other\"\n\
             [policies.bash]\nexecutables = [\"/bin/bash\"]\n[keys.b]\npolicy = \"bash\"\n",
        );
        let peer = Peer {
            uid: 5,
            gid: 5,
            pid: Some(42),
        };
        let c = Caller::with_proc_root(peer, dir.path());
        assert!(p.evaluate("k", &Operation::Ssh, &c).allowed);
        assert_eq!(
            p.evaluate("d", &Operation::Ssh, &c).reason,
            "key d: caller unit ci-runner.service not allowed by rule other"
        );
        assert_eq!(
            p.evaluate("b", &Operation::Ssh, &c).reason,
            "key b: caller executable /usr/bin/python3.11 not allowed by rule bash"
        );
        // No pid: unknown executable, fail closed.
        let anon = caller(5, 5);
        assert!(!p.evaluate("k", &Operation::Ssh, &anon).allowed);
        Ok(())
    }

    #[tokio::test(start_paused = true)]
    async fn exe_cache_reads_once_per_ttl() {
        let cache = ExeCache::default();
        let reads = std::cell::Cell::new(0);
        let read = |name: &str| {
            reads.set(reads.get() + 1);
            Some(Arc::<str>::from(name))
        };
        assert_eq!(cache.get(7, || read("/a")).as_deref(), Some("/a"));
        // Within the TTL the first answer stands (an exec is seen late).
        tokio::time::advance(EXE_CACHE_TTL - Duration::from_millis(1)).await;
        assert_eq!(cache.get(7, || read("/b")).as_deref(), Some("/a"));
        assert_eq!(reads.get(), 1);
        // Another pid is read on its own.
        assert_eq!(cache.get(8, || read("/c")).as_deref(), Some("/c"));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(cache.get(7, || read("/b")).as_deref(), Some("/b"));
        assert_eq!(reads.get(), 3);
    }

    #[test]
    fn unit_parsing() {
        assert_eq!(
            unit_from_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n").as_deref(),
            Some("session-3.scope")
        );
        assert_eq!(
            unit_from_cgroup("0::/system.slice/ci.service/job/x\n").as_deref(),
            Some("ci.service")
        );
        assert_eq!(unit_from_cgroup("0::/\n"), None);
    }

    #[test]
    fn configuration_errors_are_named() {
        let cfg = |t: &str| {
            crate::config::parse(t).and_then(|c| {
                Policies::with_databases(&c, &crate::access::allow::Databases::default())
                    .map(|_| ())
            })
        };
        for (text, needle) in [
            ("[keys.k]\npolicy = \"nope\"\n", "nope"),
            ("[policies.p]\nschemes = [\"encord-v3\"]\n", "encord-v3"),
            ("[policies.p]\ntargets = [\"v2/public\"]\n", "v2/public"),
            ("[policies.p]\nmethods = [\"GET /\"]\n", "GET /"),
            ("[policies.p]\ngroups = [\"nosuchgroup\"]\n", "nosuchgroup"),
            ("[policies.p]\nrate_per_minute = 0\n", "rate_per_minute"),
            ("[policies.p]\nburst = 3\n", "burst"),
            ("[policies.p]\nmethdos = [\"GET\"]\n", "methdos"),
        ] {
            let err = cfg(text)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
            assert!(err.contains(needle), "{text:?} gave {err:?}");
        }
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
