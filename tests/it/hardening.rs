//! Process hardening and confirm-before-use, against the real daemon:
//!
//! - a same-uid, non-root process can neither ptrace-attach to signetd nor
//!   read its memory through `/proc/PID/mem`, while it can do both to an
//!   ordinary process of the same user (the negative control);
//! - core dumps are off (`Max core file size` 0) and key memory is locked;
//! - `ssh-add -c` keys are used only after the askpass program says yes; its
//!   prompt names the key, the caller's pid and executable and, for Encord
//!   requests, the method and path; no askpass program means refused;
//! - a key with a lifetime signs right up to its expiry and not after.
//!
//! The lock (identities hidden, signing refused) is tested in `ssh_add.rs`
//! (`lock_hides_keys_and_only_the_right_passphrase_unlocks`).

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use signet_proto::extension::{self, ErrorCode, ExtensionError, SignHttpRequest};
use signet_proto::message::{Request, Response};
use signet_proto::{Constraint, SignRequest};
use signet_tests::{
    list_identities, my_uid, proc_kib, run, system_tool, verify_ssh_signature, wait_for, Agent,
    AgentOptions, TestKey,
};

/// Run as `nobody` by `setpriv`: starts signetd as its own child (so that a
/// Yama `ptrace_scope` of 1 would allow the attach, and only signetd's own
/// hardening can refuse it), starts `sleep` as the negative control, then
/// tries ptrace attach, `/proc/PID/mem` and `strace -p` on both. Prints one
/// JSON object.
const ATTACKER: &str = r#"
import ctypes, json, os, socket, subprocess, sys, time
signetd, strace, d = sys.argv[1], sys.argv[2], sys.argv[3]
sock = os.path.join(d, "agent.sock")
env = {"PATH": "/usr/bin:/bin", "HOME": d, "XDG_RUNTIME_DIR": d,
       "XDG_CONFIG_HOME": os.path.join(d, "config"),
       "SIGNET_KEYRING_SERVICE": "signet-test-ptrace-%d" % os.getpid()}
log = open(os.path.join(d, "signetd.log"), "wb")
daemon = subprocess.Popen([signetd, "--socket", sock, "--log-level", "debug"], env=env,
                          stdin=subprocess.DEVNULL, stdout=log, stderr=log)
control = subprocess.Popen(["sleep", "120"])
out = {"uid": os.getuid(), "daemon_pid": daemon.pid, "control_pid": control.pid}
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long

def attach(pid):
    if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        os.waitpid(pid, 0)
        libc.ptrace(17, pid, None, None)       # PTRACE_DETACH
        return "attached"
    return os.strerror(ctypes.get_errno())

def read_mem(pid):
    try:
        mem = open("/proc/%d/mem" % pid, "rb")
    except OSError as e:
        return e.strerror
    with mem:
        for line in open("/proc/%d/maps" % pid):
            addr, perms = line.split()[:2]
            if perms.startswith("r"):
                mem.seek(int(addr.split("-")[0], 16))
                return "read %d bytes" % len(mem.read(16))
    return "nothing readable"

