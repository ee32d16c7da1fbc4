//! Figures a bench run reports: latency percentiles, the server's own counters before
//! and after a scenario, and this process's CPU time.

use std::time::Duration;

use chit_protocol::ServerStats;
use serde::Serialize;

/// Latency percentiles in milliseconds, computed like the Socket.IO baseline's load
/// generator: the value at rank ceil(p/100 * n).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let at = |p: f64| {
            let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            ms(samples[rank.clamp(1, samples.len()) - 1])
        };
        Latency {
            n: samples.len(),
            p50_ms: at(50.0),
            p99_ms: at(99.0),
            max_ms: ms(*samples.last().expect("not empty")),
        }
    }

    /// `p50 0.41 ms  p99 2.10 ms  max 3.02 ms (n=20000)`.
    pub fn human(&self) -> String {
        format!(
            "p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (n={})",
            self.p50_ms, self.p99_ms, self.max_ms, self.n
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What the server did during a scenario, from its admin `stats` before and after.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerUse {
    pub cpu_secs: f64,
    /// Server CPU per operation (orders placed plus status updates), in microseconds.
    pub cpu_us_per_op: f64,
    pub events_per_sec: f64,
    pub rss_bytes: u64,
    pub connections: u64,
}

impl ServerUse {
    pub fn between(before: &ServerStats, after: &ServerStats, ops: u64, secs: f64) -> ServerUse {
        let cpu_secs = after.cpu_ms.saturating_sub(before.cpu_ms) as f64 / 1000.0;
        ServerUse {
            cpu_secs,
            cpu_us_per_op: if ops > 0 {
                cpu_secs * 1e6 / ops as f64
            } else {
                0.0
            },
            events_per_sec: if secs > 0.0 {
                after.events_total.saturating_sub(before.events_total) as f64 / secs
            } else {
                0.0
            },
            rss_bytes: after.rss_bytes,
            connections: after.connections,
        }
    }
}

impl ServerUse {
    /// Several nodes' use as one: CPU, memory and connections added up, CPU per
    /// operation over all of them; events/s is the first node's (every node publishes
    /// every event to its own subscribers, so adding would count each once per node).
    pub fn sum(each: &[ServerUse], ops: u64) -> ServerUse {
        let cpu_secs: f64 = each.iter().map(|u| u.cpu_secs).sum();
        ServerUse {
            cpu_secs,
            cpu_us_per_op: if ops > 0 {
                cpu_secs * 1e6 / ops as f64
            } else {
                0.0
            },
            events_per_sec: each.first().map_or(0.0, |u| u.events_per_sec),
            rss_bytes: each.iter().map(|u| u.rss_bytes).sum(),
            connections: each.iter().map(|u| u.connections).sum(),
        }
    }
}

/// CPU time (user + system) this process has used, in seconds.
pub fn own_cpu_secs() -> f64 {
    chit_protocol::process::cpu_ms() as f64 / 1000.0
}

/// Busy CPU time of the whole machine so far (user, nice and system on all cores), in
/// seconds: with the server's and this process's own, it shows how much other work
/// shared the machine during a run. 0 where there is no /proc (elsewhere than Linux).
pub fn host_busy_secs() -> f64 {
    #[cfg(target_os = "linux")]
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    #[cfg(not(target_os = "linux"))]
    let stat = String::new();
    let ticks: u64 = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(3)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_ranked_sample() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::of(samples);
        assert_eq!(
            (l.n, l.p50_ms, l.p99_ms, l.max_ms),
            (100, 50.0, 99.0, 100.0)
        );
        let one = Latency::of(vec![Duration::from_micros(1500)]);
        assert_eq!((one.p50_ms, one.p99_ms, one.max_ms), (1.5, 1.5, 1.5));
        assert_eq!(Latency::of(Vec::new()).n, 0);
    }
}
