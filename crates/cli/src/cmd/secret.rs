//! `signet secret …`: Encord resource API keys and bearer tokens in the
//! agent's custody (docs/secrets.md), and the release they share with
//! `signet exec --secret` and `signet sign-request --secret`.
//!
//! A value is read from the terminal (not echoed) or from stdin with
//! `--stdin`, never from the command line: `--value`, `--api-key`,
//! `--token` and a second argument are recognised only to be refused, with
//! the reason (every process can read `/proc/PID/cmdline`, and the shell
//! keeps its history). Values live in zeroizing buffers here and are sent
//! to the agent in a request the client wipes after sending.

use std::io::{IsTerminal as _, Read as _};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use signet_client::{AddSecretRequest, Released, Scheme, SecretInfo, SecretKind, SecretValue};
use signet_proto::duration::rfc3339;
use signet_proto::secret::MAX_VALUE_LEN;
use zeroize::Zeroizing;

use super::Ctx;
use crate::cli::{
    exit, MintBearerArgs, SecretAddArgs, SecretArgs, SecretCommand, SecretKindArg, SecretNameArgs,
    SecretValueArgs,
};
use crate::failure::Failure;

/// Runs `signet secret …`.
pub(crate) fn run(ctx: &Ctx, a: SecretArgs) -> Result<()> {
    match a.command {
        SecretCommand::Add(a) => add(ctx, a),
        SecretCommand::List => list(ctx),
        SecretCommand::Remove(a) => remove(ctx, &a),
        SecretCommand::MintBearer(a) => mint_bearer(ctx, a),
        SecretCommand::Fingerprint(a) => fingerprint(ctx, &a),
    }
}

/// The refusal of a secret given on the command line.
fn on_argv(which: &str) -> anyhow::Error {
    Failure::new(
        "secret_on_command_line",
        exit::USAGE,
        format!(
            "refusing a secret given as {which}: every process on this machine can read a command line (/proc/PID/cmdline) and your shell keeps it in its history. Nothing was stored. Treat that value as exposed (rotate it in Encord), then run the command without it: it asks on the terminal, or reads the value from stdin with --stdin (e.g. `secret-tool lookup … | signet secret add NAME --kind … --stdin`)"
        ),
    )
    .into()
}

/// Reads a value: from stdin (`--stdin`), else from the terminal.
fn read_value(label: &str, v: &SecretValueArgs) -> Result<SecretValue> {
    if let Some(which) = v.on_argv() {
        return Err(on_argv(which));
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_VALUE_LEN + 2));
    if v.stdin {
        std::io::stdin()
            .lock()
            .take(MAX_VALUE_LEN as u64 + 2)
            .read_to_end(&mut buf)
            .context("could not read the value from stdin")?;
        // One line ending, as `echo`, `printf '%s\n'` or a file adds.
        if buf.ends_with(b"\n") {
            buf.pop();
            if buf.ends_with(b"\r") {
                buf.pop();
            }
        }
    } else {
        if !std::io::stdin().is_terminal() && std::env::var_os("SIGNET_ASKPASS").is_none() {
            bail!(
                "stdin is not a terminal to ask for the {label}: pipe it in with --stdin (never on the command line)"
            );
        }
        let typed = crate::secrets::ask(
            &format!("{label} (not echoed): "),
            "no terminal to ask on: pipe the value in with --stdin",
        )?;
        buf.extend_from_slice(typed.as_bytes());
    }
    Ok(SecretValue::copy_of(&buf))
}

fn kind(k: SecretKindArg) -> SecretKind {
    match k {
        SecretKindArg::EncordApiKey => SecretKind::EncordApiKey,
        SecretKindArg::EncordBearer => SecretKind::EncordBearer,
    }
}

fn lifetime_secs(d: Option<Duration>) -> u64 {
    d.map(|d| d.as_secs()).unwrap_or(0)
}

