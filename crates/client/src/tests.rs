//! The client against a tiny fake agent on a temporary Unix socket: each test
//! proves one operation's encoding, decoding or error mapping.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use signet_proto::extension::{
    self, ErrorCode, ExtensionError, KeyInfo as WireKey, SignHttpReply, SignHttpRequest,
    VersionReply,
};
use signet_proto::key::{ed25519_blob, fingerprint, key_id};
use signet_proto::wire::WireWrite;
use signet_proto::{frame, Constraint, NewKey, Request, Response};

use crate::{Client, Ed25519Seed, Error, Passphrase, Scheme};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Handler = dyn Fn(&Request<'_>) -> Response + Send + Sync;

/// How the fake agent treats connections.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Serve many requests per connection.
    KeepOpen,
    /// Close each connection after one reply (like an idle timeout).
    OnePerConnection,
}

struct FakeAgent {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// Starts a fake agent that answers `version@signet` correctly and every
/// other request with `handler`.
fn fake_agent(
    mode: Mode,
    handler: impl Fn(&Request<'_>) -> Response + Send + Sync + 'static,
) -> Result<FakeAgent, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&path)?;
    let handler: Arc<Handler> = Arc::new(handler);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            loop {
                let mut prefix = [0u8; 4];
                if conn.read_exact(&mut prefix).is_err() {
                    break;
                }
                let Ok(len) = frame::body_len(prefix) else {
                    break;
                };
                let mut body = vec![0u8; len];
                if conn.read_exact(&mut body).is_err() {
                    break;
                }
                let resp = match Request::decode(&body) {
                    Ok(Request::Extension { name, .. }) if name == extension::VERSION => {
                        ext_ok(extension::VERSION, |out| {
                            VersionReply {
                                protocol: extension::PROTOCOL_VERSION,
                                agent_version: "9.9.9".into(),
                            }
                            .encode(out)
                        })
                    }
                    Ok(req) => handler(&req),
                    Err(_) => Response::Failure,
                };
                let mut out = Vec::new();
                resp.encode_frame(&mut out);
                if conn.write_all(&out).is_err() {
                    break;
                }
                if mode == Mode::OnePerConnection {
                    break;
                }
            }
        }
    });
    Ok(FakeAgent { _dir: dir, path })
}

fn ext_ok(name: &str, contents: impl FnOnce(&mut Vec<u8>)) -> Response {
    let mut out = Vec::new();
    contents(&mut out);
    Response::ExtensionResponse {
        name: name.to_owned(),
        contents: out,
    }
}

fn ext_err(code: ErrorCode, reason: &str) -> Response {
    let mut out = Vec::new();
    ExtensionError::new(code, reason).encode(&mut out);
    Response::ExtensionFailure(out)
}

fn sig_blob(sig: &[u8; 64]) -> Vec<u8> {
    let mut blob = Vec::new();
    blob.put_string(b"ssh-ed25519");
    blob.put_string(sig);
    blob
}

fn wire_key(public: [u8; 32], name: &str) -> WireKey {
    WireKey {
        key_blob: ed25519_blob(&public),
        name: name.into(),
        expires_in: Some(840),
        confirm: false,
        source: "agent".into(),
        policy: String::new(),
        listed: true,
        certificates: Vec::new(),
    }
}

#[test]
fn missing_socket_is_not_running() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("nothing.sock");
    match Client::connect_to(&path) {
        Err(e @ Error::NotRunning { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("no agent running at"), "{msg}");
            assert!(msg.contains("signet start"), "{msg}");
            Ok(())
        }
        other => Err(format!("expected NotRunning, got {other:?}").into()),
    }
}

#[test]
fn version_handshake_and_mismatch() -> TestResult {
    let agent = fake_agent(Mode::KeepOpen, |_| Response::Failure)?;
    let mut c = Client::connect_to(&agent.path)?;
    let v = c.version()?;
    assert_eq!(v.protocol, extension::PROTOCOL_VERSION);
    assert_eq!(v.agent_version, "9.9.9");

    // An agent speaking another protocol version.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("old.sock");
    let listener = UnixListener::bind(&path)?;
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 64];
            let _ = conn.read(&mut buf);
            let mut out = Vec::new();
            ext_ok(extension::VERSION, |out| {
                VersionReply {
                    protocol: extension::PROTOCOL_VERSION + 1,
                    agent_version: "10.0.0".into(),
                }
                .encode(out)
            })
            .encode_frame(&mut out);
            let _ = conn.write_all(&out);
        }
    });
    match Client::connect_to(&path)?.version() {
        Err(Error::ProtocolMismatch { agent, client, .. }) => {
            assert_eq!(agent, Some(extension::PROTOCOL_VERSION + 1));
            assert_eq!(client, extension::PROTOCOL_VERSION);
            Ok(())
        }
        other => Err(format!("expected ProtocolMismatch, got {other:?}").into()),
    }
}

