//! One function per subcommand. Data goes to stdout; messages for people go
//! to stderr.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;
use serde::Serialize;
use signet_client::{Client, Error as ClientError, Scheme};

use crate::args::{
    AddArgs, Cli, Command, EnvArgs, PassphraseArgs, RemoveArgs, SignArgs, SignRequestArgs,
};
use crate::lifecycle;
use crate::output::{self, HeaderFormat, KeyRow, Shell};
use crate::secrets::{self, PassphraseSource};
use crate::store_cmds;

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    // The socket path is worked out only for the commands that use it, so
    // `audit` and `install-units` work without HOME.
    let socket = || -> Result<PathBuf> {
        match cli.socket.clone() {
            Some(s) => Ok(s),
            None => Ok(Client::socket_path()?),
        }
    };
    match cli.command {
        Command::InstallUnits(a) => crate::units::install(&a),
        Command::Audit(a) => crate::audit_cmds::run(a, json),
        Command::Start => start(&socket()?),
        Command::Env(a) => env(&socket()?, &a),
        Command::Stop => stop(&socket()?),
        Command::Status => status(&socket()?, json),
        Command::Add(a) => add(&socket()?, a),
        Command::List => list(&socket()?, json),
        Command::Remove(a) => remove(&socket()?, a),
        Command::Lock(a) => lock(&socket()?, &a),
        Command::Unlock(a) => unlock(&socket()?, &a),
        Command::SignRequest(a) => sign_request(&socket()?, a, json),
        Command::Sign(a) => sign(&socket()?, a, json),
        Command::Exec(a) => crate::exec::exec(&socket()?, a),
        Command::Explain(a) => explain(&socket()?, a, json),
        Command::Generate(a) => store_cmds::generate(&socket()?, a),
        Command::Import(a) => store_cmds::import(&socket()?, a),
        Command::Register(a) => store_cmds::register(&socket()?, a, json),
        Command::Pubkey(a) => store_cmds::pubkey(&socket()?, a),
        Command::Load(a) => store_cmds::load(&socket()?, a),
        Command::Unload(a) => store_cmds::unload(&socket()?, a),
        Command::Rename(a) => store_cmds::rename(&socket()?, a),
        Command::Doctor(a) => store_cmds::doctor(&socket()?, a, json),
    }
}

fn out(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("could not write to stdout")
}

fn connect(socket: &Path) -> Result<Client> {
    Ok(Client::connect_to(socket)?)
}

fn export_line(socket: &Path) -> String {
    format!(
        "export SIGNET_AUTH_SOCK={};\n",
        output::shell_quote(&socket.to_string_lossy())
    )
}

fn start(socket: &Path) -> Result<()> {
    if let Some(v) = lifecycle::probe(socket)? {
        eprintln!(
            "signet: signetd {} is already running at {}",
            v.agent_version,
            socket.display()
        );
        return out(&export_line(socket));
    }
    let v = lifecycle::spawn_and_wait(socket)?;
    eprintln!(
        "signet: started signetd {} at {}",
        v.agent_version,
        socket.display()
    );
    out(&export_line(socket))
}

fn env(socket: &Path, a: &EnvArgs) -> Result<()> {
    let shell = if a.fish {
        Shell::Fish
    } else if a.csh {
        Shell::Csh
    } else {
        Shell::Posix
    };
    out(&output::env_line(socket, shell))
}

fn stop(socket: &Path) -> Result<()> {
    connect(socket)?.stop()?;
    lifecycle::wait_until_stopped(socket)?;
    eprintln!("signet: stopped the agent at {}", socket.display());
    Ok(())
}

fn status(socket: &Path, json: bool) -> Result<()> {
    let st = match connect(socket).and_then(|mut c| Ok(c.status()?)) {
        Ok(st) => st,
        Err(e) => {
            if json && not_running(&e) {
                // Scripts get a document as well as exit code 3.
                let doc = serde_json::json!({
                    "running": false,
                    "socket": socket.to_string_lossy(),
                });
                out(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
            }
            return Err(e);
        }
    };
    // Which key store the agent uses, and why (and, for keyutils, that it
    // does not survive a reboot).
    let store = connect(socket).and_then(|mut c| Ok(c.store_info()?)).ok();
    if json {
        let mut doc = serde_json::to_value(output::StatusJson::from(&st))?;
        if let (Some(info), Some(map)) = (&store, doc.as_object_mut()) {
            map.insert(
                "store".to_owned(),
                serde_json::json!({
                    "backend": info.backend,
                    "reason": info.reason,
                    "persistence": info.persistence,
                    "service": info.service,
                    "index": info.index,
                    "problem": info.problem,
                }),
            );
        }
        out(&(serde_json::to_string_pretty(&doc)? + "\n"))
    } else {
        let mut text = output::status_text(&st);
        if let Some(info) = &store {
            text.push_str(&store_cmds::status_text(info));
        }
        out(&text)
    }
}

fn not_running(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<ClientError>(),
        Some(ClientError::NotRunning { .. })
    )
}

fn add(socket: &Path, a: AddArgs) -> Result<()> {
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
            crate::duration::human(l.as_secs())
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

fn list(socket: &Path, json: bool) -> Result<()> {
    let mut client = match connect(socket) {
        Ok(c) => c,
        // No agent: show the stored keys from the index anyway, exit 3.
        Err(e) if not_running(&e) => return store_cmds::list_offline(json, e),
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

fn remove(socket: &Path, a: RemoveArgs) -> Result<()> {
    let mut client = connect(socket)?;
    if a.all {
        client.remove_all()?;
        eprintln!("signet: removed all keys");
        return Ok(());
    }
    let selector = a.key.as_deref().unwrap_or_default();
    // A stored key is deleted from the keyring (after confirmation); any
    // other key is only removed from the agent, as before.
    if let Some(stored) = store_cmds::find_stored(&mut client, selector)? {
        store_cmds::confirm_delete(&stored, a.yes)?;
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

fn lock(socket: &Path, a: &PassphraseArgs) -> Result<()> {
    let mut client = connect(socket)?;
    if client.status()?.locked {
        eprintln!("signet: the agent is already locked");
        return Ok(());
    }
    let pass = secrets::read_lock_passphrase(a.passphrase_stdin, true)?;
    client.lock(&pass)?;
    eprintln!("signet: locked the agent; `signet unlock` to use its keys again");
    Ok(())
}

fn unlock(socket: &Path, a: &PassphraseArgs) -> Result<()> {
    let mut client = connect(socket)?;
    if !client.status()?.locked {
        eprintln!("signet: the agent is not locked");
        return Ok(());
    }
    let pass = secrets::read_lock_passphrase(a.passphrase_stdin, false)?;
    client.unlock(&pass)?;
    eprintln!("signet: unlocked the agent");
    Ok(())
}

fn explain(socket: &Path, a: crate::args::ExplainArgs, json: bool) -> Result<()> {
    use crate::args::ExplainScheme;
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

fn sign_request(socket: &Path, a: SignRequestArgs, json: bool) -> Result<()> {
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

fn sign(socket: &Path, a: SignArgs, json: bool) -> Result<()> {
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
