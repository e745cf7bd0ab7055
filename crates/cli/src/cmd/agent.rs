//! The agent itself: `start`, `env`, `stop`, `status`, `reload`, `lock`,
//! `unlock`; and, when nothing answers, which other agent does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde_json::json;
use signet_client::{Client, Error as ClientError};
use signet_proto::paths::{self, SocketEnv};

use super::{not_running, Ctx};
use crate::cli::{exit, PassphraseArgs, ShellArgs, UnlockArgs};
use crate::failure::Failure;
use crate::lifecycle;
use crate::output::{self, Shell};
use crate::secrets;

/// The system agent's socket (`signetd --system`).
const SYSTEM_SOCKET: &str = "/run/signet/agent.sock";

fn shell_of(a: &ShellArgs) -> Shell {
    if a.sh {
        Shell::Posix
    } else if a.fish {
        Shell::Fish
    } else if a.csh {
        Shell::Csh
    } else {
        Shell::from_env(std::env::var_os("SHELL").as_deref())
    }
}

/// The other places an agent of this user may answer, and why each is a
/// candidate: the default path under the other half of the rule (a shell
/// without `XDG_RUNTIME_DIR`, as in sudo, docker or some Jupyter kernels,
/// falls back to the state directory, and the reverse), and the system
/// agent's socket.
pub(crate) fn other_default_paths(socket: &Path) -> Vec<(PathBuf, &'static str)> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (runtime, state) = (var("XDG_RUNTIME_DIR"), var("XDG_STATE_HOME"));
    let home =
        var("HOME").or_else(|| std::env::home_dir().and_then(|h| h.to_str().map(str::to_owned)));
    let uname = rustix::system::uname();
    let hostname = uname.nodename().to_string_lossy().into_owned();
    let uid = rustix::process::geteuid().as_raw();
    fn env<'a>(
        runtime: Option<&'a str>,
        state: Option<&'a str>,
        home: Option<&'a str>,
        hostname: &'a str,
    ) -> SocketEnv<'a> {
        SocketEnv {
            signet_auth_sock: None,
            xdg_runtime_dir: runtime,
            xdg_state_home: state,
            home,
            hostname,
        }
    }
    let mut out = Vec::new();
    // The usual runtime directory, for a shell that lost XDG_RUNTIME_DIR.
    let login_runtime = format!("/run/user/{uid}");
    let runtime_candidates: [(Option<&str>, &'static str); 3] = [
        (
            runtime.as_deref(),
            "the default path for this shell's XDG_RUNTIME_DIR",
        ),
        (
            Some(login_runtime.as_str()),
            "the default path of your login session (XDG_RUNTIME_DIR is unset or different here)",
        ),
        (
            None,
            "the default path without XDG_RUNTIME_DIR (under XDG_STATE_HOME)",
        ),
    ];
    for (rt, why) in runtime_candidates {
        if let Ok(p) =
            paths::default_socket_path(&env(rt, state.as_deref(), home.as_deref(), &hostname))
        {
            if p != socket && !out.iter().any(|(q, _)| *q == p) {
                out.push((p, why));
            }
        }
    }
    let system = PathBuf::from(SYSTEM_SOCKET);
    if system != socket {
        out.push((system, "the system agent's socket"));
    }
    out
}

/// Whether signetd answers at `path` (and passes the client's trust
/// checks), quickly.
fn answers(path: &Path) -> Option<signet_client::VersionReply> {
    if !path.exists() {
        return None;
    }
    let mut c = Client::connect_to(path).ok()?;
    c.set_timeout(Some(Duration::from_secs(2))).ok()?;
    c.version().ok()
}

/// The agent answering at another default place, if one does.
pub(crate) fn elsewhere(socket: &Path) -> Option<(PathBuf, &'static str, String)> {
    other_default_paths(socket)
        .into_iter()
        .find_map(|(p, why)| answers(&p).map(|v| (p, why, v.agent_version)))
}

