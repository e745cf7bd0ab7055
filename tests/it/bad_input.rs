//! Hostile and malformed input over a raw socket: framing errors close only
//! that connection, malformed messages get FAILURE on a connection that stays
//! open, and the daemon keeps serving everyone else correctly.

use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use signet_proto::extension;
use signet_proto::message::{msg, Request, Response};
use signet_proto::wire::WireWrite;
use signet_proto::{Constraint, SignRequest, MAX_FRAME_LEN};
use signet_tests::{list_identities, verify_ssh_signature, Agent, AgentOptions, TestKey};

/// Short wait for things that must happen promptly (well below any read
/// deadline the daemon may have).
const PROMPT: Duration = Duration::from_secs(3);

/// Checks the daemon still serves a fresh client: it adds a key, signs with it
/// and the signature verifies.
fn assert_serves_new_client(agent: &Agent, seed: u8) {
    let key = TestKey::from_seed(seed, &format!("fresh-{seed}"));
    let mut conn = agent.connect();
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Success);
    let blob = key.blob();
    let data = b"signet bad-input survivor";
    let reply = conn.request(&Request::Sign(SignRequest {
        key_blob: &blob,
        data,
        flags: 0,
    }));
    let Response::Signature(sig) = reply else {
        panic!(
            "expected SIGN_RESPONSE, got {reply:?}\n--- log\n{}",
            agent.log()
        );
    };
    verify_ssh_signature(&key.public(), data, &sig);
}

#[test]
fn oversize_length_closes_the_connection_without_reading_the_body() {
    let agent = Agent::start();
    let mut conn = agent.connect();
    let len = u32::try_from(MAX_FRAME_LEN + 1).unwrap_or(u32::MAX);
    conn.send_raw(&len.to_be_bytes())
        .unwrap_or_else(|e| panic!("write: {e}"));
    // Closed on the prefix alone: no body was sent, so a daemon waiting for
    // one would keep the connection open.
    conn.expect_closed(PROMPT);
    // The daemon is not reading: a body larger than the socket buffers cannot
    // be written.
    let body = vec![0u8; MAX_FRAME_LEN + 1];
    let err = conn
        .stream()
        .write_all(&body)
        .err()
        .unwrap_or_else(|| panic!("the daemon read an oversize body"));
    assert!(
        matches!(
            err.kind(),
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
        ),
        "unexpected write error: {err}"
    );

    // Exactly at the cap is a legal frame: it is read and answered (FAILURE,
    // as it is not a valid message), on a connection that stays open.
    let mut conn = agent.connect();
    let mut body = vec![0u8; MAX_FRAME_LEN];
    body[0] = 200;
    assert_eq!(conn.request_body(&body), Response::Failure);
    assert_eq!(list_identities(&mut conn), vec![]);

    assert_serves_new_client(&agent, 1);
}

#[test]
fn zero_length_frame_closes_the_connection() {
    let agent = Agent::start();
    let mut conn = agent.connect();
    conn.send_raw(&[0, 0, 0, 0])
        .unwrap_or_else(|e| panic!("write: {e}"));
    conn.expect_closed(PROMPT);
    assert_serves_new_client(&agent, 2);
}

#[test]
fn truncated_frame_then_eof_leaves_the_daemon_running() {
    let mut agent = Agent::start();
    let mut conn = agent.connect();
    // Announce 100 bytes, send 10, hang up.
    let mut bytes = 100u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[msg::SIGN_REQUEST; 10]);
    conn.send_raw(&bytes)
        .unwrap_or_else(|e| panic!("write: {e}"));
    conn.stream()
        .shutdown(Shutdown::Write)
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    // No reply to half a message: the daemon just closes.
    conn.expect_closed(PROMPT);
    drop(conn);
    assert!(agent.is_running(), "signetd died:\n{}", agent.log());
    assert_serves_new_client(&agent, 3);
}

