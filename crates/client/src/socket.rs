//! Where the agent listens, read from this process's environment.

use std::path::PathBuf;

use signet_proto::paths::{self, PathError, SocketEnv, SOCKET_ENV};

/// The named pipe signetd listens on by default on Windows.
pub const DEFAULT_PIPE: &str = r"\\.\pipe\signet-agent";

/// `$SIGNET_AUTH_SOCK` if set and non-empty (kept as raw OS bytes, so a
/// non-UTF-8 path works too).
fn env_socket() -> Option<PathBuf> {
    std::env::var_os(SOCKET_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The rule of [`signet_proto::paths::default_socket_path`] applied to this
/// process's environment (`$SIGNET_AUTH_SOCK` not consulted).
#[cfg(unix)]
pub(crate) fn default_location() -> Result<PathBuf, PathError> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (xdg, state) = (var("XDG_RUNTIME_DIR"), var("XDG_STATE_HOME"));
    // HOME, else the user database (std::env::home_dir falls back to getpwuid_r).
    let home =
        var("HOME").or_else(|| std::env::home_dir().and_then(|h| h.to_str().map(str::to_owned)));
    let uname = rustix::system::uname();
    let hostname = uname.nodename().to_string_lossy();
    paths::default_socket_path(&SocketEnv {
        signet_auth_sock: None,
        xdg_runtime_dir: xdg.as_deref(),
        xdg_state_home: state.as_deref(),
        home: home.as_deref(),
        hostname: &hostname,
    })
}

#[cfg(unix)]
pub(crate) fn default_path() -> Result<PathBuf, PathError> {
    match env_socket() {
        Some(p) => {
            paths::check_len(&p)?;
            Ok(p)
        }
        None => default_location(),
    }
}

#[cfg(windows)]
pub(crate) fn default_path() -> Result<PathBuf, PathError> {
    Ok(env_socket().unwrap_or_else(|| PathBuf::from(DEFAULT_PIPE)))
}
