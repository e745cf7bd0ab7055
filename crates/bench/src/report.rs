//! Summaries across rounds, the targets with their arithmetic, the table and
//! the JSON document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::client_io::ClientKind;
use crate::load::PhaseResult;
use crate::{AgentId, Args, Fixed, Mode, RoundFloor, Settings};

/// Median and spread (min..max across rounds) of one metric.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    /// Median across rounds.
    pub median: f64,
    /// Lowest round.
    pub min: f64,
    /// Highest round.
    pub max: f64,
}

impl Spread {
    fn of(values: impl Iterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Self {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Self {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    fn json(&self) -> Value {
        json!({"median": self.median, "min": self.min, "max": self.max})
    }
}

/// One (clients, agent, mode, client kind) across rounds.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    /// Concurrent clients.
    pub clients: usize,
    /// Which agent.
    pub agent: AgentId,
    /// What was sent.
    pub mode: Mode,
    /// How the clients waited for replies.
    pub kind: ClientKind,
    /// Replies per second.
    pub throughput: Spread,
    /// Latency percentiles, µs.
    pub p50: Spread,
    /// 90th.
    pub p90: Spread,
    /// 99th.
    pub p99: Spread,
    /// Agent CPU µs per reply.
    pub cpu: Spread,
    /// Clients' CPU, in cores.
    pub client_cores: Spread,
    /// Agent context switches per reply.
    pub ctx_per_op: Spread,
    /// Replies, errors, verified replies (all rounds).
    pub completed: u64,
    /// Errors (all rounds).
    pub errors: u64,
    /// Fully verified replies (all rounds).
    pub verified: u64,
    /// First error seen.
    pub first_error: Option<String>,
    /// Rounds.
    pub rounds: usize,
}

/// A target's outcome: `None` when it could not be evaluated in this run.
pub struct Target {
    id: &'static str,
    what: String,
    pass: Option<bool>,
    arithmetic: String,
}

/// The whole report.
pub struct Report {
    command: String,
    machine: String,
    quick: bool,
    rounds: usize,
    duration_ms: u128,
    fixed: Fixed,
    cases: Vec<CaseSummary>,
    targets: Vec<Target>,
    /// Per round: signetd's 1-client raw 32 B p50 ÷ (sign + RTT) of that round.
    paired_a: Vec<f64>,
    /// Per round: signetd's 4-client raw 32 B throughput ÷ ssh-agent's.
    paired_b1: Vec<f64>,
    /// Per round: signetd's and the ideal agent's 4-client raw 32 B
    /// throughput as a share of that round's available rate.
    paired_b2: Vec<(f64, Option<f64>)>,
    /// Per client kind, per round: signetd's 4-client raw 32 B throughput ÷
    /// the ideal agent's in the same round.
    paired_b3: Vec<(ClientKind, Vec<f64>)>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// `1.12×, 1.08×, 1.15×`: one value per round.
fn list(v: &[f64], unit: &str) -> String {
    v.iter()
        .map(|x| {
            if unit == "%" {
                format!("{x:.0}{unit}")
            } else {
                format!("{x:.2}{unit}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(v: &[f64]) -> f64 {
    Spread::of(v.iter().copied()).median
}

impl Report {
    /// Summarises the phases and evaluates the targets.
    pub fn new(
        _args: &Args,
        s: &Settings,
        fixed: Fixed,
        results: &BTreeMap<(usize, AgentId, Mode, ClientKind), Vec<PhaseResult>>,
        round_floors: &BTreeMap<usize, Vec<RoundFloor>>,
    ) -> Self {
        let floors = |clients: usize| round_floors.get(&clients).map_or(&[][..], |v| &v[..]);
        // Phases are stored in round order, so index i is round i.
        let per_round_as = |clients, agent, mode, kind| results.get(&(clients, agent, mode, kind));
        let per_round = |clients, agent, mode| per_round_as(clients, agent, mode, ClientKind::Poll);
        let paired_b3 = [ClientKind::Poll, ClientKind::Read]
            .into_iter()
            .filter_map(|kind| {
                let s = per_round_as(4, AgentId::Signet, Mode::Raw32, kind)?;
                let i = per_round_as(4, AgentId::Ideal, Mode::Raw32, kind)?;
                Some((
                    kind,
                    s.iter()
                        .zip(i)
                        .map(|(s, i)| s.throughput / i.throughput)
                        .collect(),
                ))
            })
            .collect();
        let paired_a = per_round(1, AgentId::Signet, Mode::Raw32)
            .map(|rs| {
                rs.iter()
                    .zip(floors(1))
                    .map(|(r, f)| r.p50_us / (f.sign32_us + f.rtt32_us))
                    .collect()
            })
            .unwrap_or_default();
        let paired_b1 = match (
            per_round(4, AgentId::Signet, Mode::Raw32),
            per_round(4, AgentId::OpenSsh, Mode::Raw32),
        ) {
            (Some(s), Some(o)) => s
                .iter()
                .zip(o)
                .map(|(s, o)| s.throughput / o.throughput)
                .collect(),
            _ => Vec::new(),
        };
        let cores = fixed.cores.max(1) as f64;
        let paired_b2 = per_round(4, AgentId::Signet, Mode::Raw32)
            .map(|rs| {
                let ideal = per_round(4, AgentId::Ideal, Mode::Raw32);
                rs.iter()
                    .zip(floors(4))
                    .enumerate()
                    .map(|(i, (r, f))| {
                        let avail = f.all_cores_rate / cores * (cores - r.client_cores).max(0.0);
                        let ideal = ideal.and_then(|v| v.get(i)).map(|x| x.throughput / avail);
                        (r.throughput / avail, ideal)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let cases: Vec<CaseSummary> = results
            .iter()
            .map(|(&(clients, agent, mode, kind), rs)| CaseSummary {
                clients,
                agent,
                mode,
                kind,
                throughput: Spread::of(rs.iter().map(|r| r.throughput)),
                p50: Spread::of(rs.iter().map(|r| r.p50_us)),
                p90: Spread::of(rs.iter().map(|r| r.p90_us)),
                p99: Spread::of(rs.iter().map(|r| r.p99_us)),
                cpu: Spread::of(rs.iter().map(|r| r.cpu_us_per_sig)),
                client_cores: Spread::of(rs.iter().map(|r| r.client_cores)),
                ctx_per_op: Spread::of(rs.iter().map(|r| r.ctx_per_op)),
                completed: rs.iter().map(|r| r.completed).sum(),
                errors: rs.iter().map(|r| r.errors).sum(),
                verified: rs.iter().map(|r| r.verified).sum(),
                first_error: rs.iter().find_map(|r| r.first_error.clone()),
                rounds: rs.len(),
            })
            .collect();
        let mut rep = Self {
            command: std::env::args().collect::<Vec<_>>().join(" "),
            machine: machine_line(),
            quick: s.quick,
            rounds: s.rounds,
            duration_ms: s.duration.as_millis(),
            fixed,
            cases,
            targets: Vec::new(),
            paired_a,
            paired_b1,
            paired_b2,
            paired_b3,
        };
        rep.targets = rep.evaluate();
        rep
    }

    fn case(&self, clients: usize, agent: AgentId, mode: Mode) -> Option<&CaseSummary> {
        self.case_as(clients, agent, mode, ClientKind::Poll)
    }

    fn case_as(
        &self,
        clients: usize,
        agent: AgentId,
        mode: Mode,
        kind: ClientKind,
    ) -> Option<&CaseSummary> {
        self.cases
            .iter()
            .find(|c| c.clients == clients && c.agent == agent && c.mode == mode && c.kind == kind)
    }

    /// Errors in every phase.
    pub fn errors(&self) -> u64 {
        self.cases.iter().map(|c| c.errors).sum()
    }

    /// Fully verified replies in every phase.
    pub fn verified(&self) -> u64 {
        self.cases.iter().map(|c| c.verified).sum()
    }

    /// The first error of any phase.
    pub fn first_error(&self) -> Option<&str> {
        self.cases.iter().find_map(|c| c.first_error.as_deref())
    }

    /// Targets that failed.
    pub fn targets_failed(&self) -> usize {
        self.targets
            .iter()
            .filter(|t| t.pass == Some(false))
            .count()
    }

    fn evaluate(&self) -> Vec<Target> {
        let f = &self.fixed;
        let mut t = Vec::new();
        let na = |id, what: &str, why: &str| Target {
            id,
            what: what.to_owned(),
            pass: None,
            arithmetic: why.to_owned(),
        };

        // (a) one client, 32 B: p50 ≤ 1.2 × (sign + socket round trip).
        let what = "1 client, raw 32 B: signetd p50 ≤ 1.2 × (in-process sign + socket RTT p50)";
        match (self.case(1, AgentId::Signet, Mode::Raw32), f.sign32) {
            (Some(c), Some(sign)) => {
                let floor = sign.floor_ns() / 1e3 + f.rtt32.0;
                let limit = 1.2 * floor;
                let paired = Spread::of(self.paired_a.iter().copied());
                t.push(Target {
                    id: "a",
                    what: what.into(),
                    pass: Some(if self.paired_a.is_empty() {
                        c.p50.median <= limit
                    } else {
                        paired.median <= 1.2
                    }),
                    arithmetic: format!(
                        "paired per round (each round's p50 ÷ that round's sign + RTT): {} → median {:.2}× the floor (need ≤ 1.20×); \
                         against the run's best floor: p50 {:.1} µs vs 1.2 × ({:.1} µs sign + {:.1} µs RTT) = {:.1} µs → {:.2}×",
                        list(&self.paired_a, "×"),
                        paired.median,
                        c.p50.median,
                        sign.floor_ns() / 1e3,
                        f.rtt32.0,
                        limit,
                        c.p50.median / floor
                    ),
                });
            }
            _ => t.push(na("a", what, "not measured (needs 1 client)")),
        }

        // (b) four clients: vs OpenSSH, and vs the rate left for the daemon.
        let what_b1 = "4 clients, raw 32 B: signetd throughput ≥ 30 × ssh-agent's";
        let what_b2 = "4 clients, raw 32 B: signetd throughput ≥ 85% of the all-cores signing rate left after the clients' own CPU";
        match (
            self.case(4, AgentId::Signet, Mode::Raw32),
            self.case(4, AgentId::OpenSsh, Mode::Raw32),
        ) {
            (Some(s4), Some(o4)) => {
                let ratio = s4.throughput.median / o4.throughput.median;
                let paired = Spread::of(self.paired_b1.iter().copied());
                t.push(Target {
                    id: "b1",
                    what: what_b1.into(),
                    pass: Some(if self.paired_b1.is_empty() {
                        ratio >= 30.0
                    } else {
                        paired.median >= 30.0
                    }),
                    arithmetic: format!(
                        "paired per round (the two agents' phases run back to back): {} → median {:.1}× (need ≥ 30×); medians of the run: {:.0}/s ÷ {:.0}/s = {:.1}×",
                        list(&self.paired_b1, "×"),
                        paired.median,
                        s4.throughput.median,
                        o4.throughput.median,
                        ratio
                    ),
                });
                let cores = f.cores as f64;
                let clients = s4.client_cores.median;
                let per_core = f.all_cores_rate / cores;
                let avail = per_core * (cores - clients).max(0.0);
                let share = s4.throughput.median / avail;
                let ideal = match self.case(4, AgentId::Ideal, Mode::Raw32) {
                    Some(i) => format!(
                        "; the ideal agent (ideal.rs: a blocking thread per connection, in-process signing, no runtime, policy or audit log), \
                         driven by the same clients in the same rounds, did {:.0}/s = {:.0}% of it, and signetd did {:.0}% of the ideal's rate",
                        i.throughput.median,
                        100.0 * i.throughput.median / avail,
                        100.0 * s4.throughput.median / i.throughput.median
                    ),
                    None => String::new(),
                };
                let shares: Vec<f64> = self.paired_b2.iter().map(|p| p.0).collect();
                let ideal_shares: Vec<f64> = self.paired_b2.iter().filter_map(|p| p.1).collect();
                let paired = Spread::of(shares.iter().copied());
                let paired_note = if shares.is_empty() {
                    String::new()
                } else {
                    format!(
                        "paired per round (each round's throughput ÷ the rate available in that round): signetd {} → median {:.0}% (need ≥ 85%){}. Against the run's best floor: ",
                        list(&shares.iter().map(|x| x * 100.0).collect::<Vec<_>>(), "%"),
                        paired.median * 100.0,
                        if ideal_shares.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "; ideal agent {} → median {:.0}%",
                                list(&ideal_shares.iter().map(|x| x * 100.0).collect::<Vec<_>>(), "%"),
                                median(&ideal_shares) * 100.0
                            )
                        }
                    )
                };
                t.push(Target {
                    id: "b2",
                    what: what_b2.into(),
                    pass: Some(if shares.is_empty() {
                        share >= 0.85
                    } else {
                        paired.median >= 0.85
                    }),
                    arithmetic: format!(
                        "{paired_note}all-cores rate {:.0}/s on {} cores = {:.0}/s per core; the 4 clients used {:.2} cores (their own thread CPU clocks), \
                         so {:.2} cores are left for the daemon: {:.0}/s × {:.2} = {:.0}/s available; \
                         signetd did {:.0}/s = {:.0}% of it (need ≥ 85%){ideal}",
                        f.all_cores_rate,
                        f.cores,
                        per_core,
                        clients,
                        (cores - clients).max(0.0),
                        per_core,
                        (cores - clients).max(0.0),
                        avail,
                        s4.throughput.median,
                        share * 100.0
                    ),
                });
            }
            _ => {
                t.push(na("b1", what_b1, "not measured (needs 4 clients)"));
                t.push(na("b2", what_b2, "not measured (needs 4 clients)"));
            }
        }

        // (b3) four clients: against the ideal agent, with each kind of client.
        let what_b3 = "4 clients, raw 32 B: signetd throughput ≥ 0.9 × the ideal agent's, with clients waiting in poll(2) and with clients blocked in read(2)";
        let kinds: Vec<(ClientKind, &CaseSummary, &CaseSummary)> =
            [ClientKind::Poll, ClientKind::Read]
                .into_iter()
                .filter_map(|k| {
                    Some((
                        k,
                        self.case_as(4, AgentId::Signet, Mode::Raw32, k)?,
                        self.case_as(4, AgentId::Ideal, Mode::Raw32, k)?,
                    ))
                })
                .collect();
        if kinds.len() == 2 {
            let mut pass = true;
            let mut parts = Vec::new();
            for (k, s4, i4) in &kinds {
                let paired = self
                    .paired_b3
                    .iter()
                    .find(|(pk, _)| pk == k)
                    .map(|(_, v)| v.as_slice())
                    .unwrap_or_default();
                let ratio = if paired.is_empty() {
                    s4.throughput.median / i4.throughput.median
                } else {
                    median(paired)
                };
                pass &= ratio >= 0.9;
                parts.push(format!(
                    "{} clients: paired per round {} → median {:.2}× (medians of the run: {:.0}/s ÷ {:.0}/s)",
                    k.name(),
                    list(paired, "×"),
                    ratio,
                    s4.throughput.median,
                    i4.throughput.median
                ));
            }
            t.push(Target {
                id: "b3",
                what: what_b3.into(),
                pass: Some(pass),
                arithmetic: format!("{} (need ≥ 0.90× for each)", parts.join("; ")),
            });
        } else {
            t.push(na("b3", what_b3, "not measured (needs 4 clients)"));
        }

        // (c) the most clients: no errors, p99 ≤ 10 × p50.
        let max_clients = self.cases.iter().map(|c| c.clients).max().unwrap_or(0);
        let what = format!("{max_clients} clients: no errors, signetd raw 32 B p99 ≤ 10 × p50");
        match self.case(max_clients, AgentId::Signet, Mode::Raw32) {
            Some(c) if max_clients >= 64 => {
                let errors: u64 = self
                    .cases
                    .iter()
                    .filter(|c| c.clients == max_clients && c.agent == AgentId::Signet)
                    .map(|c| c.errors)
                    .sum();
                let tail = c.p99.median / c.p50.median;
                t.push(Target {
                    id: "c",
                    what,
                    pass: Some(errors == 0 && tail <= 10.0),
                    arithmetic: format!(
                        "{errors} errors in all signetd modes; p99 {:.1} µs ÷ p50 {:.1} µs = {:.1}× (need ≤ 10×)",
                        c.p99.median, c.p50.median, tail
                    ),
                });
            }
            _ => t.push(na("c", &what, "not measured (needs 64 clients)")),
        }

        // (d) sign-request overhead at one client.
        let what = "1 client: encord-v2 sign-request p50 ≤ 1.15 × raw 32 B sign p50";
        match (
            self.case(1, AgentId::Signet, Mode::EncordV2),
            self.case(1, AgentId::Signet, Mode::Raw32),
            self.case(1, AgentId::Signet, Mode::Raw256),
        ) {
            (Some(e), Some(r), r256) => {
                let ratio = e.p50.median / r.p50.median;
                t.push(Target {
                    id: "d",
                    what: what.into(),
                    pass: Some(ratio <= 1.15),
                    arithmetic: format!(
                        "{:.1} µs ÷ {:.1} µs = {:.3}× (need ≤ 1.15×){}",
                        e.p50.median,
                        r.p50.median,
                        ratio,
                        r256.map(|r| format!(
                            "; vs raw 256 B ({:.1} µs, a message of similar length): {:.3}×",
                            r.p50.median,
                            e.p50.median / r.p50.median
                        ))
                        .unwrap_or_default()
                    ),
                });
            }
            _ => t.push(na("d", what, "not measured (needs 1 client)")),
        }

        // (e) footprint and start-up.
        t.push(Target {
            id: "e1",
            what: "idle signetd RSS ≤ 8 MiB".into(),
            pass: Some(mib(f.idle_rss_kib) <= 8.0),
            arithmetic: format!(
                "VmRSS {:.2} MiB with one key loaded (ssh-agent: {:.2} MiB)",
                mib(f.idle_rss_kib),
                mib(f.ssh_agent_rss_kib)
            ),
        });
        let delta = f.conns_rss_kib.saturating_sub(f.idle_rss_kib);
        t.push(Target {
            id: "e2",
            what: format!("{} idle connections add ≤ 8 MiB", f.idle_connections),
            pass: Some(mib(delta) <= 8.0),
            arithmetic: format!(
                "{:.2} MiB → {:.2} MiB: +{:.2} MiB = {:.1} KiB per connection",
                mib(f.idle_rss_kib),
                mib(f.conns_rss_kib),
                mib(delta),
                delta as f64 / f.idle_connections.max(1) as f64
            ),
        });
        let start = median(&f.startup_ms);
        t.push(Target {
            id: "e3",
            what: "signetd exec → socket answering ≤ 50 ms".into(),
            pass: Some(start <= 50.0),
            arithmetic: format!(
                "median {:.1} ms of {} starts (exec to first REQUEST_IDENTITIES answer; min {:.1}, max {:.1})",
                start,
                f.startup_ms.len(),
                Spread::of(f.startup_ms.iter().copied()).min,
                Spread::of(f.startup_ms.iter().copied()).max
            ),
        });
        match &f.list_ms {
            Ok(v) => {
                let m = median(v);
                t.push(Target {
                    id: "e4",
                    what: "`signet list` ≤ 10 ms wall".into(),
                    pass: Some(m <= 10.0),
                    arithmetic: format!("median {:.1} ms of {} runs", m, v.len()),
                });
            }
            Err(note) => t.push(na("e4", "`signet list` ≤ 10 ms wall", note)),
        }
        t
    }

    /// The human-readable report.
    pub fn to_table(&self) -> String {
        let f = &self.fixed;
        let mut o = String::new();
        let _ = writeln!(o, "\nsignet-bench — {}", self.machine);
        let _ = writeln!(
            o,
            "command: {}\nrounds {} × {} ms per phase{}; medians across rounds, (min–max) spread\n",
            self.command,
            self.rounds,
            self.duration_ms,
            if self.quick {
                " (--quick: smoke mode, targets not enforced)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            o,
            "{:>3} {:<9} {:<14} {:>24} {:>8} {:>8} {:>8} {:>9} {:>6} {:>7} {:>8}",
            "cl",
            "agent",
            "mode client",
            "throughput/s (min–max)",
            "p50 µs",
            "p90 µs",
            "p99 µs",
            "CPU µs/op",
            "cs/op",
            "cli cor",
            "verified"
        );
        for c in &self.cases {
            let _ = writeln!(
                o,
                "{:>3} {:<9} {:<14} {:>24} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>6} {:>7.2} {:>8}{}",
                c.clients,
                c.agent.name(),
                format!("{} {}", c.mode.name(), c.kind.name()),
                format!(
                    "{:.0} ({:.0}–{:.0})",
                    c.throughput.median, c.throughput.min, c.throughput.max
                ),
                c.p50.median,
                c.p90.median,
                c.p99.median,
                c.cpu.median,
                // The ideal agent's connection threads end with the phase,
                // so /proc/PID/task no longer lists their switches.
                if c.agent == AgentId::Ideal {
                    "-".to_owned()
                } else {
                    format!("{:.2}", c.ctx_per_op.median)
                },
                c.client_cores.median,
                c.verified,
                if c.errors > 0 {
                    format!("  {} ERRORS", c.errors)
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(
            o,
            "(cl = concurrent clients; CPU µs/op and cs/op = the agent's CPU time and context switches per reply; \
             cli cor = the clients' own CPU, in cores; verified = replies checked with ed25519-dalek)"
        );
        let _ = writeln!(o, "\nratios (medians):");
        let _ = writeln!(
            o,
            "{:>3} {:<9} {:>16} {:>16} {:>22}",
            "cl", "mode", "thr signet/ssh", "p50 signet/ssh", "signet/floor"
        );
        let clients: std::collections::BTreeSet<usize> =
            self.cases.iter().map(|c| c.clients).collect();
        for &n in &clients {
            for mode in [Mode::Raw32, Mode::Raw256] {
                let (Some(s), Some(h)) = (
                    self.case(n, AgentId::Signet, mode),
                    self.case(n, AgentId::OpenSsh, mode),
                ) else {
                    continue;
                };
                let floor = self.floor_note(s);
                let _ = writeln!(
                    o,
                    "{:>3} {:<9} {:>15.1}× {:>15.3}× {:>22}",
                    n,
                    mode.name(),
                    s.throughput.median / h.throughput.median,
                    s.p50.median / h.p50.median,
                    floor
                );
            }
        }
        let _ = writeln!(o, "\nfloor (same run, best of two measurements):");
        if let (Some(a), Some(b)) = (f.sign32, f.sign256) {
            let _ = writeln!(
                o,
                "  in-process sign, 1 thread: 32 B {:.2} µs (SigningKey::sign {:.2} µs, expanded key {:.2} µs); 256 B {:.2} µs",
                a.floor_ns() / 1e3,
                a.signing_key_ns / 1e3,
                a.expanded_ns / 1e3,
                b.floor_ns() / 1e3
            );
        }
        let _ = writeln!(
            o,
            "  in-process sign, {} threads: {:.0}/s ({:.0}/s per core)",
            f.cores,
            f.all_cores_rate,
            f.all_cores_rate / f.cores.max(1) as f64
        );
        let _ = writeln!(
            o,
            "  bare Unix-socket round trip (frame of a 32 B sign request → 1 byte): p50 {:.1} µs, p99 {:.1} µs; 256 B: p50 {:.1} µs",
            f.rtt32.0, f.rtt32.1, f.rtt256.0
        );
        let _ = writeln!(
            o,
            "memory: signetd idle {:.2} MiB, +{} idle connections {:.2} MiB, after the run VmRSS {:.2} MiB / VmHWM {:.2} MiB; ssh-agent idle {:.2} MiB",
            mib(f.idle_rss_kib),
            f.idle_connections,
            mib(f.conns_rss_kib),
            mib(f.final_rss_hwm_kib.0),
            mib(f.final_rss_hwm_kib.1),
            mib(f.ssh_agent_rss_kib)
        );
        let _ = writeln!(o, "\ntargets:");
        for t in &self.targets {
            let verdict = match (t.pass, self.quick) {
                (None, _) => "SKIP",
                (Some(true), _) => "PASS",
                (Some(false), false) => "FAIL",
                (Some(false), true) => "fail (not enforced in --quick)",
            };
            let _ = writeln!(
                o,
                "  [{verdict}] ({}) {}\n         {}",
                t.id, t.what, t.arithmetic
            );
        }
        let _ = writeln!(
            o,
            "\nchecks: {} replies fully verified with ed25519-dalek, {} errors",
            self.verified(),
            self.errors()
        );
        o
    }

    fn floor_note(&self, s: &CaseSummary) -> String {
        let f = &self.fixed;
        let (sign, rtt) = match s.mode {
            Mode::Raw32 => (f.sign32, f.rtt32.0),
            _ => (f.sign256, f.rtt256.0),
        };
        match (s.clients, sign) {
            (1, Some(sign)) => format!(
                "p50 {:.2}× (sign+RTT)",
                s.p50.median / (sign.floor_ns() / 1e3 + rtt)
            ),
            _ => format!(
                "thr {:.0}% of all-cores",
                100.0 * s.throughput.median / f.all_cores_rate
            ),
        }
    }

    /// The machine-readable report.
    pub fn to_json(&self) -> Value {
        let f = &self.fixed;
        let cost = |c: Option<crate::floor::SignCost>| {
            c.map(|c| {
                json!({"signing_key_us": c.signing_key_ns / 1e3, "expanded_key_us": c.expanded_ns / 1e3, "floor_us": c.floor_ns() / 1e3})
            })
        };
        json!({
            "machine": self.machine,
            "command": self.command,
            "quick": self.quick,
            "rounds": self.rounds,
            "duration_ms": self.duration_ms,
            "paired_per_round": {
                "a_p50_over_floor": self.paired_a,
                "b1_signetd_over_ssh_agent": self.paired_b1,
                "b2_signetd_share": self.paired_b2.iter().map(|p| p.0).collect::<Vec<_>>(),
                "b2_ideal_share": self.paired_b2.iter().map(|p| p.1).collect::<Vec<_>>(),
            },
            "floor": {
                "sign_32": cost(f.sign32),
                "sign_256": cost(f.sign256),
                "all_cores_rate_per_s": f.all_cores_rate,
                "cores": f.cores,
                "socket_rtt_32_us": {"p50": f.rtt32.0, "p99": f.rtt32.1},
                "socket_rtt_256_us": {"p50": f.rtt256.0, "p99": f.rtt256.1},
            },
            "memory_kib": {
                "signetd_idle_rss": f.idle_rss_kib,
                "signetd_rss_with_idle_connections": f.conns_rss_kib,
                "idle_connections": f.idle_connections,
                "signetd_final_rss": f.final_rss_hwm_kib.0,
                "signetd_final_hwm": f.final_rss_hwm_kib.1,
                "ssh_agent_idle_rss": f.ssh_agent_rss_kib,
            },
            "startup_ms": f.startup_ms,
            "signet_list_ms": match &f.list_ms { Ok(v) => json!(v), Err(n) => json!({"skipped": n}) },
            "cases": self.cases.iter().map(|c| json!({
                "clients": c.clients,
                "agent": c.agent.name(),
                "mode": c.mode.name(),
                "client": c.kind.name(),
                "throughput_per_s": c.throughput.json(),
                "p50_us": c.p50.json(),
                "p90_us": c.p90.json(),
                "p99_us": c.p99.json(),
                "agent_cpu_us_per_op": c.cpu.json(),
                "client_cores": c.client_cores.json(),
                "agent_context_switches_per_op": c.ctx_per_op.json(),
                "completed": c.completed,
                "errors": c.errors,
                "verified": c.verified,
                "first_error": c.first_error,
                "rounds": c.rounds,
            })).collect::<Vec<_>>(),
            "targets": self.targets.iter().map(|t| json!({
                "id": t.id,
                "target": t.what,
                "pass": t.pass,
                "arithmetic": t.arithmetic,
            })).collect::<Vec<_>>(),
            "errors": self.errors(),
            "verified": self.verified(),
        })
    }
}

/// `nproc`, CPU model and kernel.
pub fn machine_line() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown kernel".into());
    format!("nproc {cpus}, {model}, Linux {kernel}")
}
