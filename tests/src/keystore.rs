//! Harness for the key-store tests: a `signetd` over a **real** key store.
//!
//! - [`Store::Keyutils`]: the Linux kernel keyring (the user keyring `@u`),
//!   forced with `SIGNET_STORE=keyutils`.
//! - [`Store::SecretService`]: a real gnome-keyring on a private session bus:
//!   the daemon runs inside `dbus-run-session`, after
//!   `gnome-keyring-daemon --unlock --components=secrets` has created (or
//!   opened) and unlocked the `login` collection with a known password, in
//!   the agent's private `HOME` and `XDG_RUNTIME_DIR`. Restarting the agent
//!   starts a new bus and a new gnome-keyring over the same keyring files.
//!
//! Every [`StoreAgent`] files its secrets under its own keyring service name
//! (`SIGNET_KEYRING_SERVICE`), so parallel tests never see each other's keys,
//! and removes whatever it left in the kernel keyring when dropped. No store
//! is mocked here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::{bin, chmod, run, run_with_input, system_tool, Run, CHILD_PATH, DEADLINE};

/// Which real store the daemon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The Linux kernel keyring.
    Keyutils,
    /// gnome-keyring over a private D-Bus session.
    SecretService,
}

/// The password of the test `login` collection.
pub const KEYRING_PASSWORD: &str = "signet-test-keyring";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A `signetd` over a real key store, in its own temporary directory.
pub struct StoreAgent {
    dir: tempfile::TempDir,
    socket: PathBuf,
    log: PathBuf,
    store: Store,
    service: String,
    child: Option<Child>,
    exit: Option<ExitStatus>,
}

impl StoreAgent {
    /// Starts a daemon over `store` at `--log-level trace`.
    pub fn start(store: Store) -> Self {
        Self::start_with(store, &[])
    }

    /// Starts a daemon with extra environment for `signetd` (e.g.
    /// `SIGNET_FAULT`).
    pub fn start_with(store: Store, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("signet-ks.")
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
        for sub in ["home", "run", "config", "state", "keys"] {
            fs::create_dir_all(dir.path().join(sub))
                .unwrap_or_else(|e| panic!("creating {sub}: {e}"));
        }
        chmod(&dir.path().join("run"), 0o700);
        let service = format!(
            "signet-test-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            Instant::now().elapsed().subsec_nanos() ^ rand_bits()
        );
        let mut agent = Self {
            socket: dir.path().join("agent.sock"),
            log: dir.path().join("signetd.log"),
            dir,
            store,
            service,
            child: None,
            exit: None,
        };
        agent.spawn(env);
        agent
    }

