//! The audit log's line format and its hash chain (no I/O: the daemon writes
//! the files, `signet audit` reads them).
//!
//! Each line is one JSON object ([`Record`]) ending in `\n`. `prev` is the
//! lowercase hex SHA-256 of the previous line's exact bytes (without its
//! newline); the very first line has `prev` = 64 zeros and `seq` = 1. When
//! the log is rotated, the new file starts with a header line
//! (`"event":"rotated"`) whose `prev` is the hash of the last line of the
//! file before it, so removing lines from the end of a rotated file is
//! detected at the next file's header. [`verify`] walks the files oldest to
//! newest and names the first line that breaks the chain.
//!
//! What a record must never hold: the request body, the signature, or any
//! secret. The body is represented by its SHA-256 only.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev` of the first line ever written.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the chain, from 1, one more per line.
    pub seq: u64,
    /// UTC time, RFC 3339 (`2026-11-23T21:51:24Z`).
    pub time: String,
    /// `sign`, `refuse`, or `rotated` (a file's header line).
    pub event: String,
    /// The key's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Encord's key id (hex of the public key).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_id: String,
    /// `encord-v1`, `encord-v2` or `ssh`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// HTTP method.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// Request target (path and query).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// Hex SHA-256 of the body (HTTP) or of the signed data (SSH).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    /// v2 `created` (unix seconds) of a signed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// Caller's pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Caller's uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Caller's executable.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exe: String,
    /// The policy rule that decided (empty: the key has none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rule: String,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Header lines: the file this one follows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rotated_from: String,
    /// Hex SHA-256 of the previous line.
    pub prev: String,
}

/// The hex SHA-256 of a line's bytes (without its newline).
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {what}")]
pub struct ChainError {
    /// The file's name as given to [`verify`].
    pub file: String,
    /// 1-based line number in that file.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

/// Checks the chain across `files` (name, contents), oldest first. Returns
/// the number of lines checked.
pub fn verify(files: &[(String, Vec<u8>)]) -> Result<u64, ChainError> {
    let mut last: Option<(u64, String)> = None;
    let mut count = 0u64;
    for (fi, (name, text)) in files.iter().enumerate() {
        if !text.is_empty() && !text.ends_with(b"\n") {
            let n = text.split(|&b| b == b'\n').count();
            return Err(ChainError {
                file: name.clone(),
                line: n,
                what: "the last line is incomplete (cut off while written, or truncated)".into(),
            });
        }
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        if body.is_empty() {
            continue;
        }
        for (li, line) in body.split(|&b| b == b'\n').enumerate() {
            let fail = |what: String| ChainError {
                file: name.clone(),
                line: li + 1,
                what,
            };
            let rec: Record = serde_json::from_slice(line)
                .map_err(|e| fail(format!("not an audit record: {e}")))?;
            let header = rec.event == "rotated";
            if li == 0 && fi > 0 && !header {
                return Err(fail(
                    "a rotated-in file must start with a header line (lines removed from its start?)"
                        .into(),
                ));
            }
            if header && li != 0 {
                return Err(fail("a header line in the middle of a file".into()));
            }
            match &last {
                None => {
                    if rec.prev == GENESIS {
                        if rec.seq != 1 {
                            return Err(fail(format!(
                                "the first line has seq {} (expected 1)",
                                rec.seq
                            )));
                        }
                    } else if !header {
                        // The oldest kept file must start at the beginning
                        // of the chain or with a rotation header.
                        return Err(fail(
                            "the oldest line is neither the start of the chain nor a rotation header (lines removed?)"
                                .into(),
                        ));
                    }
                }
                Some((seq, hash)) => {
                    if rec.prev != *hash {
                        return Err(fail(format!(
                            "prev {} does not match the hash of the line before it ({}): a line was removed, changed or moved",
                            short(&rec.prev),
                            short(hash)
                        )));
                    }
                    if rec.seq != seq + 1 {
                        return Err(fail(format!("seq {} follows seq {seq}", rec.seq)));
                    }
                }
            }
            last = Some((rec.seq, line_hash(line)));
            count += 1;
        }
    }
    Ok(count)
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64, start_prev: &str, start_seq: u64) -> Vec<String> {
        let mut prev = start_prev.to_owned();
        let mut out = Vec::new();
        for i in 0..n {
            let line = match serde_json::to_string(&Record {
                seq: start_seq + i,
                time: "2026-01-01T00:00:00Z".into(),
                event: "sign".into(),
                key: "k".into(),
                prev: prev.clone(),
                ..Record::default()
            }) {
                Ok(l) => l,
                Err(e) => panic!("{e}"),
            };
            prev = line_hash(line.as_bytes());
            out.push(line);
        }
        out
    }

