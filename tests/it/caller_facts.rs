//! Caller rules cannot be spoofed: the facts a rule judges (executable,
//! systemd unit, groups) are those of the process that connected, pinned by
//! a pidfd when the connection was accepted and read again for each
//! request, and a request must be that process's own: written by it
//! (the kernel names each write's process, SO_PASSCRED) (issue 15).
//!
//! Played with real processes: a Python program connects to the real
//! `signetd`, then forks and signs from the child over the inherited
//! connection while the parent execs an allowed binary (`/usr/bin/sleep`),
//! exits, or stays as it was; passes the connection to another process
//! (SCM_RIGHTS); or executes a program itself after connecting. The reply
//! is read from the wire (SIGN_RESPONSE or FAILURE) and the audit log's
//! record is checked for the real writer and executable.

use std::process::Command;
use std::time::Duration;

use signet_proto::Response;
use signet_tests::{run_timeout, system_tool, wait_for, Agent, AgentOptions, TestKey};

/// Connects, then (by `mode`) signs with the key whose blob is given,
/// writing the reply's message type to `out`:
/// - `direct`: this process signs.
/// - `exec-parent`: forks; the child waits until the parent has executed
///   /usr/bin/sleep, signs, then ends the parent.
/// - `exit-parent`: forks; the parent exits at once; the child signs after.
/// - `fork-child`: forks; the parent waits, unchanged, while the child signs.
/// - `pass-fd`: a process started before the connection receives it over a
///   Unix socket (SCM_RIGHTS) and signs.
/// - `exec-self`: asks for the identities (so the connection is accepted
///   and pinned), then executes python again, which signs over the
///   inherited connection (`after-exec FD`).
const CLIENT: &str = r#"
import os, signal, socket, struct, sys, time
sock_path, mode, blob_hex, out = sys.argv[1:5]

def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("agent closed the connection")
        b += c
    return b

def request(s, body):
    s.sendall(struct.pack(">I", len(body)) + body)
    n = struct.unpack(">I", recvn(s, 4))[0]
    return recvn(s, n)

def sign(s):
    blob = bytes.fromhex(blob_hex)
    data = b"challenge"
    body = bytes([13]) + struct.pack(">I", len(blob)) + blob + struct.pack(">I", len(data)) + data + struct.pack(">I", 0)
    reply = request(s, body)
    with open(out + ".tmp", "w") as f:
        f.write(str(reply[0]))
    os.rename(out + ".tmp", out)

def wait(cond):
    deadline = time.time() + 20
    while not cond():
        if time.time() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.01)

if mode == "after-exec":
    sign(socket.socket(fileno=int(sys.argv[5])))
    sys.exit(0)
if mode == "pass-fd":
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        a.close()
        msg, fds, _, _ = socket.recv_fds(b, 16, 1)
        sign(socket.socket(fileno=fds[0]))
        os._exit(0)
    b.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    socket.send_fds(a, [b"x"], [s.fileno()])
    s.close()
    os.waitpid(pid, 0)
    sys.exit(0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock_path)
if mode == "direct":
    sign(s)
    sys.exit(0)
if mode == "exec-self":
    request(s, bytes([11]))
    s.set_inheritable(True)
    os.execv(sys.executable, [sys.executable, sys.argv[0], sock_path, "after-exec", blob_hex, out, str(s.fileno())])
parent = os.getpid()
pid = os.fork()
if pid == 0:
    if mode == "exec-parent":
        def parent_is_sleep():
            try:
                return os.readlink("/proc/%d/exe" % parent).endswith("/sleep")
            except OSError:
                return False
        wait(parent_is_sleep)
        sign(s)
        os.kill(parent, signal.SIGTERM)
    elif mode == "exit-parent":
        wait(lambda: os.getppid() != parent)
        sign(s)
    else:
        sign(s)
    os._exit(0)
if mode == "exec-parent":
    os.execv("/usr/bin/sleep", ["sleep", "60"])
