//! Bearer secrets in the agent's custody: Encord resource API keys and
//! bearer tokens (`secret-add@signet`, `secret-list@signet`,
//! `secret-remove@signet`, `get-secret@signet`).
//!
//! An agent cannot sign with a bearer secret; it keeps it out of files, the
//! environment and shell history, releases it only to callers the secret's
//! rule allows, expires it and audits every release. This module is the
//! wire contract and the rules every party applies to names, kinds,
//! resource ids, scopes and values; no I/O. A secret value travels only in
//! [`SecretValue`] (zeroized on drop, `Debug` prints `[redacted]`), and the
//! two messages that carry one ([`AddSecretRequest`], [`Released`]) say so.
//!
//! **The fingerprint** shown by `signet secret list` is
//! `SHA256:` + unpadded base64 of SHA-256(`"signet-secret-fingerprint-v1\0"`
//! ‖ value): it lets a user tell two secrets apart, or check that the stored
//! one is the one they meant (`signet secret fingerprint`), and reveals
//! nothing usable about a high-entropy key or token.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Field, Result};
use crate::wire::{Reader, WireWrite};

/// Store a secret: [`AddSecretRequest`] → [`SecretInfo`]. Carries a secret.
pub const SECRET_ADD: &str = "secret-add@signet";
/// The stored secrets: no contents → a list of [`SecretInfo`] (no value).
pub const SECRET_LIST: &str = "secret-list@signet";
/// Delete a stored secret: its name → [`SecretInfo`].
pub const SECRET_REMOVE: &str = "secret-remove@signet";
/// Release a secret to the caller, if its rule allows: its name →
/// [`Released`]. The reply carries a secret.
pub const GET_SECRET: &str = "get-secret@signet";

/// The largest secret value signet keeps (bytes). Encord API keys are ~40
/// characters and bearer tokens (JWTs) a few hundred to ~2000.
pub const MAX_VALUE_LEN: usize = 4096;
/// The longest title.
pub const MAX_TITLE_LEN: usize = 128;
/// The most scopes one API key lists.
pub const MAX_SCOPES: usize = 32;

/// What kind of secret, which decides how it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// An Encord project or dataset API key (SDK ≤ 0.1.145): sent raw as
    /// `Authorization: <key>` with `ResourceID: <id>` on v1 requests.
    EncordApiKey,
    /// An Encord bearer token: `Authorization: Bearer <token>`.
    EncordBearer,
}

impl SecretKind {
    /// Every kind's name, as the CLI and the index spell it.
    pub const NAMES: &'static [&'static str] = &["encord-api-key", "encord-bearer"];

    /// The name on the wire, in the index and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::EncordApiKey => "encord-api-key",
            SecretKind::EncordBearer => "encord-bearer",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "encord-api-key" => Some(SecretKind::EncordApiKey),
            "encord-bearer" => Some(SecretKind::EncordBearer),
            _ => None,
        }
    }

    /// Whether the kind needs a resource id (an API key belongs to one
    /// project or dataset).
    pub fn needs_resource(self) -> bool {
        self == SecretKind::EncordApiKey
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret value. Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// Wraps secret bytes (not checked: see [`check_value`]).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A copy of `bytes` in a buffer reserved to fit, so that it never
    /// reallocates and leaves a copy behind.
    pub fn copy_of(bytes: &[u8]) -> Self {
        let mut v = Vec::with_capacity(bytes.len());
        v.extend_from_slice(bytes);
        Self::new(v)
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text (values are visible ASCII: [`check_value`]).
    pub fn expose_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// Its fingerprint (module doc).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([redacted])")
    }
}

/// The fingerprint of a secret value (module doc).
pub fn fingerprint(value: &[u8]) -> String {
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(fingerprint_digest(value))
    )
}

/// The SHA-256 behind [`fingerprint`] (the audit log's `digest` of a release).
pub fn fingerprint_digest(value: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"signet-secret-fingerprint-v1\0");
    h.update(value);
    h.finalize().into()
}

/// Why a secret's name, resource, scopes, title or value is refused. The
/// message never contains the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    /// The name breaks the naming rule.
    #[error("invalid secret name {0:?}: use 1 to 64 characters from letters, digits and . _ - @ +, not starting with '.' or '-'")]
    Name(String),
    /// An API key without a resource, or a resource id that is not one.
    #[error("{0}")]
    Resource(String),
    /// A scope that is not a scope name, or too many.
    #[error("{0}")]
    Scope(String),
    /// A title with control or invisible characters, or too long.
    #[error("the title {0}")]
    Title(String),
    /// The value is empty, too long or has characters an HTTP header cannot carry.
    #[error("{0}")]
    Value(String),
}