#[test]
fn unknown_message_type_gets_failure_and_the_connection_stays_open() {
    let agent = Agent::start();
    let mut conn = agent.connect();
    assert_eq!(conn.request_body(&[200]), Response::Failure);
    // Same connection, next request answered.
    assert_eq!(list_identities(&mut conn), vec![]);
    // Smartcard and SSH1-era messages are unsupported, not fatal.
    assert_eq!(
        conn.request_body(&[msg::ADD_SMARTCARD_KEY]),
        Response::Failure
    );
    assert_eq!(conn.request_body(&[1]), Response::Failure);
    assert_eq!(list_identities(&mut conn), vec![]);
}

#[test]
fn garbage_inside_a_well_framed_message_gets_failure() {
    let agent = Agent::start();
    let key = TestKey::from_seed(4, "k");
    let mut conn = agent.connect();
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Success);

    // SIGN_REQUEST whose key blob claims 4 GiB.
    let mut body = vec![msg::SIGN_REQUEST];
    body.put_u32(u32::MAX);
    body.extend_from_slice(&[1, 2, 3]);
    assert_eq!(conn.request_body(&body), Response::Failure);

    // SIGN_REQUEST with a valid blob but the data string running past the end.
    let mut body = vec![msg::SIGN_REQUEST];
    body.put_string(&key.blob());
    body.put_u32(1000);
    body.extend_from_slice(b"short");
    assert_eq!(conn.request_body(&body), Response::Failure);

    // A well-formed SIGN_REQUEST followed by trailing junk.
    let mut body = vec![msg::SIGN_REQUEST];
    body.put_string(&key.blob());
    body.put_string(b"data");
    body.put_u32(0);
    body.extend_from_slice(b"junk");
    assert_eq!(conn.request_body(&body), Response::Failure);

    // Signing with a key the agent does not hold.
    let other = TestKey::from_seed(5, "other").blob();
    let reply = conn.request(&Request::Sign(SignRequest {
        key_blob: &other,
        data: b"x",
        flags: 0,
    }));
    assert_eq!(reply, Response::Failure);

    // ADD_IDENTITY whose private half does not match its public key.
    let mut body = vec![msg::ADD_IDENTITY];
    body.put_string(b"ssh-ed25519");
    body.put_string(&[7; 32]);
    body.put_string(&[8; 64]);
    body.put_string(b"mismatch");
    assert_eq!(conn.request_body(&body), Response::Failure);

    // The connection still works and still holds exactly the one good key.
    let ids = list_identities(&mut conn);
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0].key_blob, key.blob());
}

#[test]
fn rsa_add_identity_gets_failure() {
    let agent = Agent::start();
    let mut conn = agent.connect();
    // An RSA key as ssh-add would send it: ssh-rsa n e d iqmp p q comment.
    let mut body = vec![msg::ADD_IDENTITY];
    body.put_string(b"ssh-rsa");
    for field in [
        &[0xc5u8; 257][..],
        &[1, 0, 1],
        &[0x33; 256],
        &[9; 128],
        &[0xd3; 129],
        &[0xe7; 129],
    ] {
        body.put_string(field);
    }
    body.put_string(b"rsa-key");
    assert_eq!(conn.request_body(&body), Response::Failure);
    agent.wait_log_line(&["ssh-rsa"]);
    assert_eq!(list_identities(&mut conn), vec![]);
}

#[test]
fn unknown_constraint_is_refused_and_the_key_not_added() {
    let agent = Agent::start();
    let key = TestKey::from_seed(6, "constrained");
    let mut conn = agent.connect();

    // A valid ADD_ID_CONSTRAINED with a lifetime, then constraint type 42.
    let mut body = Vec::new();
    key.add_request(vec![Constraint::Lifetime(600)])
        .encode_body(&mut body);
    assert_eq!(body[0], msg::ADD_ID_CONSTRAINED);
    body.push(42);
    assert_eq!(conn.request_body(&body), Response::Failure);
    assert_eq!(list_identities(&mut conn), vec![]);

    // An extension constraint signet does not know is refused too.
    let req = key.add_request(vec![Constraint::Extension {
        name: "unknown-constraint@example.com".into(),
        details: vec![1, 2, 3],
    }]);
    assert_eq!(conn.request(&req), Response::Failure);
    assert_eq!(list_identities(&mut conn), vec![]);

    // Control: the same key with only the lifetime is accepted.
    assert_eq!(
        conn.request(&key.add_request(vec![Constraint::Lifetime(600)])),
        Response::Success
    );
    assert_eq!(list_identities(&mut conn).len(), 1);
}