/// `signet secret add`.
fn add(ctx: &Ctx, a: SecretAddArgs) -> Result<()> {
    if let Some(which) = a.value.on_argv() {
        return Err(on_argv(which));
    }
    let kind = kind(a.kind);
    let label = match kind {
        SecretKind::EncordApiKey => format!("Encord API key for {}", a.name),
        SecretKind::EncordBearer => format!("Encord bearer token for {}", a.name),
    };
    let mut req = AddSecretRequest {
        name: a.name.clone(),
        kind,
        resource: a.resource.clone().unwrap_or_default(),
        scopes: a.scopes.clone(),
        title: a.title.clone().unwrap_or_default(),
        lifetime: lifetime_secs(a.lifetime),
        replace: a.replace,
        value: SecretValue::new(Vec::new()),
    };
    // Everything but the value is checked before asking for it.
    if let Err(e) = signet_proto::secret::check_name(&req.name)
        .and_then(|()| signet_proto::secret::check_resource(kind, &req.resource))
        .and_then(|()| signet_proto::secret::check_scopes(&req.scopes))
        .and_then(|()| signet_proto::secret::check_title(&req.title))
    {
        return Err(Failure::new("bad_request", exit::ERROR, e.to_string()).into());
    }
    let mut client = ctx.connect()?;
    req.value = read_value(&label, &a.value)?;
    if let Err(e) = signet_proto::secret::check_value(kind, req.value.expose()) {
        return Err(
            Failure::new("bad_request", exit::ERROR, format!("nothing stored: {e}")).into(),
        );
    }
    let info = client
        .secret_add(&req)
        .with_context(|| format!("could not store secret {:?}", a.name))?;
    ctx.note(format!(
        "stored {} {:?} ({}) in the {} key store",
        info.kind, info.name, info.fingerprint, info.store
    ));
    if info.rule.is_empty() {
        ctx.note(format!(
            "it has no rule, so only an admin of the agent may have it: bind it to one with [secrets.{}] policy = \"RULE\" (docs/secrets.md)",
            info.name
        ));
    }
    ctx.show("", &SecretJson::from(&info))
}

/// A stored secret as `--json` shows it (never the value).
#[derive(Serialize)]
struct SecretJson<'a> {
    name: &'a str,
    kind: &'static str,
    resource: &'a str,
    scopes: &'a [String],
    title: &'a str,
    fingerprint: &'a str,
    created_at: &'a str,
    expires_at: Option<String>,
    rule: Option<&'a str>,
    store: &'a str,
    state: &'a str,
}

impl<'a> From<&'a SecretInfo> for SecretJson<'a> {
    fn from(s: &'a SecretInfo) -> Self {
        Self {
            name: &s.name,
            kind: s.kind.as_str(),
            resource: &s.resource,
            scopes: &s.scopes,
            title: &s.title,
            fingerprint: &s.fingerprint,
            created_at: &s.created_at,
            expires_at: (s.expires_at != 0).then(|| rfc3339(s.expires_at)),
            rule: (!s.rule.is_empty()).then_some(s.rule.as_str()),
            store: &s.store,
            state: &s.state,
        }
    }
}

/// `signet secret list`.
fn list(ctx: &Ctx) -> Result<()> {
    let mut client = ctx.connect()?;
    let secrets = client.secret_list()?;
    let docs: Vec<SecretJson<'_>> = secrets.iter().map(SecretJson::from).collect();
    if secrets.is_empty() {
        return ctx.show("no secrets stored\n", &docs);
    }
    let rows: Vec<[String; 7]> = secrets
        .iter()
        .map(|s| {
            [
                s.name.clone(),
                s.kind.as_str().to_owned(),
                if s.resource.is_empty() {
                    "-".into()
                } else {
                    s.resource.clone()
                },
                if s.title.is_empty() {
                    "-".into()
                } else {
                    signet_proto::text::escape(&s.title)
                },
                if s.rule.is_empty() {
                    "(admins only)".into()
                } else {
                    s.rule.clone()
                },
                if s.expires_at == 0 {
                    "never".into()
                } else {
                    rfc3339(s.expires_at)
                },
                s.fingerprint.clone(),
            ]
        })
        .collect();
    let head = [
        "NAME",
        "KIND",
        "RESOURCE",
        "TITLE",
        "RULE",
        "EXPIRES",
        "FINGERPRINT",
    ];
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        l.push('\n');
        l
    };
    let mut text = line(&head.map(String::from));
    for r in &rows {
        text.push_str(&line(r));
    }
    ctx.show(&text, &docs)
}

/// `signet secret remove`.
fn remove(ctx: &Ctx, a: &SecretNameArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    let info = client
        .secret_remove(&a.name)
        .with_context(|| format!("could not remove secret {:?}", a.name))?;
    ctx.note(format!(
        "removed {} {:?} ({})",
        info.kind, info.name, info.fingerprint
    ));
    ctx.show("", &SecretJson::from(&info))
}