    fn file(lines: &[String]) -> Vec<u8> {
        lines
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect()
    }

    #[test]
    fn intact_chain_and_each_tampering() {
        let lines = chain(5, GENESIS, 1);
        let ok = vec![("a".to_owned(), file(&lines))];
        assert_eq!(verify(&ok), Ok(5));
        // Removed line 3.
        let mut removed = lines.clone();
        removed.remove(2);
        let e = verify(&[("a".into(), file(&removed))]).err();
        assert_eq!(e.map(|e| (e.file, e.line)), Some(("a".into(), 3)));
        // Edited line 2 (detected at line 3, whose prev no longer matches).
        let mut edited = lines.clone();
        edited[1] = edited[1].replace("\"key\":\"k\"", "\"key\":\"x\"");
        let e = verify(&[("a".into(), file(&edited))]).err();
        assert_eq!(e.map(|e| e.line), Some(3));
        // Swapped lines 2 and 3.
        let mut swapped = lines.clone();
        swapped.swap(1, 2);
        let e = verify(&[("a".into(), file(&swapped))]).err();
        assert_eq!(e.map(|e| e.line), Some(2));
        // First line removed.
        let e = verify(&[("a".into(), file(&lines[1..]))]).err();
        assert_eq!(e.map(|e| e.line), Some(1));
        // Cut mid-line.
        let mut cut = file(&lines);
        cut.truncate(cut.len() - 5);
        let e = verify(&[("a".into(), cut)]).err();
        assert_eq!(e.map(|e| e.line), Some(5));
        assert_eq!(verify(&[("a".into(), Vec::new())]), Ok(0));
    }

    #[test]
    fn rotation_header_links_files_and_catches_truncation() {
        let first = chain(3, GENESIS, 1);
        let last_hash = line_hash(first[2].as_bytes());
        let header = serde_json::to_string(&Record {
            seq: 4,
            time: "t".into(),
            event: "rotated".into(),
            rotated_from: "audit.log.1".into(),
            prev: last_hash.clone(),
            ..Record::default()
        })
        .unwrap_or_default();
        let mut second = vec![header.clone()];
        second.extend(chain(2, &line_hash(header.as_bytes()), 5));
        let files = vec![
            ("audit.log.1".to_owned(), file(&first)),
            ("audit.log".to_owned(), file(&second)),
        ];
        assert_eq!(verify(&files), Ok(6));
        // The rotated file truncated: its last line gone.
        let truncated = vec![
            ("audit.log.1".to_owned(), file(&first[..2])),
            ("audit.log".to_owned(), file(&second)),
        ];
        let e = verify(&truncated).err();
        assert_eq!(e.map(|e| (e.file, e.line)), Some(("audit.log".into(), 1)));
        // The oldest file dropped by rotation: the chain starts at a header.
        assert_eq!(verify(&files[1..]), Ok(3));
        // …but not at a header-less line.
        let e = verify(&[("audit.log".to_owned(), file(&second[1..]))]).err();
        assert_eq!(e.map(|e| e.line), Some(1));
    }
}