/// Checks a secret's name: the rule of key names (1–64 characters from
/// `A-Z a-z 0-9 . _ - @ +`, not starting with a dot or dash).
pub fn check_name(name: &str) -> std::result::Result<(), SecretProblem> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
        && !name.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(SecretProblem::Name(crate::text::escape(name)))
    }
}

/// Checks a resource id (Encord's are UUIDs): required for an API key,
/// optional otherwise; 1–64 characters from letters, digits, `-` and `_`.
pub fn check_resource(kind: SecretKind, resource: &str) -> std::result::Result<(), SecretProblem> {
    if resource.is_empty() {
        return if kind.needs_resource() {
            Err(SecretProblem::Resource(
                "an encord-api-key belongs to one project or dataset: give its id with --resource ID (Project/Dataset → Settings → API access shows it)".into(),
            ))
        } else {
            Ok(())
        };
    }
    if resource.len() > 64
        || !resource
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SecretProblem::Resource(format!(
            "resource id {} is not an Encord resource id: use the project's or dataset's id (a UUID such as 00000000-1111-2222-3333-444444444444)",
            crate::text::escape(resource)
        )));
    }
    Ok(())
}

/// Checks the scopes (names such as `LABEL_READ`).
pub fn check_scopes(scopes: &[String]) -> std::result::Result<(), SecretProblem> {
    if scopes.len() > MAX_SCOPES {
        return Err(SecretProblem::Scope(format!(
            "{} scopes given: at most {MAX_SCOPES}",
            scopes.len()
        )));
    }
    for s in scopes {
        if s.is_empty()
            || s.len() > 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
        {
            return Err(SecretProblem::Scope(format!(
                "scope {} is not a scope name (such as LABEL_READ or LABEL_WRITE)",
                crate::text::escape(s)
            )));
        }
    }
    Ok(())
}

/// Checks a title: at most [`MAX_TITLE_LEN`] bytes, nothing a terminal
/// would hide.
pub fn check_title(title: &str) -> std::result::Result<(), SecretProblem> {
    crate::text::check_label(title, MAX_TITLE_LEN).map_err(|e| SecretProblem::Title(e.to_string()))
}

/// Checks a value: 1 to [`MAX_VALUE_LEN`] bytes of visible ASCII (what an
/// HTTP header and an environment variable carry unchanged; a newline or a
/// space would be a pasting accident, and a header-injection risk). The
/// message says what is wrong, never what the value is.
pub fn check_value(kind: SecretKind, value: &[u8]) -> std::result::Result<(), SecretProblem> {
    if value.is_empty() {
        return Err(SecretProblem::Value(format!(
            "the {kind} is empty: paste it at the prompt, or pipe it into --stdin"
        )));
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(SecretProblem::Value(format!(
            "the {kind} is {} bytes: signet keeps at most {MAX_VALUE_LEN}",
            value.len()
        )));
    }
    if let Some(pos) = value.iter().position(|b| !(0x21..=0x7e).contains(b)) {
        return Err(SecretProblem::Value(format!(
            "the {kind} has a space, control or non-ASCII character at byte {}: API keys and tokens are visible ASCII; check what was pasted",
            pos + 1
        )));
    }
    if kind == SecretKind::EncordBearer && value.starts_with(b"Bearer") {
        return Err(SecretProblem::Value(
            "give the bearer token without the `Bearer ` prefix".into(),
        ));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: &'static str) -> Error {
    Error::Invalid {
        field: Field(field),
        reason,
    }
}

fn kind_of(r: &mut Reader<'_>) -> Result<SecretKind> {
    let k = r.utf8("kind")?;
    SecretKind::parse(k).ok_or_else(|| invalid("kind", "not a secret kind"))
}

/// `secret-add@signet`: store a secret. **Carries a secret**; `Debug`
/// shows the value as `[redacted]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddSecretRequest {
    /// The name to store it under.
    pub name: String,
    /// Its kind.
    pub kind: SecretKind,
    /// The project or dataset id (API keys; empty for bearer tokens unless given).
    pub resource: String,
    /// The API key's scopes, as the user listed them (information only).
    pub scopes: Vec<String>,
    /// A title for people.
    pub title: String,
    /// Seconds until the secret expires (`0`: it does not).
    pub lifetime: u64,
    /// Replace a stored secret of this name.
    pub replace: bool,
    /// The value.
    pub value: SecretValue,
}