elif mode == "exit-parent":
    os._exit(0)
else:
    os.waitpid(pid, 0)
"#;

struct Setup {
    agent: Agent,
    script: std::path::PathBuf,
    py: TestKey,
    sleep: TestKey,
}

fn setup() -> Setup {
    let config = "[policies.py]\nschemes = [\"raw\"]\nexecutables = [\"/usr/bin/python3*\"]\n[keys.py-key]\npolicy = \"py\"\n\
                  [policies.sleep]\nschemes = [\"raw\"]\nexecutables = [\"/usr/bin/sleep\"]\n[keys.sleep-key]\npolicy = \"sleep\"\n";
    let agent = Agent::start_with(AgentOptions {
        config: Some(config.to_owned()),
        ..AgentOptions::default()
    });
    let py = TestKey::from_seed(31, "py-key");
    let sleep = TestKey::from_seed(32, "sleep-key");
    let mut conn = agent.connect();
    for k in [&py, &sleep] {
        assert_eq!(conn.request(&k.add_request(vec![])), Response::Success);
    }
    let script = agent.dir().join("client.py");
    std::fs::write(&script, CLIENT).unwrap_or_else(|e| panic!("{e}"));
    Setup {
        agent,
        script,
        py,
        sleep,
    }
}

/// Runs the client in `mode` signing with `key`; the reply's message type.
fn sign(s: &Setup, mode: &str, key: &TestKey) -> u8 {
    let out = s.agent.dir().join(format!("reply-{mode}-{}", key.comment));
    let _ = std::fs::remove_file(&out);
    let r = run_timeout(
        Command::new(system_tool("/usr/bin/python3"))
            .arg(&s.script)
            .arg(s.agent.socket())
            .arg(mode)
            .arg(hex::encode(key.blob()))
            .arg(&out),
        Duration::from_secs(60),
    );
    // The parent (python, or sleep after the exec) may end first; the
    // child may still be writing its answer.
    wait_for(Duration::from_secs(20), "the signer's reply", || {
        std::fs::read_to_string(&out).ok()
    })
    .trim()
    .parse()
    .unwrap_or_else(|e| panic!("{mode}: {e}\n{r}\n--- log\n{}", s.agent.log()))
}

const SIGN_RESPONSE: u8 = 14;
const FAILURE: u8 = 5;

/// The audit records (JSON lines) whose key is `key`.
fn audit_records(agent: &Agent, key: &str) -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(agent.dir().join("state/signet/audit.log")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["key"] == key)
        .collect()
}

