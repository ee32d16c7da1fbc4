//! Today's figures per restaurant, kept by the writer as orders change: running sums
//! read from the database once a day per restaurant, then moved by each change, so that
//! `analytics_update` after a commit needs no query over the day's orders.

use std::collections::{BTreeSet, HashMap};

use rusqlite::Connection;

use super::queries::{self, Day, Share, Tally};

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
    day: Option<Day>,
    tallies: HashMap<String, Tally>,
}

/// The sums as one group of changes moves them, before it commits.
pub(super) struct Group {
    /// Start of today (Unix ms), if known.
    since: Option<i64>,
    /// The local date, for order numbers.
    pub date: String,
    tallies: HashMap<String, Tally>,
    /// Restaurants whose orders this group changed.
    touched: BTreeSet<String>,
}

impl Today {
    /// Starts a group at `now` (Unix ms). The day is the day of the group's time, so
    /// that its orders count for it even if midnight passes meanwhile; the sums are
    /// taken for the group and put back only if it commits.
    pub fn begin(&mut self, conn: &Connection, now: i64) -> Group {
        if !self.day.as_ref().is_some_and(|d| d.contains(now)) {
            let day = queries::day_of(conn, now).ok();
            if day.as_ref().map(|d| d.start) != self.day.as_ref().map(|d| d.start) {
                self.tallies.clear();
            }
            self.day = day;
        }
        let (since, date) = match &self.day {
            Some(d) => (Some(d.start), d.date.clone()),
            None => (None, String::new()),
        };
        Group {
            since,
            date,
            tallies: std::mem::take(&mut self.tallies),
            touched: BTreeSet::new(),
        }
    }

    /// Keeps a committed group's sums; returns the figures of the restaurants it
    /// touched, for sending.
    pub fn commit(&mut self, group: Group) -> Vec<Figures> {
        let figures = group
            .touched
            .iter()
            .map(|r| Figures {
                restaurant: r.clone(),
                today: group.tallies.get(r).map(|t| t.analytics(Some(r))),
            })
            .collect();
        if group.since.is_some() {
            self.tallies = group.tallies;
        }
        figures
    }
}

impl Group {
    /// Makes sure the group has today's sums for `restaurant`, read before this change
    /// writes anything.
    pub fn load(&mut self, conn: &Connection, restaurant: &str) -> rusqlite::Result<()> {
        if let Some(since) = self.since
            && !self.tallies.contains_key(restaurant)
        {
            let tally = queries::tally(conn, Some(restaurant), since)?;
            self.tallies.insert(restaurant.to_string(), tally);
        }
        Ok(())
    }

    /// Moves an order's share of today's figures from `before` to `after`, and marks
    /// its restaurant's figures for sending.
    pub fn count(&mut self, restaurant: &str, before: Option<Share>, after: Option<Share>) {
        self.touched.insert(restaurant.to_string());
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