#[test]
fn unknown_extension_gets_failure_and_query_lists_signets() {
    let agent = Agent::start();
    let mut conn = agent.connect();
    let reply = conn.request(&Request::Extension {
        name: "no-such-extension@example.com",
        contents: &[],
    });
    assert_eq!(reply, Response::Failure);

    let reply = conn.request(&Request::Extension {
        name: extension::QUERY,
        contents: &[],
    });
    let Response::ExtensionResponse { name, contents } = reply else {
        panic!("expected EXTENSION_RESPONSE to query, got {reply:?}");
    };
    assert_eq!(name, extension::QUERY);
    let names =
        extension::decode_query_reply(&contents).unwrap_or_else(|e| panic!("bad query reply: {e}"));
    for want in extension::SUPPORTED {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    assert_eq!(list_identities(&mut conn), vec![]);
}

#[test]
fn exactly_one_reply_per_request_even_when_pipelined() {
    let agent = Agent::start();
    let key = TestKey::from_seed(7, "pipelined");
    let mut conn = agent.connect();
    let mut out = Vec::new();
    key.add_request(vec![]).encode_frame(&mut out);
    Request::RequestIdentities.encode_frame(&mut out);
    // An unknown type in the middle gets its own single FAILURE.
    out.extend_from_slice(&[0, 0, 0, 1, 200]);
    Request::RemoveAllIdentities.encode_frame(&mut out);
    Request::RequestIdentities.encode_frame(&mut out);
    conn.send_raw(&out).unwrap_or_else(|e| panic!("write: {e}"));

    assert_eq!(conn.recv(), Response::Success);
    let Response::Identities(ids) = conn.recv() else {
        panic!("expected IDENTITIES_ANSWER");
    };
    assert_eq!(ids.len(), 1);
    assert_eq!(conn.recv(), Response::Failure);
    assert_eq!(conn.recv(), Response::Success);
    assert_eq!(conn.recv(), Response::Identities(vec![]));
    conn.expect_silence(Duration::from_millis(300));
}

#[test]
fn after_all_bad_input_a_new_client_signs_correctly() {
    let mut agent = Agent::start();
    // Everything hostile on several connections, some left open.
    let mut open_conn = agent.connect();
    open_conn
        .send_raw(&[0, 0, 0, 50, msg::ADD_IDENTITY])
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut c = agent.connect();
    c.send_raw(&u32::MAX.to_be_bytes())
        .unwrap_or_else(|e| panic!("write: {e}"));
    c.expect_closed(PROMPT);
    let mut c = agent.connect();
    assert_eq!(c.request_body(&[200, 1, 2, 3]), Response::Failure);
    let mut body = vec![msg::SIGN_REQUEST];
    body.put_u32(0xdead_beef);
    assert_eq!(c.request_body(&body), Response::Failure);
    let mut body = vec![msg::ADD_IDENTITY];
    body.put_string(b"ssh-rsa");
    body.put_string(&[1; 64]);
    assert_eq!(c.request_body(&body), Response::Failure);
    let mut body = Vec::new();
    TestKey::from_seed(8, "x")
        .add_request(vec![Constraint::Confirm])
        .encode_body(&mut body);
    let last = body.len() - 1;
    body[last] = 42;
    assert_eq!(c.request_body(&body), Response::Failure);
    assert_eq!(list_identities(&mut c), vec![]);
    drop(c);

    assert!(agent.is_running(), "signetd died:\n{}", agent.log());
    assert_serves_new_client(&agent, 9);
    drop(open_conn);
}

#[test]
fn a_stalled_frame_is_dropped_after_the_frame_timeout() {
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\nframe_timeout_secs = 1\n".into()),
        ..AgentOptions::default()
    });
    let mut conn = agent.connect();
    // Start a 100-byte frame and stall after 5 bytes.
    conn.send_raw(&[0, 0, 0, 100, msg::REQUEST_IDENTITIES])
        .unwrap_or_else(|e| panic!("write: {e}"));
    let start = Instant::now();
    conn.expect_closed(Duration::from_secs(8));
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "closed before the frame timeout: {:?}",
        start.elapsed()
    );
    assert_serves_new_client(&agent, 12);
}

