//! The socket's directory: one signetd can vouch for, or no agent.
//!
//! **Owns**: checking, before the socket is bound, the directory it is bound
//! in and every directory above it with `lstat` (the rule is
//! [`signet_proto::paths::check_dir`], shared with the clients), and creating
//! the missing ones. A directory signetd creates is made with its final mode
//! at once (0700; 0755 for a system agent, whose users must reach the socket)
//! by `mkdir`, never widened later. One that exists and fails the check stops
//! start-up with a message naming the path, its owner and mode, what is
//! required, and what to do.
//!
//! **Must not**: follow a symbolic link for the socket's directory, or change
//! the mode or owner of anything it did not create (an existing directory is
//! left exactly as it was found, even `/tmp`).

use std::io;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use signet_proto::paths::{self, Lookup, Node, NodeKind, Sharing, Untrusted};
use tracing::{info, warn};

/// Why the socket's directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// It (or a directory above it) fails the check.
    #[error("refusing to use the socket directory {}: {problem}: {}", dir.display(), problem.advice())]
    Untrusted {
        /// The socket's directory.
        dir: PathBuf,
        /// What is wrong.
        problem: Untrusted,
    },
    /// A missing directory could not be created.
    #[error("cannot create the socket directory {}: {error}: create it yourself (`mkdir -m 700 {}`) or choose another --socket", path.display(), path.display())]
    Create {
        /// The directory.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
}

/// The socket's directory, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The directory, symbolic links above it resolved.
    pub dir: PathBuf,
    /// Directories signetd created for it, outermost first.
    pub created: Vec<PathBuf>,
}

/// `lstat` and `readlink` on the real file system.
struct RealFs;

impl Lookup for RealFs {
    fn lstat(&mut self, path: &Path) -> io::Result<Node> {
        let m = std::fs::symlink_metadata(path)?;
        let t = m.file_type();
        let kind = if t.is_dir() {
            NodeKind::Directory
        } else if t.is_symlink() {
            NodeKind::Symlink
        } else {
            NodeKind::Other
        };
        Ok(Node {
            kind,
            uid: m.uid(),
            mode: m.mode() & 0o7777,
        })
    }

    fn read_link(&mut self, path: &Path) -> io::Result<PathBuf> {
        std::fs::read_link(path)
    }
}

/// Checks `dir` (made absolute against the working directory) for this
/// process's effective uid, creating what is missing.
pub fn prepare(dir: &Path, sharing: Sharing) -> Result<Prepared, DirError> {
    let dir = std::path::absolute(dir).map_err(|error| DirError::Create {
        path: dir.to_owned(),
        error,
    })?;
    let uid = rustix::process::geteuid().as_raw();
    let mode = match sharing {
        Sharing::Private | Sharing::Chosen => 0o700,
        Sharing::Shared => 0o755,
    };
    let mut created = Vec::new();
    // Each pass creates at most one missing directory; a path has fewer
    // components than this.
    for _ in 0..256 {
        match paths::check_dir(&dir, uid, sharing, &mut RealFs) {
            Ok(resolved) => {
                if created.is_empty() && sharing == Sharing::Shared {
                    warn_if_unreachable(&resolved);
                }
                return Ok(Prepared {
                    dir: resolved,
                    created,
                });
            }
            Err(Untrusted::Missing { path }) => match make_dir(&path, mode) {
                Ok(()) => {
                    info!(
                        "created socket directory {} (mode {mode:04o})",
                        path.display()
                    );
                    created.push(path);
                }
                // Someone made it meanwhile: the next pass judges it.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(DirError::Create { path, error }),
            },
            Err(problem) => return Err(DirError::Untrusted { dir, problem }),
        }
    }
    Err(DirError::Create {
        path: dir,
        error: io::Error::other("the directory keeps disappearing while it is created"),
    })
}

/// `mkdir path` with exactly `mode`: made with it (umask can only take bits
/// away), then set through a descriptor of the directory just made, which
/// never follows a link.
fn make_dir(path: &Path, mode: u32) -> io::Result<()> {
    use rustix::fs::{fchmod, open, Mode, OFlags};
    std::fs::DirBuilder::new().mode(mode).create(path)?;
    let fd = open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    fchmod(&fd, Mode::from_raw_mode(mode))?;
    Ok(())
}

/// A system agent's users must be able to enter the directory; one that was
/// there before is not changed, only reported.
fn warn_if_unreachable(dir: &Path) {
    if let Ok(m) = std::fs::metadata(dir) {
        if m.mode() & 0o011 == 0 {
            warn!(
                "socket directory {} has mode {:04o}: other users cannot reach the socket whatever the allow-list says; `chmod o+x` it (or give its group to the users)",
                dir.display(),
                m.mode() & 0o7777
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode_of(p: &Path) -> u32 {
        std::fs::symlink_metadata(p)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0)
    }

    #[test]
    fn creates_missing_directories_private_even_under_a_loose_umask(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let base = tempfile::tempdir()?;
        let dir = base.path().join("a/b/signet");
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o277));
        let prepared = prepare(&dir, Sharing::Private);
        rustix::process::umask(old);
        let prepared = prepared?;
        assert_eq!(prepared.created.len(), 3);
        for d in &prepared.created {
            assert_eq!(mode_of(d), 0o700, "{}", d.display());
        }
        // A second start finds it as it left it.
        assert!(prepare(&dir, Sharing::Private)?.created.is_empty());
        Ok(())
    }

    #[test]
    fn an_existing_directory_is_judged_not_changed() -> Result<(), Box<dyn std::error::Error>> {
        let base = tempfile::tempdir()?;
        let dir = base.path().join("s");
        std::fs::create_dir(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750))?;
        let e = prepare(&dir, Sharing::Private).err().map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(e.contains("mode 0750") && e.contains("chmod 700"), "{e}");
        assert_eq!(mode_of(&dir), 0o750);
        // A system agent may use it (others must reach the socket) and leaves it so.
        assert!(prepare(&dir, Sharing::Shared)?.created.is_empty());
        assert_eq!(mode_of(&dir), 0o750);
        Ok(())
    }

    #[test]
    fn a_link_is_never_followed() -> Result<(), Box<dyn std::error::Error>> {
        let base = tempfile::tempdir()?;
        let real = base.path().join("real");
        std::fs::create_dir(&real)?;
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700))?;
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&real, &link)?;
        let e = prepare(&link, Sharing::Private)
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap_or_default().contains("symbolic link"));
        Ok(())
    }
}
