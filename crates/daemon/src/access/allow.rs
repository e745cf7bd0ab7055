//! System mode (`signetd --system`): one agent for a whole build machine,
//! used by the jobs of the users and groups the operator allows.
//!
//! **Access control is this module, not file permissions.** Every accepted
//! connection's credentials (SO_PEERCRED: uid, gid, pid) are checked against
//! the `[system]` allow-list:
//!
//! - root (uid 0) is always allowed;
//! - a uid listed in `allow_uids` (numbers or user names) is allowed;
//! - a process that holds a group of `allow_groups` (names or numbers) is
//!   allowed: as its effective gid when it connected (SO_PEERCRED), or as a
//!   supplementary group of the connecting process (`/proc/PID/status`
//!   `Groups:`, read through the pidfd pinned at accept, and only while
//!   that process's uids are the connection's). Being listed as a member in
//!   `/etc/group` admits nobody by itself: a job that dropped its groups
//!   (`setpriv --clear-groups`, `sudo -u` without initgroups) does not
//!   hold them, and is refused. The listing only explains a refusal.
//!
//! An empty allow-list allows only root: system mode fails closed. A name
//! that does not resolve is a start-up error, never silently dropped. In user
//! mode (no `--system`) the rule stays as before: the daemon's own uid and
//! root.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use crate::access::accounts::{AccountsError, Databases};
use crate::access::peer::Client;
use crate::config::{Principal, SystemConfig};

/// Why the `[system]` allow-list cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum AllowListError {
    /// A user name that is not in the user database.
    #[error(
        "[system] {setting}: no user {user} in /etc/passwd: fix the name or use the numeric uid"
    )]
    UnknownUser {
        /// `allow_uids` or `admin_uids`.
        setting: &'static str,
        /// The user as written.
        user: Principal,
    },
    /// A group name that is not in the group database.
    #[error("[system] {setting}: no group {group} in /etc/group: create it (groupadd) or use the numeric gid")]
    UnknownGroup {
        /// `allow_groups` or `admin_groups`.
        setting: &'static str,
        /// The group as written.
        group: Principal,
    },
    /// The databases cannot be read.
    #[error(transparent)]
    Accounts(#[from] AccountsError),
}

/// Who may connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// User mode: the daemon's own uid and root.
    Owner {
        /// The daemon's effective uid.
        uid: u32,
    },
    /// System mode: root, the listed uids, and processes holding the
    /// listed groups.
    AllowList {
        /// uids allowed directly (`allow_uids`, `admin_uids`).
        uids: BTreeSet<u32>,
        /// Allowed gids (the peer's gid or its process's groups).
        gids: BTreeSet<u32>,
        /// uids the group database lists as members of an allowed group:
        /// never allowed for that, only told why they are refused.
        listed: BTreeSet<u32>,
    },
}

impl Policy {
    /// Resolves `[system]` against the user and group databases. Every name
    /// must resolve: a typo must not silently shrink (or widen) the list.
    /// The agent's admins (`admin_uids`, `admin_groups`) may connect too.
    pub fn allow_list(cfg: &SystemConfig, db: &Databases) -> Result<Self, AllowListError> {
        let mut uids = BTreeSet::new();
        let mut gids = BTreeSet::new();
        let mut listed = BTreeSet::new();
        for (setting, list) in [
            ("allow_uids", &cfg.allow_uids),
            ("admin_uids", &cfg.admin_uids),
        ] {
            for u in list {
                let uid = db.uid_of(u).ok_or_else(|| AllowListError::UnknownUser {
                    setting,
                    user: u.clone(),
                })?;
                uids.insert(uid);
            }
        }
        for (setting, list) in [
            ("allow_groups", &cfg.allow_groups),
            ("admin_groups", &cfg.admin_groups),
        ] {
            for g in list {
                let gid = db.gid_of(g).ok_or_else(|| AllowListError::UnknownGroup {
                    setting,
                    group: g.clone(),
                })?;
                gids.insert(gid);
                listed.extend(db.members_of(gid));
            }
        }
        Ok(Policy::AllowList { uids, gids, listed })
    }

    /// Whether `client` may use the agent: its uid, its gid at `connect`,
    /// or the supplementary groups its process held at accept.
    pub fn allows(&self, client: &Client) -> bool {
        let peer = &client.peer;
        if peer.uid == 0 {
            return true;
        }
        match self {
            Policy::Owner { uid } => peer.uid == *uid,
            Policy::AllowList { uids, gids, .. } => {
                uids.contains(&peer.uid)
                    || gids.contains(&peer.gid)
                    || client
                        .process
                        .as_ref()
                        .and_then(|p| p.groups())
                        .is_some_and(|groups| groups.iter().any(|g| gids.contains(g)))
            }
        }
    }

