//! The key index: which keys the store holds, by name, without any secret.
//!
//! A TOML file (`keys.toml` next to the configuration file, or `[store]
//! index`), made 0600 in a 0700 directory and always replaced atomically:
//! written to a temporary file in the same directory, fsynced, renamed over
//! the old one, and the directory fsynced, so a crash leaves either the old or
//! the new index, never a torn one. Read-modify-write cycles hold an
//! exclusive `flock` on `keys.toml.lock`, so two daemons sharing one
//! configuration directory cannot lose each other's changes.
//!
//! Entries carry a `state`, the journal of the crash-safety protocol (see
//! `store::vault`): `pending` (written *before* the secret goes into the keyring),
//! `active`, and `removing` (a tombstone written *before* the secret is
//! deleted). The private key never appears here.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use signet_proto::index::{IndexProblem, HEADER};

pub use signet_proto::index::{Entry, IndexFile, Sealing, State};

/// Why the index could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A file system error.
    #[error("cannot {action} the key index {}: {source}{}", path.display(), io_hint(source))]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid index.
    #[error("the key index {} is invalid: {message}: fix or move the file (it holds no secrets; `signet doctor` rebuilds what the keyring can list)", path.display())]
    Parse {
        /// Which file.
        path: PathBuf,
        /// What is wrong, naming the key or line.
        message: String,
    },
}

/// What to do about a file system error, for the message. Every index write
/// is atomic (temporary file, rename), so a failed write leaves the previous
/// index exactly as it was; the keyring is changed only after the index
/// write that journals the change has succeeded (see `store::vault`).
fn io_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull | K::QuotaExceeded => {
            ": the file system holding it is full; free some space (or move the index with \
             [store] index) and try again. The index and the keyring were left as they were"
        }
        K::ReadOnlyFilesystem => {
            ": the file system holding it is read-only; remount it read-write (or move the \
             index with [store] index) and try again. The index and the keyring were left as \
             they were"
        }
        K::PermissionDenied => {
            ": check the owner and permissions of the file and its directory (signetd must \
             be able to write there)"
        }
        _ => "",
    }
}

/// The index file and its lock.
#[derive(Debug, Clone)]
pub struct Index {
    path: PathBuf,
}

impl Index {
    /// The index at `path` (not read yet).
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> IndexError {
        IndexError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }

