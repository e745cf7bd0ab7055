//! SSH agent protocol messages (RFC 9987 §3–§6) as plain types.
//!
//! [`Request`] is what a client sends and the daemon decodes; [`Response`] is
//! what the daemon sends and a client decodes. Both directions are implemented
//! here so that the client and the daemon share one definition and the
//! round-trip property tests cover both.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Field, Result};
use crate::frame;
use crate::key::{ED25519_ALGORITHM, ED25519_CERT_ALGORITHM};
use crate::wire::{Reader, WireWrite};

/// Message type numbers (RFC 9987 §6.1).
pub mod msg {
    /// Generic failure reply.
    pub const FAILURE: u8 = 5;
    /// Generic success reply.
    pub const SUCCESS: u8 = 6;
    /// List the identities the agent holds.
    pub const REQUEST_IDENTITIES: u8 = 11;
    /// Reply to [`REQUEST_IDENTITIES`].
    pub const IDENTITIES_ANSWER: u8 = 12;
    /// Sign data with a key.
    pub const SIGN_REQUEST: u8 = 13;
    /// Reply to [`SIGN_REQUEST`].
    pub const SIGN_RESPONSE: u8 = 14;
    /// Add a private key.
    pub const ADD_IDENTITY: u8 = 17;
    /// Remove one key.
    pub const REMOVE_IDENTITY: u8 = 18;
    /// Remove every key.
    pub const REMOVE_ALL_IDENTITIES: u8 = 19;
    /// Add a smartcard key (not supported by signet).
    pub const ADD_SMARTCARD_KEY: u8 = 20;
    /// Remove a smartcard key (not supported by signet).
    pub const REMOVE_SMARTCARD_KEY: u8 = 21;
    /// Lock the agent with a passphrase.
    pub const LOCK: u8 = 22;
    /// Unlock the agent.
    pub const UNLOCK: u8 = 23;
    /// Add a private key with constraints.
    pub const ADD_ID_CONSTRAINED: u8 = 25;
    /// Add a smartcard key with constraints (not supported by signet).
    pub const ADD_SMARTCARD_KEY_CONSTRAINED: u8 = 26;
    /// A named extension request.
    pub const EXTENSION: u8 = 27;
    /// An extension failed (signet appends a code and a reason).
    pub const EXTENSION_FAILURE: u8 = 28;
    /// An extension's reply.
    pub const EXTENSION_RESPONSE: u8 = 29;
}

/// Key constraint types (RFC 9987 §3.2.7).
pub mod constraint {
    /// Remove the key after a number of seconds.
    pub const LIFETIME: u8 = 1;
    /// Ask the user before each use of the key.
    pub const CONFIRM: u8 = 2;
    /// A named constraint extension.
    pub const EXTENSION: u8 = 255;
}

/// An Ed25519 secret seed (the 32-byte private scalar seed). Zeroized on drop;
/// its `Debug` never prints the bytes.
///
/// The bytes live in one heap allocation of their own, so that moving a
/// seed (into a decoded request, a task, a closure) moves a pointer and
/// leaves no copy of the secret behind in the place it moved from; the
/// allocation is wiped when the seed is dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Ed25519Seed(Box<[u8; 32]>);

impl Ed25519Seed {
    /// Wraps seed bytes. The caller should zeroize its own copy.
    pub fn new(bytes: [u8; 32]) -> Self {
        let mut seed = Self::zeroed();
        seed.0.copy_from_slice(&bytes);
        seed
    }

    /// A seed copied straight from `bytes` into its own allocation (no
    /// intermediate array); `None` unless `bytes` is 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 32 {
            return None;
        }
        let mut seed = Self::zeroed();
        seed.0.copy_from_slice(bytes);
        Some(seed)
    }

    /// An all-zero seed, to be filled in place ([`Ed25519Seed::expose_mut`]).
    pub fn zeroed() -> Self {
        Self(Box::new([0u8; 32]))
    }

    /// The secret bytes, for the one place that turns them into a signing key.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// The secret bytes, to be written in place (a random seed, a decryption).
    pub fn expose_mut(&mut self) -> &mut [u8; 32] {
        &mut self.0
    }
}

