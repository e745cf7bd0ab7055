//! Bounded state and replies (issue 14): long key names cannot make the
//! identities answer larger than a frame (which broke `ssh-add -l` and
//! `signet list` for every client), one uid opening thousands of
//! connections cannot lock another uid out, and a lifetime near 2^64 on
//! any path that takes one gets one reply, leaves the connection open and
//! the daemon alive.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use signet_proto::extension::{Extension, ExtensionError};
use signet_proto::keystore::Selection;
use signet_proto::{frame, Constraint, Request, Response};
use signet_tests::keystore::{Store, StoreAgent};
use signet_tests::{
    bin, chmod, generate_key, list_identities, read_ed25519_private, run, shared_tempdir,
    system_tool, Agent, AgentOptions, RawConn, TempUser, TestKey,
};

/// The identities answer's size on the wire.
fn identities_frame_len(conn: &mut RawConn) -> usize {
    conn.send(&Request::RequestIdentities);
    let body = conn
        .recv_frame()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("closed"));
    assert_eq!(body.first(), Some(&12), "not an identities answer");
    body.len()
}

#[track_caller]
fn ssh_add_lists(agent: &Agent, n: usize) {
    let r = agent.ssh_add(["-l"]);
    r.assert_ok();
    assert_eq!(r.stdout.lines().count(), n, "{r}");
    let r = agent.signet(["list"]);
    r.assert_ok();
}

#[test]
fn five_keys_with_60_kb_names_leave_the_key_list_working() {
    let long = |i: u8| format!("{i}{}", "n".repeat(60 * 1024));
    // Default limits: such names are refused outright.
    let agent = Agent::start();
    let mut conn = agent.connect();
    assert_eq!(
        conn.request(&TestKey::from_seed(90, "short").add_request(vec![])),
        Response::Success
    );
    for i in 0..5 {
        let key = TestKey::from_seed(91 + i, &long(i));
        assert_eq!(conn.request(&key.add_request(vec![])), Response::Failure);
    }
    agent.wait_log_line(&["refused to add a key", "more than the 255 allowed"]);
    ssh_add_lists(&agent, 1);
    drop(agent);

    // Names allowed up to 64 KiB: the agent takes keys while the answer
    // fits, and refuses the one that would not.
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\nmax_name_bytes = 65536\n".to_owned()),
        ..AgentOptions::default()
    });
    let mut conn = agent.connect();
    let mut accepted = 0;
    for i in 0..5 {
        let key = TestKey::from_seed(91 + i, &long(i));
        if conn.request(&key.add_request(vec![])) == Response::Success {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 4, "the fifth 60 KB name fits no reply");
    agent.wait_log_line(&["refused to add a key", "more than a reply may hold"]);
    let len = identities_frame_len(&mut conn);
    assert!(
        len <= frame::MAX_FRAME_LEN,
        "identities answer of {len} bytes"
    );
    assert!(
        len > 4 * 60 * 1024,
        "the four keys are listed ({len} bytes)"
    );
    assert_eq!(list_identities(&mut conn).len(), 4);
    ssh_add_lists(&agent, 4);
}

/// A system agent serving two uids: one opens 2000 connections and holds
/// them; the other still connects and signs, 5 times out of 5, and the
/// flooder's oldest connections were closed to make room for its newest.
#[test]
fn one_uid_with_2000_connections_cannot_stop_another_from_signing() {
    let flooder = TempUser::create("sgfld");
    let job = TempUser::create("sgjob");
    let base = shared_tempdir();
    let key = generate_key(&base.path().join("keys"), "ed25519", "ci-bot");
    chmod(&base.path().join("keys"), 0o700);
    let (_, public) = read_ed25519_private(&key.private);
    let socket = base.path().join("run/signet/agent.sock");
    let agent = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        config: Some(format!(
            "[system]\nallow_uids = [{}, {}]\n\n[keys.ci-bot]\nsource = \"file\"\npath = \"{}\"\n\n[audit]\npath = {:?}\n",
            flooder.uid,
            job.uid,
            key.private.display(),
            base.path().join("audit.log")
        )),
        args: vec!["--system".to_owned()],
    });
    agent.wait_log_line(&["loaded configured key"]);

    // Opens 2000 connections, each asking once (so its session exists),
    // then holds all of them open and counts those the agent closed.
    let script = r#"
