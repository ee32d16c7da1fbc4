//! Speed of service: today's durations kept sorted (an item's time from reaching the
//! kitchen to done, an order's from fired to ready), so a median and a 90th percentile
//! cost one index each. A change adds or takes away one sample with a binary search; a
//! busy day's few thousand samples are a few kilobytes per restaurant.

use chit_protocol::{Item, ItemState, Order, Speed, StationTiming, Timing};

/// Durations in milliseconds, in ascending order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Durations(Vec<i64>);

impl Durations {
    pub fn add(&mut self, ms: i64) {
        let at = self.0.partition_point(|&d| d < ms);
        self.0.insert(at, ms);
    }

    /// Takes one sample of `ms` away; false if there was none.
    pub fn remove(&mut self, ms: i64) -> bool {
        match self.0.binary_search(&ms) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: &Durations) {
        self.0.extend_from_slice(&other.0);
        self.0.sort_unstable();
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The median (the mean of the middle two for an even count) and the 90th
    /// percentile by nearest rank (the smallest sample with at least 90 % of them at or
    /// below it), in minutes to one decimal.
    pub fn timing(&self) -> Timing {
        let n = self.0.len();
        if n == 0 {
            return Timing::default();
        }
        let median = if n % 2 == 1 {
            self.0[n / 2] as f64
        } else {
            (self.0[n / 2 - 1] + self.0[n / 2]) as f64 / 2.0
        };
        let p90 = self.0[(n * 9).div_ceil(10) - 1] as f64;
        Timing {
            count: n as u64,
            median_minutes: Some(minutes(median)),
            p90_minutes: Some(minutes(p90)),
        }
    }
}

fn minutes(ms: f64) -> f64 {
    (ms / 60_000.0 * 10.0).round() / 10.0
}

/// One restaurant's samples for the day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Samples {
    pub items: Durations,
    pub orders: Durations,
    /// Per station, in the order first seen (a handful per restaurant).
    pub stations: Vec<(String, Durations)>,
}

/// When an order reached the kitchen: fired, for a held order; else placed.
pub fn kitchen_start(order: &Order) -> i64 {
    order
        .fired_at
        .as_deref()
        .and_then(chit_protocol::parse_time)
        .unwrap_or_else(|| order.created_ms())
}

/// How long a done item took from `start`, if it is done.
pub fn item_duration(item: &Item, start: i64) -> Option<i64> {
    if item.state != ItemState::Done {
        return None;
    }
    let done = item
        .done_at
        .as_deref()
        .and_then(chit_protocol::parse_time)?;
    Some((done - start).max(0))
}

impl Samples {
    /// Adds (`sign` 1) or takes away (-1) a done item's duration.
    pub fn count_item(&mut self, station: Option<&str>, ms: i64, sign: i64) {
        change(&mut self.items, ms, sign);
        if let Some(station) = station {
            let at = match self.stations.iter().position(|(s, _)| s == station) {
                Some(at) => at,
                None => {
                    self.stations
                        .push((station.to_string(), Durations::default()));
                    self.stations.len() - 1
                }
            };
            change(&mut self.stations[at].1, ms, sign);
        }
    }

    pub fn count_order(&mut self, ms: i64, sign: i64) {
        change(&mut self.orders, ms, sign);
    }

    /// Every done item's and the ready order's samples of `order`, which reached the
    /// kitchen at [`kitchen_start`] and was ready at `ready_at`.
    pub fn count_whole(&mut self, order: &Order, ready_at: Option<i64>, sign: i64) {
        let start = kitchen_start(order);
        for item in &order.items {
            if let Some(ms) = item_duration(item, start) {
                self.count_item(item.station.as_deref(), ms, sign);
            }
        }
        if let Some(ready) = ready_at {
            self.count_order((ready - start).max(0), sign);
        }
    }

    /// The figures, stations in the order of `stations` (the menu's), then any others.
    pub fn speed(&self, stations: &[String]) -> Speed {
        let mut listed: Vec<&(String, Durations)> = self.stations.iter().collect();
        let rank = |s: &str| stations.iter().position(|m| m == s).unwrap_or(usize::MAX);
        listed.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
        Speed {
            items: self.items.timing(),
            orders: self.orders.timing(),
            stations: listed
                .into_iter()
                .filter(|(_, d)| !d.is_empty())
                .map(|(station, d)| StationTiming {
                    station: station.clone(),
                    items: d.timing(),
                })
                .collect(),
        }
    }
}

fn change(d: &mut Durations, ms: i64, sign: i64) {
    if sign > 0 {
        d.add(ms);
    } else {
        d.remove(ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(minutes: &[i64]) -> Durations {
        let mut d = Durations::default();
        for m in minutes {
            d.add(m * 60_000);
        }
        d
    }

    #[test]
    fn median_and_90th_percentile_by_nearest_rank() {
        assert_eq!(of(&[]).timing(), Timing::default());
        let t = of(&[7]).timing();
        assert_eq!(
            (t.count, t.median_minutes, t.p90_minutes),
            (1, Some(7.0), Some(7.0))
        );
        // Added out of order; kept sorted.
        let t = of(&[10, 2, 8, 4, 6, 1, 3, 5, 9, 7]).timing();
        assert_eq!((t.median_minutes, t.p90_minutes), (Some(5.5), Some(9.0)));
        let t = of(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30]).timing();
        assert_eq!((t.median_minutes, t.p90_minutes), (Some(6.0), Some(10.0)));
        let mut d = of(&[3, 3, 4]);
        assert!(d.remove(3 * 60_000));
        assert!(!d.remove(60_000));
        assert_eq!(d.timing().median_minutes, Some(3.5));
        let d = {
            let mut d = Durations::default();
            d.add(90_000);
            d
        };
        assert_eq!(d.timing().median_minutes, Some(1.5));
    }

    #[test]
    fn stations_are_listed_in_the_menus_order() {
        let mut s = Samples::default();
        s.count_item(Some("bar"), 60_000, 1);
        s.count_item(Some("wok"), 600_000, 1);
        s.count_item(Some("zzz"), 60_000, 1);
        s.count_item(None, 60_000, 1);
        s.count_item(Some("grill"), 60_000, 1);
        s.count_item(Some("grill"), 60_000, -1);
        let speed = s.speed(&["wok".into(), "grill".into(), "bar".into()]);
        let names: Vec<_> = speed.stations.iter().map(|t| t.station.as_str()).collect();
        assert_eq!(names, ["wok", "bar", "zzz"], "grill has no samples left");
        assert_eq!(speed.items.count, 4);
        assert_eq!(speed.stations[0].items.median_minutes, Some(10.0));
    }
}
