//! Idle connections (`agent.idle_timeout_secs`), closed by one sweeper
//! instead of a timer per request.
//!
//! Performance: a tokio timer armed around every read (the obvious way to
//! time out a silent client) is registered and cancelled once per request,
//! and while any timer is pending the worker's `epoll_wait` carries a
//! timeout, which the kernel arms as an hrtimer on every sleep; together
//! about 4% of signetd's CPU per signature with one client (perf, 2 cores).
//! Here a connection only stores the time of its last frame (a relaxed
//! atomic store, on its own allocation) and the sweeper, on the main
//! runtime, looks at every connection a few times per timeout period, so
//! the workers run with no timer pending at all. The cost is precision: a
//! connection is closed between `idle` and `idle + idle/4` (at most 15 s
//! late) after its last frame.
//!
//! Time is `tokio::time::Instant` (the monotonic clock, which the tests
//! pause and advance).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::agent::Agent;

/// The last activity of one connection, and the signal that closes it.
#[derive(Debug)]
pub struct Activity {
    last_ms: AtomicU64,
    /// Cancelled when the connection has been idle too long.
    pub closed: CancellationToken,
}

/// Every open connection's [`Activity`].
#[derive(Debug)]
pub struct IdleWatch {
    epoch: Instant,
    conns: Mutex<Watched>,
}

/// The watched connections, and the length at which ended ones are dropped
/// on registration (so many short connections between two sweeps cannot
/// grow the list without bound).
#[derive(Debug)]
struct Watched {
    list: Vec<Weak<Activity>>,
    prune_at: usize,
}

const MIN_PRUNE_AT: usize = 64;

/// `last_ms` of a connection whose request is being handled.
const BUSY: u64 = u64::MAX;

impl Default for IdleWatch {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            conns: Mutex::new(Watched {
                list: Vec::new(),
                prune_at: MIN_PRUNE_AT,
            }),
        }
    }
}

impl IdleWatch {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Starts watching a new connection (active now).
    pub fn register(&self) -> Arc<Activity> {
        let a = Arc::new(Activity {
            last_ms: AtomicU64::new(self.now_ms()),
            closed: CancellationToken::new(),
        });
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        if conns.list.len() >= conns.prune_at {
            conns.list.retain(|w| w.strong_count() > 0);
            conns.prune_at = (2 * conns.list.len()).max(MIN_PRUNE_AT);
        }
        conns.list.push(Arc::downgrade(&a));
        a
    }

    /// Records activity on `a`'s connection now (a reply was sent).
    pub fn touch(&self, a: &Activity) {
        a.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Marks `a`'s connection busy (a request is being handled): never idle
    /// until the next [`IdleWatch::touch`].
    pub fn busy(&self, a: &Activity) {
        a.last_ms.store(BUSY, Ordering::Relaxed);
    }

    /// One pass: closes connections silent for at least `idle` and forgets
    /// ended ones. Returns how many were closed.
    pub fn sweep(&self, idle: Duration) -> usize {
        let now = self.now_ms();
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        let mut closed = 0;
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        conns.list.retain(|w| {
            let Some(a) = w.upgrade() else {
                return false;
            };
            let last = a.last_ms.load(Ordering::Relaxed);
            if !a.closed.is_cancelled() && last != BUSY && now.saturating_sub(last) >= idle_ms {
                a.closed.cancel();
                closed += 1;
            }
            true
        });
        closed
    }

    /// Sweeps every `idle / 4` (between 100 ms and 15 s) until `shutdown`;
    /// `idle` is read from the configuration in force at each pass, so a
    /// reload (SIGHUP) applies to open connections too.
    pub async fn run(
        self: Arc<Self>,
        idle: impl Fn() -> Option<Duration>,
        shutdown: CancellationToken,
    ) {
        loop {
            let every = idle().map_or(Duration::from_secs(15), |d| {
                (d / 4).clamp(Duration::from_millis(100), Duration::from_secs(15))
            });
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            if let Some(idle) = idle() {
                let n = self.sweep(idle);
                if n > 0 {
                    tracing::debug!("closed {n} connections idle for {idle:?}");
                }
            }
        }
    }
}

/// Closes connections idle for longer than `[agent] idle_timeout_secs`
/// (read from the configuration in force at each pass) until shutdown; run
/// once, on the accepting runtime.
pub async fn sweep(watch: Arc<IdleWatch>, agent: Arc<Agent>) {
    let shutdown = agent.shutdown.clone();
    watch
        .run(move || agent.config().agent.idle_timeout(), shutdown)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(a: &Activity) -> bool {
        a.closed.is_cancelled()
    }

    #[tokio::test(start_paused = true)]
    async fn sweeps_only_silent_connections_and_forgets_ended_ones() {
        let w = IdleWatch::default();
        let quiet = w.register();
        let busy = w.register();
        let handling = w.register();
        let gone = w.register();
        drop(gone);
        w.busy(&handling);
        tokio::time::advance(Duration::from_millis(300)).await;
        w.touch(&busy);
        assert_eq!(w.sweep(Duration::from_millis(250)), 1);
        assert!(closed(&quiet));
        assert!(!closed(&busy));
        // A request in progress for longer than the timeout is not idleness.
        assert!(!closed(&handling));
        // The ended connection was forgotten; the closed one is not closed twice.
        assert_eq!(w.conns.lock().map(|c| c.list.len()).unwrap_or(0), 3);
        assert_eq!(w.sweep(Duration::from_millis(250)), 0);
        // Silence is counted from the last reply, to the millisecond.
        w.touch(&handling);
        tokio::time::advance(Duration::from_millis(249)).await;
        assert_eq!(w.sweep(Duration::from_millis(250)), 0);
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(w.sweep(Duration::from_millis(250)), 2);
        assert!(closed(&busy) && closed(&handling));
    }

    /// The sweeper closes a silent connection between `idle` and
    /// `idle + idle/4` after its last reply, re-reads the timeout at every
    /// pass (SIGHUP applies to open connections), and stops at shutdown.
    #[tokio::test(start_paused = true)]
    async fn the_sweeper_closes_within_a_quarter_of_the_timeout() {
        let w = Arc::new(IdleWatch::default());
        let idle = Arc::new(std::sync::Mutex::new(Some(Duration::from_secs(8))));
        let shutdown = CancellationToken::new();
        let timeout = idle.clone();
        let sweeper = tokio::spawn(w.clone().run(
            move || *timeout.lock().unwrap_or_else(|p| p.into_inner()),
            shutdown.clone(),
        ));
        let a = w.register();
        tokio::time::sleep(Duration::from_millis(7_999)).await;
        assert!(!closed(&a), "closed before the timeout");
        tokio::time::sleep(Duration::from_secs(2) + Duration::from_millis(1)).await;
        assert!(closed(&a), "not closed within timeout + timeout/4");

        // A connection active all along stays open.
        let b = w.register();
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            w.touch(&b);
        }
        assert!(!closed(&b));

        // No timeout (0 in the configuration): nothing is closed.
        *idle.lock().unwrap_or_else(|p| p.into_inner()) = None;
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(!closed(&b));
        shutdown.cancel();
        assert!(sweeper.await.is_ok());
    }

    #[test]
    fn many_short_connections_between_sweeps_do_not_pile_up() {
        let w = IdleWatch::default();
        let open = w.register();
        for _ in 0..10_000 {
            drop(w.register());
        }
        let len = w.conns.lock().map(|c| c.list.len()).unwrap_or(usize::MAX);
        assert!(
            len <= MIN_PRUNE_AT,
            "{len} entries kept for 1 open connection"
        );
        assert!(!open.closed.is_cancelled());
    }
}
