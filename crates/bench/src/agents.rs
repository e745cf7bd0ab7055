//! Starting, loading and stopping the two agents under test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::client_io::answers;

/// A running agent process and its socket.
pub struct RunningAgent {
    /// `ssh-agent` or `signetd`.
    pub name: &'static str,
    /// The socket it listens on.
    pub sock: PathBuf,
    child: Child,
}

impl RunningAgent {
    /// The agent's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the agent to stop (SIGTERM) and waits up to 3 s, then kills it.
    pub fn stop(mut self) -> Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("{} did not stop within 3 s of SIGTERM", self.name)
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        // Never leave an agent behind when the bench fails half-way.
        let _ = self.terminate();
    }
}

/// Waits until an agent answers on `sock`; returns the time from `since`.
pub fn wait_answering(sock: &Path, since: Instant, limit: Duration) -> Result<Duration> {
    loop {
        if answers(sock) {
            return Ok(since.elapsed());
        }
        if since.elapsed() > limit {
            bail!("no agent answered on {} within {limit:?}", sock.display());
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Runs `cmd` as the agent `name` serving `sock` (stderr to `log`) and waits
/// until it answers; `cannot` is the error's context if it does not start.
fn spawn_agent(
    name: &'static str,
    cmd: &mut Command,
    sock: &Path,
    log: &Path,
    cannot: &str,
) -> Result<RunningAgent> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .with_context(|| cannot.to_owned())?;
    let agent = RunningAgent {
        name,
        sock: sock.to_owned(),
        child,
    };
    wait_answering(sock, Instant::now(), Duration::from_secs(5))
        .with_context(|| format!("{name} did not come up; see {}", log.display()))?;
    Ok(agent)
}

/// Starts OpenSSH's agent in the foreground on `sock`.
pub fn start_ssh_agent(sock: &Path, log: &Path) -> Result<RunningAgent> {
    spawn_agent(
        "ssh-agent",
        Command::new("ssh-agent").arg("-D").arg("-a").arg(sock),
        sock,
        log,
        "cannot start ssh-agent (is OpenSSH's client installed?)",
    )
}

/// Starts `signetd` on `sock` with an empty configuration directory, and
/// returns it with the time from exec to its first answer.
///
/// The defaults stay in force, the audit log included (that is what users
/// run), but the log goes to a `state` directory beside `config_home`, never
/// into the user's own `~/.local/state/signet/audit.log`.
pub fn start_signetd(
    bin: &Path,
    sock: &Path,
    config_home: &Path,
    log: &Path,
) -> Result<(RunningAgent, Duration)> {
    let mut cmd = Command::new(bin);
    cmd.arg("--socket")
        .arg(sock)
        .env("XDG_CONFIG_HOME", config_home)
        .env("XDG_STATE_HOME", config_home.with_file_name("state"))
        .env_remove("SIGNET_CONFIG")
        .env_remove("SIGNET_AUTH_SOCK")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?);
    let t0 = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let agent = RunningAgent {
        name: "signetd",
        sock: sock.to_owned(),
        child,
    };
    let ready = wait_answering(sock, t0, Duration::from_secs(10))
        .with_context(|| format!("signetd did not come up; see {}", log.display()))?;
    Ok((agent, ready))
}

/// Starts the ideal agent (this binary, `--serve-ideal`) on `sock`.
pub fn start_ideal(sock: &Path, key: &Path, log: &Path) -> Result<RunningAgent> {
    let me = std::env::current_exe().context("cannot find this binary's path")?;
    spawn_agent(
        "ideal",
        Command::new(me)
            .arg("--serve-ideal")
            .arg(sock)
            .arg("--key")
            .arg(key),
        sock,
        log,
        "cannot start the ideal agent",
    )
}

/// Loads `key` into the agent on `sock` with `ssh-add`.
pub fn ssh_add(sock: &Path, key: &Path) -> Result<()> {
    let out = Command::new("ssh-add")
        .arg("-q")
        .arg(key)
        .env("SSH_AUTH_SOCK", sock)
        .stdin(Stdio::null())
        .output()
        .context("cannot run ssh-add")?;
    if !out.status.success() {
        bail!(
            "ssh-add into {} failed: {}",
            sock.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Makes a fresh Ed25519 key with `ssh-keygen`; returns the private key path.
pub fn keygen(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("id_ed25519");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "signet-bench", "-f"])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .context("cannot run ssh-keygen")?;
    if !out.status.success() {
        bail!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(path)
}