#[test]
fn plain_ssh_agent_is_not_signet() -> TestResult {
    // OpenSSH's agent answers an unknown extension with a bare FAILURE.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ssh-agent.sock");
    let listener = UnixListener::bind(&path)?;
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 64];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(&[0, 0, 0, 1, 5]);
        }
    });
    match Client::connect_to(&path)?.list_keys() {
        Err(e @ Error::NotSignet { .. }) => {
            assert!(e.to_string().contains("is not signetd (an ssh-agent?)"));
            Ok(())
        }
        other => Err(format!("expected NotSignet, got {other:?}").into()),
    }
}

#[test]
fn list_keys_and_resolve() -> TestResult {
    let a = [1u8; 32];
    let b = [2u8; 32];
    let agent = fake_agent(Mode::KeepOpen, move |req| match req {
        Request::Extension { name, contents } if *name == extension::LIST => {
            assert!(contents.is_empty());
            ext_ok(extension::LIST, |out| {
                extension::encode_list_reply(
                    out,
                    &[wire_key(a, "ci-bot"), wire_key(b, "dup"), {
                        let mut k = wire_key([3; 32], "dup");
                        k.expires_in = None;
                        k
                    }],
                )
            })
        }
        _ => Response::Failure,
    })?;
    let mut c = Client::connect_to(&agent.path)?;
    let keys = c.list_keys()?;
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0].public, a);
    assert_eq!(keys[0].expires_in, Some(Duration::from_secs(840)));
    assert_eq!(keys[0].key_id(), key_id(&a));
    assert_eq!(keys[2].expires_in, None);

    assert_eq!(c.resolve("ci-bot")?.public, a);
    assert_eq!(c.resolve(&key_id(&b))?.public, b);
    assert_eq!(c.resolve(&fingerprint(&ed25519_blob(&b)))?.public, b);
    match c.resolve("nope") {
        Err(e @ Error::NoSuchKey { .. }) => assert!(e.to_string().contains("signet list")),
        other => return Err(format!("expected NoSuchKey, got {other:?}").into()),
    }
    match c.resolve("dup") {
        Err(Error::AmbiguousKey { candidates, .. }) => assert_eq!(candidates.len(), 2),
        other => return Err(format!("expected AmbiguousKey, got {other:?}").into()),
    }
    match c.resolve("") {
        Err(Error::AmbiguousKey { .. }) => Ok(()),
        other => Err(format!("expected AmbiguousKey, got {other:?}").into()),
    }
}

#[test]
fn sign_encodes_request_and_parses_signature() -> TestResult {
    let blob = ed25519_blob(&[7; 32]);
    let expected_blob = blob.clone();
    let agent = fake_agent(Mode::KeepOpen, move |req| match req {
        Request::Sign(s) if s.key_blob == expected_blob.as_slice() => {
            assert_eq!(s.data, b"hello");
            assert_eq!(s.flags, 0);
            Response::Signature(sig_blob(&[0x5a; 64]))
        }
        _ => Response::Failure,
    })?;
    let mut c = Client::connect_to(&agent.path)?;
    assert_eq!(c.sign(&blob, b"hello")?.to_bytes(), [0x5a; 64]);
    match c.sign(&ed25519_blob(&[8; 32]), b"hello") {
        Err(e @ Error::Refused { code: None, .. }) => {
            assert!(e.to_string().contains("refused to sign"));
            Ok(())
        }
        other => Err(format!("expected Refused, got {other:?}").into()),
    }
}

#[test]
fn oversized_sign_request_is_refused_before_sending() -> TestResult {
    let agent = fake_agent(Mode::KeepOpen, |_| Response::Failure)?;
    let mut c = Client::connect_to(&agent.path)?;
    let data = vec![0u8; signet_proto::MAX_FRAME_LEN];
    match c.sign(&ed25519_blob(&[7; 32]), &data) {
        Err(Error::TooLarge { .. }) => Ok(()),
        other => Err(format!("expected TooLarge, got {other:?}").into()),
    }
}