fn python_exe() -> String {
    std::fs::canonicalize("/usr/bin/python3")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The `n`th audit record of `key` (waiting for it).
fn nth_record(agent: &Agent, key: &str, n: usize) -> serde_json::Value {
    wait_for(Duration::from_secs(10), "audit records", || {
        audit_records(agent, key).get(n - 1).cloned()
    })
}

/// The reason of a refusal written by another process than the one that
/// opened the connection.
fn other_writer(record: &serde_json::Value, key: &str, rule: &str) {
    assert_eq!(record["event"], "refuse", "{record}");
    let reason = record["reason"].as_str().unwrap_or_default();
    let prefix = format!(
        "key {key}: rule {rule} judges its caller, but this request was written by pid {} (uid 0), not by the process that opened the connection (pid ",
        record["pid"]
    );
    assert!(reason.starts_with(&prefix), "{reason}\nexpected: {prefix}");
    assert!(
        reason.ends_with("): a connection is judged by the process that opened it, so connect from the process that signs"),
        "{reason}"
    );
}

#[test]
fn a_connection_is_judged_by_the_program_that_opened_it() {
    let s = setup();
    // Control: python signs with the key its rule allows it.
    assert_eq!(sign(&s, "direct", &s.py), SIGN_RESPONSE);

    // connect → fork → the parent execs /usr/bin/sleep → the child signs
    // with the key allowed to sleep: refused, whenever the exec happened,
    // and the audit log names the writer (the child) and its program
    // (python), not sleep.
    assert_eq!(sign(&s, "exec-parent", &s.sleep), FAILURE);
    let record = nth_record(&s.agent, "sleep-key", 1);
    other_writer(&record, "sleep-key", "sleep");
    assert_eq!(record["exe"], python_exe().as_str(), "{record}");
    // The same with the key python is allowed: the child is not the
    // process that connected.
    assert_eq!(sign(&s, "exec-parent", &s.py), FAILURE);
    other_writer(&nth_record(&s.agent, "py-key", 2), "py-key", "py");
    s.agent.wait_log_line(&[
        "refused",
        "sleep-key",
        "not by the process that opened the connection",
    ]);

    // The connecting process exited; its child holds the connection.
    assert_eq!(sign(&s, "exit-parent", &s.py), FAILURE);
    other_writer(&nth_record(&s.agent, "py-key", 3), "py-key", "py");
    // A forked child of a process still unchanged: not the connector.
    assert_eq!(sign(&s, "fork-child", &s.py), FAILURE);
    other_writer(&nth_record(&s.agent, "py-key", 4), "py-key", "py");
    // A process the connection was passed to (SCM_RIGHTS).
    assert_eq!(sign(&s, "pass-fd", &s.py), FAILURE);
    other_writer(&nth_record(&s.agent, "py-key", 5), "py-key", "py");

    // The connecting process itself executed a program after it was
    // accepted (python again: the same executable, a new image).
    assert_eq!(sign(&s, "exec-self", &s.py), FAILURE);
    let record = nth_record(&s.agent, "py-key", 6);
    let reason = record["reason"].as_str().unwrap_or_default();
    assert_eq!(
        reason,
        format!(
            "key py-key: rule py needs the caller's executable, but the process that connected (pid {}, {}) has since executed {}: a connection is judged by the program that opened it",
            record["pid"],
            python_exe(),
            python_exe()
        )
    );
    // Only the control was signed.
    assert_eq!(
        audit_records(&s.agent, "py-key")
            .iter()
            .filter(|r| r["event"] == "sign")
            .count(),
        1
    );
}

/// A group and a member made for one test (unique names), removed on drop.
struct Member {
    group: String,
    user: String,
    uid: u32,
    gid: u32,
}

impl Member {
    fn create() -> Self {
        assert_eq!(
            signet_tests::my_uid(),
            0,
            "caller_facts plays other users (groupadd, useradd, setpriv): run the tests as root (CI does)"
        );
        let tag = format!("{}{}", std::process::id(), rand_tag());
        let group = format!("sgcf{tag}");
        let user = format!("sgcfu{tag}");
        let sbin = |tool: &str| system_tool(&format!("/usr/sbin/{tool}"));
        signet_tests::run(Command::new(sbin("groupadd")).arg(&group)).assert_ok();
        signet_tests::run(
            Command::new(sbin("useradd"))
                .args(["--no-create-home", "--no-user-group", "--gid", "nogroup"])
                .args(["--shell", "/usr/sbin/nologin", "--home-dir", "/nonexistent"])
                .args(["--groups", &group])
                .arg(&user),
        )
        .assert_ok();
        let id = |args: &[&str]| -> u32 {
            let r = signet_tests::run(Command::new("id").args(args));
            r.assert_ok();
            r.stdout
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{e}: {r}"))
        };
        let uid = id(&["-u", &user]);
        let getent = signet_tests::run(Command::new("getent").args(["group", &group]));
        let gid = getent
            .stdout
            .split(':')
            .nth(2)
            .and_then(|g| g.parse().ok())
            .unwrap_or_else(|| panic!("no gid: {getent}"));
        Self {
            group,
            user,
            uid,
            gid,
        }
    }

    /// `signet ARGS` as the member: with the groups a login gives it
    /// (`--init-groups`), or after dropping them (`--clear-groups`).
    fn signet(&self, groups: &str, socket: &std::path::Path, args: &[&str]) -> signet_tests::Run {
        signet_tests::run(
            Command::new(system_tool("/usr/bin/setpriv"))
                .env_clear()
                .env("PATH", signet_tests::CHILD_PATH)
                .env("HOME", "/nonexistent")
                .arg(format!("--reuid={}", self.uid))
                .arg("--regid=nogroup")
                .arg(groups)
                .arg("--")
                .arg(signet_tests::bin("signet"))
                .arg("--socket")
                .arg(socket)
                .args(args),
        )
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/userdel").arg(&self.user).status();
        let _ = Command::new("/usr/sbin/groupdel").arg(&self.group).status();
    }
}

fn rand_tag() -> u32 {
    std::time::UNIX_EPOCH
        .elapsed()
        .map(|d| d.subsec_micros() % 1000)
        .unwrap_or(0)
}

/// A root system agent with `config`, its key `ci-bot` from a root-only
/// file, in a temp dir every user can traverse.
fn system_agent(base: &std::path::Path, config: &str) -> Agent {
    signet_tests::chmod(base, 0o755);
    let key = signet_tests::generate_key(&base.join("keys"), "ed25519", "ci-bot");
    signet_tests::chmod(&base.join("keys"), 0o700);
    let config = format!(
        "{config}\n[keys.ci-bot]\nsource = \"file\"\npath = \"{}\"\n\n[audit]\npath = {:?}\n",
        key.private.display(),
        base.join("audit.log")
    );
    let agent = Agent::start_with(AgentOptions {
        socket: Some(base.join("run/signet/agent.sock")),
        config: Some(config),
        args: vec!["--system".to_owned()],
    });
    agent.wait_log_line(&["loaded configured key", "ci-bot"]);
    agent
}

const SIGN: &[&str] = &[
    "sign-request",
    "--key",
    "ci-bot",
    "--method",
    "GET",
    "--url",
    "https://api.encord.com/v2/public/projects",
    "--format",
    "headers",
];

/// Groups count when the calling process holds them: an allow-listed
/// group's member that dropped its groups (`setpriv --clear-groups`) is
/// refused at the door and by a rule, though /etc/group lists it.
#[test]
fn a_member_that_dropped_its_groups_is_refused() {
    let m = Member::create();
    let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));

    // The allow-list.
    let agent = system_agent(
        base.path(),
        &format!("[system]\nallow_groups = [\"{}\"]\n", m.group),
    );
    let socket = agent.socket().to_owned();
    let r = m.signet("--init-groups", &socket, SIGN);
    r.assert_ok();
    assert!(r.stdout.contains("Signature: encord-sig="), "{r}");
    let r = m.signet("--clear-groups", &socket, SIGN);
    r.assert_fail();
    assert!(
        r.stderr.contains(&format!(
            "uid {} is not allowed by this agent's allow-list: the group database lists it in an allowed group, but the connecting process does not hold that group",
            m.uid
        )),
        "{r}"
    );
    agent.wait_log_line(&["refused connection", &format!("uid={}", m.uid)]);
    drop(agent);

    // A rule: the uid may connect, the key asks for the group.
    let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let agent = system_agent(
        base.path(),
        &format!(
            "[system]\nallow_uids = [{}]\n[policies.ci]\ngroups = [\"{}\"]\n",
            m.uid, m.group
        ),
    );
    let cfg = std::fs::read_to_string(agent.config_file()).unwrap_or_default();
    std::fs::write(
        agent.config_file(),
        cfg.replace("[keys.ci-bot]\n", "[keys.ci-bot]\npolicy = \"ci\"\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    agent.signal(rustix::process::Signal::HUP);
    agent.wait_log_line(&["SIGHUP: configuration reloaded"]);
    let socket = agent.socket().to_owned();
    m.signet("--init-groups", &socket, SIGN).assert_ok();
    let r = m.signet("--clear-groups", &socket, SIGN);
    r.assert_fail();
    assert!(
        r.stderr.contains(&format!(
            "key ci-bot: caller uid {} (the group database lists it in the rule's group, but the calling process does not hold the group) not allowed by rule ci",
            m.uid
        )),
        "{r}"
    );
    // Its primary gid is the group's: it holds it.
    let r = signet_tests::run(
        Command::new(system_tool("/usr/bin/setpriv"))
            .env_clear()
            .env("PATH", signet_tests::CHILD_PATH)
            .arg(format!("--reuid={}", m.uid))
            .arg(format!("--regid={}", m.gid))
            .arg("--clear-groups")
            .arg("--")
            .arg(signet_tests::bin("signet"))
            .arg("--socket")
            .arg(&socket)
            .args(SIGN),
    );
    r.assert_ok();
}

/// The cgroup hierarchy signetd reads a process's unit from (the cgroup v2
/// one when `/proc/self/cgroup` has a `0::` line, else `name=systemd`), as
/// `(mount point, root)` from `/proc/self/mountinfo`.
fn unit_hierarchy() -> (std::path::PathBuf, String) {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let v2 = own.lines().any(|l| l.starts_with("0::"));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts
        .lines()
        .find_map(|l| {
            let (before, after) = l.split_once(" - ")?;
            let f: Vec<&str> = before.split(' ').collect();
            let a: Vec<&str> = after.split(' ').collect();
            let wanted = if v2 {
                a.first() == Some(&"cgroup2")
            } else {
                a.first() == Some(&"cgroup")
                    && a.get(2)
                        .is_some_and(|o| o.split(',').any(|o| o == "name=systemd"))
            };
            let writable = f.get(5).is_some_and(|o| o.starts_with("rw"));
            (wanted && writable && f.len() > 4)
                .then(|| (std::path::PathBuf::from(f[4]), f[3].to_owned()))
        })
        .unwrap_or_else(|| {
            panic!(
                "no writable cgroup hierarchy to emulate systemd's units in\n/proc/self/cgroup:\n{own}\n/proc/self/mountinfo:\n{mounts}"
            )
        })
}

/// Cgroups made for one test in the unit hierarchy, removed (deepest
/// first) on drop: only those this test created.
struct Cgroups {
    made: Vec<std::path::PathBuf>,
}

impl Cgroups {
    /// Makes `path` (`/system.slice/x.service`) and its missing parents;
    /// returns the directory whose `cgroup.procs` takes pids.
    fn make(&mut self, path: &str) -> std::path::PathBuf {
        let (mount, root) = unit_hierarchy();
        assert_eq!(
            root, "/",
            "the unit hierarchy is mounted from {root}, not its root: /system.slice paths cannot be made"
        );
        let mut dir = mount;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            dir.push(part);
            if !dir.exists() {
                std::fs::create_dir(&dir)
                    .unwrap_or_else(|e| panic!("mkdir {}: {e} (needs root)", dir.display()));
                self.made.push(dir.clone());
            }
        }
        dir
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        for dir in self.made.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Runs the client (mode `direct`) in a process moved into cgroup `dir`
/// before it connects; the reply's message type.
fn sign_from_cgroup(s: &Setup, dir: &std::path::Path, key: &TestKey, tag: &str) -> u8 {
    use std::io::Write as _;
    let out = s.agent.dir().join(format!("reply-cgroup-{tag}"));
    let mut child = Command::new("/bin/sh")
        .args(["-c", "read go; exec \"$@\"", "sh"])
        .arg(system_tool("/usr/bin/python3"))
        .arg(&s.script)
        .arg(s.agent.socket())
        .arg("direct")
        .arg(hex::encode(key.blob()))
        .arg(&out)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let moved = std::fs::write(dir.join("cgroup.procs"), child.id().to_string());
    let seen = std::fs::read_to_string(format!("/proc/{}/cgroup", child.id())).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"go\n");
    }
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    moved.unwrap_or_else(|e| panic!("moving the client into {}: {e}", dir.display()));
    assert!(
        status.success(),
        "client in {}: {status}\n{seen}",
        dir.display()
    );
    std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("{e}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A rule's `units` match the full cgroup path: the system unit passes; a
/// user service given its name (`systemd-run --user --unit=NAME.service`
/// makes one) does not; `user:NAME` is the caller's own user unit. systemd
/// is not PID 1 here, so the test makes the cgroups systemd would make (as
/// root, in the unit hierarchy) and removes them after.
#[test]
fn units_are_matched_by_their_full_cgroup_path() {
    assert_eq!(
        signet_tests::my_uid(),
        0,
        "needs root to make cgroups (CI runs as root)"
    );
    let name = format!("signet-it-{}.service", std::process::id());
    let config = format!(
        "[policies.unit]\nschemes = [\"raw\"]\nunits = [\"{name}\"]\n[keys.unit-key]\npolicy = \"unit\"\n\
         [policies.mine]\nschemes = [\"raw\"]\nuids = [0]\nunits = [\"user:{name}\"]\n[keys.user-key]\npolicy = \"mine\"\n"
    );
    let agent = Agent::start_with(AgentOptions {
        config: Some(config),
        ..AgentOptions::default()
    });
    let unit_key = TestKey::from_seed(41, "unit-key");
    let user_key = TestKey::from_seed(42, "user-key");
    let mut conn = agent.connect();
    for k in [&unit_key, &user_key] {
        assert_eq!(conn.request(&k.add_request(vec![])), Response::Success);
    }
    let script = agent.dir().join("client.py");
    std::fs::write(&script, CLIENT).unwrap_or_else(|e| panic!("{e}"));
    let s = Setup {
        agent,
        script,
        py: unit_key,
        sleep: user_key,
    };
    let mut cgroups = Cgroups { made: Vec::new() };
    let system = cgroups.make(&format!("/system.slice/{name}"));
    let user_path = format!("/user.slice/user-0.slice/user@0.service/app.slice/{name}");
    let user = cgroups.make(&user_path);

    assert_eq!(
        sign_from_cgroup(&s, &system, &s.py, "system"),
        SIGN_RESPONSE
    );
    assert_eq!(sign_from_cgroup(&s, &user, &s.py, "user"), FAILURE);
    let record = nth_record(&s.agent, "unit-key", 2);
    let reason = record["reason"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        reason,
        format!("key unit-key: caller in cgroup {user_path} (system unit user@0.service, user unit {name} of uid 0) not allowed by rule unit")
    );
    // `user:NAME`: the caller's own user unit of that name, not the system one.
    assert_eq!(
        sign_from_cgroup(&s, &user, &s.sleep, "user-rule"),
        SIGN_RESPONSE
    );
    assert_eq!(
        sign_from_cgroup(&s, &system, &s.sleep, "user-rule-system"),
        FAILURE
    );
    // Outside any unit of that name: this test's own cgroup.
    assert_eq!(sign(&s, "direct", &s.py), FAILURE);
}

/// A daemon run by `setpriv` as another user (as `DynamicUser=` runs it),
/// with or without `CAP_SYS_PTRACE` (ambient), killed on drop.
struct Daemon {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn command(
        user: &signet_tests::TempUser,
        with_ptrace: bool,
        home: &std::path::Path,
    ) -> Command {
        let mut cmd = Command::new(system_tool("/usr/bin/setpriv"));
        cmd.env_clear()
            .env("PATH", signet_tests::CHILD_PATH)
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.gid))
            .arg("--clear-groups");
        if with_ptrace {
            cmd.args(["--inh-caps=+sys_ptrace", "--ambient-caps=+sys_ptrace"]);
        }
        cmd.arg("--").arg(signet_tests::bin("signetd"));
        cmd
    }

    fn spawn(mut cmd: Command, log: std::path::PathBuf, socket: &std::path::Path) -> Self {
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let err = file.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut d = Self { child, log };
        wait_for(Duration::from_secs(20), "the daemon's socket", || {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("signetd exited with {status}:\n{}", d.log());
            }
            std::os::unix::net::UnixStream::connect(socket).ok()
        });
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Gives `path` (and, for a directory, nothing below it) to `user`.
fn give(path: &std::path::Path, user: &signet_tests::TempUser, mode: u32) {
    user.chown(path);
    signet_tests::chmod(path, mode);
}

/// Under the shipped unit signetd runs as an unprivileged user with no
/// capability; then it cannot read other users' executables. A system
/// agent so run refuses to start with a rule on executables, naming the
/// rule; given CAP_SYS_PTRACE (the documented drop-in) it starts and
/// judges jobs of another uid by their executables. `signet explain` says
/// when the agent cannot see, rather than "allowed".
#[test]
fn an_unprivileged_agent_sees_executables_only_with_cap_sys_ptrace() {
    let daemon = signet_tests::TempUser::create("sgcfd");
    let job = signet_tests::TempUser::create("sgcfj");
    let base = signet_tests::shared_tempdir();
    let home = base.path().join("d");
    std::fs::create_dir_all(home.join("keys")).unwrap_or_else(|e| panic!("{e}"));
    let py = signet_tests::generate_key(&home.join("keys"), "ed25519", "py-key");
    let sleepy = signet_tests::generate_key(&home.join("keys"), "ed25519", "sleep-key");
    for k in [&py, &sleepy] {
        give(&k.private, &daemon, 0o600);
    }
    give(&home.join("keys"), &daemon, 0o700);
    give(&home, &daemon, 0o700);
    let run_dir = base.path().join("run");
    std::fs::create_dir(&run_dir).unwrap_or_else(|e| panic!("{e}"));
    give(&run_dir, &daemon, 0o755);
    let socket = run_dir.join("agent.sock");
    let audit = home.join("audit.log");
    let config = home.join("signetd.toml");
    std::fs::write(
        &config,
        format!(
            "[system]\nallow_uids = [{}]\n\
             [policies.py]\nschemes = [\"raw\"]\nexecutables = [\"/usr/bin/python3*\"]\n\
             [policies.sleep]\nschemes = [\"raw\"]\nexecutables = [\"/usr/bin/sleep\"]\n\
             [keys.py-key]\nsource = \"file\"\npath = \"{}\"\npolicy = \"py\"\n\
             [keys.sleep-key]\nsource = \"file\"\npath = \"{}\"\npolicy = \"sleep\"\n\
             [audit]\npath = {:?}\n",
            job.uid,
            py.private.display(),
            sleepy.private.display(),
            audit
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    give(&config, &daemon, 0o600);
    let args = |cmd: &mut Command| {
        cmd.args(["--system", "--log-level", "debug", "--config"])
            .arg(&config)
            .arg("--socket")
            .arg(&socket);
    };

    // No capability, as the unit ships: no start, and the rule is named.
    let mut cmd = Daemon::command(&daemon, false, &home);
    args(&mut cmd);
    let r = run_timeout(&mut cmd, Duration::from_secs(30));
    r.assert_code(1);
    assert!(
        r.stderr.contains(&format!(
            "policies.py restricts callers by executable, but this system agent cannot see callers' executables: signetd runs as uid {} without CAP_SYS_PTRACE",
            daemon.uid
        )),
        "{r}"
    );
    assert!(!socket.exists(), "it listened:\n{r}");

    // With CAP_SYS_PTRACE (AmbientCapabilities=CAP_SYS_PTRACE).
    let mut cmd = Daemon::command(&daemon, true, &home);
    args(&mut cmd);
    let d = Daemon::spawn(cmd, base.path().join("daemon.log"), &socket);
    assert!(
        d.log().contains("signetd holds CAP_SYS_PTRACE"),
        "no warning about what the capability allows:\n{}",
        d.log()
    );
    let out_dir = base.path().join("out");
    std::fs::create_dir(&out_dir).unwrap_or_else(|e| panic!("{e}"));
    give(&out_dir, &job, 0o700);
    let script = base.path().join("client.py");
    std::fs::write(&script, CLIENT).unwrap_or_else(|e| panic!("{e}"));
    signet_tests::chmod(&script, 0o644);
    let sign_as_job = |key: &signet_tests::KeyFiles| -> u8 {
        let out = out_dir.join(format!("reply-{}", key.comment));
        let r = run_timeout(
            job.command(system_tool("/usr/bin/python3"))
                .arg(&script)
                .arg(&socket)
                .arg("direct")
                .arg(hex::encode(key.public_blob()))
                .arg(&out),
            Duration::from_secs(30),
        );
        r.assert_ok();
        std::fs::read_to_string(&out)
            .unwrap_or_else(|e| panic!("{e}\n{r}"))
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(sign_as_job(&py), SIGN_RESPONSE, "{}", d.log());
    assert_eq!(sign_as_job(&sleepy), FAILURE);
    let refused = wait_for(Duration::from_secs(10), "the refusal's record", || {
        std::fs::read_to_string(&audit)
            .ok()?
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|r| r["key"] == "sleep-key" && r["event"] == "refuse")
    });
    assert_eq!(
        refused["reason"],
        format!(
            "key sleep-key: caller executable {} not allowed by rule sleep",
            python_exe()
        )
        .as_str()
    );
    assert_eq!(refused["exe"], python_exe().as_str());
    drop(d);

    // A user agent of that user (no capability): it starts (it serves its
    // own uid), and `signet explain` for root, whose executable it cannot
    // read, says so instead of "allowed" — also when told the executable.
    let user_socket = home.join("run/agent.sock");
    let user_config = home.join("user.toml");
    std::fs::write(
        &user_config,
        "[policies.py]\nexecutables = [\"/usr/bin/python3*\"]\n[keys.k]\npolicy = \"py\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    give(&user_config, &daemon, 0o600);
    let mut cmd = Daemon::command(&daemon, false, &home);
    cmd.args(["--log-level", "debug", "--config"])
        .arg(&user_config)
        .arg("--socket")
        .arg(&user_socket);
    let _d = Daemon::spawn(cmd, base.path().join("user-daemon.log"), &user_socket);
    let key = TestKey::from_seed(51, "k");
    let mut conn = signet_tests::RawConn::connect(&user_socket);
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Success);
    // Root's own clients refuse another user's agent; the protocol says it.
    for as_exe in ["", "/usr/bin/python3.11"] {
        let mut contents = Vec::new();
        signet_proto::extension::ExplainRequest {
            key: "k",
            scheme: "encord-v2",
            method: "GET",
            target: "/v2/public/x",
            as_uid: None,
            as_exe,
            as_unit: "",
        }
        .encode(&mut contents);
        let reply = conn.request(&signet_proto::Request::Extension {
            name: signet_proto::extension::EXPLAIN,
            contents: &contents,
        });
        let Response::ExtensionResponse { contents, .. } = reply else {
            panic!("explain: {reply:?}");
        };
        let reply = signet_proto::extension::ExplainReply::decode(&contents)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!reply.allowed, "{as_exe:?}: {}", reply.reason);
        assert_eq!(
            reply.reason,
            format!(
                "key k: rule py needs the caller's executable, but this agent cannot see callers' executables: signetd runs as uid {} without CAP_SYS_PTRACE, so /proc/PID/exe of uid 0's processes is unreadable to it (see docs/service-accounts.md)",
                daemon.uid
            ),
            "{as_exe:?}"
        );
    }
}
