//! Payloads of the key-store extensions (`generate@signet`, `import@signet`,
//! `stored@signet`, `load@signet`, `unload@signet`, `delete@signet`,
//! `rename@signet`, `doctor@signet`, `store@signet`, and for a sealed store
//! `unlock-store@signet`, `lock-store@signet`, `passwd@signet`); their names
//! are in [`crate::extension`].
//!
//! Design decision: **signetd does all keyring I/O and holds all key
//! material.** The CLI never touches the OS keyring; it asks the daemon. The
//! payloads that carry a secret are [`ImportRequest`] (the 32-byte seed
//! of a key the CLI parsed from a file), which travels in an
//! [`Ed25519Seed`], and [`UnlockStoreRequest`] and [`PasswdRequest`] (the
//! key store's passphrases, in [`Passphrase`]s); the daemon wipes their
//! frames after use (see
//! [`crate::Request::carries_secret`], which is true for every extension
//! frame). Nothing else here is secret: replies describe keys by name, public
//! key and bookkeeping only.

use crate::error::{Error, Field, Result};
use crate::message::{Ed25519Seed, Passphrase};
use crate::wire::{Reader, WireWrite};

/// A key in the key store, as the daemon describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key's name (unique in the index).
    pub name: String,
    /// Its comment (goes at the end of the public key line).
    pub comment: String,
    /// The raw 32-byte Ed25519 public key.
    pub public: [u8; 32],
    /// When it was stored, RFC 3339 UTC.
    pub created_at: String,
    /// Which store holds its secret (`keyutils`, `secret-service`, …).
    pub store: String,
    /// Index state: `active`, `pending` (being stored) or `removing`.
    pub state: String,
    /// Whether it is loaded in the agent now.
    pub loaded: bool,
    /// Seconds until the agent drops it, when loaded with a lifetime.
    pub expires_in: Option<u64>,
}

impl StoredKey {
    /// Encodes one key.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.name.as_bytes());
        out.put_string(self.comment.as_bytes());
        out.put_string(&self.public);
        out.put_string(self.created_at.as_bytes());
        out.put_string(self.store.as_bytes());
        out.put_string(self.state.as_bytes());
        out.put_u8(u8::from(self.loaded));
        put_opt_u64(out, self.expires_in);
    }

    /// Decodes one key from `r`.
    pub fn decode_from(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            name: r.utf8("name")?.to_owned(),
            comment: r.utf8("comment")?.to_owned(),
            public: fixed_string::<32>(r, "public key")?,
            created_at: r.utf8("created at")?.to_owned(),
            store: r.utf8("store")?.to_owned(),
            state: r.utf8("state")?.to_owned(),
            loaded: r.u8("loaded")? != 0,
            expires_in: get_opt_u64(r, "expires in")?,
        })
    }

    /// Decodes a reply holding exactly one key.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let k = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(k)
    }
}

/// Encodes a list of keys (`stored@signet` and `load@signet` replies).
pub fn encode_stored_list(out: &mut Vec<u8>, keys: &[StoredKey]) {
    out.put_u32(u32::try_from(keys.len()).unwrap_or(u32::MAX));
    for k in keys {
        k.encode(out);
    }
}

/// Decodes a list of keys.
pub fn decode_stored_list(contents: &[u8]) -> Result<Vec<StoredKey>> {
    let mut r = Reader::new(contents);
    let n = r.u32("key count")? as usize;
    let mut keys = Vec::with_capacity(n.min(r.remaining() / 16));
    for _ in 0..n {
        keys.push(StoredKey::decode_from(&mut r)?);
    }
    r.finish()?;
    Ok(keys)
}

/// `generate@signet` request: a new key made inside the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateRequest {
    /// The name to store it under.
    pub name: String,
    /// Its comment (empty: the name).
    pub comment: String,
    /// Where: empty for the key store, [`STORE_PKCS11`] for the daemon's
    /// PKCS#11 token (the pair is made on the token). Sent only when not
    /// empty, so older requests decode as before.
    pub store: String,
}

/// The `store` of a generate or import request that means the daemon's
/// `[pkcs11]` token.
pub const STORE_PKCS11: &str = "pkcs11";

