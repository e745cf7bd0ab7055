//! One version and one set of files for every way signet is installed
//! (issue 20): the Cargo workspace's version is the version of every crate,
//! of `signet --version` and `signetd --version`, of the Python adapter
//! (`signet_encord/_version.py`, which its wheel's metadata reads) and of the
//! Debian package (cargo-deb takes the crate's); what the package and
//! `scripts/install.sh` ship exists; the licence texts the wheel carries are
//! the repository's; the shipped units start signetd where the package puts
//! it.
//!
//! These check the sources, fast, in every test run. The built artifacts
//! (the .deb's Version, the wheel's METADATA, `signet_encord.__version__`
//! once installed) are checked by the packaging lane, tests/packaging/run.sh.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use signet_tests::{bin, run, CHILD_PATH};

/// The workspace's version: this crate has `version.workspace = true`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap_or_else(|e| panic!("the repository root: {e}"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn toml_of(rel: &str) -> toml::Table {
    read(rel)
        .parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The PEP 440 spelling of a Cargo (SemVer) version: `1.2.0` stays,
/// `1.2.0-rc.1` is `1.2.0rc1`, `-beta.N` is `bN`, `-alpha.N` is `aN`.
fn pep440(version: &str) -> String {
    let Some((release, pre)) = version.split_once('-') else {
        return version.to_owned();
    };
    let (kind, n) = pre
        .split_once('.')
        .unwrap_or_else(|| panic!("pre-release {pre:?}: spell it alpha.N, beta.N or rc.N"));
    let tag = match kind {
        "alpha" => "a",
        "beta" => "b",
        "rc" => "rc",
        _ => panic!("pre-release {pre:?}: spell it alpha.N, beta.N or rc.N"),
    };
    format!("{release}{tag}{n}")
}

#[test]
fn pep440_spells_pre_releases_as_pip_does() {
    assert_eq!(pep440("0.1.0"), "0.1.0");
    assert_eq!(pep440("1.2.0-rc.1"), "1.2.0rc1");
    assert_eq!(pep440("1.2.0-beta.3"), "1.2.0b3");
    assert_eq!(pep440("2.0.0-alpha.10"), "2.0.0a10");
}

