//! Layer 6: the boot sequence.
//!
//! **Owns**: the order in which the daemon comes up and goes down. Before
//! the runtime starts ([`prepare`]): the socket and notify socket systemd
//! may have passed, the configuration and its rules, the socket path. Then
//! ([`serve`]): the allow-list, the agent, the socket, the signal handlers,
//! the key store (chosen), the audit key (from the key store in user mode,
//! `audit.key` in the state directory in system mode) and the audit log,
//! the key store's repair and autoload, the keys the configuration names
//! with a `source` (all of them or no agent: fail closed), the reaper, the
//! accept loop (nothing is served before it, so nothing is signed before
//! the audit log is open); at the end the audit log is written out and
//! sealed, the keys wiped and the socket removed. **Must not**: be imported
//! by any other module.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use signet_proto::keystore::Selection;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::agent::Agent;
use crate::audit::AuditKey;
use crate::config::{self, Config, ConfigError, ConfigSource, Invalid, SealMode};
use crate::policy::{Policies, PolicyError};
use crate::store::open::UnknownBackend;
use crate::store::vault::{self, Vault, VaultError};

/// What the command line asks for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--socket`.
    pub socket: Option<PathBuf>,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--system`.
    pub system: bool,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `-t`: the default lifetime in seconds (`0`: none), over `[agent]
    /// default_lifetime`.
    pub lifetime: Option<u64>,
}

