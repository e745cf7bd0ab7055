//! The `signetd` binary: arguments, logging, hardening, the runtime; the
//! boot sequence itself is `signetd::startup` (see the library's docs for
//! the layers).
//!
//! Runs in the foreground (for systemd and launchd); `signet start` detaches
//! it. Exit codes: 0 clean shutdown; 1 error (configuration, socket,
//! runtime); 2 usage; 3 another agent already answers on the socket.

use std::process::ExitCode;

use clap::Parser;
use signetd::startup::{self, Options, StartError};
use tracing::error;

mod cli;

/// Exit code when another agent already answers on the socket.
const EXIT_ALREADY_RUNNING: u8 = 3;

fn main() -> ExitCode {
    // First: may execute signetd again, without the secret-looking variables.
    let scrubbed = signetd::hardening::scrub_environment();
    let args = cli::Args::parse();
    init_logging(&args.log_level);
    scrubbed.log();
    signetd::hardening::apply();
    let options = Options {
        socket: args.socket,
        config: args.config,
        system: args.system,
        state_dir: args.state_dir,
        lifetime: args.lifetime,
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            if e.already_running() {
                ExitCode::from(EXIT_ALREADY_RUNNING)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(options: Options) -> Result<(), StartError> {
    // Before any thread exists: the activation environment is taken.
    let prepared = startup::prepare(options)?;
    // On Unix the main runtime only accepts connections, handles signals and
    // reaps lifetimes; connections run on per-core workers (the server's
    // `workers`), so one thread is enough here.
    #[cfg(unix)]
    let mut builder = tokio::runtime::Builder::new_current_thread();
    #[cfg(windows)]
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    let runtime = builder
        .enable_all()
        .thread_name("signetd")
        .build()
        .map_err(StartError::Runtime)?;
    runtime.block_on(startup::serve(prepared))
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a terminal: log files and journald get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        // Control characters escaped in every field, the message included.
        .fmt_fields(startup::log_fields())
        .init();
}
