//! The gate every request passes (crates/daemon/src/dispatch/gate.rs),
//! against the real daemon over its socket: what a locked agent answers,
//! for every message type and every extension, byte for byte as the client
//! sees it.

use signet_proto::encord::Scheme;
use signet_proto::extension::{
    self, ErrorCode, ExplainRequest, Extension, ExtensionError, SignHttpRequest, Status,
};
use signet_proto::keystore::{
    GenerateRequest, ImportRequest, PasswdRequest, Selection, UnlockStoreRequest,
};
use signet_proto::message::msg;
use signet_proto::wire::WireWrite as _;
use signet_proto::{Ed25519Seed, Passphrase, Request, Response, SignRequest};
use signet_tests::{list_identities, verify_ssh_signature, Agent, RawConn, TestKey};

/// What a locked agent must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// `SSH_AGENT_FAILURE`.
    Failure,
    /// `SSH_AGENT_EXTENSION_FAILURE` with code 2 (locked).
    Locked,
    /// An `SSH_AGENT_EXTENSION_RESPONSE` (the extension answers).
    Answered,
    /// `IDENTITIES_ANSWER` with no key.
    NoIdentities,
}

fn frame(ext: &Extension<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    ext.encode_frame(&mut out);
    out[4..].to_vec()
}

fn body(req: &Request<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    req.encode_body(&mut out);
    out
}

