//! Where the agent's socket and files live, and whether the socket's
//! directory can be trusted, decided the same way by every party.
//!
//! The files ([`config_file`], [`index_file`], [`audit_log`],
//! [`daemon_log`]) follow the XDG rule as the socket does: a variable that
//! is empty or relative counts as unset.
//!
//! Pure: the caller passes in the environment it read and, for the directory
//! check, a [`Lookup`] that does the `lstat`s, so that the daemon, the CLI and
//! the Rust client cannot disagree on the rule (the Python adapter,
//! `python/signet_encord/agent.py`, implements the same rule and is tested
//! against the same cases).
//!
//! ## The default socket path
//!
//! 1. `$SIGNET_AUTH_SOCK`, if set;
//! 2. else `$XDG_RUNTIME_DIR/signet/agent.sock` (a per-user directory the
//!    login manager creates, 0700, on tmpfs);
//! 3. else `$XDG_STATE_HOME/signet/run/agent.<host>.sock`, with
//!    `$XDG_STATE_HOME` defaulting to `$HOME/.local/state`.
//!
//! Step 3 is a directory under the user's own home, as gpg-agent falls back
//! to `~/.gnupg`: no other user can create it first. It is a directory of its
//! own (`run/`, 0700), apart from the log and audit files next to it, so
//! that its mode is signetd's alone to set. A predictable name in
//! the shared temporary directory (`/tmp/signet-<uid>`, what signet used
//! before) can be pre-created by anyone, and whoever owns the directory can
//! move the real socket aside and relay. `<host>` (the kernel's node name,
//! characters other than `A-Z a-z 0-9 . _ -` replaced by `_`) keeps two
//! machines that share a home directory over NFS from replacing each other's
//! socket as "stale". Empty and relative values count as unset (the XDG
//! rule). Every path must fit in a Unix socket address ([`MAX_SOCKET_PATH`]).
//!
//! ## A directory the agent can vouch for
//!
//! [`check_dir`] walks a socket's directory from `/` with `lstat`, component
//! by component:
//!
//! - every directory *above* it must not let anyone else replace what is in
//!   it: owned by the user or root, and if group or others may write to it,
//!   sticky (as `/tmp` is);
//! - a symbolic link above it is followed only if it is owned by the user or
//!   root (it sits in a directory already checked, so nobody else can swap
//!   it); its target is checked the same way;
//! - the socket's directory itself must be a real directory (never a link),
//!   owned by the user, with no group or other permission (`mode & 077 == 0`)
//!   — or, for a system agent that others must reach ([`Sharing::Shared`]),
//!   not writable by others unless sticky; or, at a path the user named
//!   ([`Sharing::Chosen`]: `--socket`, `$SIGNET_AUTH_SOCK`, `[agent]
//!   socket`), owned by the user and writable by nobody else, as `ssh-agent
//!   -a` binds in any directory of the user's (others may look in; they
//!   still cannot connect to the 0600 socket, and the agent checks every
//!   peer's uid).
//!
//! This is OpenSSH's `safe_path` and gpg-agent's socket directory check, with
//! sticky directories allowed above the socket's own directory.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Environment variable that names the socket for every signet client.
pub const SOCKET_ENV: &str = "SIGNET_AUTH_SOCK";

/// File name of the socket inside its directory (under `$XDG_RUNTIME_DIR`).
pub const SOCKET_NAME: &str = "agent.sock";

/// The longest socket path the kernel accepts: `sun_path` less its NUL
/// (108 bytes on Linux, 104 on macOS and the BSDs).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const MAX_SOCKET_PATH: usize = 107;
/// The longest socket path the kernel accepts: `sun_path` less its NUL
/// (108 bytes on Linux, 104 on macOS and the BSDs).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const MAX_SOCKET_PATH: usize = 103;

/// What the socket path rule reads, as the caller found it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketEnv<'a> {
    /// `$SIGNET_AUTH_SOCK`.
    pub signet_auth_sock: Option<&'a str>,
    /// `$XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<&'a str>,
    /// `$XDG_STATE_HOME`.
    pub xdg_state_home: Option<&'a str>,
    /// `$HOME`, or the home directory from the user database when `HOME` is
    /// unset.
    pub home: Option<&'a str>,
    /// The kernel's node name (`uname -n`).
    pub hostname: &'a str,
}