impl fmt::Debug for Ed25519Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519Seed([redacted])")
    }
}

/// A lock passphrase. Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    /// Wraps passphrase bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([redacted])")
    }
}

/// The private key carried by an `ADD_IDENTITY` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewKey {
    /// An Ed25519 key: the public key and the secret seed.
    Ed25519 {
        /// `ENC(A)`, the 32-byte public key as sent.
        public: [u8; 32],
        /// The secret seed `k`.
        seed: Ed25519Seed,
    },
    /// An Ed25519 key with an OpenSSH certificate
    /// (`ssh-ed25519-cert-v01@openssh.com`): the certificate blob, the public
    /// key and the secret seed. The certificate is carried as sent; the
    /// daemon parses it (with `ssh-key`) and checks that it certifies
    /// `public`.
    Ed25519Cert {
        /// The certificate, as an SSH public key blob (its type name first).
        certificate: Vec<u8>,
        /// `ENC(A)`, the 32-byte public key as sent.
        public: [u8; 32],
        /// The secret seed `k`.
        seed: Ed25519Seed,
    },
    /// Any other key type. Its fields are not parsed (signet refuses it), so any
    /// constraints after them are unknown too.
    Unsupported {
        /// The key type name as sent (e.g. `ssh-rsa`).
        algorithm: String,
    },
}

/// A key constraint (RFC 9987 §3.2.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// Remove the key after this many seconds.
    Lifetime(u32),
    /// Confirm every use of the key with the user.
    Confirm,
    /// A named extension constraint, with its raw details. signet supports none
    /// yet and refuses every one, as RFC 9987 requires for unknown constraints.
    Extension {
        /// The extension name.
        name: String,
        /// The rest of the message (extension constraints carry no length).
        details: Vec<u8>,
    },
}

/// `SSH_AGENTC_ADD_IDENTITY` or `SSH_AGENTC_ADD_ID_CONSTRAINED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddIdentity {
    /// The key.
    pub key: NewKey,
    /// The key's comment, which signet uses as its name.
    pub comment: String,
    /// Constraints (empty for plain `ADD_IDENTITY`).
    pub constraints: Vec<Constraint>,
}

/// `SSH_AGENTC_SIGN_REQUEST`, borrowing from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignRequest<'a> {
    /// The public key blob of the key to sign with.
    pub key_blob: &'a [u8],
    /// The data to sign.
    pub data: &'a [u8],
    /// Signature flags (only meaningful for RSA; ignored for Ed25519).
    pub flags: u32,
}

/// `SSH_AGENTC_ADD_SMARTCARD_KEY` (and `_CONSTRAINED`) or
/// `SSH_AGENTC_REMOVE_SMARTCARD_KEY`, as OpenSSH's `ssh-add -s`/`-e` send
/// them: the PKCS#11 provider's path and the PIN. signet never loads a
/// provider a client names; the daemon may use the PIN for the token it is
/// configured with. **Carries a secret** (the PIN; its `Debug` is redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartcardRequest {
    /// Which of the three messages.
    pub msg_type: u8,
    /// The provider (module) path the client named.
    pub provider: String,
    /// The PIN.
    pub pin: Passphrase,
}

impl SmartcardRequest {
    /// Decodes one of the three smartcard messages (`body` starts with its
    /// type byte); `None` for any other type. The constrained form's
    /// constraints are not read: signet adds no smartcard key.
    pub fn decode(body: &[u8]) -> Option<Result<Self>> {
        let msg_type = *body.first()?;
        if !matches!(
            msg_type,
            msg::ADD_SMARTCARD_KEY | msg::ADD_SMARTCARD_KEY_CONSTRAINED | msg::REMOVE_SMARTCARD_KEY
        ) {
            return None;
        }
        let mut r = Reader::new(&body[1..]);
        Some((|| {
            let provider = String::from_utf8_lossy(r.string("provider")?).into_owned();
            let pin = Passphrase::new(r.string("pin")?.to_vec());
            Ok(Self {
                msg_type,
                provider,
                pin,
            })
        })())
    }
}

