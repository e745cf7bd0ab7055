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
//! the audit log); unset: everything. The audit log is the default one: an
//! `[audit]` section (so `required`), sealed every 1000 records and every
//! 10 s by an audit key the daemon keeps in the kernel keyring under a
//! service name of its own (removed at the end); the run fails if no seal
//! was written or the log does not verify. `SIGNET_BENCH_DURABILITY`
//! (`queued`, `written`, `fsync`) sets `[audit] durability`.
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
    // The socket's directory must be private, or signetd refuses it.
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
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
        // The audit key goes to the key store: a service of this run's own,
        // never the user's.
        .env("SIGNET_KEYRING_SERVICE", keyring_service())
        .env("SIGNET_STORE", "keyutils")
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

/// This run's keyring service name.
fn keyring_service() -> String {
    format!("signet-bench-{}", std::process::id())
}

/// Removes what the agents filed in the kernel keyring under this run's
/// service (the audit key's seed): `/proc/keys` names them, `keyctl` unlinks.
fn purge_keyring() {
    let suffix = format!("@{}:", keyring_service());
    let text = std::fs::read_to_string("/proc/keys").unwrap_or_default();
    for line in text.lines().filter(|l| l.contains(&suffix)) {
        if let Some(id) = line
            .split_whitespace()
            .next()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
        {
            let _ = Command::new("keyctl")
                .args(["invalidate", &id.to_string()])
                .output();
        }
    }
}

/// Keyring entries are removed however the run ends.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        purge_keyring();
    }
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
    let _purge = Purge;
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
    let with = match std::env::var("SIGNET_BENCH_DURABILITY") {
        Ok(d) => with.replace("[audit]\n", &format!("[audit]\ndurability = {d:?}\n")),
        Err(_) => with,
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
    drop(policed);
    // The audit log really was written, and sealed: the log and its rotated
    // files, checked with signet-proto's verifier.
    let audited = std::env::var("SIGNET_BENCH_VARIANT").as_deref() != Ok("policy");
    let mut files: Vec<(u32, PathBuf)> = Vec::new();
    if let Some(dir) = audit_log.parent() {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = if name == "audit.log" {
                Some(0)
            } else {
                name.strip_prefix("audit.log.").and_then(|n| n.parse().ok())
            };
            if let Some(n) = n {
                files.push((n, e.path()));
            }
        }
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let files: Vec<signet_proto::audit::LogFile> = files
        .into_iter()
        .map(|(_, p)| signet_proto::audit::LogFile {
            name: p.display().to_string(),
            bytes: std::fs::read(&p).unwrap_or_default(),
        })
        .collect();
    let report = signet_proto::audit::verify(&signet_proto::audit::Input {
        files: &files,
        ..signet_proto::audit::Input::default()
    });
    println!(
        "audit log: {} lines, {} seals in {} file(s)",
        report.lines, report.seals, report.files
    );
    if audited {
        if report.lines == 0 || report.seals == 0 {
            bail!("the audited agent wrote no audit lines or no seal");
        }
        if let Some(bad) = report.first_break() {
            bail!("the audit log does not verify: {bad}");
        }
    }
    let ok = worst <= 0.10;
    println!(
        "target: policy + audit cost at most 10 % of sign-request throughput: {}",
        if ok { "met" } else { "NOT met" }
    );
    Ok(ok || !args.strict)
}
