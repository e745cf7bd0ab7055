//! Helpers for signet's integration tests.
//!
//! **Owns**: starting the real `signetd` binary in a private temporary
//! directory (its own `HOME`, `XDG_RUNTIME_DIR`, `XDG_CONFIG_HOME`,
//! `XDG_STATE_HOME` and socket), running OpenSSH's real tools and the `signet`
//! CLI against it, and talking raw agent protocol over its socket.
//!
//! **Must not**: fake any part under test. Nothing here implements agent
//! behaviour; every test drives the built binaries through a real Unix socket.
//! Each [`Agent`] is self-contained, so tests run in parallel safely.
//!
//! The binaries are found in `$SIGNET_BIN_DIR`, else in the workspace's
//! `target/debug`. Build them first with `cargo build --workspace --bins`
//! (`scripts/test.sh` does).

pub mod keystore;
pub mod memscan;
pub mod sshd;

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use signet_proto::frame;
use signet_proto::message::{Request, Response};
use signet_proto::wire::WireWrite;

pub use rustix::process::Signal;

/// How long a daemon gets to start, and the default deadline for polls.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// How often polls look again.
const POLL: Duration = Duration::from_millis(20);

/// The directory holding `signetd` and `signet`.
///
/// `$SIGNET_BIN_DIR` if set, else `<workspace>/target/debug`.
pub fn bin_dir() -> PathBuf {
    match std::env::var_os("SIGNET_BIN_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug"),
    }
}

/// The path of a built workspace binary; panics with what to do if it is missing.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} not found: run `cargo build --workspace --bins` first \
         (or set SIGNET_BIN_DIR to the directory that holds it)",
        path.display()
    );
    path
}

/// The path of a system tool the tests need; panics with what to do if it is
/// missing. Tests must fail, not skip, when their tools are absent.
pub fn system_tool(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.is_file(),
        "{path} not found: run `scripts/install-test-deps.sh` (as root) to install the test dependencies"
    );
    p
}

/// `PATH` for every child process: the system directories only, so that no
/// developer tool shadows OpenSSH's.
pub const CHILD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Polls `f` until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        thread::sleep(POLL);
    }
}

/// The outcome of a finished command, with its output as text.
pub struct Run {
    /// What ran, for messages.
    pub command: String,
    /// How it exited.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Run {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics, showing the output, unless the command succeeded.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.status.success(), "expected success:\n{self}");
        self
    }

    /// Panics, showing the output, unless the command exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "unexpected exit code:\n{self}");
        self
    }

    /// Panics, showing the output, if the command succeeded.
    #[track_caller]
    pub fn assert_fail(&self) -> &Self {
        assert!(!self.status.success(), "expected failure:\n{self}");
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        writeln!(f, "exit: {}", self.status)?;
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        write!(f, "--- stderr\n{}", self.stderr)
    }
}

/// How long any one command may run before the test gives up on it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` to completion with stdin from `/dev/null`, capturing its output.
/// Kills it and panics if it runs longer than [`COMMAND_TIMEOUT`], so that a
/// daemon that never replies fails the test instead of hanging it.
pub fn run(cmd: &mut Command) -> Run {
    run_timeout(cmd, COMMAND_TIMEOUT)
}

/// [`run`] with an explicit time limit.
pub fn run_timeout(cmd: &mut Command, timeout: Duration) -> Run {
    run_full(cmd, None, timeout)
}

/// [`run`] with `input` on the command's stdin.
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Run {
    run_full(cmd, Some(input.to_vec()), COMMAND_TIMEOUT)
}

