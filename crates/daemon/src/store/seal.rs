//! Sealing secrets at rest: the formats of the keyring entries a sealed
//! store writes, and the calls into maintained crates that make and open
//! them. No I/O here; `store::vault` decides what goes where.
//!
//! **The design.** A sealed store has one *store key*, an X25519 key pair.
//! Each seed is sealed to its public half with HPKE (RFC 9180, base mode:
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305; the `hpke`
//! crate), so sealing needs no secret: `generate` and `import` work while
//! the store is locked. Only opening needs the store key's secret half,
//! which is kept wrapped under the user's passphrase: Argon2id (RFC 9106,
//! the `argon2` crate) turns the passphrase and a random salt into a key
//! for XChaCha20-Poly1305 (the `chacha20poly1305` crate). signet writes no
//! cryptography of its own: it lays bytes side by side and calls these.
//!
//! **The entries** (binary; every one starts with a header line naming its
//! kind and format version, and ends with a SHA-256 of everything before
//! it, so that a damaged entry is told apart from a wrong passphrase or a
//! store key that does not match):
//!
//! ```text
//! sealed seed / secret   "signet:sealed:1\n"     (16 bytes)
//!                        recipient   32   the store key's public half it is sealed to
//!                        enc         32   HPKE encapsulated key
//!                        ciphertext  32   the secret
//!                        tag         16   ChaCha20-Poly1305
//!                        checksum    32   SHA-256 of all of the above
//!   HPKE info = "signet sealed secret v1"; aad = header ‖ recipient ‖ account
//!   (the keyring account, e.g. the key id: an entry moved to another
//!   account does not open)
//!
//! wrapped store key      "signet:store-key:1\n"  (19 bytes)
//!                        recipient   32   the public half, in the clear
//!                        kdf          1   1 = Argon2id (version 0x13)
//!                        m_cost       4   KiB, big-endian
//!                        t_cost       4   passes
//!                        p_cost       4   lanes
//!                        salt        16
//!                        nonce       24   XChaCha20-Poly1305
//!                        ciphertext  32   the X25519 secret half
//!                        tag         16
//!                        checksum    32   SHA-256 of all of the above
//!   key = Argon2id(passphrase, salt, m, t, p, 32 bytes); aad = every byte
//!   before the ciphertext (so the parameters and the public half cannot be
//!   changed without the passphrase noticing)
//! ```
//!
//! An entry of exactly 32 bytes is a seed in the clear, as signet wrote
//! every key before sealing existed ([`Kind::Plain`]); a header with a kind
//! or version this build does not know is [`Kind::Newer`].
//!
//! **Memory.** Every buffer a secret is decrypted into, or encrypted from,
//! is locked memory ([`LockedSeed`]); the store key's secret half lives in
//! a [`LockedBox`]. The crates' own temporaries (HPKE's and the AEAD's
//! derived keys, Argon2's blocks) zeroize themselves or are wiped here; the
//! stack they used is wiped by the caller (`hardening::scrubbed`).

use std::fmt;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hpke::aead::{AeadTag, ChaCha20Poly1305};
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroize as _;

use crate::hardening::{locked_seed, LockedBox, LockedSeed};

/// Every header starts so.
const PREFIX: &[u8] = b"signet:";
/// The kind of a sealed secret.
pub const SEALED_KIND: &str = "sealed";
/// The kind of a wrapped store key.
pub const STORE_KEY_KIND: &str = "store-key";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const SEALED_HEADER: &[u8] = b"signet:sealed:1\n";
const STORE_KEY_HEADER: &[u8] = b"signet:store-key:1\n";
const HPKE_INFO: &[u8] = b"signet sealed secret v1";
/// Argon2id, version 0x13.
const KDF_ARGON2ID: u8 = 1;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SUM_LEN: usize = 32;
const SEALED_LEN: usize = SEALED_HEADER.len() + 32 + 32 + 32 + TAG_LEN + SUM_LEN;
const STORE_KEY_LEN: usize =
    STORE_KEY_HEADER.len() + 32 + 1 + 12 + SALT_LEN + NONCE_LEN + 32 + TAG_LEN + SUM_LEN;

