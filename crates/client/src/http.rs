//! Encord request signing helpers: the typed headers the agent returns, and
//! streaming body hashing so that a large upload is never held in memory.

use std::io::{self, Read};

use sha2::{Digest, Sha256};
use signet_proto::encord;
use signet_proto::extension::SignHttpReply;

use crate::error::{Error, Result};

/// Size of the fixed buffer [`sha256_reader`] hashes through.
pub const HASH_BUFFER_LEN: usize = 64 * 1024;

/// One HTTP header to add to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header name, e.g. `Signature-Input`.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The headers that sign an Encord request, in the order to send them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedHeaders {
    /// The `created` time (Unix seconds) in the signature; 0 for `encord-v1`.
    pub created: u64,
    /// The headers.
    pub headers: Vec<Header>,
}

impl SignedHeaders {
    pub(crate) fn from_reply(reply: SignHttpReply) -> Self {
        Self {
            created: reply.created,
            headers: reply
                .headers
                .into_iter()
                .map(|(name, value)| Header { name, value })
                .collect(),
        }
    }

    /// The value of the header `name` (ASCII case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The headers as `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
    }
}

impl IntoIterator for SignedHeaders {
    type Item = Header;
    type IntoIter = std::vec::IntoIter<Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.headers.into_iter()
    }
}

/// SHA-256 of everything `reader` yields, read through one fixed
/// [`HASH_BUFFER_LEN`] buffer: memory use does not depend on the body's size.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUFFER_LEN];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

/// SHA-256 of a body held in memory.
pub fn sha256(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// Checks a method and turns a full URL or a bare target into the request
/// target the agent signs, before anything is sent.
pub(crate) fn request_target<'u>(method: &str, url_or_target: &'u str) -> Result<&'u str> {
    encord::validate_method(method).map_err(|e| Error::InvalidInput {
        what: "HTTP method",
        reason: format!("{method:?}: {e}: use a method such as GET or POST"),
    })?;
    let target = encord::request_target(url_or_target).map_err(|e| Error::InvalidInput {
        what: "URL",
        reason: format!(
            "{url_or_target:?}: {e}: pass a full URL (https://api.encord.com/…) or a path starting with '/'"
        ),
    })?;
    encord::validate_target(target).map_err(|e| Error::InvalidInput {
        what: "URL",
        reason: format!("{url_or_target:?}: {e}"),
    })?;
    Ok(target)
}
