//! Numbers a peer chooses, through the real dispatcher with a key store in
//! memory: a lifetime near 2^64 on `load@signet` (which once panicked the
//! connection's task on `Instant + Duration`), the largest `ADD_ID_CONSTRAINED`
//! lifetime and confirm-remember period, and every seed the fuzz target
//! starts from. Each gets exactly one well-formed reply.

use signet_proto::extension::{Extension, ExtensionError};
use signet_proto::keystore::{GenerateRequest, Selection};
use signet_proto::{frame, Response};
use signetd::{Agent, Config, Peer};
use tokio_util::sync::CancellationToken;

const PEER: Peer = Peer {
    uid: 1000,
    gid: 1000,
    pid: None,
};

async fn reply(agent: &Agent, body: &[u8]) -> Response {
    let mut out = Vec::new();
    signetd::handle(agent, body, &PEER, &mut out).await;
    let (reply, total) = match frame::split(&out) {
        Ok(Some(split)) => split,
        other => panic!("no whole reply frame: {other:?}"),
    };
    assert_eq!(total, out.len(), "more than one reply frame");
    Response::decode(reply).unwrap_or_else(|e| panic!("malformed reply: {e}"))
}

fn body(ext: &Extension<'_>) -> Vec<u8> {
    let mut f = Vec::new();
    ext.encode_frame(&mut f);
    f[4..].to_vec()
}

async fn agent_with_a_stored_key(dir: &std::path::Path) -> Agent {
    let agent = Agent::new(Config::default(), "test".into(), CancellationToken::new());
    signetd::use_memory_store(&agent, dir.join("keys.toml"));
    let generate = body(&Extension::Generate(GenerateRequest {
        name: "fuzz-stored".into(),
        comment: String::new(),
        store: String::new(),
    }));
    assert!(matches!(
        reply(&agent, &generate).await,
        Response::ExtensionResponse { .. }
    ));
    agent
}

#[tokio::test]
async fn a_load_lifetime_near_2_to_the_64_is_refused_with_one_reply() -> Result<(), std::io::Error>
{
    let dir = tempfile::tempdir()?;
    let agent = agent_with_a_stored_key(dir.path()).await;
    for lifetime in [u64::MAX, u64::MAX / 2, u64::from(u32::MAX) + 1] {
        let load = body(&Extension::Load(Selection {
            all: false,
            names: vec!["fuzz-stored".into()],
            lifetime: Some(lifetime),
        }));
        match reply(&agent, &load).await {
            Response::ExtensionFailure(c) => {
                let e = ExtensionError::decode(&c).ok().flatten();
                assert!(
                    e.as_ref()
                        .is_some_and(|e| e.reason.contains("longer than the longest accepted")),
                    "{e:?}"
                );
            }
            other => panic!("lifetime {lifetime}: {other:?}"),
        }
    }
    // The largest accepted loads the key, with that lifetime.
    let load = body(&Extension::Load(Selection {
        all: false,
        names: vec!["fuzz-stored".into()],
        lifetime: Some(u64::from(u32::MAX)),
    }));
    assert!(matches!(
        reply(&agent, &load).await,
        Response::ExtensionResponse { .. }
    ));
    Ok(())
}

#[tokio::test]
async fn every_fuzz_seed_gets_one_reply_with_a_store() -> Result<(), std::io::Error> {
    let dir = tempfile::tempdir()?;
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut n = 0;
    for entry in std::fs::read_dir(&seeds)? {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "bin") {
            continue;
        }
        // A fresh agent each time, as the fuzz target starts every input
        // from the same state.
        let sub = dir.path().join(n.to_string());
        std::fs::create_dir(&sub)?;
        let agent = agent_with_a_stored_key(&sub).await;
        let _ = reply(&agent, &std::fs::read(&path)?).await;
        n += 1;
    }
    assert!(n >= 20, "only {n} seeds");
    Ok(())
}
