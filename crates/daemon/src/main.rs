//! # signetd
//!
//! The signet agent daemon. **Owns** the socket, every connection to it, and
//! every private key signet holds in memory; it is the only crate that does
//! either. It speaks the SSH agent protocol (RFC 9987) plus signet's
//! `NAME@signet` extensions, defined in `signet-proto`.
//!
//! **Must not**: write a private key or passphrase anywhere (disk, logs,
//! error messages, child processes' arguments or environment), log a request
//! with `{:?}`, or let one client's bad input affect another client.
//!
//! Runs in the foreground (for systemd and launchd); `signet start` detaches it.
//!
//! Exit codes: 0 clean shutdown; 1 error (configuration, socket, runtime);
//! 2 usage; 3 another agent already answers on the socket.

// The modules live in the library target (lib.rs) so that benchmarks can
// use the real dispatcher; the binary is only the entry point.
#[cfg(windows)]
use signetd::server::pipe;
#[cfg(unix)]
use signetd::server::unix as listener;
use signetd::{config, hardening};

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

#[cfg(unix)]
use signet_proto::paths::Sharing;
use signetd::agent::Agent;
use signetd::config::ConfigSource;
#[cfg(unix)]
use signetd::server::unix::BindError;

/// Exit code when another agent already answers on the socket.
const EXIT_ALREADY_RUNNING: u8 = 3;

/// signet's agent daemon: holds Ed25519 keys and signs over a local socket.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, after_help = "Exit codes: 0 clean shutdown, 1 error, 2 usage, 3 another agent already running on the socket.")]
struct Args {
    /// Socket path [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock,
    /// else $XDG_STATE_HOME/signet/run/agent.<host>.sock, $XDG_STATE_HOME being
    /// ~/.local/state by default]. Its directory must be yours alone (0700);
    /// signetd creates it if missing and refuses any other.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Configuration file [default: $SIGNET_CONFIG, else $XDG_CONFIG_HOME/signet/config.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace); RUST_LOG overrides it.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: String,
    /// System mode for build machines: configuration /etc/signet/signetd.toml
    /// (required), socket /run/signet/agent.sock, access by the `[system]`
    /// allow-list (see docs/service-accounts.md).
    #[arg(long)]
    system: bool,
}

/// How this daemon serves: system or user mode, and a socket passed by
/// systemd (socket activation), if any.
struct Mode {
    // System mode's allow-list is Unix-only (SO_PEERCRED); Windows ignores it.
    #[cfg_attr(windows, allow(dead_code))]
    system: bool,
    #[cfg(unix)]
    inherited: Option<std::os::unix::net::UnixListener>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args.log_level);
    hardening::apply();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            if already_running(&e) {
                ExitCode::from(EXIT_ALREADY_RUNNING)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(unix)]
fn already_running(e: &anyhow::Error) -> bool {
    e.downcast_ref::<BindError>()
        .is_some_and(|b| matches!(b, BindError::AlreadyRunning(_)))
}

#[cfg(windows)]
fn already_running(e: &anyhow::Error) -> bool {
    // first_pipe_instance fails with ERROR_ACCESS_DENIED when the pipe exists.
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
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
        .init();
}

