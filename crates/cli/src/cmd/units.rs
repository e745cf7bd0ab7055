//! `signet install-units`: writes the systemd units or the launchd agent
//! shipped in the repository (embedded here, so an installed `signet` needs
//! no checkout) with the installed `signetd`'s path filled in, and prints
//! the commands that enable them. It never runs systemctl or launchctl.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde_json::json;

use super::Ctx;
use crate::cli::{exit, InstallUnitsArgs};
use crate::failure::Failure;

/// The path the shipped unit files name (where the Debian package puts
/// signetd); replaced on install.
const PLACEHOLDER: &str = "/usr/bin/signetd";

const USER_SERVICE: &str = include_str!("../../../../systemd/user/signet.service");
const USER_SOCKET: &str = include_str!("../../../../systemd/user/signet.socket");
const SYSTEM_SERVICE: &str = include_str!("../../../../systemd/system/signet-system.service");
const SYSTEM_SOCKET: &str = include_str!("../../../../systemd/system/signet-system.socket");
const LAUNCHD_PLIST: &str = include_str!("../../../../launchd/com.signet.agent.plist");

/// What `install-units --system` read from the system configuration.
#[derive(Debug, Default, PartialEq, Eq)]
struct SystemConfig {
    /// `[system] allow_groups`, as written (names or gids).
    allow_groups: Vec<String>,
    /// The credential names of the `source = "credential"` keys.
    credentials: Vec<String>,
}

/// Reads what install-units needs from the system configuration; `None`
/// when the file does not exist.
fn read_system_config(path: &Path) -> Result<Option<SystemConfig>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let doc: toml::Table = text.parse().with_context(|| {
        format!(
            "{} is not valid TOML: fix it first (`signetd --system` would refuse it too)",
            path.display()
        )
    })?;
    let allow_groups = doc
        .get("system")
        .and_then(|s| s.get("allow_groups"))
        .and_then(|g| g.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| match v {
                    toml::Value::String(s) => Some(s.clone()),
                    toml::Value::Integer(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut credentials = Vec::new();
    if let Some(keys) = doc.get("keys").and_then(|k| k.as_table()) {
        for (name, k) in keys {
            if k.get("source").and_then(|s| s.as_str()) == Some("credential") {
                let cred = k.get("credential").and_then(|c| c.as_str()).unwrap_or(name);
                credentials.push(cred.to_owned());
            }
        }
    }
    Ok(Some(SystemConfig {
        allow_groups,
        credentials,
    }))
}

/// The gid of group `name` in `/etc/group`, if it is there.
fn group_gid(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

/// Whether `group` is one `allow_groups` names (by name, or by its gid).
fn group_allowed(group: &str, allowed: &[String]) -> bool {
    let gid = group_gid(group).map(|g| g.to_string());
    allowed
        .iter()
        .any(|a| a == group || gid.as_deref() == Some(a.as_str()))
}

/// A systemd unit name fragment must stay one token: a credential name
/// from the configuration goes into a unit line.
fn unit_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@+".contains(c))
}

/// The system service with the credentials filled in.
fn system_service(exec: &str, credentials: &[String]) -> String {
    let lines: String = credentials
        .iter()
        .map(|c| format!("LoadCredentialEncrypted={c}:/etc/signet/credentials/{c}.cred\n"))
        .collect();
    SYSTEM_SERVICE.replace(PLACEHOLDER, exec).replace(
        "# @CREDENTIALS@ (install-units writes one line per `source = \"credential\"` key here)\n",
        &lines,
    )
}

/// Runs `signet install-units`.
pub fn install(ctx: &Ctx, a: &InstallUnitsArgs) -> Result<()> {
    let signetd = signetd_path(a.signetd.as_deref())?;
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .context("$HOME is not set: pass --dir")
    };
    let mut next: Vec<String> = Vec::new();
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
        if a.system {
            system_units(ctx, a, &exec, &mut next)?
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
                    ("signet.service", USER_SERVICE.replace(PLACEHOLDER, &exec)),
                ],
            )
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| write_error(&dir, e, a))?;
    let mut written = Vec::new();
    for (name, text) in &files {
        let path = dir.join(name);
        write_file(&path, text).map_err(|e| match e.downcast::<std::io::Error>() {
            Ok(io) => write_error(&path, io, a),
            Err(other) => other,
        })?;
        ctx.note(format_args!("wrote {}", path.display()));
        written.push(path.display().to_string());
    }
    if a.launchd {
        if a.dir.is_none() {
            let logs = home()?.join("Library/Logs/signet");
            std::fs::create_dir_all(&logs)
                .with_context(|| format!("cannot create {}", logs.display()))?;
        }
        let plist = dir.join("com.signet.agent.plist");
        next.push(format!(
            "launchctl bootstrap gui/$(id -u) {}",
            crate::output::shell_quote(&plist.to_string_lossy())
        ));
        next.push(
            "export SIGNET_AUTH_SOCK=\"$HOME/Library/Application Support/signet/agent.sock\""
                .to_owned(),
        );
    } else if a.system {
        next.push(
            "systemctl daemon-reload && systemctl enable --now signet-system.socket".to_owned(),
        );
        next.push("export SIGNET_AUTH_SOCK=/run/signet/agent.sock".to_owned());
    } else {
        next.push(
            "systemctl --user daemon-reload && systemctl --user enable --now signet.socket"
                .to_owned(),
        );
        next.push("export SIGNET_AUTH_SOCK=\"$XDG_RUNTIME_DIR/signet/agent.sock\"".to_owned());
    }
    let text: String = next.iter().map(|l| format!("{l}\n")).collect();
    ctx.show(&text, &json!({"written": written, "next": next}))
}

