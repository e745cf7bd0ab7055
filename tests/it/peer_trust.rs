//! Every client checks who serves the socket before it sends a byte
//! (issue #12).
//!
//! Played with real users (`useradd`, `setpriv`; needs root, as CI runs): a
//! fake agent run by another uid listens where the victim's clients look,
//! and records every byte it receives. `signet start`, `add`, `import` and
//! `list`, `signet-client` (blocking and tokio, through
//! `signet-it-client`) and `signet_encord.user_client()` all refuse it, say
//! which uid serves the socket, and the fake agent received **zero bytes**
//! (it did accept their connections: the refusal comes after `connect`). At
//! the default path the directory check stops them before they connect.
//! The same clients accept the victim's own signetd and root's system agent.
//!
//! A uid a system agent refuses is told why, in the words each client shows
//! errors in; `ssh-add -l` fails as usual (exit 1) instead of dying of
//! SIGPIPE; the refusals are logged once per uid per minute. A socket whose
//! file permissions keep a user out says so.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use signet_tests::{
    bin, chmod, generate_key, run_timeout, shared_tempdir, wait_for, Agent, AgentOptions, Run,
    TempUser, DEADLINE,
};

/// How long one client may take (a client that sent its request to the fake
/// agent would wait for a reply that never comes).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// A listener run as another user that accepts every connection, never
/// answers, and appends `conn N bytes LEN HEX` to the record file when the
/// client hangs up.
const FAKE_AGENT: &str = r#"
import os, socket, sys, threading
path, record = sys.argv[1], sys.argv[2]
os.umask(0)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(64)
lock = threading.Lock()
def serve(conn, n):
    data = b""
    conn.settimeout(60)
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    with lock, open(record, "a") as f:
        f.write("conn %d bytes %d %s\n" % (n, len(data), data.hex()))
    conn.close()
n = 0
while True:
    conn, _ = srv.accept()
    n += 1
    threading.Thread(target=serve, args=(conn, n), daemon=True).start()
"#;

/// The attacker's fake agent; killed by pid on drop.
struct FakeAgent {
    child: Child,
    socket: PathBuf,
    record: PathBuf,
}

impl FakeAgent {
    /// Starts the fake agent as `attacker`, listening at `socket` (in a
    /// directory the attacker may write to) and recording into `record`.
    fn start(attacker: &TempUser, socket: &Path, record: &Path) -> Self {
        let python = signet_tests::system_tool("/usr/bin/python3");
        let child = attacker
            .command(python)
            .args(["-c", FAKE_AGENT])
            .arg(socket)
            .arg(record)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the fake agent: {e}"));
        wait_for(DEADLINE, "the fake agent's socket", || {
            socket.exists().then_some(())
        });
        Self {
            child,
            socket: socket.to_owned(),
            record: record.to_owned(),
        }
    }

    /// The connections recorded so far: (bytes received, hex).
    fn connections(&self) -> Vec<(usize, String)> {
        fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                let n = f.get(3).and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
                (n, f.get(4).copied().unwrap_or_default().to_owned())
            })
            .collect()
    }

    /// Waits for `n` recorded connections and checks that none carried a byte.
    #[track_caller]
    fn assert_connected_and_received_nothing(&self, n: usize) {
        let got = wait_for(DEADLINE, "the clients' connections to be recorded", || {
            let c = self.connections();
            (c.len() >= n).then_some(c)
        });
        assert_eq!(got.len(), n, "connections: {got:?}");
        for (bytes, hex) in &got {
            assert_eq!(*bytes, 0, "the fake agent received {hex}");
        }
    }
}

impl Drop for FakeAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A victim with a private home and a key file in it, an attacker, and a
/// `/tmp`-like shared directory.
struct Scene {
    base: tempfile::TempDir,
    victim: TempUser,
    attacker: TempUser,
}

impl Scene {
    fn new() -> Self {
        let base = shared_tempdir();
        let victim = TempUser::create("sgvic");
        let attacker = TempUser::create("sgatk");
        let shared = base.path().join("shared");
        fs::create_dir(&shared).unwrap_or_else(|e| panic!("{e}"));
        chmod(&shared, 0o1777);
        let home = base.path().join("home");
        let key = generate_key(&home.join("keys"), "ed25519", "victim-key");
        for p in [&home, &home.join("keys"), &key.private, &key.public] {
            victim.chown(p);
        }
        chmod(&home, 0o700);
        Self {
            base,
            victim,
            attacker,
        }
    }

