//! OpenSSH's `sshd` on a loopback port for login tests, and `ssh` logging
//! in through an agent's socket.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use crate::{generate_key, run, system_tool, Agent, Run, CHILD_PATH};

/// A running `sshd -D -e`, killed on drop.
pub struct Sshd {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    log: PathBuf,
}

impl Sshd {
    /// What sshd logged.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts sshd in `dir` accepting only the keys in `authorized_keys`.
pub fn start_sshd(agent: &Agent, dir: &Path, authorized_keys: &Path) -> Sshd {
    start_sshd_with(agent, dir, authorized_keys, "")
}

/// Starts sshd in `dir` accepting the keys in `authorized_keys`, with
/// `extra` (whole `sshd_config` lines, e.g. `TrustedUserCAKeys …`) appended.
pub fn start_sshd_with(agent: &Agent, dir: &Path, authorized_keys: &Path, extra: &str) -> Sshd {
    let sshd = system_tool("/usr/sbin/sshd");
    // The privilege-separation directory sshd insists on.
    if !Path::new("/run/sshd").is_dir() {
        fs::create_dir_all("/run/sshd").unwrap_or_else(|e| {
            panic!("creating /run/sshd (needed by sshd; run scripts/install-test-deps.sh as root): {e}")
        });
    }
    let host_key = generate_key(&dir.join("host"), "ed25519", "host");

    let mut last_log = String::new();
    // The port is free when chosen; if another test takes it first, try again.
    for _ in 0..5 {
        let port = crate::free_port();
        let config = dir.join("sshd_config");
        fs::write(
            &config,
            format!(
                "Port {port}\n\
                 ListenAddress 127.0.0.1\n\
                 HostKey {host}\n\
                 AuthorizedKeysFile {ak}\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PidFile none\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\n\
                 LogLevel VERBOSE\n\
                 {extra}",
                host = host_key.private.display(),
                ak = authorized_keys.display(),
            ),
        )
        .unwrap_or_else(|e| panic!("writing sshd_config: {e}"));
        let log = dir.join(format!("sshd-{port}.log"));
        let mut cmd = Command::new(&sshd);
        cmd.env_clear()
            .env("PATH", CHILD_PATH)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config);
        let child = agent.spawn_logged(&mut cmd, &log);
        let mut sshd = Sshd { child, port, log };
        let start = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sshd;
            }
            if let Ok(Some(status)) = sshd.child.try_wait() {
                last_log = format!("sshd exited with {status}:\n{}", sshd.log());
                break;
            }
            if start.elapsed() > Duration::from_secs(10) {
                last_log = format!("sshd not listening after 10 s:\n{}", sshd.log());
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("could not start sshd: {last_log}");
}

/// `ssh user@127.0.0.1 echo signet-ok` with only the agent's keys.
pub fn ssh_login(agent: &Agent, sshd: &Sshd, user: &str) -> Run {
    let no_key = agent.dir().join("no-such-identity");
    run(agent
        .ssh_tool("ssh")
        .args(["-F", "/dev/null"])
        .arg("-o")
        .arg(format!("IdentityAgent={}", agent.socket().display()))
        // No key files: only the agent can authenticate.
        .arg("-o")
        .arg(format!("IdentityFile={}", no_key.display()))
        .args([
            "-o",
            "IdentitiesOnly=no",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
            "-p",
        ])
        .arg(sshd.port.to_string())
        .arg(format!("{user}@127.0.0.1"))
        .arg("echo signet-ok"))
}
