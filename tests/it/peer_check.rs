//! The daemon serves only its own user (and root): a connection from another
//! uid gets one refusal that says why, and nothing else, even when file
//! permissions let it in; it is logged.

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
    // Not "no identities": the agent must not have answered the request.
    assert!(
        !r.stdout.contains(&key.fingerprint()),
        "nobody saw the key:\n{r}"
    );
    assert!(
        !r.stdout.contains("no identities"),
        "the agent answered nobody's request:\n{r}"
    );
    // The daemon answers with one refusal and closes: ssh-add fails as it
    // does for any failing agent (exit 1), it does not die of SIGPIPE
    // writing its request to a closed socket (exit 141).
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(r.status.signal(), None, "ssh-add was killed:\n{r}");
    r.assert_code(1);
    assert_eq!(
        r.stderr, "error fetching identities: invalid format\n",
        "{r}"
    );

    // Byte-exact: as nobody, send REQUEST_IDENTITIES on a raw socket; the
    // daemon's only reply is an extension failure (code 9, not allowed) with
    // the reason, then the connection ends.
    let python = system_tool("/usr/bin/python3");
    let probe = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"\0\0\0\x01\x0b")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.hex())
"#;
    let r = run(agent
        .ssh_tool(setpriv.to_str().unwrap_or("/usr/bin/setpriv"))
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(&python)
        .args(["-c", probe])
        .arg(agent.socket())
        .env("HOME", "/nonexistent"));
    r.assert_ok();
    let reason = b"uid 65534 may not use this agent: it serves only uid 0 and root; start your own with `signet start`";
    let mut want = Vec::new();
    want.extend_from_slice(&u32::try_from(reason.len() + 9).unwrap_or(0).to_be_bytes());
    want.push(28);
    want.extend_from_slice(&9u32.to_be_bytes());
    want.extend_from_slice(&u32::try_from(reason.len()).unwrap_or(0).to_be_bytes());
    want.extend_from_slice(reason);
    assert_eq!(
        r.stdout.trim(),
        hex::encode(&want),
        "the refusal on the wire:\n{r}"
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