/// A message from a client to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// `SSH_AGENTC_REQUEST_IDENTITIES`.
    RequestIdentities,
    /// `SSH_AGENTC_SIGN_REQUEST`.
    Sign(SignRequest<'a>),
    /// `SSH_AGENTC_ADD_IDENTITY` / `SSH_AGENTC_ADD_ID_CONSTRAINED`.
    AddIdentity(AddIdentity),
    /// `SSH_AGENTC_REMOVE_IDENTITY`.
    RemoveIdentity {
        /// The public key blob of the key to remove.
        key_blob: &'a [u8],
    },
    /// `SSH_AGENTC_REMOVE_ALL_IDENTITIES`.
    RemoveAllIdentities,
    /// `SSH_AGENTC_LOCK`.
    Lock(Passphrase),
    /// `SSH_AGENTC_UNLOCK`.
    Unlock(Passphrase),
    /// `SSH_AGENTC_EXTENSION`: a name and the extension's own bytes.
    Extension {
        /// The extension name, e.g. `query` or `sign-request@signet`.
        name: &'a str,
        /// Everything after the name (OpenSSH puts it there without a wrapper).
        contents: &'a [u8],
    },
    /// A message type signet does not implement (smartcard keys, SSH1, unknown).
    Unsupported {
        /// The message type number.
        msg_type: u8,
    },
}

impl<'a> Request<'a> {
    /// Decodes a message body (the frame without its length prefix).
    pub fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let msg_type = r.u8("message type")?;
        let req = match msg_type {
            msg::REQUEST_IDENTITIES => Request::RequestIdentities,
            msg::SIGN_REQUEST => Request::Sign(SignRequest {
                key_blob: r.string("key blob")?,
                data: r.string("data")?,
                flags: r.u32("flags")?,
            }),
            msg::ADD_IDENTITY | msg::ADD_ID_CONSTRAINED => {
                let add = decode_add_identity(&mut r, msg_type == msg::ADD_ID_CONSTRAINED)?;
                return Ok(Request::AddIdentity(add));
            }
            msg::REMOVE_IDENTITY => Request::RemoveIdentity {
                key_blob: r.string("key blob")?,
            },
            msg::REMOVE_ALL_IDENTITIES => Request::RemoveAllIdentities,
            msg::LOCK => Request::Lock(Passphrase::new(r.string("passphrase")?.to_vec())),
            msg::UNLOCK => Request::Unlock(Passphrase::new(r.string("passphrase")?.to_vec())),
            msg::EXTENSION => Request::Extension {
                name: r.utf8("extension name")?,
                contents: r.rest(),
            },
            other => {
                // Unsupported messages are answered, not parsed: skip their body.
                r.rest();
                Request::Unsupported { msg_type: other }
            }
        };
        r.finish()?;
        Ok(req)
    }

    /// Appends this request as a complete frame (length prefix included).
    pub fn encode_frame(&self, out: &mut Vec<u8>) {
        let start = frame::begin(out);
        self.encode_body(out);
        frame::end(out, start);
    }

    /// Appends the message body (no length prefix).
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Request::RequestIdentities => out.put_u8(msg::REQUEST_IDENTITIES),
            Request::Sign(s) => {
                out.put_u8(msg::SIGN_REQUEST);
                out.put_string(s.key_blob);
                out.put_string(s.data);
                out.put_u32(s.flags);
            }
            Request::AddIdentity(add) => encode_add_identity(add, out),
            Request::RemoveIdentity { key_blob } => {
                out.put_u8(msg::REMOVE_IDENTITY);
                out.put_string(key_blob);
            }
            Request::RemoveAllIdentities => out.put_u8(msg::REMOVE_ALL_IDENTITIES),
            Request::Lock(p) => {
                out.put_u8(msg::LOCK);
                out.put_string(p.expose());
            }
            Request::Unlock(p) => {
                out.put_u8(msg::UNLOCK);
                out.put_string(p.expose());
            }
            Request::Extension { name, contents } => {
                out.put_u8(msg::EXTENSION);
                out.put_string(name.as_bytes());
                out.put_raw(contents);
            }
            Request::Unsupported { msg_type } => out.put_u8(*msg_type),
        }
    }

    /// True for messages that carry secret bytes (keys, passphrases), whose
    /// frame buffer must be wiped after use.
    ///
    /// Every `EXTENSION` frame counts: `import@signet` carries a private key,
    /// and wiping all extension frames (a few hundred bytes at most on the
    /// hot path) is simpler and safer than matching names before decoding.
    /// OpenSSH's smartcard messages (`ssh-add -s`/`-e`) carry a PIN.
    pub fn carries_secret(msg_type: u8) -> bool {
        matches!(
            msg_type,
            msg::ADD_IDENTITY
                | msg::ADD_ID_CONSTRAINED
                | msg::LOCK
                | msg::UNLOCK
                | msg::EXTENSION
                | msg::ADD_SMARTCARD_KEY
                | msg::ADD_SMARTCARD_KEY_CONSTRAINED
                | msg::REMOVE_SMARTCARD_KEY
        )
    }
}