/// Why no socket path could be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// None of the variables the rule reads is usable.
    #[error("no socket path: none of SIGNET_AUTH_SOCK, XDG_RUNTIME_DIR, XDG_STATE_HOME and HOME is set to an absolute path; set SIGNET_AUTH_SOCK (or HOME)")]
    NoHome,
    /// The path does not fit in a Unix socket address.
    #[error("the socket path {} is {len} bytes, over the {max}-byte limit of a Unix socket address: set SIGNET_AUTH_SOCK (or --socket) to a shorter path in a directory only you can write, e.g. `mkdir -m 700 /tmp/$USER-signet`", path.display())]
    TooLong {
        /// The path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// [`MAX_SOCKET_PATH`].
        max: usize,
    },
}

fn usable(v: Option<&str>) -> Option<&str> {
    v.filter(|v| v.starts_with('/'))
}

/// `hostname` as it appears in the default socket's file name.
pub fn host_label(hostname: &str) -> String {
    let label: String = hostname
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // "." and ".." would not name a file of their own.
    if label.is_empty() || label.chars().all(|c| c == '.') {
        "localhost".to_owned()
    } else {
        label
    }
}

/// The default socket path, ignoring `$SIGNET_AUTH_SOCK`: rules 2 and 3 of
/// the [module docs](self). Clients check this path's directory before they
/// connect.
pub fn default_socket_path(env: &SocketEnv<'_>) -> Result<PathBuf, PathError> {
    let path = if let Some(d) = usable(env.xdg_runtime_dir) {
        Path::new(d).join("signet").join(SOCKET_NAME)
    } else {
        let state = match (usable(env.xdg_state_home), usable(env.home)) {
            (Some(s), _) => PathBuf::from(s),
            (None, Some(h)) => Path::new(h).join(".local").join("state"),
            (None, None) => return Err(PathError::NoHome),
        };
        state
            .join("signet")
            .join("run")
            .join(format!("agent.{}.sock", host_label(env.hostname)))
    };
    check_len(&path)?;
    Ok(path)
}

/// The socket path: `$SIGNET_AUTH_SOCK`, else [`default_socket_path`].
pub fn socket_path(env: &SocketEnv<'_>) -> Result<PathBuf, PathError> {
    match env.signet_auth_sock.filter(|p| !p.is_empty()) {
        Some(p) => {
            let path = PathBuf::from(p);
            check_len(&path)?;
            Ok(path)
        }
        None => default_socket_path(env),
    }
}

