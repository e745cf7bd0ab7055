//! Round-trip properties for every message type signet-proto encodes: what is
//! encoded decodes to the same value, frames split back into their body, and
//! no input — however malformed — makes a decoder panic.

use proptest::collection::vec;
use proptest::prelude::*;

use signet_proto::encord::Scheme;
use signet_proto::extension::{
    self, CertificateInfo, ErrorCode, ExtensionError, KeyInfo, SignHttpReply, SignHttpRequest,
    Status, VersionReply,
};
use signet_proto::frame;
use signet_proto::message::msg;
use signet_proto::{
    AddIdentity, Constraint, Ed25519Seed, Identity, NewKey, Passphrase, Request, Response,
    SignRequest, MAX_FRAME_LEN,
};

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including multi-byte and control characters.
    ".{0,24}"
}

fn constraint_list() -> impl Strategy<Value = Vec<Constraint>> {
    let plain = prop_oneof![
        any::<u32>().prop_map(Constraint::Lifetime),
        Just(Constraint::Confirm),
    ];
    // An extension constraint runs to the end of the message: only the last
    // one may be an extension.
    (vec(plain, 0..4), proptest::option::of((text(), bytes(16)))).prop_map(|(mut cs, ext)| {
        if let Some((name, details)) = ext {
            cs.push(Constraint::Extension { name, details });
        }
        cs
    })
}

fn add_identity() -> impl Strategy<Value = AddIdentity> {
    prop_oneof![
        (
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            text(),
            constraint_list()
        )
            .prop_map(|(public, seed, comment, constraints)| AddIdentity {
                key: NewKey::Ed25519 {
                    public,
                    seed: Ed25519Seed::new(seed),
                },
                comment,
                constraints,
            }),
        (
            bytes(200),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            text(),
            constraint_list()
        )
            .prop_map(|(rest, public, seed, comment, constraints)| {
                // A certificate blob starts with its type name; the rest is
                // the daemon's to parse.
                let mut certificate = Vec::new();
                signet_proto::wire::WireWrite::put_string(
                    &mut certificate,
                    signet_proto::key::ED25519_CERT_ALGORITHM.as_bytes(),
                );
                certificate.extend_from_slice(&rest);
                AddIdentity {
                    key: NewKey::Ed25519Cert {
                        certificate,
                        public,
                        seed: Ed25519Seed::new(seed),
                    },
                    comment,
                    constraints,
                }
            }),
        // Other key types are not parsed past their name: no comment, no
        // constraints survive, so none are generated.
        "[a-z0-9@.-]{1,20}"
            .prop_filter("not ed25519", |a| a != signet_proto::key::ED25519_ALGORITHM)
            .prop_map(|algorithm| AddIdentity {
                key: NewKey::Unsupported { algorithm },
                comment: String::new(),
                constraints: Vec::new(),
            }),
    ]
}

/// Owned material a borrowed [`Request`] is built from.
#[derive(Debug, Clone)]
enum RequestCase {
    Identities,
    Sign(Vec<u8>, Vec<u8>, u32),
    Add(AddIdentity),
    Remove(Vec<u8>),
    RemoveAll,
    Lock(Vec<u8>),
    Unlock(Vec<u8>),
    Extension(String, Vec<u8>),
    Unsupported(u8),
}

impl RequestCase {
    fn request(&self) -> Request<'_> {
        match self {
            RequestCase::Identities => Request::RequestIdentities,
            RequestCase::Sign(key_blob, data, flags) => Request::Sign(SignRequest {
                key_blob,
                data,
                flags: *flags,
            }),
            RequestCase::Add(add) => Request::AddIdentity(add.clone()),
            RequestCase::Remove(key_blob) => Request::RemoveIdentity { key_blob },
            RequestCase::RemoveAll => Request::RemoveAllIdentities,
            RequestCase::Lock(p) => Request::Lock(Passphrase::new(p.clone())),
            RequestCase::Unlock(p) => Request::Unlock(Passphrase::new(p.clone())),
            RequestCase::Extension(name, contents) => Request::Extension { name, contents },
            RequestCase::Unsupported(t) => Request::Unsupported { msg_type: *t },
        }
    }
}