#[test]
fn sign_request_sends_target_and_digest() -> TestResult {
    let agent = fake_agent(Mode::KeepOpen, |req| match req {
        Request::Extension { name, contents } if *name == extension::SIGN_REQUEST => {
            let Ok(r) = SignHttpRequest::decode(contents) else {
                return Response::Failure;
            };
            if r.key == "locked-key" {
                return ext_err(ErrorCode::Locked, "agent is locked");
            }
            if r.key == "missing" {
                return ext_err(ErrorCode::NoSuchKey, "no such key");
            }
            if r.key == "policy" {
                return ext_err(ErrorCode::Refused, "denied by policy: ask your admin");
            }
            ext_ok(extension::SIGN_REQUEST, |out| {
                SignHttpReply {
                    created: 1_700_000_000,
                    headers: vec![
                        ("Content-Digest".into(), hex_digest(&r.body_sha256)),
                        ("X-Target".into(), format!("{} {}", r.method, r.target)),
                        ("X-Scheme".into(), r.scheme.as_str().into()),
                        ("X-Key".into(), r.key.into()),
                    ],
                }
                .encode(out)
            })
        }
        _ => Response::Failure,
    })?;
    let mut c = Client::connect_to(&agent.path)?;
    let h = c.sign_request_body(
        Some("bot"),
        Scheme::EncordV2,
        "POST",
        "https://api.encord.com/public/user?x=1#frag",
        b"{}",
    )?;
    assert_eq!(h.created, 1_700_000_000);
    assert_eq!(
        h.get("content-digest"),
        Some(hex_digest(&crate::sha256(b"{}")).as_str())
    );
    assert_eq!(h.get("x-target"), Some("POST /public/user?x=1"));
    assert_eq!(h.get("X-Scheme"), Some("encord-v2"));
    assert_eq!(h.get("x-key"), Some("bot"));

    let h = c.sign_request(None, Scheme::EncordV1, "get", "/v2/public/a", [0; 32])?;
    assert_eq!(h.get("x-key"), Some(""));
    assert_eq!(h.get("x-scheme"), Some("encord-v1"));

    match c.sign_request(Some("locked-key"), Scheme::EncordV2, "GET", "/", [0; 32]) {
        Err(Error::Locked) => {}
        other => return Err(format!("expected Locked, got {other:?}").into()),
    }
    match c.sign_request(Some("missing"), Scheme::EncordV2, "GET", "/", [0; 32]) {
        Err(Error::NoSuchKey { selector }) => assert_eq!(selector, "missing"),
        other => return Err(format!("expected NoSuchKey, got {other:?}").into()),
    }
    match c.sign_request(Some("policy"), Scheme::EncordV2, "GET", "/", [0; 32]) {
        Err(e @ Error::Refused { .. }) => {
            assert_eq!(e.to_string(), "denied by policy: ask your admin");
            assert_eq!(e.code(), Some(ErrorCode::Refused));
        }
        other => return Err(format!("expected Refused, got {other:?}").into()),
    }
    // Bad input is caught before anything is sent.
    for (method, url) in [
        ("GET", "https://api.encord.com"),
        ("G T", "/a"),
        ("GET", "/a b"),
    ] {
        match c.sign_request(None, Scheme::EncordV2, method, url, [0; 32]) {
            Err(Error::InvalidInput { .. }) => {}
            other => {
                return Err(format!("{method} {url}: expected InvalidInput, got {other:?}").into())
            }
        }
    }
    Ok(())
}

fn hex_digest(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that yields `len` pseudo-random bytes in odd-sized chunks.
struct Pattern {
    pos: usize,
    len: usize,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.len - self.pos).min(7919);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let x = (self.pos + i) as u64;
            *b = (x.wrapping_mul(2_654_435_761) >> 13) as u8;
        }
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn streamed_digest_matches_whole_body_digest() -> TestResult {
    const LEN: usize = 5 * 1024 * 1024;
    let mut whole = Vec::with_capacity(LEN);
    Pattern { pos: 0, len: LEN }.read_to_end(&mut whole)?;
    let expected: [u8; 32] = Sha256::digest(&whole).into();
    assert_eq!(
        crate::sha256_reader(Pattern { pos: 0, len: LEN })?,
        expected
    );

    // And through the client: the agent sees the same digest.
    let seen = Arc::new(Mutex::new(None));
    let seen2 = Arc::clone(&seen);
    let agent = fake_agent(Mode::KeepOpen, move |req| match req {
        Request::Extension { contents, .. } => {
            if let (Ok(r), Ok(mut s)) = (SignHttpRequest::decode(contents), seen2.lock()) {
                *s = Some(r.body_sha256);
            }
            ext_ok(extension::SIGN_REQUEST, |out| {
                SignHttpReply {
                    created: 0,
                    headers: vec![],
                }
                .encode(out)
            })
        }
        _ => Response::Failure,
    })?;
    let mut c = Client::connect_to(&agent.path)?;
    c.sign_request_reader(
        None,
        Scheme::EncordV2,
        "PUT",
        "/upload",
        Pattern { pos: 0, len: LEN },
    )?;
    let got = *seen.lock().map_err(|_| "poisoned")?;
    assert_eq!(got, Some(expected));
    Ok(())
}