fn decode_add_identity(r: &mut Reader<'_>, constrained: bool) -> Result<AddIdentity> {
    let algorithm = r.utf8("key type")?;
    // A certified key starts with its certificate, then the key's own
    // fields (OpenSSH's sshkey_private_deserialize).
    let certificate = if algorithm == ED25519_CERT_ALGORITHM {
        let cert = r.string("certificate")?;
        if crate::key::blob_algorithm(cert) != Some(ED25519_CERT_ALGORITHM) {
            return Err(Error::Invalid {
                field: Field("certificate"),
                reason: "not an ssh-ed25519-cert-v01@openssh.com certificate",
            });
        }
        Some(cert.to_vec())
    } else {
        None
    };
    if algorithm != ED25519_ALGORITHM && certificate.is_none() {
        // Other key types are refused by the daemon; their fields are not parsed.
        r.rest();
        return Ok(AddIdentity {
            key: NewKey::Unsupported {
                algorithm: algorithm.to_owned(),
            },
            comment: String::new(),
            constraints: Vec::new(),
        });
    }
    let public: [u8; 32] = r.fixed("ed25519 public key")?;
    // ENC(k) || ENC(A): 64 bytes. Copy the seed straight into its zeroizing home.
    let secret = r.string("ed25519 private key")?;
    if secret.len() != 64 {
        return Err(Error::Invalid {
            field: Field("ed25519 private key"),
            reason: "must be 64 bytes (seed and public key)",
        });
    }
    if secret[32..] != public {
        return Err(Error::Invalid {
            field: Field("ed25519 private key"),
            reason: "its public half does not match the public key",
        });
    }
    let seed = Ed25519Seed::from_slice(&secret[..32]).ok_or(Error::Invalid {
        field: Field("ed25519 private key"),
        reason: "must be 64 bytes (seed and public key)",
    })?;
    let comment = r.utf8("comment")?.to_owned();
    let mut constraints = Vec::new();
    if constrained {
        while !r.is_empty() {
            constraints.push(decode_constraint(r)?);
        }
    }
    r.finish()?;
    let key = match certificate {
        Some(certificate) => NewKey::Ed25519Cert {
            certificate,
            public,
            seed,
        },
        None => NewKey::Ed25519 { public, seed },
    };
    Ok(AddIdentity {
        key,
        comment,
        constraints,
    })
}

fn decode_constraint(r: &mut Reader<'_>) -> Result<Constraint> {
    match r.u8("constraint type")? {
        constraint::LIFETIME => Ok(Constraint::Lifetime(r.u32("lifetime")?)),
        constraint::CONFIRM => Ok(Constraint::Confirm),
        constraint::EXTENSION => Ok(Constraint::Extension {
            name: r.utf8("constraint extension name")?.to_owned(),
            details: r.rest().to_vec(),
        }),
        _ => Err(Error::Invalid {
            field: Field("constraint type"),
            reason: "unknown constraint",
        }),
    }
}

