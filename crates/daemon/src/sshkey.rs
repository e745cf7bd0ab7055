//! Layer 0: other parties' OpenSSH public keys, read with `ssh-key` (no
//! parser by hand): the certificates users add with their keys
//! (`ssh-ed25519-cert-v01@openssh.com`, PROTOCOL.certkeys) and the host keys
//! `ssh` binds a connection to (`session-bind@openssh.com`, PROTOCOL.agent),
//! each with the signature on it checked, as OpenSSH checks one whenever it
//! reads a certificate (`cert_parse`) or a binding (`sshkey_verify`).
//!
//! **Owns**: parsing those keys, checking their signatures, OpenSSH's
//! `match_pattern` and its host-certificate check (`sshkey_cert_check_host`).
//! **Must not**: hold a private key, decide what a key may be used for (the
//! gate decides, with `destination`), or import anything from the crate.
//!
//! Signatures by Ed25519, ECDSA (P-256, P-384, P-521) and RSA (SHA-2) keys
//! verify: a certificate authority or a host may use any of them, although
//! signet holds only Ed25519 keys of its own. SHA-1 RSA (`ssh-rsa`)
//! signatures, DSA and FIDO authorities do not, and what they sign is
//! refused (OpenSSH refuses `ssh-rsa` CA signatures by default since 8.2).

use ssh_key::certificate::CertType;
use ssh_key::public::KeyData;
use ssh_key::{Certificate, HashAlg};

/// An OpenSSH certificate of an Ed25519 key, as the agent keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The Ed25519 public key it certifies.
    pub certified: [u8; 32],
    /// Its key id (`ssh-keygen -I`).
    pub key_id: String,
    /// A host certificate (`ssh-keygen -h`) rather than a user certificate.
    pub host: bool,
    /// Its principals; empty: any.
    pub principals: Vec<String>,
    /// Valid from this Unix time.
    pub valid_after: u64,
    /// Valid until before this Unix time (`u64::MAX`: forever).
    pub valid_before: u64,
    /// The `SHA256:` fingerprint of the authority that signed it.
    pub ca_fingerprint: String,
}

impl CertInfo {
    /// Whether it is valid at Unix time `now`, as PROTOCOL.certkeys says:
    /// `valid after <= now < valid before`.
    pub fn valid_at(&self, now: u64) -> bool {
        self.valid_after <= now && now < self.valid_before
    }
}

/// Why a certificate was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertError {
    /// Not a well-formed certificate.
    #[error("the certificate cannot be read: {0}")]
    Malformed(String),
    /// It certifies a key other than an Ed25519 one.
    #[error("the certificate is of a {0} key; signet holds Ed25519 keys only")]
    NotEd25519(String),
    /// It certifies another key than the one sent with it.
    #[error("the certificate is for another key ({certified}) than the private key sent with it ({sent})")]
    OtherKey {
        /// The certified key's fingerprint.
        certified: String,
        /// The sent key's fingerprint.
        sent: String,
    },
    /// Its authority's signature does not verify (or is of a kind that
    /// cannot be verified here).
    #[error("the certificate's signature by its authority ({ca}, {algorithm}) does not verify")]
    BadSignature {
        /// The authority's fingerprint.
        ca: String,
        /// The signature's algorithm.
        algorithm: String,
    },
    /// `valid after` is not before `valid before`: never valid.
    #[error(
        "the certificate is never valid (valid after {after} is not before valid before {before})"
    )]
    NeverValid {
        /// Valid after.
        after: u64,
        /// Valid before.
        before: u64,
    },
    /// Its validity ended before `now`.
    #[error("the certificate expired at {before} (Unix time; it is {now} now): ask your certificate authority for a new one")]
    Expired {
        /// Valid before.
        before: u64,
        /// Now.
        now: u64,
    },
}

/// Reads a certificate blob sent with the Ed25519 key `public`, checks that
/// it certifies that key, that its authority's signature verifies and that
/// it has not expired at Unix time `now` (one not yet valid is accepted:
/// the server judges, by its own clock).
pub fn certificate_of(blob: &[u8], public: &[u8; 32], now: u64) -> Result<CertInfo, CertError> {
    let cert = Certificate::from_bytes(blob).map_err(|e| CertError::Malformed(e.to_string()))?;
    let certified = match cert.public_key() {
        KeyData::Ed25519(k) => k.0,
        other => return Err(CertError::NotEd25519(other.algorithm().to_string())),
    };
    if certified != *public {
        return Err(CertError::OtherKey {
            certified: fingerprint_of_ed25519(&certified),
            sent: fingerprint_of_ed25519(public),
        });
    }
    let ca = cert
        .signature_key()
        .fingerprint(HashAlg::Sha256)
        .to_string();
    if cert.valid_after() >= cert.valid_before() {
        return Err(CertError::NeverValid {
            after: cert.valid_after(),
            before: cert.valid_before(),
        });
    }
    // `validate_at` checks the signature against the authority's key, that
    // the authority is one of those given (here: its own, since this is
    // not a trust decision, only OpenSSH's consistency check) and the time
    // (here: the start of its window, which holds since the window is not
    // empty).
    let own_ca = cert.signature_key().fingerprint(HashAlg::Sha256);
    cert.validate_at(cert.valid_after(), [&own_ca])
        .map_err(|_| CertError::BadSignature {
            ca: ca.clone(),
            algorithm: cert.signature().algorithm().to_string(),
        })?;
    if now >= cert.valid_before() {
        return Err(CertError::Expired {
            before: cert.valid_before(),
            now,
        });
    }
    Ok(CertInfo {
        certified,
        key_id: cert.key_id().to_owned(),
        host: cert.cert_type() == CertType::Host,
        principals: cert.valid_principals().to_vec(),
        valid_after: cert.valid_after(),
        valid_before: cert.valid_before(),
        ca_fingerprint: ca,
    })
}

fn fingerprint_of_ed25519(public: &[u8; 32]) -> String {
    signet_proto::key::fingerprint(&signet_proto::key::ed25519_blob(public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_no_certificate() {
        assert!(matches!(
            certificate_of(b"nonsense", &[0; 32], 0),
            Err(CertError::Malformed(_))
        ));
    }
}
