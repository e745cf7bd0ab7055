//! The user and group databases (`/etc/passwd`, `/etc/group`): names to
//! ids, a group's members. Read by the allow-list and by rules that name
//! users or groups.

use std::path::{Path, PathBuf};

use crate::config::Principal;

/// Why the databases could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}", path.display())]
pub struct AccountsError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: std::io::Error,
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
    pub fn system() -> Result<Self, AccountsError> {
        Self::from_files(Path::new("/etc/passwd"), Path::new("/etc/group"))
    }

    /// Reads the given passwd and group files.
    pub fn from_files(passwd: &Path, group: &Path) -> Result<Self, AccountsError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| AccountsError {
                path: path.to_owned(),
                source,
            })
        };
        Ok(Self::parse(&read(passwd)?, &read(group)?))
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

    /// The groups a fresh login of `uid` would hold (as `initgroups`
    /// gives them): its primary group and every group listing its name.
    pub fn groups_of(&self, uid: u32) -> Vec<u32> {
        let Some(user) = self.users.iter().find(|u| u.uid == uid) else {
            return Vec::new();
        };
        let mut gids = vec![user.gid];
        gids.extend(
            self.groups
                .iter()
                .filter(|g| g.members.contains(&user.name))
                .map(|g| g.gid),
        );
        gids
    }

    /// The uids of a group's members: listed in `/etc/group` or with it as
    /// their primary group in `/etc/passwd`. Membership is not holding the
    /// group: this only explains refusals.
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
