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
    let mut cmd = Command::new(tool);
    cmd.env_clear()
        .env("PATH", CHILD_PATH)
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
