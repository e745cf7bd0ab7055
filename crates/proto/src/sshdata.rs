//! What a raw SSH `SIGN_REQUEST` asks the agent to sign.
//!
//! An agent signs whatever bytes a client sends, and an Ed25519 signature
//! over the right bytes is an Encord signature too: a v1 `Authorization` is
//! a signature of `SHA-256(body)`, a v2 `Signature` one of the RFC 9421
//! base. So a key whose rule restricts Encord requests must not sign
//! arbitrary bytes. Raw signing exists for two structures, which
//! [`classify`] recognises strictly (every field bounded, nothing left
//! over), as OpenSSH's agent does for FIDO keys
//! (`parse_userauth_request`, `parse_sshsig_request` in `ssh-agent.c`):
//!
//! - an SSH **user-authentication request** (RFC 4252 §7), what `ssh`
//!   signs to log in: `string session id, byte 50
//!   (SSH_MSG_USERAUTH_REQUEST), string user, string "ssh-connection",
//!   string "publickey", boolean TRUE, string algorithm, string key blob`,
//!   or OpenSSH's `publickey-hostbound-v00@openssh.com` with the server's
//!   host key after the blob; the blob must be the signing key's own;
//! - **SSHSIG** signed data (`ssh-keygen -Y sign`, PROTOCOL.sshsig):
//!   `byte[6] "SSHSIG", string namespace, string reserved, string hash
//!   algorithm ("sha256" or "sha512"), string H(message)` of that
//!   algorithm's length.
//!
//! Anything else is [`RawData::Other`], with what it looks like. No
//! cryptography here: only the layout of the bytes.

use crate::key::{blob_algorithm, ED25519_ALGORITHM, ED25519_CERT_ALGORITHM};
use crate::wire::Reader;

/// `SSH_MSG_USERAUTH_REQUEST`.
const USERAUTH_REQUEST: u8 = 50;

/// The longest session identifier: an exchange hash (SHA-512 at most).
const MAX_SESSION_ID: usize = 64;

/// The longest user name, namespace or reserved field accepted.
const MAX_FIELD: usize = 1024;

/// The longest host key blob in a host-bound request.
const MAX_HOST_KEY: usize = 16 * 1024;

/// What raw data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawData<'a> {
    /// An SSH login with the signing key.
    UserAuth {
        /// The user logging in.
        user: &'a str,
        /// OpenSSH's host-bound variant (the server's host key included).
        host_bound: bool,
    },
    /// SSHSIG signed data.
    Sshsig {
        /// The signature's namespace (`file`, `git`, …).
        namespace: &'a str,
    },
    /// Anything else.
    Other(Unstructured),
}

/// What data that is neither an SSH login nor SSHSIG looks like, for the
/// reason a refusal gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unstructured {
    /// 32 bytes: a digest, such as the SHA-256 of a request body an Encord
    /// v1 signature covers.
    Digest32,
    /// An RFC 9421 signature base, such as Encord v2 signs.
    HttpSignatureBase,
    /// An SSH user-authentication request for another key.
    LoginForAnotherKey,
    /// Bytes of no known structure.
    Arbitrary,
}

impl Unstructured {
    /// A phrase for refusals: "raw signing of {this}".
    pub fn describe(self) -> &'static str {
        match self {
            Unstructured::Digest32 => {
                "a 32-byte value (it could be a request digest: an Encord v1 signature)"
            }
            Unstructured::HttpSignatureBase => "an HTTP signature base (an Encord v2 signature)",
            Unstructured::LoginForAnotherKey => "an SSH login request for another key",
            Unstructured::Arbitrary => "data that is neither an SSH login nor an SSHSIG signature",
        }
    }
}

/// What `data`, to be signed by the key with public key blob `key_blob`,
/// is.
pub fn classify<'a>(data: &'a [u8], key_blob: &[u8]) -> RawData<'a> {
    if let Some(sig) = sshsig(data) {
        return sig;
    }
    match userauth(data, key_blob) {
        Some(Ok(login)) => return login,
        Some(Err(other)) => return RawData::Other(other),
        None => {}
    }
    RawData::Other(if data.len() == 32 {
        Unstructured::Digest32
    } else if data.starts_with(b"\"@") {
        Unstructured::HttpSignatureBase
    } else {
        Unstructured::Arbitrary
    })
}

