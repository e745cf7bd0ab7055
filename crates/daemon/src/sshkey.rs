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
    let (cert, forever) = read_certificate(blob)?;
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
    let valid_before = if forever {
        u64::MAX
    } else {
        cert.valid_before()
    };
    if cert.valid_after() >= valid_before {
        return Err(CertError::NeverValid {
            after: cert.valid_after(),
            before: valid_before,
        });
    }
    // The authority's signature over the certificate as sent (not a trust
    // decision, which is the server's: OpenSSH's consistency check).
    verify_ca_signature(&cert, blob).map_err(|()| CertError::BadSignature {
        ca: ca.clone(),
        algorithm: cert.signature().algorithm().to_string(),
    })?;
    if now >= valid_before {
        return Err(CertError::Expired {
            before: valid_before,
            now,
        });
    }
    Ok(CertInfo {
        certified,
        key_id: cert.key_id().to_owned(),
        host: cert.cert_type() == CertType::Host,
        principals: cert.valid_principals().to_vec(),
        valid_after: cert.valid_after(),
        valid_before,
        ca_fingerprint: ca,
    })
}

/// OpenSSH's "forever" in `valid before`, and the largest value ssh-key
/// 0.6 reads there.
const FOREVER: u64 = u64::MAX;
const SSH_KEY_MAX_TIME: u64 = i64::MAX as u64;

/// Reads a certificate with ssh-key; true when it is valid forever.
///
/// ssh-key 0.6 refuses a `valid before` of 2^64-1, OpenSSH's "forever"
/// (what `ssh-keygen -s` writes without `-V`): RustCrypto/SSH#503, fixed
/// after the 0.6 series. Such a certificate is read from a copy with
/// i64::MAX there; its authority's signature is then checked over the
/// bytes as sent ([`verify_ca_signature`]), never over the copy. Only the
/// offset of that one field is found here (with signet's wire reader);
/// ssh-key reads everything.
fn read_certificate(blob: &[u8]) -> Result<(Certificate, bool), CertError> {
    let first = match Certificate::from_bytes(blob) {
        Ok(cert) => return Ok((cert, false)),
        Err(e) => CertError::Malformed(e.to_string()),
    };
    let Some(at) = valid_before_offset(blob) else {
        return Err(first);
    };
    if blob[at..at + 8] != FOREVER.to_be_bytes() {
        return Err(first);
    }
    let mut copy = blob.to_vec();
    copy[at..at + 8].copy_from_slice(&SSH_KEY_MAX_TIME.to_be_bytes());
    let cert = Certificate::from_bytes(&copy).map_err(|e| CertError::Malformed(e.to_string()))?;
    Ok((cert, true))
}

/// The offset of `valid before` in an `ssh-ed25519-cert-v01@openssh.com`
/// blob (PROTOCOL.certkeys: type, nonce, pk, serial, type, key id,
/// principals, valid after, valid before).
fn valid_before_offset(blob: &[u8]) -> Option<usize> {
    let mut r = signet_proto::wire::Reader::new(blob);
    let algorithm = r.string("type").ok()?;
    if algorithm != signet_proto::key::ED25519_CERT_ALGORITHM.as_bytes() {
        return None;
    }
    r.string("nonce").ok()?;
    r.string("pk").ok()?;
    r.u64("serial").ok()?;
    r.u32("cert type").ok()?;
    r.string("key id").ok()?;
    r.string("principals").ok()?;
    r.u64("valid after").ok()?;
    let at = blob.len() - r.remaining();
    (r.remaining() >= 8).then_some(at)
}

/// Checks the authority's signature over `blob` as sent: everything before
/// its last field, the signature (ssh-key's own check re-encodes the
/// certificate it read, which for a "forever" one is the copy).
fn verify_ca_signature(cert: &Certificate, blob: &[u8]) -> Result<(), ()> {
    use signature::Verifier as _;
    let sig = Vec::<u8>::try_from(cert.signature().clone()).map_err(|_| ())?;
    let sig_len = u32::try_from(sig.len()).map_err(|_| ())?;
    let signed_len = blob.len().checked_sub(4 + sig.len()).ok_or(())?;
    if blob[signed_len..signed_len + 4] != sig_len.to_be_bytes()
        || blob[signed_len + 4..] != sig[..]
    {
        return Err(());
    }
    cert.signature_key()
        .verify(&blob[..signed_len], cert.signature())
        .map_err(|_| ())
}

