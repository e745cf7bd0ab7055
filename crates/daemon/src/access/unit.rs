//! Which systemd unit a process belongs to, from its full cgroup path.
//!
//! systemd puts every process of a unit in the unit's cgroup, under the
//! slices that hold the unit, from the root of the hierarchy:
//!
//! ```text
//! /system.slice/gitlab-runner.service                     system unit gitlab-runner.service
//! /system.slice/system-getty.slice/getty@tty1.service     system unit getty@tty1.service
//! /ci.slice/runner.service/job-42                         system unit runner.service (a sub-cgroup it made)
//! /user.slice/user-1000.slice/session-3.scope             system unit session-3.scope (a login)
//! /user.slice/user-1000.slice/user@1000.service/app.slice/gitlab-runner.service
//!                                                         system unit user@1000.service,
//!                                                         user unit gitlab-runner.service of uid 1000
//! ```
//!
//! **The system unit** of a path is its first component after the slices
//! at the root (components ending in `.slice`), if that component is a
//! `.service` or `.scope`; what lies below it (a unit with `Delegate=`
//! makes sub-cgroups) belongs to it. Only root can create cgroups outside
//! a delegated subtree, so no other user can put a process in a cgroup
//! that reads as a system unit it is not in. A user manager's units
//! (`systemd-run --user --unit=NAME`, anyone can make one) are below
//! `user@UID.service`: their system unit is `user@UID.service`, never NAME,
//! and NAME is their **user unit** (the first unit after the user
//! manager's own slices). A unit in a container's own systemd is below the
//! container's unit (`machine.slice/…`) and is neither.
//!
//! **Must not**: match rules (that is `policy`).

/// The units a cgroup path belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The system manager's unit (`gitlab-runner.service`,
    /// `user@1000.service`, `session-3.scope`).
    pub system: String,
    /// For a process in a user manager's tree: the user manager's uid and
    /// the user unit (`gitlab-runner.service`).
    pub user: Option<(u32, String)>,
}

impl Unit {
    /// The units of a cgroup path (`/system.slice/a.service/sub`); `None`
    /// when it is in no unit (the root, a slice, something systemd did not
    /// make, or outside signetd's cgroup namespace: `/../…`).
    pub fn of_cgroup(path: &str) -> Option<Self> {
        let mut parts = path.split('/').filter(|c| !c.is_empty());
        let mut slices = Vec::new();
        let system = loop {
            let c = parts.next()?;
            if c.ends_with(".slice") {
                slices.push(c);
            } else if is_process_unit(c) {
                break c;
            } else {
                return None;
            }
        };
        let user = user_manager_uid(&slices, system).and_then(|uid| {
            let unit = parts.find(|c| !c.ends_with(".slice"))?;
            is_process_unit(unit).then(|| (uid, unit.to_owned()))
        });
        Some(Self {
            system: system.to_owned(),
            user,
        })
    }
}

/// A unit that holds processes: a service or a scope.
fn is_process_unit(c: &str) -> bool {
    [".service", ".scope"]
        .iter()
        .any(|suffix| c.strip_suffix(suffix).is_some_and(|stem| !stem.is_empty()))
}

/// The uid of `user@UID.service` directly under `user.slice/user-UID.slice`.
fn user_manager_uid(slices: &[&str], unit: &str) -> Option<u32> {
    let uid: u32 = unit
        .strip_prefix("user@")?
        .strip_suffix(".service")?
        .parse()
        .ok()?;
    let expected = format!("user-{uid}.slice");
    (slices == ["user.slice", expected.as_str()]).then_some(uid)
}

/// Whether `name` (a unit as written in a rule, without `user:`) names
/// `unit`: equal, or a template (`runner@.service`) of which `unit` is an
/// instance (`runner@7.service`).
pub fn names(name: &str, unit: &str) -> bool {
    if name == unit {
        return true;
    }
    let Some((prefix, suffix)) = name.split_once("@.") else {
        return false;
    };
    unit.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('@'))
        .and_then(|rest| rest.strip_suffix(suffix))
        .and_then(|instance| instance.strip_suffix('.'))
        .is_some_and(|instance| !instance.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(path: &str) -> Option<(String, Option<(u32, String)>)> {
        Unit::of_cgroup(path).map(|u| (u.system, u.user))
    }

    fn system(name: &str) -> Option<(String, Option<(u32, String)>)> {
        Some((name.to_owned(), None))
    }

    #[test]
    fn system_units_under_any_root_slice_chain() {
        assert_eq!(
            unit("/system.slice/gitlab-runner.service"),
            system("gitlab-runner.service")
        );
        assert_eq!(
            unit("/system.slice/system-getty.slice/getty@tty1.service"),
            system("getty@tty1.service")
        );
        assert_eq!(
            unit("/ci.slice/runner.service/job-42/x"),
            system("runner.service")
        );
        assert_eq!(unit("/init.scope"), system("init.scope"));
        assert_eq!(
            unit("/user.slice/user-1000.slice/session-3.scope"),
            system("session-3.scope")
        );
    }

    #[test]
    fn a_user_service_is_never_the_system_unit_of_its_name() {
        assert_eq!(
            unit("/user.slice/user-1000.slice/user@1000.service/app.slice/gitlab-runner.service"),
            Some((
                "user@1000.service".to_owned(),
                Some((1000, "gitlab-runner.service".to_owned()))
            ))
        );
        assert_eq!(
            unit("/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.slice/y.scope/z"),
            Some((
                "user@1000.service".to_owned(),
                Some((1000, "y.scope".to_owned()))
            ))
        );
        // The user manager itself.
        assert_eq!(
            unit("/user.slice/user-1000.slice/user@1000.service/init.scope"),
            Some((
                "user@1000.service".to_owned(),
                Some((1000, "init.scope".to_owned()))
            ))
        );
        // A user@ unit anywhere else is not a user manager.
        assert_eq!(
            unit("/user.slice/user-1001.slice/user@1000.service/app.slice/a.service"),
            system("user@1000.service")
        );
        // A container's own units are below the container's unit.
        assert_eq!(
            unit("/machine.slice/libpod-abc.scope/container/system.slice/gitlab-runner.service"),
            system("libpod-abc.scope")
        );
    }

    #[test]
    fn paths_in_no_unit() {
        for path in [
            "/",
            "",
            "/system.slice",
            "/foo/bar.service",
            "/../../system.slice/a.service",
            "/.service",
        ] {
            assert_eq!(unit(path), None, "{path}");
        }
    }

    #[test]
    fn templates_match_their_instances() {
        assert!(names("a.service", "a.service"));
        assert!(names("runner@.service", "runner@7.service"));
        assert!(names("runner@.service", "runner@a.b.service"));
        assert!(!names("runner@.service", "runner@.service.x"));
        assert!(!names("runner@.service", "other@7.service"));
        assert!(!names("runner@.service", "runner@7.scope"));
        assert!(!names("a.service", "b.service"));
    }
}