type PrivateKey = <X25519HkdfSha256 as Kem>::PrivateKey;
type PublicKey = <X25519HkdfSha256 as Kem>::PublicKey;
type EncappedKey = <X25519HkdfSha256 as Kem>::EncappedKey;

/// Argon2id's cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes over the memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// What signet wraps new store keys with: RFC 9106's second recommended
    /// option (§4: 64 MiB, 3 passes, 4 lanes), for machines without 2 GiB
    /// to spare per unlock. About 0.2–0.5 s on a current laptop core (the
    /// `argon2` crate runs the lanes one after another).
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 4,
    };

    /// Parameters read from an entry must be in these bounds: a tampered
    /// entry must not make signetd allocate gigabytes or spin for minutes,
    /// nor accept a cost far below what signet writes.
    fn check(self) -> Result<Params, SealError> {
        let ok = (8 * 1024..=1024 * 1024).contains(&self.m_kib)
            && (1..=16).contains(&self.t)
            && (1..=16).contains(&self.p);
        if !ok {
            return Err(SealError::Damaged(
                "its Argon2id parameters are out of the range signet accepts",
            ));
        }
        Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|_| SealError::Damaged("its Argon2id parameters are not valid"))
    }
}

impl fmt::Display for KdfParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "argon2id m={} KiB t={} p={}", self.m_kib, self.t, self.p)
    }
}

/// The public half of a store key: what seeds are sealed to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Recipient(pub [u8; 32]);

impl Recipient {
    /// 64 hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }

    /// The first 16 hex digits, for messages.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.short())
    }
}

/// Why an entry could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The passphrase does not open the wrapped store key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The entry's bytes are not what signet wrote (truncated, altered).
    #[error("the entry is damaged: {0}")]
    Damaged(&'static str),
    /// Sealed to another store key than this store's.
    #[error("it is sealed to another store key ({sealed_to}…) than this store's ({ours}…)")]
    OtherKey {
        /// The short form of the key it is sealed to.
        sealed_to: String,
        /// This store's.
        ours: String,
    },
    /// Sealed to this store key, intact, but it does not open: its parts
    /// were recombined or re-checksummed by something other than signet.
    #[error("it names this store's key but does not open with it (altered, or moved from another account)")]
    DoesNotOpen,
    /// A kind or format version this build does not know.
    #[error("it was written by a newer signet ({kind} format version {version})")]
    Newer {
        /// The kind named in the header.
        kind: String,
        /// The version named in the header.
        version: u32,
    },
    /// Another kind of entry than expected.
    #[error("it holds a {found}, not a {expected}")]
    WrongKind {
        /// What was expected.
        expected: &'static str,
        /// What it holds.
        found: &'static str,
    },
    /// Locked memory could not be had.
    #[error("cannot allocate locked memory: {0}")]
    Memory(String),
    /// A primitive failed where it cannot with valid inputs.
    #[error("the {0} failed")]
    Crypto(&'static str),
}

fn memory(e: std::io::Error) -> SealError {
    SealError::Memory(e.to_string())
}

/// What a keyring entry holds, by its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A 32-byte seed in the clear (every entry before sealing existed, and
    /// every entry of a store with `seal = "none"`).
    Plain,
    /// A sealed secret ([`seal`]).
    Sealed,
    /// A wrapped store key ([`StoreKey::wrap`]).
    StoreKey,
    /// A signet header of a kind or version this build does not know.
    Newer {
        /// The kind.
        kind: String,
        /// The version.
        version: u32,
    },
    /// Anything else.
    Unknown,
}

impl Kind {
    /// What the entry holds, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Kind::Plain => "seed stored in the clear",
            Kind::Sealed => "sealed secret",
            Kind::StoreKey => "wrapped store key",
            Kind::Newer { .. } => "entry of a newer signet",
            Kind::Unknown => "entry signet did not write",
        }
    }
}

