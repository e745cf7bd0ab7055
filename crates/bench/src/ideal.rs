//! The ideal agent: the practical ceiling for any agent on this machine.
//!
//! A separate process (this binary, started with the hidden `--serve-ideal`
//! flag) that does only what an agent cannot avoid: one blocking thread per
//! connection reads a frame, signs with the precomputed expanded key (the
//! floor's signer), writes the reply. No async runtime, no key table, no
//! policy, no audit log, no limits. It is driven by the same clients as the
//! agents under test, interleaved with them in every round, so
//! `signetd ÷ ideal` is a paired ratio that machine noise moves little.
//!
//! What it shows: how much of the gap between signetd and the all-cores
//! signing rate is the agent's own doing, and how much is the price of any
//! agent on this kernel (a socket read, a reply write and the wake-ups of
//! blocked clients, per signature).
//!
//! Not an agent: it answers `REQUEST_IDENTITIES` (so readiness checks work)
//! and `SIGN_REQUEST` for its one key, and `FAILURE` to everything else.

use std::io::Write as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use signet_proto::message::{encode_ed25519_sign_response, encode_status};
use signet_proto::{Identity, Request, Response};

use crate::client_io::read_frame_with;

struct Signer {
    expanded: ExpandedSecretKey,
    public: VerifyingKey,
    blob: Vec<u8>,
}

/// Serves `sock` until killed, signing with `key`.
pub fn serve(sock: &Path, key: &SigningKey) -> Result<()> {
    let signer = Arc::new(Signer {
        expanded: ExpandedSecretKey::from(key.as_bytes()),
        public: key.verifying_key(),
        blob: signet_proto::key::ed25519_blob(key.verifying_key().as_bytes()),
    });
    let listener =
        UnixListener::bind(sock).with_context(|| format!("cannot bind {}", sock.display()))?;
    for conn in listener.incoming() {
        let conn = conn.context("accept")?;
        let signer = signer.clone();
        std::thread::spawn(move || connection(conn, &signer));
    }
    Ok(())
}

fn connection(mut conn: UnixStream, signer: &Signer) {
    let mut buf = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(256);
    // A plain blocking read: measured faster here than poll(2) then read
    // for a server thread with one connection.
    while let Ok(total) = read_frame_with(&mut conn, &mut buf, false) {
        out.clear();
        match Request::decode(&buf[signet_proto::frame::LEN_PREFIX..total]) {
            Ok(Request::Sign(req)) if req.key_blob == signer.blob.as_slice() => {
                let sig = raw_sign::<sha2::Sha512>(&signer.expanded, req.data, &signer.public);
                encode_ed25519_sign_response(&mut out, &sig.to_bytes());
            }
            Ok(Request::RequestIdentities) => Response::Identities(vec![Identity {
                key_blob: signer.blob.clone(),
                comment: "ideal".into(),
            }])
            .encode_frame(&mut out),
            _ => encode_status(&mut out, false),
        }
        if conn.write_all(&out).is_err() {
            return;
        }
        // A closed-loop client has one request in flight: nothing follows
        // the frame, and the buffer starts over.
        buf.clear();
    }
}