/// A `string` of at most `max` bytes.
fn bounded<'a>(r: &mut Reader<'a>, max: usize) -> Option<&'a [u8]> {
    let s = r.string("field").ok()?;
    (s.len() <= max).then_some(s)
}

/// A `string` of at most `max` bytes of UTF-8 without NUL (OpenSSH reads
/// these as C strings).
fn text<'a>(r: &mut Reader<'a>, max: usize) -> Option<&'a str> {
    let s = std::str::from_utf8(bounded(r, max)?).ok()?;
    (!s.contains('\0')).then_some(s)
}

fn sshsig(data: &[u8]) -> Option<RawData<'_>> {
    let rest = data.strip_prefix(b"SSHSIG")?;
    let mut r = Reader::new(rest);
    let namespace = text(&mut r, MAX_FIELD).filter(|n| !n.is_empty())?;
    bounded(&mut r, MAX_FIELD)?; // reserved
    let hash_len = match text(&mut r, 16)? {
        "sha256" => 32,
        "sha512" => 64,
        _ => return None,
    };
    let hash = bounded(&mut r, 64)?;
    (hash.len() == hash_len && r.is_empty()).then_some(RawData::Sshsig { namespace })
}

/// `None`: not a user-authentication request; `Some(Err)`: one, but not
/// for this key.
fn userauth<'a>(data: &'a [u8], key_blob: &[u8]) -> Option<Result<RawData<'a>, Unstructured>> {
    let mut r = Reader::new(data);
    let session = bounded(&mut r, MAX_SESSION_ID)?;
    if session.is_empty() || r.u8("type").ok()? != USERAUTH_REQUEST {
        return None;
    }
    let user = text(&mut r, MAX_FIELD)?;
    if text(&mut r, 64)? != "ssh-connection" {
        return None;
    }
    let host_bound = match text(&mut r, 64)? {
        "publickey" => false,
        "publickey-hostbound-v00@openssh.com" => true,
        _ => return None,
    };
    if r.u8("has signature").ok()? != 1 {
        return None;
    }
    let algorithm = text(&mut r, 64)?;
    let blob = bounded(&mut r, MAX_HOST_KEY)?;
    if host_bound && bounded(&mut r, MAX_HOST_KEY).is_none_or(<[u8]>::is_empty) {
        return None;
    }
    if !r.is_empty() {
        return None;
    }
    // The algorithm names the key's type: `ssh-ed25519`, or for a login
    // with a certificate `ssh-ed25519-cert-v01@openssh.com` (OpenSSH
    // compares sshkey_type_from_name with the key's type).
    if blob != key_blob || algorithm != ED25519_ALGORITHM && algorithm != ED25519_CERT_ALGORITHM {
        return Some(Err(Unstructured::LoginForAnotherKey));
    }
    if blob_algorithm(blob) != Some(algorithm) {
        return Some(Err(Unstructured::LoginForAnotherKey));
    }
    Some(Ok(RawData::UserAuth { user, host_bound }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::ed25519_blob;
    use crate::wire::WireWrite as _;

    fn login(key_blob: &[u8], method: &str, extra: Option<&[u8]>) -> Vec<u8> {
        let mut d = Vec::new();
        d.put_string(&[7; 32]);
        d.put_u8(USERAUTH_REQUEST);
        d.put_string(b"git");
        d.put_string(b"ssh-connection");
        d.put_string(method.as_bytes());
        d.put_u8(1);
        d.put_string(
            blob_algorithm(key_blob)
                .unwrap_or(ED25519_ALGORITHM)
                .as_bytes(),
        );
        d.put_string(key_blob);
        if let Some(host) = extra {
            d.put_string(host);
        }
        d
    }

    fn sshsig_data(ns: &str, alg: &str, hash: &[u8]) -> Vec<u8> {
        let mut d = b"SSHSIG".to_vec();
        d.put_string(ns.as_bytes());
        d.put_string(b"");
        d.put_string(alg.as_bytes());
        d.put_string(hash);
        d
    }

    #[test]
    fn logins_for_this_key_only() {
        let blob = ed25519_blob(&[1; 32]);
        let other = ed25519_blob(&[2; 32]);
        assert_eq!(
            classify(&login(&blob, "publickey", None), &blob),
            RawData::UserAuth {
                user: "git",
                host_bound: false
            }
        );
        let host = ed25519_blob(&[9; 32]);
        assert_eq!(
            classify(
                &login(&blob, "publickey-hostbound-v00@openssh.com", Some(&host)),
                &blob
            ),
            RawData::UserAuth {
                user: "git",
                host_bound: true
            }
        );
        assert_eq!(
            classify(&login(&other, "publickey", None), &blob),
            RawData::Other(Unstructured::LoginForAnotherKey)
        );
        // Malformed: another method, no host key, trailing bytes, FALSE.
        for bad in [
            login(&blob, "password", None),
            login(&blob, "publickey-hostbound-v00@openssh.com", None),
            [login(&blob, "publickey", None), vec![0]].concat(),
        ] {
            assert!(
                matches!(classify(&bad, &blob), RawData::Other(_)),
                "{bad:?}"
            );
        }
        let mut no_sig = login(&blob, "publickey", None);
        let at = 4 + 32 + 1 + 4 + 3 + 4 + 14 + 4 + 9;
        no_sig[at] = 0;
        assert!(matches!(classify(&no_sig, &blob), RawData::Other(_)));
    }

    #[test]
    fn a_login_with_a_certificate_is_for_that_certificate_only() {
        let mut cert = Vec::new();
        cert.put_string(ED25519_CERT_ALGORITHM.as_bytes());
        cert.put_string(b"the rest of the certificate");
        let plain = ed25519_blob(&[1; 32]);
        assert_eq!(
            classify(&login(&cert, "publickey", None), &cert),
            RawData::UserAuth {
                user: "git",
                host_bound: false
            }
        );
        // The certificate's login is not the plain key's, nor the reverse.
        assert_eq!(
            classify(&login(&cert, "publickey", None), &plain),
            RawData::Other(Unstructured::LoginForAnotherKey)
        );
        assert_eq!(
            classify(&login(&plain, "publickey", None), &cert),
            RawData::Other(Unstructured::LoginForAnotherKey)
        );
        // The algorithm must name the blob's type.
        let mut wrong_alg = login(&cert, "publickey", None);
        let at = 4 + 32 + 1 + 4 + 3 + 4 + 14 + 4 + 9 + 1;
        wrong_alg.splice(
            at..at + 4 + ED25519_CERT_ALGORITHM.len(),
            [&(11u32).to_be_bytes()[..], b"ssh-ed25519"].concat(),
        );
        assert_eq!(
            classify(&wrong_alg, &cert),
            RawData::Other(Unstructured::LoginForAnotherKey)
        );
    }

    #[test]
    fn sshsig_is_recognised_strictly() {
        let blob = ed25519_blob(&[1; 32]);
        assert_eq!(
            classify(&sshsig_data("file", "sha512", &[0; 64]), &blob),
            RawData::Sshsig { namespace: "file" }
        );
        assert_eq!(
            classify(&sshsig_data("git", "sha256", &[0; 32]), &blob),
            RawData::Sshsig { namespace: "git" }
        );
        for bad in [
            sshsig_data("", "sha512", &[0; 64]),
            sshsig_data("file", "sha512", &[0; 32]),
            sshsig_data("file", "md5", &[0; 16]),
            [sshsig_data("file", "sha256", &[0; 32]), vec![1]].concat(),
        ] {
            assert!(
                matches!(classify(&bad, &blob), RawData::Other(_)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn everything_else_says_what_it_looks_like() {
        let blob = ed25519_blob(&[1; 32]);
        assert_eq!(
            classify(&[0xab; 32], &blob),
            RawData::Other(Unstructured::Digest32)
        );
        assert_eq!(
            classify(b"\"@method\": DELETE\n\"@request-target\": /x", &blob),
            RawData::Other(Unstructured::HttpSignatureBase)
        );
        assert_eq!(
            classify(&[0; 1024], &blob),
            RawData::Other(Unstructured::Arbitrary)
        );
        assert_eq!(
            classify(b"", &blob),
            RawData::Other(Unstructured::Arbitrary)
        );
        // A huge declared length is bounded, not trusted.
        assert_eq!(
            classify(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3], &blob),
            RawData::Other(Unstructured::Arbitrary)
        );
    }
}