/// Why the daemon cannot start (or stopped with an error).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The socket systemd passed is unusable.
    #[cfg(unix)]
    #[error(transparent)]
    Activation(#[from] crate::server::activation::ActivationError),
    /// The configuration cannot be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The rules cannot be resolved (a user or group that does not exist).
    #[error("invalid policy in {}: {source}", path.display())]
    Policy {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong.
        source: PolicyError,
    },
    /// A system agent that cannot read other users' executables, with a
    /// rule that restricts callers by executable: it would refuse every
    /// job, so it does not start.
    #[error("policies.{rule} restricts callers by executable, but this system agent cannot see callers' executables: signetd runs as uid {euid} without CAP_SYS_PTRACE, so other users' /proc/PID/exe is unreadable to it and the rule would refuse every job; give the service CAP_SYS_PTRACE (AmbientCapabilities=CAP_SYS_PTRACE with CapabilityBoundingSet=CAP_SYS_PTRACE, see docs/service-accounts.md#rules-on-executables-need-cap_sys_ptrace) or remove `executables` from the rule in {}", path.display())]
    BlindToExecutables {
        /// The first such rule.
        rule: String,
        /// signetd's uid.
        euid: u32,
        /// The configuration file.
        path: PathBuf,
    },
    /// No socket path can be derived from the environment.
    #[cfg(unix)]
    #[error(transparent)]
    SocketPath(#[from] signet_proto::paths::PathError),
    /// The async runtime cannot start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The `[system]` allow-list cannot be resolved.
    #[cfg(unix)]
    #[error(transparent)]
    AllowList(#[from] crate::access::allow::AllowListError),
    /// `[audit] required` and the log cannot be opened.
    #[error("cannot open the audit log {}: {source} (signetd does not sign without it: [audit] required)", path.display())]
    Audit {
        /// The log file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The socket cannot be created, or is taken.
    #[cfg(unix)]
    #[error(transparent)]
    Bind(#[from] crate::server::unix::BindError),
    /// The socket passed by the service manager cannot be used.
    #[error("cannot use the socket passed by the service manager: {0}")]
    Inherited(std::io::Error),
    /// A signal handler cannot be installed.
    #[error("cannot handle {signal}: {source}")]
    Signal {
        /// Which signal.
        signal: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The named pipe cannot be served (Windows).
    #[error("cannot serve the pipe: {0}")]
    Pipe(std::io::Error),
    /// `SIGNET_STORE` or `[store] backend` names no key store.
    #[error(transparent)]
    Store(#[from] UnknownBackend),
    /// A start-up task on the blocking pool failed.
    #[error("key store set-up failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A configured key's source settings do not fit together.
    #[error(transparent)]
    KeySource(#[from] Invalid),
    /// A configured key could not be loaded (fail closed). Boxed: the
    /// key store's errors are large, and this one is rare.
    #[cfg(unix)]
    #[error(transparent)]
    Source(Box<sources::SourceError>),
    /// The `[pkcs11]` module is refused or cannot be loaded.
    #[cfg(unix)]
    #[error("[pkcs11]: {0}")]
    Token(#[from] crate::store::pkcs11::TokenError),
    /// `[pkcs11] allowed_module_dirs` in a system agent's configuration
    /// that root does not control.
    #[error("[pkcs11] allowed_module_dirs is set in {}, which {why}: in system mode only a configuration file owned by root and writable by nobody else may widen where modules are loaded from", path.display())]
    ModuleDirsNotRoot {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

#[cfg(unix)]
impl From<sources::SourceError> for StartError {
    fn from(e: sources::SourceError) -> Self {
        StartError::Source(Box::new(e))
    }
}

impl StartError {
    /// Whether another agent already answers on the socket (exit code 3).
    pub fn already_running(&self) -> bool {
        #[cfg(unix)]
        return matches!(
            self,
            StartError::Bind(crate::server::unix::BindError::AlreadyRunning(_))
        );
        // first_pipe_instance fails with ERROR_ACCESS_DENIED when the pipe exists.
        #[cfg(windows)]
        return matches!(self, StartError::Pipe(e) if e.kind() == std::io::ErrorKind::PermissionDenied);
        #[allow(unreachable_code)]
        false
    }
}

/// What [`prepare`] found, for [`serve`].
pub struct Prepared {
    path: PathBuf,
    /// The user named the socket path (user mode; see `socket_path`).
    #[cfg_attr(windows, allow(dead_code))]
    chosen: bool,
    config: Config,
    source: ConfigSource,
    // System mode's allow-list is Unix-only (SO_PEERCRED); Windows ignores it.
    #[cfg_attr(windows, allow(dead_code))]
    system: bool,
    /// The agent's state directory (the audit log and, in system mode, its key).
    state_dir: PathBuf,
    /// `-t`, in seconds.
    lifetime: Option<u64>,
    #[cfg(unix)]
    inherited: Option<std::os::unix::net::UnixListener>,
}

/// The steps before the async runtime starts (no threads yet): the
/// activation environment is read and removed, the configuration loaded
/// and its rules resolved, the socket path chosen.
pub fn prepare(options: Options) -> Result<Prepared, StartError> {
    #[cfg(unix)]
    let inherited = {
        crate::server::activation::init_notify();
        crate::server::activation::take_listener()?
    };
    let system = options.system;
    let state_dir = config::state_dir(options.state_dir, system);
    let flag = options
        .config
        .or_else(|| system.then(|| PathBuf::from(signet_proto::paths::SYSTEM_CONFIG)));
    let source = ConfigSource::resolve(flag);
    let config = source.load()?;
    let policies = Policies::from_config(&config).map_err(|e| StartError::Policy {
        path: source.path().to_owned(),
        source: e,
    })?;
    can_evaluate(&policies, system, source.path())?;
    let (path, chosen) = if system {
        let path = options
            .socket
            .or_else(|| config.agent.socket.clone())
            .unwrap_or_else(|| PathBuf::from(signet_proto::paths::SYSTEM_SOCKET));
        (path, false)
    } else {
        socket_path(options.socket, config.agent.socket.clone())?
    };
    Ok(Prepared {
        path,
        chosen,
        config,
        source,
        system,
        state_dir,
        lifetime: options.lifetime,
        #[cfg(unix)]
        inherited,
    })
}

#[cfg(windows)]
fn socket_path(
    flag: Option<PathBuf>,
    configured: Option<PathBuf>,
) -> Result<(PathBuf, bool), StartError> {
    let path = flag
        .or_else(|| {
            std::env::var_os("SIGNET_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .or(configured)
        .unwrap_or_else(|| PathBuf::from(crate::server::pipe::DEFAULT_PIPE));
    Ok((path, true))
}

/// The socket path, and whether the user named it (`--socket`,
/// `$SIGNET_AUTH_SOCK`, `[agent] socket`) rather than taking the default;
/// see [`Sharing::Chosen`](signet_proto::paths::Sharing::Chosen).
#[cfg(unix)]
fn socket_path(
    flag: Option<PathBuf>,
    configured: Option<PathBuf>,
) -> Result<(PathBuf, bool), StartError> {
    if let Some(p) = flag {
        return Ok((p, true));
    }
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let env = var("SIGNET_AUTH_SOCK");
    if env.is_none() {
        if let Some(p) = configured {
            return Ok((p, true));
        }
    }
    let chosen = env.is_some();
    // The rule every client applies (signet_proto::paths).
    let (xdg, state) = (var("XDG_RUNTIME_DIR"), var("XDG_STATE_HOME"));
    let home =
        var("HOME").or_else(|| std::env::home_dir().and_then(|h| h.to_str().map(str::to_owned)));
    let uname = rustix::system::uname();
    let hostname = uname.nodename().to_string_lossy();
    let path = signet_proto::paths::socket_path(&signet_proto::paths::SocketEnv {
        signet_auth_sock: env.as_deref(),
        xdg_runtime_dir: xdg.as_deref(),
        xdg_state_home: state.as_deref(),
        home: home.as_deref(),
        hostname: &hostname,
    })?;
    Ok((path, chosen))
}

/// The audit log, if enabled; an error only when `[audit] required`.
fn start_audit(
    agent: &Agent,
    cfg: &config::AuditConfig,
    path: PathBuf,
    system: bool,
    key: Option<(AuditKey, bool)>,
) -> Result<(), StartError> {
    use signet_proto::extension::AuditInfo;
    if !cfg.enabled {
        warn!("audit log off ([audit] enabled = false): signatures are not recorded");
        agent.set_audit_off(AuditInfo {
            problem: "the audit log is off ([audit] enabled = false)".into(),
            ..AuditInfo::default()
        });
        return Ok(());
    }
    let required = cfg.required(system);
    let public = key.as_ref().map(|(k, _)| hex::encode(k.public()));
    let (key, key_is_new) = match key {
        Some((k, new)) => (Some(k), new),
        None => (None, false),
    };
    match crate::audit::Auditor::start(cfg, path.clone(), system, key, key_is_new) {
        Ok(a) => {
            info!(path = %path.display(), required, durability = cfg.durability.as_str(), audit_key = public.as_deref().unwrap_or("none (not sealed)"), "audit log");
            agent.set_auditor(a);
        }
        Err(source) if required => return Err(StartError::Audit { path, source }),
        Err(e) => {
            error!(
                "cannot open the audit log {}: {e}: signing WITHOUT an audit trail ([audit] required = false; set it to true to refuse to start instead)",
                path.display()
            );
            agent.set_audit_off(AuditInfo {
                path: path.display().to_string(),
                problem: format!("cannot open the audit log: {e}"),
                ..AuditInfo::default()
            });
        }
    }
    Ok(())
}

/// The key store's account for the audit key of the log at `path`: one key
/// per log, so two agents of one user (two state directories) never share
/// one.
fn audit_account(path: &std::path::Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    format!("signetd-audit-{}", &hex::encode(digest)[..16])
}

/// How long start-up waits for the key store to hand over the audit key
/// (a Secret Service that asks to be unlocked may take longer: the key is
/// then installed when it comes, and the log is sealed from then on).
const AUDIT_KEY_WAIT: Duration = Duration::from_secs(5);

/// The audit key and whether it was made now: in system mode `audit.key`
/// in the state directory, in user mode from the key store. `None` when it
/// cannot be had (the log is then chained but not sealed, said loudly).
async fn audit_key(
    agent: &Arc<Agent>,
    vault: Option<&Arc<Vault>>,
    state_dir: &std::path::Path,
    log: &std::path::Path,
    system: bool,
) -> Option<(AuditKey, bool)> {
    if system {
        let path = state_dir.join("audit.key");
        let loaded =
            tokio::task::spawn_blocking(move || crate::audit::key::load_or_create(&path)).await;
        return match loaded {
            Ok(Ok(k)) => Some(k),
            Ok(Err(e)) => {
                error!("{e}: the audit log is chained but NOT sealed");
                None
            }
            Err(e) => {
                error!("audit key: {e}: the audit log is chained but NOT sealed");
                None
            }
        };
    }
    let Some(vault) = vault.cloned() else {
        error!("audit key: the key store is not open: the audit log is chained but NOT sealed");
        return None;
    };
    let account = audit_account(log);
    // In a sealed store the seed is sealed like a key: the agent opens it
    // (or makes it) at `signet unlock-store` if it cannot be had now.
    let sealed = vault.sealing_info().mode == SealMode::Passphrase;
    let waiting = account.clone();
    let fetch = tokio::task::spawn_blocking(move || {
        crate::hardening::scrubbed(|| match vault.audit_seed(&account, None)? {
            Some((seed, made)) => AuditKey::from_bytes(&seed)
                .map(|k| Some((k, made)))
                .map_err(|e| VaultError::Memory(e.to_string())),
            None => Ok(None),
        })
    });
    let fetch = tokio::spawn(fetch);
    let to_key = |r: Result<
        Result<Option<(AuditKey, bool)>, VaultError>,
        tokio::task::JoinError,
    >|
     -> Option<(AuditKey, bool)> {
        match r {
            Ok(Ok(Some(k))) => Some(k),
            Ok(Ok(None)) => {
                info!("audit key: sealed in the key store, which is locked: the audit log is chained, and sealed from the first `signet unlock-store` on (its first seal covers every record before it)");
                None
            }
            Ok(Err(e)) => {
                error!("audit key: {e}: the audit log is chained but NOT sealed");
                None
            }
            Err(e) => {
                error!("audit key: {e}: the audit log is chained but NOT sealed");
                None
            }
        }
    };
    let mut fetch = fetch;
    let key = match tokio::time::timeout(AUDIT_KEY_WAIT, &mut fetch).await {
        Ok(Ok(r)) => to_key(r),
        Ok(Err(e)) => {
            error!("audit key: {e}: the audit log is chained but NOT sealed");
            None
        }
        Err(_) => {
            warn!("audit key: the key store has not answered within {AUDIT_KEY_WAIT:?}: the audit log starts unsealed and is sealed once it does");
            let agent = agent.clone();
            tokio::spawn(async move {
                if let Ok(r) = fetch.await {
                    if let Some((k, _)) = to_key(r) {
                        agent.set_audit_key(k);
                    }
                }
            });
            None
        }
    };
    if sealed {
        agent.audit_seed_in_store(waiting, key.is_some());
    }
    key
}

/// Raises the soft limit on open files so that `max_connections` can be
/// reached (systemd and most shells start services with 1024): a daemon
/// out of descriptors cannot accept, and then nobody gets in, however the
/// connections are shared out.
#[cfg(unix)]
fn raise_open_files(max_connections: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    // Three descriptors a connection (its socket, its peer's pidfd and
    // address space: `access::process`), and room for the listener, the
    // logs, the key store and a refusal or two.
    let want = u64::try_from(max_connections)
        .unwrap_or(u64::MAX)
        .saturating_mul(3)
        .saturating_add(128);
    let now = getrlimit(Resource::Nofile);
    if now.current.is_none_or(|c| c >= want) {
        return;
    }
    let new = now.maximum.map_or(want, |m| want.min(m));
    if let Err(e) = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(new),
            maximum: now.maximum,
        },
    ) {
        warn!("cannot raise the open-file limit to {new}: {e}");
    }
    if new < want {
        warn!("the open-file limit is {new}: fewer than agent.max_connections = {max_connections} connections can be open (each holds 3 descriptors: raise LimitNOFILE, or lower max_connections); past it, connections are refused or lose their caller facts");
    }
}

/// `signetd -t`, if given, stands over `[agent] default_lifetime`.
fn set_lifetime_flag(agent: &Agent, secs: Option<u64>) {
    if let Some(secs) = secs {
        info!(
            "default lifetime of added keys: {}",
            if secs == 0 {
                "none".to_owned()
            } else {
                signet_proto::duration::human(secs)
            }
        );
        agent.set_lifetime_flag(config::Lifetime((secs > 0).then_some(secs)));
    }
}

/// Runs the daemon until it shuts down.
#[cfg(unix)]
pub async fn serve(p: Prepared) -> Result<(), StartError> {
    use crate::access::allow::{self, Access};
    use crate::server::{activation, unix as listener};
    use signet_proto::paths::Sharing;
    let Prepared {
        path,
        chosen,
        config,
        source,
        system,
        state_dir,
        lifetime,
        inherited,
    } = p;
    let access = Arc::new(Access::new(allow::policy_for(system, &config.system)?));
    raise_open_files(config.agent.max_connections);
    warn_about_ptrace_capability();
    let roles = crate::access::roles::Roles::for_mode(system, &config.system)?;
    if !system && config.system != config::SystemConfig::default() {
        warn!("[system] is ignored without --system: this agent serves only its own uid and root");
    }
    let system_config = config.system.clone();
    let audit_config = config.audit.clone();
    let max = config.agent.max_connections;
    let grace = Duration::from_secs(config.agent.shutdown_grace_secs);
    let agent = Arc::new(Agent::new(
        config,
        path.display().to_string(),
        CancellationToken::new(),
    ));
    set_lifetime_flag(&agent, lifetime);
    info!(admins = %roles.describe(), "roles");
    agent.set_roles(roles);
    // Signals before the socket: once it is bound it accepts connections,
    // and a client may send SIGTERM as soon as it connects, so a SIGTERM or
    // SIGINT from then on, during the (possibly slow) start-up below, must
    // mean a clean shutdown, never the default kill.
    install_reloader(&agent, source.clone(), access.clone(), system);
    spawn_signal_handlers(agent.clone())?;
    let activated = inherited.is_some();
    // The socket first: it is the one-agent-per-socket check (a second
    // agent exits 3 here, before it touches the audit log), and nothing is
    // served before the accept loop below, by when the audit log is open.
    let bound = match inherited {
        Some(l) => listener::BoundSocket::inherited(
            tokio::net::UnixListener::from_std(l).map_err(StartError::Inherited)?,
        ),
        None if system => {
            // Its directory is made 0755 if missing and left alone if not.
            let bound = listener::bind(&path, Sharing::Shared)?;
            listener::share(&path, &system_config)?;
            bound
        }
        // A path the user named may be in any directory of theirs that no
        // one else can write (ssh-agent -a); the default one is private.
        None if chosen => listener::bind(&path, Sharing::Chosen)?,
        None => listener::bind(&path, Sharing::Private)?,
    };
    let ready = async {
        // The key store (in user mode it holds the audit key), the audit
        // key and the audit log; then the store's repair and autoload, and
        // the keys with a `source`: all of them or no agent at all (fail
        // closed).
        let vault = open_vault(&agent, &source, system).await?;
        let log = audit_config.resolved_path(&state_dir);
        let key = if audit_config.enabled {
            audit_key(&agent, vault.as_ref(), &state_dir, &log, system).await
        } else {
            None
        };
        start_audit(&agent, &audit_config, log, system, key)?;
        if let Some(v) = &vault {
            repair_and_autoload(&agent, v).await;
        }
        open_token(&agent, &source, system).await?;
        sources::load_configured(&agent).await.map(drop)
    };
    if let Err(e) = ready.await {
        agent.keys.clear();
        agent.close_audit(Duration::from_secs(5));
        bound.remove();
        return Err(e);
    }
    let reaper = tokio::spawn(agent.clone().reap());
    info!(socket = %path.display(), pid = std::process::id(), activated, system, allowed = %access.policy().describe(), "signetd {} listening", env!("CARGO_PKG_VERSION"));
    activation::notify("READY=1");
    let stopping = agent.shutdown.clone();
    tokio::spawn(async move {
        stopping.cancelled().await;
        activation::notify("STOPPING=1");
    });

    listener::run_with(&bound.listener, agent.clone(), access, max, grace).await;

    // Every connection has ended: the audit log gets the last signatures
    // and its shutdown seal before the process exits.
    if !agent.close_audit(Duration::from_secs(5)) {
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

/// Runs the daemon until it shuts down (Windows: a named pipe).
#[cfg(windows)]
pub async fn serve(p: Prepared) -> Result<(), StartError> {
    let name = p.path.display().to_string();
    let max = p.config.agent.max_connections;
    let grace = Duration::from_secs(p.config.agent.shutdown_grace_secs);
    let audit_config = p.config.audit.clone();
    let agent = Arc::new(Agent::new(p.config, name.clone(), CancellationToken::new()));
    set_lifetime_flag(&agent, p.lifetime);
    let vault = open_vault(&agent, &p.source).await?;
    let log = audit_config.resolved_path(&p.state_dir);
    let key = if audit_config.enabled {
        audit_key(&agent, vault.as_ref(), &p.state_dir, &log, false).await
    } else {
        None
    };
    start_audit(&agent, &audit_config, log, false, key)?;
    if let Some(v) = &vault {
        repair_and_autoload(&agent, v).await;
    }
    let ctrl_c = agent.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.shutdown.cancel();
        }
    });
    let reaper = tokio::spawn(agent.clone().reap());
    info!(pipe = %name, "signetd {} listening", env!("CARGO_PKG_VERSION"));
    crate::server::pipe::run(&name, agent.clone(), max, grace)
        .await
        .map_err(StartError::Pipe)?;
    if !agent.close_audit(Duration::from_secs(5)) {
        warn!("audit log: the last events could not be written before shutdown");
    }
    reaper.abort();
    agent.keys.clear();
    Ok(())
}

/// How the agent re-reads its configuration, for SIGHUP and
/// `reload@signet` alike: the file checked whole (a bad rule keeps the old
/// configuration), the allow-list re-resolved, systemd told while it runs.
#[cfg(unix)]
fn install_reloader(
    agent: &Agent,
    source: ConfigSource,
    access: Arc<crate::access::allow::Access>,
    system: bool,
) {
    use crate::server::activation::notify;
    agent.set_reloader(Box::new(move |agent| {
        notify("RELOADING=1");
        let result = match reload(&source, system) {
            Ok((cfg, policy, roles)) => {
                access.set(policy);
                agent.set_roles(roles);
                agent.set_config(cfg);
                Ok(format!(
                    "configuration reloaded from {}",
                    source.path().display()
                ))
            }
            Err(e) => Err(crate::agent::ReloadError(format!(
                "keeping the previous configuration: {e}"
            ))),
        };
        notify("READY=1");
        result
    }));
}

/// SIGTERM/SIGINT shut down; SIGHUP reloads the configuration (keeping the
/// old one if the new one is invalid); SIGUSR1 drops every key and locks a
/// sealed key store again.
#[cfg(unix)]
fn spawn_signal_handlers(agent: Arc<Agent>) -> Result<(), StartError> {
    use tokio::signal::unix::{signal, SignalKind};
    let handle = |kind, signal_name| {
        signal(kind).map_err(|source| StartError::Signal {
            signal: signal_name,
            source,
        })
    };
    let mut term = handle(SignalKind::terminate(), "SIGTERM")?;
    let mut int = handle(SignalKind::interrupt(), "SIGINT")?;
    let mut hup = handle(SignalKind::hangup(), "SIGHUP")?;
    let mut usr1 = handle(SignalKind::user_defined1(), "SIGUSR1")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { info!("SIGTERM: shutting down"); agent.shutdown.cancel(); return; }
                _ = int.recv() => { info!("SIGINT: shutting down"); agent.shutdown.cancel(); return; }
                _ = agent.shutdown.cancelled() => return,
                _ = hup.recv() => match agent.reload() {
                    Ok(said) => info!("SIGHUP: {said}"),
                    Err(e) => warn!("SIGHUP: {e}"),
                },
                _ = usr1.recv() => {
                    let n = agent.keys.clear();
                    let store = agent.lock_store();
                    info!(store_locked = store, "SIGUSR1: dropped all {n} keys and forgot the key store's unlock");
                }
            }
        }
    });
    Ok(())
}

/// The configuration, allow-list and roles a SIGHUP would install (group
/// members may have changed); checked whole, so a bad rule keeps the old
/// one.
#[cfg(unix)]
fn reload(
    source: &ConfigSource,
    system: bool,
) -> Result<
    (
        Config,
        crate::access::allow::Policy,
        crate::access::roles::Roles,
    ),
    StartError,
> {
    let cfg = source.load()?;
    let policy = crate::access::allow::policy_for(system, &cfg.system)?;
    let roles = crate::access::roles::Roles::for_mode(system, &cfg.system)?;
    let policies = Policies::from_config(&cfg).map_err(|e| StartError::Policy {
        path: source.path().to_owned(),
        source: e,
    })?;
    can_evaluate(&policies, system, source.path())?;
    Ok((cfg, policy, roles))
}

/// A system agent serves other users: one that cannot read their
/// executables (no `CAP_SYS_PTRACE`) refuses a configuration whose rules
/// need them, naming the rule, rather than refusing every job at run time.
/// A user agent serves its own uid, whose executables it can read.
fn can_evaluate(
    policies: &Policies,
    system: bool,
    path: &std::path::Path,
) -> Result<(), StartError> {
    let sight = crate::access::process::Sight::of_this_process();
    if !system || sight.other_users_exe {
        return Ok(());
    }
    match policies.with_executables().next() {
        Some(rule) => Err(StartError::BlindToExecutables {
            rule: rule.to_owned(),
            euid: sight.euid,
            path: path.to_owned(),
        }),
        None => Ok(()),
    }
}

/// A daemon given `CAP_SYS_PTRACE` (not root: root has it anyway) is
/// reminded what else the capability allows, unless Yama forbids attaching.
#[cfg(unix)]
fn warn_about_ptrace_capability() {
    let sight = crate::access::process::Sight::of_this_process();
    if !sight.other_users_exe || sight.euid == 0 {
        return;
    }
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    if scope != Some(3) {
        let scope = scope.map_or_else(
            || {
                "kernel.yama.ptrace_scope cannot be read (no Yama, or hidden by ProcSubset=pid)"
                    .to_owned()
            },
            |n| format!("kernel.yama.ptrace_scope is {n}"),
        );
        warn!("signetd holds CAP_SYS_PTRACE (to read callers' executables for rules on them) and {scope}: whoever takes over signetd could also read and write other processes' memory; kernel.yama.ptrace_scope = 3 takes that away and leaves what ptrace's read access allows: executables, memory maps and environments (docs/service-accounts.md#rules-on-executables-need-cap_sys_ptrace)");
    }
}

/// Chooses and opens the key store. Fails only for an invalid
/// `SIGNET_STORE`; a store that does not answer is reported (`None` then
/// means: not even set up; `Some` with a problem: retried on each use).
async fn open_vault(
    agent: &Arc<Agent>,
    source: &ConfigSource,
    system: bool,
) -> Result<Option<Arc<Vault>>, StartError> {
    let config = agent.config();
    let index = source.index_path(&config);
    let backend = config.store.backend.clone();
    let service = config.store.effective_service();
    let seal = config.store.seal_mode(system);
    let env = std::env::var("SIGNET_STORE").ok();
    let vault =
        tokio::task::spawn_blocking(move || Vault::open(&backend, env, service, index, seal))
            .await??;
    let vault = Arc::new(vault);
    let info = {
        let v = vault.clone();
        tokio::task::spawn_blocking(move || v.info()).await?
    };
    info!(store = %info.backend, service = %info.service, index = %info.index, seal = %info.seal, "key store: {}", info.reason);
    if info.backend == "keyutils" {
        info!("key store: the kernel keyring does not survive a reboot");
    }
    match info.sealing.as_str() {
        "locked" => info!("key store: sealed; `signet unlock-store` unlocks it (keys to autoload wait for it)"),
        "not set up" => info!("key store: to be sealed with a passphrase; the first `signet unlock-store` chooses it (and seals any key stored in the clear)"),
        _ => {}
    }
    agent.set_vault(vault.clone());
    if !info.problem.is_empty() {
        warn!("key store: {}", info.problem);
    }
    Ok(Some(vault))
}

/// Repairs interrupted key-store operations and starts autoloading. Runs
/// before the daemon listens.
async fn repair_and_autoload(agent: &Arc<Agent>, vault: &Arc<Vault>) {
    let config = agent.config();
    let problem = {
        let v = vault.clone();
        match tokio::task::spawn_blocking(move || v.info()).await {
            Ok(info) => info.problem,
            Err(e) => e.to_string(),
        }
    };
    if !problem.is_empty() {
        return;
    }
    match vault::blocking(vault, |v| v.doctor(false, false, None)).await {
        Ok(r) => {
            for f in &r.findings {
                warn!("key store repair at start-up: {f}");
            }
        }
        Err(e) => warn!("key store check at start-up failed: {e}"),
    }
    // A sealed store (or one to be sealed) opens only with the passphrase:
    // its keys to autoload are loaded by `signet unlock-store`.
    if vault.sealing_info().mode == SealMode::Passphrase {
        return;
    }
    let autoload: Vec<String> = config
        .keys
        .iter()
        .filter(|(_, k)| k.autoload)
        .map(|(n, _)| n.clone())
        .collect();
    if !autoload.is_empty() {
        let agent = agent.clone();
        tokio::spawn(async move {
            let sel = Selection {
                all: false,
                names: autoload,
                lifetime: None,
            };
            match agent.load_stored(sel).await {
                Ok(keys) => {
                    for k in keys {
                        info!(key = %k.name, "autoloaded from the key store");
                    }
                }
                Err(e) => warn!("autoload: {e}"),
            }
        });
    }
}

/// The `[pkcs11]` token: the module checked against the allow-list and
/// loaded (a refused or broken module stops start-up), then the PIN from
/// its file or credential and the token's keys. A wrong PIN or an absent
/// token does not stop the agent: it is logged, the token's keys are
/// missing until `signet unlock --token` (or the token's return), and every
/// other key signs. A wrong PIN is never retried by itself.
#[cfg(unix)]
async fn open_token(
    agent: &Arc<Agent>,
    source: &ConfigSource,
    system: bool,
) -> Result<(), StartError> {
    use crate::config::PinSource;
    use crate::store::pkcs11::{self, Token, TokenError};
    let cfg = agent.config().pkcs11.clone();
    if !cfg.enabled() {
        return Ok(());
    }
    if system && cfg.allowed_module_dirs.is_some() {
        use std::os::unix::fs::MetadataExt as _;
        let path = source.path().to_owned();
        let why = match std::fs::metadata(&path) {
            Ok(m) if m.uid() != 0 => Some(format!("is owned by uid {}", m.uid())),
            Ok(m) if m.mode() & 0o022 != 0 => Some(format!(
                "has permissions {:04o} (group or others may write it)",
                m.mode() & 0o7777
            )),
            Ok(_) => None,
            Err(e) => Some(format!("cannot be checked ({e})")),
        };
        if let Some(why) = why {
            return Err(StartError::ModuleDirsNotRoot { path, why });
        }
    }
    let opened = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || Token::open(&cfg)).await??
    };
    let token = Arc::new(opened);
    info!(module = ?cfg.module, "PKCS#11 module loaded for {}", token.describe());
    agent.set_token(token.clone());
    let pin = match cfg.pin_source() {
        PinSource::File(p) => Some(pkcs11::read_pin_file(&p)),
        PinSource::Credential(c) => Some(pkcs11::read_pin_credential(&c)),
        PinSource::Ask => None,
    };
    match pin {
        Some(Err(detail)) => {
            return Err(StartError::Token(TokenError::PinSource {
                token: token.describe().to_owned(),
                detail,
            }))
        }
        Some(Ok(pin)) => match agent.token_login(pin).await {
            Ok(names) => {
                info!(keys = %names.join(", "), "{}: logged in, {} keys", token.describe(), names.len())
            }
            Err(e) => error!("{e} (its keys are not loaded; every other key signs)"),
        },
        None => warn!(
            "{} waits for its PIN: run `signet unlock --token` to use its keys",
            token.describe()
        ),
    }
    Ok(())
}

/// The keys the configuration names with a `source`.
#[cfg(unix)]
mod sources {
    use std::sync::Arc;

    use signet_proto::Ed25519Seed;
    use tokio::time::Instant;
    use tracing::info;

    use super::StartError;
    use crate::agent::{AddError, Agent, KeyError, LoadedKey, Origin};
    use crate::config::KeySource;
    use crate::hardening::{locked_seed, LockedSeed};
    use crate::store::sources::{read_credential, read_private_file, ReadError};
    use crate::store::vault::{self, VaultError};

    /// Why a configured key could not be loaded.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot load key {name:?} from {source_desc}: {why}")]
    pub struct SourceError {
        name: String,
        source_desc: String,
        why: Problem,
    }

    /// What went wrong with the source.
    #[derive(Debug, thiserror::Error)]
    pub enum Problem {
        /// The credential or file.
        #[error(transparent)]
        Read(#[from] ReadError),
        /// The key store.
        #[error(transparent)]
        Store(#[from] VaultError),
        /// The key store was not opened.
        #[error("the key store is not open")]
        NoStore,
        /// The blocking read failed.
        #[error("{0}")]
        Task(#[from] tokio::task::JoinError),
        /// Locked memory for the key.
        #[error(transparent)]
        Key(#[from] KeyError),
        /// A lifetime the clock cannot count.
        #[error("lifetime {0} s is longer than this agent can count")]
        Lifetime(u64),
        /// Its name is another key's, or the agent's limits are reached.
        #[error(transparent)]
        Add(Box<AddError>),
    }

    /// Loads every key that has a `source`, in name order. The first failure
    /// stops start-up (fail closed): the error names the key, its source and
    /// what to do. `source = "keyring"` in a sealed store (a user's agent)
    /// cannot be had before the passphrase: such keys wait for `signet
    /// unlock-store`, which loads them.
    pub(super) async fn load_configured(agent: &Arc<Agent>) -> Result<usize, StartError> {
        let config = agent.config();
        let mut n = 0;
        let mut stored = None;
        for (name, k) in &config.keys {
            let Some(source) = KeySource::of(name, k)? else {
                continue;
            };
            let waits = agent
                .vault()
                .is_some_and(|v| v.sealing_info().mode == crate::config::SealMode::Passphrase);
            if source == KeySource::Keyring && waits {
                info!(key = %name, "configured key waits for `signet unlock-store` (the key store is sealed)");
                continue;
            }
            let seed = read(agent, name, &source)
                .await
                .map_err(|why| SourceError {
                    name: name.clone(),
                    source_desc: source.describe(),
                    why,
                })?;
            let public = vault::public_of(&seed);
            let expires_at = match k.lifetime.and_then(|l| l.0) {
                None => None,
                Some(s) => Some(
                    Instant::now()
                        .checked_add(std::time::Duration::from_secs(s))
                        .ok_or(SourceError {
                            name: name.clone(),
                            source_desc: source.describe(),
                            why: Problem::Lifetime(s),
                        })?,
                ),
            };
            let origin = match &source {
                KeySource::Credential(_) => Origin::Credential,
                KeySource::File(_) => Origin::File,
                KeySource::Keyring => Origin::Keyring,
            };
            let key = LoadedKey::new(&seed, public, name.clone(), expires_at, k.confirm, origin)
                .map_err(|e| SourceError {
                    name: name.clone(),
                    source_desc: source.describe(),
                    why: e.into(),
                })?
                .with_remember(
                    k.confirm_remember
                        .and_then(|r| r.0)
                        .map(std::time::Duration::from_secs),
                );
            drop(seed);
            let fail = |why: Problem| SourceError {
                name: name.clone(),
                source_desc: source.describe(),
                why,
            };
            if stored.is_none() {
                stored = Some(agent.stored_entries().await.map_err(|e| fail(e.into()))?);
            }
            agent
                .add_key(key, stored.as_deref().unwrap_or_default())
                .map_err(|e| fail(Problem::Add(Box::new(e))))?;
            info!(key = %name, source = %source.describe(), "loaded configured key");
            n += 1;
        }
        Ok(n)
    }

    /// The seed, moved into locked memory.
    async fn read(agent: &Agent, name: &str, source: &KeySource) -> Result<LockedSeed, Problem> {
        let into_locked = |seed: Ed25519Seed| -> Result<LockedSeed, Problem> {
            let mut locked =
                locked_seed().map_err(|e| Problem::Key(KeyError::Memory(e.to_string())))?;
            locked.copy_from_slice(seed.expose());
            Ok(locked)
        };
        Ok(match source {
            KeySource::Credential(c) => {
                let c = c.clone();
                into_locked(tokio::task::spawn_blocking(move || read_credential(&c)).await??)?
            }
            KeySource::File(p) => {
                let p = p.clone();
                into_locked(tokio::task::spawn_blocking(move || read_private_file(&p)).await??)?
            }
            KeySource::Keyring => {
                let vault = agent.vault().ok_or(Problem::NoStore)?;
                let name = name.to_owned();
                vault::blocking(&vault, move |v| {
                    let entry = v.find(&name)?;
                    v.secret(&entry, None)
                })
                .await?
            }
        })
    }
}

/// How signetd's log writes an event's fields (its message included): as
/// tracing-subscriber's default does (`name=value`, strings quoted), then
/// every control and invisible character escaped
/// (`signet_proto::text::escape_controls`). Whatever a peer chose is
/// escaped where it is put into a message; this makes sure that a piece
/// that was not (a name in an error from a library, a path in an I/O
/// error) can still not start a line of its own, move the cursor or
/// recolour the terminal. The formatter's own colours (the level) are not
/// fields, and stay.
pub fn log_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use std::fmt::Write as _;
    use tracing_subscriber::field::MakeExt as _;
    tracing_subscriber::fmt::format::debug_fn(
        |w: &mut tracing_subscriber::fmt::format::Writer<'_>,
         field: &tracing::field::Field,
         value: &dyn std::fmt::Debug| {
            if field.name() != "message" {
                write!(w, "{}=", field.name())?;
            }
            write!(EscapingControls(w), "{value:?}")
        },
    )
    .delimited(" ")
}

/// Writes through to `0` with control and invisible characters escaped
/// (no allocation per field: the log of a flood of bad requests must not
/// cost memory).
struct EscapingControls<'a, 'w>(&'a mut tracing_subscriber::fmt::format::Writer<'w>);

impl std::fmt::Write for EscapingControls<'_, '_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        signet_proto::text::write_escaped_controls(&mut *self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A name and a path that were not escaped at their source still make
    /// one line each, with every control character shown as an escape.
    #[test]
    fn a_log_line_stays_one_line() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .fmt_fields(super::log_fields())
            .finish();
        let name = "ci\nINFO use confirmed key=\"prod\"\r\u{1b}[2K\0";
        let exe = std::path::Path::new("/tmp/x\nRequested by uid 0: /usr/sbin/sshd");
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(key = %name, exe = %exe.display(), "refused {name}: {}", exe.display());
            tracing::info!(key = name, "quoted");
        });
        let out = String::from_utf8(sink.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default();
        let esc = "ci\\nINFO use confirmed key=\"prod\"\\r\\u{1b}[2K\\u{0}";
        let path = "/tmp/x\\nRequested by uid 0: /usr/sbin/sshd";
        assert_eq!(
            out,
            format!(
                " WARN refused {esc}: {path} key={esc} exe={path}\n INFO quoted key=\"ci\\nINFO use confirmed key=\\\"prod\\\"\\r\\u{{1b}}[2K\\0\"\n"
            )
        );
    }
}
