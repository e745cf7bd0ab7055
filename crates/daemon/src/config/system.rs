//! `[system]`: who may use a system-mode agent (`signetd --system`).

use serde::Deserialize;

/// A user or group named by number or by name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// A numeric id.
    Id(u32),
    /// A name (or a number written as a string).
    Name(String),
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::Id(n) => write!(f, "{n}"),
            Principal::Name(s) => write!(f, "{s:?}"),
        }
    }
}

/// `[system]`: who may use a system-mode agent, and who administers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    /// Users allowed, by uid or user name.
    pub allow_uids: Vec<Principal>,
    /// Groups whose members are allowed, by gid or group name.
    pub allow_groups: Vec<Principal>,
    /// Users who administer the agent (add, remove, lock, unlock, stop,
    /// change the key store) besides root, by uid or user name; they may
    /// connect whether or not the allow-list names them. Everyone else the
    /// agent serves is a signer.
    pub admin_uids: Vec<Principal>,
    /// Groups whose members administer the agent, by gid or group name.
    pub admin_groups: Vec<Principal>,
    /// When signetd creates the socket itself (not socket-activated): the
    /// group that owns it, and it is made 0660; without it the socket is made
    /// 0666 (the allow-list is the control either way).
    pub socket_group: Option<Principal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<SystemConfig>("allow_group = [\"ci\"]").is_err());
        let c: SystemConfig = toml::from_str("allow_uids = [1000, \"alice\"]").unwrap_or_default();
        assert_eq!(
            c.allow_uids,
            vec![Principal::Id(1000), Principal::Name("alice".into())]
        );
    }
}