fn encode_add_identity(add: &AddIdentity, out: &mut Vec<u8>) {
    let constrained = !add.constraints.is_empty();
    out.put_u8(if constrained {
        msg::ADD_ID_CONSTRAINED
    } else {
        msg::ADD_IDENTITY
    });
    match &add.key {
        NewKey::Ed25519 { public, seed } => {
            out.put_string(ED25519_ALGORITHM.as_bytes());
            put_ed25519_private(out, public, seed);
        }
        NewKey::Ed25519Cert {
            certificate,
            public,
            seed,
        } => {
            out.put_string(ED25519_CERT_ALGORITHM.as_bytes());
            out.put_string(certificate);
            put_ed25519_private(out, public, seed);
        }
        NewKey::Unsupported { algorithm } => out.put_string(algorithm.as_bytes()),
    }
    out.put_string(add.comment.as_bytes());
    for c in &add.constraints {
        match c {
            Constraint::Lifetime(secs) => {
                out.put_u8(constraint::LIFETIME);
                out.put_u32(*secs);
            }
            Constraint::Confirm => out.put_u8(constraint::CONFIRM),
            Constraint::Extension { name, details } => {
                out.put_u8(constraint::EXTENSION);
                out.put_string(name.as_bytes());
                out.put_raw(details);
            }
        }
    }
}

/// `string ENC(A), string k || ENC(A)`.
fn put_ed25519_private(out: &mut Vec<u8>, public: &[u8; 32], seed: &Ed25519Seed) {
    out.put_string(public);
    out.put_u32(64);
    out.put_raw(seed.expose());
    out.put_raw(public);
}

/// One identity in an `IDENTITIES_ANSWER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The public key blob (RFC 4253 §6.6 encoding).
    pub key_blob: Vec<u8>,
    /// The comment (signet: the key's name).
    pub comment: String,
}

/// A message from the agent to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `SSH_AGENT_SUCCESS`.
    Success,
    /// `SSH_AGENT_FAILURE`.
    Failure,
    /// `SSH_AGENT_IDENTITIES_ANSWER`.
    Identities(Vec<Identity>),
    /// `SSH_AGENT_SIGN_RESPONSE`: the signature blob (algorithm name and bytes).
    Signature(Vec<u8>),
    /// `SSH_AGENT_EXTENSION_RESPONSE`: the extension's name and its reply bytes.
    ExtensionResponse {
        /// The extension that answered.
        name: String,
        /// Its reply.
        contents: Vec<u8>,
    },
    /// `SSH_AGENT_EXTENSION_FAILURE`, with the bytes that follow (signet puts
    /// an error code and a reason there; see [`crate::extension::ExtensionError`]).
    ExtensionFailure(Vec<u8>),
}

