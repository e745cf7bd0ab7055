//! Faults: the daemon killed with SIGKILL, stopped with SIGTERM while
//! requests are in flight, and clients that vanish in the middle of a
//! request or stop reading their replies.
//!
//! (Keyring-unavailable and disk-full faults belong to the key store's tests.)

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use signet_proto::message::{Request, Response};
use signet_proto::{frame, Constraint, SignRequest};
use signet_tests::{
    list_identities, verify_ssh_signature, wait_for, Agent, AgentOptions, Signal, TestKey, DEADLINE,
};

/// An askpass program that records that it was asked, waits `delay`, then
/// says yes: a request that stays in flight for a known time.
fn slow_askpass_agent(delay: &str, config: Option<String>) -> Agent {
    let delay = delay.to_owned();
    Agent::start_customized(
        AgentOptions {
            config,
            ..AgentOptions::default()
        },
        move |dir, cmd| {
            let script = dir.join("slow-askpass");
            fs::write(
                &script,
                format!(
                    "#!/bin/sh\necho asked >> '{}'\nsleep {delay}\nexit 0\n",
                    dir.join("asked").display()
                ),
            )
            .unwrap_or_else(|e| panic!("writing askpass: {e}"));
            fs::set_permissions(&script, fs::Permissions::from_mode(0o700))
                .unwrap_or_else(|e| panic!("chmod: {e}"));
            cmd.env("SIGNET_ASKPASS", script);
        },
    )
}

fn wait_asked(agent: &Agent, times: usize) {
    let file = agent.dir().join("asked");
    wait_for(DEADLINE, "the askpass program to be asked", || {
        let n = fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .count();
        (n >= times).then_some(())
    });
}

fn sign_frame(key: &TestKey, data: &[u8]) -> Vec<u8> {
    let blob = key.blob();
    let mut out = Vec::new();
    Request::Sign(SignRequest {
        key_blob: &blob,
        data,
        flags: 0,
    })
    .encode_frame(&mut out);
    out
}

/// How one request ended, seen from the client.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A whole reply.
    Reply(Response),
    /// The connection ended before any byte of a reply: a clean failure.
    Closed,
    /// Part of a reply, or an undecodable one: never acceptable.
    Broken(String),
}

/// Sends `request` and reads one reply, classifying how it ended.
fn exchange(stream: &mut UnixStream, request: &[u8]) -> Outcome {
    let clean = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::UnexpectedEof
        )
    };
    if let Err(e) = stream.write_all(request) {
        return if clean(&e) {
            Outcome::Closed
        } else {
            Outcome::Broken(format!("write: {e}"))
        };
    }
    let mut prefix = [0u8; frame::LEN_PREFIX];
    let mut got = 0;
    while got < prefix.len() {
        match stream.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Outcome::Closed,
            Ok(0) => return Outcome::Broken(format!("EOF after {got} prefix bytes")),
            Ok(n) => got += n,
            Err(e) if got == 0 && clean(&e) => return Outcome::Closed,
            Err(e) => return Outcome::Broken(format!("read after {got} prefix bytes: {e}")),
        }
    }
    let len = match frame::body_len(prefix) {
        Ok(l) => l,
        Err(e) => return Outcome::Broken(format!("bad prefix: {e}")),
    };
    let mut body = vec![0u8; len];
    if let Err(e) = stream.read_exact(&mut body) {
        return Outcome::Broken(format!("partial reply body: {e}"));
    }
    match Response::decode(&body) {
        Ok(r) => Outcome::Reply(r),
        Err(e) => Outcome::Broken(format!("undecodable reply: {e}")),
    }
}

