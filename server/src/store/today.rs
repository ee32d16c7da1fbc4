//! Today's figures per restaurant, kept by the writer as orders change: running sums and
//! speed-of-service samples, read from the database once a day per restaurant, then
//! moved by each change, so that `analytics_update` after a commit needs no query over
//! the day's orders. Where other nodes change the same orders, the sums would count only
//! this node's: none are kept, and the figures are read from the database instead.

use std::collections::{BTreeSet, HashMap};

use super::tx::{Tx, TxResult};

use super::queries::{Day, Share, Tally};
use crate::kitchen::speed::Samples;

/// A restaurant's figures after a commit changed them; `None` if they are not known
/// here (they are then read from the database before sending).
#[derive(Debug, Clone)]
pub struct Figures {
    pub restaurant: String,
    pub today: Option<chit_protocol::Analytics>,
}

/// Today's sums per restaurant as of the last commit, and the day they are for (read
/// again only once a group's time is outside it, or if it could not be read).
#[derive(Default)]
pub(super) struct Today {
    /// Whether other nodes change the same orders (a shared database): then no sums
    /// are kept, as this writer sees only its own changes, and the figures of the
    /// restaurants a group touched are read from the database after its commit.
    shared: bool,
    day: Option<Day>,
    tallies: HashMap<String, Tally>,
    speeds: HashMap<String, Samples>,
}

/// The sums as one group of changes moves them, before it commits.
pub(super) struct Group {
    /// Start of today (Unix ms), if known.
    since: Option<i64>,
    /// The local date, for order numbers.
    pub date: String,
    tallies: HashMap<String, Tally>,
    speeds: HashMap<String, Samples>,
    /// Restaurants whose orders this group changed.
    touched: BTreeSet<String>,
}

impl Today {
    pub fn new(shared: bool) -> Today {
        Today {
            shared,
            ..Today::default()
        }
    }

    /// Starts a group at `now` (Unix ms). The day is the day of the group's time, so
    /// that its orders count for it even if midnight passes meanwhile; the sums are
    /// taken for the group and put back only if it commits. `tx` is the group's
    /// transaction, if it could begin.
    pub fn begin(&mut self, tx: Option<&dyn Tx>, now: i64) -> Group {
        if !self.day.as_ref().is_some_and(|d| d.contains(now)) {
            let day = tx.and_then(|tx| tx.day_of(now).ok());
            if day.as_ref().map(|d| d.start) != self.day.as_ref().map(|d| d.start) {
                self.tallies.clear();
                self.speeds.clear();
            }
            self.day = day;
        }
        let (since, date) = match &self.day {
            Some(d) => ((!self.shared).then_some(d.start), d.date.clone()),
            None => (None, String::new()),
        };
        Group {
            since,
            date,
            tallies: std::mem::take(&mut self.tallies),
            speeds: std::mem::take(&mut self.speeds),
            touched: BTreeSet::new(),
        }
    }

    /// Keeps a committed group's sums; returns the figures of the restaurants it
    /// touched, for sending, with their stations in the order `stations` gives.
    pub fn commit(&mut self, group: Group, stations: impl Fn(&str) -> Vec<String>) -> Vec<Figures> {
        let figures = group
            .touched
            .iter()
            .map(|r| Figures {
                restaurant: r.clone(),
                today: group.tallies.get(r).map(|t| {
                    let mut today = t.analytics(Some(r));
                    if let Some(samples) = group.speeds.get(r) {
                        let order = if samples.stations.is_empty() {
                            Vec::new()
                        } else {
                            stations(r)
                        };
                        today.speed = samples.speed(&order);
                    }
                    today
                }),
            })
            .collect();
        if group.since.is_some() {
            self.tallies = group.tallies;
            self.speeds = group.speeds;
        }
        figures
    }
}

impl Group {
    /// Marks `restaurant`'s figures for sending (allocating its name once a group).
    fn touch(&mut self, restaurant: &str) {
        if !self.touched.contains(restaurant) {
            self.touched.insert(restaurant.to_string());
        }
    }

    /// Makes sure the group has today's sums for `restaurant`, read before this change
    /// writes anything.
    pub fn load(&mut self, tx: &dyn Tx, restaurant: &str) -> TxResult<()> {
        if let Some(since) = self.since
            && !self.tallies.contains_key(restaurant)
        {
            let tally = tx.tally(Some(restaurant), since)?;
            let samples = tx
                .speed_samples(Some(restaurant), since)?
                .remove(restaurant)
                .unwrap_or_default();
            self.tallies.insert(restaurant.to_string(), tally);
            self.speeds.insert(restaurant.to_string(), samples);
        }
        Ok(())
    }

    /// Adds (`sign` 1) or takes away (-1) a done item's time to done, `ms`, for an
    /// order placed at `created_at`.
    pub fn count_item(
        &mut self,
        restaurant: &str,
        created_at: i64,
        station: Option<&str>,
        ms: i64,
        sign: i64,
    ) {
        self.touch(restaurant);
        if let Some(samples) = self.today_samples(restaurant, created_at) {
            samples.count_item(station, ms, sign);
        }
    }

    /// Counts an order placed at `created_at` that got to ready `ms` after it reached
    /// the kitchen.
    pub fn count_ready(&mut self, restaurant: &str, created_at: i64, ms: i64) {
        self.touch(restaurant);
        if let Some(samples) = self.today_samples(restaurant, created_at) {
            samples.count_order(ms, 1);
        }
    }

    fn today_samples(&mut self, restaurant: &str, created_at: i64) -> Option<&mut Samples> {
        let since = self.since?;
        (created_at >= since)
            .then(|| self.speeds.get_mut(restaurant))
            .flatten()
    }

    /// Moves an order's share of today's figures from `before` to `after`, and marks
    /// its restaurant's figures for sending.
    pub fn count(&mut self, restaurant: &str, before: Option<Share>, after: Option<Share>) {
        self.touch(restaurant);
        let Some(since) = self.since else {
            return;
        };
        let Some(tally) = self.tallies.get_mut(restaurant) else {
            return;
        };
        for (share, sign) in [(before, -1), (after, 1)] {
            if let Some(share) = share.filter(|s| s.created_at >= since) {
                tally.count(&share, sign);
            }
        }
    }
}
