//! Policy enforcement through the real dispatcher (`Agent::handle`), with
//! tokio's paused clock for rate limits and idle timeouts.

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use signet_proto::encord::Scheme;
use signet_proto::extension::{self, ErrorCode, ExtensionError, SignHttpRequest};
use signet_proto::{Ed25519Seed, Request, Response, SignRequest};
use signetd::{Agent, LoadedKey, Origin, Peer};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn agent(config: &str) -> Arc<Agent> {
    let cfg = match signetd::parse_config(config) {
        Ok(c) => c,
        Err(e) => panic!("{e:#}"),
    };
    Arc::new(Agent::new(cfg, "test".into(), CancellationToken::new()))
}

fn add_key(agent: &Agent, seed: u8, name: &str) -> Vec<u8> {
    let s = Ed25519Seed::new([seed; 32]);
    let public = SigningKey::from_bytes(s.expose())
        .verifying_key()
        .to_bytes();
    match LoadedKey::new(s.expose(), public, name.into(), None, false, Origin::Agent) {
        Ok(k) => {
            let blob = k.blob.clone();
            agent.keys.add(k);
            blob
        }
        Err(e) => panic!("{e}"),
    }
}

fn me(uid: u32) -> Peer {
    Peer {
        uid,
        gid: uid,
        pid: Some(std::process::id() as i32),
    }
}