fn run_full(cmd: &mut Command, input: Option<Vec<u8>>, timeout: Duration) -> Run {
    let command = describe(cmd);
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {command}: {e}"));
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A writer thread, so a command that does not read cannot block us;
        // stdin closes when the thread ends.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                let out = stdout.join().unwrap_or_default();
                let err = stderr.join().unwrap_or_default();
                panic!("{command} still running after {timeout:?}; killed it\n--- stdout\n{out}\n--- stderr\n{err}");
            }
            Ok(None) => thread::sleep(POLL),
            Err(e) => panic!("waiting for {command}: {e}"),
        }
    };
    Run {
        command,
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A key pair written by `ssh-keygen`.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    /// The private key file (OpenSSH format, no passphrase).
    pub private: PathBuf,
    /// The `.pub` file.
    pub public: PathBuf,
    /// The comment given to `ssh-keygen -C`.
    pub comment: String,
}

impl KeyFiles {
    /// The `.pub` file's contents, trimmed.
    pub fn public_line(&self) -> String {
        fs::read_to_string(&self.public)
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.public.display()))
            .trim()
            .to_owned()
    }

    /// The `.pub` line's `type base64` part, without the comment.
    pub fn public_key_part(&self) -> String {
        self.public_line()
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The public key blob (the `.pub` line's base64 part, decoded).
    pub fn public_blob(&self) -> Vec<u8> {
        use base64::Engine as _;
        let line = self.public_line();
        let b64 = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("malformed public key line {line:?}"));
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|e| panic!("bad base64 in {line:?}: {e}"))
    }

    /// `SHA256:…` fingerprint as `ssh-keygen -lf` prints it.
    pub fn fingerprint(&self) -> String {
        let r = run(ssh_command("ssh-keygen")
            .arg("-lf")
            .arg(&self.public)
            .env("HOME", self.public.parent().unwrap_or(Path::new("/"))));
        r.assert_ok();
        r.stdout
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("unexpected ssh-keygen -lf output:\n{r}"))
            .to_owned()
    }
}

/// A `Command` for an OpenSSH tool with a clean environment (only `PATH`).
pub fn ssh_command(tool: &str) -> Command {
    let mut cmd = Command::new(tool);
    cmd.env_clear().env("PATH", CHILD_PATH);
    cmd
}

/// Generates a key with `ssh-keygen -t <key_type> -N '' -C <comment>` into `dir`.
pub fn generate_key(dir: &Path, key_type: &str, comment: &str) -> KeyFiles {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let private = dir.join(format!("{comment}-{key_type}"));
    let mut cmd = ssh_command("ssh-keygen");
    cmd.env("HOME", dir)
        .args(["-q", "-t", key_type, "-N", "", "-C", comment])
        .arg("-f")
        .arg(&private);
    if key_type == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    run(&mut cmd).assert_ok();
    let mut public = private.clone().into_os_string();
    public.push(".pub");
    KeyFiles {
        private,
        public: PathBuf::from(public),
        comment: comment.to_owned(),
    }
}

/// Options for starting a daemon.
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    /// Socket path; default `<tmp>/agent.sock`.
    pub socket: Option<PathBuf>,
    /// A config file's contents, written to `<tmp>/config/signet/config.toml`
    /// and passed with `--config`.
    pub config: Option<String>,
    /// Extra arguments for `signetd`.
    pub args: Vec<String>,
}

/// A running `signetd` in its own temporary directory. Dropping it kills the
/// daemon (and removes the directory).
pub struct Agent {
    dir: tempfile::TempDir,
    socket: PathBuf,
    log: PathBuf,
    /// Its keyring service name (`SIGNET_KEYRING_SERVICE`).
    service: String,
    child: Option<Child>,
    exit: Option<ExitStatus>,
    /// What it was started with (for [`Agent::restart`]).
    opts: AgentOptions,
}

impl Agent {
    /// Starts the daemon again in the same directory, with the same options
    /// (after it has exited: [`Agent::wait_exit`]), and waits until it
    /// answers. What the first start customized is not repeated.
    pub fn restart(&mut self) {
        assert!(!self.is_running(), "restart: the daemon still runs");
        let mut cmd = self.daemon_command();
        if self.opts.config.is_some() {
            cmd.arg("--config").arg(self.config_file());
        }
        cmd.args(&self.opts.args);
        self.private_state(&self.opts.clone(), &mut cmd);
        let child = self.spawn_logged(&mut cmd, &self.log.clone());
        self.child = Some(child);
        self.exit = None;
        self.wait_ready();
    }