/// Fails if `path` does not fit in a Unix socket address.
pub fn check_len(path: &Path) -> Result<(), PathError> {
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(PathError::TooLong {
            path: path.to_owned(),
            len,
            max: MAX_SOCKET_PATH,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The files: configuration, key index, audit log, daemon log.

/// The configuration file in system mode (`signetd --system`) when
/// `--config` is not given.
pub const SYSTEM_CONFIG: &str = "/etc/signet/signetd.toml";

/// The socket in system mode when neither `--socket` nor `[agent] socket`
/// is given.
pub const SYSTEM_SOCKET: &str = "/run/signet/agent.sock";

/// The system agent's state directory when neither `signetd --state-dir`
/// nor systemd's `$STATE_DIRECTORY` names another.
pub const SYSTEM_STATE_DIR: &str = "/var/lib/signet";

/// The audit log in system mode when `[audit] path`, `--state-dir` and
/// `$STATE_DIRECTORY` are not given.
pub const SYSTEM_AUDIT_LOG: &str = "/var/lib/signet/audit.log";

/// The key index's file name, next to the configuration file.
pub const INDEX_NAME: &str = "keys.toml";

/// What the file rules read, as the caller found it (`std::env::var_os`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FileEnv<'a> {
    /// `$SIGNET_CONFIG`.
    pub signet_config: Option<&'a std::ffi::OsStr>,
    /// `$XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<&'a std::ffi::OsStr>,
    /// `$XDG_STATE_HOME`.
    pub xdg_state_home: Option<&'a std::ffi::OsStr>,
    /// `$HOME`.
    pub home: Option<&'a std::ffi::OsStr>,
}

/// An XDG base directory or `$HOME`: absolute, else unset (the XDG rule).
fn base(v: Option<&std::ffi::OsStr>) -> Option<&Path> {
    v.map(Path::new).filter(|p| p.is_absolute())
}

/// The configuration file and whether it was named explicitly (a missing
/// explicit file is an error; a missing default one means defaults):
/// `$SIGNET_CONFIG` (explicit), else `$XDG_CONFIG_HOME/signet/config.toml`,
/// else `$HOME/.config/signet/config.toml`, else a path that does not exist.
pub fn config_file(env: &FileEnv<'_>) -> (PathBuf, bool) {
    if let Some(p) = env.signet_config.filter(|p| !p.is_empty()) {
        return (PathBuf::from(p), true);
    }
    let dir = base(env.xdg_config_home)
        .map(Path::to_owned)
        .or_else(|| base(env.home).map(|h| h.join(".config")))
        .unwrap_or_else(|| PathBuf::from("/nonexistent"));
    (dir.join("signet").join("config.toml"), false)
}

/// The key index: `[store] index` when configured, else [`INDEX_NAME`]
/// next to the configuration file.
pub fn index_file(config_file: &Path, configured: Option<&Path>) -> PathBuf {
    match configured {
        Some(p) => p.to_owned(),
        None => config_file
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(INDEX_NAME),
    }
}

/// signet's state directory: `$XDG_STATE_HOME/signet`, else
/// `$HOME/.local/state/signet` (the socket's `run/` directory, the audit log
/// and the daemon's log live here).
pub fn state_dir(env: &FileEnv<'_>) -> Option<PathBuf> {
    let state = base(env.xdg_state_home)
        .map(Path::to_owned)
        .or_else(|| base(env.home).map(|h| h.join(".local").join("state")))?;
    Some(state.join("signet"))
}

/// The audit log when `[audit] path` is not given: [`SYSTEM_AUDIT_LOG`] in
/// system mode, else `audit.log` in the [`state_dir`] (in `./signet/` when
/// neither variable is usable).
pub fn audit_log(env: &FileEnv<'_>, system: bool) -> PathBuf {
    if system {
        return PathBuf::from(SYSTEM_AUDIT_LOG);
    }
    state_dir(env)
        .unwrap_or_else(|| Path::new(".").join("signet"))
        .join("audit.log")
}

/// The log of a daemon started by `signet start`: `signetd.log` in the
/// [`state_dir`].
pub fn daemon_log(env: &FileEnv<'_>) -> Option<PathBuf> {
    state_dir(env).map(|d| d.join("signetd.log"))
}

// ---------------------------------------------------------------------------
// The directory check.

/// What `lstat` says about one path component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Its owner.
    pub uid: u32,
    /// Its permission bits (`st_mode & 0o7777`).
    pub mode: u32,
}

/// The kind of file a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else.
    Other,
}

/// The file system as the check needs it: `lstat` and `readlink`, never
/// following a final symbolic link.
pub trait Lookup {
    /// `lstat(path)`.
    fn lstat(&mut self, path: &Path) -> io::Result<Node>;
    /// `readlink(path)`.
    fn read_link(&mut self, path: &Path) -> io::Result<PathBuf>;
}

/// Who must reach the socket in a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Only its owner (a user's agent): the directory has no group or other
    /// permission.
    Private,
    /// Other users too (a system agent, whose allow-list is the access
    /// control): others may enter the directory but not write to it, unless
    /// it is sticky.
    Shared,
    /// Only its owner, at a path the owner named (`signetd --socket`,
    /// `$SIGNET_AUTH_SOCK`, `[agent] socket`), as `ssh-agent -a` binds where
    /// it is told: the directory must be the owner's and writable by nobody
    /// else (`mode & 022 == 0`, no sticky exception), but others may look
    /// into it (a 0755 work directory). Others still cannot reach the
    /// socket: it is made 0600 and every peer's uid is checked. What this
    /// gives up against [`Sharing::Private`] is only secrecy of the socket's
    /// name. Directories signetd creates are 0700 all the same.
    Chosen,
}

/// Which rule a directory failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The directory the socket is in.
    SocketDir,
    /// A directory above it.
    Ancestor,
}