def strace_attach(pid):
    r = subprocess.run(["timeout", "5", strace, "-p", str(pid), "-e", "trace=none"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return {"code": r.returncode, "stderr": r.stderr.decode(errors="replace")}

try:
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(b"\0\0\0\x01\x0b")  # REQUEST_IDENTITIES
    out["daemon_reply"] = s.recv(100).hex()
    s.close()
    out["daemon_status"] = open("/proc/%d/status" % daemon.pid).read()
    out["daemon_limits"] = open("/proc/%d/limits" % daemon.pid).read()
    out["daemon_attach"] = attach(daemon.pid)
    out["daemon_mem"] = read_mem(daemon.pid)
    out["daemon_strace"] = strace_attach(daemon.pid)
    out["control_attach"] = attach(control.pid)
    out["control_mem"] = read_mem(control.pid)
    out["daemon_alive"] = daemon.poll() is None
finally:
    control.kill()
    daemon.terminate()
    try:
        daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.kill()
print(json.dumps(out))
"#;

#[test]
fn same_uid_process_cannot_ptrace_or_read_memory_of_the_daemon() {
    assert_eq!(
        my_uid(),
        0,
        "this test needs root, to run the daemon and the attacker as `nobody` with setpriv"
    );
    let setpriv = system_tool("/usr/bin/setpriv");
    let python = system_tool("/usr/bin/python3");
    let strace = system_tool("/usr/bin/strace");
    let signetd = signet_tests::bin("signetd");
    let dir = tempfile::Builder::new()
        .prefix("signet-ptrace.")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    // The daemon runs as nobody: it needs a directory nobody owns.
    rustix::fs::chown(
        dir.path(),
        Some(rustix::fs::Uid::from_raw(65534)),
        Some(rustix::fs::Gid::from_raw(65534)),
    )
    .unwrap_or_else(|e| panic!("chown: {e}"));
    signet_tests::chmod(dir.path(), 0o700);

    let r = run(std::process::Command::new(&setpriv)
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(&python)
        .args(["-c", ATTACKER])
        .arg(&signetd)
        .arg(&strace)
        .arg(dir.path())
        .env_clear()
        .env("PATH", signet_tests::CHILD_PATH));
    let log = fs::read_to_string(dir.path().join("signetd.log")).unwrap_or_default();
    assert!(
        r.status.success(),
        "attacker script failed:\n{r}\n--- signetd log\n{log}"
    );
    let out: serde_json::Value = serde_json::from_str(r.stdout.trim())
        .unwrap_or_else(|e| panic!("attacker output is not JSON ({e}):\n{r}"));
    let field = |k: &str| out[k].as_str().unwrap_or_default().to_owned();
    let context = format!("{out:#}\n--- signetd log\n{log}");

    // The attacker really is a same-uid, non-root process, and the target
    // really is a serving signetd.
    assert_eq!(out["uid"], 65534, "{context}");
    let status = field("daemon_status");
    assert!(status.contains("Name:\tsignetd"), "{context}");
    assert!(
        status.lines().any(|l| l.starts_with("Uid:\t65534\t65534")),
        "{context}"
    );
    assert_eq!(field("daemon_reply"), "000000050c00000000", "{context}");

    // Negative control: the same attacks on an ordinary process of the same
    // user succeed, so a refusal below is signetd's doing.
    assert_eq!(field("control_attach"), "attached", "{context}");
    assert!(field("control_mem").starts_with("read "), "{context}");

    // signetd refuses all three.
    assert_eq!(
        field("daemon_attach"),
        "Operation not permitted",
        "{context}"
    );
    assert_eq!(field("daemon_mem"), "Permission denied", "{context}");
    let strace_out = &out["daemon_strace"];
    assert_ne!(strace_out["code"], 0, "{context}");
    assert!(
        strace_out["stderr"]
            .as_str()
            .unwrap_or_default()
            .contains("Operation not permitted"),
        "{context}"
    );
    assert_eq!(out["daemon_alive"], true, "{context}");

    // Core dumps are off for the unprivileged daemon too.
    let limits = field("daemon_limits");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no core limit in {limits}"));
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
}

#[test]
fn core_dumps_are_off_and_key_memory_is_locked() {
    let agent = Agent::start();
    let pid = agent.pid_raw();
    let limits = fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_else(|e| panic!("reading limits: {e}"));
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no core limit in {limits}"));
    // "Max core file size  <soft>  <hard>  bytes": both 0.
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );

    let before = proc_kib(pid, "VmLck");
    let key = TestKey::from_seed(61, "locked");
    assert_eq!(
        agent.connect().request(&key.add_request(vec![])),
        Response::Success
    );
    let after = proc_kib(pid, "VmLck");
    assert!(
        after >= before + 4,
        "adding a key did not lock a page: VmLck {before} kB -> {after} kB"
    );
}

/// A fake askpass program in `dir`: appends `SSH_ASKPASS_PROMPT`, its
/// arguments and an end marker to `dir/askpass.log`, and says yes only when
/// `dir/answer` holds `yes`.
fn write_fake_askpass(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("fake-askpass");
    let log = dir.join("askpass.log");
    let answer = dir.join("answer");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n{{ printf 'PROMPT=%s\\n' \"$SSH_ASKPASS_PROMPT\"; printf '%s\\n' \"$@\"; echo '--end--'; }} >> '{}'\n[ \"$(cat '{}' 2>/dev/null)\" = yes ]\n",
            log.display(),
            answer.display()
        ),
    )
    .unwrap_or_else(|e| panic!("writing askpass: {e}"));
    fs::set_permissions(&script, fs::Permissions::from_mode(0o700))
        .unwrap_or_else(|e| panic!("chmod: {e}"));
    script
}

fn agent_with_askpass(var: &str) -> Agent {
    let var = var.to_owned();
    Agent::start_customized(AgentOptions::default(), move |dir, cmd| {
        let script = write_fake_askpass(dir);
        cmd.env(var, script);
    })
}

fn answer(agent: &Agent, yes: bool) {
    fs::write(agent.dir().join("answer"), if yes { "yes" } else { "no" })
        .unwrap_or_else(|e| panic!("writing answer: {e}"));
}

/// The prompts the fake askpass has shown so far.
fn prompts(agent: &Agent) -> Vec<String> {
    fs::read_to_string(agent.dir().join("askpass.log"))
        .unwrap_or_default()
        .split("--end--\n")
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

fn sign(conn: &mut signet_tests::RawConn, key: &TestKey, data: &[u8]) -> Response {
    let blob = key.blob();
    conn.request(&Request::Sign(SignRequest {
        key_blob: &blob,
        data,
        flags: 0,
    }))
}

#[test]
fn confirm_key_signs_only_after_yes_and_the_prompt_names_key_and_caller() {
    let agent = agent_with_askpass("SIGNET_ASKPASS");
    let key = TestKey::from_seed(62, "confirm-me");
    let mut conn = agent.connect();
    assert_eq!(
        conn.request(&key.add_request(vec![Constraint::Confirm])),
        Response::Success
    );

    answer(&agent, true);
    let data = b"confirm allow";
    match sign(&mut conn, &key, data) {
        Response::Signature(sig) => verify_ssh_signature(&key.public(), data, &sig),
        other => panic!("allowed sign got {other:?}\n--- log\n{}", agent.log()),
    }
    let shown = prompts(&agent);
    assert_eq!(shown.len(), 1, "{shown:?}");
    let prompt = &shown[0];
    assert!(prompt.starts_with("PROMPT=confirm\n"), "{prompt}");
    assert!(prompt.contains("confirm-me"), "key name missing: {prompt}");
    let me = std::process::id();
    assert!(
        prompt.contains(&format!("({me})")),
        "caller pid {me} missing: {prompt}"
    );
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    assert!(
        prompt.contains(&exe.display().to_string()),
        "caller executable {} missing: {prompt}",
        exe.display()
    );

    answer(&agent, false);
    assert_eq!(sign(&mut conn, &key, b"confirm deny"), Response::Failure);
    assert_eq!(prompts(&agent).len(), 2);

    // An Encord request: the prompt names the method and the path.
    let target = "/v2/public/projects/abc?limit=5";
    let sign_http = |conn: &mut signet_tests::RawConn| {
        let mut contents = Vec::new();
        SignHttpRequest {
            key: "confirm-me",
            scheme: signet_proto::encord::Scheme::EncordV2,
            method: "post",
            target,
            body_sha256: [7; 32],
        }
        .encode(&mut contents);
        conn.request(&Request::Extension {
            name: extension::SIGN_REQUEST,
            contents: &contents,
        })
    };
    answer(&agent, true);
    let reply = sign_http(&mut conn);
    assert!(
        matches!(&reply, Response::ExtensionResponse { name, .. } if name == extension::SIGN_REQUEST),
        "allowed sign-request got {reply:?}\n--- log\n{}",
        agent.log()
    );
    let shown = prompts(&agent);
    assert_eq!(shown.len(), 3, "{shown:?}");
    for needle in ["confirm-me", "POST", target, &format!("({me})")] {
        assert!(
            shown[2].contains(needle),
            "{needle:?} missing: {}",
            shown[2]
        );
    }
    answer(&agent, false);
    match sign_http(&mut conn) {
        Response::ExtensionFailure(bytes) => {
            let err = ExtensionError::decode(&bytes)
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("no extension error in {bytes:?}"));
            assert_eq!(err.code, ErrorCode::Refused, "{err:?}");
        }
        other => panic!("denied sign-request got {other:?}"),
    }
    assert_eq!(prompts(&agent).len(), 4);

    // A key added without the constraint is not confirmed.
    let plain = TestKey::from_seed(63, "no-confirm");
    assert_eq!(conn.request(&plain.add_request(vec![])), Response::Success);
    assert!(matches!(
        sign(&mut conn, &plain, b"x"),
        Response::Signature(_)
    ));
    assert_eq!(prompts(&agent).len(), 4);
}

#[test]
fn ssh_add_c_with_ssh_askpass_fallback() {
    // Only SSH_ASKPASS set: the fallback is used.
    let agent = agent_with_askpass("SSH_ASKPASS");
    let key = agent.keygen("ed25519", "ssh-add-c");
    agent
        .ssh_add(["-c".as_ref(), key.private.as_os_str()])
        .assert_ok();
    answer(&agent, true);
    agent
        .ssh_add(["-T".as_ref(), key.public.as_os_str()])
        .assert_ok();
    answer(&agent, false);
    agent
        .ssh_add(["-T".as_ref(), key.public.as_os_str()])
        .assert_fail();
    let shown = prompts(&agent);
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].contains("ssh-add-c"), "{}", shown[0]);
    assert!(shown[0].contains("ssh-add"), "{}", shown[0]);
}

