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
//! The same watch counts connections per uid and admits new ones
//! ([`IdleWatch::admit`]): at most `[agent] max_connections_per_uid` per uid
//! and `max_connections` in all. A uid at its limit that connects again
//! closes its own longest-idle connection to make room; at the overall
//! limit, the longest-idle connection of the uid holding the most goes. A
//! connection in the middle of a request is never closed, so a new one is
//! refused only when every candidate is busy. So one caller opening
//! thousands of connections wears out its own, never another uid's.
//!
//! Time is `tokio::time::Instant` (the monotonic clock, which the tests
//! pause and advance).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::agent::Agent;

/// The last activity of one connection, and the signals that close it.
#[derive(Debug)]
pub struct Activity {
    last_ms: AtomicU64,
    /// Cancelled when the connection has been idle too long (it closes
    /// between frames).
    pub closed: CancellationToken,
    /// Cancelled when the connection was closed to make room for another
    /// of its uid (it closes at once, even in the middle of a frame).
    pub evicted: CancellationToken,
    uid: u32,
    /// Whether it counts against the limits (until it ends or is evicted).
    counted: AtomicBool,
}

/// Every open connection's [`Activity`].
#[derive(Debug)]
pub struct IdleWatch {
    epoch: Instant,
    conns: Arc<Mutex<Watched>>,
}

/// The watched connections, and the length at which ended ones are dropped
/// on registration (so many short connections between two sweeps cannot
/// grow the list without bound); the counted connections, per uid and in
/// all; when each uid's eviction was last logged.
#[derive(Debug)]
struct Watched {
    list: Vec<Weak<Activity>>,
    prune_at: usize,
    per_uid: HashMap<u32, usize>,
    live: usize,
    logged: HashMap<u32, u64>,
}

impl Watched {
    fn uncount(&mut self, a: &Activity) {
        if !a.counted.swap(false, Ordering::AcqRel) {
            return;
        }
        self.live = self.live.saturating_sub(1);
        if let Some(n) = self.per_uid.get_mut(&a.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_uid.remove(&a.uid);
            }
        }
    }

    /// Closes the longest-idle counted connection `which` selects that is
    /// not in the middle of a request; false if there is none.
    fn evict(&mut self, which: impl Fn(&Activity) -> bool) -> bool {
        let victim = self
            .list
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|a| {
                a.counted.load(Ordering::Acquire)
                    && a.last_ms.load(Ordering::Relaxed) != BUSY
                    && which(a)
            })
            .min_by_key(|a| a.last_ms.load(Ordering::Relaxed));
        let Some(a) = victim else {
            return false;
        };
        a.evicted.cancel();
        a.closed.cancel();
        self.uncount(&a);
        true
    }
}

/// Why a new connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The uid has its limit of connections, all of them busy.
    Uid(usize),
    /// The agent has its limit of connections, all of them busy.
    Total(usize),
}

/// How many connections may be open.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// In all (`[agent] max_connections`).
    pub total: usize,
    /// Per uid (`[agent] max_connections_per_uid`).
    pub per_uid: usize,
}

/// A connection's place in the watch: its [`Activity`], counted against
/// the limits until this is dropped (the session ended).
#[derive(Debug)]
pub struct Registration {
    conns: Arc<Mutex<Watched>>,
    activity: Arc<Activity>,
}

impl std::ops::Deref for Registration {
    type Target = Activity;
    fn deref(&self) -> &Activity {
        &self.activity
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .uncount(&self.activity);
    }
}

const MIN_PRUNE_AT: usize = 64;

/// `last_ms` of a connection whose request is being handled.
const BUSY: u64 = u64::MAX;

impl Default for IdleWatch {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            conns: Arc::new(Mutex::new(Watched {
                list: Vec::new(),
                prune_at: MIN_PRUNE_AT,
                per_uid: HashMap::new(),
                live: 0,
                logged: HashMap::new(),
            })),
        }
    }
}

