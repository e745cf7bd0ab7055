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
//!
//! A user's agent seals its key store with a passphrase (`[store] seal`'s
//! default): [`StoreAgent::start`] unlocks it with [`STORE_PASSPHRASE`]
//! after every start (the first unlock chooses it), as a developer does
//! once per session; [`StoreAgent::start_locked`] and
//! [`StoreAgent::restart_locked`] leave it locked, for the tests of the
//! unlock itself.

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

/// The passphrase the tests seal their key stores with.
pub const STORE_PASSPHRASE: &str = "signet-test-store-passphrase";

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
    /// Unlock the sealed store after each start.
    unlock: bool,
}

impl StoreAgent {
    /// Starts a daemon over `store` at `--log-level trace`, and unlocks its
    /// sealed key store (choosing [`STORE_PASSPHRASE`] the first time).
    pub fn start(store: Store) -> Self {
        Self::start_with(store, &[])
    }

    /// Starts a daemon with extra environment for `signetd` (e.g.
    /// `SIGNET_FAULT`), and unlocks its key store.
    pub fn start_with(store: Store, env: &[(&str, &str)]) -> Self {
        Self::start_full(store, env, true)
    }

    /// Starts a daemon and leaves its key store locked (not set up on a
    /// first start); later [`StoreAgent::restart`]s do not unlock it either.
    pub fn start_locked(store: Store) -> Self {
        Self::start_full(store, &[], false)
    }

