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
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces; fields after
    // the last ')' are: state, ppid, …
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_this_process_and_its_parent() {
        let me = Peer {
            uid: 0,
            gid: 0,
            pid: Some(std::process::id() as i32),
        };
        let d = me.describe();
        assert!(d.contains(&format!("({})", std::process::id())), "{d}");
        assert!(d.contains('←') || parent_of(std::process::id() as i32).unwrap_or(1) <= 1);
    }
}