import resource, socket, struct, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
conns = []
for _ in range(2000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(struct.pack(">IB", 1, 11))
    conns.append(s)
print("holding", len(conns), flush=True)
time.sleep(120)
"#;
    let mut child = flooder
        .command(system_tool("/usr/bin/python3"))
        .args(["-c", script])
        .arg(&socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let _flood = Kill(child);
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        line.trim(),
        "holding 2000",
        "the flooder did not get its connections"
    );
    agent.wait_log_line(&[
        &format!("uid {} has 256 connections open", flooder.uid),
        "closing its longest-idle",
    ]);

    // The other uid: 5 signatures out of 5, each verified.
    for i in 0..5 {
        let r = run(job
            .command(bin("signet"))
            .env("HOME", "/nonexistent")
            .arg("--socket")
            .arg(&socket)
            .args([
                "sign-request",
                "--key",
                "ci-bot",
                "--method",
                "GET",
                "--url",
                "https://api.encord.com/v2/public/projects",
                "--format",
                "json",
            ]));
        assert!(
            r.status.success(),
            "signature {i} of the other uid failed:\n{r}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r}"));
        assert!(v.to_string().contains("encord-sig=:"), "{r}");
    }
    // And a raw signature through ssh-add's own path works for it too.
    let r = run(job
        .command(system_tool("/usr/bin/ssh-add"))
        .env("SSH_AUTH_SOCK", &socket)
        .arg("-l"));
    r.assert_ok();
    let _ = public;
}

/// `lifetime` near 2^64 wherever a peer can send one: `load@signet` (a
/// `uint64`), `ADD_ID_CONSTRAINED` (a `uint32`, its largest value), and
/// the confirm-remember constraint. Each gets one reply; the connection
/// stays open and the daemon answers.
#[test]
fn a_lifetime_near_2_to_the_64_gets_one_reply_and_breaks_nothing() {
    let agent = StoreAgent::start(Store::Keyutils);
    agent.signet(["generate", "stored"]).assert_ok();
    let mut conn = RawConn::connect(agent.socket());
    for lifetime in [u64::MAX, u64::MAX - 1, 1 << 63, u64::from(u32::MAX) + 1] {
        let load = Extension::Load(Selection {
            all: false,
            names: vec!["stored".to_owned()],
            lifetime: Some(lifetime),
        });
        let mut f = Vec::new();
        load.encode_frame(&mut f);
        conn.send_raw(&f).unwrap_or_else(|e| panic!("{e}"));
        match conn.recv() {
            Response::ExtensionFailure(c) => {
                let e = ExtensionError::decode(&c)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| panic!("no reason"));
                assert!(
                    e.reason.contains("longer than the longest accepted"),
                    "{e:?}"
                );
            }
            other => panic!("lifetime {lifetime}: {other:?}"),
        }
        conn.expect_silence(std::time::Duration::from_millis(50));
    }
    // The largest the SSH protocol can say: accepted (136 years).
    let key = TestKey::from_seed(99, "long-lived");
    assert_eq!(
        conn.request(&key.add_request(vec![Constraint::Lifetime(u32::MAX)])),
        Response::Success
    );
    let mut remember = u32::MAX.to_be_bytes().to_vec();
    let forever = TestKey::from_seed(98, "remembered");
    let got = conn.request(&forever.add_request(vec![
        Constraint::Confirm,
        Constraint::Extension {
            name: "confirm-remember@signet".into(),
            details: std::mem::take(&mut remember),
        },
    ]));
    assert!(
        matches!(got, Response::Success | Response::Failure),
        "{got:?}"
    );
    // And `signet load --lifetime` with a huge value is the CLI's refusal.
    let r = agent.signet(["load", "stored", "--lifetime", "99999999999999d"]);
    r.assert_code(2);
    // Still the same connection, and the daemon is alive and right.
    let ids = list_identities(&mut conn);
    assert!(ids.iter().any(|i| i.comment == "long-lived"), "{ids:?}");
    agent
        .signet(["load", "stored", "--lifetime", "1h"])
        .assert_ok();
    agent.signet(["status"]).assert_ok();
    assert!(
        agent.log().lines().all(|l| !l.contains("panicked")),
        "{}",
        agent.log()
    );
    let _ = fs::metadata(agent.socket()).unwrap_or_else(|e| panic!("{e}"));
}
