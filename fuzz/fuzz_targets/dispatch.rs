//! The daemon's whole dispatcher (`Agent::handle`) on arbitrary message
//! bodies, with fixed keys loaded, as OpenSSH's agent_fuzz harness does.
//! Checks that exactly one well-formed reply frame comes out of every call.
//!
//! The keys are the throwaway ones in the captured `ADD_IDENTITY` seeds, so
//! the captured sign requests reach a loaded key. The agent has a key store
//! in memory (`signetd::use_memory_store`) holding one key, `fuzz-stored`,
//! so that `load@signet` and the other key-store extensions reach their
//! handlers; the crafted seeds `*-lifetime-max.bin` and `*-remember-max.bin`
//! carry lifetimes at the top of their range (`load@signet` with 2^64 - 1
//! once panicked on `Instant + Duration`). No askpass program is set,
//! so confirm-constrained keys fail closed at once. `stop@signet` only
//! cancels a token nothing waits on. Every input starts from the same state:
//! after an input that changed the keys or locked the agent, the agent is
//! rebuilt (rebuilding every time costs two key derivations per run, which
//! under coverage instrumentation slows fuzzing tenfold), so a crash
//! reproduces from its input alone. The runtime's clock is paused: the
//! growing delay after a wrong unlock passphrase passes instantly.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use signet_proto::{frame, Response};
use signetd::{Agent, Config, Peer};
use tokio_util::sync::CancellationToken;

const KEYS: &[&[u8]] = &[
    include_bytes!("../seeds/add-identity-1.bin"),
    include_bytes!("../seeds/add-id-constrained-1.bin"),
];

fn fresh_agent(runtime: &tokio::runtime::Runtime) -> Agent {
    let agent = Agent::new(
        Config::default(),
        "fuzz.sock".into(),
        CancellationToken::new(),
    );
    let peer = peer();
    for add in KEYS {
        let mut out = Vec::new();
        runtime.block_on(signetd::handle(&agent, add, &peer, &mut out));
        assert_eq!(out, [0, 0, 0, 1, 6], "loading a fixed key failed");
    }
    // A fresh index each time: the stored key is the only one.
    let dir = std::env::temp_dir().join(format!("signet-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("index directory");
    signetd::use_memory_store(&agent, dir.join("keys.toml"));
    let mut generate = Vec::new();
    signet_proto::extension::Extension::Generate(signet_proto::keystore::GenerateRequest {
        name: "fuzz-stored".into(),
        comment: String::new(),
        store: String::new(),
    })
    .encode_frame(&mut generate);
    let mut out = Vec::new();
    runtime.block_on(signetd::handle(&agent, &generate[4..], &peer, &mut out));
    assert_eq!(out.get(4), Some(&29), "storing the fixed key failed: {out:?}");
    agent
}

fn peer() -> Peer {
    Peer {
        uid: 1000,
        gid: 1000,
        pid: None,
    }
}

struct State {
    runtime: tokio::runtime::Runtime,
    agent: Agent,
    initial: Vec<KeyState>,
}

/// What of a key an input can change (its remaining lifetime aside, which
/// the paused clock moves only when a wrong unlock passphrase is delayed).
type KeyState = (Vec<u8>, String, bool, bool);

impl State {
    fn keys(&self) -> Vec<KeyState> {
        let now = self.runtime.block_on(async { tokio::time::Instant::now() });
        self.agent
            .keys
            .infos(now)
            .into_iter()
            .map(|k| (k.key_blob, k.name, k.confirm, k.expires_in.is_some()))
            .collect()
    }
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| {
        // No askpass: confirm refuses without spawning anything.
        std::env::remove_var("SIGNET_ASKPASS");
        std::env::remove_var("SSH_ASKPASS");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        let agent = fresh_agent(&runtime);
        let mut st = State {
            runtime,
            agent,
            initial: Vec::new(),
        };
        st.initial = st.keys();
        Mutex::new(st)
    })
}

fuzz_target!(|body: &[u8]| {
    if body.len() > frame::MAX_FRAME_LEN {
        return; // the session never hands the dispatcher more
    }
    let mut guard = state().lock().unwrap_or_else(|p| p.into_inner());
    let st = &mut *guard;
    let peer = peer();
    let mut out = Vec::new();
    st.runtime.block_on(signetd::handle(&st.agent, body, &peer, &mut out));
    if st.agent.lock.is_locked() || st.keys() != st.initial {
        st.agent = fresh_agent(&st.runtime);
    }
    // Exactly one frame, and it decodes as a reply.
    let (reply, total) = match frame::split(&out) {
        Ok(Some(split)) => split,
        other => panic!("no whole reply frame: {other:?} from {out:?}"),
    };
    assert_eq!(total, out.len(), "more than one reply frame");
    if let Err(e) = Response::decode(reply) {
        panic!("malformed reply {reply:?}: {e}");
    }
});
