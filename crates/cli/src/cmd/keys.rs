//! Keys in the agent for this session: `add`, `list`, `remove`.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use signet_client::{op, Error as ClientError};
use signet_proto::duration::human;
use signet_proto::text::escape;

use super::{not_running, store, Ctx};
use crate::cli::{exit, AddArgs, ListArgs, RemoveArgs};
use crate::failure::Failure;
use crate::output::{self, KeyRow};
use crate::secrets::{self, PassphraseSource};

pub(crate) fn add(ctx: &Ctx, a: AddArgs) -> Result<()> {
    // Connect first: no point asking for a passphrase with no agent running.
    let mut client = ctx.connect()?;
    if a.confirm {
        refuse_confirm_without_askpass(ctx, &mut client)?;
    }
    let source = if a.passphrase_stdin {
        PassphraseSource::Stdin
    } else {
        PassphraseSource::Ask
    };
    let key = secrets::read_key_file(&a.file, source, a.force)?;
    let name = match a.name {
        Some(n) => n,
        None if !key.comment.is_empty() => key.comment.clone(),
        None => default_name(&a.file),
    };
    client
        .run(op::Add {
            seed: &key.seed,
            public: &key.public,
            name: &name,
            lifetime: a.lifetime,
            confirm: a.confirm,
            remember: a.remember,
        })
        .with_context(|| format!("could not add {}", secrets::display_path(&a.file)))?;
    let blob = signet_proto::key::ed25519_blob(&key.public);
    let fp = signet_proto::key::fingerprint(&blob);
    let key_id = signet_proto::key::key_id(&key.public);
    drop(key);
    let mut line = format!("added {} ({fp})", escape(&name));
    if let Some(l) = a.lifetime {
        line.push_str(&format!(", removed in {}", human(l.as_secs())));
    }
    if a.confirm {
        line.push_str(", each use confirmed");
    }
    if let Some(r) = a.remember {
        line.push_str(&format!(
            " (a yes lasts {} for the process that asked)",
            human(r.as_secs())
        ));
    }
    ctx.note(line);
    ctx.show(
        "",
        &json!({"added": {
            "name": name,
            "fingerprint": fp,
            "key_id": key_id,
            "lifetime_secs": a.lifetime.map(|l| l.as_secs()),
            "confirm": a.confirm,
            "remember_secs": a.remember.map(|r| r.as_secs()),
        }}),
    )
}

/// `--confirm` on an agent that cannot ask anyone would add a key that
/// refuses every use: refuse it, and say how to give the agent an askpass
/// program. (An agent too old to say is given the benefit of the doubt.)
fn refuse_confirm_without_askpass(ctx: &Ctx, client: &mut signet_client::Client) -> Result<()> {
    let Ok(diagnosis) = client.diagnose() else {
        return Ok(());
    };
    if diagnosis.confirm_available {
        return Ok(());
    }
    let socket = ctx.socket()?;
    Err(Failure::new(
        "no_askpass",
        exit::ERROR,
        format!(
            "--confirm needs the agent to ask you, but signetd at {} has no askpass program \
             (SIGNET_ASKPASS or SSH_ASKPASS in its environment), so every use of the key would be \
             refused; nothing was added. Restart the agent with one: `signet stop && \
             SIGNET_ASKPASS=/usr/bin/ssh-askpass signet start` (for a systemd unit: \
             Environment=SIGNET_ASKPASS=… in `systemctl --user edit signet.service`)",
            socket.display()
        ),
    )
    .into())
}

fn default_name(file: &Path) -> String {
    if file.as_os_str() == "-" {
        return "stdin".to_owned();
    }
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "key".to_owned())
}