impl GenerateRequest {
    /// Encodes the request contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.name.as_bytes());
        out.put_string(self.comment.as_bytes());
        if !self.store.is_empty() {
            out.put_string(self.store.as_bytes());
        }
    }

    /// Decodes the request contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let name = r.utf8("name")?.to_owned();
        let comment = r.utf8("comment")?.to_owned();
        let store = if r.is_empty() {
            String::new()
        } else {
            r.utf8("store")?.to_owned()
        };
        r.finish()?;
        Ok(Self {
            name,
            comment,
            store,
        })
    }
}

/// `import@signet` request: store a key the client read from a file.
/// **Carries a secret**; `Debug` shows the seed as `[redacted]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// The name to store it under.
    pub name: String,
    /// Its comment.
    pub comment: String,
    /// The secret seed.
    pub seed: Ed25519Seed,
    /// The public key (checked against the seed by the daemon).
    pub public: [u8; 32],
    /// Where: empty for the key store, [`STORE_PKCS11`] for the token.
    pub store: String,
    /// With [`STORE_PKCS11`]: the user accepts that a key which existed
    /// outside the token is weaker than one made on it (`--allow-import`);
    /// without it the daemon refuses.
    pub allow_import: bool,
}

impl ImportRequest {
    /// Encodes the request contents. The caller must wipe `out` after use.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.name.as_bytes());
        out.put_string(self.comment.as_bytes());
        out.put_string(self.seed.expose());
        out.put_string(&self.public);
        if !self.store.is_empty() || self.allow_import {
            out.put_string(self.store.as_bytes());
            out.put_u8(u8::from(self.allow_import));
        }
    }

    /// Decodes the request contents; the seed goes straight into its
    /// zeroizing type.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let name = r.utf8("name")?.to_owned();
        let comment = r.utf8("comment")?.to_owned();
        let seed = Ed25519Seed::from_slice(r.string("seed")?).ok_or(Error::Invalid {
            field: Field("seed"),
            reason: "must be 32 bytes",
        })?;
        let public = fixed_string::<32>(&mut r, "public key")?;
        let (store, allow_import) = if r.is_empty() {
            (String::new(), false)
        } else {
            let store = r.utf8("store")?.to_owned();
            (store, r.u8("allow_import")? != 0)
        };
        r.finish()?;
        Ok(Self {
            name,
            comment,
            seed,
            public,
            store,
            allow_import,
        })
    }
}

/// Which stored keys a `load@signet` / `unload@signet` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Every stored key (the names are then empty).
    pub all: bool,
    /// Names, key ids or fingerprints.
    pub names: Vec<String>,
    /// `load@signet` only: seconds the agent keeps the keys (`None`: the
    /// key's configured lifetime, else `[agent] default_lifetime`; `Some(0)`:
    /// no lifetime).
    pub lifetime: Option<u64>,
}

impl Selection {
    /// Encodes the request contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(u8::from(self.all));
        out.put_u32(u32::try_from(self.names.len()).unwrap_or(u32::MAX));
        for n in &self.names {
            out.put_string(n.as_bytes());
        }
        put_opt_u64(out, self.lifetime);
    }

    /// Decodes the request contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let all = r.u8("all")? != 0;
        let n = r.u32("name count")? as usize;
        let mut names = Vec::with_capacity(n.min(r.remaining() / 4));
        for _ in 0..n {
            names.push(r.utf8("name")?.to_owned());
        }
        let lifetime = get_opt_u64(&mut r, "lifetime")?;
        r.finish()?;
        Ok(Self {
            all,
            names,
            lifetime,
        })
    }
}

/// `delete@signet` request: the key to delete from the store.
/// `rename@signet` request: two names. Both are strings in order.
pub fn encode_names(out: &mut Vec<u8>, names: &[&str]) {
    for n in names {
        out.put_string(n.as_bytes());
    }
}

/// Decodes exactly `N` strings.
pub fn decode_names<const N: usize>(contents: &[u8]) -> Result<[String; N]> {
    let mut r = Reader::new(contents);
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for slot in out.iter_mut() {
        *slot = r.utf8("name")?.to_owned();
    }
    r.finish()?;
    Ok(out)
}

