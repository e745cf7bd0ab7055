//! `audit.head`: the latest seal, kept beside the log in a small file
//! replaced atomically, so that a log cut back to an older seal can be told
//! from one that simply ends there (`signet audit verify`, and the daemon
//! at its next start).
//!
//! Written by its own thread, at most once a second (a seal every thousand
//! records at 40,000 signatures a second is 40 seals a second, and each
//! write is an fsync), and once more when the daemon stops, so it lags the
//! log by at most a second of seals.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tracing::warn;

use super::key::write_atomically;

const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slot {
    line: Option<Vec<u8>>,
    stop: bool,
}

/// The head file's writer.
pub(super) struct Head {
    slot: Arc<(Mutex<Slot>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Head {
    pub fn start(path: PathBuf) -> std::io::Result<Self> {
        let slot: Arc<(Mutex<Slot>, Condvar)> = Arc::default();
        let s = slot.clone();
        let thread = std::thread::Builder::new()
            .name("signetd-audit-head".into())
            .spawn(move || run(&path, &s))?;
        Ok(Self {
            slot,
            thread: Some(thread),
        })
    }

    /// The newest seal line (without its newline).
    pub fn post(&self, line: &[u8]) {
        let (m, c) = &*self.slot;
        let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
        s.line = Some(line.to_vec());
        c.notify_one();
    }

    /// Writes the newest seal now and stops.
    pub fn close(&mut self) {
        {
            let (m, c) = &*self.slot;
            let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
            s.stop = true;
            c.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Head {
    fn drop(&mut self) {
        self.close();
    }
}

fn run(path: &std::path::Path, slot: &(Mutex<Slot>, Condvar)) {
    let (m, c) = slot;
    let mut last_write: Option<Instant> = None;
    let mut warned = false;
    loop {
        let (line, stop) = {
            let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if s.stop {
                    break;
                }
                if s.line.is_some() {
                    let wait = last_write
                        .map(|t| MIN_INTERVAL.saturating_sub(t.elapsed()))
                        .unwrap_or_default();
                    if wait.is_zero() {
                        break;
                    }
                    s = c.wait_timeout(s, wait).unwrap_or_else(|p| p.into_inner()).0;
                    continue;
                }
                s = c.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            (s.line.take(), s.stop)
        };
        if let Some(mut line) = line {
            line.push(b'\n');
            match write_atomically(path, &line) {
                Ok(()) => warned = false,
                Err(e) if !warned => {
                    warn!("audit head {}: cannot write: {e}", path.display());
                    warned = true;
                }
                Err(_) => {}
            }
            last_write = Some(Instant::now());
        }
        if stop {
            return;
        }
    }
}