pub(crate) fn list(ctx: &Ctx, a: &ListArgs) -> Result<()> {
    let mut client = match ctx.connect() {
        Ok(c) => c,
        // No agent: show the stored keys from the index anyway, exit 3.
        Err(e) if not_running(&e) => return store::list_offline(ctx, e),
        Err(e) => return Err(e),
    };
    let keys = match client.list_keys() {
        Ok(k) => k,
        Err(ClientError::Locked) => return Err(locked().into()),
        Err(e) => return Err(e.into()),
    };
    if keys.is_empty() && client.status()?.locked {
        // A locked agent lists nothing; say why instead of "no keys loaded".
        return Err(locked().into());
    }
    // Stored keys first (loaded or not), then keys added for this session
    // only (ssh-add, signet add).
    let stored = client.stored_keys()?;
    let mut rows: Vec<KeyRow> = stored.iter().map(KeyRow::from_stored).collect();
    for k in &keys {
        if let Some(row) = rows.iter_mut().find(|r| r.key_id == k.key_id()) {
            row.expires_in_secs = k.expires_in.map(|d| d.as_secs());
            row.confirm = k.confirm;
            row.policy = k.policy.clone();
            row.certificates = k.certificates.iter().map(output::CertRow::from).collect();
            row.certificate_only = !k.listed;
        } else {
            rows.push(KeyRow::from(k));
        }
    }
    let width = if a.wide {
        None
    } else {
        output::terminal_width()
    };
    ctx.show(&output::key_table(&rows, width), &rows)
}

fn locked() -> Failure {
    Failure::new(
        "locked",
        exit::LOCKED,
        "the agent is locked: its keys are hidden while locked and nothing is signed; \
         `signet unlock` shows them again",
    )
}

pub(crate) fn remove(ctx: &Ctx, a: RemoveArgs) -> Result<()> {
    if a.yes {
        ctx.note("--yes is ignored: `signet remove` only unloads; `signet delete KEY --yes` deletes a stored key");
    }
    let mut client = ctx.connect()?;
    if a.all {
        // Named first, so the user (and --json) hears what went.
        let before = client.list_keys().unwrap_or_default();
        client.remove_all()?;
        ctx.note(format_args!(
            "unloaded every key from the agent ({}); stored keys stay in the keyring (`signet load --all` loads them again)",
            before.len()
        ));
        let gone: Vec<_> = before.iter().map(removed).collect();
        return ctx.show("", &json!({"removed": gone}));
    }
    let selector = a.key.as_deref().unwrap_or_default();
    let key = match client.resolve(selector) {
        Ok(k) => k,
        Err(e @ (ClientError::NoSuchKey { .. } | ClientError::KeyExpired { .. })) => {
            // Not loaded: if it is a stored key, say so and how to delete it.
            if let Some(stored) = store::find_stored(&mut client, selector)? {
                return Err(Failure::no_key(
                    "stored_not_loaded",
                    format!(
                        "{} is stored in the {} keyring but not loaded, so there is nothing to \
                         remove from the agent; to delete it from the keyring: `signet delete {}`",
                        escape(&stored.name),
                        stored.store,
                        escape(&stored.name)
                    ),
                )
                .into());
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    // The key and its certificates: each is an identity of its own.
    for blob in key.identity_blobs() {
        client.remove(blob)?;
    }
    let stored = key.source == "keyring";
    let certs = match key.certificates.len() {
        0 => String::new(),
        1 => " with its certificate".to_owned(),
        n => format!(" with its {n} certificates"),
    };
    ctx.note(format_args!(
        "removed {} ({}){certs} from the agent{}",
        escape(&key.name),
        key.fingerprint(),
        if stored {
            format!(
                "; it stays in the keyring (`signet load {}` loads it again, `signet delete {}` deletes it)",
                escape(&key.name),
                escape(&key.name)
            )
        } else {
            String::new()
        }
    ));
    ctx.show("", &json!({"removed": [removed(&key)]}))
}

fn removed(k: &signet_client::KeyInfo) -> serde_json::Value {
    json!({
        "name": k.name,
        "fingerprint": k.fingerprint(),
        "key_id": k.key_id(),
        "source": k.source,
    })
}
