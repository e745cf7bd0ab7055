//! System mode (`signetd --system`): one agent for a whole build machine,
//! used by the jobs of the users and groups the operator allows.
//!
//! **Access control is this module, not file permissions.** Every accepted
//! connection's credentials (SO_PEERCRED: uid, gid, pid) are checked against
//! the `[system]` allow-list:
//!
//! - root (uid 0) is always allowed;
//! - a uid listed in `allow_uids` (numbers or user names) is allowed;
//! - a member of a group in `allow_groups` (names or numbers) is allowed:
//!   the peer's primary gid from SO_PEERCRED, or group membership from the
//!   group database (`/etc/group` member lists and `/etc/passwd` primary
//!   groups, resolved at start-up and on SIGHUP), or the supplementary
//!   groups of the connecting process itself (`/proc/PID/status` `Groups:`,
//!   trusted only when that process's uids still equal the peer's uid, so a
//!   recycled pid cannot lend its groups).
//!
//! An empty allow-list allows only root: system mode fails closed. A name
//! that does not resolve is a start-up error, never silently dropped. In user
//! mode (no `--system`) the rule stays as before: the daemon's own uid and
//! root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::Deserialize;

use crate::access::peer::Peer;

/// The configuration file in system mode when `--config` is not given.
pub const SYSTEM_CONFIG: &str = "/etc/signet/signetd.toml";

/// The socket in system mode when neither `--socket` nor `[agent] socket` is given.
pub const SYSTEM_SOCKET: &str = "/run/signet/agent.sock";

/// A user or group named by number or by name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// A numeric id.
    Id(u32),
    /// A name (or a number written as a string).
    Name(String),
}

/// `[system]`: who may use a system-mode agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    /// Users allowed, by uid or user name.
    pub allow_uids: Vec<Principal>,
    /// Groups whose members are allowed, by gid or group name.
    pub allow_groups: Vec<Principal>,
    /// When signetd creates the socket itself (not socket-activated): the
    /// group that owns it, and it is made 0660; without it the socket is made
    /// 0666 (the allow-list is the control either way).
    pub socket_group: Option<Principal>,
}

/// One `/etc/passwd` or `/etc/group` entry, as far as the check needs it.
#[derive(Debug, Clone)]
struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

#[derive(Debug, Clone)]
struct UserEntry {
    name: String,
    uid: u32,
    gid: u32,
}

/// The user and group databases (files; the peer's own `/proc` groups cover
/// NSS sources such as LDAP for the process that connects).
#[derive(Debug, Clone, Default)]
pub struct Databases {
    users: Vec<UserEntry>,
    groups: Vec<GroupEntry>,
}

impl Databases {
    /// Reads `/etc/passwd` and `/etc/group`.
    pub fn system() -> anyhow::Result<Self> {
        Self::from_files(Path::new("/etc/passwd"), Path::new("/etc/group"))
    }

    /// Reads the given passwd and group files.
    pub fn from_files(passwd: &Path, group: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let p = std::fs::read_to_string(passwd)
            .with_context(|| format!("cannot read {}", passwd.display()))?;
        let g = std::fs::read_to_string(group)
            .with_context(|| format!("cannot read {}", group.display()))?;
        Ok(Self::parse(&p, &g))
    }