#[test]
fn add_lock_unlock_remove_encodings() -> TestResult {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let log2 = Arc::clone(&log);
    let agent = fake_agent(Mode::KeepOpen, move |req| {
        let (entry, resp) = match req {
            Request::AddIdentity(add) => {
                let ok = matches!(&add.key, NewKey::Ed25519 { public, seed }
                    if *public == [4; 32] && seed.expose() == &[9; 32]);
                assert!(ok, "key did not arrive intact");
                assert_eq!(
                    add.constraints,
                    vec![Constraint::Lifetime(91), Constraint::Confirm]
                );
                (format!("add {}", add.comment), Response::Success)
            }
            Request::Lock(p) => (
                format!("lock {}", String::from_utf8_lossy(p.expose())),
                Response::Success,
            ),
            Request::Unlock(p) if p.expose() == b"right" => ("unlock".into(), Response::Success),
            Request::Unlock(_) => ("unlock wrong".into(), Response::Failure),
            Request::RemoveIdentity { key_blob } => (
                "remove".into(),
                if *key_blob == ed25519_blob(&[4; 32]).as_slice() {
                    Response::Success
                } else {
                    ext_err(ErrorCode::NoSuchKey, "no such key")
                },
            ),
            Request::RemoveAllIdentities => ("remove all".into(), Response::Success),
            // A key not found: the client asks whether it expired.
            Request::Extension { name, .. } if *name == extension::DIAGNOSE => (
                "diagnose".into(),
                ext_ok(extension::DIAGNOSE, |out| {
                    extension::Diagnosis::default().encode(out)
                }),
            ),
            // After a refused unlock the client asks whether it is still locked.
            Request::Extension { name, .. } if *name == extension::STATUS => (
                "status".into(),
                ext_ok(extension::STATUS, |out| {
                    extension::Status {
                        protocol: extension::PROTOCOL_VERSION,
                        agent_version: "9.9.9".into(),
                        pid: 1,
                        locked: true,
                        keys: 0,
                        uptime_secs: 0,
                        socket: String::new(),
                    }
                    .encode(out)
                }),
            ),
            _ => ("other".into(), Response::Failure),
        };
        if let Ok(mut l) = log2.lock() {
            l.push(entry);
        }
        resp
    })?;
    let mut c = Client::connect_to(&agent.path)?;
    c.add_ed25519(
        &Ed25519Seed::new([9; 32]),
        &[4; 32],
        "ci-bot",
        Some(Duration::from_millis(90_500)),
        true,
    )?;
    c.lock(&Passphrase::new(b"s3cret".to_vec()))?;
    match c.unlock(&Passphrase::new(b"wrong".to_vec())) {
        Err(e @ Error::WrongPassphrase) => assert!(e.to_string().contains("still locked")),
        other => return Err(format!("expected WrongPassphrase, got {other:?}").into()),
    }
    c.unlock(&Passphrase::new(b"right".to_vec()))?;
    c.remove(&ed25519_blob(&[4; 32]))?;
    match c.remove(&ed25519_blob(&[5; 32])) {
        Err(Error::NoSuchKey { selector }) => assert!(selector.starts_with("SHA256:")),
        other => return Err(format!("expected NoSuchKey, got {other:?}").into()),
    }
    c.remove_all()?;
    match c.add_ed25519(
        &Ed25519Seed::new([9; 32]),
        &[4; 32],
        "x",
        Some(Duration::ZERO),
        false,
    ) {
        Err(Error::InvalidInput {
            what: "lifetime", ..
        }) => {}
        other => return Err(format!("expected InvalidInput, got {other:?}").into()),
    }
    let log = log.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(
        log,
        [
            "add ci-bot",
            "lock s3cret",
            "unlock wrong",
            "status",
            "unlock",
            "remove",
            "remove",
            "diagnose",
            "remove all"
        ]
    );
    Ok(())
}

