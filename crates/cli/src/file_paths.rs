//! The environment `signet_proto::paths` reads for the configuration,
//! index, audit log and daemon log files: the same rule as signetd's.

use signet_proto::paths::FileEnv;

/// Runs `f` on the environment the file rules read (read now).
pub fn with_env<T>(f: impl FnOnce(&FileEnv<'_>) -> T) -> T {
    let [signet_config, xdg_config_home, xdg_state_home, home] =
        ["SIGNET_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "HOME"].map(std::env::var_os);
    f(&FileEnv {
        signet_config: signet_config.as_deref(),
        xdg_config_home: xdg_config_home.as_deref(),
        xdg_state_home: xdg_state_home.as_deref(),
        home: home.as_deref(),
    })
}