#[test]
fn a_silent_connection_is_closed_after_the_idle_timeout_and_a_busy_one_is_not() {
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\nidle_timeout_secs = 1\n".into()),
        ..AgentOptions::default()
    });
    let mut silent = agent.connect();
    assert_eq!(list_identities(&mut silent), vec![]);
    let mut busy = agent.connect();
    let start = Instant::now();
    // The busy connection asks every 200 ms for 2.5 s: never idle for 1 s.
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(
            list_identities(&mut busy),
            vec![],
            "busy connection dropped\n--- log\n{}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The silent one was closed (the sweeper runs every 250 ms here), and
    // not before the timeout.
    silent.expect_closed(PROMPT);
    assert_eq!(list_identities(&mut busy), vec![]);
    // Silence on an otherwise fresh connection ends it too, after ≥ 1 s.
    let mut late = agent.connect();
    assert_eq!(list_identities(&mut late), vec![]);
    let quiet_from = Instant::now();
    late.expect_closed(Duration::from_secs(5));
    assert!(
        quiet_from.elapsed() >= Duration::from_millis(900),
        "closed after {:?}, before the idle timeout",
        quiet_from.elapsed()
    );
}

/// Past `max_connections` a new connection is served and the longest-idle
/// one is closed for it (issue 14: before, the new one was closed, so
/// whoever held the slots kept everyone else out); the others still work.
#[test]
fn connections_over_the_cap_close_the_longest_idle_and_the_rest_still_served() {
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\nmax_connections = 2\n".into()),
        ..AgentOptions::default()
    });
    let served = || {
        let mut conn = agent.connect();
        conn.send_raw(&[0, 0, 0, 1, msg::REQUEST_IDENTITIES])
            .unwrap_or_else(|e| panic!("{e}"));
        conn.recv_frame()
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("a new connection was not served"));
        conn
    };
    let mut a = served();
    std::thread::sleep(Duration::from_millis(50));
    let mut b = served();
    std::thread::sleep(Duration::from_millis(50));
    a.send_raw(&[0, 0, 0, 1, msg::REQUEST_IDENTITIES])
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = a.recv_frame();
    std::thread::sleep(Duration::from_millis(50));
    // A third is served; b, idle the longest, is closed for it.
    let mut c = served();
    b.expect_closed(PROMPT);
    assert_eq!(list_identities(&mut a), vec![]);
    assert_eq!(list_identities(&mut c), vec![]);
}

#[test]
fn wrong_unlock_passphrases_are_answered_ever_more_slowly() {
    let agent = Agent::start();
    let mut conn = agent.connect();
    let pass = |p: &[u8]| signet_proto::Passphrase::new(p.to_vec());
    assert_eq!(
        conn.request(&Request::Lock(pass(b"right"))),
        Response::Success
    );
    // While locked only UNLOCK works: no signing, no adding, no second lock.
    let key = TestKey::from_seed(13, "while-locked");
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Failure);
    assert_eq!(
        conn.request(&Request::Lock(pass(b"again"))),
        Response::Failure
    );
    assert_eq!(list_identities(&mut conn), vec![]);

    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(
            conn.request(&Request::Unlock(pass(b"wrong"))),
            Response::Failure
        );
        times.push(start.elapsed());
    }
    assert!(
        times[0] >= Duration::from_millis(50),
        "no delay after a wrong passphrase: {times:?}"
    );
    assert!(
        times[2] >= Duration::from_millis(250),
        "the delay does not grow: {times:?}"
    );
    assert_eq!(
        conn.request(&Request::Unlock(pass(b"right"))),
        Response::Success
    );
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Success);
    assert_eq!(list_identities(&mut conn).len(), 1);
}