/// Every extension signetd knows, with well-formed contents that would
/// succeed (or at least be handled) on an unlocked agent, and what a locked
/// agent answers: the lock table of docs/security.md#lock.
fn extensions(key: &TestKey) -> Vec<(&'static str, Vec<u8>, Want)> {
    use Want::{Answered, Failure, Locked};
    let sel = |names: &[&str]| Selection {
        all: false,
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        lifetime: None,
    };
    let seed = Ed25519Seed::new(key.signing.to_bytes());
    let rows: Vec<(Extension<'static>, Want)> = vec![
        (Extension::Query, Answered),
        (Extension::Version, Answered),
        (Extension::Status, Answered),
        (Extension::List, Locked),
        (Extension::Stop, Locked),
        (
            Extension::Explain(ExplainRequest {
                key: "gated",
                scheme: "encord-v2",
                method: "GET",
                target: "/v2/public/projects",
                as_uid: None,
                as_exe: "",
                as_unit: "",
            }),
            Locked,
        ),
        (
            Extension::SignRequest(SignHttpRequest {
                key: "gated",
                scheme: Scheme::EncordV2,
                method: "GET",
                target: "/v2/public/projects",
                body_sha256: [0; 32],
            }),
            Locked,
        ),
        (
            Extension::Generate(GenerateRequest {
                name: "made-while-locked".into(),
                comment: String::new(),
                store: String::new(),
            }),
            Locked,
        ),
        (
            Extension::Import(ImportRequest {
                name: "imported-while-locked".into(),
                comment: String::new(),
                seed,
                public: key.public(),
                store: String::new(),
                allow_import: false,
            }),
            Locked,
        ),
        (Extension::Stored, Locked),
        (Extension::Load(sel(&["gated"])), Locked),
        (Extension::Unload(sel(&["gated"])), Locked),
        (
            Extension::Delete {
                selector: "gated".into(),
            },
            Locked,
        ),
        (
            Extension::Rename {
                selector: "gated".into(),
                to: "renamed".into(),
            },
            Locked,
        ),
        (Extension::Doctor { fix: true }, Locked),
        (Extension::Store, Locked),
        // Key names and the configuration are not a locked agent's to give.
        (Extension::Diagnose, Locked),
        (Extension::Reload, Locked),
        // The sealed key store: nothing opens or changes it while locked.
        (
            Extension::UnlockStore(UnlockStoreRequest {
                passphrase: Passphrase::new(b"store pass".to_vec()),
                create: true,
            }),
            Locked,
        ),
        (Extension::LockStore, Locked),
        (
            Extension::Passwd(PasswdRequest {
                old: Passphrase::new(b"a".to_vec()),
                new: Passphrase::new(b"b".to_vec()),
            }),
            Locked,
        ),
        // The audit log's path and head: the issue 14 rule (only unlock,
        // identities, version, status and query while locked).
        (Extension::AuditInfo, Locked),
        // Secrets (issue 21): a locked agent stores, lists, removes and
        // releases none.
        (
            Extension::SecretAdd(signet_proto::secret::AddSecretRequest {
                name: "added-while-locked".into(),
                kind: signet_proto::secret::SecretKind::EncordBearer,
                resource: String::new(),
                scopes: vec![],
                title: String::new(),
                lifetime: 0,
                replace: false,
                value: signet_proto::secret::SecretValue::copy_of(b"token"),
            }),
            Locked,
        ),
        (Extension::SecretList, Locked),
        (
            Extension::SecretRemove {
                name: "gated".into(),
            },
            Locked,
        ),
        (
            Extension::GetSecret {
                name: "gated".into(),
            },
            Locked,
        ),
        // The token's PIN: an admin's, and not while locked.
        (
            Extension::TokenLogin(signet_proto::Passphrase::new(b"4711".to_vec())),
            Locked,
        ),
    ];
    let mut out: Vec<(&'static str, Vec<u8>, Want)> = rows
        .into_iter()
        .map(|(e, l)| (e.name(), frame(&e), l))
        .collect();
    // Every name `query` lists is in the table above.
    for name in extension::SUPPORTED {
        assert!(
            out.iter().any(|(n, _, _)| n == name),
            "{name} is missing from the lock table test"
        );
    }
    // Extensions signetd does not answer get a plain FAILURE, locked or not.
    for name in [
        "session-bind@openssh.com",
        "no-such@signet",
        "restrict-destination-v00@openssh.com",
    ] {
        let mut b = vec![msg::EXTENSION];
        b.put_string(name.as_bytes());
        b.put_string(b"contents");
        out.push((name, b, Failure));
    }
    out
}

/// Every message type 0–255 (signet's key, well-formed bodies where the
/// type has one) and every extension, while locked: exactly the documented
/// answer, one reply each, on one connection that stays open; then the
/// agent unlocks with the right passphrase and nothing was changed,
/// removed, renamed, stored or stopped.
#[test]
fn a_locked_agent_answers_every_request_type_as_documented() {
    let agent = Agent::start();
    let mut conn = agent.connect();
    let key = TestKey::from_seed(41, "gated");
    assert_eq!(conn.request(&key.add_request(vec![])), Response::Success);
    let blob = key.blob();
    let pass = |p: &[u8]| Passphrase::new(p.to_vec());
    assert_eq!(
        conn.request(&Request::Lock(pass(b"right"))),
        Response::Success
    );

    let other = TestKey::from_seed(42, "added-while-locked");
    let sign = Request::Sign(SignRequest {
        key_blob: &blob,
        data: b"data",
        flags: 0,
    });
    for msg_type in 0..=255u8 {
        let (b, want) = match msg_type {
            msg::REQUEST_IDENTITIES => (body(&Request::RequestIdentities), Want::NoIdentities),
            msg::SIGN_REQUEST => (body(&sign), Want::Failure),
            msg::ADD_IDENTITY => (body(&other.add_request(vec![])), Want::Failure),
            msg::ADD_ID_CONSTRAINED => (
                body(&other.add_request(vec![signet_proto::Constraint::Lifetime(60)])),
                Want::Failure,
            ),
            msg::REMOVE_IDENTITY => (
                body(&Request::RemoveIdentity { key_blob: &blob }),
                Want::Failure,
            ),
            msg::REMOVE_ALL_IDENTITIES => (body(&Request::RemoveAllIdentities), Want::Failure),
            msg::LOCK => (body(&Request::Lock(pass(b"mine now"))), Want::Failure),
            // UNLOCK is answered: tried last, with the right passphrase.
            msg::UNLOCK => continue,
            msg::EXTENSION => continue,
            other => (vec![other, 0, 0, 0, 0], Want::Failure),
        };
        let got = conn.request_body(&b);
        check(&format!("message type {msg_type}"), want, &got);
    }
    for (name, b, want) in extensions(&key) {
        let got = conn.request_body(&b);
        check(name, want, &got);
        if name == extension::STATUS {
            let Response::ExtensionResponse { contents, .. } = got else {
                unreachable!()
            };
            let st = Status::decode(&contents).unwrap_or_else(|e| panic!("{e}"));
            assert!(st.locked && st.keys == 0, "status while locked: {st:?}");
        }
    }
    // A wrong passphrase is answered (and refused); the right one unlocks.
    assert_eq!(
        conn.request(&Request::Unlock(pass(b"wrong"))),
        Response::Failure
    );
    assert_eq!(
        conn.request(&Request::Unlock(pass(b"right"))),
        Response::Success
    );

    // Nothing the locked agent was asked to do happened.
    let ids = list_identities(&mut conn);
    assert_eq!(
        ids.iter().map(|i| i.comment.as_str()).collect::<Vec<_>>(),
        ["gated"]
    );
    match conn.request(&sign) {
        Response::Signature(sig) => verify_ssh_signature(&key.public(), b"data", &sig),
        other => panic!("an unlocked agent did not sign: {other:?}"),
    }
    let r = agent.signet(["list", "--json"]);
    r.assert_ok();
    assert!(!r.stdout.contains("while-locked"), "{r}");
}

#[track_caller]
fn check(what: &str, want: Want, got: &Response) {
    let ok = match (want, got) {
        (Want::Failure, Response::Failure) => true,
        (Want::NoIdentities, Response::Identities(ids)) => ids.is_empty(),
        (Want::Answered, Response::ExtensionResponse { .. }) => true,
        (Want::Locked, Response::ExtensionFailure(contents)) => {
            let err = ExtensionError::decode(contents)
                .unwrap_or_else(|e| panic!("{what}: bad failure payload: {e}"))
                .unwrap_or_else(|| panic!("{what}: failure without a code"));
            assert_eq!(err.code, ErrorCode::Locked, "{what}: {err:?}");
            assert!(err.reason.contains("locked"), "{what}: {err:?}");
            true
        }
        _ => false,
    };
    assert!(ok, "{what} while locked: expected {want:?}, got {got:?}");
}

/// The connection that asked everything above is still usable, and a new
/// one sees the same: no reply was skipped or doubled.
#[test]
fn every_locked_refusal_is_exactly_one_reply() {
    let agent = Agent::start();
    let mut conn = RawConn::connect(agent.socket());
    let pass = |p: &[u8]| Passphrase::new(p.to_vec());
    assert_eq!(conn.request(&Request::Lock(pass(b"p"))), Response::Success);
    // Pipelined: ten requests written at once, ten replies in order.
    let mut many = Vec::new();
    for _ in 0..5 {
        Request::RemoveAllIdentities.encode_frame(&mut many);
        Extension::Stop.encode_frame(&mut many);
    }
    conn.send_raw(&many).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..10 {
        let got = conn.recv();
        let want = if i % 2 == 0 {
            Want::Failure
        } else {
            Want::Locked
        };
        check(&format!("pipelined request {i}"), want, &got);
    }
    conn.expect_silence(std::time::Duration::from_millis(200));
    assert_eq!(
        conn.request(&Request::Unlock(pass(b"p"))),
        Response::Success
    );
}