/// Reads the header line: `signet:KIND:VERSION\n`.
fn header(bytes: &[u8]) -> Option<(&str, u32)> {
    let rest = bytes.strip_prefix(PREFIX)?;
    let end = rest.iter().take(48).position(|b| *b == b'\n')?;
    let line = std::str::from_utf8(&rest[..end]).ok()?;
    let (kind, version) = line.split_once(':')?;
    Some((kind, version.parse().ok()?))
}

/// What `bytes` hold.
pub fn classify(bytes: &[u8]) -> Kind {
    if bytes.len() == 32 {
        return Kind::Plain;
    }
    match header(bytes) {
        Some((SEALED_KIND, FORMAT_VERSION)) => Kind::Sealed,
        Some((STORE_KEY_KIND, FORMAT_VERSION)) => Kind::StoreKey,
        Some((kind, version)) => Kind::Newer {
            kind: kind.to_owned(),
            version,
        },
        None => Kind::Unknown,
    }
}

/// Checks the header, the length and the checksum; returns the body
/// (between header and checksum).
fn body<'a>(
    bytes: &'a [u8],
    expected: &'static str,
    header_bytes: &[u8],
    len: usize,
) -> Result<&'a [u8], SealError> {
    match classify(bytes) {
        Kind::Sealed if expected == SEALED_KIND => {}
        Kind::StoreKey if expected == STORE_KEY_KIND => {}
        Kind::Newer { kind, version } => return Err(SealError::Newer { kind, version }),
        other => {
            return Err(SealError::WrongKind {
                expected: if expected == SEALED_KIND {
                    "sealed secret"
                } else {
                    "wrapped store key"
                },
                found: other.describe(),
            })
        }
    }
    if bytes.len() != len {
        return Err(SealError::Damaged("it has the wrong length"));
    }
    let (covered, sum) = bytes.split_at(len - SUM_LEN);
    if Sha256::digest(covered).as_slice() != sum {
        return Err(SealError::Damaged("its checksum does not match"));
    }
    Ok(&covered[header_bytes.len()..])
}

fn with_checksum(mut out: Vec<u8>) -> Vec<u8> {
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    out
}

fn aad_for(recipient: &Recipient, account: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(SEALED_HEADER.len() + 32 + account.len());
    aad.extend_from_slice(SEALED_HEADER);
    aad.extend_from_slice(&recipient.0);
    aad.extend_from_slice(account.as_bytes());
    aad
}

/// Seals a 32-byte secret to `recipient`, for the keyring entry `account`.
/// Needs no secret of the store's. The plaintext is copied into locked
/// memory and encrypted there.
pub fn seal(recipient: &Recipient, account: &str, secret: &[u8; 32]) -> Result<Vec<u8>, SealError> {
    let pk = PublicKey::from_bytes(&recipient.0)
        .map_err(|_| SealError::Damaged("the store key's public half is not an X25519 key"))?;
    let mut buf = locked_seed().map_err(memory)?;
    buf.copy_from_slice(secret);
    let aad = aad_for(recipient, account);
    let (enc, tag) = hpke::single_shot_seal_in_place_detached::<
        ChaCha20Poly1305,
        HkdfSha256,
        X25519HkdfSha256,
        _,
    >(
        &OpModeS::Base,
        &pk,
        HPKE_INFO,
        &mut buf[..],
        &aad,
        &mut OsRng,
    )
    .map_err(|_| SealError::Crypto("HPKE seal"))?;
    let mut out = Vec::with_capacity(SEALED_LEN);
    out.extend_from_slice(SEALED_HEADER);
    out.extend_from_slice(&recipient.0);
    out.extend_from_slice(&enc.to_bytes());
    out.extend_from_slice(&buf[..]);
    out.extend_from_slice(&tag.to_bytes());
    Ok(with_checksum(out))
}

/// The store key a sealed entry is sealed to (no secret needed).
pub fn sealed_to(bytes: &[u8]) -> Result<Recipient, SealError> {
    let b = body(bytes, SEALED_KIND, SEALED_HEADER, SEALED_LEN)?;
    let mut r = [0u8; 32];
    r.copy_from_slice(&b[..32]);
    Ok(Recipient(r))
}