#[test]
fn sigkill_under_load_leaves_a_stale_socket_the_next_start_replaces() {
    let mut first = Agent::start();
    let socket = first.socket().to_path_buf();
    let key = TestKey::from_seed(71, "before-kill");
    assert_eq!(
        first.connect().request(&key.add_request(vec![])),
        Response::Success
    );
    // Clients busy signing when the daemon dies.
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..4)
        .map(|i| {
            let socket = socket.clone();
            let frame = sign_frame(&key, format!("busy {i}").as_bytes());
            let stop = stop.clone();
            thread::spawn(move || {
                let mut s = UnixStream::connect(&socket).unwrap_or_else(|e| panic!("connect: {e}"));
                s.set_read_timeout(Some(DEADLINE)).ok();
                let mut served = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    match exchange(&mut s, &frame) {
                        Outcome::Reply(Response::Signature(_)) => served += 1,
                        Outcome::Closed => break,
                        other => panic!("client {i}: {other:?}"),
                    }
                }
                served
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    first.kill9();
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        let served = b.join().unwrap_or_else(|_| panic!("a client panicked"));
        assert!(served > 0, "a client was never served before the kill");
    }
    assert!(
        socket.exists(),
        "kill -9 should leave the socket file behind"
    );
    assert!(
        UnixStream::connect(&socket).is_err(),
        "nobody should answer on the stale socket"
    );

    let second = Agent::start_with(AgentOptions {
        socket: Some(socket.clone()),
        ..AgentOptions::default()
    });
    second.wait_log_line(&["replacing stale socket"]);
    // A fresh agent: the in-memory key died with the old process; the new
    // one serves and signs.
    let mut conn = second.connect();
    assert_eq!(list_identities(&mut conn), vec![]);
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Success);
    let data = b"after restart";
    let blob = key.blob();
    match conn.request(&Request::Sign(SignRequest {
        key_blob: &blob,
        data,
        flags: 0,
    })) {
        Response::Signature(sig) => verify_ssh_signature(&key.public(), data, &sig),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sigterm_with_requests_in_flight_completes_them_or_fails_cleanly() {
    let mut agent = slow_askpass_agent("1", None);
    let socket: PathBuf = agent.socket().to_path_buf();
    let plain = TestKey::from_seed(72, "plain");
    let confirm = TestKey::from_seed(73, "confirm");
    let mut setup = agent.connect();
    assert_eq!(setup.request(&plain.add_request(vec![])), Response::Success);
    assert_eq!(
        setup.request(&confirm.add_request(vec![Constraint::Confirm])),
        Response::Success
    );
    drop(setup);

    // A request that will be in the middle of its confirmation at SIGTERM.
    let slow = {
        let socket = socket.clone();
        let frame = sign_frame(&confirm, b"slow request");
        thread::spawn(move || {
            let mut s = UnixStream::connect(&socket).unwrap_or_else(|e| panic!("connect: {e}"));
            s.set_read_timeout(Some(DEADLINE)).ok();
            exchange(&mut s, &frame)
        })
    };
    // Busy clients signing back to back until the daemon goes away. Each
    // reports its first signature, so SIGTERM is sent only once all eight are
    // connected and served: what is tested is what happens to them after it.
    let (first_tx, first_rx) = std::sync::mpsc::channel::<()>();
    let busy: Vec<_> = (0..8)
        .map(|i| {
            let socket = socket.clone();
            let first_tx = first_tx.clone();
            let data = format!("busy {i}").into_bytes();
            let frame = sign_frame(&plain, &data);
            let public = plain.public();
            thread::spawn(move || -> Result<u32, String> {
                let mut s = UnixStream::connect(&socket).map_err(|e| e.to_string())?;
                s.set_read_timeout(Some(DEADLINE)).ok();
                let mut served = 0;
                loop {
                    match exchange(&mut s, &frame) {
                        Outcome::Reply(Response::Signature(sig)) => {
                            verify_ssh_signature(&public, &data, &sig);
                            served += 1;
                            if served == 1 {
                                let _ = first_tx.send(());
                            }
                        }
                        Outcome::Closed => return Ok(served),
                        other => return Err(format!("client {i} after {served}: {other:?}")),
                    }
                }
            })
        })
        .collect();

    for _ in 0..8 {
        if first_rx.recv_timeout(DEADLINE).is_err() {
            panic!(
                "a busy client was not served before SIGTERM\n--- log\n{}",
                agent.log()
            );
        }
    }
    wait_asked(&agent, 1);
    let term_at = Instant::now();
    agent.signal(Signal::TERM);

    // The confirmed request finishes with a good signature.
    match slow
        .join()
        .unwrap_or_else(|_| panic!("slow client panicked"))
    {
        Outcome::Reply(Response::Signature(sig)) => {
            verify_ssh_signature(&confirm.public(), b"slow request", &sig)
        }
        other => panic!("in-flight request got {other:?}\n--- log\n{}", agent.log()),
    }
    for b in busy {
        let served = b
            .join()
            .unwrap_or_else(|_| panic!("busy client panicked"))
            .unwrap_or_else(|e| panic!("{e}\n--- log\n{}", agent.log()));
        assert!(served > 0, "a busy client was never served");
    }
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}\n--- log\n{}", agent.log());
    assert!(
        term_at.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        term_at.elapsed()
    );
    assert!(!socket.exists(), "socket left behind after SIGTERM");
    assert!(UnixStream::connect(&socket).is_err());
}

#[test]
fn a_client_that_disconnects_mid_request_affects_no_one() {
    let agent = slow_askpass_agent("1", None);
    let plain = TestKey::from_seed(74, "plain");
    let confirm = TestKey::from_seed(75, "confirm");
    let mut good = agent.connect();
    assert_eq!(good.request(&plain.add_request(vec![])), Response::Success);
    assert_eq!(
        good.request(&confirm.add_request(vec![Constraint::Confirm])),
        Response::Success
    );

    // Send a request that takes a second, then vanish.
    let mut quitter =
        UnixStream::connect(agent.socket()).unwrap_or_else(|e| panic!("connect: {e}"));
    quitter
        .write_all(&sign_frame(&confirm, b"nobody will read this"))
        .unwrap_or_else(|e| panic!("write: {e}"));
    wait_asked(&agent, 1);
    drop(quitter);

    // Others are served meanwhile and afterwards.
    let deadline = Instant::now() + Duration::from_millis(1500);
    let blob = plain.blob();
    let mut n = 0;
    while Instant::now() < deadline {
        let data = format!("meanwhile {n}");
        match good.request(&Request::Sign(SignRequest {
            key_blob: &blob,
            data: data.as_bytes(),
            flags: 0,
        })) {
            Response::Signature(sig) => {
                verify_ssh_signature(&plain.public(), data.as_bytes(), &sig)
            }
            other => panic!("{other:?}"),
        }
        n += 1;
    }
    assert!(n > 0);
    // The abandoned reply could not be delivered: that connection ended, quietly.
    agent.wait_log_line(&["connection ended", "write failed"]);
    assert_eq!(list_identities(&mut good).len(), 2);
    assert_eq!(list_identities(&mut agent.connect()).len(), 2);
}

#[test]
fn a_client_that_stops_reading_replies_is_dropped_and_others_are_served() {
    let agent = Agent::start_with(AgentOptions {
        config: Some("[agent]\nframe_timeout_secs = 1\n".into()),
        ..AgentOptions::default()
    });
    let key = TestKey::from_seed(76, "reader");
    let mut good = agent.connect();
    assert_eq!(good.request(&key.add_request(vec![])), Response::Success);

    // Pipeline identity requests without ever reading: the replies fill the
    // socket buffers and the daemon's write stalls.
    let socket: &Path = agent.socket();
    let mut hog = UnixStream::connect(socket).unwrap_or_else(|e| panic!("connect: {e}"));
    hog.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let one = [0u8, 0, 0, 1, signet_proto::message::msg::REQUEST_IDENTITIES];
    let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 4096).collect();
    let hog_thread = thread::spawn(move || {
        // Ends when the daemon drops the connection (or the write times out).
        for _ in 0..1_000 {
            if hog.write_all(&batch).is_err() {
                break;
            }
        }
    });
    agent.wait_log_line(&["connection ended", "stopped reading replies"]);
    hog_thread.join().unwrap_or_else(|_| panic!("hog panicked"));
    // The well-behaved client never noticed.
    let data = b"still served";
    let blob = key.blob();
    match good.request(&Request::Sign(SignRequest {
        key_blob: &blob,
        data,
        flags: 0,
    })) {
        Response::Signature(sig) => verify_ssh_signature(&key.public(), data, &sig),
        other => panic!("{other:?}"),
    }
}