fn fingerprint_of_ed25519(public: &[u8; 32]) -> String {
    signet_proto::key::fingerprint(&signet_proto::key::ed25519_blob(public))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate like `ssh-keygen -s ca -I forever -n alice key.pub`
    /// writes without `-V`, for the key with seed [7; 32] by the CA with
    /// seed [9; 32]: built with ssh-key's builder valid until i64::MAX and
    /// signed, then (`forever`) given OpenSSH's 2^64-1 and signed again
    /// over that by hand.
    fn certificate(forever: bool) -> (Vec<u8>, [u8; 32]) {
        use signature::Signer as _;
        use ssh_key::private::Ed25519Keypair;
        let ca_pair = Ed25519Keypair::from_seed(&[9; 32]);
        let ca = ssh_key::PrivateKey::from(ca_pair.clone());
        let user = Ed25519Keypair::from_seed(&[7; 32]);
        let mut b = ssh_key::certificate::Builder::new(
            [1; 16],
            KeyData::Ed25519(user.public),
            0,
            SSH_KEY_MAX_TIME,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        b.key_id("forever").unwrap_or_else(|e| panic!("{e}"));
        b.valid_principal("alice").unwrap_or_else(|e| panic!("{e}"));
        let cert = b.sign(&ca).unwrap_or_else(|e| panic!("{e}"));
        let mut blob = cert.to_bytes().unwrap_or_else(|e| panic!("{e}"));
        let at = valid_before_offset(&blob).unwrap_or_else(|| panic!("no offset"));
        assert_eq!(blob[at..at + 8], SSH_KEY_MAX_TIME.to_be_bytes());
        if forever {
            blob[at..at + 8].copy_from_slice(&FOREVER.to_be_bytes());
            // Re-sign what is now there, as ssh-keygen would have.
            let sig = Vec::<u8>::try_from(cert.signature().clone()).unwrap_or_default();
            let signed_len = blob.len() - 4 - sig.len();
            let new_sig: ssh_key::Signature = ca_pair
                .try_sign(&blob[..signed_len])
                .unwrap_or_else(|e| panic!("{e}"));
            let new_sig = Vec::<u8>::try_from(new_sig).unwrap_or_default();
            blob.truncate(signed_len);
            blob.extend_from_slice(&(new_sig.len() as u32).to_be_bytes());
            blob.extend_from_slice(&new_sig);
        }
        (blob, user.public.0)
    }

    #[test]
    fn a_certificate_valid_forever_is_read_and_its_signature_checked() {
        let (blob, public) = certificate(true);
        let info = certificate_of(&blob, &public, 1_800_000_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.valid_before, u64::MAX);
        assert!(info.valid_at(u64::MAX - 1));
        assert_eq!(info.principals, vec!["alice".to_owned()]);
        // The copy ssh-key reads says i64::MAX: a certificate signed over
        // that but sent with 2^64-1 is refused, its signature checked over
        // what was sent.
        let (mut signed_short, _) = certificate(false);
        let at = valid_before_offset(&signed_short).unwrap_or_default();
        signed_short[at..at + 8].copy_from_slice(&FOREVER.to_be_bytes());
        assert!(matches!(
            certificate_of(&signed_short, &public, 1_800_000_000),
            Err(CertError::BadSignature { .. })
        ));
        // The i64::MAX one as signed is fine; another key's is not.
        let (plain, _) = certificate(false);
        assert!(certificate_of(&plain, &public, 0).is_ok());
        assert!(matches!(
            certificate_of(&blob, &[1; 32], 0),
            Err(CertError::OtherKey { .. })
        ));
    }

    #[test]
    fn garbage_is_no_certificate() {
        assert!(matches!(
            certificate_of(b"nonsense", &[0; 32], 0),
            Err(CertError::Malformed(_))
        ));
    }
}