    /// A short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Policy::Owner { uid } => format!("uid {uid} and root"),
            Policy::AllowList { uids, gids, .. } if uids.is_empty() && gids.is_empty() => {
                "root only (the [system] allow-list is empty)".to_owned()
            }
            Policy::AllowList { uids, gids, .. } => format!(
                "root, uids {:?}, processes holding gids {:?}",
                uids.iter().collect::<Vec<_>>(),
                gids.iter().collect::<Vec<_>>()
            ),
        }
    }

    /// What a refused caller is told: why, and whom to ask. Names no one
    /// else (the allow-list itself stays in the daemon's log).
    pub fn refusal(&self, uid: u32) -> String {
        match self {
            Policy::Owner { uid: owner } => format!(
                "uid {uid} may not use this agent: it serves only uid {owner} and root; start your own with `signet start`"
            ),
            Policy::AllowList { listed, .. } if listed.contains(&uid) => format!(
                "uid {uid} is not allowed by this agent's allow-list: the group database lists it in an allowed group, but the connecting process does not hold that group (it dropped its groups, or started before it was added: log in again, or start the job with its groups, e.g. setpriv --init-groups)"
            ),
            Policy::AllowList { .. } => format!(
                "uid {uid} is not allowed by this agent's allow-list; ask the operator to add it to [system] allow_uids or allow_groups"
            ),
        }
    }
}

/// The policy in force, shared by the accept loop and SIGHUP.
#[derive(Debug)]
pub struct Access {
    policy: RwLock<Arc<Policy>>,
}

impl Access {
    /// Access with `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy: RwLock::new(Arc::new(policy)),
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

    /// Whether `client` may connect.
    pub fn allows(&self, client: &Client) -> bool {
        self.policy().allows(client)
    }
}

#[cfg(unix)]
/// The policy for a configuration: the allow-list in system mode, else the
/// owner rule.
pub fn policy_for(system_mode: bool, cfg: &SystemConfig) -> Result<Policy, AllowListError> {
    if system_mode {
        Policy::allow_list(cfg, &Databases::system()?)
    } else {
        Ok(Policy::Owner {
            uid: rustix::process::geteuid().as_raw(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::peer::Peer;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        alice:x:1000:1000::/home/alice:/bin/sh\n\
        bob:x:1001:1001::/home/bob:/bin/sh\n\
        carol:x:1002:2000::/home/carol:/bin/sh\n\
        mallory:x:1003:1003::/home/m:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nalice:x:1000:\nbob:x:1001:\nci:x:2000:bob\nmallory:x:1003:\n";

    fn client(uid: u32, gid: u32) -> Client {
        Client::unpinned(Peer {
            uid,
            gid,
            pid: None,
        })
    }

    fn cfg(text: &str) -> SystemConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn allow_list_by_uid_and_held_group_only() -> Result<(), AllowListError> {
        let db = Databases::parse(PASSWD, GROUP);
        let p = Policy::allow_list(
            &cfg("allow_groups = [\"ci\"]\nallow_uids = [\"alice\"]"),
            &db,
        )?;
        assert!(p.allows(&client(0, 0)), "root");
        assert!(p.allows(&client(1000, 1000)), "alice by uid");
        assert!(p.allows(&client(5000, 2000)), "a process whose gid is ci");
        assert!(
            p.allows(&client(1002, 2000)),
            "carol: primary group ci, held"
        );
        // bob is listed in /etc/group, but this process holds only 1001.
        assert!(!p.allows(&client(1001, 1001)), "bob without the group");
        assert!(p.refusal(1001).contains("does not hold that group"));
        assert!(!p.allows(&client(1003, 1003)), "mallory");
        assert!(p.refusal(1003).contains("ask the operator"));
        Ok(())
    }

    #[test]
    fn empty_allow_list_is_root_only() -> Result<(), AllowListError> {
        let db = Databases::parse(PASSWD, GROUP);
        let p = Policy::allow_list(&SystemConfig::default(), &db)?;
        assert!(p.allows(&client(0, 0)));
        assert!(!p.allows(&client(1000, 1000)));
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
    }

    #[test]
    fn refusals_say_why_and_whom_to_ask() {
        assert_eq!(
            Policy::Owner { uid: 1000 }.refusal(1004),
            "uid 1004 may not use this agent: it serves only uid 1000 and root; start your own with `signet start`"
        );
        let list = Policy::AllowList {
            uids: BTreeSet::from([1001]),
            gids: BTreeSet::new(),
            listed: BTreeSet::new(),
        };
        assert_eq!(
            list.refusal(1004),
            "uid 1004 is not allowed by this agent's allow-list; ask the operator to add it to [system] allow_uids or allow_groups"
        );
    }

    #[test]
    fn owner_rule() {
        let p = Policy::Owner { uid: 1000 };
        assert!(p.allows(&client(1000, 5)));
        assert!(p.allows(&client(0, 0)));
        assert!(!p.allows(&client(1001, 1000)));
    }
}
