//! Every decoder in signet-proto on arbitrary bytes: no panic, no unbounded
//! allocation, and whatever decodes re-encodes to bytes that decode to the
//! same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_proto::extension::{
    self, Extension, ExtensionError, SignHttpReply, SignHttpRequest, Status, VersionReply,
};
use signet_proto::{frame, Request, Response};

fuzz_target!(|data: &[u8]| {
    // Framing: a split frame's body is what the prefix announced.
    if let Ok(Some((body, total))) = frame::split(data) {
        assert_eq!(total, body.len() + frame::LEN_PREFIX);
        assert!(body.len() <= frame::MAX_FRAME_LEN);
    }

    if let Ok(req) = Request::decode(data) {
        let mut again = Vec::new();
        req.encode_body(&mut again);
        assert_eq!(Request::decode(&again).as_ref(), Ok(&req));
        if let Request::Extension { name, contents } = req {
            // Decoded once into the typed enum, re-encoded, decoded again:
            // the same request (fieldless extensions drop stray contents).
            if let Ok(ext) = Extension::decode(name, contents) {
                let mut out = Vec::new();
                ext.encode_contents(&mut out);
                assert_eq!(Extension::decode(name, &out).as_ref(), Ok(&ext));
            }
        }
    }
    if let Ok(resp) = Response::decode(data) {
        let mut again = Vec::new();
        resp.encode_frame(&mut again);
        assert_eq!(
            Response::decode(&again[frame::LEN_PREFIX..]).as_ref(),
            Ok(&resp)
        );
    }

    if let Ok(v) = SignHttpRequest::decode(data) {
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(SignHttpRequest::decode(&out), Ok(v));
    }
    if let Ok(v) = SignHttpReply::decode(data) {
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(SignHttpReply::decode(&out), Ok(v));
    }
    if let Ok(v) = extension::decode_list_reply(data) {
        let mut out = Vec::new();
        extension::encode_list_reply(&mut out, &v);
        assert_eq!(extension::decode_list_reply(&out), Ok(v));
    }
    if let Ok(v) = extension::decode_query_reply(data) {
        let names: Vec<&str> = v.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        extension::encode_query_reply(&mut out, &names);
        assert_eq!(extension::decode_query_reply(&out), Ok(v));
    }
    if let Ok(v) = Status::decode(data) {
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(Status::decode(&out), Ok(v));
    }
    if let Ok(v) = VersionReply::decode(data) {
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(VersionReply::decode(&out), Ok(v));
    }
    if let Ok(Some(v)) = ExtensionError::decode(data) {
        let mut out = Vec::new();
        v.encode(&mut out);
        // The reason is decoded lossily, so `v` already holds valid UTF-8.
        assert_eq!(ExtensionError::decode(&out), Ok(Some(v)));
    }
});