    /// Starts a daemon with default options and waits until it answers.
    pub fn start() -> Self {
        Self::start_with(AgentOptions::default())
    }

    /// Starts a daemon with `opts` and waits until its socket accepts a
    /// connection (at most [`DEADLINE`]); panics with the daemon's log otherwise.
    pub fn start_with(opts: AgentOptions) -> Self {
        Self::start_with_env(opts, &[])
    }

    /// [`Agent::start_with`], with `env` added to signetd's clean
    /// environment (e.g. `SOFTHSM2_CONF` for the PKCS#11 tests).
    pub fn start_with_env(opts: AgentOptions, env: &[(&str, &Path)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("signet-it.")
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
        for sub in ["home", "run", "config", "state", "keys"] {
            fs::create_dir_all(dir.path().join(sub))
                .unwrap_or_else(|e| panic!("creating {sub}: {e}"));
        }
        // The socket's directory must be private (signetd refuses any other).
        chmod(dir.path(), 0o700);
        chmod(&dir.path().join("run"), 0o700);
        let socket = opts
            .socket
            .clone()
            .unwrap_or_else(|| dir.path().join("agent.sock"));
        let log = dir.path().join("signetd.log");
        let service = test_service(dir.path());
        let mut agent = Agent {
            dir,
            socket,
            log,
            service,
            child: None,
            exit: None,
            opts: opts.clone(),
        };
        let mut cmd = agent.daemon_command();
        if let Some(config) = &opts.config {
            let file = agent.config_file();
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
            }
            fs::write(&file, config).unwrap_or_else(|e| panic!("writing config: {e}"));
            cmd.arg("--config").arg(&file);
        }
        cmd.args(&opts.args);
        agent.private_state(&opts, &mut cmd);
        cmd.envs(env.iter().copied());
        let child = agent.spawn_logged(&mut cmd, &agent.log.clone());
        agent.child = Some(child);
        agent.wait_ready();
        agent
    }

    /// A `--system` daemon writes its state (audit log, audit key) under the
    /// agent's temp dir unless the test chose a `--state-dir`.
    fn private_state(&self, opts: &AgentOptions, cmd: &mut Command) {
        let system = opts.args.iter().any(|a| a == "--system");
        let chosen = opts.args.iter().any(|a| a.starts_with("--state-dir"));
        if system && !chosen {
            cmd.arg("--state-dir").arg(self.system_state_dir());
        }
    }

    /// A `signetd` command for this agent's socket and environment, not yet
    /// started: `signetd --socket <sock> --log-level debug`.
    pub fn daemon_command(&self) -> Command {
        let mut cmd = Command::new(bin("signetd"));
        self.clean_env(&mut cmd);
        cmd.env("SIGNET_AUTH_SOCK", &self.socket)
            .arg("--socket")
            .arg(&self.socket)
            .args(["--log-level", "debug"]);
        cmd
    }

