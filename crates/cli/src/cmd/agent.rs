//! The agent itself: `start`, `env`, `stop`, `status`, `lock`, `unlock`.

use std::path::Path;

use anyhow::Result;

use super::{connect, not_running, out};
use crate::cli::{EnvArgs, PassphraseArgs};
use crate::lifecycle;
use crate::output::{self, Shell};
use crate::secrets;

fn export_line(socket: &Path) -> String {
    format!(
        "export SIGNET_AUTH_SOCK={};\n",
        output::shell_quote(&socket.to_string_lossy())
    )
}

pub(crate) fn start(socket: &Path) -> Result<()> {
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

pub(crate) fn env(socket: &Path, a: &EnvArgs) -> Result<()> {
    let shell = if a.fish {
        Shell::Fish
    } else if a.csh {
        Shell::Csh
    } else {
        Shell::Posix
    };
    out(&output::env_line(socket, shell))
}

pub(crate) fn stop(socket: &Path) -> Result<()> {
    connect(socket)?.stop()?;
    lifecycle::wait_until_stopped(socket)?;
    eprintln!("signet: stopped the agent at {}", socket.display());
    Ok(())
}

pub(crate) fn status(socket: &Path, json: bool) -> Result<()> {
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
            text.push_str(&super::store::status_text(info));
        }
        out(&text)
    }
}

pub(crate) fn lock(socket: &Path, a: &PassphraseArgs) -> Result<()> {
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

pub(crate) fn unlock(socket: &Path, a: &PassphraseArgs) -> Result<()> {
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
