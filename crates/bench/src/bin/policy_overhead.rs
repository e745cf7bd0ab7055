//! # signet-policy-overhead
//!
//! What per-key policy and the audit log cost `sign-request@signet`
//! throughput, measured end to end in one run:
//!
//! ```text
//! cargo build --release -p signetd -p signet-bench
//! target/release/signet-policy-overhead [--rounds 5] [--duration-ms 1000] [--clients 1,4]
//! ```
//!
//! Starts two release `signetd`s (next to this binary, or `--signetd PATH`)
//! with the same key: one with no configuration (no policy, audit log off),
//! one whose key has a policy exercising every cheap dimension (schemes,
//! methods, target globs, uids, executable glob, a per-key and a per-caller
//! rate limit too high to refuse) and the audit log on (written to a temp
//! directory). Closed-loop clients send pre-encoded encord-v2 requests over
//! the real sockets; the two agents alternate within each round. Reports
//! each agent's median throughput and the cost (1 - with/without).
//!
//! `SIGNET_BENCH_VARIANT` splits the cost: `policy` (policy, no audit log),
//! `audit` (audit log, no policy), `noexe` (policy without the `executables`
//! rule, whose `/proc/PID/exe` read on every request is the dearest part, plus
//! the audit log); unset: everything.
//!
//! Exit codes: 0 ran (and, with `--strict`, the cost is at most 10 %); 1 an
//! error or a failed reply; 2 `--strict` and the cost is above 10 %.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use signet_proto::encord::Scheme;
use signet_proto::extension::{self, SignHttpRequest};
use signet_proto::Request;

/// Cost of policy checks plus audit logging on sign-request throughput.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Alternating rounds.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Measured time per phase, milliseconds.
    #[arg(long, default_value_t = 1000)]
    duration_ms: u64,
    /// Client counts.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    clients: Vec<usize>,
    /// The signetd binary [default: next to this binary].
    #[arg(long)]
    signetd: Option<PathBuf>,
    /// Exit 2 when the cost is above 10 %.
    #[arg(long)]
    strict: bool,
}