    fn start_full(store: Store, env: &[(&str, &str)], unlock: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("signet-ks.")
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
        for sub in ["home", "run", "config", "state", "keys"] {
            fs::create_dir_all(dir.path().join(sub))
                .unwrap_or_else(|e| panic!("creating {sub}: {e}"));
        }
        // signetd binds only in a private directory.
        chmod(dir.path(), 0o700);
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
            unlock,
        };
        agent.spawn(env);
        if unlock {
            agent.unlock_store().assert_ok();
        }
        agent
    }

    /// `signet unlock-store --passphrase-stdin` with [`STORE_PASSPHRASE`].
    pub fn unlock_store(&self) -> Run {
        self.signet_input(
            ["unlock-store", "--passphrase-stdin"],
            format!("{STORE_PASSPHRASE}\n").as_bytes(),
        )
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
    /// directory, store and service, with `env`; unlocks its key store as
    /// the first start did.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        self.stop();
        self.spawn(env);
        if self.unlock {
            self.unlock_store().assert_ok();
        }
    }

    /// [`StoreAgent::restart`], leaving the key store locked this time.
    pub fn restart_locked(&mut self, env: &[(&str, &str)]) {
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
/// (`… user keyring:<key id>@<service>: N`). Only key ids: the audit key's
/// seed (`signetd-audit-…`) and the store key (`signet-store-key`) are no
/// keys of the user's.
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
            name.strip_prefix("keyring:")
                .filter(|id| id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A keyring service name of a test's own, whose kernel keyring entries are
/// removed when it is dropped. Every daemon a test starts outside the
/// harness gets one (`SIGNET_KEYRING_SERVICE`): signetd files its audit
/// key's seed in the key store, and no test may touch the shared `signet`
/// service or leave entries behind.
pub struct KeyringService(String);

impl KeyringService {
    /// `signet-test-<tag>-<pid>-<random>`.
    pub fn new(tag: &str) -> Self {
        Self(format!(
            "signet-test-{tag}-{}-{:08x}",
            std::process::id(),
            rand_bits()
        ))
    }

    /// A name the test chose itself.
    pub fn named(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name, for `SIGNET_KEYRING_SERVICE`.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl Drop for KeyringService {
    fn drop(&mut self) {
        keyutils_purge(&self.0);
    }
}

/// Removes every kernel keyring entry filed under `service` (what a test or a
/// docs block stored there).
pub fn keyutils_purge(service: &str) {
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

// ---------------------------------------------------------------------------
// Fault injection for the key store (`tests/it/keystore_faults.rs`).

/// A small tmpfs mounted over a directory for the life of the value, so a
/// test can fill it (`ENOSPC`) or remount it read-only (`EROFS`): as root
/// (CI), permission bits would not stop a write, a full or read-only file
/// system does. Unmounted on drop (lazily if still busy).
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=…`, e.g. `"64k"`), mode
    /// 0700, over `dir` (created if missing).
    #[track_caller]
    pub fn mount(dir: &Path, size: &str) -> Self {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        mount(&[
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0700"),
            "tmpfs",
            &dir.to_string_lossy(),
        ]);
        Self {
            dir: dir.to_owned(),
        }
    }

    /// Fills the file system with `name` until a write fails with "no space
    /// left on device"; returns the file's path (delete it to free the space).
    #[track_caller]
    pub fn fill(&self, name: &str) -> PathBuf {
        use std::io::Write as _;
        let path = self.dir.join(name);
        let mut f = fs::File::create(&path).unwrap_or_else(|e| panic!("creating the filler: {e}"));
        let chunk = [0x5au8; 1024];
        loop {
            match f.write_all(&chunk).and_then(|()| f.sync_all()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", self.dir.display()),
            }
        }
        // Bytes written one at a time fill the last partial page too.
        while f.write_all(&[0]).and_then(|()| f.sync_all()).is_ok() {}
        path
    }

    /// Remounts read-only (`true`) or read-write (`false`).
    #[track_caller]
    pub fn set_read_only(&self, ro: bool) {
        let opt = if ro { "remount,ro" } else { "remount,rw" };
        mount(&["-o", opt, &self.dir.to_string_lossy()]);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let status = Command::new("umount")
            .env_clear()
            .env("PATH", CHILD_PATH)
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount")
                .env_clear()
                .env("PATH", CHILD_PATH)
                .arg("-l")
                .arg(&self.dir)
                .status();
        }
    }
}

#[track_caller]
fn mount(args: &[&str]) {
    let r = run(Command::new(system_tool("/usr/bin/mount"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .args(args));
    assert!(
        r.status.success(),
        "mount {args:?} failed (the key-store fault tests run as root, as CI does):\n{r}"
    );
}

/// The environment variables of process `pid`.
fn environ_of(pid: u32) -> Vec<(String, String)> {
    fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Whether `pid` is gone (exited, or a zombie nobody reaped yet).
fn process_gone(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S …": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

impl StoreAgent {
    /// The daemon's pid, from `signet status --json`.
    #[track_caller]
    pub fn daemon_pid(&self) -> u32 {
        let r = self.signet(["status", "--json"]);
        r.assert_ok();
        let doc: serde_json::Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{r}"));
        doc["pid"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or_else(|| panic!("no pid in status:\n{r}"))
    }

    /// The private session bus the daemon talks to (Secret Service only).
    #[track_caller]
    pub fn session_bus(&self) -> String {
        assert_eq!(
            self.store,
            Store::SecretService,
            "only a Secret Service agent has a bus"
        );
        environ_of(self.daemon_pid())
            .into_iter()
            .find(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS")
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("signetd has no DBUS_SESSION_BUS_ADDRESS"))
    }

    /// The live `gnome-keyring-daemon` processes on this agent's bus (the
    /// one started with it, and any the bus started on demand since).
    pub fn keyring_daemons(&self) -> Vec<u32> {
        let bus = self.session_bus();
        let mut pids: Vec<u32> = fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "gnome-keyring-d")
                    && !process_gone(*pid)
                    && environ_of(*pid)
                        .iter()
                        .any(|(k, v)| k == "DBUS_SESSION_BUS_ADDRESS" && *v == bus)
            })
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Kills (SIGKILL) every gnome-keyring on this agent's bus, as a crash
    /// would, and waits until they are gone. Returns their pids.
    #[track_caller]
    pub fn kill_keyring_daemons(&self) -> Vec<u32> {
        let pids = self.keyring_daemons();
        assert!(
            !pids.is_empty(),
            "no gnome-keyring-daemon found on the agent's bus"
        );
        for &pid in &pids {
            let raw = i32::try_from(pid).unwrap_or_else(|e| panic!("{e}"));
            if let Some(p) = rustix::process::Pid::from_raw(raw) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
        crate::wait_for(DEADLINE, "gnome-keyring-daemon to die", || {
            pids.iter().all(|p| process_gone(*p)).then_some(())
        });
        pids
    }

    /// Starts gnome-keyring again on the agent's bus over the same keyring
    /// files, unlocking the `login` collection with [`KEYRING_PASSWORD`]
    /// (`--replace` takes over from one the bus may have started, locked, on
    /// demand), and waits until any such instance has handed over and gone.
    #[track_caller]
    pub fn restart_keyring_daemon(&self) {
        let before = self.keyring_daemons();
        let mut cmd = Command::new(system_tool("/usr/bin/gnome-keyring-daemon"));
        self.base_env(&mut cmd);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", self.session_bus())
            .args(["--replace", "--unlock", "--components=secrets"]);
        run_with_input(&mut cmd, KEYRING_PASSWORD.as_bytes()).assert_ok();
        crate::wait_for(DEADLINE, "the replaced gnome-keyring to hand over", || {
            before.iter().all(|p| process_gone(*p)).then_some(())
        });
        assert!(
            !self.keyring_daemons().is_empty(),
            "gnome-keyring did not come back"
        );
    }
}

// ---------------------------------------------------------------------------
// Reading and writing entries as another process of the user would: the
// tests' view of what a sealed store leaves in the keyring.

impl StoreAgent {
    /// The kernel keyring's bytes for `account` (`keyctl pipe`), `None` if
    /// there is no such entry.
    pub fn keyctl_pipe(&self, account: &str) -> Option<Vec<u8>> {
        let desc = format!("keyring:{account}@{}", self.service);
        let found = run(Command::new("keyctl")
            .env_clear()
            .env("PATH", CHILD_PATH)
            .args(["search", "@u", "user", &desc]));
        if !found.status.success() {
            return None;
        }
        let out = Command::new("keyctl")
            .env_clear()
            .env("PATH", CHILD_PATH)
            .args(["pipe", found.stdout.trim()])
            .output()
            .unwrap_or_else(|e| panic!("keyctl pipe: {e}"));
        assert!(out.status.success(), "keyctl pipe {desc} failed");
        Some(out.stdout)
    }

    /// Replaces the kernel keyring's bytes for `account` (`keyctl padd`),
    /// as another process of the user could.
    #[track_caller]
    pub fn keyctl_padd(&self, account: &str, bytes: &[u8]) {
        let desc = format!("keyring:{account}@{}", self.service);
        let mut cmd = Command::new("keyctl");
        cmd.env_clear()
            .env("PATH", CHILD_PATH)
            .args(["padd", "user", &desc, "@u"]);
        run_with_input(&mut cmd, bytes).assert_ok();
    }

    /// The Secret Service's secret for `account` (`secret-tool lookup
    /// service SERVICE username ACCOUNT` on the agent's bus), as any client
    /// on the session bus can read it.
    pub fn secret_tool_lookup(&self, account: &str) -> Option<Vec<u8>> {
        let mut cmd = Command::new(system_tool("/usr/bin/secret-tool"));
        self.base_env(&mut cmd);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", self.session_bus())
            .args(["lookup", "service", &self.service, "username", account]);
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("secret-tool: {e}"));
        (out.status.success() && !out.stdout.is_empty()).then_some(out.stdout)
    }

    /// Replaces the Secret Service's secret for `account` (`secret-tool
    /// store`, which reads the secret from stdin).
    #[track_caller]
    pub fn secret_tool_store(&self, account: &str, bytes: &[u8]) {
        let mut cmd = Command::new(system_tool("/usr/bin/secret-tool"));
        self.base_env(&mut cmd);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", self.session_bus())
            .args([
                "store",
                "--label",
                "tampered",
                "service",
                &self.service,
                "username",
                account,
            ]);
        run_with_input(&mut cmd, bytes).assert_ok();
    }

    /// What the store holds for `account`, read with the store's own tool.
    pub fn entry_bytes(&self, account: &str) -> Option<Vec<u8>> {
        match self.store {
            Store::Keyutils => self.keyctl_pipe(account),
            Store::SecretService => self.secret_tool_lookup(account),
        }
    }

    /// Which store this agent uses.
    pub fn store(&self) -> Store {
        self.store
    }
}
