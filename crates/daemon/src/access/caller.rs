//! The process asking, for one request: the connection's credentials and
//! the facts rules may ask about — executable, systemd unit, supplementary
//! groups — each read again, through the pidfd pinned at accept
//! ([`crate::access::process`]), the first time a rule of this request
//! needs it, and refused ([`FactError`]) when it is no longer the fact of
//! the process that connected.
//!
//! A fact nobody asks for is not read: a request whose key has no rule on
//! callers costs no `/proc` read at all (the audit record names the
//! executable read at accept).

use std::fmt;
use std::sync::{Arc, OnceLock};

use signet_proto::text::escape;

use crate::access::peer::{Client, Peer, Writer};
use crate::access::process::{Process, Sight, Stale};
use crate::access::unit::Unit;

/// Why a fact of the caller cannot be used by a rule: the end of a sentence
/// "rule R needs the caller's executable, but …" (paths escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactError {
    /// No process is known: the kernel named none (no pid), or it was gone
    /// before the connection was accepted.
    NoProcess,
    /// A dry run (`signet explain --as-uid`) for a process that was not
    /// described (the option that gives the fact is named).
    NotGiven(&'static str),
    /// signetd may not read it: another user's `/proc/PID/exe` needs
    /// `CAP_SYS_PTRACE`.
    CannotSee {
        /// The caller's uid.
        uid: u32,
        /// signetd's.
        euid: u32,
    },
    /// Another process than the one that opened the connection wrote the
    /// request (a child that inherited the connection, or a process it was
    /// passed to).
    OtherWriter {
        /// The writer's pid (0: not visible in signetd's pid namespace).
        pid: i32,
        /// The writer's uid.
        uid: u32,
        /// The pid that connected.
        connected: Option<i32>,
    },
    /// The request's bytes came from more than one process.
    MixedWriters,
    /// The process that connected is not what it was.
    Stale {
        /// Its pid.
        pid: i32,
        /// Its executable at accept, if known.
        was: Option<Arc<str>>,
        /// What changed.
        why: Stale,
    },
}

impl fmt::Display for FactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactError::NoProcess => f.write_str(
                "no process is known for this connection (the kernel named none, or it exited before the connection was accepted)",
            ),
            FactError::NotGiven(option) => write!(f, "it was not given ({option})"),
            FactError::OtherWriter { pid, uid, connected } => {
                let by = match connected {
                    Some(c) => format!("pid {c}"),
                    None => "a process signetd cannot name".to_owned(),
                };
                write!(
                    f,
                    "this request was written by pid {pid} (uid {uid}), not by the process that opened the connection ({by}): a connection is judged by the process that opened it, so connect from the process that signs"
                )
            }
            FactError::MixedWriters => f.write_str(
                "this request's bytes were written by more than one process: a connection is judged by the process that opened it",
            ),
            FactError::CannotSee { uid, euid } => write!(
                f,
                "this agent cannot see callers' executables: signetd runs as uid {euid} without CAP_SYS_PTRACE, so /proc/PID/exe of uid {uid}'s processes is unreadable to it (see docs/service-accounts.md)"
            ),
            FactError::Stale { pid, was, why } => {
                let who = match was {
                    Some(exe) => format!("the process that connected (pid {pid}, {})", escape(exe)),
                    None => format!("the process that connected (pid {pid})"),
                };
                match why {
                    Stale::Exited => write!(
                        f,
                        "{who} has exited: a connection is judged by the process that opened it, not by one it was passed to"
                    ),
                    Stale::Executed { now: Some(now) } => write!(
                        f,
                        "{who} has since executed {}: a connection is judged by the program that opened it",
                        escape(now)
                    ),
                    Stale::Executed { now: None } => write!(
                        f,
                        "{who} has since executed another program: a connection is judged by the program that opened it"
                    ),
                    Stale::Moved { now } => write!(
                        f,
                        "{who} has moved to cgroup {} since it connected",
                        now.as_deref().map_or_else(|| "(none)".to_owned(), escape)
                    ),
                    Stale::OtherUid => write!(f, "{who} runs as another uid than it connected as"),
                    Stale::UserNamespace => write!(
                        f,
                        "{who} runs in another user namespace, where a process may rename its own executable (prctl PR_SET_MM_MAP): its /proc/PID/exe proves nothing"
                    ),
                    Stale::Unreadable(kind) => {
                        write!(f, "signetd cannot read it for {who} ({kind})")
                    }
                }
            }
        }
    }
}

