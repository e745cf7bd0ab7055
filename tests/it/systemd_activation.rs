//! systemd socket activation and readiness, with systemd's own tool:
//! `systemd-socket-activate` binds the socket, waits for the first
//! connection and starts the real `signetd` with `LISTEN_FDS=1` and
//! `LISTEN_PID`; `NOTIFY_SOCKET` points at a datagram socket this test binds,
//! where `READY=1`, `RELOADING=1` and `STOPPING=1` must arrive. A client then
//! signs through the inherited socket. (No systemd PID 1 runs here; this is
//! the same protocol a service manager speaks.)

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ed25519_dalek::Verifier as _;
use signet_client::{Client, Scheme};
use signet_tests::{
    bin, read_ed25519_private, run, system_tool, wait_for, Signal, CHILD_PATH, DEADLINE,
};

struct Activated {
    dir: tempfile::TempDir,
    child: Child,
    notify: UnixDatagram,
}

impl Activated {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/signet/agent.sock")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The next sd_notify datagram, or None after `timeout`.
    fn next_notify(&self, timeout: Duration) -> Option<String> {
        self.notify
            .set_read_timeout(Some(timeout))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut buf = [0u8; 4096];
        match self.notify.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => None,
        }
    }

    #[track_caller]
    fn expect_notify(&self, want: &str) {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match self.next_notify(Duration::from_millis(500)) {
                Some(m) if m.lines().any(|l| l == want) => return,
                Some(m) => seen.push(m),
                None => {}
            }
        }
        panic!(
            "no {want} on NOTIFY_SOCKET (saw {seen:?})\n--- log\n{}",
            self.log()
        );
    }

    fn signal(&self, sig: Signal) {
        rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), sig)
            .unwrap_or_else(|e| panic!("kill: {e}"));
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        wait_for(DEADLINE, "signetd to exit", || {
            self.child.try_wait().ok().flatten()
        })
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `systemd-socket-activate -l <sock> -E NOTIFY_SOCKET=… signetd …`.
/// This test process's keyring service (the daemon's audit key goes there);
/// each test that starts a daemon holds a [`KeyringService`] of it, which
/// removes the entries when the test ends.
///
/// [`KeyringService`]: signet_tests::keystore::KeyringService
fn sd_service() -> String {
    format!("signet-test-sd-{}", std::process::id())
}

