//! Closed-loop load: N client threads, each with its own connection, sending a
//! pre-encoded request and waiting for its reply, as fast as the agent allows.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context as _, Result};
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use signet_proto::encord::{self, Scheme};
use signet_proto::extension::{self, SignHttpReply, SignHttpRequest};
use signet_proto::message::msg;
use signet_proto::wire::Reader;
use signet_proto::{Request, Response, SignRequest};

use crate::client_io::{read_frame_as, round_trip, ClientKind};
use crate::procfs;

/// What a client sends and how it checks the reply.
pub struct Workload {
    /// The request frame, encoded once.
    pub frame: Vec<u8>,
    check: Check,
}

enum Check {
    Raw {
        data: Vec<u8>,
    },
    EncordV2 {
        method: &'static str,
        target: &'static str,
        body_sha256: [u8; 32],
    },
}

/// The HTTP request every `sign-request@signet` client signs.
const METHOD: &str = "POST";
const TARGET: &str = "/v2/public/projects/5f1c2b7e-0000-4000-8000-000000000000/data?page=2";

impl Workload {
    /// `SIGN_REQUEST` of `size` deterministic pseudo-random bytes.
    pub fn raw(public: &[u8; 32], size: usize) -> Self {
        let data = pseudo_random(size, 0x5eed_0000 + size as u64);
        let blob = signet_proto::key::ed25519_blob(public);
        let mut frame = Vec::new();
        Request::Sign(SignRequest {
            key_blob: &blob,
            data: &data,
            flags: 0,
        })
        .encode_frame(&mut frame);
        Self {
            frame,
            check: Check::Raw { data },
        }
    }

    /// `sign-request@signet`, Encord v2, with the only loaded key.
    pub fn encord_v2() -> Self {
        use sha2::Digest as _;
        let body_sha256: [u8; 32] = sha2::Sha256::digest(br#"{"name":"bench"}"#).into();
        let mut contents = Vec::new();
        SignHttpRequest {
            key: "",
            scheme: Scheme::EncordV2,
            method: METHOD,
            target: TARGET,
            body_sha256,
        }
        .encode(&mut contents);
        let mut frame = Vec::new();
        Request::Extension {
            name: extension::SIGN_REQUEST,
            contents: &contents,
        }
        .encode_frame(&mut frame);
        Self {
            frame,
            check: Check::EncordV2 {
                method: METHOD,
                target: TARGET,
                body_sha256,
            },
        }
    }

    /// Fully checks one reply body: decodes it, verifies the signature with
    /// ed25519-dalek, and for sign-request rebuilds the signature base from
    /// the returned `created` and compares every header.
    pub fn verify(&self, body: &[u8], key: &VerifyingKey) -> Result<()> {
        match &self.check {
            Check::Raw { data } => {
                let blob = match Response::decode(body)? {
                    Response::Signature(blob) => blob,
                    other => bail!("expected SIGN_RESPONSE, got {}", describe(&other)),
                };
                let mut r = Reader::new(&blob);
                ensure!(
                    r.string("algorithm")? == b"ssh-ed25519",
                    "signature is not ssh-ed25519"
                );
                let sig: [u8; 64] = r.fixed("signature")?;
                r.finish()?;
                key.verify_strict(data, &Signature::from_bytes(&sig))
                    .map_err(|e| anyhow!("signature does not verify: {e}"))
            }
            Check::EncordV2 {
                method,
                target,
                body_sha256,
            } => {
                let (name, contents) = match Response::decode(body)? {
                    Response::ExtensionResponse { name, contents } => (name, contents),
                    other => bail!("expected EXTENSION_RESPONSE, got {}", describe(&other)),
                };
                ensure!(name == extension::SIGN_REQUEST, "reply names {name:?}");
                let reply = SignHttpReply::decode(&contents)?;
                let value = reply
                    .headers
                    .iter()
                    .find(|(n, _)| n == "Signature")
                    .map(|(_, v)| v.as_str())
                    .ok_or_else(|| anyhow!("no Signature header"))?;
                let b64 = value
                    .strip_prefix("encord-sig=:")
                    .and_then(|v| v.strip_suffix(':'))
                    .ok_or_else(|| anyhow!("malformed Signature header {value:?}"))?;
                let raw = base64::engine::general_purpose::STANDARD.decode(b64)?;
                let sig: [u8; 64] = raw
                    .as_slice()
                    .try_into()
                    .map_err(|_| anyhow!("signature is {} bytes", raw.len()))?;
                let prepared = encord::prepare(
                    Scheme::EncordV2,
                    method,
                    target,
                    body_sha256,
                    key.as_bytes(),
                    reply.created,
                )?;
                key.verify_strict(prepared.message(), &Signature::from_bytes(&sig))
                    .map_err(|e| anyhow!("signature over the rebuilt base does not verify: {e}"))?;
                ensure!(
                    prepared.into_headers(&sig) == reply,
                    "headers differ from the ones rebuilt from the same base"
                );
                Ok(())
            }
        }
    }

    /// The reply type a success carries.
    fn ok_type(&self) -> u8 {
        match self.check {
            Check::Raw { .. } => msg::SIGN_RESPONSE,
            Check::EncordV2 { .. } => msg::EXTENSION_RESPONSE,
        }
    }
}

fn describe(r: &Response) -> String {
    match r {
        Response::Failure => "FAILURE".into(),
        Response::ExtensionFailure(c) => match extension::ExtensionError::decode(c) {
            Ok(Some(e)) => format!("EXTENSION_FAILURE: {}", e.reason),
            _ => "EXTENSION_FAILURE".into(),
        },
        Response::Success => "SUCCESS".into(),
        Response::Identities(_) => "IDENTITIES_ANSWER".into(),
        Response::Signature(_) => "SIGN_RESPONSE".into(),
        Response::ExtensionResponse { name, .. } => format!("EXTENSION_RESPONSE {name}"),
    }
}

/// Deterministic filler bytes (xorshift), so runs sign the same messages.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// One phase's parameters.
pub struct PhaseSpec<'a> {
    /// The agent's socket.
    pub sock: &'a Path,
    /// The agent's pid (for its CPU time).
    pub pid: u32,
    /// Concurrent clients.
    pub clients: usize,
    /// How they wait for replies.
    pub kind: ClientKind,
    /// What they send.
    pub workload: Arc<Workload>,
    /// The key the agent signs with.
    pub key: VerifyingKey,
    /// Requests per client before measuring.
    pub warmup: usize,
    /// How long to measure.
    pub duration: Duration,
    /// Fully verify every n-th reply (the others must be byte-identical to a
    /// verified one for raw signing, or have the success type for sign-request).
    pub verify_every: u64,
}