/// The public half named in a wrapped store key (no passphrase needed).
pub fn store_key_recipient(bytes: &[u8]) -> Result<Recipient, SealError> {
    let b = body(bytes, STORE_KEY_KIND, STORE_KEY_HEADER, STORE_KEY_LEN)?;
    let mut r = [0u8; 32];
    r.copy_from_slice(&b[..32]);
    Ok(Recipient(r))
}

/// The Argon2id parameters of a wrapped store key.
pub fn store_key_params(bytes: &[u8]) -> Result<KdfParams, SealError> {
    let b = body(bytes, STORE_KEY_KIND, STORE_KEY_HEADER, STORE_KEY_LEN)?;
    Ok(read_params(&b[33..45]))
}

fn read_params(b: &[u8]) -> KdfParams {
    let u = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    KdfParams {
        m_kib: u(0),
        t: u(4),
        p: u(8),
    }
}

/// Argon2id of `passphrase` into `out`; the algorithm's memory is wiped
/// before it is freed.
fn derive(
    passphrase: &[u8],
    salt: &[u8],
    params: KdfParams,
    out: &mut [u8; 32],
) -> Result<(), SealError> {
    let p = params.check()?;
    let blocks = p.block_count();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut memory = vec![Block::default(); blocks];
    let r = argon.hash_password_into_with_memory(passphrase, salt, out, &mut memory[..]);
    memory.zeroize();
    r.map_err(|_| SealError::Crypto("Argon2id"))
}

/// The store key: its secret half in locked memory, and its public half.
pub struct StoreKey {
    secret: LockedBox<PrivateKey>,
    public: Recipient,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({}, [redacted])", self.public.short())
    }
}

impl StoreKey {
    /// A new random store key.
    pub fn generate() -> Result<Self, SealError> {
        let (sk, pk) = X25519HkdfSha256::gen_keypair(&mut OsRng);
        let mut public = [0u8; 32];
        pk.write_exact(&mut public);
        Ok(Self {
            secret: LockedBox::new(sk).map_err(memory)?,
            public: Recipient(public),
        })
    }

    /// Its public half.
    pub fn recipient(&self) -> Recipient {
        self.public
    }

