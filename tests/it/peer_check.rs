//! The daemon serves only its own user (and root): a connection from another
//! uid is closed unanswered and logged, even when file permissions let it in.

use std::path::Path;

use signet_tests::{chmod, my_uid, run, system_tool, Agent};

#[test]
fn another_user_is_refused_even_with_a_world_writable_socket() {
    assert_eq!(
        my_uid(),
        0,
        "peer_check needs root, to connect as `nobody` with setpriv; run the tests as root (CI does)"
    );
    let setpriv = system_tool("/usr/bin/setpriv");
    let agent = Agent::start();
    let key = agent.keygen("ed25519", "owner-key");
    agent.ssh_add([&key.private]).assert_ok();

    // Deliberately weaken the file permissions so that only the daemon's
    // peer-uid check stands between `nobody` and the keys.
    chmod(agent.dir(), 0o777);
    chmod(agent.socket(), 0o777);
    assert!(Path::new(agent.socket()).exists());

    let r = run(agent
        .ssh_tool(setpriv.to_str().unwrap_or("/usr/bin/setpriv"))
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "ssh-add",
            "-l",
        ])
        .env("HOME", "/nonexistent"));
    r.assert_fail();
    // Not "no identities": the agent must not have answered at all.
    assert!(
        !r.stdout.contains(&key.fingerprint()),
        "nobody saw the key:\n{r}"
    );
    assert!(
        !r.stdout.contains("no identities"),
        "the agent answered nobody's request:\n{r}"
    );
    // The daemon closes the connection unanswered: ssh-add either reads EOF
    // and says so, or dies of SIGPIPE writing its request to the closed socket.
    use std::os::unix::process::ExitStatusExt as _;
    assert!(
        r.stderr.contains("communication with agent failed")
            || r.stderr.contains("Could not open a connection")
            || r.status.signal() == Some(13),
        "ssh-add did not report a refused connection:\n{r}"
    );

    // Byte-exact: as nobody, send REQUEST_IDENTITIES on a raw socket; the
    // daemon must close the connection without a single reply byte.
    let python = system_tool("/usr/bin/python3");
    let probe = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(b"\0\0\0\x01\x0b")
    data = s.recv(100)
except (BrokenPipeError, ConnectionResetError):
    data = b""
print("EOF" if not data else "REPLY " + data.hex())
"#;
    let r = run(agent
        .ssh_tool(setpriv.to_str().unwrap_or("/usr/bin/setpriv"))
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(&python)
        .args(["-c", probe])
        .arg(agent.socket())
        .env("HOME", "/nonexistent"));
    r.assert_ok();
    assert_eq!(
        r.stdout.trim(),
        "EOF",
        "the daemon answered another uid:\n{r}"
    );

    let line = agent.wait_log_line(&["refused", "65534"]);
    assert!(
        line.contains("WARN"),
        "refusal not logged at warn level: {line}"
    );

    // The owner (root) still gets served.
    let r = agent.ssh_add(["-l"]);
    r.assert_ok();
    assert!(r.stdout.contains(&key.fingerprint()), "{r}");
}