    /// Spawns `cmd` with stdin from `/dev/null` and stdout and stderr appended
    /// to `log`.
    pub fn spawn_logged(&self, cmd: &mut Command, log: &Path) -> Child {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("opening {}: {e}", log.display()));
        let file2 = file
            .try_clone()
            .unwrap_or_else(|e| panic!("dup log file: {e}"));
        cmd.stdin(Stdio::null())
            .stdout(file2)
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", describe(cmd)))
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if self.socket.exists() && UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if let Some(status) = self.try_exit() {
                panic!(
                    "signetd exited with {status} before its socket answered\n--- log\n{}",
                    self.log()
                );
            }
            if start.elapsed() > DEADLINE {
                panic!(
                    "signetd did not answer on {} within {DEADLINE:?}\n--- log\n{}",
                    self.socket.display(),
                    self.log()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Replaces the child's environment with `PATH`, this agent's private
    /// `HOME` and XDG directories, and its own keyring service name (so no
    /// test ever files a key under the user's real service, `signet`).
    pub fn clean_env(&self, cmd: &mut Command) {
        let d = self.dir.path();
        cmd.env_clear()
            .env("PATH", CHILD_PATH)
            .env("HOME", d.join("home"))
            .env("XDG_RUNTIME_DIR", d.join("run"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("SIGNET_KEYRING_SERVICE", &self.service);
    }

    /// The keyring service name this agent's processes file keys under
    /// (stored keys, and the daemon's audit key).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The state directory a `--system` agent gets (never /var/lib/signet):
    /// `<tmp>/system-state`.
    pub fn system_state_dir(&self) -> PathBuf {
        self.dir.path().join("system-state")
    }

    /// The temporary directory everything of this agent lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The agent's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The config file written for [`AgentOptions::config`].
    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("config/signet/config.toml")
    }

    /// Where the daemon's stderr goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains every one of `needles` (on one line),
    /// and returns that line; panics with the log after [`DEADLINE`].
    #[track_caller]
    pub fn wait_log_line(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| needles.iter().all(|n| l.contains(n))) {
                return line.to_owned();
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no log line contains all of {needles:?} after {DEADLINE:?}\n--- log\n{log}"
            );
            thread::sleep(POLL);
        }
    }

    /// The daemon's process id.
    pub fn pid(&self) -> rustix::process::Pid {
        let child = self.child.as_ref().unwrap_or_else(|| panic!("no daemon"));
        rustix::process::Pid::from_child(child)
    }

    /// Sends `signal` to the daemon.
    pub fn signal(&self, signal: Signal) {
        rustix::process::kill_process(self.pid(), signal)
            .unwrap_or_else(|e| panic!("kill({signal:?}): {e}"));
    }

    /// The daemon's exit status if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Some(child) = self.child.as_mut() {
                self.exit = child
                    .try_wait()
                    .unwrap_or_else(|e| panic!("waiting for signetd: {e}"));
            }
        }
        self.exit
    }

    /// True while the daemon process runs.
    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// Waits (at most [`DEADLINE`]) for the daemon to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.try_exit() {
                return s;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "signetd still running {DEADLINE:?} after being asked to stop\n--- log\n{}",
                self.log()
            );
            thread::sleep(POLL);
        }
    }

    /// Kills the daemon with SIGKILL (`kill -9`) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            self.exit = child.wait().ok();
        }
    }

    /// Opens a raw protocol connection to the socket.
    pub fn connect(&self) -> RawConn {
        RawConn::connect(&self.socket)
    }

    /// A command for an OpenSSH tool (`ssh-add`, `ssh-keygen`, `ssh`) with
    /// this agent's clean environment and `SSH_AUTH_SOCK` set to its socket.
    pub fn ssh_tool(&self, tool: &str) -> Command {
        let mut cmd = Command::new(tool);
        self.clean_env(&mut cmd);
        cmd.env("SSH_AUTH_SOCK", &self.socket);
        cmd
    }

    /// Runs `ssh-add <args>` against this agent.
    pub fn ssh_add<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.ssh_tool("ssh-add").args(args))
    }

    /// Runs `ssh-keygen <args>` against this agent.
    pub fn ssh_keygen<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.ssh_tool("ssh-keygen").args(args))
    }

    /// A `signet` CLI command with this agent's environment and
    /// `SIGNET_AUTH_SOCK` set to its socket.
    pub fn signet_command(&self) -> Command {
        let mut cmd = Command::new(bin("signet"));
        self.clean_env(&mut cmd);
        cmd.env("SIGNET_AUTH_SOCK", &self.socket);
        cmd
    }

    /// Runs `signet <args>` against this agent.
    pub fn signet<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.signet_command().args(args))
    }

    /// Generates a key pair in this agent's `keys/` directory.
    pub fn keygen(&self, key_type: &str, comment: &str) -> KeyFiles {
        generate_key(&self.dir.path().join("keys"), key_type, comment)
    }

    /// An executable `SSH_ASKPASS` program that prints `$SIGNET_TEST_ANSWER`,
    /// written once per agent.
    ///
    /// The answer travels in the environment rather than in a script written
    /// per call: a file just written by one thread can fail to execute with
    /// ETXTBSY while another thread forks.
    pub fn askpass(&self) -> PathBuf {
        let path = self.dir.path().join("askpass");
        if !path.exists() {
            fs::write(&path, "#!/bin/sh\nprintf '%s\\n' \"$SIGNET_TEST_ANSWER\"\n")
                .unwrap_or_else(|e| panic!("writing askpass: {e}"));
            chmod(&path, 0o700);
        }
        path
    }

    /// Runs `ssh-add <args>` with every passphrase prompt answered by
    /// `answer` (through `SSH_ASKPASS`, as no TTY is available).
    pub fn ssh_add_with_passphrase<I, S>(&self, answer: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<S> = args.into_iter().collect();
        let askpass = self.askpass();
        let mut attempt = 0;
        loop {
            let r = run(self
                .ssh_tool("ssh-add")
                .env("SSH_ASKPASS", &askpass)
                .env("SSH_ASKPASS_REQUIRE", "force")
                .env("DISPLAY", ":0")
                .env("SIGNET_TEST_ANSWER", answer)
                .args(&args));
            // ssh-add sent nothing if it could not run askpass: safe to retry.
            if r.stderr.contains("Text file busy") && attempt < 5 {
                attempt += 1;
                thread::sleep(POLL);
                continue;
            }
            return r;
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if self.exit.is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // Whatever the test stored in the kernel keyring goes with it.
        keystore::keyutils_purge(&self.service);
    }
}