/// Which process asked, precisely enough to remember a confirmation for it
/// (`confirm_remember`): its pid, its start time (a recycled pid is
/// another process) and its executable (an `exec` is another program).
/// From the pidfd pinned at accept, checked again when asked for
/// ([`Caller::process_identity`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessIdentity {
    /// Its pid.
    pub pid: i32,
    /// Its start time in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start_time: u64,
    /// Its executable (`/proc/PID/exe`) at accept.
    pub exe: Arc<str>,
}

impl ProcessIdentity {
    /// An identity from given facts (unit tests).
    pub fn for_test(pid: i32, start_time: u64, exe: &str) -> Self {
        Self {
            pid,
            start_time,
            exe: exe.into(),
        }
    }
}

/// The process asking: the connection's credentials and its process's
/// facts, each read (and checked against accept) on first use.
pub struct Caller {
    /// Kernel credentials of the connection (SO_PEERCRED, at `connect`).
    pub peer: Peer,
    process: Option<Arc<Process>>,
    /// Who wrote this request.
    writer: Writer,
    sight: Sight,
    /// A dry run's given facts, replacing what `/proc` would say.
    given: Option<Given>,
    /// The executable of a writer that is not the connecting process, read
    /// when first asked for (records and prompts only).
    writer_exe: OnceLock<Option<Arc<str>>>,
    exe: OnceLock<Result<Arc<str>, FactError>>,
    unit: OnceLock<Result<Option<UnitAt>, FactError>>,
    groups: OnceLock<Result<Vec<u32>, FactError>>,
}

/// A unit and the cgroup path it was read from.
type UnitAt = (Arc<str>, Unit);

/// What a dry run says about a caller (`signet explain --as-…`).
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// `--as-exe`.
    pub exe: Option<String>,
    /// `--as-unit`: a system unit `NAME`, `user:NAME`, or a cgroup path.
    pub unit: Option<String>,
    /// The supplementary groups assumed (another uid: its groups in the
    /// group database, as a fresh login would hold them).
    pub groups: Option<Vec<u32>>,
}

impl Caller {
    /// The caller of one request on `client`'s connection, written by
    /// `writer`.
    pub fn new(client: &Client, writer: Writer, sight: Sight) -> Self {
        Self {
            peer: client.peer,
            process: client.process.clone(),
            writer,
            sight,
            given: None,
            writer_exe: OnceLock::new(),
            exe: OnceLock::new(),
            unit: OnceLock::new(),
            groups: OnceLock::new(),
        }
    }

    /// A caller known only by its credentials (no process: every rule on
    /// process facts refuses it).
    pub fn without_process(peer: Peer) -> Self {
        Self::new(
            &Client {
                peer,
                process: None,
            },
            Writer::Untracked,
            Sight::default(),
        )
    }

    /// A dry run (`explain@signet`): `given` replaces what `/proc` would
    /// say; a fact not given comes from `base`'s process when `peer` is
    /// `base`'s own, and is unknown for another uid.
    pub fn dry_run(base: &Caller, peer: Peer, given: Given) -> Self {
        let own = peer.uid == base.peer.uid;
        Self {
            peer,
            process: if own { base.process.clone() } else { None },
            // A dry run describes a caller; nobody wrote its request.
            writer: Writer::Untracked,
            sight: base.sight,
            given: Some(given),
            writer_exe: OnceLock::new(),
            exe: OnceLock::new(),
            unit: OnceLock::new(),
            groups: OnceLock::new(),
        }
    }

    /// The process pinned at accept, if any.
    pub fn process(&self) -> Option<&Process> {
        self.process.as_deref()
    }

    /// What signetd can see of its callers.
    pub fn sight(&self) -> Sight {
        self.sight
    }

    /// Who wrote this request.
    pub fn writer(&self) -> Writer {
        self.writer
    }

    /// The other process that wrote this request, if it was not the one
    /// that connected.
    fn other_writer(&self) -> Option<(i32, u32)> {
        match self.writer {
            Writer::Process { pid, uid } if Some(pid) != self.peer.pid || pid == 0 => {
                Some((pid, uid))
            }
            _ => None,
        }
    }

    /// The request is the connecting process's own: written by it (or its
    /// writer is not tracked). Rules on callers require it.
    pub fn written_by_connector(&self) -> Result<(), FactError> {
        match self.writer {
            Writer::Mixed => Err(FactError::MixedWriters),
            _ => match self.other_writer() {
                Some((pid, uid)) => Err(FactError::OtherWriter {
                    pid,
                    uid,
                    connected: self.peer.pid,
                }),
                None => Ok(()),
            },
        }
    }

