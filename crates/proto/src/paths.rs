//! Where the agent's socket lives, computed the same way by every party.
//!
//! Pure: the caller passes in the environment it read, so the daemon, the
//! client and the CLI cannot disagree on the rule.

use std::path::{Path, PathBuf};

/// Environment variable that names the socket for every signet client.
pub const SOCKET_ENV: &str = "SIGNET_AUTH_SOCK";

/// File name of the socket inside its directory.
pub const SOCKET_NAME: &str = "agent.sock";

/// The socket path: `$SIGNET_AUTH_SOCK`, else `$XDG_RUNTIME_DIR/signet/agent.sock`,
/// else `<temp dir>/signet-<uid>/agent.sock`. Empty values count as unset.
pub fn socket_path(
    signet_auth_sock: Option<&str>,
    xdg_runtime_dir: Option<&str>,
    temp_dir: &Path,
    uid: u32,
) -> PathBuf {
    if let Some(p) = signet_auth_sock.filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(d) = xdg_runtime_dir.filter(|d| !d.is_empty()) {
        return Path::new(d).join("signet").join(SOCKET_NAME);
    }
    temp_dir.join(format!("signet-{uid}")).join(SOCKET_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let tmp = Path::new("/tmp");
        assert_eq!(
            socket_path(Some("/x/s"), Some("/run/user/1"), tmp, 1),
            PathBuf::from("/x/s")
        );
        assert_eq!(
            socket_path(Some(""), Some("/run/user/1"), tmp, 1),
            PathBuf::from("/run/user/1/signet/agent.sock")
        );
        assert_eq!(
            socket_path(None, None, tmp, 1000),
            PathBuf::from("/tmp/signet-1000/agent.sock")
        );
    }
}