    /// The wrapped form, for the keyring: the secret half encrypted under a
    /// key Argon2id derives from `passphrase` (fresh salt and nonce).
    pub fn wrap(&self, passphrase: &[u8], params: KdfParams) -> Result<Vec<u8>, SealError> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut nonce);
        let mut aad = Vec::with_capacity(STORE_KEY_LEN);
        aad.extend_from_slice(STORE_KEY_HEADER);
        aad.extend_from_slice(&self.public.0);
        aad.push(KDF_ARGON2ID);
        for v in [params.m_kib, params.t, params.p] {
            aad.extend_from_slice(&v.to_be_bytes());
        }
        aad.extend_from_slice(&salt);
        aad.extend_from_slice(&nonce);
        let mut kek = locked_seed().map_err(memory)?;
        derive(passphrase, &salt, params, &mut kek)?;
        let mut buf = locked_seed().map_err(memory)?;
        self.secret.write_exact(&mut buf[..]);
        let cipher = XChaCha20Poly1305::new((&**kek).into());
        let tag = cipher
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), &aad, &mut buf[..])
            .map_err(|_| SealError::Crypto("XChaCha20-Poly1305 encryption"))?;
        drop(cipher);
        let mut out = aad;
        out.extend_from_slice(&buf[..]);
        out.extend_from_slice(&tag);
        Ok(with_checksum(out))
    }

    /// Opens a wrapped store key with `passphrase`.
    pub fn unwrap(bytes: &[u8], passphrase: &[u8]) -> Result<Self, SealError> {
        let b = body(bytes, STORE_KEY_KIND, STORE_KEY_HEADER, STORE_KEY_LEN)?;
        let mut public = [0u8; 32];
        public.copy_from_slice(&b[..32]);
        if b[32] != KDF_ARGON2ID {
            return Err(SealError::Damaged(
                "it names a key derivation signet does not know",
            ));
        }
        let params = read_params(&b[33..45]);
        let salt = &b[45..45 + SALT_LEN];
        let nonce = &b[45 + SALT_LEN..45 + SALT_LEN + NONCE_LEN];
        let ct_at = 45 + SALT_LEN + NONCE_LEN;
        let ciphertext = &b[ct_at..ct_at + 32];
        let tag = &b[ct_at + 32..ct_at + 32 + TAG_LEN];
        let aad = &bytes[..STORE_KEY_HEADER.len() + ct_at];
        let mut kek = locked_seed().map_err(memory)?;
        derive(passphrase, salt, params, &mut kek)?;
        let mut buf = locked_seed().map_err(memory)?;
        buf.copy_from_slice(ciphertext);
        let cipher = XChaCha20Poly1305::new((&**kek).into());
        cipher
            .decrypt_in_place_detached(
                XNonce::from_slice(nonce),
                aad,
                &mut buf[..],
                chacha20poly1305::Tag::from_slice(tag),
            )
            .map_err(|_| SealError::WrongPassphrase)?;
        drop(cipher);
        let sk = PrivateKey::from_bytes(&buf[..])
            .map_err(|_| SealError::Damaged("its secret half is not an X25519 key"))?;
        let secret = LockedBox::new(sk).map_err(memory)?;
        let mut derived = [0u8; 32];
        X25519HkdfSha256::sk_to_pk(&secret).write_exact(&mut derived);
        if derived != public {
            return Err(SealError::Damaged(
                "its secret half does not belong to its public half",
            ));
        }
        Ok(Self {
            secret,
            public: Recipient(public),
        })
    }

    /// Opens a sealed entry of `account` into locked memory.
    pub fn open(&self, account: &str, bytes: &[u8]) -> Result<LockedSeed, SealError> {
        let b = body(bytes, SEALED_KIND, SEALED_HEADER, SEALED_LEN)?;
        let mut to = [0u8; 32];
        to.copy_from_slice(&b[..32]);
        let to = Recipient(to);
        if to != self.public {
            return Err(SealError::OtherKey {
                sealed_to: to.short(),
                ours: self.public.short(),
            });
        }
        let enc = EncappedKey::from_bytes(&b[32..64]).map_err(|_| SealError::DoesNotOpen)?;
        let tag = AeadTag::<ChaCha20Poly1305>::from_bytes(&b[96..96 + TAG_LEN])
            .map_err(|_| SealError::DoesNotOpen)?;
        let mut buf = locked_seed().map_err(memory)?;
        buf.copy_from_slice(&b[64..96]);
        let aad = aad_for(&to, account);
        hpke::single_shot_open_in_place_detached::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &self.secret,
            &enc,
            HPKE_INFO,
            &mut buf[..],
            &aad,
            &tag,
        )
        .map_err(|_| SealError::DoesNotOpen)?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest cost [`KdfParams::check`] accepts, so unit tests run fast;
    /// the format is the same.
    const CHEAP: KdfParams = KdfParams {
        m_kib: 8 * 1024,
        t: 1,
        p: 1,
    };

    #[test]
    fn seal_and_open_round_trip() -> Result<(), SealError> {
        let key = StoreKey::generate()?;
        let seed = [7u8; 32];
        let id = "ab".repeat(32);
        let sealed = seal(&key.recipient(), &id, &seed)?;
        assert_eq!(sealed.len(), SEALED_LEN);
        assert_eq!(classify(&sealed), Kind::Sealed);
        assert!(
            !sealed.windows(32).any(|w| w == seed),
            "the seed is in the clear"
        );
        assert_eq!(sealed_to(&sealed)?, key.recipient());
        assert_eq!(**key.open(&id, &sealed)?, seed);
        // Another account: does not open.
        assert_eq!(
            key.open(&"cd".repeat(32), &sealed).err(),
            Some(SealError::DoesNotOpen)
        );
        // Another store key.
        let other = StoreKey::generate()?;
        assert!(matches!(
            other.open(&id, &sealed),
            Err(SealError::OtherKey { .. })
        ));
        // A flipped bit: damaged (the checksum), never "wrong key".
        let mut bad = sealed.clone();
        bad[40] ^= 1;
        assert!(matches!(key.open(&id, &bad), Err(SealError::Damaged(_))));
        // A flipped ciphertext bit with a recomputed checksum: does not open.
        let mut forged = sealed[..sealed.len() - SUM_LEN].to_vec();
        forged[SEALED_HEADER.len() + 70] ^= 1;
        let forged = with_checksum(forged);
        assert_eq!(key.open(&id, &forged).err(), Some(SealError::DoesNotOpen));
        // Truncated.
        assert!(matches!(
            key.open(&id, &sealed[..100]),
            Err(SealError::Damaged(_))
        ));
        Ok(())
    }

    #[test]
    fn wrap_unwrap_and_wrong_passphrase() -> Result<(), SealError> {
        let key = StoreKey::generate()?;
        let wrapped = key.wrap(b"correct horse", CHEAP)?;
        assert_eq!(wrapped.len(), STORE_KEY_LEN);
        assert_eq!(classify(&wrapped), Kind::StoreKey);
        assert_eq!(store_key_recipient(&wrapped)?, key.recipient());
        assert_eq!(store_key_params(&wrapped)?, CHEAP);
        let back = StoreKey::unwrap(&wrapped, b"correct horse")?;
        assert_eq!(back.recipient(), key.recipient());
        let sealed = seal(&key.recipient(), "x", &[9; 32])?;
        assert_eq!(**back.open("x", &sealed)?, [9; 32]);
        assert_eq!(
            StoreKey::unwrap(&wrapped, b"wrong").err(),
            Some(SealError::WrongPassphrase)
        );
        // Damage is told apart from a wrong passphrase.
        let mut bad = wrapped.clone();
        bad[60] ^= 1;
        assert!(matches!(
            StoreKey::unwrap(&bad, b"correct horse"),
            Err(SealError::Damaged(_))
        ));
        // Cheaper parameters written over the real ones (checksum redone):
        // the passphrase no longer opens it, and nothing is learnt.
        let mut weaker = wrapped[..wrapped.len() - SUM_LEN].to_vec();
        let t_at = STORE_KEY_HEADER.len() + 33 + 4;
        weaker[t_at..t_at + 4].copy_from_slice(&2u32.to_be_bytes());
        assert_eq!(
            StoreKey::unwrap(&with_checksum(weaker), b"correct horse").err(),
            Some(SealError::WrongPassphrase)
        );
        // Out-of-range cost: refused before any work.
        let mut huge = wrapped[..wrapped.len() - SUM_LEN].to_vec();
        let m_at = STORE_KEY_HEADER.len() + 33;
        huge[m_at..m_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            StoreKey::unwrap(&with_checksum(huge), b"correct horse"),
            Err(SealError::Damaged(_))
        ));
        Ok(())
    }

    #[test]
    fn kinds_and_newer_versions() {
        assert_eq!(classify(&[1; 32]), Kind::Plain);
        assert_eq!(classify(b"hello, world"), Kind::Unknown);
        let newer = b"signet:sealed:2\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(
            classify(newer),
            Kind::Newer {
                kind: "sealed".into(),
                version: 2
            }
        );
        assert!(matches!(
            sealed_to(newer),
            Err(SealError::Newer { version: 2, .. })
        ));
        assert!(matches!(
            sealed_to(&[1; 32]),
            Err(SealError::WrongKind { .. })
        ));
    }

    #[test]
    fn default_parameters_are_in_range() {
        assert!(KdfParams::DEFAULT.check().is_ok());
        assert_eq!(
            KdfParams::DEFAULT.to_string(),
            "argon2id m=65536 KiB t=3 p=4"
        );
    }
}