const KNOWN_REQUESTS: &[u8] = &[
    msg::REQUEST_IDENTITIES,
    msg::SIGN_REQUEST,
    msg::ADD_IDENTITY,
    msg::REMOVE_IDENTITY,
    msg::REMOVE_ALL_IDENTITIES,
    msg::LOCK,
    msg::UNLOCK,
    msg::ADD_ID_CONSTRAINED,
    msg::EXTENSION,
];

fn request_case() -> impl Strategy<Value = RequestCase> {
    prop_oneof![
        Just(RequestCase::Identities),
        (bytes(80), bytes(300), any::<u32>()).prop_map(|(k, d, f)| RequestCase::Sign(k, d, f)),
        add_identity().prop_map(RequestCase::Add),
        bytes(80).prop_map(RequestCase::Remove),
        Just(RequestCase::RemoveAll),
        bytes(40).prop_map(RequestCase::Lock),
        bytes(40).prop_map(RequestCase::Unlock),
        (text(), bytes(100)).prop_map(|(n, c)| RequestCase::Extension(n, c)),
        any::<u8>()
            .prop_filter("an unimplemented type", |t| !KNOWN_REQUESTS.contains(t))
            .prop_map(RequestCase::Unsupported),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let identity =
        (bytes(60), text()).prop_map(|(key_blob, comment)| Identity { key_blob, comment });
    prop_oneof![
        Just(Response::Success),
        Just(Response::Failure),
        vec(identity, 0..5).prop_map(Response::Identities),
        bytes(100).prop_map(Response::Signature),
        (text(), bytes(100))
            .prop_map(|(name, contents)| Response::ExtensionResponse { name, contents }),
        bytes(100).prop_map(Response::ExtensionFailure),
    ]
}

fn certificate_info() -> impl Strategy<Value = CertificateInfo> {
    (
        (bytes(60), text(), text(), any::<bool>(), vec(text(), 0..3)),
        (
            any::<u64>(),
            any::<u64>(),
            text(),
            proptest::option::of(any::<u64>()),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (blob, name, key_id, host, principals),
                (valid_after, valid_before, ca_fingerprint, expires_in, confirm),
            )| CertificateInfo {
                blob,
                name,
                key_id,
                host,
                principals,
                valid_after,
                valid_before,
                ca_fingerprint,
                expires_in,
                confirm,
            },
        )
}

fn key_info() -> impl Strategy<Value = KeyInfo> {
    (
        bytes(60),
        text(),
        proptest::option::of(any::<u64>()),
        any::<bool>(),
        text(),
        text(),
        (any::<bool>(), vec(certificate_info(), 0..3)),
    )
        .prop_map(
            |(key_blob, name, expires_in, confirm, source, policy, (listed, certificates))| {
                KeyInfo {
                    key_blob,
                    name,
                    expires_in,
                    confirm,
                    source,
                    policy,
                    listed,
                    certificates,
                }
            },
        )
}

fn scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![Just(Scheme::EncordV1), Just(Scheme::EncordV2)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_request_round_trips(case in request_case()) {
        let req = case.request();
        let mut body = Vec::new();
        req.encode_body(&mut body);
        prop_assert_eq!(Request::decode(&body), Ok(req.clone()));
        // As a frame: the prefix announces exactly the body.
        let mut framed = Vec::new();
        req.encode_frame(&mut framed);
        prop_assert_eq!(frame::split(&framed), Ok(Some((&body[..], body.len() + frame::LEN_PREFIX))));
    }

    #[test]
    fn every_response_round_trips(resp in response()) {
        let mut framed = Vec::new();
        resp.encode_frame(&mut framed);
        let split = frame::split(&framed);
        let Ok(Some((body, total))) = split else {
            return Err(TestCaseError::fail(format!("frame does not split: {split:?}")));
        };
        prop_assert_eq!(total, framed.len());
        prop_assert_eq!(Response::decode(body), Ok(resp));
    }

    #[test]
    fn sign_http_request_round_trips(
        key in text(), scheme in scheme(), method in text(), target in text(), digest in any::<[u8; 32]>()
    ) {
        let req = SignHttpRequest { key: &key, scheme, method: &method, target: &target, body_sha256: digest };
        let mut out = Vec::new();
        req.encode(&mut out);
        prop_assert_eq!(SignHttpRequest::decode(&out), Ok(req));
    }

    #[test]
    fn sign_http_reply_round_trips(created in any::<u64>(), headers in vec((text(), text()), 0..6)) {
        let reply = SignHttpReply { created, headers };
        let mut out = Vec::new();
        reply.encode(&mut out);
        prop_assert_eq!(SignHttpReply::decode(&out), Ok(reply));
    }

    #[test]
    fn list_reply_round_trips(keys in vec(key_info(), 0..6)) {
        let mut out = Vec::new();
        extension::encode_list_reply(&mut out, &keys);
        prop_assert_eq!(extension::decode_list_reply(&out), Ok(keys));
    }

    #[test]
    fn status_round_trips(
        protocol in any::<u32>(), agent_version in text(), pid in any::<u32>(), locked in any::<bool>(),
        keys in any::<u32>(), uptime_secs in any::<u64>(), socket in text()
    ) {
        let st = Status { protocol, agent_version, pid, locked, keys, uptime_secs, socket };
        let mut out = Vec::new();
        st.encode(&mut out);
        prop_assert_eq!(Status::decode(&out), Ok(st));
    }

    #[test]
    fn version_reply_round_trips(protocol in any::<u32>(), agent_version in text()) {
        let v = VersionReply { protocol, agent_version };
        let mut out = Vec::new();
        v.encode(&mut out);
        prop_assert_eq!(VersionReply::decode(&out), Ok(v));
    }

    #[test]
    fn extension_error_round_trips(code in any::<u32>(), reason in text()) {
        // Codes with a name decode to that name: normalise through from_u32.
        let e = ExtensionError::new(ErrorCode::from_u32(code), reason);
        prop_assert_eq!(e.code.to_u32(), code);
        let mut out = Vec::new();
        e.encode(&mut out);
        prop_assert_eq!(ExtensionError::decode(&out), Ok(Some(e)));
    }

    #[test]
    fn query_reply_round_trips(names in vec(text(), 0..8)) {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        extension::encode_query_reply(&mut out, &refs);
        prop_assert_eq!(extension::decode_query_reply(&out), Ok(names));
    }

    #[test]
    fn frame_cap_is_enforced_from_the_prefix(len in any::<u32>()) {
        let result = frame::body_len(len.to_be_bytes());
        let len = len as usize;
        prop_assert_eq!(result.is_ok(), len > 0 && len <= MAX_FRAME_LEN);
    }

    /// Arbitrary bytes never panic a decoder, and whatever decodes re-encodes
    /// to something that decodes to the same value.
    #[test]
    fn arbitrary_bytes_never_panic_and_decoded_values_are_stable(body in bytes(400)) {
        if let Ok(req) = Request::decode(&body) {
            let mut again = Vec::new();
            req.encode_body(&mut again);
            prop_assert_eq!(Request::decode(&again), Ok(req));
        }
        if let Ok(resp) = Response::decode(&body) {
            let mut again = Vec::new();
            resp.encode_frame(&mut again);
            prop_assert_eq!(Response::decode(&again[frame::LEN_PREFIX..]), Ok(resp));
        }
        let _ = SignHttpRequest::decode(&body);
        let _ = SignHttpReply::decode(&body);
        let _ = extension::decode_list_reply(&body);
        let _ = extension::decode_query_reply(&body);
        let _ = Status::decode(&body);
        let _ = VersionReply::decode(&body);
        let _ = ExtensionError::decode(&body);
        let _ = frame::split(&body);
    }
}
