//! Starting and stopping signetd: finding the binary, detaching it, its log
//! file, and waiting for its socket to answer or go quiet.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use signet_client::{Client, Error as ClientError, VersionReply};

/// How long `start` and `stop` wait for the agent.
pub const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

/// Is signetd answering at `socket`? `Ok(None)` when nothing listens; errors
/// for a socket that answers but is not a compatible signetd.
pub fn probe(socket: &Path) -> Result<Option<VersionReply>, ClientError> {
    let attempt = Client::connect_to(socket).and_then(|mut c| {
        c.set_timeout(Some(Duration::from_secs(2)))?;
        c.version()
    });
    match attempt {
        Ok(v) => Ok(Some(v)),
        Err(ClientError::NotRunning { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Finds `signetd`: next to this executable first (an installed or built
/// tree keeps them together), then on `PATH`.
pub fn locate_signetd() -> Result<PathBuf> {
    let name = format!("signetd{}", std::env::consts::EXE_SUFFIX);
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_owned))
    {
        let candidate = dir.join(&name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "could not find `{name}` next to signet or on PATH: install it alongside signet"
            )
        })
}

/// `$XDG_STATE_HOME/signet/signetd.log`, else
/// `~/.local/state/signet/signetd.log`.
pub fn log_path() -> Result<PathBuf> {
    crate::file_paths::with_env(signet_proto::paths::daemon_log).ok_or_else(|| {
        anyhow!("neither XDG_STATE_HOME nor HOME is set: set one so signetd has a log file")
    })
}

/// Starts signetd detached on `socket` and waits until it answers.
pub fn spawn_and_wait(socket: &Path) -> Result<VersionReply> {
    let exe = locate_signetd()?;
    let log_path = log_path()?;
    if let Some(dir) = log_path.parent() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("could not create the log directory {}", dir.display()))?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .with_context(|| format!("could not open the log file {}", log_path.display()))?;
    // Show only this run's lines if it fails.
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let log_out = log
        .try_clone()
        .with_context(|| format!("could not open the log file {}", log_path.display()))?;
    let mut cmd = Command::new(&exe);
    // signetd gets no variable that may hold a secret (ENCORD_SSH_KEY and
    // the like, signet_proto::environ): not in its environment block, so not
    // in /proc/PID/environ or its askpass program's environment.
    for (name, _) in std::env::vars_os() {
        if signet_proto::environ::is_secret(&name.to_string_lossy()) {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(log_out)
        .stderr(log)
        // Its own process group: a Ctrl-C in this shell does not reach it.
        .process_group(0)
        .spawn()
        .with_context(|| format!("could not run {}", exe.display()))?;

    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().context("could not check on signetd")? {
            bail!(
                "signetd exited ({status}) before it answered on {}: see {}{}",
                socket.display(),
                log_path.display(),
                log_tail(&log_path, log_start)
            );
        }
        match probe(socket) {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            // The socket may exist before the agent answers on it.
            Err(ClientError::Io { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if Instant::now() >= deadline {
            bail!(
                "signetd (pid {}) did not answer on {} within {} s: see {}{}",
                child.id(),
                socket.display(),
                WAIT.as_secs(),
                log_path.display(),
                log_tail(&log_path, log_start)
            );
        }
        std::thread::sleep(POLL);
    }
}

/// The last lines written to the log since `from`, as an indented block.
fn log_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    let read = OpenOptions::new().read(true).open(path).and_then(|mut f| {
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(from.max(len.saturating_sub(8192))))?;
        f.take(8192).read_to_string(&mut text)
    });
    if read.is_err() || text.trim().is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(10)..];
    format!("\nlast lines of the log:\n  {}", tail.join("\n  "))
}

/// Waits until nothing answers at `socket`.
pub fn wait_until_stopped(socket: &Path) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        match probe(socket) {
            Ok(None) | Err(ClientError::Io { .. }) => return Ok(()),
            _ => {}
        }
        if Instant::now() >= deadline {
            bail!(
                "the agent at {} still answers {} s after it was asked to stop: check `signet status` and its log",
                socket.display(),
                WAIT.as_secs()
            );
        }
        std::thread::sleep(POLL);
    }
}