fn activate(extra_env: &[(&str, &str)]) -> Activated {
    let tool = system_tool("/usr/bin/systemd-socket-activate");
    let dir = tempfile::Builder::new()
        .prefix("signet-sd.")
        .tempdir()
        .unwrap_or_else(|e| panic!("{e}"));
    for sub in ["home", "config", "run/signet"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap_or_else(|e| panic!("{e}"));
    }
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap_or_else(|e| panic!("{e}"));
    let socket = dir.path().join("run/signet/agent.sock");
    let log = std::fs::File::create(dir.path().join("log")).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(tool);
    cmd.env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", dir.path().join("home"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("SIGNET_KEYRING_SERVICE", sd_service())
        .arg("-l")
        .arg(&socket)
        .arg(format!("--setenv=NOTIFY_SOCKET={}", notify_path.display()));
    for var in ["HOME", "XDG_CONFIG_HOME", "SIGNET_KEYRING_SERVICE"] {
        cmd.arg(format!("--setenv={var}"));
    }
    for (k, v) in extra_env {
        cmd.env(k, v).arg(format!("--setenv={k}"));
    }
    cmd.arg(bin("signetd"))
        .arg("--socket")
        .arg(&socket)
        .args(["--log-level", "debug"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
        .stderr(log);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let a = Activated { dir, child, notify };
    wait_for(DEADLINE, "systemd-socket-activate to listen", || {
        a.socket().exists().then_some(())
    });
    a
}

#[test]
fn signetd_uses_the_inherited_socket_and_reports_readiness() {
    let _keyring = signet_tests::keystore::KeyringService::named(sd_service());
    let mut a = activate(&[]);
    // Before the first connection only systemd-socket-activate listens; the
    // first connection makes it exec signetd with LISTEN_FDS=1, and the
    // queued connection is served by signetd.
    let keys = a.dir.path().join("keys");
    let key = signet_tests::generate_key(&keys, "ed25519", "activated");
    let (_, public) = read_ed25519_private(&key.private);
    let r = run(Command::new("ssh-add")
        .env_clear()
        .env("PATH", CHILD_PATH)
        .env("SSH_AUTH_SOCK", a.socket())
        .arg(&key.private));
    r.assert_ok();
    a.expect_notify("READY=1");

    let log = a.log();
    assert!(
        log.contains("activated=true"),
        "signetd did not take fd 3:\n{log}"
    );
    assert!(
        !log.contains("replacing stale socket"),
        "signetd bound its own socket:\n{log}"
    );
    // The pid that answers is the one systemd-socket-activate became.
    let mut client = Client::connect_to(a.socket()).unwrap_or_else(|e| panic!("{e}"));
    let status = client.status().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.pid, a.child.id(), "status: {status:?}");

    // A real Encord v2 signature through the inherited socket.
    let digest = signet_client::sha256(b"{}");
    let signed = client
        .sign_request(
            Some("activated"),
            Scheme::EncordV2,
            "POST",
            "https://api.encord.com/v2/public/projects",
            digest,
        )
        .unwrap_or_else(|e| panic!("sign_request: {e}"));
    let prepared = signet_proto::encord::prepare(
        signet_proto::encord::Scheme::EncordV2,
        "POST",
        "/v2/public/projects",
        &digest,
        &public,
        signed.created,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sig = signed
        .get("Signature")
        .and_then(|v| v.strip_prefix("encord-sig=:"))
        .and_then(|v| v.strip_suffix(':'))
        .unwrap_or_else(|| panic!("no Signature header: {:?}", signed.headers));
    use base64::Engine as _;
    let sig: [u8; 64] = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .ok()
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("bad signature {sig}"));
    ed25519_dalek::VerifyingKey::from_bytes(&public)
        .and_then(|k| {
            k.verify(
                prepared.message(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
        })
        .unwrap_or_else(|e| panic!("signature does not verify: {e}"));
    drop(client);

    // ExecReload= sends SIGHUP: RELOADING=1, then READY=1 again.
    a.signal(Signal::HUP);
    a.expect_notify("RELOADING=1");
    a.expect_notify("READY=1");

    // SIGTERM: STOPPING=1, a clean exit, and the socket file (systemd's) stays.
    a.signal(Signal::TERM);
    a.expect_notify("STOPPING=1");
    let status = a.wait_exit();
    assert!(status.success(), "exit {status}\n--- log\n{}", a.log());
    assert!(
        a.socket().exists(),
        "signetd removed the socket systemd owns\n--- log\n{}",
        a.log()
    );
    assert!(
        a.log().contains("socket left to the service manager"),
        "{}",
        a.log()
    );
}

#[test]
fn listen_fds_for_another_pid_is_ignored() {
    let _keyring = signet_tests::keystore::KeyringService::named(sd_service());
    // LISTEN_PID names another process: the variables are not for us, fd 3
    // is not taken, and signetd binds its own socket.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // signetd binds only in a private directory.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let socket = dir.path().join("agent.sock");
    let mut child = Command::new(bin("signetd"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("SIGNET_KEYRING_SERVICE", sd_service())
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1")
        .arg("--socket")
        .arg(&socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for(DEADLINE, "signetd's own socket", || {
        std::os::unix::net::UnixStream::connect(&socket).ok()
    });
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, Signal::TERM).unwrap_or_else(|e| panic!("{e}"));
    let out = wait_for(DEADLINE, "exit", || child.try_wait().ok().flatten());
    assert!(out.success());
    assert!(
        !Path::new(&socket).exists(),
        "its own socket is removed at exit"
    );
}

#[test]
fn a_passed_descriptor_that_is_not_a_listening_socket_is_refused() {
    let _keyring = signet_tests::keystore::KeyringService::named(sd_service());
    // LISTEN_PID is ours (set through a shell that execs signetd), but fd 3
    // is a plain file: signetd must refuse it rather than accept() on it.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run(Command::new("/bin/sh")
        .env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .arg("-c")
        .arg("exec 3</etc/hostname; LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" --socket \"$1\"")
        .arg(bin("signetd"))
        .arg(dir.path().join("agent.sock")));
    r.assert_code(1);
    assert!(
        r.stderr.contains("not a listening Unix stream socket"),
        "{r}"
    );
}