    /// The keyring service name this agent files its secrets under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The agent's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The configuration directory (index and config file live here).
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config/signet")
    }

    /// The index file's text (empty if absent).
    pub fn index_text(&self) -> String {
        fs::read_to_string(self.config_dir().join("keys.toml")).unwrap_or_default()
    }

    /// The daemon's log (all runs).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The daemon's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn base_env(&self, cmd: &mut Command) {
        let d = self.dir.path();
        cmd.env_clear()
            .env("PATH", CHILD_PATH)
            .env("HOME", d.join("home"))
            .env("XDG_RUNTIME_DIR", d.join("run"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_DATA_HOME", d.join("home/.local/share"))
            .env("SIGNET_AUTH_SOCK", &self.socket)
            .env("SIGNET_KEYRING_SERVICE", &self.service);
    }

    fn spawn(&mut self, env: &[(&str, &str)]) {
        let mut cmd = match self.store {
            Store::Keyutils => {
                let mut c = Command::new(bin("signetd"));
                self.base_env(&mut c);
                c.env("SIGNET_STORE", "keyutils");
                c
            }
            Store::SecretService => {
                let mut c = Command::new(system_tool("/usr/bin/dbus-run-session"));
                self.base_env(&mut c);
                system_tool("/usr/bin/gnome-keyring-daemon");
                c.env("SIGNET_STORE", "secret-service")
                    .env("SIGNET_TEST_KEYRING_PASSWORD", KEYRING_PASSWORD)
                    .args(["--", "sh", "-c"])
                    .arg(
                        "printf '%s' \"$SIGNET_TEST_KEYRING_PASSWORD\" \
                         | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                         && unset SIGNET_TEST_KEYRING_PASSWORD && exec \"$@\"",
                    )
                    .arg("sh")
                    .arg(bin("signetd"));
                c
            }
        };
        cmd.arg("--socket")
            .arg(&self.socket)
            .args(["--log-level", "trace"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("opening the log: {e}"));
        let file2 = file
            .try_clone()
            .unwrap_or_else(|e| panic!("dup log file: {e}"));
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(file2)
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting signetd: {e}"));
        self.child = Some(child);
        self.exit = None;
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if let Some(status) = self.try_exit() {
                panic!(
                    "signetd exited with {status} before its socket answered\n--- log\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < DEADLINE * 2,
                "signetd did not answer within {:?}\n--- log\n{}",
                DEADLINE * 2,
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's exit status if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Some(child) = self.child.as_mut() {
                self.exit = child.try_wait().ok().flatten();
            }
        }
        self.exit
    }

    /// Waits (at most [`DEADLINE`]) for the daemon to exit.
    #[track_caller]
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.try_exit() {
                return s;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "signetd still running\n--- log\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the daemon (`signet stop`; SIGKILL if that fails).
    pub fn stop(&mut self) {
        if self.child.is_none() || self.try_exit().is_some() {
            return;
        }
        let r = self.signet(["stop"]);
        if r.status.success() {
            self.wait_exit();
        } else if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            self.exit = c.wait().ok();
        }
        // The socket file is gone once signetd has cleaned up; a crashed
        // daemon leaves it behind, and the next one replaces it.
    }

    /// Stops the daemon (if running) and starts a new one on the same
    /// directory, store and service, with `env`.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        self.stop();
        self.spawn(env);
    }

    /// A `signet` command with this agent's environment.
    pub fn signet_command(&self) -> Command {
        let mut cmd = Command::new(bin("signet"));
        self.base_env(&mut cmd);
        cmd
    }

    /// Runs `signet <args>`.
    pub fn signet<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        run(self.signet_command().args(args))
    }

    /// Runs `signet <args>` with `input` on stdin.
    pub fn signet_input<I, S>(&self, args: I, input: &[u8]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        run_with_input(self.signet_command().args(args), input)
    }

    /// `signet list --json`, parsed.
    #[track_caller]
    pub fn list_json(&self) -> serde_json::Value {
        let r = self.signet(["list", "--json"]);
        r.assert_ok();
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{r}"))
    }

    /// Kernel keyring entries of this agent's service (`keyutils` only):
    /// the key ids.
    pub fn keyutils_entries(&self) -> Vec<String> {
        keyutils_entries(&self.service)
    }
}

fn rand_bits() -> u32 {
    let mut b = [0u8; 4];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        use std::io::Read as _;
        let _ = f.read_exact(&mut b);
    }
    u32::from_le_bytes(b)
}

/// Key ids stored in the kernel keyring under `service`, from `/proc/keys`
/// (`… user keyring:<key id>@<service>: 32`).
pub fn keyutils_entries(service: &str) -> Vec<String> {
    let text = fs::read_to_string("/proc/keys").unwrap_or_default();
    let suffix = format!("@{service}:");
    // id flags usage timeout perms uid gid type description: datalen
    let mut ids: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (flags, kind, desc) = (f.get(1)?, f.get(7)?, f.get(8)?);
            // Only live keys: instantiated, not revoked/dead/invalidated.
            if *kind != "user" || !flags.starts_with('I') || flags.contains(['R', 'D', 'i']) {
                return None;
            }
            let (name, _) = desc.split_once(&suffix)?;
            name.strip_prefix("keyring:").map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn keyutils_purge(service: &str) {
    let text = fs::read_to_string("/proc/keys").unwrap_or_default();
    let suffix = format!("@{service}:");
    for line in text.lines().filter(|l| l.contains(&suffix)) {
        let Some(hex_id) = line.split_whitespace().next() else {
            continue;
        };
        if let Ok(id) = u32::from_str_radix(hex_id, 16) {
            let _ = Command::new("keyctl")
                .env_clear()
                .env("PATH", CHILD_PATH)
                .args(["invalidate", &id.to_string()])
                .output();
        }
    }
}

impl Drop for StoreAgent {
    fn drop(&mut self) {
        if self.child.is_some() && self.try_exit().is_none() {
            // Ask first, so that under dbus-run-session the daemon, the bus
            // and gnome-keyring all end; then make sure.
            let _ = run_timeout_quiet(self.signet_command().arg("stop"));
            let start = Instant::now();
            while self.try_exit().is_none() && start.elapsed() < DEADLINE {
                thread::sleep(Duration::from_millis(20));
            }
            if let Some(c) = self.child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if self.store == Store::Keyutils {
            keyutils_purge(&self.service);
        }
    }
}

fn run_timeout_quiet(cmd: &mut Command) -> Option<ExitStatus> {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()
}
