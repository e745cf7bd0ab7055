//! # signet-pkcs11-bench
//!
//! Signatures per second through a PKCS#11 token (SoftHSM2) next to an
//! in-memory key, in one run, through one real signetd:
//!
//! ```text
//! cargo build --release -p signetd -p signet-bench
//! target/release/signet-pkcs11-bench [--rounds 5] [--duration-ms 1000] [--clients 1,4]
//! ```
//!
//! Makes a SoftHSM2 token in a temp directory (`SOFTHSM2_CONF`), an Ed25519
//! key pair on it (`pkcs11-tool --keypairgen`), and starts a release
//! `signetd` (next to this binary, or `--signetd PATH`) with `[pkcs11]`
//! pointing at it and the audit log off; an in-memory key is added with
//! `ssh-add`. Closed-loop clients send pre-encoded `sign-request@signet`
//! (encord-v2) requests over the real socket, for the token key and the
//! in-memory key in alternating phases. Reports each key's median
//! throughput and their ratio.
//!
//! SoftHSM2 is software: this measures what signet adds around a module
//! (a blocking-pool hop, a pooled session, `C_SignInit`/`C_Sign`, the
//! signature check against the listed public key), not an HSM's speed.
//! Needs `softhsm2` and `opensc` (scripts/install-test-deps.sh). Exit codes:
//! 0 ran; 1 an error or a refused request.

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

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "bench-pin";

/// Token signatures per second next to in-memory ones.
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

fn frame(key: &str) -> Vec<u8> {
    let mut contents = Vec::new();
    SignHttpRequest {
        key,
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
fn measure(sock: &Path, key: &str, clients: usize, duration: Duration) -> Result<f64> {
    let req = frame(key);
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
                        let reason =
                            extension::ExtensionError::decode(body.get(1..n).unwrap_or_default())
                                .ok()
                                .flatten()
                                .map(|e| e.reason)
                                .unwrap_or_default();
                        bail!("signetd refused a benchmark request: {reason}");
                    }
                    Ok(())
                };
                for _ in 0..5 {
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet-pkcs11-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let args = Args::parse();
    if !Path::new(MODULE).is_file() {
        bail!("{MODULE} not found: install softhsm2 and opensc (scripts/install-test-deps.sh)");
    }
    let bin = match args.signetd {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("signetd"))
            .context("no directory for signetd")?,
    };
    let dir = tempfile::tempdir()?;
    let home = dir.path();
    std::fs::set_permissions(home, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let tokens = home.join("tokens");
    std::fs::create_dir_all(&tokens)?;
    let conf = home.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )?;
    run(Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", "bench"])
        .args(["--so-pin", "bench-so", "--pin", PIN]))?;
    run(Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--module",
            MODULE,
            "--token-label",
            "bench",
            "--login",
            "--pin",
            PIN,
        ])
        .args(["--keypairgen", "--key-type", "EC:edwards25519"])
        .args(["--label", "hsm", "--id", "01"]))?;
    let pin = home.join("pin");
    std::fs::write(&pin, PIN)?;
    std::fs::set_permissions(&pin, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let key = home.join("mem_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "mem", "-f"])
        .arg(&key))?;
    let cfg = home.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[audit]\nenabled = false\n[pkcs11]\nmodule = \"{MODULE}\"\ntoken = \"bench\"\npin_file = \"{}\"\n",
            pin.display()
        ),
    )?;
    let sock = home.join("agent.sock");
    let child = Command::new(&bin)
        .arg("--socket")
        .arg(&sock)
        .arg("--config")
        .arg(&cfg)
        .args(["--log-level", "warn"])
        .env("SOFTHSM2_CONF", &conf)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home)
        .env(
            "SIGNET_KEYRING_SERVICE",
            format!("signet-bench-{}", std::process::id()),
        )
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
                "signetd did not answer: {}",
                std::fs::read_to_string(home.join("log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    run(Command::new("ssh-add")
        .arg("-q")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &d.sock))?;
    let duration = Duration::from_millis(args.duration_ms);
    println!("clients  in memory (sig/s)  SoftHSM2 token (sig/s)  token/memory");
    for &clients in &args.clients {
        let (mut mem, mut hsm) = (Vec::new(), Vec::new());
        for round in 0..args.rounds.max(1) {
            // Alternate which goes first, so drift hits both.
            if round % 2 == 0 {
                mem.push(measure(&d.sock, "mem", clients, duration)?);
                hsm.push(measure(&d.sock, "hsm", clients, duration)?);
            } else {
                hsm.push(measure(&d.sock, "hsm", clients, duration)?);
                mem.push(measure(&d.sock, "mem", clients, duration)?);
            }
        }
        let (m, h) = (median(mem), median(hsm));
        println!(
            "{clients:>7}  {m:>17.0}  {h:>22.0}  {:>12.3}",
            if m > 0.0 { h / m } else { 0.0 }
        );
    }
    drop(d);
    Ok(())
}
