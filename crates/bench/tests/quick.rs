//! The benchmark's smoke mode as a test: `signet-bench --quick` against the
//! real signetd and OpenSSH's ssh-agent. Fails on any error reply or a
//! signature that does not verify; never on speed.
//!
//! Needs a built signetd: `SIGNETD_BIN`, else `signetd` next to the test's
//! own signet-bench binary (build it with `cargo build -p signetd`, in the
//! same profile as the test). Also needs `ssh-agent`, `ssh-add`, `ssh-keygen`.

#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn quick_mode_runs_and_verifies() -> Result<(), String> {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_signet-bench"));
    let signetd = std::env::var_os("SIGNETD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| bench.with_file_name("signetd"));
    if !signetd.is_file() {
        return Err(format!(
            "{} not found: run `cargo build -p signetd` (same profile) first, or set SIGNETD_BIN",
            signetd.display()
        ));
    }
    let started = Instant::now();
    let out = Command::new(&bench)
        .args(["--quick", "--json", "--signetd"])
        .arg(&signetd)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bench.display()))?;
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "signet-bench --quick failed ({}):\n{stderr}\n{stdout}",
            out.status
        ));
    }
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).map_err(|e| format!("--json output: {e}\n{stdout}"))?;
    if doc["errors"] != 0 {
        return Err(format!("errors reported: {}", doc["errors"]));
    }
    if doc["verified"].as_u64().unwrap_or(0) == 0 {
        return Err("no signature was verified".into());
    }
    let modes: Vec<&str> = doc["cases"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["mode"].as_str()).collect())
        .unwrap_or_default();
    for m in ["raw-32B", "raw-256B", "encord-v2"] {
        if !modes.contains(&m) {
            return Err(format!("mode {m} missing from {modes:?}"));
        }
    }
    // Both client kinds drive signetd and the ideal agent: waiting in poll(2)
    // and blocked in read(2), as ssh-add, paramiko and the Python adapter are.
    for agent in ["signetd", "ideal"] {
        for kind in ["poll", "read"] {
            let found = doc["cases"].as_array().is_some_and(|c| {
                c.iter().any(|c| {
                    c["agent"] == agent
                        && c["mode"] == "raw-32B"
                        && c["client"] == kind
                        && c["verified"].as_u64().unwrap_or(0) > 0
                })
            });
            if !found {
                return Err(format!(
                    "no verified {agent} raw-32B case with {kind} clients"
                ));
            }
        }
    }
    let b3 = doc["targets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == "b3"))
        .ok_or("target b3 missing")?;
    if !b3["arithmetic"]
        .as_str()
        .unwrap_or_default()
        .contains("read clients")
    {
        return Err(format!("target b3 does not judge read clients: {b3}"));
    }
    if took > Duration::from_secs(30) {
        return Err(format!("--quick took {took:?}, over its 30 s budget"));
    }
    Ok(())
}