#[test]
fn status_query_identities_and_stop() -> TestResult {
    let agent = fake_agent(Mode::KeepOpen, |req| match req {
        Request::Extension { name, .. } if *name == extension::STATUS => {
            ext_ok(extension::STATUS, |out| {
                extension::Status {
                    protocol: 1,
                    agent_version: "9.9.9".into(),
                    pid: 4242,
                    locked: true,
                    keys: 2,
                    uptime_secs: 61,
                    socket: "/x/agent.sock".into(),
                }
                .encode(out)
            })
        }
        Request::Extension { name, .. } if *name == extension::QUERY => {
            ext_ok(extension::QUERY, |out| {
                extension::encode_query_reply(out, extension::SUPPORTED)
            })
        }
        Request::Extension { name, .. } if *name == extension::STOP => {
            ext_ok(extension::STOP, |_| {})
        }
        Request::RequestIdentities => Response::Identities(vec![signet_proto::Identity {
            key_blob: ed25519_blob(&[1; 32]),
            comment: "ci-bot".into(),
        }]),
        _ => Response::Failure,
    })?;
    let mut c = Client::connect_to(&agent.path)?;
    let st = c.status()?;
    assert_eq!((st.pid, st.locked, st.keys), (4242, true, 2));
    assert_eq!(c.query()?, extension::SUPPORTED);
    let ids = c.list_identities()?;
    assert_eq!(ids[0].comment, "ci-bot");
    c.stop()?;
    Ok(())
}

#[test]
fn reconnects_once_when_the_agent_closed_the_connection() -> TestResult {
    let agent = fake_agent(Mode::OnePerConnection, |req| match req {
        Request::RequestIdentities => Response::Identities(vec![]),
        _ => Response::Failure,
    })?;
    let mut c = Client::connect_to(&agent.path)?;
    for _ in 0..3 {
        assert!(c.list_identities()?.is_empty());
    }
    Ok(())
}

#[test]
fn oversized_reply_frame_is_a_protocol_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("big.sock");
    let listener = UnixListener::bind(&path)?;
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 64];
            let _ = conn.read(&mut buf);
            let len = u32::try_from(signet_proto::MAX_FRAME_LEN + 1).unwrap_or(u32::MAX);
            let _ = conn.write_all(&len.to_be_bytes());
        }
    });
    match Client::connect_to(&path)?.list_identities() {
        Err(Error::Protocol(signet_proto::Error::FrameTooLarge { .. })) => Ok(()),
        other => Err(format!("expected FrameTooLarge, got {other:?}").into()),
    }
}

#[test]
fn debug_output_redacts() {
    let p = Passphrase::new(b"hunter2".to_vec());
    assert!(!format!("{p:?}").contains("hunter2"));
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn async_client_signs_and_maps_errors() -> TestResult {
    let agent = fake_agent(Mode::KeepOpen, |req| match req {
        Request::Sign(_) => Response::Signature(sig_blob(&[1; 64])),
        Request::Extension { name, .. } if *name == extension::SIGN_REQUEST => {
            ext_err(ErrorCode::Locked, "locked")
        }
        _ => Response::Failure,
    })?;
    let mut c = crate::AsyncClient::connect_to(&agent.path).await?;
    assert_eq!(
        c.sign(&ed25519_blob(&[1; 32]), b"x").await?.to_bytes(),
        [1; 64]
    );
    match c
        .sign_request_reader(None, Scheme::EncordV2, "GET", "/", &b"body"[..])
        .await
    {
        Err(Error::Locked) => Ok(()),
        other => Err(format!("expected Locked, got {other:?}").into()),
    }
}

/// A server that answers the first request on each connection with `reply`
/// (raw bytes, possibly not one frame), or never when it is `None`.
fn raw_agent(reply: Option<Vec<u8>>) -> Result<FakeAgent, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raw.sock");
    let listener = UnixListener::bind(&path)?;
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = [0u8; 512];
            let _ = conn.read(&mut buf);
            match &reply {
                Some(bytes) => {
                    let _ = conn.write_all(bytes);
                }
                // Hold the connection open, answering nothing.
                None => std::thread::sleep(Duration::from_secs(30)),
            }
        }
    });
    Ok(FakeAgent { _dir: dir, path })
}

fn two_replies() -> Vec<u8> {
    let mut out = Vec::new();
    Response::Identities(vec![]).encode_frame(&mut out);
    Response::Failure.encode_frame(&mut out);
    out
}