/// Why a socket directory cannot be trusted. Every message names the path,
/// what was found, and what is required; [`Untrusted::advice`] says what to
/// do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Untrusted {
    /// A component does not exist (yet).
    #[error("{} does not exist", path.display())]
    Missing {
        /// The first missing component (symbolic links above it resolved).
        path: PathBuf,
    },
    /// A component could not be inspected.
    #[error("cannot inspect {}: {source}", path.display())]
    Io {
        /// The component.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A component is neither a directory nor a symbolic link.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The component.
        path: PathBuf,
    },
    /// The socket's directory is a symbolic link.
    #[error("{} is a symbolic link (to {}, owned by uid {owner}); the socket's directory must be a real directory: signet never follows a link there", path.display(), target.display())]
    SocketDirIsLink {
        /// The link.
        path: PathBuf,
        /// Where it points.
        target: PathBuf,
        /// The link's owner.
        owner: u32,
    },
    /// A symbolic link above the socket's directory belongs to another user.
    #[error("{} is a symbolic link owned by uid {owner}; a link on the way to the socket must be owned by uid {uid} or root", path.display())]
    ForeignLink {
        /// The link.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The user the agent serves.
        uid: u32,
    },
    /// A directory is owned by someone other than the user (or root, above
    /// the socket's directory).
    #[error("{} is owned by uid {owner} (mode {mode:04o}); {}", path.display(), required(*role, *sharing, *uid))]
    Owner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Its mode.
        mode: u32,
        /// The user the agent serves.
        uid: u32,
        /// Which rule.
        role: Role,
        /// The socket directory's sharing.
        sharing: Sharing,
    },
    /// A directory's permissions let others replace what is in it (or, for a
    /// private socket directory, look into it).
    #[error("{} has mode {mode:04o} (owner uid {owner}); {}", path.display(), required(*role, *sharing, *uid))]
    Mode {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Its mode.
        mode: u32,
        /// The user the agent serves.
        uid: u32,
        /// Which rule.
        role: Role,
        /// The socket directory's sharing.
        sharing: Sharing,
    },
    /// Symbolic links loop, or nest too deeply.
    #[error("too many symbolic links on the way to {}", path.display())]
    TooManyLinks {
        /// Where the walk gave up.
        path: PathBuf,
    },
}

fn required(role: Role, sharing: Sharing, uid: u32) -> String {
    match (role, sharing) {
        (Role::Ancestor, _) => format!(
            "a directory above the socket's must be owned by uid {uid} or root, and sticky if group or others may write to it"
        ),
        (Role::SocketDir, Sharing::Private) => format!(
            "the socket's directory must be owned by uid {uid} with no group or other permissions (mode 0700)"
        ),
        (Role::SocketDir, Sharing::Shared) => format!(
            "the socket's directory must be owned by uid {uid} and not writable by group or others unless sticky"
        ),
        (Role::SocketDir, Sharing::Chosen) => format!(
            "the socket's directory must be owned by uid {uid} and not writable by group or others"
        ),
    }
}

impl Untrusted {
    /// What to do about it, as a sentence.
    pub fn advice(&self) -> String {
        match self {
            Untrusted::Missing { .. } => "start the agent with `signet start`".to_owned(),
            Untrusted::Io { .. } | Untrusted::NotADirectory { .. } | Untrusted::TooManyLinks { .. } => {
                "fix the path, or choose another socket (--socket or SIGNET_AUTH_SOCK)".to_owned()
            }
            Untrusted::SocketDirIsLink { path, .. } => format!(
                "remove the link (`rm {}`) and let signetd create the directory, or choose another socket",
                path.display()
            ),
            Untrusted::ForeignLink { path, .. } => format!(
                "another user may have planted it to intercept the agent: remove {} (as root if need be) or choose another socket",
                path.display()
            ),
            Untrusted::Owner { path, role: Role::SocketDir, .. } => format!(
                "another user may have created it to intercept the agent: remove {} (as root if need be) or choose another socket",
                path.display()
            ),
            Untrusted::Owner { path, .. } => format!(
                "the owner of {} could replace the socket: choose a socket path under a directory that only you or root can write",
                path.display()
            ),
            Untrusted::Mode { path, role: Role::SocketDir, sharing: Sharing::Private, .. } => format!(
                "`chmod 700 {}`, or remove it and let signetd create it",
                path.display()
            ),
            Untrusted::Mode { path, role: Role::SocketDir, sharing: Sharing::Shared | Sharing::Chosen, .. } => format!(
                "`chmod go-w {}`, or remove it and let signetd create it",
                path.display()
            ),
            Untrusted::Mode { path, .. } => format!(
                "others could replace the socket: `chmod go-w {}` (or `chmod +t` it), or choose a socket path under a directory only you can write",
                path.display()
            ),
        }
    }
}

/// Links followed before the walk gives up (the kernel's limit is 40).
const MAX_LINKS: u32 = 40;

/// Checks the socket directory `dir` (absolute) and everything above it for
/// the user `uid`, as the [module docs](self) describe. Returns the
/// directory with symbolic links above it resolved.
pub fn check_dir(
    dir: &Path,
    uid: u32,
    sharing: Sharing,
    fs: &mut impl Lookup,
) -> Result<PathBuf, Untrusted> {
    // The directory judged as the socket's must be the one the socket is in:
    // `/a/s/..` would judge `s` and bind in `/a`.
    if dir.components().any(|c| c == Component::ParentDir) {
        return Err(Untrusted::Io {
            path: dir.to_owned(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "a socket path must not contain `..`: give it without",
            ),
        });
    }
    let mut links = 0;
    walk(dir, uid, Some(sharing), fs, &mut links)
}

