//! The macOS LaunchAgent. launchd does not run here (Linux CI): this checks
//! the shipped plist and the one `signet install-units --launchd` writes with
//! Python's `plistlib` (the same XML plist format launchd reads), and that it
//! names the keys launchd needs. Loading it with `launchctl bootstrap` is not
//! exercised.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use signet_tests::{bin, run, system_tool, CHILD_PATH};

/// The plist as JSON, through plistlib (which rejects malformed plists).
fn parse(path: &Path) -> Value {
    let python = system_tool("/usr/bin/python3");
    let r = run(Command::new(python)
        .env_clear()
        .env("PATH", CHILD_PATH)
        .args([
            "-c",
            "import json, plistlib, sys\nwith open(sys.argv[1], 'rb') as f:\n    print(json.dumps(plistlib.load(f)))",
        ])
        .arg(path));
    r.assert_ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r}"))
}

fn check_common(p: &Value) {
    assert_eq!(p["Label"], "com.signet.agent");
    assert_eq!(p["RunAtLoad"], true);
    assert_eq!(
        p["KeepAlive"]["SuccessfulExit"], false,
        "restart after a crash only"
    );
    assert_eq!(p["SoftResourceLimits"]["Core"], 0);
    assert_eq!(p["HardResourceLimits"]["Core"], 0);
    let args = p["ProgramArguments"]
        .as_array()
        .unwrap_or_else(|| panic!("{p}"));
    assert_eq!(args.len(), 3, "{p}");
    assert_eq!(args[1], "--socket");
}

#[test]
fn shipped_plist_parses_with_placeholders() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../launchd/com.signet.agent.plist");
    let p = parse(&path);
    check_common(&p);
    assert_eq!(p["ProgramArguments"][0], "@SIGNETD@");
    assert_eq!(
        p["ProgramArguments"][2],
        "@HOME@/Library/Application Support/signet/agent.sock"
    );
    assert_eq!(
        p["StandardErrorPath"],
        "@HOME@/Library/Logs/signet/signetd.log"
    );
}

#[test]
fn installed_plist_names_the_real_binary_and_home() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A HOME with characters XML must escape.
    let home = dir.path().join("R&D <home>");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("LaunchAgents");
    let r = run(Command::new(bin("signet"))
        .env_clear()
        .env("PATH", CHILD_PATH)
        .env("HOME", &home)
        .args(["install-units", "--launchd", "--dir"])
        .arg(&out)
        .arg("--signetd")
        .arg(bin("signetd")));
    r.assert_ok();
    assert!(r.stdout.contains("launchctl bootstrap gui/$(id -u)"), "{r}");
    let p = parse(&out.join("com.signet.agent.plist"));
    check_common(&p);
    let signetd = std::fs::canonicalize(bin("signetd")).unwrap_or_else(|e| panic!("{e}"));
    let exe = p["ProgramArguments"][0].as_str().unwrap_or_default();
    assert_eq!(Path::new(exe), signetd);
    assert!(Path::new(exe).is_file());
    let home = home.to_string_lossy();
    assert_eq!(
        p["ProgramArguments"][2],
        format!("{home}/Library/Application Support/signet/agent.sock")
    );
    assert_eq!(
        p["StandardErrorPath"],
        format!("{home}/Library/Logs/signet/signetd.log")
    );
    assert_eq!(p["StandardOutPath"], p["StandardErrorPath"]);
}
