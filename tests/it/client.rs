//! The Rust client (`signet-client`) against the real daemon: keys from
//! `ssh-keygen` files, signatures checked with ed25519-dalek, Encord request
//! signing checked against the signature base signet-proto rebuilds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::Verifier as _;
use signet_client::{Client, Ed25519Seed, ErrorCode, Passphrase, Scheme, PROTOCOL_VERSION};
use signet_proto::encord;
use signet_tests::{read_ed25519_private, Agent, KeyFiles};

fn client(agent: &Agent) -> Client {
    let mut c = Client::connect_to(agent.socket())
        .unwrap_or_else(|e| panic!("connecting to signetd: {e}\n--- log\n{}", agent.log()));
    c.set_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("set_timeout: {e}"));
    c
}

/// Adds the ssh-keygen key at `files` through the client; returns its public key.
fn add_from_file(c: &mut Client, files: &KeyFiles, name: &str) -> [u8; 32] {
    let (seed, public) = read_ed25519_private(&files.private);
    c.add_ed25519(&Ed25519Seed::new(seed), &public, name, None, false)
        .unwrap_or_else(|e| panic!("add_ed25519: {e}"));
    public
}

fn verify(public: &[u8; 32], message: &[u8], sig: &[u8; 64]) {
    let key = ed25519_dalek::VerifyingKey::from_bytes(public)
        .unwrap_or_else(|e| panic!("public key: {e}"));
    key.verify(message, &ed25519_dalek::Signature::from_bytes(sig))
        .unwrap_or_else(|e| panic!("signature does not verify: {e}"));
}

#[test]
fn add_list_sign_remove() {
    let agent = Agent::start();
    let files = agent.keygen("ed25519", "from-file");
    let mut c = client(&agent);

    let v = c.version().unwrap_or_else(|e| panic!("version: {e}"));
    assert_eq!(v.protocol, PROTOCOL_VERSION);

    let public = add_from_file(&mut c, &files, "ci-bot");

    let keys = c.list_keys().unwrap_or_else(|e| panic!("list_keys: {e}"));
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].name, "ci-bot");
    assert_eq!(keys[0].public, public);
    assert_eq!(keys[0].key_blob, files.public_blob());
    assert_eq!(keys[0].fingerprint(), files.fingerprint());
    assert_eq!(keys[0].expires_in, None);
    assert!(!keys[0].confirm);

    // The same key through the standard protocol, as ssh-add sees it.
    let ids = c
        .list_identities()
        .unwrap_or_else(|e| panic!("list_identities: {e}"));
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].key_blob, files.public_blob());
    assert!(agent.ssh_add(["-l"]).stdout.contains(&files.fingerprint()));

    // Signatures verify with the public key from the .pub file.
    let key = c
        .resolve("ci-bot")
        .unwrap_or_else(|e| panic!("resolve: {e}"));
    for data in [&b"hello"[..], &[0u8; 0][..], &[0xa5; 4096][..]] {
        let sig = c
            .sign(&key.key_blob, data)
            .unwrap_or_else(|e| panic!("sign: {e}"));
        verify(&public, data, sig.as_bytes());
    }

    let st = c.status().unwrap_or_else(|e| panic!("status: {e}"));
    assert_eq!(st.keys, 1);
    assert!(!st.locked);
    assert_eq!(st.pid, agent.pid().as_raw_nonzero().get() as u32);
    assert_eq!(st.protocol, PROTOCOL_VERSION);

    c.remove(&key.key_blob)
        .unwrap_or_else(|e| panic!("remove: {e}"));
    assert!(c.list_keys().unwrap_or_else(|e| panic!("{e}")).is_empty());
    assert!(
        c.sign(&key.key_blob, b"x").is_err(),
        "removed key still signs"
    );
    assert!(c.remove(&key.key_blob).is_err(), "removing twice succeeded");

    // An unknown key is reported as such.
    let err = c
        .resolve("nobody")
        .err()
        .unwrap_or_else(|| panic!("resolved a key that is not loaded"));
    assert_eq!(err.code(), Some(ErrorCode::NoSuchKey), "{err}");
}

#[test]
fn lifetime_shows_in_the_key_list() {
    let agent = Agent::start();
    let files = agent.keygen("ed25519", "timed");
    let (seed, public) = read_ed25519_private(&files.private);
    let mut c = client(&agent);
    c.add_ed25519(
        &Ed25519Seed::new(seed),
        &public,
        "timed",
        Some(Duration::from_secs(300)),
        false,
    )
    .unwrap_or_else(|e| panic!("add: {e}"));
    let keys = c.list_keys().unwrap_or_else(|e| panic!("{e}"));
    let left = keys[0]
        .expires_in
        .unwrap_or_else(|| panic!("no lifetime: {keys:?}"));
    assert!(
        left <= Duration::from_secs(300) && left >= Duration::from_secs(290),
        "{left:?}"
    );
}