impl Response {
    /// Decodes a reply body.
    pub fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let resp = match r.u8("message type")? {
            msg::SUCCESS => Response::Success,
            msg::FAILURE => Response::Failure,
            msg::IDENTITIES_ANSWER => {
                let n = r.u32("identity count")? as usize;
                // Each identity needs at least 8 bytes; never trust n for capacity.
                let mut ids = Vec::with_capacity(n.min(r.remaining() / 8));
                for _ in 0..n {
                    ids.push(Identity {
                        key_blob: r.string("key blob")?.to_vec(),
                        comment: String::from_utf8_lossy(r.string("comment")?).into_owned(),
                    });
                }
                Response::Identities(ids)
            }
            msg::SIGN_RESPONSE => Response::Signature(r.string("signature")?.to_vec()),
            msg::EXTENSION_RESPONSE => Response::ExtensionResponse {
                name: r.utf8("extension name")?.to_owned(),
                contents: r.rest().to_vec(),
            },
            msg::EXTENSION_FAILURE => Response::ExtensionFailure(r.rest().to_vec()),
            other => return Err(Error::UnexpectedReply(other)),
        };
        r.finish()?;
        Ok(resp)
    }

    /// Appends this reply as a complete frame.
    pub fn encode_frame(&self, out: &mut Vec<u8>) {
        let start = frame::begin(out);
        match self {
            Response::Success => out.put_u8(msg::SUCCESS),
            Response::Failure => out.put_u8(msg::FAILURE),
            Response::Identities(ids) => {
                out.put_u8(msg::IDENTITIES_ANSWER);
                out.put_u32(u32::try_from(ids.len()).unwrap_or(u32::MAX));
                for id in ids {
                    out.put_string(&id.key_blob);
                    out.put_string(id.comment.as_bytes());
                }
            }
            Response::Signature(sig) => {
                out.put_u8(msg::SIGN_RESPONSE);
                out.put_string(sig);
            }
            Response::ExtensionResponse { name, contents } => {
                out.put_u8(msg::EXTENSION_RESPONSE);
                out.put_string(name.as_bytes());
                out.put_raw(contents);
            }
            Response::ExtensionFailure(contents) => {
                out.put_u8(msg::EXTENSION_FAILURE);
                out.put_raw(contents);
            }
        }
        frame::end(out, start);
    }
}

/// Appends a complete `SSH_AGENT_SIGN_RESPONSE` frame for an Ed25519 signature
/// without building a [`Response`]: the daemon's hot path.
pub fn encode_ed25519_sign_response(out: &mut Vec<u8>, signature: &[u8; 64]) {
    let start = frame::begin(out);
    out.put_u8(msg::SIGN_RESPONSE);
    // string signature = string "ssh-ed25519" || string sig
    out.put_u32((4 + ED25519_ALGORITHM.len() + 4 + 64) as u32);
    out.put_string(ED25519_ALGORITHM.as_bytes());
    out.put_string(signature);
    frame::end(out, start);
}