    fn shared(&self) -> PathBuf {
        self.base.path().join("shared")
    }

    fn home(&self) -> PathBuf {
        self.base.path().join("home")
    }

    fn key_file(&self) -> PathBuf {
        self.home().join("keys/victim-key-ed25519")
    }

    /// A directory of the attacker's in the shared one, open to all.
    fn attacker_dir(&self, name: &str) -> PathBuf {
        let dir = self.shared().join(name);
        run_timeout(
            self.attacker
                .command("mkdir")
                .args(["-m", "0777"])
                .arg(&dir),
            DEADLINE,
        )
        .assert_ok();
        dir
    }

    /// `program` as the victim with HOME set and `env` added.
    fn as_victim(&self, program: impl AsRef<std::ffi::OsStr>, env: &[(&str, &Path)]) -> Command {
        let mut cmd = self.victim.command(program);
        cmd.env("HOME", self.home());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Every client, as the victim with `env`: name and outcome.
    fn every_client(&self, env: &[(&str, &Path)]) -> Vec<(&'static str, Run)> {
        let key = self.key_file();
        let signet = |args: &[&str]| {
            let mut cmd = self.as_victim(bin("signet"), env);
            cmd.args(args);
            cmd
        };
        let mut add = signet(&["add"]);
        add.arg(&key);
        let mut import = signet(&["import"]);
        import.arg(&key);
        let mut out = vec![
            (
                "signet start",
                run_timeout(&mut signet(&["start"]), CLIENT_TIMEOUT),
            ),
            ("signet add", run_timeout(&mut add, CLIENT_TIMEOUT)),
            ("signet import", run_timeout(&mut import, CLIENT_TIMEOUT)),
            (
                "signet list",
                run_timeout(&mut signet(&["list"]), CLIENT_TIMEOUT),
            ),
        ];
        for mode in ["blocking", "tokio"] {
            let mut cmd = self.as_victim(bin("signet-it-client"), env);
            cmd.arg(mode);
            let name = if mode == "blocking" {
                "signet-client blocking"
            } else {
                "signet-client tokio"
            };
            out.push((name, run_timeout(&mut cmd, CLIENT_TIMEOUT)));
        }
        let mut py = self.as_victim(venv_python(), env);
        py.args(["-c", PY_CLIENT]);
        out.push((
            "signet_encord.user_client()",
            run_timeout(&mut py, CLIENT_TIMEOUT),
        ));
        out
    }
}

/// `signet_encord.user_client()`; prints `ok` or `error: CLASS: MESSAGE`.
const PY_CLIENT: &str = r#"
import sys
import signet_encord
try:
    signet_encord.user_client()
except signet_encord.SignetError as e:
    print("error: %s: %s" % (type(e).__name__, e))
    sys.exit(1)
print("ok")
"#;

/// The virtualenv `scripts/install-test-deps.sh` makes, with `encord` and
/// `signet_encord` installed.
fn venv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        p.exists(),
        "{} not found: run `bash scripts/install-test-deps.sh` first",
        p.display()
    );
    p
}

/// Checks that each client failed with `message` in the form its interface
/// shows errors.
#[track_caller]
fn assert_all_refused(results: &[(&str, Run)], message: &str, python_class: &str) {
    for (name, r) in results {
        r.assert_code(1);
        let (got, want) = if name.starts_with("signet ") {
            (r.stderr.clone(), format!("signet: {message}\n"))
        } else if name.starts_with("signet-client") {
            (r.stdout.clone(), format!("error: {message}\n"))
        } else {
            (
                r.stdout.clone(),
                format!("error: {python_class}: {message}\n"),
            )
        };
        assert_eq!(got, want, "{name}:\n{r}");
        if *name == "signet start" {
            assert_eq!(r.stdout, "", "no export line for an unverified socket");
        }
    }
}