/// `socket_dir`: the sharing rule of the final component, or `None` when the
/// final component is itself a directory above the socket's (a link target).
fn walk(
    path: &Path,
    uid: u32,
    socket_dir: Option<Sharing>,
    fs: &mut impl Lookup,
    links: &mut u32,
) -> Result<PathBuf, Untrusted> {
    if !path.is_absolute() {
        return Err(Untrusted::Io {
            path: path.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not an absolute path"),
        });
    }
    let root = PathBuf::from("/");
    let names: Vec<Component<'_>> = path.components().collect();
    let last_normal = names
        .iter()
        .rposition(|c| matches!(c, Component::Normal(_)));
    let mut cur = root.clone();
    judge(&cur, lstat(fs, &cur)?, uid, None)?;
    for (i, comp) in names.iter().enumerate() {
        let name = match comp {
            Component::Normal(n) => n,
            Component::ParentDir => {
                cur.pop();
                continue;
            }
            _ => continue,
        };
        let is_last = Some(i) == last_normal;
        let rule = if is_last { socket_dir } else { None };
        let next = cur.join(name);
        let node = lstat(fs, &next)?;
        match node.kind {
            NodeKind::Symlink => {
                let target = fs.read_link(&next).map_err(|source| Untrusted::Io {
                    path: next.clone(),
                    source,
                })?;
                if rule.is_some() {
                    return Err(Untrusted::SocketDirIsLink {
                        path: next,
                        target,
                        owner: node.uid,
                    });
                }
                if node.uid != uid && node.uid != 0 {
                    return Err(Untrusted::ForeignLink {
                        path: next,
                        owner: node.uid,
                        uid,
                    });
                }
                *links += 1;
                if *links > MAX_LINKS {
                    return Err(Untrusted::TooManyLinks { path: next });
                }
                let target = if target.is_absolute() {
                    target
                } else {
                    cur.join(target)
                };
                cur = walk(&target, uid, None, fs, links)?;
            }
            NodeKind::Directory => {
                judge(&next, node, uid, rule)?;
                cur = next;
            }
            NodeKind::Other => return Err(Untrusted::NotADirectory { path: next }),
        }
    }
    Ok(cur)
}

fn lstat(fs: &mut impl Lookup, path: &Path) -> Result<Node, Untrusted> {
    fs.lstat(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            Untrusted::Missing {
                path: path.to_owned(),
            }
        } else {
            Untrusted::Io {
                path: path.to_owned(),
                source,
            }
        }
    })
}

