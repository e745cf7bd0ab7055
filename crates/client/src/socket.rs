//! Where the agent listens, read from this process's environment.

use std::path::PathBuf;

use signet_proto::paths::SOCKET_ENV;

/// The named pipe signetd listens on by default on Windows.
pub const DEFAULT_PIPE: &str = r"\\.\pipe\signet-agent";

/// `$SIGNET_AUTH_SOCK` if set and non-empty (kept as raw OS bytes, so a
/// non-UTF-8 path works too).
fn env_socket() -> Option<PathBuf> {
    std::env::var_os(SOCKET_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

#[cfg(unix)]
pub(crate) fn default_path() -> PathBuf {
    if let Some(p) = env_socket() {
        return p;
    }
    let xdg = std::env::var("XDG_RUNTIME_DIR").ok();
    let uid = rustix::process::getuid().as_raw();
    signet_proto::paths::socket_path(None, xdg.as_deref(), &std::env::temp_dir(), uid)
}

#[cfg(windows)]
pub(crate) fn default_path() -> PathBuf {
    env_socket().unwrap_or_else(|| PathBuf::from(DEFAULT_PIPE))
}
