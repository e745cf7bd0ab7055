//! Process hardening at start-up: no core dumps, no ptrace by same-uid
//! processes (Linux `PR_SET_DUMPABLE` 0, which also makes `/proc/PID/mem`
//! unreadable to them).
//!
//! Uses rustix's safe wrappers, so this module needs no `unsafe`. Failures
//! are logged, not fatal: an agent that runs is better than none, and the log
//! says what protection is missing.

use tracing::{debug, warn};

/// Applies every protection this platform supports.
pub fn apply() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{set_dumpable_behavior, DumpableBehavior};
        match set_dumpable_behavior(DumpableBehavior::NotDumpable) {
            Ok(()) => debug!("ptrace and core dumps disabled (PR_SET_DUMPABLE 0)"),
            Err(e) => warn!("cannot disable ptrace attach (PR_SET_DUMPABLE): {e}"),
        }
    }
    #[cfg(unix)]
    {
        use rustix::process::{setrlimit, Resource, Rlimit};
        let zero = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        if let Err(e) = setrlimit(Resource::Core, zero) {
            warn!("cannot disable core dumps (RLIMIT_CORE): {e}");
        }
    }
}
