//! Encord request signature bases, built exactly as the `encord` Python SDK
//! builds them, so that the server cannot tell agent-made signatures from the
//! SDK's own.
//!
//! Reference: `encord` 0.1.211 on PyPI, `encord/configs.py` (v1) and
//! `encord/http/v2/request_signer.py` (v2, RFC 9421 HTTP Message Signatures with
//! the label `encord-sig`). `tests/vectors/encord_vectors.json` holds headers
//! produced by that SDK's own code (`python/tools/make_vectors.py`); the tests
//! below check this module against every vector, byte for byte.
//!
//! The agent signs only what [`prepare`] built: the caller supplies the method,
//! the request target and the body's SHA-256, never the bytes to sign.

use base64::Engine as _;

use crate::error::{Error, Field, Result};
use crate::extension::SignHttpReply;
use crate::key::key_id;

/// The RFC 9421 signature label Encord uses.
pub const V2_LABEL: &str = "encord-sig";

/// An Encord request-signing scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `Authorization: <key id>:<hex signature of SHA-256(body)>`.
    EncordV1,
    /// RFC 9421 `Signature-Input` / `Signature` / `Content-Digest`.
    EncordV2,
}

impl Scheme {
    /// The scheme's name on the wire and in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::EncordV1 => "encord-v1",
            Scheme::EncordV2 => "encord-v2",
        }
    }

    /// Parses a scheme name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "encord-v1" => Some(Scheme::EncordV1),
            "encord-v2" => Some(Scheme::EncordV2),
            _ => None,
        }
    }
}

/// `Content-Digest` value: `sha-256=:<base64(SHA-256(body))>:` (RFC 9530).
pub fn content_digest(body_sha256: &[u8; 32]) -> String {
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(body_sha256)
    )
}

/// The inner list and parameters of `@signature-params` / `Signature-Input`.
pub fn signature_params(created: u64, key_id: &str) -> String {
    format!(
        "(\"@method\" \"@request-target\" \"content-digest\");created={created};keyid=\"{key_id}\";alg=\"ed25519\""
    )
}

/// A signature base ready to sign, and what is needed to turn the signature
/// into headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    scheme: Scheme,
    message: Vec<u8>,
    key_id: String,
    created: u64,
    digest_header: Option<String>,
    params: Option<String>,
}

impl Prepared {
    /// The exact bytes the key must sign.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The `created` value (0 for v1, which has none).
    pub fn created(&self) -> u64 {
        self.created
    }

    /// The headers that carry `signature`, in the order the SDK sets them.
    pub fn into_headers(self, signature: &[u8; 64]) -> SignHttpReply {
        let headers = match self.scheme {
            Scheme::EncordV1 => vec![(
                "Authorization".to_owned(),
                format!("{}:{}", self.key_id, hex::encode(signature)),
            )],
            Scheme::EncordV2 => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(signature);
                vec![
                    (
                        "Content-Digest".to_owned(),
                        self.digest_header.unwrap_or_default(),
                    ),
                    (
                        "Signature-Input".to_owned(),
                        format!("{V2_LABEL}={}", self.params.unwrap_or_default()),
                    ),
                    ("Signature".to_owned(), format!("{V2_LABEL}=:{b64}:")),
                ]
            }
        };
        SignHttpReply {
            created: self.created,
            headers,
        }
    }
}

/// Builds the bytes to sign for a request.
///
/// `method` is upper-cased; `target` must be an origin-form request target
/// (`/path` plus optional `?query`) with no whitespace or control characters,
/// so that nothing a caller sends can add a line to the signature base.
///
/// Both are checked the same for v1, though a v1 signature covers only the
/// body's digest: the method and target are what rules (`methods`,
/// `targets`), the confirmation prompt and the audit log see, so they are
/// held to the same rules as the v2 ones they stand for (a v1 target with a
/// newline could otherwise forge a line of the prompt).
pub fn prepare(
    scheme: Scheme,
    method: &str,
    target: &str,
    body_sha256: &[u8; 32],
    public_key: &[u8; 32],
    created: u64,
) -> Result<Prepared> {
    let kid = key_id(public_key);
    let method = validate_method(method)?;
    validate_target(target)?;
    match scheme {
        Scheme::EncordV1 => Ok(Prepared {
            scheme,
            message: body_sha256.to_vec(),
            key_id: kid,
            created: 0,
            digest_header: None,
            params: None,
        }),
        Scheme::EncordV2 => {
            let digest = content_digest(body_sha256);
            let params = signature_params(created, &kid);
            let base = format!(
                "\"@method\": {method}\n\"@request-target\": {target}\n\"content-digest\": {digest}\n\"@signature-params\": {params}"
            );
            Ok(Prepared {
                scheme,
                message: base.into_bytes(),
                key_id: kid,
                created,
                digest_header: Some(digest),
                params: Some(params),
            })
        }
    }
}

/// Upper-cases an HTTP method after checking it is an RFC 9110 token.
pub fn validate_method(method: &str) -> Result<String> {
    let ok = !method.is_empty()
        && method.len() <= 32
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(method.to_ascii_uppercase())
    } else {
        Err(Error::Invalid {
            field: Field("method"),
            reason: "not an HTTP method token",
        })
    }
}

