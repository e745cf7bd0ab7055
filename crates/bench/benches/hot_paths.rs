//! Micro-benchmarks of signetd's hot paths, in-process (no socket):
//! frame decode and encode, Encord signature-base construction, signing with
//! and without a precomputed expanded key, and the real dispatcher
//! (`signetd::dispatch::Agent::handle`) with one key loaded.
//!
//! `cargo bench -p signet-bench --bench hot_paths`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use divan::Bencher;
use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::Sha512;
use signet_proto::encord::{self, Scheme};
use signet_proto::extension::{self, SignHttpRequest};
use signet_proto::message::encode_ed25519_sign_response;
use signet_proto::{Ed25519Seed, Request, SignRequest};
use signetd::{Agent, Config, LoadedKey, Origin, Peer};
use tokio_util::sync::CancellationToken;

fn main() {
    divan::main();
}

const SEED: [u8; 32] = [0x42; 32];
const SIZES: [usize; 2] = [32, 256];
const TARGET: &str = "/v2/public/projects/5f1c2b7e-0000-4000-8000-000000000000/data?page=2";

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&SEED)
}

fn sign_body(size: usize) -> Vec<u8> {
    let public = signing_key().verifying_key().to_bytes();
    let blob = signet_proto::key::ed25519_blob(&public);
    let data = vec![0xa5u8; size];
    let mut body = Vec::new();
    Request::Sign(SignRequest {
        key_blob: &blob,
        data: &data,
        flags: 0,
    })
    .encode_body(&mut body);
    body
}

fn sign_http_body() -> Vec<u8> {
    let mut contents = Vec::new();
    SignHttpRequest {
        key: "",
        scheme: Scheme::EncordV2,
        method: "POST",
        target: TARGET,
        body_sha256: [7; 32],
    }
    .encode(&mut contents);
    let mut body = Vec::new();
    Request::Extension {
        name: extension::SIGN_REQUEST,
        contents: &contents,
    }
    .encode_body(&mut body);
    body
}

mod frame {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn decode_sign_request(bencher: Bencher, size: usize) {
        let body = sign_body(size);
        bencher.bench(|| Request::decode(black_box(&body)).map(|r| matches!(r, Request::Sign(_))));
    }

    #[divan::bench]
    fn encode_ed25519_sign_response_frame(bencher: Bencher) {
        let sig = [9u8; 64];
        let mut out = Vec::with_capacity(128);
        bencher.bench_local(|| {
            out.clear();
            encode_ed25519_sign_response(&mut out, black_box(&sig));
            out.len()
        });
    }

    #[divan::bench]
    fn decode_sign_http_request(bencher: Bencher) {
        let body = sign_http_body();
        bencher.bench(|| match Request::decode(black_box(&body)) {
            Ok(Request::Extension { contents, .. }) => SignHttpRequest::decode(contents).is_ok(),
            _ => false,
        });
    }
}

mod encord_base {
    use super::*;

    #[divan::bench]
    fn prepare_v2(bencher: Bencher) {
        let public = signing_key().verifying_key().to_bytes();
        bencher.bench(|| {
            encord::prepare(
                Scheme::EncordV2,
                black_box("post"),
                black_box(TARGET),
                &[7; 32],
                &public,
                black_box(1_700_000_000),
            )
        });
    }

    #[divan::bench]
    fn prepare_v2_and_headers(bencher: Bencher) {
        let public = signing_key().verifying_key().to_bytes();
        let sig = [9u8; 64];
        let mut out = Vec::with_capacity(512);
        bencher.bench_local(|| {
            out.clear();
            if let Ok(p) = encord::prepare(
                Scheme::EncordV2,
                black_box("post"),
                black_box(TARGET),
                &[7; 32],
                &public,
                1_700_000_000,
            ) {
                p.into_headers(&sig).encode(&mut out);
            }
            out.len()
        });
    }
}

mod sign {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn signing_key_sign(bencher: Bencher, size: usize) {
        let key = signing_key();
        let msg = vec![0xa5u8; size];
        bencher.bench(|| key.sign(black_box(&msg)).to_bytes());
    }

    #[divan::bench(args = SIZES)]
    fn expanded_key_raw_sign(bencher: Bencher, size: usize) {
        let key = signing_key();
        let vk = key.verifying_key();
        let expanded = ExpandedSecretKey::from(&SEED);
        let msg = vec![0xa5u8; size];
        bencher.bench(|| raw_sign::<Sha512>(&expanded, black_box(&msg), &vk).to_bytes());
    }
}

mod dispatcher {
    use super::*;

    fn agent() -> Agent {
        let agent = Agent::new(Config::default(), "bench".into(), CancellationToken::new());
        let public = signing_key().verifying_key().to_bytes();
        let key = LoadedKey::new(
            Ed25519Seed::new(SEED).expose(),
            public,
            "bench".into(),
            None,
            false,
            Origin::Agent,
        )
        .expect("key");
        agent.keys.add(key);
        agent
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    const PEER: Peer = Peer {
        uid: 0,
        gid: 0,
        pid: None,
    };

    #[divan::bench(args = SIZES)]
    fn handle_sign_request(bencher: Bencher, size: usize) {
        let rt = runtime();
        let agent = agent();
        let body = sign_body(size);
        let mut out = Vec::with_capacity(4096);
        bencher.bench_local(|| {
            out.clear();
            rt.block_on(signetd::handle(&agent, black_box(&body), &PEER, &mut out));
            out.len()
        });
    }

    #[divan::bench]
    fn handle_sign_http_request(bencher: Bencher) {
        let rt = runtime();
        let agent = agent();
        let body = sign_http_body();
        let mut out = Vec::with_capacity(4096);
        bencher.bench_local(|| {
            out.clear();
            rt.block_on(signetd::handle(&agent, black_box(&body), &PEER, &mut out));
            out.len()
        });
    }

    /// The dispatcher minus the signature: a request for a key that is not
    /// loaded walks decode, lock check and key lookup, then fails.
    #[divan::bench]
    fn handle_unknown_key(bencher: Bencher) {
        let rt = runtime();
        let agent = agent();
        let other = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
        let blob = signet_proto::key::ed25519_blob(&other);
        let mut body = Vec::new();
        Request::Sign(SignRequest {
            key_blob: &blob,
            data: &[0; 32],
            flags: 0,
        })
        .encode_body(&mut body);
        let mut out = Vec::with_capacity(4096);
        bencher.bench_local(|| {
            out.clear();
            rt.block_on(signetd::handle(&agent, black_box(&body), &PEER, &mut out));
            out.len()
        });
    }
}