/// `doctor@signet` reply: what the check found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DoctorReport {
    /// One line per finding (what, and what was done about it).
    pub findings: Vec<String>,
    /// How many problems remain (0: index and store agree).
    pub remaining: u32,
}

impl DoctorReport {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.remaining);
        out.put_u32(u32::try_from(self.findings.len()).unwrap_or(u32::MAX));
        for f in &self.findings {
            out.put_string(f.as_bytes());
        }
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let remaining = r.u32("remaining")?;
        let n = r.u32("finding count")? as usize;
        let mut findings = Vec::with_capacity(n.min(r.remaining() / 4));
        for _ in 0..n {
            findings.push(r.utf8("finding")?.to_owned());
        }
        r.finish()?;
        Ok(Self {
            findings,
            remaining,
        })
    }
}

/// `store@signet` reply: which key store the daemon uses, and why.
///
/// The sealing fields are a trailing section (an agent from before sealing
/// ends after `problem`; they then decode empty), so older and newer
/// clients and agents still read each other's replies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreInfo {
    /// The store's name (`keyutils`, `secret-service`, `keychain`, `windows`).
    pub backend: String,
    /// Why it was chosen (configuration, `SIGNET_STORE`, or `auto`'s probe).
    pub reason: String,
    /// How long secrets last there (e.g. keyutils: not across a reboot).
    pub persistence: String,
    /// The keyring service name the secrets are filed under.
    pub service: String,
    /// The index file.
    pub index: String,
    /// Empty when the store answers; else what is wrong and how to fix it.
    pub problem: String,
    /// `[store] seal` in force: `passphrase` or `none` (empty: an agent
    /// from before sealing).
    pub seal: String,
    /// A sealed store's state: `unlocked`, `locked`, or `not set up` (no
    /// passphrase chosen yet); empty when the store is not sealed.
    pub sealing: String,
    /// While unlocked: seconds until the store locks again (`None`: no
    /// timeout, or not unlocked).
    pub unlocked_for: Option<u64>,
    /// The store key's public half (64 hex digits), once set up.
    pub recipient: String,
    /// How the store key is wrapped (`argon2id m=65536 KiB t=3 p=4,
    /// xchacha20-poly1305`), once set up.
    pub kdf: String,
}

impl StoreInfo {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for s in [
            &self.backend,
            &self.reason,
            &self.persistence,
            &self.service,
            &self.index,
            &self.problem,
        ] {
            out.put_string(s.as_bytes());
        }
        out.put_string(self.seal.as_bytes());
        out.put_string(self.sealing.as_bytes());
        put_opt_u64(out, self.unlocked_for);
        out.put_string(self.recipient.as_bytes());
        out.put_string(self.kdf.as_bytes());
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let s = Self {
            backend: r.utf8("backend")?.to_owned(),
            reason: r.utf8("reason")?.to_owned(),
            persistence: r.utf8("persistence")?.to_owned(),
            service: r.utf8("service")?.to_owned(),
            index: r.utf8("index")?.to_owned(),
            problem: r.utf8("problem")?.to_owned(),
            ..Self::default()
        };
        let mut s = s;
        // Agents before sealing end here.
        if !r.is_empty() {
            s.seal = r.utf8("seal")?.to_owned();
            s.sealing = r.utf8("sealing")?.to_owned();
            s.unlocked_for = get_opt_u64(&mut r, "unlocked for")?;
            s.recipient = r.utf8("recipient")?.to_owned();
            s.kdf = r.utf8("kdf")?.to_owned();
        }
        r.finish()?;
        Ok(s)
    }
}

/// `unlock-store@signet` request: the passphrase of a sealed key store
/// (**carries a secret**). With `create`, a store that has no store key
/// yet gets one wrapped under this passphrase (the client asked it twice);
/// without, such a store is an error, so that a mistyped passphrase never
/// becomes the store's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlockStoreRequest {
    /// The passphrase.
    pub passphrase: Passphrase,
    /// Set the store up with it if it has no store key yet.
    pub create: bool,
}