#[cfg(windows)]
fn socket_path(flag: Option<PathBuf>, configured: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    Ok(flag
        .or_else(|| {
            std::env::var_os("SIGNET_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .or(configured)
        .unwrap_or_else(|| PathBuf::from(pipe::DEFAULT_PIPE)))
}

#[cfg(unix)]
fn socket_path(flag: Option<PathBuf>, configured: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p);
    }
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let env = var("SIGNET_AUTH_SOCK");
    if env.is_none() {
        if let Some(p) = configured {
            return Ok(p);
        }
    }
    // The rule every client applies (signet_proto::paths).
    let (xdg, state) = (var("XDG_RUNTIME_DIR"), var("XDG_STATE_HOME"));
    let home =
        var("HOME").or_else(|| std::env::home_dir().and_then(|h| h.to_str().map(str::to_owned)));
    let uname = rustix::system::uname();
    let hostname = uname.nodename().to_string_lossy();
    Ok(signet_proto::paths::socket_path(
        &signet_proto::paths::SocketEnv {
            signet_auth_sock: env.as_deref(),
            xdg_runtime_dir: xdg.as_deref(),
            xdg_state_home: state.as_deref(),
            home: home.as_deref(),
            hostname: &hostname,
        },
    )?)
}

fn run(args: Args) -> anyhow::Result<()> {
    // Before anything else (no threads yet): the socket and notify socket
    // systemd may have passed, taken out of the environment.
    #[cfg(unix)]
    let inherited = {
        signetd::server::activation::init_notify();
        signetd::server::activation::take_listener()?
    };
    let system = args.system;
    let flag = args
        .config
        .or_else(|| system.then(|| PathBuf::from(signetd::config::SYSTEM_CONFIG)));
    let source = ConfigSource::resolve(flag);
    let config = source.load()?;
    signetd::policy::Policies::from_config(&config)
        .with_context(|| format!("invalid policy in {}", source.path().display()))?;
    let path = if system {
        args.socket
            .or_else(|| config.agent.socket.clone())
            .unwrap_or_else(|| PathBuf::from(signetd::config::SYSTEM_SOCKET))
    } else {
        socket_path(args.socket, config.agent.socket.clone())?
    };
    let mode = Mode {
        system,
        #[cfg(unix)]
        inherited,
    };
    // On Unix the main runtime only accepts connections, handles signals and
    // reaps lifetimes; connections run on per-core workers (see
    // signetd::workers), so one thread is enough here.
    #[cfg(unix)]
    let mut builder = tokio::runtime::Builder::new_current_thread();
    #[cfg(windows)]
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    let runtime = builder
        .enable_all()
        .thread_name("signetd")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(path, config, source, mode))
}

#[cfg(unix)]
async fn serve(
    path: PathBuf,
    config: config::Config,
    source: ConfigSource,
    mode: Mode,
) -> anyhow::Result<()> {
    use signetd::access::allow as system;
    use signetd::server::activation;
    let access = Arc::new(system::Access::new(system::policy_for(
        mode.system,
        &config.system,
    )?));
    if !mode.system && config.system != config::SystemConfig::default() {
        warn!("[system] is ignored without --system: this agent serves only its own uid and root");
    }
    let system_config = config.system.clone();
    let config_audit = config.audit.clone();
    let shutdown = CancellationToken::new();
    let max = config.agent.max_connections;
    let grace = Duration::from_secs(config.agent.shutdown_grace_secs);
    let agent = Arc::new(Agent::new(
        config,
        path.display().to_string(),
        shutdown.clone(),
    ));
    if config_audit.enabled {
        let audit_path = config_audit.resolved_path(mode.system);
        match signetd::audit::Auditor::start(&config_audit, audit_path.clone()) {
            Ok(a) => {
                info!(path = %audit_path.display(), "audit log");
                agent.set_auditor(a);
            }
            Err(e) if config_audit.required => {
                return Err(e).with_context(|| {
                    format!("cannot open the audit log {}", audit_path.display())
                })
            }
            Err(e) => error!(
                "cannot open the audit log {}: {e}: signing without an audit trail (set [audit] required = true to refuse to start)",
                audit_path.display()
            ),
        }
    }
    let activated = mode.inherited.is_some();
    let bound = match mode.inherited {
        Some(l) => listener::BoundSocket::inherited(
            tokio::net::UnixListener::from_std(l)
                .context("cannot use the socket passed by the service manager")?,
        ),
        None if mode.system => {
            // Its directory is made 0755 if missing and left alone if not.
            let bound = listener::bind(&path, Sharing::Shared)?;
            system::open_socket_permissions(&path, &system_config)?;
            bound
        }
        None => listener::bind(&path, Sharing::Private)?,
    };
    // Signals first: the socket is bound and already accepts connections, so
    // a SIGTERM/SIGINT during the (possibly slow) key loading below must
    // mean a clean shutdown, not the default kill.
    spawn_signal_handlers(agent.clone(), source.clone(), access.clone(), mode.system)?;
    // Key store: choose it, repair interrupted operations, autoload. Then the
    // keys with a `source`: all of them or no agent at all (fail closed).
    let loaded = match signetd::startup::open_store(&agent, &source).await {
        Ok(()) => signetd::startup::load_configured(&agent).await.map(drop),
        Err(e) => Err(e),
    };
    if let Err(e) = loaded {
        agent.keys.clear();
        bound.remove();
        return Err(e.into());
    }
    let reaper = tokio::spawn(agent.clone().reap());
    info!(socket = %path.display(), pid = std::process::id(), activated, system = mode.system, allowed = %access.policy().describe(), "signetd {} listening", env!("CARGO_PKG_VERSION"));
    activation::notify("READY=1");
    let stopping = agent.shutdown.clone();
    tokio::spawn(async move {
        stopping.cancelled().await;
        activation::notify("STOPPING=1");
    });

    listener::run_with(&bound.listener, agent.clone(), access, max, grace).await;

    // Every connection has ended: the audit log gets the last signatures
    // before the process exits (the writer batches every few milliseconds).
    if !agent.flush_audit(Duration::from_secs(5)) {
        warn!("audit log: the last events could not be written before shutdown");
    }
    reaper.abort();
    let dropped = agent.keys.clear();
    bound.remove();
    let socket = if activated {
        "socket left to the service manager"
    } else {
        "socket removed"
    };
    info!("shut down: {dropped} keys wiped, {socket}");
    Ok(())
}