/// Checks that a request target is origin-form and printable ASCII.
pub fn validate_target(target: &str) -> Result<()> {
    if !target.starts_with('/') {
        return Err(Error::Invalid {
            field: Field("request target"),
            reason: "must start with '/' (path and optional ?query, no scheme or host)",
        });
    }
    if !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Invalid {
            field: Field("request target"),
            reason: "must be printable ASCII without spaces (percent-encode the rest)",
        });
    }
    if has_dot_segment(target) {
        return Err(Error::Invalid {
            field: Field("request target"),
            reason: "must not contain a `.` or `..` path segment (nor one spelt %2e): a server or proxy that resolves it acts on another path than the one a rule allowed",
        });
    }
    Ok(())
}

/// Whether the path of `target` (before any `?`) has a segment that is
/// `.` or `..`, literally or percent-encoded (`%2e`, `.%2E`, …), between
/// `/` or `\` (which some servers read as `/`). The SDK never sends one
/// (urllib3 resolves dot-segments before a request is prepared), so a
/// target with one was written by hand: `/v2/public/projects/../datasets/x`
/// matches a rule's `/v2/public/projects*` but names a dataset once
/// resolved (RFC 3986 §5.2.4).
fn has_dot_segment(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or(target);
    path.split(['/', '\\']).any(|segment| {
        let mut rest = segment.as_bytes();
        let mut dots = 0;
        loop {
            match rest {
                [] => break,
                [b'.', tail @ ..] => rest = tail,
                [b'%', b'2', b'e' | b'E', tail @ ..] => rest = tail,
                _ => return false,
            }
            dots += 1;
        }
        dots == 1 || dots == 2
    })
}

/// Splits an absolute URL into its request target (path and query), as the
/// SDK's `@request-target` uses it. A bare path is returned as it is.
pub fn request_target(url: &str) -> Result<&str> {
    let after_scheme = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => return Ok(strip_fragment(url)),
    };
    match after_scheme.find('/') {
        Some(i) => Ok(strip_fragment(&after_scheme[i..])),
        None => Err(Error::Invalid {
            field: Field("url"),
            reason: "has no path",
        }),
    }
}

fn strip_fragment(s: &str) -> &str {
    s.split('#').next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_base_shape() {
        let p = prepare(
            Scheme::EncordV2,
            "post",
            "/v2/public/x?a=1",
            &[0; 32],
            &[1; 32],
            7,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(p.message()).into_owned();
        assert!(text.starts_with("\"@method\": POST\n\"@request-target\": /v2/public/x?a=1\n"));
        assert!(text.ends_with(";created=7;keyid=\"0101010101010101010101010101010101010101010101010101010101010101\";alg=\"ed25519\""));
    }

    #[test]
    fn injection_into_the_base_is_refused() {
        for target in ["/a\n\"@method\": GET", "/a b", "http://x/a", ""] {
            assert!(
                prepare(Scheme::EncordV2, "GET", target, &[0; 32], &[1; 32], 7).is_err(),
                "{target:?}"
            );
        }
        assert!(prepare(Scheme::EncordV2, "GE T", "/a", &[0; 32], &[1; 32], 7).is_err());
    }

    /// v1 signs only the digest, but its method and target are what rules,
    /// prompts and the audit log show: checked as strictly as v2's.
    #[test]
    fn v1_method_and_target_are_checked_like_v2() {
        for target in [
            "/public\nRequested by uid 0: /usr/sbin/sshd",
            "/public\r",
            "/public\u{1b}[2K",
            "/public\0",
            "/a b",
            "public",
            "",
        ] {
            assert!(
                prepare(Scheme::EncordV1, "POST", target, &[0; 32], &[1; 32], 0).is_err(),
                "{target:?}"
            );
        }
        for method in ["", "PO\nST", "GET\u{1b}", "P O"] {
            assert!(
                prepare(Scheme::EncordV1, method, "/public", &[0; 32], &[1; 32], 0).is_err(),
                "{method:?}"
            );
        }
        let ok = prepare(
            Scheme::EncordV1,
            "post",
            "/public/user",
            &[7; 32],
            &[1; 32],
            0,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.message(), &[7; 32]);
    }

    #[test]
    fn dot_segments_are_refused_in_the_path_only() {
        for target in [
            "/v2/public/projects/../datasets/x",
            "/v2/public/projects/./x",
            "/v2/public/projects/..",
            "/v2/public/projects/%2e%2e/datasets",
            "/v2/public/projects/.%2E/datasets",
            "/v2/public/projects/%2E/x",
            "/v2/public/projects\\..\\datasets",
            "/..?a=1",
        ] {
            assert!(validate_target(target).is_err(), "{target:?}");
        }
        for target in [
            "/v2/public/projects/a..b/x",
            "/v2/public/projects/.../x",
            "/v2/public/projects/.hidden",
            "/v2/public/projects/%2e%2e%2e",
            "/v2/public/projects?next=../datasets",
            "/v2/public/projects?path=/./x",
            "/",
        ] {
            assert_eq!(validate_target(target), Ok(()), "{target:?}");
        }
    }

    #[test]
    fn request_target_from_url() {
        assert_eq!(
            request_target("https://api.encord.com/public/user?x=1#f"),
            Ok("/public/user?x=1")
        );
        assert_eq!(request_target("/v2/public/a"), Ok("/v2/public/a"));
        assert!(request_target("https://api.encord.com").is_err());
    }
}