    /// The pid for records: the request's writer when known, else the
    /// connection's.
    pub fn pid(&self) -> Option<i32> {
        match self.other_writer() {
            Some((pid, _)) => Some(pid),
            None => self.peer.pid,
        }
    }

    /// The caller's executable for records and prompts: given (dry run),
    /// the executable of another process that wrote the request (read now,
    /// when first asked), or the connecting process's at accept. Not a
    /// rule's fact: see [`Caller::checked_exe`].
    pub fn exe(&self) -> Option<&str> {
        if let Some(exe) = self.given.as_ref().and_then(|g| g.exe.as_deref()) {
            return Some(exe);
        }
        if self.other_writer().is_some() {
            return self.writer_exe().as_deref();
        }
        self.process()?.exe().map(|e| &**e)
    }

    /// The same, shared (the audit log's events keep it without a copy).
    pub fn exe_shared(&self) -> Option<Arc<str>> {
        if let Some(exe) = self.given.as_ref().and_then(|g| g.exe.as_deref()) {
            return Some(exe.into());
        }
        if self.other_writer().is_some() {
            return self.writer_exe().clone();
        }
        self.process()?.exe().cloned()
    }

    /// The executable of another process that wrote the request, read
    /// through a pidfd on its pid (best effort: it may have exited).
    fn writer_exe(&self) -> &Option<Arc<str>> {
        self.writer_exe.get_or_init(|| {
            let (pid, uid) = self.other_writer()?;
            let writer = Peer {
                uid,
                gid: u32::MAX,
                pid: Some(pid),
            };
            Process::by_pid(&writer).ok()?.exe().cloned()
        })
    }

    fn stale(&self, p: &Process, why: Stale) -> FactError {
        if matches!(why, Stale::Unreadable(_)) && !self.sight.sees_exe_of(self.peer.uid) {
            return FactError::CannotSee {
                uid: self.peer.uid,
                euid: self.sight.euid,
            };
        }
        FactError::Stale {
            pid: p.pid(),
            was: p.exe().cloned(),
            why,
        }
    }

    /// The caller's executable for a rule: the one the connecting process
    /// ran at accept, read again now and unchanged (no `exec` since).
    pub fn checked_exe(&self) -> Result<&str, &FactError> {
        self.exe
            .get_or_init(|| {
                if let Some(given) = &self.given {
                    if let Some(exe) = &given.exe {
                        // A dry run judges with the daemon's real abilities:
                        // an executable it could not read is not "given".
                        if !self.sight.sees_exe_of(self.peer.uid) {
                            return Err(FactError::CannotSee {
                                uid: self.peer.uid,
                                euid: self.sight.euid,
                            });
                        }
                        return Ok(exe.as_str().into());
                    }
                    if self.process.is_none() {
                        return Err(FactError::NotGiven("--as-exe"));
                    }
                }
                let p = self.process().ok_or(FactError::NoProcess)?;
                if p.exe().is_none() && !self.sight.sees_exe_of(self.peer.uid) {
                    return Err(FactError::CannotSee {
                        uid: self.peer.uid,
                        euid: self.sight.euid,
                    });
                }
                p.exe_now().map_err(|why| self.stale(p, why))
            })
            .as_deref()
    }

    /// The caller's systemd unit for a rule, with the cgroup path it was
    /// read from: the cgroup of the connecting process at accept, read
    /// again now and unchanged. `Ok(None)`: in no unit.
    pub fn checked_unit(&self) -> Result<Option<(&str, &Unit)>, &FactError> {
        self.unit
            .get_or_init(|| {
                if let Some(given) = &self.given {
                    if let Some(spec) = &given.unit {
                        return Ok(given_unit(spec, self.peer.uid));
                    }
                    if self.process.is_none() {
                        return Err(FactError::NotGiven("--as-unit"));
                    }
                }
                let p = self.process().ok_or(FactError::NoProcess)?;
                let path = p.cgroup_now().map_err(|why| self.stale(p, why))?;
                Ok(path.and_then(|path| Some((path.clone(), Unit::of_cgroup(&path)?))))
            })
            .as_ref()
            .map(|u| u.as_ref().map(|(path, unit)| (&**path, unit)))
    }

    /// The supplementary groups the connecting process holds now (and held
    /// at accept), for a rule or a role. Not `/etc/group`: membership there
    /// counts only once a process holds the group.
    pub fn checked_groups(&self) -> Result<&[u32], &FactError> {
        self.groups
            .get_or_init(|| {
                if let Some(groups) = self.given.as_ref().and_then(|g| g.groups.clone()) {
                    return Ok(groups);
                }
                let p = self.process().ok_or(FactError::NoProcess)?;
                p.groups_now().map_err(|why| self.stale(p, why))
            })
            .as_deref()
    }