#[test]
fn a_fake_agent_of_another_user_gets_zero_bytes_from_every_client() {
    let scene = Scene::new();
    let dir = scene.attacker_dir("evil");
    let fake = FakeAgent::start(
        &scene.attacker,
        &dir.join("agent.sock"),
        &dir.join("record"),
    );

    let results = scene.every_client(&[("SIGNET_AUTH_SOCK", &fake.socket)]);
    let message = format!(
        "refusing to talk to {}: it is served by uid {}, not by you (uid {}) or root; \
         it is not your agent and may be an attack (another user impersonating it to capture keys); \
         nothing was sent. Point SIGNET_AUTH_SOCK at your own agent, or unset it and run `signet start`",
        fake.socket.display(),
        scene.attacker.uid,
        scene.victim.uid
    );
    assert_all_refused(&results, &message, "UntrustedAgent");
    // Every client did connect, and not one byte reached the attacker: not
    // the version probe, not the key `add` and `import` would send.
    fake.assert_connected_and_received_nothing(results.len());
}

#[test]
fn at_the_default_path_an_attacker_directory_stops_clients_before_they_connect() {
    let scene = Scene::new();
    // The victim's default is $XDG_RUNTIME_DIR/signet/agent.sock; here
    // XDG_RUNTIME_DIR is the shared directory and the attacker made
    // `signet` in it first, with a listener inside.
    let dir = scene.attacker_dir("signet");
    let fake = FakeAgent::start(
        &scene.attacker,
        &dir.join("agent.sock"),
        &dir.join("record"),
    );
    let shared = scene.shared();
    let results = scene.every_client(&[("XDG_RUNTIME_DIR", &shared)]);
    let d = dir.display();
    let message = format!(
        "refusing to connect to {}: {d} is owned by uid {} (mode 0777); the socket's directory must be \
         owned by uid {} with no group or other permissions (mode 0700): another user may have created \
         it to intercept the agent: remove {d} (as root if need be) or choose another socket",
        fake.socket.display(),
        scene.attacker.uid,
        scene.victim.uid
    );
    assert_all_refused(&results, &message, "UnsafeSocketDir");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.connections(), Vec::new(), "a client connected");
}

#[test]
fn the_clients_accept_the_users_own_agent_and_roots_system_agent() {
    let scene = Scene::new();
    // Keys imported below go to a keyring service of this test's own.
    let service = PathBuf::from(format!("signet-test-trust-{}", std::process::id()));
    let _keyring = signet_tests::keystore::KeyringService::named(service.display().to_string());
    let ok = |results: &[(&str, Run)]| {
        for (name, r) in results {
            r.assert_ok();
            let want = match *name {
                "signet start" => "export SIGNET_AUTH_SOCK=",
                "signet list" => "victim-key",
                "signet_encord.user_client()" => "ok\n",
                "signet add" | "signet import" => "",
                _ => "ok protocol=1 keys=",
            };
            assert!(
                r.stdout.starts_with(want) || (*name == "signet list" && r.stdout.contains(want)),
                "{name}:\n{r}"
            );
        }
        let add = &results[1].1;
        assert!(
            add.stderr.starts_with("signet: added victim-key ("),
            "{add}"
        );
        let import = &results[2].1;
        assert!(import.stderr.contains("as victim-key ("), "{import}");
    };
    let forget = |env: &[(&str, &Path)]| {
        run_timeout(
            scene
                .as_victim(bin("signet"), env)
                .args(["delete", "--yes", "victim-key"]),
            CLIENT_TIMEOUT,
        )
        .assert_ok();
    };

    // The victim's own agent at the default path (no XDG_RUNTIME_DIR: the
    // directory under home), started by the `signet start` of the list. Its
    // key store is sealed: `signet import` chooses the passphrase through
    // an askpass program (there is no terminal).
    let askpass = scene.home().join("store-askpass");
    fs::write(&askpass, "#!/bin/sh\necho victim-store-passphrase\n")
        .unwrap_or_else(|e| panic!("{e}"));
    scene.victim.chown(&askpass);
    chmod(&askpass, 0o700);
    let env: [(&str, &Path); 2] = [
        ("SIGNET_KEYRING_SERVICE", &service),
        ("SIGNET_ASKPASS", &askpass),
    ];
    let results = scene.every_client(&env);
    assert!(
        results[0].1.stderr.contains("signet: started signetd"),
        "{}",
        results[0].1
    );
    ok(&results);
    let again = run_timeout(
        scene.as_victim(bin("signet"), &env).arg("start"),
        CLIENT_TIMEOUT,
    );
    again.assert_ok();
    assert!(again.stderr.contains("is already running at"), "{again}");
    forget(&env);
    run_timeout(
        scene.as_victim(bin("signet"), &env).arg("stop"),
        CLIENT_TIMEOUT,
    )
    .assert_ok();

    // Root's system agent, which allows the victim, as an admin: the list
    // adds and imports keys, which a system agent takes only from an admin.
    let sys = shared_tempdir();
    let socket = sys.path().join("run/signet/agent.sock");
    let config = format!(
        "[system]\nallow_uids = [\"{0}\"]\nadmin_uids = [\"{0}\"]\n\n[audit]\npath = {1:?}\n",
        scene.victim.name,
        sys.path().join("audit.log")
    );
    let _agent = Agent::start_customized(
        AgentOptions {
            socket: Some(socket.clone()),
            config: Some(config),
            args: vec!["--system".to_owned()],
        },
        |_, cmd| {
            cmd.env("SIGNET_KEYRING_SERVICE", &service);
        },
    );
    let env: [(&str, &Path); 1] = [("SIGNET_AUTH_SOCK", &socket)];
    let results = scene.every_client(&env);
    assert!(
        results[0].1.stderr.contains("is already running at"),
        "{}",
        results[0].1
    );
    ok(&results);
    forget(&env);
}