#[test]
fn every_crate_takes_the_workspace_version() {
    let ws = toml_of("Cargo.toml");
    assert_eq!(
        ws["workspace"]["package"]["version"].as_str(),
        Some(VERSION)
    );
    let members = ws["workspace"]["members"]
        .as_array()
        .unwrap_or_else(|| panic!("workspace.members"));
    let lock = toml_of("Cargo.lock");
    let locked = lock["package"]
        .as_array()
        .unwrap_or_else(|| panic!("Cargo.lock has no packages"));
    for member in members {
        let dir = member.as_str().unwrap_or_default();
        let manifest = toml_of(&format!("{dir}/Cargo.toml"));
        let package = &manifest["package"];
        assert_eq!(
            package["version"]
                .get("workspace")
                .and_then(|w| w.as_bool()),
            Some(true),
            "{dir}/Cargo.toml: write `version.workspace = true`, so that one version is signet's"
        );
        let name = package["name"].as_str().unwrap_or_default();
        let in_lock = locked
            .iter()
            .find(|p| p["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("{name} is not in Cargo.lock"));
        assert_eq!(
            in_lock["version"].as_str(),
            Some(VERSION),
            "Cargo.lock has {name} at another version: run cargo build"
        );
    }
    // The workspace's own crates, as dependencies, at the same version.
    for dep in ["signet-proto", "signet-client"] {
        assert_eq!(
            ws["workspace"]["dependencies"][dep]["version"].as_str(),
            Some(VERSION),
            "[workspace.dependencies] {dep}"
        );
    }
}

#[test]
fn binaries_report_the_workspace_version() {
    for name in ["signet", "signetd"] {
        let r = run(Command::new(bin(name))
            .env_clear()
            .env("PATH", CHILD_PATH)
            .arg("--version"));
        r.assert_ok();
        assert_eq!(r.stdout.trim(), format!("{name} {VERSION}"), "{r}");
    }
}

#[test]
fn python_adapter_has_the_workspace_version() {
    let version_py = read("python/signet_encord/_version.py");
    let want = format!("__version__ = \"{}\"", pep440(VERSION));
    assert!(
        version_py.lines().any(|l| l.trim() == want),
        "python/signet_encord/_version.py must say {want}:\n{version_py}"
    );
    // ...and it is the wheel's only source of its version.
    let py = toml_of("python/pyproject.toml");
    assert_eq!(
        py["project"]["dynamic"].as_array().map(|d| d.len()),
        Some(1)
    );
    assert_eq!(py["project"]["dynamic"][0].as_str(), Some("version"));
    assert!(py["project"].get("version").is_none());
    assert_eq!(
        py["tool"]["hatch"]["version"]["path"].as_str(),
        Some("signet_encord/_version.py")
    );
}

/// `[package.metadata.deb]` of the crate cargo-deb packages.
fn deb_metadata() -> toml::Table {
    let cli = toml_of("crates/cli/Cargo.toml");
    cli["package"]["metadata"]["deb"]
        .as_table()
        .cloned()
        .unwrap_or_else(|| panic!("crates/cli/Cargo.toml has no [package.metadata.deb]"))
}

#[test]
fn debian_package_takes_the_crate_version_and_ships_what_exists() {
    let deb = deb_metadata();
    // cargo-deb's version is the crate's (the workspace's) plus `-revision`;
    // nothing here may replace it.
    assert!(
        deb.get("version").is_none() && deb.get("deb-version").is_none(),
        "[package.metadata.deb] must not set its own version"
    );
    assert_eq!(deb["name"].as_str(), Some("signet"));
    let cli_dir = repo().join("crates/cli");
    let assets = deb["assets"]
        .as_array()
        .unwrap_or_else(|| panic!("[package.metadata.deb] assets"));
    let mut dests = Vec::new();
    for asset in assets {
        let source = asset[0].as_str().unwrap_or_default();
        let dest = asset[1].as_str().unwrap_or_default();
        dests.push(dest.to_owned());
        if source.starts_with("target/") {
            continue; // built by scripts/package.sh
        }
        let path = cli_dir.join(source);
        let found = match source.rsplit_once('/') {
            Some((dir, pattern)) if pattern.contains('*') => {
                let (head, tail) = pattern.split_once('*').unwrap_or((pattern, ""));
                fs::read_dir(cli_dir.join(dir))
                    .unwrap_or_else(|e| panic!("{source}: {e}"))
                    .filter_map(|e| e.ok())
                    .filter(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.starts_with(head) && n.ends_with(tail)
                    })
                    .count()
            }
            _ => usize::from(path.is_file()),
        };
        assert!(found > 0, "the .deb's asset {source} does not exist");
    }
    for want in [
        "usr/bin/",
        "usr/lib/systemd/user/",
        "usr/share/man/man1/",
        "usr/share/man/man8/",
        "usr/share/bash-completion/completions/signet",
        "usr/share/zsh/vendor-completions/_signet",
        "usr/share/fish/vendor_completions.d/signet.fish",
        "usr/share/doc/signet/copyright",
    ] {
        assert!(dests.iter().any(|d| d == want), "no asset goes to {want}");
    }
    // The system units come in as cargo-deb systemd units, never enabled or started.
    let units = &deb["systemd-units"];
    assert_eq!(units["enable"].as_bool(), Some(false));
    assert_eq!(units["start"].as_bool(), Some(false));
}

#[test]
fn shipped_units_start_signetd_where_the_package_puts_it() {
    for unit in [
        "systemd/user/signet.service",
        "systemd/system/signet-system.service",
    ] {
        let text = read(unit);
        let exec: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ExecStart="))
            .collect();
        assert_eq!(exec.len(), 1, "{unit}");
        assert!(
            exec[0].starts_with("ExecStart=/usr/bin/signetd "),
            "{unit}: {}",
            exec[0]
        );
    }
}

#[test]
fn the_wheel_carries_the_repository_licence_texts() {
    for name in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert_eq!(
            read(name),
            read(&format!("python/{name}")),
            "python/{name} differs from {name}: copy it again"
        );
    }
    let py = toml_of("python/pyproject.toml");
    assert_eq!(
        py["project"]["license"].as_str(),
        toml_of("Cargo.toml")["workspace"]["package"]["license"].as_str(),
        "the wheel's licence expression is the workspace's"
    );
}
