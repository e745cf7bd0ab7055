//! The shipped systemd units, as `signet install-units` writes them, pass
//! `systemd-analyze verify` (strictly: no warning about an unknown or
//! ignored setting either), and the system service keeps the hardening the
//! documentation promises.

use std::path::Path;
use std::process::Command;

use signet_tests::{bin, run, system_tool, Run, CHILD_PATH};

fn install(kind: &str, dir: &Path) -> Run {
    let r = run(Command::new(bin("signet"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", dir)
        .args(["install-units", kind, "--dir"])
        .arg(dir)
        .arg("--signetd")
        .arg(bin("signetd")));
    r.assert_ok();
    r
}

/// `systemd-analyze [--user] verify FILES…` must exit 0 and print nothing
/// that says a line was not understood.
#[track_caller]
fn verify(dir: &Path, user: bool, files: &[&str]) {
    let tool = system_tool("/usr/bin/systemd-analyze");
    let runtime = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // The units' Documentation= names man:signetd(8) and man:signet(1):
    // verify runs `man` for each, so the pages signet generates (dist/)
    // must be found, as they will be once installed.
    let manpath = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/man");
    for (page, section) in [("signetd.8", "man8"), ("signet.1", "man1")] {
        let dir = manpath.path().join(section);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(dist.join(page), dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
    }
    let mut cmd = Command::new(tool);
    cmd.env_clear()
        .env("PATH", CHILD_PATH)
        .env("MANPATH", manpath.path())
        .env("SYSTEMD_LOG_LEVEL", "info");
    if user {
        // The user manager `verify` runs needs a runtime directory.
        cmd.env("XDG_RUNTIME_DIR", runtime.path()).arg("--user");
    }
    cmd.arg("verify").args(files.iter().map(|f| dir.join(f)));
    let r = run(&mut cmd);
    r.assert_ok();
    for bad in [
        "Unknown",
        "ignoring",
        "Failed",
        "not executable",
        "Invalid",
        "Unit configuration has fatal error",
    ] {
        assert!(
            !r.stderr.contains(bad),
            "systemd-analyze complained ({bad}):\n{r}"
        );
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn user_units_verify_and_name_the_installed_signetd() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = install("--user", dir.path());
    assert!(
        r.stdout.contains(
            "systemctl --user daemon-reload && systemctl --user enable --now signet.socket"
        ),
        "{r}"
    );
    verify(dir.path(), true, &["signet.socket", "signet.service"]);
    let service = read(&dir.path().join("signet.service"));
    let signetd = std::fs::canonicalize(bin("signetd")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        service.contains(&format!(
            "ExecStart={} --socket %t/signet/agent.sock",
            signetd.display()
        )),
        "{service}"
    );
    assert!(
        service.contains("Type=notify") && service.contains("ExecReload=/bin/kill -HUP $MAINPID")
    );
    let socket = read(&dir.path().join("signet.socket"));
    assert!(
        socket.contains("ListenStream=%t/signet/agent.sock") && socket.contains("SocketMode=0600")
    );
}

#[test]
fn system_units_verify_and_are_hardened() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = install("--system", dir.path());
    assert!(
        r.stdout
            .contains("systemctl daemon-reload && systemctl enable --now signet-system.socket"),
        "{r}"
    );
    verify(
        dir.path(),
        false,
        &["signet-system.socket", "signet-system.service"],
    );
    let service = read(&dir.path().join("signet-system.service"));
    let settings: Vec<&str> = service
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .collect();
    for want in [
        "Type=notify",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "MemoryDenyWriteExecute=yes",
        "LockPersonality=yes",
        "RestrictAddressFamilies=AF_UNIX",
        "IPAddressDeny=any",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "UMask=0177",
        "LimitCORE=0",
        "KeyringMode=private",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(
            settings.contains(&want),
            "{want} missing from the system service:\n{service}"
        );
    }
    // PrivateUsers= would map every caller to `nobody` in SO_PEERCRED and
    // break the allow-list.
    assert!(
        !settings.iter().any(|l| l.starts_with("PrivateUsers=")),
        "{service}"
    );
    assert!(settings
        .iter()
        .any(|l| l.starts_with("ExecStart=") && l.contains(" --system")));
    let socket = read(&dir.path().join("signet-system.socket"));
    assert!(
        socket.contains("ListenStream=/run/signet/agent.sock")
            && socket.contains("SocketMode=0660")
    );

    // systemd's own exposure rating of the hardening, offline.
    let tool = system_tool("/usr/bin/systemd-analyze");
    let r = run(Command::new(tool)
        .env_clear()
        .env("PATH", CHILD_PATH)
        .args(["security", "--offline=true", "--threshold=20"])
        .arg(dir.path().join("signet-system.service")));
    r.assert_ok();
    let level = r
        .stdout
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for signet-system.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no exposure level:\n{r}"));
    assert!(level <= 2.0, "exposure {level} is worse than 2.0:\n{r}");
}

#[test]
fn a_unit_with_a_typo_fails_the_same_check() {
    // The checks above would notice a broken unit: a misspelt directive is
    // reported, not silently accepted.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    install("--system", dir.path());
    let path = dir.path().join("signet-system.service");
    let broken = read(&path).replace("ProtectHome=yes", "ProtectHom=yes");
    std::fs::write(&path, broken).unwrap_or_else(|e| panic!("{e}"));
    let r = run(Command::new(system_tool("/usr/bin/systemd-analyze"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .arg("verify")
        .arg(dir.path().join("signet-system.socket"))
        .arg(&path));
    assert!(r.stderr.contains("Unknown key 'ProtectHom'"), "{r}");
}

#[test]
fn install_units_refuses_a_missing_signetd() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run(Command::new(bin("signet"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .args(["install-units", "--user", "--dir"])
        .arg(dir.path())
        .args(["--signetd", "/nonexistent/signetd"]));
    r.assert_code(1);
    assert!(r.stderr.contains("--signetd"), "{r}");
    assert!(!dir.path().join("signet.service").exists());
}

/// A group made with `groupadd` for one test, deleted on drop.
struct TempGroup(String);

impl TempGroup {
    fn create() -> Self {
        assert_eq!(
            signet_tests::my_uid(),
            0,
            "this test makes a group (groupadd): run the tests as root (CI does)"
        );
        let name = format!("sgt{}", std::process::id());
        run(Command::new(system_tool("/usr/sbin/groupadd"))
            .args(["--system"])
            .arg(&name))
        .assert_ok();
        Self(name)
    }
}

impl Drop for TempGroup {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/groupdel").arg(&self.0).status();
    }
}

fn install_system(dir: &Path, extra: &[&str]) -> Run {
    run(Command::new(bin("signet"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .args(["install-units", "--system", "--dir"])
        .arg(dir)
        .arg("--signetd")
        .arg(bin("signetd"))
        .args(extra))
}

/// `--system --group`: the group must be one `[system] allow_groups` lists;
/// the socket is owned by it; every `source = "credential"` key gets its
/// `LoadCredentialEncrypted=` line; the result passes `systemd-analyze
/// verify`; the next steps make the credentials directory 0700.
#[test]
fn system_units_take_the_group_and_credentials_from_the_configuration() {
    let group = TempGroup::create();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("signetd.toml");
    std::fs::write(
        &config,
        format!(
            "[system]\nallow_groups = [\"{}\"]\n\n\
             [keys.ci-bot]\nsource = \"credential\"\n\n\
             [keys.deploy]\nsource = \"credential\"\ncredential = \"deploy-key\"\n\n\
             [keys.local]\nsource = \"keyring\"\n",
            group.0
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg = config.to_string_lossy().into_owned();
    let units = dir.path().join("units");
    let r = install_system(&units, &["--group", &group.0, "--config", &cfg]);
    r.assert_ok();
    assert!(
        r.stdout
            .contains("install -d -m 0700 /etc/signet/credentials"),
        "{r}"
    );
    assert!(!r.stdout.contains("0755 /etc/signet/credentials"), "{r}");
    assert!(
        r.stdout.contains("systemd-creds encrypt --name=ci-bot")
            && r.stdout.contains("/etc/signet/credentials/deploy-key.cred"),
        "{r}"
    );
    assert!(!r.stdout.contains("groupadd"), "the group exists:\n{r}");
    verify(
        &units,
        false,
        &["signet-system.socket", "signet-system.service"],
    );
    let socket = read(&units.join("signet-system.socket"));
    assert!(
        socket.contains(&format!("\nSocketGroup={}\n", group.0)),
        "{socket}"
    );
    let service = read(&units.join("signet-system.service"));
    let creds: Vec<&str> = service
        .lines()
        .filter(|l| l.starts_with("LoadCredentialEncrypted="))
        .collect();
    assert_eq!(
        creds,
        [
            "LoadCredentialEncrypted=ci-bot:/etc/signet/credentials/ci-bot.cred",
            "LoadCredentialEncrypted=deploy-key:/etc/signet/credentials/deploy-key.cred",
        ],
        "{service}"
    );
    assert!(!service.contains("example.invalid") && !service.contains("@CREDENTIALS@"));
    assert!(
        service.contains("Documentation=man:signetd(8)"),
        "{service}"
    );

    // A group the agent would turn away is refused, nothing written.
    let elsewhere = dir.path().join("refused");
    let r = install_system(&elsewhere, &["--group", "nogroup", "--config", &cfg]);
    r.assert_code(1);
    for needle in [
        "group \"nogroup\" is not in [system] allow_groups",
        &group.0,
        "would turn them away",
    ] {
        assert!(r.stderr.contains(needle), "stderr lacks {needle:?}:\n{r}");
    }
    assert!(!elsewhere.join("signet-system.socket").exists());

    // Without a configuration: written, with the step that is missing.
    let r = install_system(
        &dir.path().join("bare"),
        &["--config", &dir.path().join("none.toml").to_string_lossy()],
    );
    r.assert_ok();
    assert!(r.stderr.contains("refuses to start without it"), "{r}");
}

/// Not root, no --dir: the message says what to run.
#[test]
fn system_units_need_root_and_say_so() {
    let user = signet_tests::TempUser::create("sgu");
    let r = run(user
        .command(bin("signet"))
        .args(["install-units", "--system", "--signetd"])
        .arg(bin("signetd")));
    r.assert_code(1);
    for needle in [
        "needs root",
        "sudo signet install-units --system",
        "--dir DIR",
    ] {
        assert!(r.stderr.contains(needle), "stderr lacks {needle:?}:\n{r}");
    }
}