#[cfg(windows)]
async fn serve(
    path: PathBuf,
    config: config::Config,
    _source: ConfigSource,
    _mode: Mode,
) -> anyhow::Result<()> {
    let name = path.display().to_string();
    let shutdown = CancellationToken::new();
    let max = config.agent.max_connections;
    let grace = Duration::from_secs(config.agent.shutdown_grace_secs);
    let agent = Arc::new(Agent::new(config, name.clone(), shutdown.clone()));
    signetd::startup::open_store(&agent, &_source).await?;
    let ctrl_c = agent.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.shutdown.cancel();
        }
    });
    let reaper = tokio::spawn(agent.clone().reap());
    info!(pipe = %name, "signetd {} listening", env!("CARGO_PKG_VERSION"));
    pipe::run(&name, agent.clone(), max, grace).await?;
    if !agent.flush_audit(Duration::from_secs(5)) {
        warn!("audit log: the last events could not be written before shutdown");
    }
    reaper.abort();
    agent.keys.clear();
    Ok(())
}

#[cfg(unix)]
fn spawn_signal_handlers(
    agent: Arc<Agent>,
    source: ConfigSource,
    access: Arc<signetd::access::allow::Access>,
    system: bool,
) -> anyhow::Result<()> {
    use signetd::server::activation::notify;
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut usr1 = signal(SignalKind::user_defined1()).context("cannot handle SIGUSR1")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { info!("SIGTERM: shutting down"); agent.shutdown.cancel(); return; }
                _ = int.recv() => { info!("SIGINT: shutting down"); agent.shutdown.cancel(); return; }
                _ = agent.shutdown.cancelled() => return,
                _ = hup.recv() => {
                    notify("RELOADING=1");
                    // The allow-list is re-resolved (group members may have changed).
                    match source.load().map_err(anyhow::Error::from).and_then(|cfg| {
                        let policy = signetd::access::allow::policy_for(system, &cfg.system)?;
                        // Checked here so that a bad rule keeps the old configuration.
                        signetd::policy::Policies::from_config(&cfg)?;
                        Ok((cfg, policy))
                    }) {
                        Ok((cfg, policy)) => { access.set(policy); agent.set_config(cfg); info!("SIGHUP: configuration reloaded from {}", source.path().display()); }
                        Err(e) => warn!("SIGHUP: keeping the previous configuration: {e:#}"),
                    }
                    notify("READY=1");
                },
                _ = usr1.recv() => {
                    let n = agent.keys.clear();
                    info!("SIGUSR1: dropped all {n} keys");
                }
            }
        }
    });
    Ok(())
}