impl AddSecretRequest {
    /// Checks every field (the daemon checks again).
    pub fn check(&self) -> std::result::Result<(), SecretProblem> {
        check_name(&self.name)?;
        check_resource(self.kind, &self.resource)?;
        check_scopes(&self.scopes)?;
        check_title(&self.title)?;
        check_value(self.kind, self.value.expose())
    }

    /// Encodes the request contents. The caller must wipe `out` after use.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.name.as_bytes());
        out.put_string(self.kind.as_str().as_bytes());
        out.put_string(self.resource.as_bytes());
        out.put_u32(u32::try_from(self.scopes.len()).unwrap_or(u32::MAX));
        for s in &self.scopes {
            out.put_string(s.as_bytes());
        }
        out.put_string(self.title.as_bytes());
        out.put_u64(self.lifetime);
        out.put_u8(u8::from(self.replace));
        out.put_string(self.value.expose());
    }

    /// Decodes the request contents; the value goes straight into its
    /// zeroizing type.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let name = r.utf8("name")?.to_owned();
        let kind = kind_of(&mut r)?;
        let resource = r.utf8("resource")?.to_owned();
        let n = r.u32("scope count")? as usize;
        if n > MAX_SCOPES {
            return Err(invalid("scope count", "more than 32 scopes"));
        }
        let mut scopes = Vec::with_capacity(n);
        for _ in 0..n {
            scopes.push(r.utf8("scope")?.to_owned());
        }
        let title = r.utf8("title")?.to_owned();
        let lifetime = r.u64("lifetime")?;
        let replace = r.u8("replace")? != 0;
        let value = SecretValue::copy_of(r.string("value")?);
        r.finish()?;
        Ok(Self {
            name,
            kind,
            resource,
            scopes,
            title,
            lifetime,
            replace,
            value,
        })
    }
}

/// What is known about a stored secret, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: SecretKind,
    /// The project or dataset id (may be empty for a bearer token).
    pub resource: String,
    /// Scopes as given when it was stored.
    pub scopes: Vec<String>,
    /// Title.
    pub title: String,
    /// Fingerprint of the value (module doc).
    pub fingerprint: String,
    /// When it was stored, RFC 3339 UTC.
    pub created_at: String,
    /// Unix time it expires at (`0`: never), the earlier of its own
    /// lifetime and its `[secrets.NAME] lifetime`.
    pub expires_at: u64,
    /// The store holding it.
    pub store: String,
    /// `active`, or `pending`/`removing` for an interrupted operation.
    pub state: String,
    /// The `[policies.NAME]` rule that decides who may have it (empty: admins only).
    pub rule: String,
}

impl SecretInfo {
    /// Encodes one entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_string(self.name.as_bytes());
        out.put_string(self.kind.as_str().as_bytes());
        out.put_string(self.resource.as_bytes());
        out.put_u32(u32::try_from(self.scopes.len()).unwrap_or(u32::MAX));
        for s in &self.scopes {
            out.put_string(s.as_bytes());
        }
        out.put_string(self.title.as_bytes());
        out.put_string(self.fingerprint.as_bytes());
        out.put_string(self.created_at.as_bytes());
        out.put_u64(self.expires_at);
        out.put_string(self.store.as_bytes());
        out.put_string(self.state.as_bytes());
        out.put_string(self.rule.as_bytes());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let name = r.utf8("name")?.to_owned();
        let kind = kind_of(r)?;
        let resource = r.utf8("resource")?.to_owned();
        let n = r.u32("scope count")? as usize;
        if n > MAX_SCOPES {
            return Err(invalid("scope count", "more than 32 scopes"));
        }
        let mut scopes = Vec::with_capacity(n);
        for _ in 0..n {
            scopes.push(r.utf8("scope")?.to_owned());
        }
        Ok(Self {
            name,
            kind,
            resource,
            scopes,
            title: r.utf8("title")?.to_owned(),
            fingerprint: r.utf8("fingerprint")?.to_owned(),
            created_at: r.utf8("created_at")?.to_owned(),
            expires_at: r.u64("expires_at")?,
            store: r.utf8("store")?.to_owned(),
            state: r.utf8("state")?.to_owned(),
            rule: r.utf8("rule")?.to_owned(),
        })
    }

    /// Decodes one entry (the whole contents).
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let info = Self::read(&mut r)?;
        r.finish()?;
        Ok(info)
    }
}

