//! `signetd`'s command line, as clap types and nothing else (no paths into
//! the rest of the crate): `main.rs` parses it, and `signet man` includes this file to
//! render signetd(8) from the same definitions.

use std::path::PathBuf;

use clap::Parser;

const LONG_ABOUT: &str = "\
signetd is signet's agent: it holds Ed25519 keys (in locked memory while \
loaded, in the OS keyring at rest) and signs for local processes over a Unix \
socket, speaking the SSH agent protocol plus signet's NAME@signet extensions. \
It runs in the foreground (for systemd and launchd); `signet start` starts it \
in the background for a login session.

SIGTERM and SIGINT stop it gracefully, SIGHUP (or `signet reload`) re-reads \
the configuration, SIGUSR1 drops every key. Clients find it through \
$SIGNET_AUTH_SOCK; `signet --help` lists what they can ask.";

/// signet's agent daemon: holds Ed25519 keys and signs over a local socket.
#[derive(Debug, Parser)]
#[command(
    name = "signetd",
    version,
    // Spelled out: `signet man` compiles this file in another crate.
    about = "signet's agent daemon: holds Ed25519 keys and signs over a local socket",
    long_about = LONG_ABOUT,
    after_help = "Exit codes: 0 clean shutdown, 1 error, 2 usage, 3 another agent already running on the socket."
)]
pub struct Args {
    /// Socket path [default: $SIGNET_AUTH_SOCK, else $XDG_RUNTIME_DIR/signet/agent.sock,
    /// else $XDG_STATE_HOME/signet/run/agent.HOST.sock, $XDG_STATE_HOME being
    /// ~/.local/state by default]. Its directory must be yours alone (0700);
    /// signetd creates it if missing and refuses any other.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Configuration file [default: $SIGNET_CONFIG, else $XDG_CONFIG_HOME/signet/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log level (error, warn, info, debug, trace); RUST_LOG overrides it.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// System mode for build machines: configuration /etc/signet/signetd.toml
    /// (required), socket /run/signet/agent.sock, access by the `[system]`
    /// allow-list (see docs/service-accounts.md).
    #[arg(long)]
    pub system: bool,
    /// State directory: the audit log, its head and lock files, and in system
    /// mode the audit key [default: $XDG_STATE_HOME/signet; with --system,
    /// $STATE_DIRECTORY (systemd's StateDirectory=), else /var/lib/signet].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Default lifetime of keys, as `ssh-agent -t`: keys added without a
    /// lifetime (`ssh-add`, `signet add`) are removed after it, and keys
    /// loaded from the key store get it unless `signet load --lifetime` or
    /// `[keys.NAME] lifetime` says otherwise. Seconds, or a duration such
    /// as 90s, 30m, 1h30m, 2d; 0 for none. Overrides `[agent]
    /// default_lifetime`.
    #[arg(short = 't', long = "lifetime", value_name = "DURATION", value_parser = parse_lifetime)]
    pub lifetime: Option<u64>,
}

/// `-t`'s value: seconds (0: none), at most what the agent protocol's
/// `uint32` lifetime can carry.
fn parse_lifetime(text: &str) -> Result<u64, String> {
    let secs = signet_proto::duration::parse_secs(text).map_err(|e| e.to_string())?;
    if secs > signet_proto::duration::MAX_LIFETIME_SECS {
        return Err(format!(
            "{text} is longer than the longest lifetime accepted ({} seconds)",
            signet_proto::duration::MAX_LIFETIME_SECS
        ));
    }
    Ok(secs)
}
