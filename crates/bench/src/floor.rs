//! The machine's floor, measured in the same run: what signing costs with no
//! agent at all, and what a bare Unix-socket round trip costs with no signing.

use std::io::{Read as _, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::Sha512;

use crate::client_io::read_frame;
use crate::load::{percentile_us, pseudo_random};

/// In-process signing cost for one message size.
#[derive(Debug, Clone, Copy)]
pub struct SignCost {
    /// `SigningKey::sign`, ns per signature (median of batches).
    pub signing_key_ns: f64,
    /// `hazmat::raw_sign` with a precomputed expanded key, ns per signature.
    pub expanded_ns: f64,
}

impl SignCost {
    /// The faster of the two: the floor no agent can beat.
    pub fn floor_ns(&self) -> f64 {
        self.signing_key_ns.min(self.expanded_ns)
    }
}

/// Single-thread signing cost for `size`-byte messages.
pub fn sign_cost(key: &SigningKey, size: usize, budget: Duration) -> SignCost {
    let msg = pseudo_random(size, 0x5eed_0000 + size as u64);
    let expanded = ExpandedSecretKey::from(&key.to_bytes());
    let vk = key.verifying_key();
    let signing_key_ns = median_batch_ns(budget / 2, || {
        std::hint::black_box(key.sign(std::hint::black_box(&msg)));
    });
    let expanded_ns = median_batch_ns(budget / 2, || {
        std::hint::black_box(raw_sign::<Sha512>(
            &expanded,
            std::hint::black_box(&msg),
            &vk,
        ));
    });
    SignCost {
        signing_key_ns,
        expanded_ns,
    }
}

fn median_batch_ns(budget: Duration, mut f: impl FnMut()) -> f64 {
    const BATCH: u32 = 32;
    for _ in 0..BATCH {
        f();
    }
    let mut batches = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || batches.len() < 5 {
        let t = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        batches.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
    }
    batches.sort_by(f64::total_cmp);
    batches[batches.len() / 2]
}

/// Signatures per second with one signing thread per core (32-byte messages,
/// the faster signer).
pub fn all_cores_rate(key: &SigningKey, threads: usize, budget: Duration) -> Result<f64> {
    let msg = pseudo_random(32, 0x5eed_0020);
    let expanded = ExpandedSecretKey::from(&key.to_bytes());
    let vk = key.verifying_key();
    let start = Instant::now();
    let counts = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < budget {
                        for _ in 0..16 {
                            std::hint::black_box(raw_sign::<Sha512>(&expanded, &msg, &vk));
                        }
                        n += 16;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("a signing thread panicked")))
            .collect::<Result<Vec<u64>>>()
    })?;
    Ok(counts.iter().sum::<u64>() as f64 / start.elapsed().as_secs_f64())
}

/// Round-trip latency of a bare Unix socket: a frame of `frame_len` bytes
/// (4-byte length prefix included) to an echo thread that reads it whole and
/// answers one byte. Returns (p50, p99) in µs.
pub fn socket_rtt(dir: &Path, frame_len: usize, budget: Duration) -> Result<(f64, f64)> {
    let path = dir.join(format!("echo-{frame_len}.sock"));
    let listener = UnixListener::bind(&path).context("cannot bind the echo socket")?;
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; 4096];
        loop {
            match read_frame(&mut s, &mut buf) {
                Ok(_) => s.write_all(&[1])?,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    });
    let mut frame = pseudo_random(frame_len, 7);
    let body = u32::try_from(frame_len.saturating_sub(4)).unwrap_or(0);
    frame[..4].copy_from_slice(&body.to_be_bytes());
    let mut client = UnixStream::connect(&path)?;
    let mut one = [0u8; 1];
    let mut lat = Vec::new();
    let start = Instant::now();
    let mut i = 0u32;
    while start.elapsed() < budget || lat.len() < 100 {
        let t = Instant::now();
        client.write_all(&frame)?;
        client.read_exact(&mut one)?;
        let ns = u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX);
        i += 1;
        if i > 200 {
            lat.push(ns); // the first 200 are warm-up
        }
    }
    drop(client);
    server
        .join()
        .map_err(|_| anyhow!("echo thread panicked"))?
        .context("echo server")?;
    let _ = std::fs::remove_file(&path);
    lat.sort_unstable();
    Ok((percentile_us(&lat, 0.5), percentile_us(&lat, 0.99)))
}