    /// Reads the file; a missing file is an empty index.
    pub fn load(&self) -> Result<IndexFile, IndexError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(IndexFile::default()),
            Err(e) => return Err(self.io("read", e)),
        };
        parse(&text).map_err(|e| IndexError::Parse {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    /// Runs `f` on the index under the lock and writes the result back if
    /// `f` succeeds (and changed something).
    pub fn update<T, E: From<IndexError>>(
        &self,
        f: impl FnOnce(&mut IndexFile) -> Result<T, E>,
    ) -> Result<T, E> {
        let _lock = self.lock()?;
        let mut file = self.load()?;
        let before = file.clone();
        let out = f(&mut file)?;
        if file != before {
            self.save(&file)?;
        }
        Ok(out)
    }

    fn dir(&self) -> PathBuf {
        dir_of(&self.path)
    }

    /// Creates the index's directory (0700) if it is missing.
    pub fn ensure_dir(&self) -> Result<PathBuf, IndexError> {
        let dir = self.dir();
        if !dir.exists() {
            let mut b = fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(&dir)
                .map_err(|e| self.io("create the directory of", e))?;
        }
        Ok(dir)
    }

    #[cfg(unix)]
    fn lock(&self) -> Result<fs::File, IndexError> {
        self.ensure_dir()?;
        lock_beside(&self.path).map_err(|e| self.io("lock", e))
    }

    /// No cross-process lock off Unix (one signetd per user there); a
    /// token so that callers hold "the lock" the same way everywhere.
    #[cfg(not(unix))]
    fn lock(&self) -> Result<NoLock, IndexError> {
        self.ensure_dir()?;
        Ok(NoLock)
    }

    /// Replaces the file atomically: temp file, fsync, rename, fsync dir.
    pub fn save(&self, file: &IndexFile) -> Result<(), IndexError> {
        self.ensure_dir()?;
        let body = toml::to_string(file).map_err(|e| IndexError::Parse {
            path: self.path.clone(),
            message: format!("cannot serialise: {e}"),
        })?;
        replace_atomically(&self.path, &[HEADER.as_bytes(), body.as_bytes()])
            .map_err(|e| self.io("write", e))
    }
}

/// Takes the exclusive `flock` on `<path>.lock` (made 0600 if missing)
/// that every read-modify-write of the file at `path` holds.
#[cfg(unix)]
pub fn lock_beside(path: &Path) -> std::io::Result<fs::File> {
    let dir = dir_of(path);
    let name = format!(
        "{}.lock",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "keys.toml".to_owned())
    );
    let mut opts = fs::OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let f = opts.open(dir.join(name))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(f)
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Replaces the file at `path` with `parts` (concatenated) atomically: a
/// temporary file in the same directory (0600), fsynced, renamed over the
/// old one, and the directory fsynced, so that a crash leaves the old file
/// or the new one, never a torn one. The directory must exist.
pub fn replace_atomically(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    let dir = dir_of(path);
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut opts = fs::OpenOptions::new();
    opts.create(true).truncate(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        for p in parts {
            f.write_all(p)?;
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // The rename is durable only once the directory is.
        #[cfg(unix)]
        fs::File::open(&dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Parses index text; the error names the offending key or line.
pub fn parse(text: &str) -> Result<IndexFile, ParseError> {
    let file: IndexFile = toml::from_str(text).map_err(|e| ParseError::Toml(Box::new(e)))?;
    file.check()?;
    Ok(file)
}

/// Why index text is not an index.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not TOML, an unknown field, a missing one.
    #[error(transparent)]
    Toml(Box<toml::de::Error>),
    /// Decoded, but not consistent.
    #[error(transparent)]
    Problem(#[from] IndexProblem),
}

/// What [`Index::lock`] returns where there is no lock file.
#[cfg(not(unix))]
struct NoLock;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, id: u8, state: State) -> Entry {
        Entry {
            name: name.into(),
            comment: String::new(),
            key_id: hex::encode([id; 32]),
            fingerprint: "SHA256:x".into(),
            created_at: crate::clock::rfc3339(0),
            store: "memory".into(),
            state,
        }
    }

    #[test]
    fn atomic_write_round_trip_and_modes() -> Result<(), IndexError> {
        let dir = tempfile::tempdir().map_err(|e| IndexError::Io {
            action: "tmp",
            path: PathBuf::new(),
            source: e,
        })?;
        let idx = Index::new(dir.path().join("sub").join("keys.toml"));
        assert_eq!(idx.load()?, IndexFile::default());
        idx.update(|f| {
            f.keys.push(entry("a", 1, State::Pending));
            Ok::<_, IndexError>(())
        })?;
        idx.update(|f| {
            if let Some(e) = f.by_key_id_mut(&hex::encode([1; 32])) {
                e.state = State::Active;
            }
            f.keys.push(entry("b", 2, State::Removing));
            Ok::<_, IndexError>(())
        })?;
        let back = idx.load()?;
        assert_eq!(back.keys.len(), 2);
        assert_eq!(back.keys[0].state, State::Active);
        assert_eq!(back.keys[1].state, State::Removing);
        let text = fs::read_to_string(idx.path()).unwrap_or_default();
        assert!(text.contains("state = \"removing\""), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
            assert_eq!(mode(idx.path()), Some(0o600));
            assert_eq!(mode(&dir.path().join("sub")), Some(0o700));
        }
        // No temporary file is left behind.
        let names: Vec<String> = fs::read_dir(dir.path().join("sub"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
        Ok(())
    }

    #[test]
    fn failed_update_writes_nothing() -> Result<(), IndexError> {
        let dir = tempfile::tempdir().map_err(|e| IndexError::Io {
            action: "tmp",
            path: PathBuf::new(),
            source: e,
        })?;
        let idx = Index::new(dir.path().join("keys.toml"));
        let r: Result<(), IndexError> = idx.update(|f| {
            f.keys.push(entry("a", 1, State::Active));
            Err(IndexError::Parse {
                path: PathBuf::new(),
                message: "no".into(),
            })
        });
        assert!(r.is_err());
        assert!(!idx.path().exists());
        Ok(())
    }

    #[test]
    fn parse_errors_name_the_problem() {
        let unknown = "version = 1\n[[key]]\nname = \"a\"\nkey_id = \"00\"\nfingerprint = \"x\"\ncreated_at = \"x\"\nstore = \"m\"\nstate = \"active\"\nsecret = \"x\"\n";
        let e = parse(unknown)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("secret"), "{e}");
        let bad_id = unknown.replace("secret = \"x\"\n", "");
        let e = parse(&bad_id)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("64 hex"), "{e}");
        let bad_state = bad_id
            .replace("\"00\"", &format!("\"{}\"", hex::encode([1; 32])))
            .replace("active", "half");
        let e = parse(&bad_state)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("half") || e.contains("variant"), "{e}");
        assert!(parse("version = 2\n").is_err());
    }
}