/// Root's system agent allowing only `allowed`, its socket in `dir`, with
/// `extra` configuration under `[system]`.
fn system_agent(dir: &Path, allowed: &TempUser, extra: &str) -> (Agent, PathBuf) {
    let socket = dir.join("run/signet/agent.sock");
    let config = format!(
        "[system]\nallow_uids = [\"{}\"]\n{extra}\n[audit]\npath = {:?}\n",
        allowed.name,
        dir.join("audit.log")
    );
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(config),
        args: vec!["--system".to_owned()],
    });
    (agent, socket)
}

/// `ssh-add -l` as `user` against `socket`.
fn ssh_add_list(user: &TempUser, socket: &Path) -> Run {
    run_timeout(
        user.command("ssh-add")
            .arg("-l")
            .env("SSH_AUTH_SOCK", socket)
            .env("HOME", "/nonexistent"),
        CLIENT_TIMEOUT,
    )
}

#[test]
fn a_uid_the_allow_list_refuses_is_told_why_by_every_client() {
    use std::os::unix::process::ExitStatusExt as _;
    let scene = Scene::new();
    let sys = shared_tempdir();
    // The victim is allowed; the attacker is the refused uid here.
    let (agent, socket) = system_agent(sys.path(), &scene.victim, "");
    let outsider = &scene.attacker;
    let reason = format!(
        "uid {} is not allowed by this agent's allow-list; ask the operator to add it to [system] allow_uids or allow_groups",
        outsider.uid
    );
    let as_outsider = |program: PathBuf| {
        let mut cmd = outsider.command(program);
        cmd.env("HOME", "/nonexistent")
            .env("SIGNET_AUTH_SOCK", &socket);
        cmd
    };
    let r = run_timeout(as_outsider(bin("signet")).arg("list"), CLIENT_TIMEOUT);
    r.assert_code(1);
    assert_eq!(r.stderr, format!("signet: {reason}\n"), "{r}");
    // `add` sends the key at once (the agent is root's, so that is fine): the
    // refusal is its reply.
    let key = generate_key(&sys.path().join("k"), "ed25519", "outsider-key");
    for p in [&sys.path().join("k"), &key.private] {
        outsider.chown(p);
    }
    let r = run_timeout(
        as_outsider(bin("signet")).arg("add").arg(&key.private),
        CLIENT_TIMEOUT,
    );
    r.assert_code(1);
    assert_eq!(
        r.stderr,
        format!(
            "signet: could not add {}: {reason}\n",
            key.private.display()
        ),
        "{r}"
    );
    for mode in ["blocking", "tokio"] {
        let r = run_timeout(
            as_outsider(bin("signet-it-client")).arg(mode),
            CLIENT_TIMEOUT,
        );
        r.assert_code(1);
        assert_eq!(r.stdout, format!("error: {reason}\n"), "{mode}: {r}");
    }
    let r = run_timeout(
        as_outsider(venv_python()).args(["-c", PY_CLIENT]),
        CLIENT_TIMEOUT,
    );
    r.assert_code(1);
    assert_eq!(r.stdout, format!("error: AccessDenied: {reason}\n"), "{r}");
    // ssh-add reads no reason: its ordinary failure, not a signal.
    let r = ssh_add_list(outsider, &socket);
    assert_eq!(r.status.signal(), None, "{r}");
    r.assert_code(1);
    assert_eq!(
        r.stderr, "error fetching identities: invalid format\n",
        "{r}"
    );
    // The allowed user is still served.
    let r = ssh_add_list(&scene.victim, &socket);
    r.assert_code(1);
    assert_eq!(r.stdout, "The agent has no identities.\n", "{r}");

    // Six refusals, one log line for the uid.
    let line = agent.wait_log_line(&["refused connection from uid", &outsider.uid.to_string()]);
    assert!(line.contains("WARN"), "{line}");
    let lines = agent
        .log()
        .lines()
        .filter(|l| l.contains(&format!("refused connection from uid {} ", outsider.uid)))
        .count();
    assert_eq!(lines, 1, "{}", agent.log());
}

