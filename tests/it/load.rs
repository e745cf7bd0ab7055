//! Load: 256 concurrent clients × 1,000 signatures each through the real
//! socket, every signature verified, zero errors allowed. Prints the daemon's
//! peak resident memory (VmHWM) for docs/reliability.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use signet_proto::message::{Request, Response};
use signet_proto::wire::WireWrite as _;
use signet_proto::SignRequest;
use signet_tests::{proc_kib, Agent, AgentOptions, RawConn, TestKey};

const CLIENTS: usize = 256;
const SIGNATURES_PER_CLIENT: usize = 1_000;

/// The messages signed: each client signs all of them, starting at its own
/// offset, so that at any moment the clients ask for different messages and
/// a reply delivered to the wrong client would not match.
const MESSAGES: usize = SIGNATURES_PER_CLIENT;

fn message(j: usize) -> Vec<u8> {
    format!("signet load test message {j}").into_bytes()
}

/// The expected reply blob for every message: Ed25519 is deterministic
/// (RFC 8032), so the one valid signature by this key is known in advance.
/// Each expected signature is itself checked with ed25519-dalek's
/// `verify_strict`; a reply equal to it byte for byte is therefore verified.
/// (Verifying 256,000 replies one by one in a debug build would take
/// minutes; comparing them with 1,000 verified ones is as strong.)
fn expected_blobs(key: &TestKey) -> Vec<Vec<u8>> {
    use ed25519_dalek::Signer as _;
    let verifying = key.signing.verifying_key();
    (0..MESSAGES)
        .map(|j| {
            let m = message(j);
            let sig = key.signing.sign(&m);
            verifying
                .verify_strict(&m, &sig)
                .unwrap_or_else(|e| panic!("reference signature {j} does not verify: {e}"));
            let mut blob = Vec::new();
            blob.put_string(signet_proto::key::ED25519_ALGORITHM.as_bytes());
            blob.put_string(&sig.to_bytes());
            blob
        })
        .collect()
}

/// One client: connects, signs `SIGNATURES_PER_CLIENT` messages one after
/// another, checks each reply. Returns a description of each failure.
fn client(
    socket: std::path::PathBuf,
    id: usize,
    key_blob: Arc<Vec<u8>>,
    expected: Arc<Vec<Vec<u8>>>,
) -> Vec<String> {
    let mut conn = RawConn::connect(&socket);
    let mut errors = Vec::new();
    for i in 0..SIGNATURES_PER_CLIENT {
        // 389 is coprime with 1,000: every client starts somewhere else.
        let j = (id * 389 + i) % MESSAGES;
        let data = message(j);
        conn.send(&Request::Sign(SignRequest {
            key_blob: &key_blob,
            data: &data,
            flags: 0,
        }));
        let reply = match conn.recv_frame() {
            Ok(Some(body)) => Response::decode(&body),
            Ok(None) => {
                errors.push(format!("client {id} #{i}: connection closed"));
                break;
            }
            Err(e) => {
                errors.push(format!("client {id} #{i}: read failed: {e}"));
                break;
            }
        };
        match reply {
            Ok(Response::Signature(blob)) if blob == expected[j] => {}
            Ok(Response::Signature(_)) => {
                errors.push(format!("client {id} #{i}: wrong signature for message {j}"))
            }
            other => errors.push(format!(
                "client {id} #{i}: expected a signature, got {other:?}"
            )),
        }
    }
    errors
}

#[test]
fn concurrent_clients_each_get_every_signature_right() {
    // Room for every client at once, plus the test's own connections (all
    // of one uid).
    let agent = Agent::start_with(AgentOptions {
        config: Some(format!(
            "[agent]\nmax_connections = {n}\nmax_connections_per_uid = {n}\n",
            n = CLIENTS + 16
        )),
        ..AgentOptions::default()
    });
    let key = TestKey::from_seed(42, "load");
    assert_eq!(
        agent.connect().request(&key.add_request(vec![])),
        Response::Success
    );
    let pid = agent.pid_raw();
    let rss_before = proc_kib(pid, "VmRSS");

    let blob = Arc::new(key.blob());
    let expected = Arc::new(expected_blobs(&key));
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let socket = agent.socket().to_path_buf();
            let blob = blob.clone();
            let expected = expected.clone();
            let done = done.clone();
            thread::Builder::new()
                .name(format!("load-{id}"))
                .stack_size(256 * 1024)
                .spawn(move || {
                    let errors = client(socket, id, blob, expected);
                    done.fetch_add(1, Ordering::Relaxed);
                    errors
                })
                .unwrap_or_else(|e| panic!("spawning client {id}: {e}"))
        })
        .collect();
    let mut errors = Vec::new();
    for h in handles {
        errors.extend(
            h.join()
                .unwrap_or_else(|_| vec!["a client thread panicked".to_owned()]),
        );
    }
    let elapsed = start.elapsed();
    let total = CLIENTS * SIGNATURES_PER_CLIENT;
    let peak = proc_kib(pid, "VmHWM");
    let rss_after = proc_kib(pid, "VmRSS");
    eprintln!(
        "load: {CLIENTS} clients x {SIGNATURES_PER_CLIENT} signatures = {total} in {elapsed:.2?} \
         ({:.0}/s), {} errors; daemon VmRSS {rss_before} kB before, {rss_after} kB after, \
         peak VmHWM {peak} kB",
        total as f64 / elapsed.as_secs_f64(),
        errors.len()
    );
    assert_eq!(done.load(Ordering::Relaxed), CLIENTS);
    assert!(
        errors.is_empty(),
        "{} errors under load; first ones:\n{}\n--- log tail\n{}",
        errors.len(),
        errors
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        agent
            .log()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The daemon is still healthy afterwards.
    let mut conn = agent.connect();
    assert_eq!(signet_tests::list_identities(&mut conn).len(), 1);
}