/// The system units, after checking the group against the configuration;
/// the commands still to run go into `next`.
fn system_units(
    ctx: &Ctx,
    a: &InstallUnitsArgs,
    exec: &str,
    next: &mut Vec<String>,
) -> Result<(PathBuf, Vec<(&'static str, String)>)> {
    let root = rustix::process::geteuid().is_root();
    if a.dir.is_none() && !root {
        return Err(Failure::new(
            "needs_root",
            exit::ERROR,
            "writing the system units into /etc/systemd/system needs root: run \
             `sudo signet install-units --system …`, or pass --dir DIR to write them elsewhere \
             and install them yourself",
        )
        .into());
    }
    if !unit_token(&a.group) {
        bail!(
            "--group {:?} is not a group name: use letters, digits and . _ - @ +",
            a.group
        );
    }
    let config = read_system_config(&a.config)?;
    let credentials = match &config {
        Some(c) => {
            if !group_allowed(&a.group, &c.allow_groups) {
                let listed = if c.allow_groups.is_empty() {
                    "none: only root may use the agent".to_owned()
                } else {
                    c.allow_groups.join(", ")
                };
                return Err(Failure::new(
                    "group_not_allowed",
                    exit::ERROR,
                    format!(
                        "group {:?} is not in [system] allow_groups of {} (it lists {listed}): \
                         members of the socket's group could connect, but the agent would turn \
                         them away. Add \"{}\" to allow_groups there, or pass --group with a group \
                         it lists",
                        a.group,
                        a.config.display(),
                        a.group
                    ),
                )
                .into());
            }
            for c in &c.credentials {
                if !unit_token(c) {
                    bail!(
                        "credential name {c:?} in {} cannot go into a unit file: use letters, digits and . _ - @ +",
                        a.config.display()
                    );
                }
            }
            c.credentials.clone()
        }
        None => {
            ctx.note(format_args!(
                "{} does not exist: `signetd --system` refuses to start without it, and --group \
                 {} could not be checked against its allow_groups; write it first \
                 (docs/service-accounts.md), then run install-units again for its \
                 LoadCredentialEncrypted= lines",
                a.config.display(),
                a.group
            ));
            Vec::new()
        }
    };
    if group_gid(&a.group).is_none() {
        next.push(format!(
            "groupadd --system {}   # members may open the socket file",
            a.group
        ));
    }
    next.push("install -d -m 0755 /etc/signet".to_owned());
    next.push("install -d -m 0700 /etc/signet/credentials".to_owned());
    for c in &credentials {
        let cred = format!("/etc/signet/credentials/{c}.cred");
        if !Path::new(&cred).exists() {
            next.push(format!(
                "systemd-creds encrypt --name={c} KEYFILE {cred} && shred -u KEYFILE   # KEYFILE: the private key"
            ));
        }
    }
    if config.is_none() {
        next.push(format!(
            "# write {} ([system] allow_groups = [\"{}\"], [keys.NAME] source = \"credential\")",
            a.config.display(),
            a.group
        ));
    }
    let socket = SYSTEM_SOCKET.replace("SocketGroup=signet", &format!("SocketGroup={}", a.group));
    Ok((
        a.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc/systemd/system")),
        vec![
            ("signet-system.socket", socket),
            ("signet-system.service", system_service(exec, &credentials)),
        ],
    ))
}

/// A write into the unit directory failed: permission problems get the
/// next step (root, or --dir).
fn write_error(path: &Path, e: std::io::Error, a: &InstallUnitsArgs) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied && a.dir.is_none() {
        let how = if a.system {
            "run it as root (`sudo signet install-units --system …`)"
        } else {
            "check the directory's owner"
        };
        return Failure::new(
            "permission_denied",
            exit::ERROR,
            format!(
                "cannot write {}: permission denied; {how}, or pass --dir DIR to write the units elsewhere",
                path.display()
            ),
        )
        .into();
    }
    anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
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
    fn system_config_gives_groups_and_credentials() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let f = dir.path().join("signetd.toml");
        assert_eq!(read_system_config(&f)?, None);
        std::fs::write(
            &f,
            "[system]\nallow_groups = [\"ci\", 1234]\n\
             [keys.bot]\nsource = \"credential\"\n\
             [keys.other]\nsource = \"credential\"\ncredential = \"other-cred\"\n\
             [keys.local]\nsource = \"keyring\"\n",
        )?;
        let c = read_system_config(&f)?.unwrap_or_default();
        assert_eq!(c.allow_groups, ["ci", "1234"]);
        assert_eq!(c.credentials, ["bot", "other-cred"]);
        assert!(group_allowed("ci", &c.allow_groups));
        assert!(!group_allowed("nobody-here", &c.allow_groups));
        // root's gid 0: allowed when listed by number.
        assert!(group_allowed("root", &["0".to_owned()]));
        let service = system_service("/usr/bin/signetd", &c.credentials);
        assert!(
            service.contains("\nLoadCredentialEncrypted=bot:/etc/signet/credentials/bot.cred\n")
        );
        assert!(service.contains(
            "\nLoadCredentialEncrypted=other-cred:/etc/signet/credentials/other-cred.cred\n"
        ));
        assert!(!service.contains("@CREDENTIALS@"));
        assert!(!service.contains("example.invalid"));
        assert!(service.contains("Documentation=man:signetd(8)"));
        Ok(())
    }

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