#[test]
fn two_replies_to_one_request_are_refused() -> TestResult {
    let agent = raw_agent(Some(two_replies()))?;
    match Client::connect_to(&agent.path)?.list_identities() {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("more than one reply"), "{e}"),
        other => return Err(format!("expected Io, got {other:?}").into()),
    }
    Ok(())
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn async_client_refuses_two_replies_and_times_out() -> TestResult {
    let agent = raw_agent(Some(two_replies()))?;
    match crate::AsyncClient::connect_to(&agent.path)
        .await?
        .list_identities()
        .await
    {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("more than one reply"), "{e}"),
        other => return Err(format!("expected Io, got {other:?}").into()),
    }
    let silent = raw_agent(None)?;
    let mut c = crate::AsyncClient::connect_to(&silent.path).await?;
    c.set_timeout(Some(Duration::from_millis(200)))?;
    let started = std::time::Instant::now();
    match c.list_identities().await {
        Err(Error::Io { source, .. }) => assert_eq!(source.kind(), std::io::ErrorKind::TimedOut),
        other => return Err(format!("expected a timeout, got {other:?}").into()),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    Ok(())
}

/// The async client has every operation the blocking one has: explain, the
/// key store, unlock's two failures, and reconnecting once.
#[cfg(feature = "tokio")]
#[tokio::test]
async fn async_client_explains_manages_the_store_and_reconnects() -> TestResult {
    let stored = signet_proto::keystore::StoredKey {
        name: "ci".into(),
        comment: "ci@host".into(),
        public: [4; 32],
        created_at: "2026-01-01T00:00:00Z".into(),
        store: "keyutils".into(),
        state: "active".into(),
        loaded: false,
        expires_in: None,
    };
    let served = stored.clone();
    let agent = fake_agent(Mode::OnePerConnection, move |req| match req {
        Request::Extension { name, contents } => {
            let stored = &served;
            let ext = extension::Extension::decode(name, contents);
            match ext {
                Ok(extension::Extension::Explain(e)) => {
                    assert_eq!((e.scheme, e.target), ("encord-v2", "/v2/public/x"));
                    ext_ok(extension::EXPLAIN, |out| {
                        extension::ExplainReply {
                            allowed: false,
                            key: "ci".into(),
                            rule: "read-only".into(),
                            reason: "no".into(),
                            summary: "read-only: methods GET".into(),
                        }
                        .encode(out)
                    })
                }
                Ok(extension::Extension::Stored) => ext_ok(extension::STORED, |out| {
                    signet_proto::keystore::encode_stored_list(out, std::slice::from_ref(stored))
                }),
                Ok(extension::Extension::Delete { selector }) if selector == "ci" => {
                    ext_ok(extension::DELETE, |out| stored.encode(out))
                }
                Ok(extension::Extension::Delete { .. }) => {
                    ext_err(ErrorCode::NoSuchKey, "no stored key matches \"zz\"")
                }
                Ok(extension::Extension::Status) => ext_ok(extension::STATUS, |out| {
                    extension::Status {
                        protocol: extension::PROTOCOL_VERSION,
                        agent_version: "9.9.9".into(),
                        pid: 1,
                        locked: false,
                        keys: 0,
                        uptime_secs: 0,
                        socket: String::new(),
                    }
                    .encode(out)
                }),
                _ => Response::Failure,
            }
        }
        _ => Response::Failure,
    })?;
    // Every request below needs a new connection: the agent closes each
    // after one reply, as after an idle timeout.
    let mut c = crate::AsyncClient::connect_to(&agent.path).await?;
    let reply = c
        .explain(&crate::Explain {
            key: Some("ci"),
            scheme: "encord-v2",
            method: "DELETE",
            url_or_target: "https://api.encord.com/v2/public/x",
            ..Default::default()
        })
        .await?;
    assert_eq!(reply.rule, "read-only");
    assert_eq!(c.stored_keys().await?, vec![stored.clone()]);
    assert_eq!(c.delete_stored("ci").await?.name, "ci");
    match c.delete_stored("zz").await {
        Err(Error::Refused { reason, .. }) => assert!(reason.contains("zz")),
        other => return Err(format!("expected Refused, got {other:?}").into()),
    }
    // A bare refusal to unlock, and the agent says it is not locked.
    match c.unlock(&Passphrase::new(b"x".to_vec())).await {
        Err(Error::NotLocked) => {}
        other => return Err(format!("expected NotLocked, got {other:?}").into()),
    }
    Ok(())
}