/// A keyring service name of a test's own, from its temporary directory's
/// unique name: `signet-it-<suffix>`.
fn test_service(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("signet-it-{suffix}")
}

/// Sets a file's permission bits.
pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// The permission bits of a file (without following a final symlink).
pub fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// A raw agent-protocol connection, for sending exact bytes.
pub struct RawConn {
    stream: UnixStream,
}

impl RawConn {
    /// Connects to `socket`; reads time out after [`DEADLINE`].
    pub fn connect(socket: &Path) -> Self {
        let stream = UnixStream::connect(socket)
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", socket.display()));
        stream
            .set_read_timeout(Some(DEADLINE))
            .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
        Self { stream }
    }

    /// The underlying stream.
    pub fn stream(&mut self) -> &mut UnixStream {
        &mut self.stream
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Writes a message body as a frame (adds the length prefix).
    pub fn send_body(&mut self, body: &[u8]) {
        let mut out = Vec::with_capacity(body.len() + 4);
        out.put_u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
        out.put_raw(body);
        self.send_raw(&out)
            .unwrap_or_else(|e| panic!("writing to the agent: {e}"));
    }

    /// Writes an encoded request.
    pub fn send(&mut self, req: &Request<'_>) {
        let mut out = Vec::new();
        req.encode_frame(&mut out);
        self.send_raw(&out)
            .unwrap_or_else(|e| panic!("writing to the agent: {e}"));
    }

    /// Reads one reply frame's body; `Ok(None)` if the agent closed the
    /// connection before a reply started.
    pub fn recv_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut prefix = [0u8; frame::LEN_PREFIX];
        let mut got = 0;
        while got < prefix.len() {
            match self.stream.read(&mut prefix[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let len = frame::body_len(prefix)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body)?;
        Ok(Some(body))
    }

    /// Reads one reply and decodes it; panics on EOF or a malformed reply.
    pub fn recv(&mut self) -> Response {
        let body = self
            .recv_frame()
            .unwrap_or_else(|e| panic!("reading a reply: {e}"))
            .unwrap_or_else(|| panic!("the agent closed the connection instead of replying"));
        Response::decode(&body).unwrap_or_else(|e| panic!("undecodable reply {body:?}: {e}"))
    }

    /// Sends a request and returns its reply.
    pub fn request(&mut self, req: &Request<'_>) -> Response {
        self.send(req);
        self.recv()
    }

    /// Sends a raw body and returns its decoded reply.
    pub fn request_body(&mut self, body: &[u8]) -> Response {
        self.send_body(body);
        self.recv()
    }

    /// Waits (at most `timeout`) for the agent to close the connection without
    /// sending anything. Panics if it sends bytes or keeps it open.
    #[track_caller]
    pub fn expect_closed(&mut self, timeout: Duration) {
        self.stream
            .set_read_timeout(Some(timeout))
            .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
        let mut buf = [0u8; 64];
        match self.stream.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Ok(n) => panic!(
                "expected the agent to close the connection, got {n} bytes: {:?}",
                &buf[..n]
            ),
            Err(e) => panic!("expected the agent to close the connection within {timeout:?}: {e}"),
        }
    }

    /// Asserts nothing more arrives within `wait` (the connection stays open
    /// and silent).
    #[track_caller]
    pub fn expect_silence(&mut self, wait: Duration) {
        self.stream
            .set_read_timeout(Some(wait))
            .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
        let mut buf = [0u8; 64];
        match self.stream.read(&mut buf) {
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            }
            Ok(0) => panic!("the agent closed the connection"),
            Ok(n) => panic!("unexpected extra reply bytes: {:?}", &buf[..n]),
            Err(e) => panic!("reading: {e}"),
        }
        self.stream
            .set_read_timeout(Some(DEADLINE))
            .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
    }
}