impl IdleWatch {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Admits a new connection of `uid` within `limits` (closing the
    /// longest-idle connection of the same uid, or at the overall limit of
    /// the uid holding the most, to make room), and starts watching it.
    pub fn admit(&self, uid: u32, limits: Limits) -> Result<Registration, Full> {
        let mut w = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let mine = w.per_uid.get(&uid).copied().unwrap_or(0);
        let full = if mine >= limits.per_uid {
            (!w.evict(|a| a.uid == uid)).then_some(Full::Uid(limits.per_uid))
        } else if w.live >= limits.total {
            let top = w.per_uid.iter().max_by_key(|(_, n)| **n).map(|(u, _)| *u);
            let room = top.is_some_and(|t| w.evict(|a| a.uid == t)) || w.evict(|_| true);
            (!room).then_some(Full::Total(limits.total))
        } else {
            None
        };
        if let Some(full) = full {
            return Err(full);
        }
        if mine >= limits.per_uid {
            // Logged once a minute per uid: a flood adds one line.
            let now = self.now_ms();
            let last = w.logged.get(&uid).copied();
            if last.is_none_or(|t| now.saturating_sub(t) >= 60_000) {
                if w.logged.len() > 4096 {
                    w.logged.clear();
                }
                w.logged.insert(uid, now);
                tracing::warn!(
                    uid,
                    "uid {uid} has {} connections open ([agent] max_connections_per_uid): closing its longest-idle ones for new ones",
                    limits.per_uid
                );
            }
        }
        Ok(self.watch(&mut w, uid))
    }

    /// Starts watching a new connection of `uid` (active now), whatever the
    /// limits (tests).
    #[cfg(test)]
    pub fn register(&self, uid: u32) -> Registration {
        let mut w = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        self.watch(&mut w, uid)
    }

    fn watch(&self, conns: &mut Watched, uid: u32) -> Registration {
        let a = Arc::new(Activity {
            last_ms: AtomicU64::new(self.now_ms()),
            closed: CancellationToken::new(),
            evicted: CancellationToken::new(),
            uid,
            counted: AtomicBool::new(true),
        });
        if conns.list.len() >= conns.prune_at {
            conns.list.retain(|w| w.strong_count() > 0);
            conns.prune_at = (2 * conns.list.len()).max(MIN_PRUNE_AT);
        }
        conns.list.push(Arc::downgrade(&a));
        *conns.per_uid.entry(uid).or_insert(0) += 1;
        conns.live += 1;
        Registration {
            conns: self.conns.clone(),
            activity: a,
        }
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
        let quiet = w.register(1000);
        let busy = w.register(1000);
        let handling = w.register(1000);
        let gone = w.register(1000);
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
        let a = w.register(1000);
        tokio::time::sleep(Duration::from_millis(7_999)).await;
        assert!(!closed(&a), "closed before the timeout");
        tokio::time::sleep(Duration::from_secs(2) + Duration::from_millis(1)).await;
        assert!(closed(&a), "not closed within timeout + timeout/4");

        // A connection active all along stays open.
        let b = w.register(1000);
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

    /// One uid past its limit closes its own longest-idle connection, never
    /// a busy one and never another uid's; at the overall limit the uid
    /// holding the most gives one up; with every candidate busy, the new
    /// connection is refused.
    #[tokio::test(start_paused = true)]
    async fn a_uid_at_its_limit_wears_out_its_own_connections() {
        let w = IdleWatch::default();
        let limits = Limits {
            total: 6,
            per_uid: 3,
        };
        let mut flood = Vec::new();
        for _ in 0..3 {
            flood.push(w.admit(1001, limits).unwrap_or_else(|e| panic!("{e:?}")));
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        let other = w.admit(1002, limits).unwrap_or_else(|e| panic!("{e:?}"));
        w.busy(&flood[1]);
        // 1001 again: its oldest idle one (the first) goes.
        let fourth = w.admit(1001, limits).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(flood[0].evicted.is_cancelled() && flood[0].closed.is_cancelled());
        assert!(
            !flood[1].evicted.is_cancelled(),
            "a busy connection was closed"
        );
        assert!(!other.evicted.is_cancelled());
        // Next the third (the second is busy), then the fourth.
        let fifth = w.admit(1001, limits).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(flood[2].evicted.is_cancelled());
        w.busy(&fourth);
        w.busy(&fifth);
        // Every connection of 1001 busy: refused.
        assert_eq!(w.admit(1001, limits).err(), Some(Full::Uid(3)));
        // The other uid still gets in, up to the overall limit…
        let o2 = w.admit(1002, limits).unwrap_or_else(|e| panic!("{e:?}"));
        let _o3 = w.admit(1002, limits).unwrap_or_else(|e| panic!("{e:?}"));
        // …where the uid holding the most (1001: busy) is skipped and the
        // longest-idle connection of anyone goes.
        let third_uid = w.admit(1003, limits).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(other.evicted.is_cancelled());
        assert!(!o2.evicted.is_cancelled() && !third_uid.evicted.is_cancelled());
        // An ended connection frees its place.
        drop(flood);
        drop(fourth);
        assert!(w.admit(1001, limits).is_ok());
    }

    #[test]
    fn many_short_connections_between_sweeps_do_not_pile_up() {
        let w = IdleWatch::default();
        let open = w.register(1000);
        for _ in 0..10_000 {
            drop(w.register(1000));
        }
        let len = w.conns.lock().map(|c| c.list.len()).unwrap_or(usize::MAX);
        assert!(
            len <= MIN_PRUNE_AT,
            "{len} entries kept for 1 open connection"
        );
        assert!(!open.closed.is_cancelled());
    }
}
