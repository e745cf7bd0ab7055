//! Signing: `sign-request`, `sign`, and the dry run `explain`.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;
use serde::Serialize;
use signet_client::Scheme;

use super::{connect, out};
use crate::cli::{HeaderFormat, SignArgs, SignRequestArgs};
use crate::output;

pub(crate) fn explain(socket: &Path, a: crate::cli::ExplainArgs, json: bool) -> Result<()> {
    use crate::cli::ExplainScheme;
    let mut client = connect(socket)?;
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
    if json {
        let doc = serde_json::json!({
            "allowed": reply.allowed,
            "key": reply.key,
            "rule": (!reply.rule.is_empty()).then_some(&reply.rule),
            "reason": reply.reason,
            "policy": (!reply.summary.is_empty()).then_some(&reply.summary),
        });
        out(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        out(&output::explanation(&reply))?;
    }
    if reply.allowed {
        Ok(())
    } else {
        anyhow::bail!("the agent would refuse this request")
    }
}

pub(crate) fn sign_request(socket: &Path, a: SignRequestArgs, json: bool) -> Result<()> {
    let mut client = connect(socket)?;
    let scheme = Scheme::from(a.scheme);
    let key = a.key.as_deref();
    let signed = match (&a.body_file, &a.body) {
        (Some(f), _) if f.as_os_str() == "-" => {
            client.sign_request_reader(key, scheme, &a.method, &a.url, io::stdin().lock())?
        }
        (Some(f), _) => {
            let file = std::fs::File::open(f)
                .with_context(|| format!("could not open the body file {}", f.display()))?;
            client.sign_request_reader(key, scheme, &a.method, &a.url, file)?
        }
        (None, Some(body)) => {
            client.sign_request_body(key, scheme, &a.method, &a.url, body.as_bytes())?
        }
        (None, None) => client.sign_request_body(key, scheme, &a.method, &a.url, b"")?,
    };
    let format = a.format.unwrap_or(if json {
        HeaderFormat::Json
    } else {
        HeaderFormat::Headers
    });
    out(&output::headers(signed.created, &signed.headers, format)?)
}

#[derive(Serialize)]
struct SignatureJson {
    name: String,
    key_id: String,
    fingerprint: String,
    signature: String,
}

pub(crate) fn sign(socket: &Path, a: SignArgs, json: bool) -> Result<()> {
    let data = read_limited(&a.file)?;
    let mut client = connect(socket)?;
    let key = client.resolve(a.key.as_deref().unwrap_or_default())?;
    let sig = client.sign(&key.key_blob, &data)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(sig.as_bytes());
    if json {
        let doc = SignatureJson {
            name: key.name.clone(),
            key_id: key.key_id(),
            fingerprint: key.fingerprint(),
            signature: b64,
        };
        out(&(serde_json::to_string_pretty(&doc)? + "\n"))
    } else {
        out(&(b64 + "\n"))
    }
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
