//! Signing: `sign-request`, `sign`, and the dry run `explain`.

use std::io::{self, Read};
use std::path::PathBuf;

use anyhow::{Context, Result};
use base64::Engine as _;
use serde::Serialize;
use signet_client::Scheme;

use serde_json::json;

use super::{out, Ctx};
use crate::cli::{exit, ExplainScheme, HeaderFormat, SchemeArg, SignArgs, SignRequestArgs};
use crate::failure::Failure;
use crate::output;

fn scheme(s: SchemeArg) -> Scheme {
    match s {
        SchemeArg::EncordV1 => Scheme::EncordV1,
        SchemeArg::EncordV2 => Scheme::EncordV2,
    }
}

pub(crate) fn explain(ctx: &Ctx, a: crate::cli::ExplainArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let scheme = match (a.ssh, a.scheme) {
        (true, _) => "ssh",
        (false, ExplainScheme::EncordV1) => "encord-v1",
        (false, ExplainScheme::EncordV2) => "encord-v2",
    };
    let reply = client.explain(&signet_client::Explain {
        key: a.key.as_deref(),
        scheme,
        method: a.method.as_deref().unwrap_or(""),
        url_or_target: a.url.as_deref().unwrap_or(""),
        as_uid: a.as_uid,
        as_exe: a.as_exe.as_deref(),
        as_unit: a.as_unit.as_deref(),
    })?;
    let doc = json!({
        "allowed": reply.allowed,
        "key": reply.key,
        "rule": (!reply.rule.is_empty()).then_some(&reply.rule),
        "reason": reply.reason,
        "policy": (!reply.summary.is_empty()).then_some(&reply.summary),
    });
    if reply.allowed {
        return ctx.show(&output::explanation(&reply), &doc);
    }
    // Refused: exit 1; --json gets the decision beside the error.
    if !ctx.json {
        out(&output::explanation(&reply))?;
    }
    Err(Failure::new(
        "refused_by_policy",
        exit::ERROR,
        format!("the agent would refuse this request: {}", reply.reason),
    )
    .with_data(doc)
    .into())
}

pub(crate) fn sign_request(ctx: &Ctx, a: SignRequestArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    if let Some(name) = &a.secret {
        return secret_headers(ctx, &mut client, name, &a);
    }
    let scheme = scheme(a.scheme);
    let key = a.key.as_deref();
    let method = a.method.as_deref().unwrap_or_default();
    let signed = match (&a.body_file, &a.body) {
        (Some(f), _) if f.as_os_str() == "-" => {
            client.sign_request_reader(key, scheme, method, &a.url, io::stdin().lock())?
        }
        (Some(f), _) => {
            let file = std::fs::File::open(f)
                .with_context(|| format!("could not open the body file {}", f.display()))?;
            client.sign_request_reader(key, scheme, method, &a.url, file)?
        }
        (None, Some(body)) => {
            client.sign_request_body(key, scheme, method, &a.url, body.as_bytes())?
        }
        (None, None) => client.sign_request_body(key, scheme, method, &a.url, b"")?,
    };
    // --json is one JSON document whatever --format says.
    let format = match (ctx.json, a.format) {
        (true, _) => HeaderFormat::Json,
        (false, f) => f.unwrap_or(HeaderFormat::Headers),
    };
    let text = output::headers(signed.created, &signed.headers, format)?;
    if ctx.json {
        super::mark_emitted();
    }
    out(&text)
}

/// `sign-request --secret`: the headers that carry a stored secret.
fn secret_headers(
    ctx: &Ctx,
    client: &mut signet_client::Client,
    name: &str,
    a: &SignRequestArgs,
) -> Result<()> {
    use signet_client::SecretKind;
    let path = a
        .url
        .split_once("://")
        .map(|(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]))
        .unwrap_or(&a.url);
    let released = super::secret::release(client, name)?;
    let headers = match released.info.kind {
        SecretKind::EncordApiKey => {
            if !path.starts_with("/public") {
                return Err(Failure::new(
                    "wrong_kind",
                    exit::ERROR,
                    format!(
                        "secret {name:?} is an encord-api-key, which Encord accepts on its v1 API only (/public…), not on {}: sign v2 requests with a key (`signet sign-request --key KEY`) or use a bearer token",
                        signet_proto::text::escape(path)
                    ),
                )
                .into());
            }
            vec![
                signet_client::Header {
                    name: "Authorization".into(),
                    value: released.value.expose_str().to_owned(),
                },
                signet_client::Header {
                    name: "ResourceID".into(),
                    value: released.info.resource.clone(),
                },
            ]
        }
        SecretKind::EncordBearer => vec![signet_client::Header {
            name: "Authorization".into(),
            value: format!("Bearer {}", released.value.expose_str()),
        }],
    };
    drop(released);
    let format = match (ctx.json, a.format) {
        (true, _) => HeaderFormat::Json,
        (false, f) => f.unwrap_or(HeaderFormat::Headers),
    };
    let text = zeroize::Zeroizing::new(output::headers(0, &headers, format)?);
    let mut headers = headers;
    for h in &mut headers {
        zeroize::Zeroize::zeroize(&mut h.value);
    }
    if ctx.json {
        super::mark_emitted();
    }
    out(&text)
}

#[derive(Serialize)]
struct SignatureJson {
    name: String,
    key_id: String,
    fingerprint: String,
    signature: String,
}

pub(crate) fn sign(ctx: &Ctx, a: SignArgs) -> Result<()> {
    let data = read_limited(&a.file)?;
    let mut client = ctx.connect()?;
    let key = client.resolve(a.key.as_deref().unwrap_or_default())?;
    let sig = client.sign(&key.key_blob, &data)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(sig.as_bytes());
    let doc = SignatureJson {
        name: key.name.clone(),
        key_id: key.key_id(),
        fingerprint: key.fingerprint(),
        signature: b64.clone(),
    };
    ctx.show(&(b64 + "\n"), &doc)
}

/// Reads at most one byte more than the agent accepts, so an oversized file
/// is refused by the client without being read whole.
fn read_limited(path: &PathBuf) -> Result<Vec<u8>> {
    let limit = signet_proto::MAX_FRAME_LEN as u64 + 1;
    let mut data = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut data)
            .context("could not read stdin")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut data))
            .with_context(|| format!("could not read {}", path.display()))?;
    }
    Ok(data)
}