    /// Parses passwd and group text.
    pub fn parse(passwd: &str, group: &str) -> Self {
        let users = passwd
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                Some(UserEntry {
                    name: (*f.first()?).to_owned(),
                    uid: f.get(2)?.parse().ok()?,
                    gid: f.get(3)?.parse().ok()?,
                })
            })
            .collect();
        let groups = group
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                Some(GroupEntry {
                    name: (*f.first()?).to_owned(),
                    gid: f.get(2)?.parse().ok()?,
                    members: f
                        .get(3)
                        .map(|m| {
                            m.split(',')
                                .filter(|s| !s.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect();
        Self { users, groups }
    }

    /// The uid of a user given by number or name.
    pub fn uid_of(&self, p: &Principal) -> Option<u32> {
        match p {
            Principal::Id(n) => Some(*n),
            Principal::Name(s) => s
                .parse()
                .ok()
                .or_else(|| self.users.iter().find(|u| &u.name == s).map(|u| u.uid)),
        }
    }

    /// The gid of a group given by number or name.
    pub fn gid_of(&self, p: &Principal) -> Option<u32> {
        match p {
            Principal::Id(n) => Some(*n),
            Principal::Name(s) => s
                .parse()
                .ok()
                .or_else(|| self.groups.iter().find(|g| &g.name == s).map(|g| g.gid)),
        }
    }
}

impl Databases {
    /// A user's primary gid.
    pub fn primary_gid(&self, uid: u32) -> Option<u32> {
        self.users.iter().find(|u| u.uid == uid).map(|u| u.gid)
    }

    /// The uids of a group's members: listed in `/etc/group` or with it as
    /// their primary group in `/etc/passwd`.
    pub fn members_of(&self, gid: u32) -> Vec<u32> {
        let mut uids: Vec<u32> = self
            .users
            .iter()
            .filter(|u| u.gid == gid)
            .map(|u| u.uid)
            .collect();
        if let Some(entry) = self.groups.iter().find(|e| e.gid == gid) {
            for m in &entry.members {
                if let Some(u) = self.users.iter().find(|u| &u.name == m) {
                    uids.push(u.uid);
                }
            }
        }
        uids
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::Id(n) => write!(f, "{n}"),
            Principal::Name(s) => write!(f, "{s:?}"),
        }
    }
}

/// Who may connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// User mode: the daemon's own uid and root.
    Owner {
        /// The daemon's effective uid.
        uid: u32,
    },
    /// System mode: root, the listed uids, and members of the listed groups.
    AllowList {
        /// uids allowed directly, plus members of allowed groups per the
        /// group database.
        uids: BTreeSet<u32>,
        /// Allowed gids (the peer's primary gid or its process's groups).
        gids: BTreeSet<u32>,
    },
}

impl Policy {
    /// Resolves `[system]` against the user and group databases. Every name
    /// must resolve: a typo must not silently shrink (or widen) the list.
    pub fn allow_list(cfg: &SystemConfig, db: &Databases) -> anyhow::Result<Self> {
        let mut uids = BTreeSet::new();
        let mut gids = BTreeSet::new();
        for u in &cfg.allow_uids {
            let uid = db.uid_of(u).ok_or_else(|| {
                anyhow::anyhow!("[system] allow_uids: no user {u} in /etc/passwd: fix the name or use the numeric uid")
            })?;
            uids.insert(uid);
        }
        for g in &cfg.allow_groups {
            let gid = db.gid_of(g).ok_or_else(|| {
                anyhow::anyhow!("[system] allow_groups: no group {g} in /etc/group: create it (groupadd) or use the numeric gid")
            })?;
            gids.insert(gid);
            if let Some(entry) = db.groups.iter().find(|e| e.gid == gid) {
                for m in &entry.members {
                    if let Some(u) = db.users.iter().find(|u| &u.name == m) {
                        uids.insert(u.uid);
                    }
                }
            }
            uids.extend(db.users.iter().filter(|u| u.gid == gid).map(|u| u.uid));
        }
        Ok(Policy::AllowList { uids, gids })
    }

    /// Whether `peer` may use the agent. `proc_root` is `/proc` (tests pass
    /// another directory).
    pub fn allows(&self, peer: &Peer, proc_root: &Path) -> bool {
        if peer.uid == 0 {
            return true;
        }
        match self {
            Policy::Owner { uid } => peer.uid == *uid,
            Policy::AllowList { uids, gids } => {
                uids.contains(&peer.uid)
                    || gids.contains(&peer.gid)
                    || peer.pid.is_some_and(|pid| {
                        process_groups(proc_root, pid, peer.uid)
                            .is_some_and(|groups| groups.iter().any(|g| gids.contains(g)))
                    })
            }
        }
    }

    /// A short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Policy::Owner { uid } => format!("uid {uid} and root"),
            Policy::AllowList { uids, gids } if uids.is_empty() && gids.is_empty() => {
                "root only (the [system] allow-list is empty)".to_owned()
            }
            Policy::AllowList { uids, gids } => format!(
                "root, uids {:?}, gids {:?}",
                uids.iter().collect::<Vec<_>>(),
                gids.iter().collect::<Vec<_>>()
            ),
        }
    }
}

/// The supplementary groups of process `pid`, if its real and effective uids
/// are still `uid` (so that a pid recycled by another user's process is not
/// trusted).
pub(crate) fn process_groups(proc_root: &Path, pid: i32, uid: u32) -> Option<Vec<u32>> {
    let status = std::fs::read_to_string(proc_root.join(pid.to_string()).join("status")).ok()?;
    let mut uids_match = false;
    let mut groups = None;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("Uid:") {
            let ids: Vec<u32> = rest
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect();
            uids_match = ids.len() >= 2 && ids[0] == uid && ids[1] == uid;
        } else if let Some(rest) = line.strip_prefix("Groups:") {
            groups = Some(
                rest.split_whitespace()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
            );
        }
    }
    if uids_match {
        groups
    } else {
        None
    }
}

/// The policy in force, shared by the accept loop and SIGHUP.
#[derive(Debug)]
pub struct Access {
    policy: RwLock<Arc<Policy>>,
    proc_root: PathBuf,
}

impl Access {
    /// Access with `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy: RwLock::new(Arc::new(policy)),
            proc_root: PathBuf::from("/proc"),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replaces the policy (SIGHUP).
    pub fn set(&self, policy: Policy) {
        let mut slot = self.policy.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(policy);
    }

    /// Whether `peer` may connect.
    pub fn allows(&self, peer: &Peer) -> bool {
        self.policy().allows(peer, &self.proc_root)
    }
}