#[test]
fn lock_and_unlock() {
    let agent = Agent::start();
    let files = agent.keygen("ed25519", "locked");
    let mut c = client(&agent);
    let public = add_from_file(&mut c, &files, "locked");
    let blob = files.public_blob();

    c.lock(&Passphrase::new(b"s3cret".to_vec()))
        .unwrap_or_else(|e| panic!("lock: {e}"));
    assert!(c.sign(&blob, b"x").is_err(), "a locked agent signed");
    assert!(
        c.list_identities()
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty(),
        "a locked agent listed keys"
    );
    assert!(c.unlock(&Passphrase::new(b"wrong".to_vec())).is_err());
    assert!(
        c.sign(&blob, b"x").is_err(),
        "still locked after a wrong passphrase"
    );

    c.unlock(&Passphrase::new(b"s3cret".to_vec()))
        .unwrap_or_else(|e| panic!("unlock: {e}"));
    let sig = c.sign(&blob, b"x").unwrap_or_else(|e| panic!("sign: {e}"));
    verify(&public, b"x", sig.as_bytes());
}

#[test]
fn sign_request_v2_verifies_over_the_rebuilt_signature_base() {
    let agent = Agent::start();
    let files = agent.keygen("ed25519", "encord");
    let mut c = client(&agent);
    let public = add_from_file(&mut c, &files, "encord-bot");

    let body = br#"{"title":"signet","dataset_hashes":[]}"#;
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let signed = c
        .sign_request_body(
            Some("encord-bot"),
            Scheme::EncordV2,
            "post",
            "https://api.encord.com/v2/public/projects?page=2",
            body,
        )
        .unwrap_or_else(|e| panic!("sign_request: {e}\n--- log\n{}", agent.log()));
    let after = before + 60;
    assert!(
        signed.created >= before.saturating_sub(5) && signed.created <= after,
        "created {} is not now ({before})",
        signed.created
    );

    // Rebuild what must have been signed, for the `created` the agent chose.
    let digest = signet_client::sha256(body);
    let prepared = encord::prepare(
        Scheme::EncordV2,
        "POST",
        "/v2/public/projects?page=2",
        &digest,
        &public,
        signed.created,
    )
    .unwrap_or_else(|e| panic!("prepare: {e}"));

    let sig_header = signed
        .get("Signature")
        .unwrap_or_else(|| panic!("no Signature header: {signed:?}"));
    let b64 = sig_header
        .strip_prefix("encord-sig=:")
        .and_then(|s| s.strip_suffix(':'))
        .unwrap_or_else(|| panic!("unexpected Signature header {sig_header:?}"));
    use base64::Engine as _;
    let sig: [u8; 64] = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .and_then(|v| v.try_into().ok())
        .unwrap_or_else(|| panic!("Signature header is not a 64-byte signature: {sig_header:?}"));
    verify(&public, prepared.message(), &sig);

    // Every header is exactly what the SDK would send for that signature.
    let want = prepared.into_headers(&sig);
    let got: Vec<(String, String)> = signed
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(got, want.headers);
    assert_eq!(
        signed.get("Content-Digest"),
        Some(encord::content_digest(&digest).as_str())
    );

    // A different body would not verify against this signature.
    let other = encord::prepare(
        Scheme::EncordV2,
        "POST",
        "/v2/public/projects?page=2",
        &signet_client::sha256(b"{}"),
        &public,
        signed.created,
    )
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let key = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap_or_else(|e| panic!("{e}"));
    assert!(key
        .verify(other.message(), &ed25519_dalek::Signature::from_bytes(&sig))
        .is_err());
}

#[test]
fn sign_request_v1_signs_the_body_digest() {
    let agent = Agent::start();
    let files = agent.keygen("ed25519", "v1");
    let mut c = client(&agent);
    let public = add_from_file(&mut c, &files, "v1-bot");
    let body = br#"{"query_type":"project"}"#;
    let signed = c
        .sign_request_body(None, Scheme::EncordV1, "POST", "/public", body)
        .unwrap_or_else(|e| panic!("sign_request v1: {e}"));
    let auth = signed
        .get("Authorization")
        .unwrap_or_else(|| panic!("no Authorization header: {signed:?}"));
    let (kid, sig_hex) = auth
        .split_once(':')
        .unwrap_or_else(|| panic!("bad Authorization {auth:?}"));
    assert_eq!(kid, hex::encode(public));
    let sig: [u8; 64] = hex::decode(sig_hex)
        .ok()
        .and_then(|v| v.try_into().ok())
        .unwrap_or_else(|| panic!("bad signature hex {sig_hex:?}"));
    verify(&public, &signet_client::sha256(body), &sig);
}

#[test]
fn errors_name_the_problem() {
    let agent = Agent::start();
    let mut c = client(&agent);
    // No key loaded: signing a request names no key.
    let err = c
        .sign_request_body(Some("missing"), Scheme::EncordV2, "GET", "/v2/x", b"")
        .err()
        .unwrap_or_else(|| panic!("signed with a key that is not loaded"));
    assert_eq!(err.code(), Some(ErrorCode::NoSuchKey), "{err}");

    // Nothing listening: NotRunning.
    let gone = agent.dir().join("no-agent.sock");
    let err = Client::connect_to(&gone)
        .err()
        .unwrap_or_else(|| panic!("connected to nothing"));
    assert!(
        matches!(err, signet_client::Error::NotRunning { .. }),
        "{err:?}"
    );
}

#[test]
fn stop_shuts_the_daemon_down() {
    let mut agent = Agent::start();
    let mut c = client(&agent);
    c.stop().unwrap_or_else(|e| panic!("stop: {e}"));
    let status = agent.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}\n--- log\n{}", agent.log());
    assert!(!agent.socket().exists());
}
