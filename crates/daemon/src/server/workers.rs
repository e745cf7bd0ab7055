//! Connection workers: one single-threaded tokio runtime per core, and each
//! connection pinned to the least busy one for its whole life.
//!
//! Why not one multi-threaded runtime: an agent's work is short CPU bursts
//! (an Ed25519 signature, ~20 µs) between socket reads. Under tokio's
//! work-stealing scheduler the task woken by the I/O driver mostly runs on
//! the worker that polled the driver, so with a handful of busy clients one
//! core signed while the other sat parked, and every hand-over cost a futex
//! wake. Measured with `signet-bench` (4 clients, raw 32 B signing, 2 cores):
//! the daemon used ~0.75 cores and reached ~27k signatures/s. With one
//! runtime per core, each with its own epoll, both cores sign and no
//! signature crosses threads. See crates/bench/RESULTS.md for the figures.
//!
//! The accept loop stays on the main runtime; it hands each accepted socket
//! over as a std stream, which the worker registers with its own reactor.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

struct Worker {
    handle: Handle,
    load: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

/// The pool of connection workers.
pub struct Workers {
    workers: Vec<Worker>,
    done: CancellationToken,
}

impl Workers {
    /// Starts `n` workers (at least one).
    pub fn start(n: usize) -> std::io::Result<Self> {
        let done = CancellationToken::new();
        let mut workers = Vec::with_capacity(n.max(1));
        for i in 0..n.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name(format!("signetd-worker-{i}"))
                .build()?;
            let handle = rt.handle().clone();
            let stop = done.clone();
            let thread = std::thread::Builder::new()
                .name(format!("signetd-worker-{i}"))
                .spawn(move || {
                    rt.block_on(stop.cancelled());
                    // Connections still open after the grace period are
                    // dropped here; blocking work (a keyring call) gets a
                    // moment to finish.
                    rt.shutdown_timeout(Duration::from_secs(1));
                })?;
            workers.push(Worker {
                handle,
                load: Arc::new(AtomicUsize::new(0)),
                thread: Some(thread),
            });
        }
        Ok(Self { workers, done })
    }

    /// The number of workers for this machine: one per available core.
    pub fn default_count() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Runs `make()`'s future on the least busy worker. `make` runs on that
    /// worker, so it can register I/O with the worker's reactor.
    pub fn spawn<M, F>(&self, make: M)
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let Some(worker) = self
            .workers
            .iter()
            .min_by_key(|w| w.load.load(Ordering::Relaxed))
        else {
            return;
        };
        let load = worker.load.clone();
        load.fetch_add(1, Ordering::Relaxed);
        worker.handle.spawn(async move {
            let _done = LoadGuard(load);
            make().await;
        });
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.done.cancel();
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                if t.join().is_err() {
                    warn!("a connection worker panicked");
                }
            }
        }
    }
}

struct LoadGuard(Arc<AtomicUsize>);

impl Drop for LoadGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_work_and_runs_it_on_worker_threads() {
        let workers = match Workers::start(2) {
            Ok(w) => w,
            Err(e) => panic!("{e}"),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let gate = Arc::new(tokio::sync::Notify::new());
        for _ in 0..4 {
            let tx = tx.clone();
            let gate = gate.clone();
            workers.spawn(move || async move {
                let name = std::thread::current().name().unwrap_or("").to_owned();
                let _ = tx.send(name);
                gate.notified().await;
            });
        }
        let names: Vec<String> = (0..4)
            .filter_map(|_| rx.recv_timeout(Duration::from_secs(5)).ok())
            .collect();
        assert_eq!(names.len(), 4);
        // Least-loaded placement: two long-lived tasks on each worker.
        for w in ["signetd-worker-0", "signetd-worker-1"] {
            assert_eq!(names.iter().filter(|n| *n == w).count(), 2, "{names:?}");
        }
        gate.notify_waiters();
    }
}