/// One directory against its rule: `socket_dir` is `None` above the socket's
/// directory.
fn judge(path: &Path, node: Node, uid: u32, socket_dir: Option<Sharing>) -> Result<(), Untrusted> {
    if node.kind != NodeKind::Directory {
        return Err(Untrusted::NotADirectory {
            path: path.to_owned(),
        });
    }
    let (role, sharing) = match socket_dir {
        Some(s) => (Role::SocketDir, s),
        None => (Role::Ancestor, Sharing::Private),
    };
    let owner_ok = match role {
        Role::SocketDir => node.uid == uid,
        Role::Ancestor => node.uid == uid || node.uid == 0,
    };
    let sticky = node.mode & 0o1000 != 0;
    let mode_ok = match (role, sharing) {
        (Role::SocketDir, Sharing::Private) => node.mode & 0o077 == 0,
        (Role::SocketDir, Sharing::Chosen) => node.mode & 0o022 == 0,
        _ => node.mode & 0o022 == 0 || sticky,
    };
    let err = |owner_problem: bool| {
        let (path, owner, mode) = (path.to_owned(), node.uid, node.mode);
        if owner_problem {
            Untrusted::Owner {
                path,
                owner,
                mode,
                uid,
                role,
                sharing,
            }
        } else {
            Untrusted::Mode {
                path,
                owner,
                mode,
                uid,
                role,
                sharing,
            }
        }
    };
    if !owner_ok {
        return Err(err(true));
    }
    if !mode_ok {
        return Err(err(false));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env<'a>() -> SocketEnv<'a> {
        SocketEnv {
            hostname: "build-01",
            ..SocketEnv::default()
        }
    }

    #[test]
    fn precedence() {
        let e = SocketEnv {
            signet_auth_sock: Some("/x/s"),
            xdg_runtime_dir: Some("/run/user/1"),
            home: Some("/home/a"),
            ..env()
        };
        assert_eq!(socket_path(&e), Ok(PathBuf::from("/x/s")));
        let e = SocketEnv {
            signet_auth_sock: Some(""),
            ..e
        };
        assert_eq!(
            socket_path(&e),
            Ok(PathBuf::from("/run/user/1/signet/agent.sock"))
        );
        let e = SocketEnv {
            xdg_runtime_dir: None,
            ..e
        };
        assert_eq!(
            socket_path(&e),
            Ok(PathBuf::from(
                "/home/a/.local/state/signet/run/agent.build-01.sock"
            ))
        );
        let e = SocketEnv {
            xdg_state_home: Some("/s"),
            ..e
        };
        assert_eq!(
            socket_path(&e),
            Ok(PathBuf::from("/s/signet/run/agent.build-01.sock"))
        );
        // Relative values are ignored, as the XDG rule says.
        let e = SocketEnv {
            xdg_runtime_dir: Some("run"),
            xdg_state_home: Some("state"),
            home: Some("/h"),
            ..env()
        };
        assert_eq!(
            socket_path(&e),
            Ok(PathBuf::from(
                "/h/.local/state/signet/run/agent.build-01.sock"
            ))
        );
        assert_eq!(socket_path(&env()), Err(PathError::NoHome));
    }

    #[test]
    fn host_labels_are_one_safe_file_name() {
        assert_eq!(host_label("ci-7.example.com"), "ci-7.example.com");
        assert_eq!(host_label("a/b c\n"), "a_b_c_");
        assert_eq!(host_label(""), "localhost");
        assert_eq!(host_label(".."), "localhost");
        assert_eq!(host_label(&"h".repeat(100)).len(), 64);
    }

    #[test]
    fn too_long_paths_are_refused_with_advice() {
        let home = format!("/home/{}", "u".repeat(100));
        let e = SocketEnv {
            home: Some(&home),
            ..env()
        };
        let err = socket_path(&e)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("SIGNET_AUTH_SOCK") && err.contains("limit"),
            "{err}"
        );
        let sock = "/".repeat(MAX_SOCKET_PATH);
        assert!(check_len(Path::new(&sock)).is_ok());
        let sock = "/".repeat(MAX_SOCKET_PATH + 1);
        assert!(check_len(Path::new(&sock)).is_err());
    }

    /// An in-memory file system: path → (node, link target).
    #[derive(Default)]
    struct Fake(HashMap<PathBuf, (Node, Option<PathBuf>)>);

    impl Fake {
        fn dir(mut self, p: &str, uid: u32, mode: u32) -> Self {
            let node = Node {
                kind: NodeKind::Directory,
                uid,
                mode,
            };
            self.0.insert(PathBuf::from(p), (node, None));
            self
        }
        fn link(mut self, p: &str, uid: u32, target: &str) -> Self {
            let node = Node {
                kind: NodeKind::Symlink,
                uid,
                mode: 0o777,
            };
            self.0
                .insert(PathBuf::from(p), (node, Some(PathBuf::from(target))));
            self
        }
        fn base() -> Self {
            Fake::default()
                .dir("/", 0, 0o755)
                .dir("/tmp", 0, 0o1777)
                .dir("/home", 0, 0o755)
                .dir("/home/a", 1000, 0o750)
        }
    }

    impl Lookup for Fake {
        fn lstat(&mut self, path: &Path) -> io::Result<Node> {
            self.0
                .get(path)
                .map(|(n, _)| *n)
                .ok_or_else(|| io::ErrorKind::NotFound.into())
        }
        fn read_link(&mut self, path: &Path) -> io::Result<PathBuf> {
            self.0
                .get(path)
                .and_then(|(_, t)| t.clone())
                .ok_or_else(|| io::ErrorKind::InvalidInput.into())
        }
    }

    fn check(fs: &mut Fake, dir: &str) -> Result<PathBuf, Untrusted> {
        check_dir(Path::new(dir), 1000, Sharing::Private, fs)
    }

    #[test]
    fn a_private_directory_under_home_or_tmp_passes() {
        let mut fs = Fake::base()
            .dir("/home/a/s", 1000, 0o700)
            .dir("/tmp/mine", 1000, 0o700);
        assert_eq!(
            check(&mut fs, "/home/a/s").ok(),
            Some(PathBuf::from("/home/a/s"))
        );
        assert!(check(&mut fs, "/tmp/mine").is_ok());
        assert!(check(&mut fs, "/tmp/./mine").is_ok());
        assert!(matches!(
            check(&mut fs, "/tmp/mine/../mine"),
            Err(Untrusted::Io { .. })
        ));
    }

    #[test]
    fn an_attacker_directory_is_refused_whatever_its_mode() {
        for mode in [0o1777, 0o755, 0o700] {
            let mut fs = Fake::base().dir("/tmp/signet-1000", 1004, mode);
            let e = check(&mut fs, "/tmp/signet-1000");
            assert!(
                matches!(
                    e,
                    Err(Untrusted::Owner {
                        owner: 1004,
                        role: Role::SocketDir,
                        ..
                    })
                ),
                "{mode:o}: {e:?}"
            );
            let msg = e
                .err()
                .map(|e| format!("{e}: {}", e.advice()))
                .unwrap_or_default();
            assert!(
                msg.contains("/tmp/signet-1000") && msg.contains("uid 1004"),
                "{msg}"
            );
            assert!(
                msg.contains(&format!("{mode:04o}")) && msg.contains("intercept"),
                "{msg}"
            );
        }
    }

    #[test]
    fn the_socket_directory_is_never_a_link() {
        let mut fs = Fake::base()
            .dir("/tmp/evil", 1004, 0o700)
            .link("/tmp/signet-1000", 1004, "/tmp/evil")
            .dir("/home/a/real", 1000, 0o700)
            .link("/home/a/mine", 1000, "/home/a/real");
        assert!(matches!(
            check(&mut fs, "/tmp/signet-1000"),
            Err(Untrusted::SocketDirIsLink { owner: 1004, .. })
        ));
        // Even the user's own link.
        assert!(matches!(
            check(&mut fs, "/home/a/mine"),
            Err(Untrusted::SocketDirIsLink { owner: 1000, .. })
        ));
    }

    #[test]
    fn links_above_are_followed_only_when_trusted() {
        let mut fs = Fake::base()
            .dir("/data", 0, 0o755)
            .dir("/data/a", 1000, 0o700)
            .dir("/data/a/s", 1000, 0o700)
            .link("/home/a/d", 1000, "../../data/a")
            .dir("/tmp/evil", 1004, 0o777)
            .dir("/tmp/evil/s", 1000, 0o700)
            .link("/tmp/lnk", 1004, "/data/a")
            .link("/home/a/via-evil", 1000, "/tmp/evil");
        assert_eq!(
            check(&mut fs, "/home/a/d/s").ok(),
            Some(PathBuf::from("/data/a/s"))
        );
        assert!(matches!(
            check(&mut fs, "/tmp/lnk/s"),
            Err(Untrusted::ForeignLink { owner: 1004, .. })
        ));
        // The user's own link into a directory someone else owns.
        assert!(matches!(
            check(&mut fs, "/home/a/via-evil/s"),
            Err(Untrusted::Owner {
                owner: 1004,
                role: Role::Ancestor,
                ..
            })
        ));
        let mut loops = Fake::base().link("/home/a/x", 1000, "/home/a/x");
        assert!(matches!(
            check(&mut loops, "/home/a/x/s"),
            Err(Untrusted::TooManyLinks { .. })
        ));
    }

    #[test]
    fn directories_above_must_not_let_others_replace_it() {
        let mut fs = Fake::base()
            .dir("/shared", 0, 0o777)
            .dir("/shared/s", 1000, 0o700)
            .dir("/grp", 0, 0o775)
            .dir("/grp/s", 1000, 0o700)
            .dir("/bob", 1001, 0o755)
            .dir("/bob/s", 1000, 0o700);
        assert!(matches!(
            check(&mut fs, "/shared/s"),
            Err(Untrusted::Mode {
                role: Role::Ancestor,
                mode: 0o777,
                ..
            })
        ));
        assert!(matches!(
            check(&mut fs, "/grp/s"),
            Err(Untrusted::Mode {
                role: Role::Ancestor,
                ..
            })
        ));
        assert!(matches!(
            check(&mut fs, "/bob/s"),
            Err(Untrusted::Owner {
                owner: 1001,
                role: Role::Ancestor,
                ..
            })
        ));
    }

    #[test]
    fn private_and_shared_socket_directories() {
        let mut fs = Fake::base()
            .dir("/tmp/g", 1000, 0o750)
            .dir("/tmp/s", 1000, 0o1777)
            .dir("/tmp/w", 1000, 0o777);
        assert!(matches!(
            check(&mut fs, "/tmp/g"),
            Err(Untrusted::Mode {
                role: Role::SocketDir,
                sharing: Sharing::Private,
                mode: 0o750,
                ..
            })
        ));
        let shared = |fs: &mut Fake, d: &str| check_dir(Path::new(d), 1000, Sharing::Shared, fs);
        assert!(shared(&mut fs, "/tmp/g").is_ok());
        assert!(shared(&mut fs, "/tmp/s").is_ok(), "sticky");
        assert!(matches!(
            shared(&mut fs, "/tmp/w"),
            Err(Untrusted::Mode {
                sharing: Sharing::Shared,
                ..
            })
        ));
    }

    #[test]
    fn a_chosen_socket_directory_may_be_looked_into_but_not_written() {
        let mut fs = Fake::base()
            .dir("/tmp/g", 1000, 0o755)
            .dir("/tmp/s", 1000, 0o1777)
            .dir("/tmp/w", 1000, 0o775)
            .dir("/tmp/o", 1001, 0o700);
        let chosen = |fs: &mut Fake, d: &str| check_dir(Path::new(d), 1000, Sharing::Chosen, fs);
        assert!(chosen(&mut fs, "/tmp/g").is_ok());
        for d in ["/tmp/s", "/tmp/w"] {
            assert!(
                matches!(
                    chosen(&mut fs, d),
                    Err(Untrusted::Mode {
                        sharing: Sharing::Chosen,
                        ..
                    })
                ),
                "{d}"
            );
        }
        assert!(matches!(
            chosen(&mut fs, "/tmp/o"),
            Err(Untrusted::Owner { owner: 1001, .. })
        ));
    }

    #[test]
    fn missing_and_odd_components() {
        let mut fs = Fake::base();
        assert!(matches!(
            check(&mut fs, "/home/a/.local/state/signet"),
            Err(Untrusted::Missing { path }) if path == Path::new("/home/a/.local")
        ));
        fs.0.insert(
            PathBuf::from("/home/a/f"),
            (
                Node {
                    kind: NodeKind::Other,
                    uid: 1000,
                    mode: 0o600,
                },
                None,
            ),
        );
        assert!(matches!(
            check(&mut fs, "/home/a/f/s"),
            Err(Untrusted::NotADirectory { .. })
        ));
        assert!(matches!(check(&mut fs, "rel/s"), Err(Untrusted::Io { .. })));
    }
    #[test]
    fn file_paths() {
        use std::ffi::OsStr;
        let env = FileEnv {
            signet_config: None,
            xdg_config_home: Some(OsStr::new("/x/config")),
            xdg_state_home: None,
            home: Some(OsStr::new("/home/u")),
        };
        assert_eq!(
            config_file(&env),
            (PathBuf::from("/x/config/signet/config.toml"), false)
        );
        let explicit = FileEnv {
            signet_config: Some(OsStr::new("rel/cfg.toml")),
            ..env
        };
        assert_eq!(
            config_file(&explicit),
            (PathBuf::from("rel/cfg.toml"), true)
        );
        let relative = FileEnv {
            xdg_config_home: Some(OsStr::new("config")),
            ..env
        };
        assert_eq!(
            config_file(&relative).0,
            PathBuf::from("/home/u/.config/signet/config.toml")
        );
        assert_eq!(
            config_file(&FileEnv::default()).0,
            PathBuf::from("/nonexistent/signet/config.toml")
        );
        assert_eq!(
            index_file(Path::new("/x/config/signet/config.toml"), None),
            PathBuf::from("/x/config/signet/keys.toml")
        );
        assert_eq!(
            index_file(Path::new("/a/c.toml"), Some(Path::new("/b/i.toml"))),
            PathBuf::from("/b/i.toml")
        );
        assert_eq!(
            audit_log(&env, false),
            PathBuf::from("/home/u/.local/state/signet/audit.log")
        );
        assert_eq!(audit_log(&env, true), PathBuf::from(SYSTEM_AUDIT_LOG));
        assert_eq!(
            audit_log(&FileEnv::default(), false),
            PathBuf::from("./signet/audit.log")
        );
        let state = FileEnv {
            xdg_state_home: Some(OsStr::new("/s")),
            ..env
        };
        assert_eq!(
            daemon_log(&state),
            Some(PathBuf::from("/s/signet/signetd.log"))
        );
        assert_eq!(daemon_log(&FileEnv::default()), None);
    }
}