/// A test key: an Ed25519 key pair from a fixed seed, with helpers to build
/// the agent messages that carry it.
pub struct TestKey {
    /// The signing key.
    pub signing: ed25519_dalek::SigningKey,
    /// Its comment (signet's key name).
    pub comment: String,
}

impl TestKey {
    /// A key from a fixed seed, so failures are reproducible.
    pub fn from_seed(seed: u8, comment: &str) -> Self {
        Self {
            signing: ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
            comment: comment.to_owned(),
        }
    }

    /// The 32-byte public key.
    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The SSH public key blob.
    pub fn blob(&self) -> Vec<u8> {
        signet_proto::key::ed25519_blob(&self.public())
    }

    /// The `ADD_IDENTITY` request for this key with `constraints`.
    pub fn add_request(&self, constraints: Vec<signet_proto::Constraint>) -> Request<'static> {
        Request::AddIdentity(signet_proto::AddIdentity {
            key: signet_proto::NewKey::Ed25519 {
                public: self.public(),
                seed: signet_proto::Ed25519Seed::new(self.signing.to_bytes()),
            },
            comment: self.comment.clone(),
            constraints,
        })
    }
}

/// Checks an SSH Ed25519 signature blob (`string "ssh-ed25519", string sig`)
/// over `data` against `public`; panics with the reason if it does not verify.
#[track_caller]
pub fn verify_ssh_signature(public: &[u8; 32], data: &[u8], sig_blob: &[u8]) {
    use ed25519_dalek::Verifier as _;
    let mut r = signet_proto::wire::Reader::new(sig_blob);
    let alg = r
        .utf8("signature algorithm")
        .unwrap_or_else(|e| panic!("bad signature blob: {e}"));
    assert_eq!(alg, signet_proto::key::ED25519_ALGORITHM);
    let sig: [u8; 64] = r
        .fixed("signature")
        .unwrap_or_else(|e| panic!("bad signature blob: {e}"));
    r.finish()
        .unwrap_or_else(|e| panic!("bad signature blob: {e}"));
    let key = ed25519_dalek::VerifyingKey::from_bytes(public)
        .unwrap_or_else(|e| panic!("bad public key: {e}"));
    key.verify(data, &ed25519_dalek::Signature::from_bytes(&sig))
        .unwrap_or_else(|e| panic!("signature does not verify: {e}"));
}