impl UnlockStoreRequest {
    /// Encodes the request contents. The caller must wipe `out` after use.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.passphrase.expose());
        out.put_u8(u8::from(self.create));
    }

    /// Decodes the request contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let passphrase = Passphrase::new(r.string("passphrase")?.to_vec());
        let create = r.u8("create")? != 0;
        r.finish()?;
        Ok(Self { passphrase, create })
    }
}

/// `unlock-store@signet` reply: what the unlock did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnlockStoreReply {
    /// The store key was made now (the store was not sealed before).
    pub created: bool,
    /// Seconds until the store locks again (`None`: no timeout).
    pub unlocked_for: Option<u64>,
    /// Keys that were stored in the clear and are sealed now.
    pub sealed: Vec<String>,
    /// Keys loaded because the configuration autoloads them.
    pub loaded: Vec<String>,
    /// What could not be done, one sentence each (nothing was lost).
    pub problems: Vec<String>,
}

impl UnlockStoreReply {
    /// Encodes the reply contents.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(u8::from(self.created));
        put_opt_u64(out, self.unlocked_for);
        for list in [&self.sealed, &self.loaded, &self.problems] {
            out.put_u32(u32::try_from(list.len()).unwrap_or(u32::MAX));
            for s in list {
                out.put_string(s.as_bytes());
            }
        }
    }

    /// Decodes the reply contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let created = r.u8("created")? != 0;
        let unlocked_for = get_opt_u64(&mut r, "unlocked for")?;
        let mut lists: [Vec<String>; 3] = Default::default();
        for list in lists.iter_mut() {
            let n = r.u32("count")? as usize;
            list.reserve(n.min(r.remaining() / 4));
            for _ in 0..n {
                list.push(r.utf8("name")?.to_owned());
            }
        }
        r.finish()?;
        let [sealed, loaded, problems] = lists;
        Ok(Self {
            created,
            unlocked_for,
            sealed,
            loaded,
            problems,
        })
    }
}

/// `passwd@signet` request: the current and the new passphrase of a sealed
/// key store (**carries secrets**).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdRequest {
    /// The current passphrase.
    pub old: Passphrase,
    /// The new one.
    pub new: Passphrase,
}

impl PasswdRequest {
    /// Encodes the request contents. The caller must wipe `out` after use.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.old.expose());
        out.put_string(self.new.expose());
    }

    /// Decodes the request contents.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let old = Passphrase::new(r.string("old passphrase")?.to_vec());
        let new = Passphrase::new(r.string("new passphrase")?.to_vec());
        r.finish()?;
        Ok(Self { old, new })
    }
}

fn put_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(s) => {
            out.put_u8(1);
            out.put_u64(s);
        }
        None => out.put_u8(0),
    }
}

fn get_opt_u64(r: &mut Reader<'_>, field: &'static str) -> Result<Option<u64>> {
    Ok(match r.u8(field)? {
        0 => None,
        _ => Some(r.u64(field)?),
    })
}