#[test]
fn confirm_without_an_askpass_program_is_refused() {
    // The harness gives signetd a clean environment: no askpass at all.
    let agent = Agent::start();
    let key = TestKey::from_seed(64, "no-askpass");
    let mut conn = agent.connect();
    assert_eq!(
        conn.request(&key.add_request(vec![Constraint::Confirm])),
        Response::Success
    );
    let start = Instant::now();
    assert_eq!(sign(&mut conn, &key, b"nobody to ask"), Response::Failure);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    agent.wait_log_line(&["no askpass program"]);
    // The key is still there, just unusable without confirmation.
    assert_eq!(list_identities(&mut conn).len(), 1);
}

#[test]
fn lifetime_key_signs_until_it_expires_and_not_after() {
    let agent = Agent::start();
    let key = TestKey::from_seed(65, "two-seconds");
    let mut conn = agent.connect();
    let sent = Instant::now();
    assert_eq!(
        conn.request(&key.add_request(vec![Constraint::Lifetime(2)])),
        Response::Success
    );
    let added = Instant::now();
    // Sign as fast as possible until the first refusal.
    let mut last_ok = None;
    let refused_at = wait_for(Duration::from_secs(10), "the key to expire", || {
        let asked = Instant::now();
        match sign(&mut conn, &key, b"still alive?") {
            Response::Signature(_) => {
                last_ok = Some(asked);
                None
            }
            Response::Failure => Some(Instant::now()),
            other => panic!("unexpected reply {other:?}"),
        }
    });
    let last_ok = last_ok.unwrap_or_else(|| panic!("the key never signed"));
    // Usable right up to its expiry (polls are 20 ms apart)...
    assert!(
        last_ok.duration_since(sent) >= Duration::from_millis(1800),
        "stopped signing after only {:?}",
        last_ok.duration_since(sent)
    );
    // ...and gone right after it.
    assert!(
        refused_at.duration_since(added) <= Duration::from_millis(2500),
        "still signing {:?} after a 2 s lifetime",
        refused_at.duration_since(added)
    );
    assert_eq!(list_identities(&mut conn), vec![]);
}
