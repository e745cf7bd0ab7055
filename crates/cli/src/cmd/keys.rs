//! Keys in the agent for this session: `add`, `list`, `remove`.

use std::path::Path;

use anyhow::{Context, Result};
use signet_client::Error as ClientError;

use super::{connect, not_running, out, store};
use crate::cli::{AddArgs, RemoveArgs};
use crate::output::{self, KeyRow};
use crate::secrets::{self, PassphraseSource};

pub(crate) fn add(socket: &Path, a: AddArgs) -> Result<()> {
    // Connect first: no point asking for a passphrase with no agent running.
    let mut client = connect(socket)?;
    let source = if a.passphrase_stdin {
        PassphraseSource::Stdin
    } else {
        PassphraseSource::Terminal
    };
    let key = secrets::read_key_file(&a.file, source)?;
    let name = match a.name {
        Some(n) => n,
        None if !key.comment.is_empty() => key.comment.clone(),
        None => default_name(&a.file),
    };
    client
        .add_ed25519(&key.seed, &key.public, &name, a.lifetime, a.confirm)
        .with_context(|| format!("could not add {}", secrets::display_path(&a.file)))?;
    let fp = signet_proto::key::fingerprint(&signet_proto::key::ed25519_blob(&key.public));
    drop(key);
    let mut line = format!("signet: added {name} ({fp})");
    if let Some(l) = a.lifetime {
        line.push_str(&format!(
            ", removed in {}",
            signet_proto::duration::human(l.as_secs())
        ));
    }
    if a.confirm {
        line.push_str(", each use confirmed");
    }
    eprintln!("{line}");
    Ok(())
}

fn default_name(file: &Path) -> String {
    if file.as_os_str() == "-" {
        return "stdin".to_owned();
    }
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "key".to_owned())
}

pub(crate) fn list(socket: &Path, json: bool) -> Result<()> {
    let mut client = match connect(socket) {
        Ok(c) => c,
        // No agent: show the stored keys from the index anyway, exit 3.
        Err(e) if not_running(&e) => return store::list_offline(json, e),
        Err(e) => return Err(e),
    };
    let keys = client.list_keys()?;
    if keys.is_empty() && client.status()?.locked {
        // A locked agent lists nothing; say why instead of "no keys loaded".
        return Err(ClientError::Locked.into());
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
        } else {
            rows.push(KeyRow::from(k));
        }
    }
    if json {
        out(&(serde_json::to_string_pretty(&rows)? + "\n"))
    } else {
        out(&output::key_table(&rows))
    }
}

pub(crate) fn remove(socket: &Path, a: RemoveArgs) -> Result<()> {
    let mut client = connect(socket)?;
    if a.all {
        client.remove_all()?;
        eprintln!("signet: removed all keys");
        return Ok(());
    }
    let selector = a.key.as_deref().unwrap_or_default();
    // A stored key is deleted from the keyring (after confirmation); any
    // other key is only removed from the agent, as before.
    if let Some(stored) = store::find_stored(&mut client, selector)? {
        store::confirm_delete(&stored, a.yes)?;
        let k = client.delete_stored(&stored.name)?;
        eprintln!(
            "signet: deleted {} ({}) from the {} key store",
            k.name,
            signet_proto::key::fingerprint(&signet_proto::key::ed25519_blob(&k.public)),
            k.store
        );
        return Ok(());
    }
    let key = client.resolve(selector)?;
    client.remove(&key.key_blob)?;
    eprintln!("signet: removed {} ({})", key.name, key.fingerprint());
    Ok(())
}
