//! One function per subcommand, one file per command family. Data goes to
//! stdout; messages for people go to stderr.

mod agent;
mod audit;
mod exec;
mod keys;
mod manual;
mod sign;
mod store;
mod units;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use signet_client::{Client, Error as ClientError};

use crate::cli::{Cli, Command};

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
        Command::InstallUnits(a) => units::install(&a),
        Command::Audit(a) => audit::run(a, json),
        Command::Completions(a) => manual::completions(&a),
        Command::Man(a) => manual::man(&a),
        Command::Start => agent::start(&socket()?),
        Command::Env(a) => agent::env(&socket()?, &a),
        Command::Stop => agent::stop(&socket()?),
        Command::Status => agent::status(&socket()?, json),
        Command::Add(a) => keys::add(&socket()?, a),
        Command::List => keys::list(&socket()?, json),
        Command::Remove(a) => keys::remove(&socket()?, a),
        Command::Lock(a) => agent::lock(&socket()?, &a),
        Command::Unlock(a) => agent::unlock(&socket()?, &a),
        Command::SignRequest(a) => sign::sign_request(&socket()?, a, json),
        Command::Sign(a) => sign::sign(&socket()?, a, json),
        Command::Exec(a) => exec::exec(&socket()?, a),
        Command::Explain(a) => sign::explain(&socket()?, a, json),
        Command::Generate(a) => store::generate(&socket()?, a),
        Command::Import(a) => store::import(&socket()?, a),
        Command::Register(a) => store::register(&socket()?, a, json),
        Command::Pubkey(a) => store::pubkey(&socket()?, a),
        Command::Load(a) => store::load(&socket()?, a),
        Command::Unload(a) => store::unload(&socket()?, a),
        Command::Rename(a) => store::rename(&socket()?, a),
        Command::Doctor(a) => store::doctor(&socket()?, a, json),
    }
}

pub(crate) fn out(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("could not write to stdout")
}

pub(crate) fn connect(socket: &Path) -> Result<Client> {
    Ok(Client::connect_to(socket)?)
}

pub(crate) fn not_running(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<ClientError>(),
        Some(ClientError::NotRunning { .. })
    )
}
