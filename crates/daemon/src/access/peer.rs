//! Who is on the other end of a connection: the peer's credentials from the
//! kernel (SO_PEERCRED), and for prompts and logs, its executable and the
//! chain of parent processes (Linux `/proc`).

use std::fmt;

use signet_proto::text::escape;

/// The process that connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
    /// Process id, when the platform reports it.
    pub pid: Option<i32>,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "uid {} pid {}", self.uid, pid),
            None => write!(f, "uid {}", self.uid),
        }
    }
}

impl Peer {
    /// Reads the peer's credentials from a connected socket.
    #[cfg(unix)]
    pub fn of(stream: &tokio::net::UnixStream) -> std::io::Result<Self> {
        let cred = stream.peer_cred()?;
        Ok(Self {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
        })
    }

    /// A one-line description for prompts: pid, executable, parent chain
    /// (executable paths escaped: a process chooses its own).
    pub fn describe(&self) -> String {
        let Some(pid) = self.pid else {
            return format!("uid {}", self.uid);
        };
        let mut chain = Vec::new();
        let mut cur = pid;
        // Four ancestors are enough to show "python ← bash ← sshd"; stop at init.
        for _ in 0..5 {
            chain.push(format!("{} ({})", escape(&exe_name(cur)), cur));
            match parent_of(cur) {
                Some(p) if p > 1 => cur = p,
                _ => break,
            }
        }
        format!("uid {}: {}", self.uid, chain.join(" ← "))
    }
}

/// The executable of a process, or `?` when it cannot be read.
pub fn exe_name(pid: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn parent_of(pid: i32) -> Option<i32> {
    ppid_from_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The parent pid in a `/proc/PID/stat` line. The command name is in
/// parentheses and may itself contain spaces and parentheses; the fields
/// after the *last* `)` are: state, ppid, …
fn ppid_from_stat(stat: &str) -> Option<i32> {
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_pid_is_read_past_a_hostile_command_name() {
        assert_eq!(ppid_from_stat("42 (bash) S 7 42 42 0 -1"), Some(7));
        assert_eq!(ppid_from_stat("42 (a) b) (c) R 1234 42 42"), Some(1234));
        assert_eq!(ppid_from_stat("42 (no close paren S 7"), None);
        assert_eq!(ppid_from_stat("42 (x) S"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn describes_this_process_and_its_parent() {
        let pid = std::process::id() as i32;
        let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
        // The kernel's answer, not a fallback: this fails if parsing breaks.
        assert_eq!(parent_of(pid), Some(ppid));
        let me = Peer {
            uid: 0,
            gid: 0,
            pid: Some(pid),
        };
        let d = me.describe();
        assert!(
            d.starts_with(&format!("uid 0: {} ({pid})", escape(&exe_name(pid)))),
            "{d}"
        );
        if ppid > 1 {
            // The parent is the next link of the chain.
            assert!(
                d.contains(&format!(" ← {} ({ppid})", escape(&exe_name(ppid)))),
                "{d}"
            );
        }
    }
}