#[test]
fn a_refused_uid_cannot_flood_the_log() {
    let scene = Scene::new();
    let sys = shared_tempdir();
    let (agent, socket) = system_agent(sys.path(), &scene.victim, "");
    let python = signet_tests::system_tool("/usr/bin/python3");
    // 2000 connections, each sending a request and reading the reply.
    let flood = r#"
import socket, sys
want = bytes.fromhex(sys.argv[2])
for i in range(2000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b"\0\0\0\x01\x0b")
    data = b""
    while len(data) < len(want):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data == want, (i, data)
    s.close()
print("done")
"#;
    let reason = format!(
        "uid {} is not allowed by this agent's allow-list; ask the operator to add it to [system] allow_uids or allow_groups",
        scene.attacker.uid
    );
    let want = hex::encode(signetd::refusal_frame(&reason));
    let before = agent.log().len();
    let r = run_timeout(
        scene
            .attacker
            .command(python)
            .args(["-c", flood])
            .arg(&socket)
            .arg(&want),
        Duration::from_secs(120),
    );
    r.assert_ok();
    assert_eq!(r.stdout, "done\n");
    agent.wait_log_line(&[
        "refused connection from uid",
        &scene.attacker.uid.to_string(),
    ]);
    let grown = &agent.log()[before..];
    let refusal_lines: Vec<&str> = grown
        .lines()
        .filter(|l| l.contains("refused connection"))
        .collect();
    assert_eq!(refusal_lines.len(), 1, "{grown}");
    assert!(
        grown.len() < 1024,
        "the log grew by {} bytes for 2000 refusals:\n{grown}",
        grown.len()
    );
}

#[test]
fn a_socket_the_users_groups_may_not_open_says_so() {
    let scene = Scene::new();
    let group = TempGroup::create("sgsock");
    let sys = shared_tempdir();
    // The socket is 0660 with a group the victim is not in: connect() itself
    // fails with EACCES, before the allow-list (which would allow them).
    let (_agent, socket) = system_agent(
        sys.path(),
        &scene.victim,
        &format!("socket_group = \"{}\"\n", group.name),
    );
    let message = format!(
        "permission denied connecting to {}: your user or groups are not allowed to use this socket; \
         ask its owner (a system agent's operator adds users to `[system] allow_uids`/`allow_groups` \
         and the socket's group, docs/service-accounts.md)",
        socket.display()
    );
    let env: [(&str, &Path); 1] = [("SIGNET_AUTH_SOCK", &socket)];
    let r = run_timeout(
        scene.as_victim(bin("signet"), &env).arg("list"),
        CLIENT_TIMEOUT,
    );
    r.assert_code(1);
    assert_eq!(r.stderr, format!("signet: {message}\n"), "{r}");
    let r = run_timeout(
        scene
            .as_victim(bin("signet-it-client"), &env)
            .arg("blocking"),
        CLIENT_TIMEOUT,
    );
    assert_eq!(r.stdout, format!("error: {message}\n"), "{r}");
    let r = run_timeout(
        scene.as_victim(venv_python(), &env).args(["-c", PY_CLIENT]),
        CLIENT_TIMEOUT,
    );
    assert_eq!(r.stdout, format!("error: AccessDenied: {message}\n"), "{r}");
}

/// A group made with `groupadd` for one test, deleted on drop.
struct TempGroup {
    name: String,
}

impl TempGroup {
    fn create(prefix: &str) -> Self {
        let name = format!("{prefix}{}", std::process::id());
        run_timeout(
            Command::new(signet_tests::system_tool("/usr/sbin/groupadd")).arg(&name),
            DEADLINE,
        )
        .assert_ok();
        Self { name }
    }
}

impl Drop for TempGroup {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/groupdel").arg(&self.name).status();
    }
}