struct Daemon {
    child: Child,
    sock: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        );
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn start(bin: &Path, dir: &Path, name: &str, config: &str, key: &Path) -> Result<Daemon> {
    let home = dir.join(name);
    std::fs::create_dir_all(home.join("state"))?;
    let cfg = home.join("config.toml");
    std::fs::write(&cfg, config)?;
    let sock = home.join("agent.sock");
    let child = Command::new(bin)
        .arg("--socket")
        .arg(&sock)
        .arg("--config")
        .arg(&cfg)
        .args(["--log-level", "warn"])
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", &home)
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(home.join("log"))?)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let d = Daemon { child, sock };
    let t0 = Instant::now();
    while UnixStream::connect(&d.sock).is_err() {
        if t0.elapsed() > Duration::from_secs(10) {
            bail!(
                "{name}: signetd did not answer; see {}",
                home.join("log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    run(Command::new("ssh-add")
        .arg("-q")
        .arg(key)
        .env("SSH_AUTH_SOCK", &d.sock))?;
    Ok(d)
}

fn frame() -> Vec<u8> {
    let mut contents = Vec::new();
    SignHttpRequest {
        key: "bench",
        scheme: Scheme::EncordV2,
        method: "GET",
        target: "/v2/public/projects/00000000-0000-0000-0000-000000000000?page=1",
        body_sha256: [0; 32],
    }
    .encode(&mut contents);
    let mut out = Vec::new();
    Request::Extension {
        name: extension::SIGN_REQUEST,
        contents: &contents,
    }
    .encode_frame(&mut out);
    out
}

/// Requests per second from `clients` closed-loop clients for `duration`.
fn measure(sock: &Path, clients: usize, duration: Duration) -> Result<f64> {
    let req = frame();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let sock = sock.to_owned();
            let req = req.clone();
            std::thread::spawn(move || -> Result<u64> {
                let mut s = UnixStream::connect(&sock)?;
                let mut len = [0u8; 4];
                let mut body = vec![0u8; 4096];
                let mut one = |s: &mut UnixStream| -> Result<()> {
                    s.write_all(&req)?;
                    s.read_exact(&mut len)?;
                    let n = u32::from_be_bytes(len) as usize;
                    if n > body.len() {
                        body.resize(n, 0);
                    }
                    s.read_exact(&mut body[..n])?;
                    if body.first() != Some(&29) {
                        let reason = signet_proto::extension::ExtensionError::decode(
                            body.get(1..n).unwrap_or_default(),
                        )
                        .ok()
                        .flatten()
                        .map(|e| e.reason)
                        .unwrap_or_default();
                        bail!(
                            "signetd refused a benchmark request (reply type {:?}): {reason}",
                            body.first()
                        );
                    }
                    Ok(())
                };
                for _ in 0..20 {
                    one(&mut s)?;
                }
                let t0 = Instant::now();
                let mut n = 0u64;
                while t0.elapsed() < duration {
                    one(&mut s)?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
    }
    Ok(total as f64 / duration.as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("signet-policy-overhead: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<bool> {
    let args = Args::parse();
    let bin = match args.signetd {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("signetd"))
            .context("no directory for signetd")?,
    };
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("bench_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f"])
        .arg(&key))?;
    let uid = rustix::process::geteuid().as_raw();
    let audit_log = dir.path().join("audit/audit.log");
    let with = format!(
        r#"
[policies.bench]
schemes = ["encord-v2"]
methods = ["GET", "POST"]
targets = ["/v2/public/user*", "/v2/public/projects*", "/v2/public/datasets*"]
uids = [{uid}]
executables = ["/*"]
rate_per_minute = 100000000
caller_rate_per_minute = 100000000
idle_timeout = "1h"
[keys.bench]
policy = "bench"
[audit]
path = {audit:?}
journal = false
"#,
        audit = audit_log.display().to_string()
    );
    // SIGNET_BENCH_VARIANT: see the top of this file.
    let with = match std::env::var("SIGNET_BENCH_VARIANT").as_deref() {
        Ok("policy") => with.replace("[audit]\n", "[audit]\nenabled = false\n"),
        Ok("audit") => with.replace("policy = \"bench\"", ""),
        Ok("noexe") => with.replace("executables = [\"/*\"]\n", ""),
        _ => with,
    };
    let without = "[audit]\nenabled = false\n";
    let plain = start(&bin, dir.path(), "plain", without, &key)?;
    let policed = start(&bin, dir.path(), "policed", &with, &key)?;
    let duration = Duration::from_millis(args.duration_ms);
    let mut worst = 0.0f64;
    println!("clients  without (req/s)  with policy+audit (req/s)  cost");
    for &clients in &args.clients {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for round in 0..args.rounds.max(1) {
            // Alternate which goes first, so drift hits both.
            if round % 2 == 0 {
                a.push(measure(&plain.sock, clients, duration)?);
                b.push(measure(&policed.sock, clients, duration)?);
            } else {
                b.push(measure(&policed.sock, clients, duration)?);
                a.push(measure(&plain.sock, clients, duration)?);
            }
        }
        let (ma, mb) = (median(a), median(b));
        let cost = 1.0 - mb / ma;
        worst = worst.max(cost);
        println!(
            "{clients:>7}  {ma:>15.0}  {mb:>25.0}  {:>5.1} %",
            cost * 100.0
        );
    }
    // The audit log really was written: lines in the log and its rotated files.
    let mut lines = 0;
    if let Some(dir) = audit_log.parent() {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            lines += std::fs::read_to_string(e.path())
                .map(|t| t.lines().count())
                .unwrap_or(0);
        }
    }
    println!("audit log: {lines} lines (all files)");
    if lines == 0 && std::env::var("SIGNET_BENCH_VARIANT").as_deref() != Ok("policy") {
        bail!("the audited agent wrote no audit lines");
    }
    let ok = worst <= 0.10;
    println!(
        "target: policy + audit cost at most 10 % of sign-request throughput: {}",
        if ok { "met" } else { "NOT met" }
    );
    Ok(ok || !args.strict)
}