async fn roundtrip(agent: &Agent, req: Request<'_>, peer: &Peer) -> Response {
    let mut body = Vec::new();
    req.encode_body(&mut body);
    let mut out = Vec::new();
    signetd::handle(agent, &body, peer, &mut out).await;
    match Response::decode(out.get(4..).unwrap_or_default()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// `Ok(())` if signed, else the refusal.
async fn sign_http(
    agent: &Agent,
    key: &str,
    scheme: Scheme,
    method: &str,
    target: &str,
    peer: &Peer,
) -> Result<(), ExtensionError> {
    let mut contents = Vec::new();
    SignHttpRequest {
        key,
        scheme,
        method,
        target,
        body_sha256: [0; 32],
    }
    .encode(&mut contents);
    let req = Request::Extension {
        name: extension::SIGN_REQUEST,
        contents: &contents,
    };
    match roundtrip(agent, req, peer).await {
        Response::ExtensionResponse { .. } => Ok(()),
        Response::ExtensionFailure(c) => match ExtensionError::decode(&c) {
            Ok(Some(e)) => Err(e),
            other => panic!("undecodable failure {other:?}"),
        },
        other => panic!("unexpected reply {other:?}"),
    }
}

/// A raw signature of SSHSIG data (what `ssh-keygen -Y sign` asks for):
/// scheme `ssh`.
async fn sign_ssh(agent: &Agent, blob: &[u8], peer: &Peer) -> bool {
    use signet_proto::wire::WireWrite as _;
    let mut data = b"SSHSIG".to_vec();
    data.put_string(b"file");
    data.put_string(b"");
    data.put_string(b"sha512");
    data.put_string(&[7; 64]);
    let req = Request::Sign(SignRequest {
        key_blob: blob,
        data: &data,
        flags: 0,
    });
    match roundtrip(agent, req, peer).await {
        Response::Signature(_) => true,
        Response::Failure => false,
        other => panic!("unexpected reply {other:?}"),
    }
}

const READ_ONLY: &str = r#"
[policies.read-only]
schemes = ["encord-v2"]
methods = ["GET", "POST"]
targets = ["/v2/public/projects*", "/v2/public/user*"]
[keys.ci-bot]
policy = "read-only"
"#;

#[tokio::test]
async fn http_only_key_refuses_ssh_and_other_methods_with_a_reason() {
    let a = agent(READ_ONLY);
    let blob = add_key(&a, 1, "ci-bot");
    let free = add_key(&a, 2, "free");
    let peer = me(1000);
    assert_eq!(
        sign_http(
            &a,
            "ci-bot",
            Scheme::EncordV2,
            "GET",
            "/v2/public/projects/p1",
            &peer
        )
        .await,
        Ok(())
    );
    let err = sign_http(
        &a,
        "ci-bot",
        Scheme::EncordV2,
        "DELETE",
        "/v2/public/projects/p1",
        &peer,
    )
    .await
    .err();
    assert_eq!(
        err,
        Some(ExtensionError::new(
            ErrorCode::Refused,
            "key ci-bot: method DELETE not allowed by rule read-only"
        ))
    );
    let err = sign_http(&a, "ci-bot", Scheme::EncordV1, "POST", "/public", &peer)
        .await
        .err()
        .map(|e| e.reason);
    assert_eq!(
        err.as_deref(),
        Some("key ci-bot: scheme encord-v1 not allowed by rule read-only")
    );
    let err = sign_http(
        &a,
        "ci-bot",
        Scheme::EncordV2,
        "GET",
        "/v2/public/datasets",
        &peer,
    )
    .await
    .err()
    .map(|e| e.reason);
    assert_eq!(
        err.as_deref(),
        Some("key ci-bot: target /v2/public/datasets not allowed by rule read-only")
    );
    // Raw SSH signing: refused for the HTTP-only key, allowed for the other.
    assert!(!sign_ssh(&a, &blob, &peer).await);
    assert!(sign_ssh(&a, &free, &peer).await);
    assert_eq!(
        sign_http(
            &a,
            "free",
            Scheme::EncordV2,
            "DELETE",
            "/v2/public/x",
            &peer
        )
        .await,
        Ok(())
    );
}

#[tokio::test]
async fn callers_by_uid_and_executable() {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let a = agent(&format!(
        "[policies.mine]\nuids = [1000]\nexecutables = [{exe:?}]\n[keys.k]\npolicy = \"mine\"\n\
         [policies.py]\nexecutables = [\"/usr/bin/python3*\"]\n[keys.p]\npolicy = \"py\"\n"
    ));
    add_key(&a, 1, "k");
    add_key(&a, 2, "p");
    assert_eq!(
        sign_http(&a, "k", Scheme::EncordV2, "GET", "/v2/public/x", &me(1000)).await,
        Ok(())
    );
    let err = sign_http(&a, "k", Scheme::EncordV2, "GET", "/v2/public/x", &me(1001))
        .await
        .err()
        .map(|e| e.reason);
    assert_eq!(
        err.as_deref(),
        Some("key k: caller uid 1001 not allowed by rule mine")
    );
    let err = sign_http(&a, "p", Scheme::EncordV2, "GET", "/v2/public/x", &me(1000))
        .await
        .err()
        .map(|e| e.reason)
        .unwrap_or_default();
    assert_eq!(
        err,
        format!("key p: caller executable {exe} not allowed by rule py")
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limits_per_key_and_per_caller_on_the_paused_clock() {
    let a = agent(
        "[policies.slow]\nrate_per_minute = 60\nburst = 3\ncaller_rate_per_minute = 30\ncaller_burst = 2\n\
         [keys.k]\npolicy = \"slow\"\n",
    );
    add_key(&a, 1, "k");
    let (u1, u2, u3) = (me(1), me(2), me(3));
    let sign = |p: Peer| {
        let a = a.clone();
        async move { sign_http(&a, "k", Scheme::EncordV2, "GET", "/v2/public/x", &p).await }
    };
    assert_eq!(sign(u1).await, Ok(()));
    assert_eq!(sign(u1).await, Ok(()));
    let err = sign(u1).await.err().map(|e| e.reason).unwrap_or_default();
    assert!(
        err.starts_with(
            "key k: per-caller rate limit for uid 1 of rule slow reached; retry in 2.0s"
        ),
        "{err}"
    );
    assert_eq!(sign(u2).await, Ok(()));
    // The key's bucket (burst 3) is empty now, whoever asks.
    let err = sign(u3).await.err().map(|e| e.reason).unwrap_or_default();
    assert!(
        err.starts_with("key k: rate limit of rule slow reached"),
        "{err}"
    );
    tokio::time::advance(Duration::from_millis(999)).await;
    assert!(sign(u3).await.is_err());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(sign(u3).await, Ok(()));
    // SSH signatures count against the same buckets.
    tokio::time::advance(Duration::from_secs(60)).await;
    let blob = a.keys.snapshot(Instant::now())[0].blob.clone();
    assert!(sign_ssh(&a, &blob, &u1).await);
    assert!(sign_ssh(&a, &blob, &u1).await);
    assert!(!sign_ssh(&a, &blob, &u1).await);
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_unloads_a_key_after_no_use() {
    let a = agent("[policies.idle]\nidle_timeout = \"15m\"\n[keys.k]\npolicy = \"idle\"\n");
    add_key(&a, 1, "k");
    add_key(&a, 2, "other");
    let reaper = tokio::spawn(a.clone().reap());
    let peer = me(1000);
    tokio::time::advance(Duration::from_secs(14 * 60)).await;
    // A use restarts the idle period.
    assert_eq!(
        sign_http(&a, "k", Scheme::EncordV2, "GET", "/v2/public/x", &peer).await,
        Ok(())
    );
    tokio::time::advance(Duration::from_secs(14 * 60)).await;
    tokio::task::yield_now().await;
    assert_eq!(a.keys.snapshot(Instant::now()).len(), 2);
    tokio::time::advance(Duration::from_secs(60)).await;
    // Let the reaper run.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let names: Vec<String> = a
        .keys
        .snapshot(Instant::now())
        .iter()
        .map(|k| k.name.to_string())
        .collect();
    assert_eq!(names, vec!["other".to_string()]);
    let err = sign_http(&a, "k", Scheme::EncordV2, "GET", "/v2/public/x", &peer)
        .await
        .err()
        .map(|e| e.code);
    assert_eq!(err, Some(ErrorCode::NoSuchKey));
    // A key without an idle timeout stays.
    tokio::time::advance(Duration::from_secs(86_400)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(a.keys.snapshot(Instant::now()).len(), 1);
    reaper.abort();
}

#[tokio::test]
async fn reload_applies_new_policies() {
    let a = agent("");
    add_key(&a, 1, "ci-bot");
    let peer = me(1000);
    assert_eq!(
        sign_http(
            &a,
            "ci-bot",
            Scheme::EncordV2,
            "DELETE",
            "/v2/public/x",
            &peer
        )
        .await,
        Ok(())
    );
    match signetd::parse_config(READ_ONLY) {
        Ok(c) => a.set_config(c),
        Err(e) => panic!("{e:#}"),
    }
    let err = sign_http(
        &a,
        "ci-bot",
        Scheme::EncordV2,
        "DELETE",
        "/v2/public/x",
        &peer,
    )
    .await
    .err()
    .map(|e| e.code);
    assert_eq!(err, Some(ErrorCode::Refused));
}