/// A connect error, with the agent that answers elsewhere named when
/// nothing answers at `socket`.
pub(crate) fn explain_not_running(ctx: &Ctx, socket: &Path, e: ClientError) -> anyhow::Error {
    if !matches!(e, ClientError::NotRunning { .. }) {
        return e.into();
    }
    let Some((other, why, version)) = elsewhere(socket) else {
        return e.into();
    };
    let export = output::start_line(&other, Shell::Posix);
    let advice = if other == Path::new(SYSTEM_SOCKET) {
        format!(
            "to use it, `{}` (or `signet start` for an agent of your own)",
            export.trim_end()
        )
    } else {
        format!(
            "point SIGNET_AUTH_SOCK at it: `{}` (`signet start` here would start a second, empty agent)",
            export.trim_end()
        )
    };
    let message = format!(
        "no agent running at {}{}, but signetd {version} answers at {} ({why}): {advice}",
        socket.display(),
        if ctx.socket_named() {
            " (from SIGNET_AUTH_SOCK or --socket)"
        } else {
            ""
        },
        other.display(),
    );
    Failure::new("not_running", exit::NOT_RUNNING, message)
        .with_data(json!({
            "running": false,
            "socket": socket.to_string_lossy(),
            "other_agent": other.to_string_lossy(),
        }))
        .into()
}

pub(crate) fn start(ctx: &Ctx, a: &ShellArgs) -> Result<()> {
    let shell = shell_of(a);
    let socket = ctx.socket()?;
    let show = |socket: &Path, started: bool, version: &str| {
        ctx.show(
            &output::start_lines(socket, shell, a.ssh),
            &json!({
                "socket": socket.to_string_lossy(),
                "started": started,
                "agent_version": version,
                "shell": shell,
                "ssh_auth_sock": a.ssh,
            }),
        )
    };
    if let Some(v) = lifecycle::probe(&socket)? {
        ctx.note(format_args!(
            "signetd {} is already running at {}",
            v.agent_version,
            socket.display()
        ));
        return show(&socket, false, &v.agent_version);
    }
    // An agent of this user answering at another default path (a shell
    // without XDG_RUNTIME_DIR, say) is the one to use: starting another
    // would give an empty second agent. The system agent is only named.
    if !ctx.socket_named() {
        if let Some((other, why, version)) = elsewhere(&socket) {
            if other != Path::new(SYSTEM_SOCKET) {
                ctx.note(format_args!(
                    "signetd {version} already answers at {} ({why}): using it rather than starting a second, empty agent at {}",
                    other.display(),
                    socket.display()
                ));
                return show(&other, false, &version);
            }
            ctx.note(format_args!(
                "the system agent answers at {}; starting your own agent at {} (`export SIGNET_AUTH_SOCK={}` to use the system agent instead)",
                other.display(),
                socket.display(),
                other.display()
            ));
        }
    }
    let v = lifecycle::spawn_and_wait(&socket)?;
    ctx.note(format_args!(
        "started signetd {} at {}",
        v.agent_version,
        socket.display()
    ));
    show(&socket, true, &v.agent_version)
}

pub(crate) fn env(ctx: &Ctx, a: &ShellArgs) -> Result<()> {
    let shell = shell_of(a);
    let socket = ctx.socket()?;
    ctx.show(
        &output::env_lines(&socket, shell, a.ssh),
        &json!({"socket": socket.to_string_lossy(), "shell": shell, "ssh_auth_sock": a.ssh}),
    )
}

pub(crate) fn stop(ctx: &Ctx) -> Result<()> {
    let socket = ctx.socket()?;
    ctx.connect()?.stop()?;
    lifecycle::wait_until_stopped(&socket)?;
    ctx.note(format_args!("stopped the agent at {}", socket.display()));
    ctx.show(
        "",
        &json!({"stopped": true, "socket": socket.to_string_lossy()}),
    )
}