/// Identities listed by a `REQUEST_IDENTITIES` on `conn`.
#[track_caller]
pub fn list_identities(conn: &mut RawConn) -> Vec<signet_proto::Identity> {
    match conn.request(&Request::RequestIdentities) {
        Response::Identities(ids) => ids,
        other => panic!("expected IDENTITIES_ANSWER, got {other:?}"),
    }
}

/// Reads an Ed25519 key pair from an OpenSSH private key file written by
/// `ssh-keygen` (no passphrase): returns `(seed, public)`.
pub fn read_ed25519_private(path: &Path) -> ([u8; 32], [u8; 32]) {
    let key = ssh_key::PrivateKey::read_openssh_file(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let pair = key
        .key_data()
        .ed25519()
        .unwrap_or_else(|| panic!("{} is not an Ed25519 key", path.display()));
    (pair.private.to_bytes(), pair.public.0)
}

/// A free TCP port on 127.0.0.1 (bound and released; the caller retries if
/// someone takes it in between).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("binding a loopback port: {e}"));
    l.local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"))
        .port()
}

/// The current effective user id.
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The current user's name, from `/etc/passwd` through `id -un`.
pub fn my_user_name() -> String {
    let r = run(Command::new("id").arg("-un"));
    r.assert_ok();
    r.stdout.trim().to_owned()
}

// ---------------------------------------------------------------------------
// Helpers for the hardening, load, abuse and fault tests.

impl Agent {
    /// Starts a daemon like [`Agent::start_with`], letting `customize` change
    /// the `signetd` command (e.g. add `SIGNET_ASKPASS` to its environment)
    /// before it is spawned. `customize` gets the agent's directory.
    pub fn start_customized(
        opts: AgentOptions,
        customize: impl FnOnce(&Path, &mut Command),
    ) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("signet-it.")
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
        for sub in ["home", "run", "config", "state", "keys"] {
            fs::create_dir_all(dir.path().join(sub))
                .unwrap_or_else(|e| panic!("creating {sub}: {e}"));
        }
        // The socket's directory must be private (signetd refuses any other).
        chmod(dir.path(), 0o700);
        chmod(&dir.path().join("run"), 0o700);
        let socket = opts
            .socket
            .clone()
            .unwrap_or_else(|| dir.path().join("agent.sock"));
        let log = dir.path().join("signetd.log");
        let service = test_service(dir.path());
        let mut agent = Agent {
            dir,
            socket,
            log,
            service,
            child: None,
            exit: None,
            opts: opts.clone(),
        };
        let mut cmd = agent.daemon_command();
        if let Some(config) = &opts.config {
            let file = agent.config_file();
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
            }
            fs::write(&file, config).unwrap_or_else(|e| panic!("writing config: {e}"));
            cmd.arg("--config").arg(&file);
        }
        cmd.args(&opts.args);
        agent.private_state(&opts, &mut cmd);
        customize(agent.dir.path(), &mut cmd);
        let child = agent.spawn_logged(&mut cmd, &agent.log.clone());
        agent.child = Some(child);
        agent.wait_ready();
        agent
    }

    /// The daemon's process id as a plain number (for `/proc`).
    pub fn pid_raw(&self) -> i32 {
        self.pid().as_raw_nonzero().get()
    }
}