/// Appends a complete one-byte reply frame (`SUCCESS` or `FAILURE`).
pub fn encode_status(out: &mut Vec<u8>, success: bool) {
    out.extend_from_slice(&[
        0,
        0,
        0,
        1,
        if success { msg::SUCCESS } else { msg::FAILURE },
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_body(req: &Request<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        req.encode_body(&mut out);
        out
    }

    #[test]
    fn add_identity_round_trip_with_constraints() {
        let add = Request::AddIdentity(AddIdentity {
            key: NewKey::Ed25519 {
                public: [7; 32],
                seed: Ed25519Seed::new([9; 32]),
            },
            comment: "ci-bot".into(),
            constraints: vec![Constraint::Lifetime(60), Constraint::Confirm],
        });
        let body = frame_body(&add);
        assert_eq!(body[0], msg::ADD_ID_CONSTRAINED);
        assert_eq!(Request::decode(&body), Ok(add));
    }

    #[test]
    fn unknown_constraint_is_an_error_not_dropped() {
        let add = Request::AddIdentity(AddIdentity {
            key: NewKey::Ed25519 {
                public: [7; 32],
                seed: Ed25519Seed::new([9; 32]),
            },
            comment: String::new(),
            constraints: vec![Constraint::Confirm],
        });
        let mut body = frame_body(&add);
        let last = body.len() - 1;
        body[last] = 42; // not a defined constraint type
        assert!(matches!(
            Request::decode(&body),
            Err(Error::Invalid {
                reason: "unknown constraint",
                ..
            })
        ));
    }

    #[test]
    fn mismatched_public_half_is_refused() {
        let mut body = Vec::new();
        body.put_u8(msg::ADD_IDENTITY);
        body.put_string(b"ssh-ed25519");
        body.put_string(&[1; 32]);
        let mut secret = vec![2u8; 32];
        secret.extend_from_slice(&[3; 32]);
        body.put_string(&secret);
        body.put_string(b"c");
        assert!(matches!(Request::decode(&body), Err(Error::Invalid { .. })));
    }

    #[test]
    fn certified_key_round_trip_and_a_certificate_of_another_type_is_refused() {
        let mut cert = Vec::new();
        cert.put_string(ED25519_CERT_ALGORITHM.as_bytes());
        cert.put_string(b"nonce and the rest, parsed by the daemon");
        let add = Request::AddIdentity(AddIdentity {
            key: NewKey::Ed25519Cert {
                certificate: cert,
                public: [7; 32],
                seed: Ed25519Seed::new([9; 32]),
            },
            comment: "user@host".into(),
            constraints: vec![Constraint::Lifetime(60)],
        });
        let body = frame_body(&add);
        assert_eq!(Request::decode(&body), Ok(add));

        let mut rsa_cert = Vec::new();
        rsa_cert.put_string(b"ssh-rsa-cert-v01@openssh.com");
        let bad = Request::AddIdentity(AddIdentity {
            key: NewKey::Ed25519Cert {
                certificate: rsa_cert,
                public: [7; 32],
                seed: Ed25519Seed::new([9; 32]),
            },
            comment: String::new(),
            constraints: vec![],
        });
        assert!(matches!(
            Request::decode(&frame_body(&bad)),
            Err(Error::Invalid {
                field: Field("certificate"),
                ..
            })
        ));
    }

    #[test]
    fn rsa_add_decodes_as_unsupported() {
        let mut body = Vec::new();
        body.put_u8(msg::ADD_IDENTITY);
        body.put_string(b"ssh-rsa");
        body.put_string(&[1, 2, 3]);
        assert_eq!(
            Request::decode(&body),
            Ok(Request::AddIdentity(AddIdentity {
                key: NewKey::Unsupported {
                    algorithm: "ssh-rsa".into()
                },
                comment: String::new(),
                constraints: vec![],
            }))
        );
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        assert_eq!(Request::decode(&[11, 0]), Err(Error::TrailingBytes(1)));
    }

    #[test]
    fn fast_sign_response_matches_generic_encoding() {
        let sig = [5u8; 64];
        let mut fast = Vec::new();
        encode_ed25519_sign_response(&mut fast, &sig);
        let mut blob = Vec::new();
        blob.put_string(b"ssh-ed25519");
        blob.put_string(&sig);
        let mut generic = Vec::new();
        Response::Signature(blob).encode_frame(&mut generic);
        assert_eq!(fast, generic);
    }

    #[test]
    fn debug_never_prints_secrets() {
        let p = Passphrase::new(b"hunter2".to_vec());
        let s = Ed25519Seed::new([0x41; 32]);
        let out = format!("{p:?} {s:?}");
        assert!(!out.contains("hunter2"));
        assert!(!out.contains("65, 65"));
    }
}

#[cfg(test)]
mod smartcard_tests {
    use super::*;

    #[test]
    fn ssh_add_s_is_decoded_and_its_pin_redacted() -> Result<()> {
        // What `ssh-add -s /usr/lib/x.so` sends after asking for the PIN.
        let mut body = vec![msg::ADD_SMARTCARD_KEY];
        body.put_string(b"/usr/lib/x.so");
        body.put_string(b"1234");
        let req = SmartcardRequest::decode(&body).transpose()?;
        let req = req.ok_or(Error::Truncated(Field("test")))?;
        assert_eq!(req.provider, "/usr/lib/x.so");
        assert_eq!(req.pin.expose(), b"1234");
        assert!(!format!("{req:?}").contains("1234"));
        assert!(SmartcardRequest::decode(&[msg::LOCK]).is_none());
        // Its frame is wiped after use, as every frame with a secret.
        assert!(Request::carries_secret(msg::ADD_SMARTCARD_KEY));
        assert!(Request::carries_secret(msg::REMOVE_SMARTCARD_KEY));
        assert!(
            SmartcardRequest::decode(&[msg::ADD_SMARTCARD_KEY, 0, 0]).is_some_and(|r| r.is_err())
        );
        Ok(())
    }
}