/// What one phase measured.
#[derive(Debug, Clone, Default)]
pub struct PhaseResult {
    /// Replies per second (completed inside the measured window).
    pub throughput: f64,
    /// Latency percentiles, microseconds.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// The agent's CPU time per reply, microseconds.
    pub cpu_us_per_sig: f64,
    /// The clients' own CPU use, in cores (CPU seconds per wall second).
    pub client_cores: f64,
    /// The agent's context switches per reply (all its threads).
    pub ctx_per_op: f64,
    /// Replies received (window and tail).
    pub completed: u64,
    /// Failures, unexpected replies, I/O errors.
    pub errors: u64,
    /// Replies fully verified.
    pub verified: u64,
    /// The first error, for the report.
    pub first_error: Option<String>,
}

#[derive(Default)]
struct ClientOut {
    lat_ns: Vec<u32>,
    counted: u64,
    total: u64,
    errors: u64,
    verified: u64,
    cpu_ns: u64,
    first_error: Option<String>,
}

impl ClientOut {
    fn error(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

/// Runs one phase: connects, warms up, measures, joins.
pub fn run_phase(spec: &PhaseSpec<'_>) -> Result<PhaseResult> {
    let barrier = Arc::new(Barrier::new(spec.clients + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::with_capacity(spec.clients);
    for _ in 0..spec.clients {
        let barrier = barrier.clone();
        let stop = stop.clone();
        let workload = spec.workload.clone();
        let sock = spec.sock.to_owned();
        let key = spec.key;
        let (warmup, every, kind) = (spec.warmup, spec.verify_every, spec.kind);
        let expect = spec.duration.as_secs_f64();
        handles.push(
            std::thread::Builder::new()
                .name("bench-client".into())
                .stack_size(256 * 1024)
                .spawn(move || {
                    client(
                        &sock, &workload, &key, kind, warmup, every, expect, &barrier, &stop,
                    )
                })
                .context("cannot spawn a client thread")?,
        );
    }
    barrier.wait();
    let cpu0 = procfs::process_cpu_ns(spec.pid)?;
    let cs0 = procfs::context_switches(spec.pid)?;
    let t0 = Instant::now();
    std::thread::sleep(spec.duration);
    stop.store(true, Ordering::Relaxed);
    let window = t0.elapsed();
    let mut outs = Vec::with_capacity(handles.len());
    for h in handles {
        outs.push(h.join().map_err(|_| anyhow!("a client thread panicked"))?);
    }
    let cpu1 = procfs::process_cpu_ns(spec.pid)?;
    let cs1 = procfs::context_switches(spec.pid)?;

    let mut lat: Vec<u32> = Vec::with_capacity(outs.iter().map(|o| o.lat_ns.len()).sum());
    let mut r = PhaseResult::default();
    let mut counted = 0u64;
    let mut client_cpu = 0u64;
    for o in &mut outs {
        lat.append(&mut o.lat_ns);
        counted += o.counted;
        r.completed += o.total;
        r.errors += o.errors;
        r.verified += o.verified;
        client_cpu += o.cpu_ns;
        if r.first_error.is_none() {
            r.first_error = o.first_error.take();
        }
    }
    lat.sort_unstable();
    let secs = window.as_secs_f64();
    r.throughput = counted as f64 / secs;
    r.p50_us = percentile_us(&lat, 0.50);
    r.p90_us = percentile_us(&lat, 0.90);
    r.p99_us = percentile_us(&lat, 0.99);
    r.cpu_us_per_sig = (cpu1.saturating_sub(cpu0)) as f64 / 1e3 / r.completed.max(1) as f64;
    r.client_cores = client_cpu as f64 / 1e9 / secs;
    r.ctx_per_op = cs1.saturating_sub(cs0) as f64 / r.completed.max(1) as f64;
    Ok(r)
}

/// The `q` quantile of sorted nanosecond latencies, in microseconds.
pub fn percentile_us(sorted_ns: &[u32], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_ns.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted_ns[i.min(sorted_ns.len() - 1)]) / 1e3
}

#[allow(clippy::too_many_arguments)]
fn client(
    sock: &Path,
    w: &Workload,
    key: &VerifyingKey,
    kind: ClientKind,
    warmup: usize,
    verify_every: u64,
    expect_secs: f64,
    barrier: &Barrier,
    stop: &AtomicBool,
) -> ClientOut {
    let mut out = ClientOut::default();
    let mut buf = vec![0u8; 4096];
    let mut reference: Option<Vec<u8>> = None;
    // Set up before the barrier, but always reach it, or the phase hangs.
    // Warm-up replies are all fully verified (and counted as verified).
    let mut verified = 0;
    let stream = UnixStream::connect(sock)
        .map_err(|e| anyhow!("connect: {e}"))
        .and_then(|mut s| {
            // At most `warmup` requests or 200 ms, so a slow agent with many
            // clients does not spend seconds warming up.
            let until = Instant::now() + Duration::from_millis(200);
            for i in 0..warmup.max(1) {
                let body = round_trip(&mut s, &w.frame, &mut buf)?;
                verified += u64::from(check_reply(w, key, body, &mut reference, true)?);
                if i > 0 && Instant::now() > until {
                    break;
                }
            }
            Ok(s)
        });
    out.verified = verified;
    barrier.wait();
    let mut stream = match stream {
        Ok(s) => s,
        Err(e) => {
            out.error(format!("setup: {e:#}"));
            return out;
        }
    };
    // Enough room that pushing never reallocates inside the window for
    // realistic rates (1 M/s would be 1 µs per request per client).
    out.lat_ns.reserve((expect_secs * 200_000.0) as usize);
    let cpu0 = procfs::thread_cpu_ns();
    loop {
        let t = Instant::now();
        let sent = std::io::Write::write_all(&mut stream, &w.frame);
        let got = sent.and_then(|()| read_frame_as(&mut stream, &mut buf, kind));
        let elapsed = t.elapsed();
        let total = match got {
            Ok(total) => total,
            Err(e) => {
                out.error(format!("i/o: {e}"));
                break;
            }
        };
        let in_window = !stop.load(Ordering::Relaxed);
        out.total += 1;
        let body = &buf[signet_proto::frame::LEN_PREFIX..total];
        let full = out.total % verify_every == 0;
        match check_reply(w, key, body, &mut reference, full) {
            Ok(v) => out.verified += u64::from(v),
            Err(e) => out.error(e),
        }
        if !in_window {
            break;
        }
        out.counted += 1;
        out.lat_ns
            .push(u32::try_from(elapsed.as_nanos()).unwrap_or(u32::MAX));
    }
    out.cpu_ns = procfs::thread_cpu_ns().saturating_sub(cpu0);
    out
}

/// Checks one reply; returns whether it was fully verified.
fn check_reply(
    w: &Workload,
    key: &VerifyingKey,
    body: &[u8],
    reference: &mut Option<Vec<u8>>,
    full: bool,
) -> Result<bool> {
    match (&w.check, reference.as_deref()) {
        // Ed25519 is deterministic: a raw reply identical to one that was
        // verified is verified too, at the cost of a memcmp.
        (Check::Raw { .. }, Some(r)) if r == body && !full => Ok(false),
        (Check::Raw { .. }, _) => {
            w.verify(body, key)?;
            if reference.is_none() {
                *reference = Some(body.to_vec());
            }
            Ok(true)
        }
        (Check::EncordV2 { .. }, _) if full || reference.is_none() => {
            w.verify(body, key)?;
            *reference = Some(Vec::new());
            Ok(true)
        }
        (Check::EncordV2 { .. }, _) => {
            if body.first() == Some(&w.ok_type()) {
                Ok(false)
            } else {
                w.verify(body, key).map(|()| true)
            }
        }
    }
}
