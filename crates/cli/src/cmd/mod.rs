//! One function per subcommand, one file per command family.
//!
//! Data goes to stdout, messages for people to stderr. With `--json` every
//! command prints exactly one JSON document on stdout, whether it succeeds
//! (its result, through [`Ctx::show`]) or fails (`main` prints the error
//! document, `crate::failure::document`); `audit tail -f`, a stream, prints
//! one record per line.

mod agent;
mod audit;
mod exec;
mod keys;
mod manual;
mod seal;
mod secret;
mod sign;
mod store;
mod units;

use std::fmt::Display;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use serde::Serialize;
use signet_client::{Client, Error as ClientError};

use crate::cli::{Cli, Command};

/// Set once a JSON document went to stdout, so that `main` never prints a
/// second one.
static EMITTED: AtomicBool = AtomicBool::new(false);

/// Records that a JSON document is being printed by other means.
pub(crate) fn mark_emitted() {
    EMITTED.store(true, Ordering::Relaxed);
}

/// Whether a JSON document has been printed already.
pub fn emitted() -> bool {
    EMITTED.load(Ordering::Relaxed)
}

/// What every command gets: the global options.
pub(crate) struct Ctx {
    socket: Option<PathBuf>,
    /// `--json`.
    pub json: bool,
}

impl Ctx {
    /// The agent's socket: `--socket`, else the default rule. Worked out
    /// only for the commands that use it, so that `audit` and
    /// `install-units` work without HOME.
    pub fn socket(&self) -> Result<PathBuf> {
        match &self.socket {
            Some(s) => Ok(s.clone()),
            None => Ok(Client::socket_path()?),
        }
    }

    /// Whether the socket was named (`--socket` or `SIGNET_AUTH_SOCK`)
    /// rather than found by the default rule.
    pub fn socket_named(&self) -> bool {
        self.socket.is_some() || std::env::var_os("SIGNET_AUTH_SOCK").is_some_and(|v| !v.is_empty())
    }

    /// A connection to the agent. When nothing answers there, the error
    /// names another agent that does answer at one of the other default
    /// places, if any (`agent::elsewhere`).
    pub fn connect(&self) -> Result<Client> {
        let socket = self.socket()?;
        Client::connect_to(&socket).map_err(|e| agent::explain_not_running(self, &socket, e))
    }

    /// A line for people, on stderr.
    pub fn note(&self, msg: impl Display) {
        eprintln!("signet: {msg}");
    }

    /// The result: `text` on stdout, or with `--json` the document `doc`.
    pub fn show(&self, text: &str, doc: &impl Serialize) -> Result<()> {
        if self.json {
            self.emit(doc)
        } else {
            out(text)
        }
    }

    /// The JSON document `doc` on stdout.
    pub fn emit(&self, doc: &impl Serialize) -> Result<()> {
        let text = serde_json::to_string_pretty(doc)? + "\n";
        EMITTED.store(true, Ordering::Relaxed);
        out(&text)
    }
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        socket: cli.socket,
        json: cli.json,
    };
    let c = &ctx;
    match cli.command {
        Command::InstallUnits(a) => units::install(c, &a),
        Command::Audit(a) => audit::run(c, a),
        Command::Completions(a) => manual::completions(c, &a),
        Command::Man(a) => manual::man(c, &a),
        Command::Start(a) => agent::start(c, &a),
        Command::Env(a) => agent::env(c, &a),
        Command::Stop => agent::stop(c),
        Command::Status => agent::status(c),
        Command::Reload => agent::reload(c),
        Command::Lock(a) => agent::lock(c, &a),
        Command::Unlock(a) => agent::unlock(c, &a),
        Command::UnlockStore(a) => seal::unlock_store(c, &a),
        Command::LockStore => seal::lock_store(c),
        Command::Passwd(a) => seal::passwd(c, &a),
        Command::Add(a) => keys::add(c, a),
        Command::List(a) => keys::list(c, &a),
        Command::Remove(a) => keys::remove(c, a),
        Command::SignRequest(a) => sign::sign_request(c, a),
        Command::Sign(a) => sign::sign(c, a),
        Command::Explain(a) => sign::explain(c, a),
        Command::Exec(a) => exec::exec(c, a),
        Command::Secret(a) => secret::run(c, a),
        Command::Generate(a) => store::generate(c, a),
        Command::Import(a) => store::import(c, a),
        Command::Register(a) => store::register(c, a),
        Command::Pubkey(a) => store::pubkey(c, a),
        Command::Load(a) => store::load(c, a),
        Command::Unload(a) => store::unload(c, a),
        Command::Rename(a) => store::rename(c, a),
        Command::Delete(a) => store::delete(c, a),
        Command::Doctor(a) => store::doctor(c, a),
    }
}

/// Writes `text` to stdout.
pub(crate) fn out(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("could not write to stdout")
}

/// Whether `e` says no agent answers.
pub(crate) fn not_running(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<ClientError>(),
            Some(ClientError::NotRunning { .. })
        ) || c
            .downcast_ref::<crate::failure::Failure>()
            .is_some_and(|f| f.kind == "not_running")
    })
}