/// Encodes the `secret-list@signet` reply.
pub fn encode_list(out: &mut Vec<u8>, secrets: &[SecretInfo]) {
    out.put_u32(u32::try_from(secrets.len()).unwrap_or(u32::MAX));
    for s in secrets {
        s.encode(out);
    }
}

/// Decodes the `secret-list@signet` reply.
pub fn decode_list(contents: &[u8]) -> Result<Vec<SecretInfo>> {
    let mut r = Reader::new(contents);
    let n = r.u32("count")? as usize;
    // Each entry is at least 12 length prefixes and a u64: a count that the
    // contents cannot hold is refused before anything is allocated.
    if n > r.remaining() / 56 + 1 {
        return Err(invalid("count", "more entries than the reply holds"));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(SecretInfo::read(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

/// The `get-secret@signet` reply: the secret's description and its value.
/// **Carries a secret.**
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// What the secret is.
    pub info: SecretInfo,
    /// Its value.
    pub value: SecretValue,
}

impl Released {
    /// Encodes the reply contents. The caller must wipe `out` after use.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.info.encode(out);
        out.put_string(self.value.expose());
    }

    /// Decodes the reply contents; the value goes straight into its
    /// zeroizing type.
    pub fn decode(contents: &[u8]) -> Result<Self> {
        let mut r = Reader::new(contents);
        let info = SecretInfo::read(&mut r)?;
        let value = SecretValue::copy_of(r.string("value")?);
        r.finish()?;
        Ok(Self { info, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> SecretInfo {
        SecretInfo {
            name: "labels".into(),
            kind: SecretKind::EncordApiKey,
            resource: "0c9a-11".into(),
            scopes: vec!["LABEL_READ".into(), "LABEL_WRITE".into()],
            title: "CI labels".into(),
            fingerprint: fingerprint(b"k"),
            created_at: "2026-12-02T00:00:00Z".into(),
            expires_at: 7,
            store: "keyutils".into(),
            state: "active".into(),
            rule: "ci".into(),
        }
    }

    #[test]
    fn round_trips() -> Result<()> {
        let req = AddSecretRequest {
            name: "labels".into(),
            kind: SecretKind::EncordApiKey,
            resource: "0c9a-11".into(),
            scopes: vec!["LABEL_READ".into()],
            title: "t".into(),
            lifetime: 60,
            replace: true,
            value: SecretValue::copy_of(b"abc"),
        };
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(AddSecretRequest::decode(&out)?, req);
        let list = vec![info(), info()];
        let mut out = Vec::new();
        encode_list(&mut out, &list);
        assert_eq!(decode_list(&out)?, list);
        let rel = Released {
            info: info(),
            value: SecretValue::copy_of(b"xyz"),
        };
        let mut out = Vec::new();
        rel.encode(&mut out);
        assert_eq!(Released::decode(&out)?, rel);
        assert!(decode_list(&[0xff, 0xff, 0xff, 0xff]).is_err());
        Ok(())
    }

    #[test]
    fn values_are_checked_and_never_shown() {
        let k = SecretKind::EncordApiKey;
        assert!(check_value(k, b"").is_err());
        let e = check_value(k, b"sec ret-value")
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(e.contains("byte 4"), "{e}");
        assert!(!e.contains("sec"), "{e}");
        assert!(check_value(k, b"secret\n").is_err());
        assert!(check_value(k, &[b'a'; MAX_VALUE_LEN + 1]).is_err());
        assert!(check_value(SecretKind::EncordBearer, b"Bearer").is_err());
        assert!(check_value(k, b"A1b2-C3_d4.e5").is_ok());
        assert_eq!(
            format!("{:?}", SecretValue::copy_of(b"topsecret")),
            "SecretValue([redacted])"
        );
        assert!(check_resource(k, "").is_err());
        assert!(check_resource(SecretKind::EncordBearer, "").is_ok());
        assert!(check_resource(k, "a b").is_err());
        assert!(check_scopes(&["LABEL_READ".into()]).is_ok());
        assert!(check_scopes(&["LABEL READ".into()]).is_err());
        assert!(check_name("-x").is_err());
        assert!(check_name("ci.labels").is_ok());
        assert_ne!(fingerprint(b"a"), fingerprint(b"b"));
        assert!(fingerprint(b"a").starts_with("SHA256:"));
    }
}
