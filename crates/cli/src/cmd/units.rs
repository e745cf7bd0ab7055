//! `signet install-units`: writes the systemd units or the launchd agent
//! shipped in the repository (embedded here, so an installed `signet` needs
//! no checkout) with the installed `signetd`'s path filled in, and prints
//! the commands that enable them. It never runs systemctl or launchctl.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::InstallUnitsArgs;
use anyhow::{bail, Context as _, Result};

/// The path the shipped unit files name; replaced on install.
const PLACEHOLDER: &str = "/usr/local/bin/signetd";

const USER_SERVICE: &str = include_str!("../../../../systemd/user/signet.service");
const USER_SOCKET: &str = include_str!("../../../../systemd/user/signet.socket");
const SYSTEM_SERVICE: &str = include_str!("../../../../systemd/system/signet-system.service");
const SYSTEM_SOCKET: &str = include_str!("../../../../systemd/system/signet-system.socket");
const LAUNCHD_PLIST: &str = include_str!("../../../../launchd/com.signet.agent.plist");

/// Runs `signet install-units`.
pub fn install(a: &InstallUnitsArgs) -> Result<()> {
    let signetd = signetd_path(a.signetd.as_deref())?;
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .context("$HOME is not set: pass --dir")
    };
    let (dir, files): (PathBuf, Vec<(&str, String)>) = if a.launchd {
        let home = home()?;
        let dir = match &a.dir {
            Some(d) => d.clone(),
            None => home.join("Library/LaunchAgents"),
        };
        (
            dir,
            vec![("com.signet.agent.plist", launchd_plist(&signetd, &home)?)],
        )
    } else {
        let exec = systemd_path(&signetd)?;
        let fill = |text: &str| text.replace(PLACEHOLDER, &exec);
        if a.system {
            (
                a.dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/etc/systemd/system")),
                vec![
                    ("signet-system.socket", SYSTEM_SOCKET.to_owned()),
                    ("signet-system.service", fill(SYSTEM_SERVICE)),
                ],
            )
        } else {
            let dir = match &a.dir {
                Some(d) => d.clone(),
                None => std::env::var_os("XDG_CONFIG_HOME")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
                    .map_or_else(|| home().map(|h| h.join(".config")), Ok)?
                    .join("systemd/user"),
            };
            (
                dir,
                vec![
                    ("signet.socket", USER_SOCKET.to_owned()),
                    ("signet.service", fill(USER_SERVICE)),
                ],
            )
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in &files {
        let path = dir.join(name);
        write_file(&path, text)?;
        eprintln!("signet: wrote {}", path.display());
    }
    let next = if a.launchd {
        if a.dir.is_none() {
            let logs = home()?.join("Library/Logs/signet");
            std::fs::create_dir_all(&logs)
                .with_context(|| format!("cannot create {}", logs.display()))?;
        }
        let plist = dir.join("com.signet.agent.plist");
        format!(
            "launchctl bootstrap gui/$(id -u) {}\n\
             export SIGNET_AUTH_SOCK=\"$HOME/Library/Application Support/signet/agent.sock\"\n",
            crate::output::shell_quote(&plist.to_string_lossy())
        )
    } else if a.system {
        "groupadd --system signet   # if it does not exist: members may use the socket file\n\
         install -d -m 0755 /etc/signet /etc/signet/credentials\n\
         # write /etc/signet/signetd.toml and LoadCredentialEncrypted= lines (docs/service-accounts.md)\n\
         systemctl daemon-reload && systemctl enable --now signet-system.socket\n\
         export SIGNET_AUTH_SOCK=/run/signet/agent.sock\n"
            .to_owned()
    } else {
        "systemctl --user daemon-reload && systemctl --user enable --now signet.socket\n\
         export SIGNET_AUTH_SOCK=\"$XDG_RUNTIME_DIR/signet/agent.sock\"\n"
            .to_owned()
    };
    let mut out = std::io::stdout().lock();
    out.write_all(next.as_bytes())
        .and_then(|()| out.flush())
        .context("could not write to stdout")
}

fn signetd_path(flag: Option<&Path>) -> Result<PathBuf> {
    let path = match flag {
        Some(p) => p.to_owned(),
        None => std::env::current_exe()
            .context("cannot find this program's path: pass --signetd PATH")?
            .with_file_name("signetd"),
    };
    let path = std::fs::canonicalize(&path).with_context(|| {
        format!(
            "signetd not found at {}: install it, or pass --signetd PATH",
            path.display()
        )
    })?;
    if !path.is_file() {
        bail!("{} is not a file: pass --signetd PATH", path.display());
    }
    Ok(path)
}

/// The path as a unit file's ExecStart= needs it: no quoting or specifier
/// surprises (`%` doubled), no whitespace.
fn systemd_path(path: &Path) -> Result<String> {
    let s = path
        .to_str()
        .context("signetd's path is not UTF-8: install it elsewhere or pass --signetd PATH")?;
    if s.chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        bail!("signetd's path {s:?} contains spaces or quotes, which unit files cannot take as is: install it elsewhere or pass --signetd PATH");
    }
    Ok(s.replace('%', "%%"))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn launchd_plist(signetd: &Path, home: &Path) -> Result<String> {
    let signetd = signetd
        .to_str()
        .context("signetd's path is not UTF-8: pass --signetd PATH")?;
    let home = home
        .to_str()
        .context("$HOME is not UTF-8: pass --dir and edit the plist")?;
    Ok(LAUNCHD_PLIST
        .replace("@SIGNETD@", &xml_escape(signetd))
        .replace("@HOME@", &xml_escape(home)))
}

/// Writes `text` to `path` (0644) through a temporary file and a rename, so
/// a unit file is never seen half-written.
fn write_file(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("signet-tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_name_the_placeholder_once_and_plist_its_markers() {
        assert!(USER_SERVICE.contains(&format!("ExecStart={PLACEHOLDER} ")));
        assert!(SYSTEM_SERVICE.contains(&format!("ExecStart={PLACEHOLDER} --system")));
        assert!(LAUNCHD_PLIST.contains("<string>@SIGNETD@</string>"));
        assert!(LAUNCHD_PLIST.contains("@HOME@/Library/Logs/signet/signetd.log"));
    }

    #[test]
    fn paths_are_escaped_or_refused() -> Result<()> {
        assert_eq!(
            systemd_path(Path::new("/opt/100%/signetd"))?,
            "/opt/100%%/signetd"
        );
        assert!(systemd_path(Path::new("/opt/my tools/signetd")).is_err());
        let p = launchd_plist(Path::new("/a&b/signetd"), Path::new("/Users/x"))?;
        assert!(p.contains("<string>/a&amp;b/signetd</string>"));
        assert!(!p.contains("@HOME@") && !p.contains("@SIGNETD@"));
        Ok(())
    }
}
