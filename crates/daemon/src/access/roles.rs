//! Who may change the agent: the two roles of a caller it serves.
//!
//! - **admin**: add and remove keys, lock and unlock, stop the daemon, and
//!   every change to the key store (generate, import, load, unload,
//!   rename, delete, doctor);
//! - **signer**: sign (as each key's rule allows), list, status, explain,
//!   query.
//!
//! In user mode the agent serves only its owner and root, and both are
//! admins. In system mode (`signetd --system`) root and the callers named
//! by `[system] admin_uids` / `admin_groups` are admins; everyone else the
//! allow-list lets in is a signer. Group membership is decided as for the
//! allow-list: the groups the connecting process holds — its gid at
//! `connect`, or its supplementary groups, read through its pidfd for the
//! request (only for an admin operation, never on the signing path). Being
//! listed in `/etc/group` makes nobody an admin.
//!
//! This module says what a caller is; the gate (`dispatch`) decides what
//! that caller may do.

use std::collections::BTreeSet;

use crate::access::accounts::Databases;
use crate::access::allow::AllowListError;
use crate::access::caller::Caller;
use crate::config::SystemConfig;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// Sign, list, status, explain, query.
    Signer,
}

/// Who is an admin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Roles {
    /// User mode: everyone the agent serves (its owner and root).
    #[default]
    Owner,
    /// System mode: root, and these uids and processes holding these groups.
    System {
        /// Admin uids.
        uids: BTreeSet<u32>,
        /// Admin gids (the caller's primary gid or its process's groups).
        gids: BTreeSet<u32>,
    },
}

impl Roles {
    /// System mode's admins from `[system] admin_uids` / `admin_groups`;
    /// every name must resolve.
    pub fn system(cfg: &SystemConfig, db: &Databases) -> Result<Self, AllowListError> {
        let mut uids = BTreeSet::new();
        let mut gids = BTreeSet::new();
        for u in &cfg.admin_uids {
            uids.insert(db.uid_of(u).ok_or_else(|| AllowListError::UnknownUser {
                setting: "admin_uids",
                user: u.clone(),
            })?);
        }
        for g in &cfg.admin_groups {
            let gid = db.gid_of(g).ok_or_else(|| AllowListError::UnknownGroup {
                setting: "admin_groups",
                group: g.clone(),
            })?;
            gids.insert(gid);
        }
        Ok(Roles::System { uids, gids })
    }

    /// The roles for a mode: system mode's admins, or the owner rule.
    pub fn for_mode(system_mode: bool, cfg: &SystemConfig) -> Result<Self, AllowListError> {
        if system_mode {
            Self::system(cfg, &Databases::system()?)
        } else {
            Ok(Roles::Owner)
        }
    }

    /// The role of a caller the agent serves.
    pub fn role_of(&self, caller: &Caller) -> Role {
        let peer = &caller.peer;
        let admin = peer.uid == 0
            || match self {
                Roles::Owner => true,
                Roles::System { uids, gids } => uids.contains(&peer.uid) || caller.holds_any(gids),
            };
        if admin {
            Role::Admin
        } else {
            Role::Signer
        }
    }

    /// A short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Roles::Owner => "the owner and root".to_owned(),
            Roles::System { uids, gids } if uids.is_empty() && gids.is_empty() => {
                "root only".to_owned()
            }
            Roles::System { uids, gids } => format!(
                "root, uids {:?}, gids {:?}",
                uids.iter().collect::<Vec<_>>(),
                gids.iter().collect::<Vec<_>>()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::peer::Peer;

    const PASSWD: &str = "root:x:0:0::/root:/bin/sh\nops:x:1000:1000::/:/bin/sh\n\
        job:x:1001:1001::/:/bin/sh\nlead:x:1002:1002::/:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nops:x:1000:\njob:x:1001:\nsigadm:x:3000:lead\n";

    fn caller(uid: u32, gid: u32) -> Caller {
        Caller::without_process(Peer {
            uid,
            gid,
            pid: None,
        })
    }

    #[test]
    fn system_admins_are_root_and_the_named_uids_and_groups() -> Result<(), AllowListError> {
        let db = Databases::parse(PASSWD, GROUP);
        let cfg: SystemConfig = toml::from_str(
            "allow_groups = [\"job\"]\nadmin_uids = [\"ops\"]\nadmin_groups = [\"sigadm\"]",
        )
        .unwrap_or_default();
        let roles = Roles::system(&cfg, &db)?;
        assert_eq!(roles.role_of(&caller(0, 0)), Role::Admin, "root");
        assert_eq!(
            roles.role_of(&caller(1000, 1000)),
            Role::Admin,
            "ops by uid"
        );
        // lead is listed in sigadm, but this process holds only 1002.
        assert_eq!(
            roles.role_of(&caller(1002, 1002)),
            Role::Signer,
            "lead: listed, not held"
        );
        assert_eq!(
            roles.role_of(&caller(5000, 3000)),
            Role::Admin,
            "gid sigadm"
        );
        assert_eq!(roles.role_of(&caller(1001, 1001)), Role::Signer, "job");
        // An empty list: root only.
        let none = Roles::system(&SystemConfig::default(), &db)?;
        assert_eq!(none.role_of(&caller(1000, 1000)), Role::Signer);
        assert_eq!(none.role_of(&caller(0, 0)), Role::Admin);
        // User mode: everyone served is an admin.
        assert_eq!(Roles::Owner.role_of(&caller(1001, 1001)), Role::Admin);
        Ok(())
    }

    #[test]
    fn unknown_admin_names_are_errors_naming_the_setting() {
        let db = Databases::parse(PASSWD, GROUP);
        for (text, needle) in [
            ("admin_uids = [\"nosuch\"]", "admin_uids"),
            ("admin_groups = [\"nosuchg\"]", "admin_groups"),
        ] {
            let cfg: SystemConfig = toml::from_str(text).unwrap_or_default();
            let e = Roles::system(&cfg, &db)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