pub(crate) fn status(ctx: &Ctx) -> Result<()> {
    let socket = ctx.socket()?;
    let st = match ctx.connect().and_then(|mut c| Ok(c.status()?)) {
        Ok(st) => st,
        Err(e) if not_running(&e) && e.downcast_ref::<Failure>().is_none() => {
            // Scripts get `running: false` beside the error, and exit 3.
            return Err(
                Failure::new("not_running", exit::NOT_RUNNING, e.to_string())
                    .with_data(json!({"running": false, "socket": socket.to_string_lossy()}))
                    .into(),
            );
        }
        Err(e) => return Err(e),
    };
    // Which key store the agent uses, and why (and, for keyutils, that it
    // does not survive a reboot).
    let store = ctx.connect().and_then(|mut c| Ok(c.store_info()?)).ok();
    let mut doc = serde_json::to_value(output::StatusJson::from(&st))?;
    if let (Some(info), Some(map)) = (&store, doc.as_object_mut()) {
        map.insert(
            "store".to_owned(),
            json!({
                "backend": info.backend,
                "reason": info.reason,
                "persistence": info.persistence,
                "service": info.service,
                "index": info.index,
                "problem": info.problem,
                "seal": info.seal,
                "sealing": info.sealing,
                "unlocked_for_secs": info.unlocked_for,
                "recipient": info.recipient,
                "kdf": info.kdf,
            }),
        );
    }
    // Where the audit log is, whether it is sealed, and whether signing
    // stops when it cannot be written ([audit] required).
    let audit = ctx.connect().and_then(|mut c| Ok(c.audit_info()?)).ok();
    if let (Some(a), Some(map)) = (&audit, doc.as_object_mut()) {
        map.insert(
            "audit".to_owned(),
            json!({
                "enabled": a.enabled,
                "path": a.path,
                "required": a.required,
                "durability": a.durability,
                "writing": a.writing,
                "problem": a.problem,
                "audit_key": a.public_key.map(hex::encode),
                "head_seq": a.head_seq,
                "pending": a.pending,
            }),
        );
    }
    let mut text = output::status_text(&st);
    if let Some(info) = &store {
        text.push_str(&super::store::status_text(info));
    }
    if let Some(a) = &audit {
        text.push_str(&output::audit_status_text(a));
    }
    ctx.show(&text, &doc)
}

pub(crate) fn reload(ctx: &Ctx) -> Result<()> {
    let said = ctx.connect()?.reload()?;
    ctx.note(&said);
    ctx.show("", &json!({"reloaded": true, "message": said}))
}

pub(crate) fn lock(ctx: &Ctx, a: &PassphraseArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    if client.status()?.locked {
        ctx.note("the agent is already locked");
        return ctx.show("", &json!({"locked": true, "was_locked": true}));
    }
    let keys = client.status()?.keys;
    let sealed = client
        .store_info()
        .is_ok_and(|i| i.sealing == "unlocked" || i.sealing == "locked");
    let pass = secrets::read_lock_passphrase(a.passphrase_stdin, true)?;
    client.lock(&pass)?;
    // What locking does (see signetd's agent::stored): loaded keys stay,
    // hidden and refused; the sealed store's unlock is forgotten.
    ctx.note(format_args!(
        "locked the agent: it signs nothing and shows no keys until `signet unlock`; its {keys} loaded key(s) stay loaded (hidden), and every remembered confirmation is forgotten{}",
        if sealed {
            "; the key store is locked too (`signet unlock-store` before loading more keys)"
        } else {
            ""
        }
    ));
    ctx.show(
        "",
        &json!({"locked": true, "was_locked": false, "keys_kept": keys, "store_locked": sealed}),
    )
}

pub(crate) fn unlock(ctx: &Ctx, a: &UnlockArgs) -> Result<()> {
    let mut client = ctx.connect()?;
    if a.token {
        // One try per run: the agent counts wrong PINs and stops before the
        // token's own limit, so a loop here would only reach that sooner.
        let pin = secrets::read_token_pin(a.passphrase_stdin)?;
        let said = client.token_login(&pin)?;
        ctx.note(&said);
        return ctx.show("", &json!({"token": true, "message": said}));
    }
    if !client.status()?.locked {
        ctx.note("the agent is not locked");
        return ctx.show("", &json!({"locked": false, "was_locked": false}));
    }
    secrets::with_lock_passphrase(a.passphrase_stdin, |pass| client.unlock(pass))?;
    let keys = client.status()?.keys;
    let store_locked = client.store_info().is_ok_and(|i| i.sealing == "locked");
    ctx.note(format_args!(
        "unlocked the agent: its {keys} loaded key(s) sign again{}",
        if store_locked {
            "; the key store stays locked until `signet unlock-store`"
        } else {
            ""
        }
    ));
    ctx.show(
        "",
        &json!({"locked": false, "was_locked": true, "keys": keys, "store_locked": store_locked}),
    )
}
