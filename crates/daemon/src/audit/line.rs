//! One audit line as the writer formats it: a `signet_proto::audit::Record`
//! with borrowed fields, so a line costs no copies. Same field names, order
//! and omissions as `Record` (a unit test holds them byte-for-byte equal),
//! so `audit verify`, `tail` and any JSON reader see one format.

use serde::Serialize;

#[derive(Serialize, Clone, Copy)]
pub(super) struct Line<'a> {
    pub seq: u64,
    pub time: &'a str,
    pub event: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub key: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub key_id: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub scheme: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub method: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub target: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "is_empty")]
    pub exe: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub rule: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub reason: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub rotated_from: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub trigger: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_no: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsealed: Option<u64>,
    #[serde(skip_serializing_if = "is_empty")]
    pub broken_file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_seq: Option<u64>,
    #[serde(skip_serializing_if = "is_empty")]
    pub broken_hash: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub audit_key: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub previous_key: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub sig: &'a str,
    pub prev: &'a str,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

impl<'a> Line<'a> {
    pub fn new(seq: u64, time: &'a str, event: &'a str, prev: &'a str) -> Self {
        Self {
            seq,
            time,
            event,
            key: "",
            key_id: "",
            scheme: "",
            method: "",
            target: "",
            digest: "",
            created: None,
            pid: None,
            uid: None,
            exe: "",
            rule: "",
            reason: "",
            rotated_from: "",
            trigger: "",
            file_no: None,
            keep: None,
            unsealed: None,
            broken_file: "",
            broken_seq: None,
            broken_hash: "",
            audit_key: "",
            previous_key: "",
            sig: "",
            prev,
        }
    }
}

/// Lowercase hex of 32 bytes, on the stack.
pub(super) fn hex32<'a>(bytes: &[u8; 32], out: &'a mut [u8; 64]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    // Only ASCII digits were written.
    std::str::from_utf8(out).unwrap_or_default()
}