#[cfg(unix)]
/// The policy for a configuration: the allow-list in system mode, else the
/// owner rule.
pub fn policy_for(system_mode: bool, cfg: &SystemConfig) -> anyhow::Result<Policy> {
    if system_mode {
        Policy::allow_list(cfg, &Databases::system()?)
    } else {
        Ok(Policy::Owner {
            uid: rustix::process::geteuid().as_raw(),
        })
    }
}

#[cfg(unix)]
/// Makes a socket signetd created itself usable by other users in system
/// mode: its directory 0755, the socket 0660 with `socket_group` or 0666
/// without. The allow-list, not these bits, decides who is served.
pub fn open_socket_permissions(path: &Path, cfg: &SystemConfig) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use rustix::fs::{chmod, chown, Gid, Mode};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        chmod(dir, Mode::from_raw_mode(0o755))
            .with_context(|| format!("cannot make {} 0755", dir.display()))?;
    }
    match &cfg.socket_group {
        Some(g) => {
            let gid = Databases::system()?.gid_of(g).ok_or_else(|| {
                anyhow::anyhow!("[system] socket_group: no group {g} in /etc/group: create it (groupadd) or remove the setting")
            })?;
            chown(path, None, Some(Gid::from_raw(gid)))
                .with_context(|| format!("cannot give {} to gid {gid}", path.display()))?;
            chmod(path, Mode::from_raw_mode(0o660))
                .with_context(|| format!("cannot make {} 0660", path.display()))?;
        }
        None => chmod(path, Mode::from_raw_mode(0o666))
            .with_context(|| format!("cannot make {} 0666", path.display()))?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        alice:x:1000:1000::/home/alice:/bin/sh\n\
        bob:x:1001:1001::/home/bob:/bin/sh\n\
        carol:x:1002:2000::/home/carol:/bin/sh\n\
        mallory:x:1003:1003::/home/m:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nalice:x:1000:\nbob:x:1001:\nci:x:2000:bob\nmallory:x:1003:\n";

    fn peer(uid: u32, gid: u32) -> Peer {
        Peer {
            uid,
            gid,
            pid: None,
        }
    }

    fn cfg(text: &str) -> SystemConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn allow_list_by_group_membership_and_uid() -> anyhow::Result<()> {
        let db = Databases::parse(PASSWD, GROUP);
        let p = Policy::allow_list(
            &cfg("allow_groups = [\"ci\"]\nallow_uids = [\"alice\"]"),
            &db,
        )?;
        let proc_root = Path::new("/nonexistent");
        assert!(p.allows(&peer(0, 0), proc_root), "root");
        assert!(p.allows(&peer(1000, 1000), proc_root), "alice by uid");
        assert!(p.allows(&peer(1001, 1001), proc_root), "bob: member of ci");
        assert!(
            p.allows(&peer(1002, 2000), proc_root),
            "carol: primary group ci"
        );
        assert!(p.allows(&peer(5000, 2000), proc_root), "peer gid ci");
        assert!(!p.allows(&peer(1003, 1003), proc_root), "mallory");
        Ok(())
    }

    #[test]
    fn empty_allow_list_is_root_only() -> anyhow::Result<()> {
        let db = Databases::parse(PASSWD, GROUP);
        let p = Policy::allow_list(&SystemConfig::default(), &db)?;
        assert!(p.allows(&peer(0, 0), Path::new("/nonexistent")));
        assert!(!p.allows(&peer(1000, 1000), Path::new("/nonexistent")));
        assert!(p.describe().contains("root only"));
        Ok(())
    }

    #[test]
    fn unknown_names_are_errors() {
        let db = Databases::parse(PASSWD, GROUP);
        let e = Policy::allow_list(&cfg("allow_groups = [\"cii\"]"), &db)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("cii") && e.contains("groupadd"), "{e}");
        let e = Policy::allow_list(&cfg("allow_uids = [\"nobodyy\"]"), &db)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("nobodyy"), "{e}");
        assert!(toml::from_str::<SystemConfig>("allow_group = [\"ci\"]").is_err());
    }

    #[test]
    fn process_groups_only_when_uids_match() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("42"))?;
        std::fs::write(
            dir.path().join("42/status"),
            "Name:\tjob\nUid:\t1003\t1003\t1003\t1003\nGid:\t1003\t1003\t1003\t1003\nGroups:\t1003 2000 \n",
        )?;
        let db = Databases::parse(PASSWD, GROUP);
        let p = Policy::allow_list(&cfg("allow_groups = [2000]"), &db)?;
        let with_pid = |uid| Peer {
            uid,
            gid: 1003,
            pid: Some(42),
        };
        assert!(
            p.allows(&with_pid(1003), dir.path()),
            "process in group 2000"
        );
        assert!(
            !p.allows(&with_pid(1004), dir.path()),
            "pid now another user's"
        );
        Ok(())
    }

    #[test]
    fn owner_rule() {
        let p = Policy::Owner { uid: 1000 };
        assert!(p.allows(&peer(1000, 5), Path::new("/")));
        assert!(p.allows(&peer(0, 0), Path::new("/")));
        assert!(!p.allows(&peer(1001, 1000), Path::new("/")));
    }
}