    /// Whether the caller holds one of `gids`: the connection's gid (its
    /// effective gid at `connect`) or a supplementary group of its process.
    pub fn holds_any(&self, gids: &std::collections::BTreeSet<u32>) -> bool {
        gids.contains(&self.peer.gid)
            || (!gids.is_empty()
                && self
                    .checked_groups()
                    .is_ok_and(|g| g.iter().any(|g| gids.contains(g))))
    }

    /// Which process this is, checked now (see [`ProcessIdentity`]): `None`
    /// when none was pinned, its executable was unreadable, or it has
    /// exited or executed anything since it connected.
    pub fn process_identity(&self) -> Option<ProcessIdentity> {
        self.written_by_connector().ok()?;
        let p = self.process()?;
        let exe = p.exe()?.clone();
        p.same_image().ok()?;
        Some(ProcessIdentity {
            pid: p.pid(),
            start_time: p.image().start_time,
            exe,
        })
    }

    /// A one-line description for prompts: uid, the connecting process
    /// (its executable at accept, and what has become of it since), up to
    /// four parents (read now; for orientation only). Every path escaped.
    pub fn describe(&self) -> String {
        let described = self.describe_connector();
        match self.writer {
            Writer::Mixed => format!("several processes, over a connection opened by {described}"),
            _ => match self.other_writer() {
                Some((pid, uid)) => format!(
                    "pid {pid} (uid {uid}, {}), over a connection opened by {described}",
                    self.exe().map_or_else(|| "?".to_owned(), escape)
                ),
                None => described,
            },
        }
    }

    /// The process that opened the connection, for [`Caller::describe`].
    fn describe_connector(&self) -> String {
        let Some(p) = self.process() else {
            return match self.peer.pid {
                Some(pid) => format!(
                    "uid {}: pid {pid} (gone before it was accepted)",
                    self.peer.uid
                ),
                None => format!("uid {}", self.peer.uid),
            };
        };
        let exe = p.exe().map_or_else(|| "?".to_owned(), |e| escape(e));
        let mut chain = vec![format!("{exe} ({})", p.pid())];
        let since = match p.same_image() {
            Ok(()) => String::new(),
            Err(Stale::Executed { now }) => format!(
                "; that process has since executed {}, so the request may come from another process holding its connection",
                now.as_deref().map_or_else(|| "another program".to_owned(), escape)
            ),
            Err(_) => "; that process has since exited, so the request comes from another process holding its connection".to_owned(),
        };
        let mut cur = p.pid();
        // Four ancestors are enough to show "python ← bash ← sshd"; stop at init.
        for _ in 0..4 {
            match parent_of(cur) {
                Some(parent) if parent > 1 => {
                    chain.push(format!("{} ({parent})", escape(&exe_name(parent))));
                    cur = parent;
                }
                _ => break,
            }
        }
        format!("uid {}: {}{since}", self.peer.uid, chain.join(" ← "))
    }
}

/// A unit as `signet explain --as-unit` gives it: `NAME` is the system
/// unit NAME, `user:NAME` the caller's own user unit NAME, and a cgroup
/// path (`/user.slice/…`) is read as a process's would be.
fn given_unit(spec: &str, uid: u32) -> Option<UnitAt> {
    if spec.starts_with('/') {
        return Some((Arc::from(spec), Unit::of_cgroup(spec)?));
    }
    let unit = match spec.strip_prefix("user:") {
        Some(name) => Unit {
            system: format!("user@{uid}.service"),
            user: Some((uid, name.to_owned())),
        },
        None => Unit {
            system: spec.strip_prefix("system:").unwrap_or(spec).to_owned(),
            user: None,
        },
    };
    Some((Arc::from(format!("(given: {spec})")), unit))
}