fn fixed_string<const N: usize>(r: &mut Reader<'_>, field: &'static str) -> Result<[u8; N]> {
    let s = r.string(field)?;
    s.try_into().map_err(|_| Error::Invalid {
        field: Field(field),
        reason: "wrong length",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() -> Result<()> {
        let k = StoredKey {
            name: "ci".into(),
            comment: "ci@example".into(),
            public: [9; 32],
            created_at: "2025-01-02T03:04:05Z".into(),
            store: "keyutils".into(),
            state: "active".into(),
            loaded: true,
            expires_in: Some(60),
        };
        let mut out = Vec::new();
        encode_stored_list(&mut out, std::slice::from_ref(&k));
        assert_eq!(decode_stored_list(&out)?, vec![k.clone()]);
        let mut out = Vec::new();
        k.encode(&mut out);
        assert_eq!(StoredKey::decode(&out)?, k);

        let imp = ImportRequest {
            name: "n".into(),
            comment: "c".into(),
            seed: Ed25519Seed::new([1; 32]),
            public: [2; 32],
            store: String::new(),
            allow_import: false,
        };
        let mut out = Vec::new();
        imp.encode(&mut out);
        assert_eq!(ImportRequest::decode(&out)?, imp);
        // Into the token: two more fields, which older requests lack.
        let to_token = ImportRequest {
            store: STORE_PKCS11.into(),
            allow_import: true,
            ..imp.clone()
        };
        let mut longer = Vec::new();
        to_token.encode(&mut longer);
        assert_eq!(longer.len(), out.len() + 4 + 6 + 1);
        assert_eq!(ImportRequest::decode(&longer)?, to_token);
        let generate = GenerateRequest {
            name: "n".into(),
            comment: String::new(),
            store: STORE_PKCS11.into(),
        };
        let mut g = Vec::new();
        generate.encode(&mut g);
        assert_eq!(GenerateRequest::decode(&g)?, generate);
        let plain = GenerateRequest {
            store: String::new(),
            ..generate
        };
        let mut p = Vec::new();
        plain.encode(&mut p);
        assert_eq!(p.len(), g.len() - 4 - 6);
        assert_eq!(GenerateRequest::decode(&p)?, plain);
        assert!(!format!("{imp:?}").contains("1, 1"));

        let sel = Selection {
            all: false,
            names: vec!["a".into(), "b".into()],
            lifetime: Some(0),
        };
        let mut out = Vec::new();
        sel.encode(&mut out);
        assert_eq!(Selection::decode(&out)?, sel);

        let mut out = Vec::new();
        encode_names(&mut out, &["old", "new"]);
        assert_eq!(decode_names::<2>(&out)?, ["old".to_string(), "new".into()]);
        assert!(decode_names::<1>(&out).is_err());

        let rep = DoctorReport {
            findings: vec!["x".into()],
            remaining: 1,
        };
        let mut out = Vec::new();
        rep.encode(&mut out);
        assert_eq!(DoctorReport::decode(&out)?, rep);

        let info = StoreInfo {
            backend: "keyutils".into(),
            reason: "auto".into(),
            persistence: "until reboot".into(),
            service: "signet".into(),
            index: "/x/keys.toml".into(),
            problem: String::new(),
            seal: "passphrase".into(),
            sealing: "unlocked".into(),
            unlocked_for: Some(3600),
            recipient: "ab".repeat(32),
            kdf: "argon2id".into(),
        };
        let mut out = Vec::new();
        info.encode(&mut out);
        assert_eq!(StoreInfo::decode(&out)?, info);
        // An agent before sealing: the six strings only.
        let old = StoreInfo {
            seal: String::new(),
            sealing: String::new(),
            unlocked_for: None,
            recipient: String::new(),
            kdf: String::new(),
            ..info
        };
        let mut out = Vec::new();
        for s in [
            &old.backend,
            &old.reason,
            &old.persistence,
            &old.service,
            &old.index,
            &old.problem,
        ] {
            out.put_string(s.as_bytes());
        }
        assert_eq!(StoreInfo::decode(&out)?, old);

        let unlock = UnlockStoreRequest {
            passphrase: Passphrase::new(b"pw".to_vec()),
            create: true,
        };
        let mut out = Vec::new();
        unlock.encode(&mut out);
        assert_eq!(UnlockStoreRequest::decode(&out)?, unlock);
        assert!(!format!("{unlock:?}").contains("pw"));
        let reply = UnlockStoreReply {
            created: true,
            unlocked_for: Some(60),
            sealed: vec!["a".into()],
            loaded: vec![],
            problems: vec!["x: y".into()],
        };
        let mut out = Vec::new();
        reply.encode(&mut out);
        assert_eq!(UnlockStoreReply::decode(&out)?, reply);
        let pw = PasswdRequest {
            old: Passphrase::new(b"a".to_vec()),
            new: Passphrase::new(b"b".to_vec()),
        };
        let mut out = Vec::new();
        pw.encode(&mut out);
        assert_eq!(PasswdRequest::decode(&out)?, pw);
        Ok(())
    }

    #[test]
    fn short_seed_is_refused() {
        let mut out = Vec::new();
        out.put_string(b"n");
        out.put_string(b"c");
        out.put_string(&[1; 31]);
        out.put_string(&[2; 32]);
        assert!(ImportRequest::decode(&out).is_err());
    }
}