/// One field of `/proc/<pid>/status` (e.g. `VmRSS`), trimmed; `None` if the
/// process or the field is gone.
pub fn proc_status_field(pid: i32, field: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    })
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, `VmLck`) in KiB;
/// panics if it cannot be read.
#[track_caller]
pub fn proc_kib(pid: i32, field: &str) -> u64 {
    proc_status_field(pid, field)
        .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The seed frames captured from real OpenSSH traffic (`fuzz/seeds/*.bin`,
/// each one message body without its length prefix), sorted by file name.
pub fn captured_seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut seeds: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = fs::read(e.path()).unwrap_or_else(|err| panic!("reading {name}: {err}"));
            (name, bytes)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// A small deterministic pseudo-random generator (xorshift64*), so that the
/// load and abuse tests are reproducible from a printed seed.
#[derive(Debug, Clone)]
pub struct TestRng(u64);

impl TestRng {
    /// A generator from `seed` (0 is replaced by a fixed non-zero value).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

// ---------------------------------------------------------------------------
// Other users, for the tests that play a second local user (needs root).

/// A user made with `useradd` for one test (unique name, no home, primary
/// group `nogroup`), deleted with `userdel` on drop.
pub struct TempUser {
    /// The user name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid (`nogroup`).
    pub gid: u32,
}

impl TempUser {
    /// Creates a user named `<prefix><pid><n>` (at most 32 characters).
    /// Panics unless the tests run as root.
    pub fn create(prefix: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        assert_eq!(
            my_uid(),
            0,
            "this test plays other local users (useradd, setpriv): run the tests as root (CI does)"
        );
        let name = format!(
            "{prefix}{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        assert!(name.len() <= 32, "user name {name} too long for useradd");
        run(Command::new(system_tool("/usr/sbin/useradd"))
            .args(["--no-create-home", "--no-user-group", "--gid", "nogroup"])
            .args(["--shell", "/usr/sbin/nologin", "--home-dir", "/nonexistent"])
            .arg(&name))
        .assert_ok();
        let id = |flag: &str| -> u32 {
            let r = run(Command::new("id").arg(flag).arg(&name));
            r.assert_ok();
            r.stdout
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("id {flag} {name}: {e}"))
        };
        let (uid, gid) = (id("-u"), id("-g"));
        Self { name, uid, gid }
    }

    /// `setpriv --reuid --regid --clear-groups -- program`, with an empty
    /// environment but `PATH`: a process of this user and nobody else.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(system_tool("/usr/bin/setpriv"));
        cmd.env_clear()
            .env("PATH", CHILD_PATH)
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .args(["--clear-groups", "--"])
            .arg(program);
        cmd
    }

    /// Gives `path` to this user (`chown`, not following a link).
    pub fn chown(&self, path: &Path) {
        rustix::fs::chownat(
            rustix::fs::CWD,
            path,
            Some(rustix::fs::Uid::from_raw(self.uid)),
            Some(rustix::fs::Gid::from_raw(self.gid)),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap_or_else(|e| panic!("chown {} {}: {e}", self.name, path.display()));
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        // Tests end the processes they started as this user (by pid), but a
        // test that panics half-way may leave one behind, and userdel
        // refuses a user that still runs a process. The uid was made for
        // this test alone, so whatever still runs under it is the test's:
        // end it, then remove the user.
        for _ in 0..50 {
            let left = pids_of_uid(self.uid);
            if left.is_empty() {
                break;
            }
            for pid in left {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, Signal::KILL);
                }
            }
            thread::sleep(POLL);
        }
        let _ = Command::new("/usr/sbin/userdel").arg(&self.name).status();
    }
}

/// The processes whose real or effective uid is `uid` (from `/proc`).
fn pids_of_uid(uid: u32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            proc_status_field(*pid, "Uid").is_some_and(|uids| {
                uids.split_whitespace()
                    .take(2)
                    .any(|u| u.parse::<u32>() == Ok(uid))
            })
        })
        .collect()
}

/// A temporary directory every user can enter (0755, owned by root), for
/// tests in which several users share a place.
pub fn shared_tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("signet-it.")
        .tempdir()
        .unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
    chmod(dir.path(), 0o755);
    dir
}