/// The executable of a process, or `?` when it cannot be read (a parent,
/// for orientation in a prompt: not a pinned fact).
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
    fn me() -> Client {
        let peer = Peer {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            pid: Some(std::process::id() as i32),
        };
        Client::pin(peer)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_pinned_and_described() {
        let client = me();
        let c = Caller::new(&client, Writer::Untracked, Sight::of_this_process());
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        assert_eq!(c.exe(), Some(exe.as_str()));
        assert_eq!(c.checked_exe(), Ok(exe.as_str()));
        let pid = std::process::id() as i32;
        let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
        // The kernel's answer, not a fallback: this fails if parsing breaks.
        assert_eq!(parent_of(pid), Some(ppid));
        let d = c.describe();
        assert!(
            d.starts_with(&format!("uid {}: {} ({pid})", c.peer.uid, escape(&exe))),
            "{d}"
        );
        if ppid > 1 {
            assert!(
                d.contains(&format!(" ← {} ({ppid})", escape(&exe_name(ppid)))),
                "{d}"
            );
        }
        let id = c.process_identity();
        assert_eq!(id.as_ref().map(|i| &*i.exe), Some(exe.as_str()));
        assert!(id.is_some_and(|i| i.pid == pid && i.start_time > 0));
    }

    #[test]
    fn a_request_written_by_another_process_is_not_the_connector_s() {
        let client = Client::unpinned(Peer {
            uid: 1000,
            gid: 1000,
            pid: Some(41),
        });
        let own = Caller::new(
            &client,
            Writer::Process { pid: 41, uid: 1000 },
            Sight::default(),
        );
        assert_eq!(own.written_by_connector(), Ok(()));
        assert_eq!(own.pid(), Some(41));
        let child = Caller::new(
            &client,
            Writer::Process { pid: 42, uid: 1000 },
            Sight::default(),
        );
        assert_eq!(
            child.written_by_connector(),
            Err(FactError::OtherWriter {
                pid: 42,
                uid: 1000,
                connected: Some(41)
            })
        );
        assert_eq!(child.pid(), Some(42), "records name the writer");
        assert!(child.process_identity().is_none());
        assert!(
            child
                .describe()
                .starts_with("pid 42 (uid 1000, ?), over a connection opened by uid 1000"),
            "{}",
            child.describe()
        );
        let mixed = Caller::new(&client, Writer::Mixed, Sight::default());
        assert_eq!(mixed.written_by_connector(), Err(FactError::MixedWriters));
        let untracked = Caller::new(&client, Writer::Untracked, Sight::default());
        assert_eq!(untracked.written_by_connector(), Ok(()));
    }

    #[test]
    fn without_a_process_every_fact_is_refused() {
        let c = Caller::without_process(Peer {
            uid: 5,
            gid: 5,
            pid: None,
        });
        assert_eq!(c.checked_exe(), Err(&FactError::NoProcess));
        assert_eq!(c.checked_unit().err(), Some(&FactError::NoProcess));
        assert_eq!(c.checked_groups().err(), Some(&FactError::NoProcess));
        assert!(c.process_identity().is_none());
        assert_eq!(c.describe(), "uid 5");
    }

    #[test]
    fn a_dry_run_judges_with_the_daemon_s_real_sight() {
        let base = Caller::without_process(Peer {
            uid: 1000,
            gid: 1000,
            pid: None,
        });
        let blind = Caller {
            sight: Sight {
                euid: 1000,
                other_users_exe: false,
            },
            ..base
        };
        let other = Peer {
            uid: 1001,
            gid: 1001,
            pid: None,
        };
        let given = Given {
            exe: Some("/usr/bin/python3".into()),
            unit: Some("user:job.service".into()),
            groups: Some(vec![7]),
        };
        let c = Caller::dry_run(&blind, other, given.clone());
        assert_eq!(
            c.checked_exe(),
            Err(&FactError::CannotSee {
                uid: 1001,
                euid: 1000
            })
        );
        let unit = c.checked_unit().ok().flatten().map(|(_, u)| u.clone());
        assert_eq!(
            unit,
            Some(Unit {
                system: "user@1001.service".into(),
                user: Some((1001, "job.service".into()))
            })
        );
        assert_eq!(c.checked_groups(), Ok(&[7][..]));
        // Its own uid's executable it can see.
        let mine = Caller::dry_run(
            &blind,
            Peer {
                uid: 1000,
                gid: 1000,
                pid: None,
            },
            given,
        );
        assert_eq!(mine.checked_exe(), Ok("/usr/bin/python3"));
        // Not given, for another uid: unknown, and says which option.
        let bare = Caller::dry_run(&blind, other, Given::default());
        assert_eq!(bare.checked_exe(), Err(&FactError::NotGiven("--as-exe")));
    }

    #[test]
    fn fact_errors_escape_what_a_process_chose() {
        let e = FactError::Stale {
            pid: 42,
            was: Some("/tmp/x\nRequested by uid 0".into()),
            why: Stale::Executed {
                now: Some("/usr/bin/sleep\u{1b}[2K".into()),
            },
        };
        let text = e.to_string();
        assert_eq!(
            text,
            "the process that connected (pid 42, /tmp/x\\nRequested by uid 0) has since executed /usr/bin/sleep\\u{1b}[2K: a connection is judged by the program that opened it"
        );
    }
}