/// `signet secret fingerprint`.
fn fingerprint(ctx: &Ctx, a: &SecretValueArgs) -> Result<()> {
    let value = read_value("value", a)?;
    let fp = value.fingerprint();
    ctx.show(
        &format!("{fp}\n"),
        &serde_json::json!({ "fingerprint": fp }),
    )
}

/// The secret `name` released by the agent (its rule decides; audited).
pub(crate) fn release(client: &mut signet_client::Client, name: &str) -> Result<Released> {
    client
        .get_secret(name)
        .with_context(|| format!("the agent did not release secret {name:?}"))
}

/// The Encord endpoint that mints a bearer token (the SDK's
/// `get_bearer_token`: `GET /v2/public/user/bearer-token`, signed v2).
pub const BEARER_TOKEN_PATH: &str = "/v2/public/user/bearer-token";

/// `signet secret mint-bearer`.
fn mint_bearer(ctx: &Ctx, a: MintBearerArgs) -> Result<()> {
    let domain = a.domain.trim_end_matches('/');
    if !domain.starts_with("https://") {
        bail!("--domain {domain:?} must be an https:// URL (the token is a secret)");
    }
    let url = format!("{domain}{BEARER_TOKEN_PATH}");
    let mut client = ctx.connect()?;
    let signed = client
        .sign_request_body(Some(&a.key), Scheme::EncordV2, "GET", &url, b"")
        .with_context(|| {
            format!(
                "could not sign the bearer-token request with key {:?}",
                a.key
            )
        })?;
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(ca) = &a.ca_file {
        let pem = std::fs::read(ca)
            .with_context(|| format!("could not read the CA file {}", ca.display()))?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            bail!("the CA file {} holds no PEM certificate", ca.display());
        }
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .max_redirects(0)
        .build()
        .into();
    let mut req = agent.get(&url).header("Accept", "application/json").header(
        "User-Agent",
        format!("signet/{}", env!("CARGO_PKG_VERSION")),
    );
    for h in &signed.headers {
        req = req.header(h.name.as_str(), h.value.as_str());
    }
    let mut resp = req
        .call()
        .with_context(|| format!("could not reach Encord at {domain}"))?;
    let status = resp.status().as_u16();
    let mut body = Zeroizing::new(Vec::with_capacity(16 * 1024));
    resp.body_mut()
        .as_reader()
        .take(64 * 1024)
        .read_to_end(&mut body)
        .with_context(|| format!("could not read Encord's answer from {domain}"))?;
    if status != 200 {
        // The body of a refusal carries no token; show a little of it.
        let said: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        bail!(
            "Encord refused the bearer-token request (HTTP {status}: {}): is key {:?} registered with Encord (`signet register {}`)? Nothing was stored",
            signet_proto::text::escape(said.trim()),
            a.key,
            a.key
        );
    }
    // Borrowed from the (zeroizing) body: no other copy of the token.
    #[derive(serde::Deserialize)]
    struct TokenReply<'a> {
        token: &'a str,
    }
    let reply: TokenReply<'_> = serde_json::from_slice(&body).map_err(|_| {
        anyhow::anyhow!(
            "Encord's answer to the bearer-token request is not {{\"token\": …}}: nothing was stored"
        )
    })?;
    let req = AddSecretRequest {
        name: a.name.clone(),
        kind: SecretKind::EncordBearer,
        resource: String::new(),
        scopes: Vec::new(),
        title: a
            .title
            .clone()
            .unwrap_or_else(|| format!("minted with key {}", a.key)),
        lifetime: lifetime_secs(a.lifetime),
        replace: a.replace,
        value: SecretValue::copy_of(reply.token.as_bytes()),
    };
    if let Err(e) = signet_proto::secret::check_value(SecretKind::EncordBearer, req.value.expose())
    {
        bail!("Encord's token cannot be stored: {e}");
    }
    let info = client
        .secret_add(&req)
        .with_context(|| format!("could not store the minted token as {:?}", a.name))?;
    ctx.note(format!(
        "minted a bearer token with key {:?} and stored it as {:?} ({})",
        a.key, info.name, info.fingerprint
    ));
    ctx.show("", &SecretJson::from(&info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_169_600), "2026-12-02T00:00:00Z");
    }
}
