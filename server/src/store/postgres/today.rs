//! Today on PostgreSQL: the local day, and the day's tally and speed-of-service samples
//! (`queries::tally`, `kitchen_sql::speed_samples`, row for row). The day is computed
//! here, in chit-server's own time zone as SQLite's 'localtime' does: PostgreSQL's
//! `TimeZone` setting is the database server's, and may be another.

use std::collections::HashMap;

use chit_protocol::{Analytics, Item, Status, format_time};
use chrono::{DateTime, Datelike, Local, NaiveDateTime};

use super::kitchen::from_json;
use crate::kitchen::speed::Samples;
use crate::store::postgres::db::Db;
use crate::store::queries::{Day, Tally};
use crate::store::tx::{StoreError, TxResult};

/// Today in chit-server's local time zone. Needs no database: a plain function.
pub(crate) fn local_day() -> TxResult<Day> {
    day_of(chit_protocol::now_ms())
}

/// The local day that `at` (Unix ms) is in, as `queries::day_of` has SQLite compute it
/// (`'localtime', 'start of day'`, then `'utc'`), step for step, so that both agree to
/// the second, on days with a DST change too, and before 1970 and after 2038 (see
/// [`local_time`]). Needs no database: a plain function. One difference is left: where
/// SQLite's own arithmetic makes a 29 February of a year without one (in 2100),
/// its date reads `2100-02-29`, this one's `2100-03-01`.
pub(crate) fn day_of(at: i64) -> TxResult<Day> {
    let out_of_range = || StoreError::Backend(format!("no local day for Unix time {at} ms"));
    // SQLite divides the milliseconds as integers (toward zero), as Rust does.
    let local = local_time(at / 1000).ok_or_else(out_of_range)?;
    let date = local.date();
    let start = date.and_time(chrono::NaiveTime::MIN);
    let next = date
        .succ_opt()
        .ok_or_else(out_of_range)?
        .and_time(chrono::NaiveTime::MIN);
    Ok(Day {
        start: utc_of(start).ok_or_else(out_of_range)? * 1000,
        end: utc_of(next).ok_or_else(out_of_range)? * 1000,
        date: date.format("%Y-%m-%d").to_string(),
    })
}

/// The local wall-clock time at Unix time `secs`, as SQLite's toLocaltime finds it:
/// outside 1970-01-01 to 2038-01-18 (UTC), where a 32-bit `localtime_r` may not
/// reach, it takes the same time in a year from 2000 to 2003 (the same place in the
/// leap cycle) and moves the result back by as many years.
fn local_time(secs: i64) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp(secs, 0)?;
    if (0..=2_147_385_600).contains(&secs) {
        return Some(utc.with_timezone(&Local).naive_local());
    }
    let year = utc.year();
    let shift = (2000 + year % 4) - year;
    let moved = utc.naive_utc().with_year(year + shift)?.and_utc();
    let local = moved.with_timezone(&Local).naive_local();
    // SQLite keeps the month and day as they are and counts on from the month's start
    // (29 February of a year that has none is 1 March).
    let first = chrono::NaiveDate::from_ymd_opt(local.year() - shift, local.month(), 1)?;
    Some(
        first
            .checked_add_days(chrono::Days::new(u64::from(local.day() - 1)))?
            .and_time(local.time()),
    )
}

/// The Unix time (s) of wall-clock time `local`, found as SQLite's 'utc' modifier finds
/// it: guess, see how far the guess's local time is off, correct, at most four times.
/// A time that exists once gives its instant; in a DST gap or overlap the result is
/// SQLite's, whatever that is, because the steps are its steps.
fn utc_of(local: NaiveDateTime) -> Option<i64> {
    let wanted = local.and_utc().timestamp();
    let mut guess = wanted;
    let mut off = 0;
    let mut tries = 0;
    loop {
        guess -= off;
        off = local_time(guess)?.and_utc().timestamp() - wanted;
        if off == 0 || tries >= 3 {
            return Some(guess);
        }
        tries += 1;
    }
}

/// Today's [`Tally`] (orders placed from `since`, Unix ms) for one restaurant or all:
/// the day's orders summed by status, then counted as [`Tally`] counts them.
pub(crate) fn tally(c: &mut impl Db, restaurant: Option<&str>, since: i64) -> TxResult<Tally> {
    let mut tally = Tally::default();
    for r in c.query(&tally_query(restaurant.is_some()), &[&restaurant, &since])? {
        let status: String = r.try_get(0)?;
        let status: Status = status
            .parse()
            .map_err(|e: String| StoreError::Backend(format!("reading orders.status: {e}")))?;
        tally.add(
            status,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
    }
    Ok(tally)
}

/// Today's figures (from `since`, Unix ms) for one restaurant or all.
pub(crate) fn analytics(
    c: &mut impl Db,
    restaurant: Option<&str>,
    since: i64,
) -> TxResult<Analytics> {
    Ok(tally(c, restaurant, since)?.analytics(restaurant))
}

/// `restaurant = $1` and every status, so that one restaurant's rows are read from
/// orders_by_restaurant (restaurant, status, created_at) status by status; or every
/// restaurant's (`$1` is NULL).
fn restaurant_filter(one_restaurant: bool) -> String {
    if one_restaurant {
        let statuses: Vec<String> = Status::ALL
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        format!("restaurant = $1 AND status IN ({})", statuses.join(", "))
    } else {
        "$1::TEXT IS NULL".to_string()
    }
}

/// The query [`tally`] runs ($1 the restaurant or NULL, $2 the start of the day). The
/// sums are BIGINT, as SQLite's are 64-bit (PostgreSQL's SUM of BIGINT is NUMERIC).
fn tally_query(one_restaurant: bool) -> String {
    format!(
        "SELECT status, COUNT(*), COALESCE(SUM(total), 0)::BIGINT,
                COALESCE(SUM(ready_at - created_at), 0)::BIGINT, COUNT(ready_at)
         FROM orders WHERE {} AND created_at >= $2 GROUP BY status",
        restaurant_filter(one_restaurant)
    )
}

/// Today's speed-of-service samples (orders placed from `since`, Unix ms) per
/// restaurant, for one restaurant or all: each done item and each order that got to
/// ready, as [`Samples::count_whole`] counts them.
pub(crate) fn speed_samples(
    c: &mut impl Db,
    restaurant: Option<&str>,
    since: i64,
) -> TxResult<HashMap<String, Samples>> {
    // SQLite's LIKE ignores ASCII case, PostgreSQL's does not: ILIKE is the same test.
    // It only passes over orders with nothing done; count_whole decides what counts.
    let sql = format!(
        "SELECT restaurant, created_at, fired_at, ready_at, items FROM orders
         WHERE {} AND created_at >= $2
           AND (ready_at IS NOT NULL OR items ILIKE '%\"done_at\":%')",
        restaurant_filter(restaurant.is_some())
    );
    let mut samples: HashMap<String, Samples> = HashMap::new();
    for r in c.query(&sql, &[&restaurant, &since])? {
        let order = chit_protocol::Order {
            restaurant: r.try_get(0)?,
            created_at: format_time(r.try_get(1)?),
            fired_at: r.try_get::<_, Option<i64>>(2)?.map(format_time),
            items: from_json::<Vec<Item>>("orders.items", r.try_get(4)?)?,
            ..Default::default()
        };
        let ready_at: Option<i64> = r.try_get(3)?;
        samples
            .entry(order.restaurant.clone())
            .or_default()
            .count_whole(&order, ready_at, 1);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::test_db::TestDb;
    use crate::store::{kitchen_sql, queries};

    /// The zone a child run of the day test compares in (it sets `TZ` to it too).
    const CHILD_ZONE: &str = "CHIT_TEST_DAY_ZONE";
    const DAY_TEST: &str =
        "store::postgres::today::tests::days_are_sqlites_in_this_zone_and_in_zones_with_dst";

    /// Compares [`day_of`] with SQLite's over 2024-2031 every few hours, at each day's
    /// first and last millisecond, and around 1970 and 2037; how many instants.
    fn compare_days() -> usize {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut compared = 0;
        let mut check = |at: i64| {
            let ours = day_of(at).unwrap();
            assert_eq!(ours, queries::day_of(&conn, at).unwrap(), "at {at} ms");
            compared += 1;
            ours
        };
        let mut at = 1_704_067_200_000; // 2024-01-01 UTC
        while at < 1_956_528_000_000 {
            // 2032
            let day = check(at);
            for edge in [
                day.start - 1,
                day.start,
                day.start + 1,
                day.end - 1000,
                day.end - 1,
            ] {
                check(edge);
            }
            at += 3 * 3_600_000 + 7 * 60_000 + 13_001;
        }
        // Around 1970 and 2038, where SQLite reads the zone's rules of another year.
        for at in [
            -86_400_001,
            -1,
            0,
            1,
            999,
            86_399_999,
            86_400_000,
            2_114_380_800_000,
            2_147_385_599_999,
            2_147_385_600_000,
            2_147_472_000_000,
        ] {
            let day = check(at);
            check(day.start - 1);
            check(day.end);
        }
        compared
    }

    /// Offsets from UTC (s) this process's zone has over 2026.
    fn offsets_in_2026() -> Vec<i32> {
        use chrono::Offset;
        let mut seen = Vec::new();
        for month in 0..12 {
            let at = DateTime::from_timestamp(1_767_225_600 + month * 30 * 86_400, 0).unwrap();
            let off = at.with_timezone(&Local).offset().fix().local_minus_utc();
            if !seen.contains(&off) {
                seen.push(off);
            }
        }
        seen
    }

    // `TZ` is read at start by SQLite's localtime_r and by chrono, and setting it in a
    // test would race every other test's threads; so each zone gets a run of this test
    // binary of its own, started with `TZ` set, which runs only this test.
    #[test]
    fn days_are_sqlites_in_this_zone_and_in_zones_with_dst() {
        if let Ok(zone) = std::env::var(CHILD_ZONE) {
            assert_eq!(std::env::var("TZ").as_deref(), Ok(zone.as_str()));
            assert_eq!(offsets_in_2026().len(), 2, "{zone} has DST in 2026");
            assert!(compare_days() > 10_000);
            return;
        }
        assert!(compare_days() > 10_000);
        // New York: DST at 02:00; Havana: at midnight (it does not exist on the day DST
        // starts); Santiago: at 24:00; Lord Howe: half an hour; Kolkata: none, +05:30.
        for zone in [
            "America/New_York",
            "America/Havana",
            "America/Santiago",
            "Australia/Lord_Howe",
        ] {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", DAY_TEST, "--test-threads=1", "--nocapture"])
                .env("TZ", zone)
                .env(CHILD_ZONE, zone)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "in {zone}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn local_day_is_today() {
        let now = chit_protocol::now_ms();
        let today = local_day().unwrap();
        assert!(today.contains(now) || today.end <= now, "{today:?}");
        assert_eq!(today.date, Local::now().format("%Y-%m-%d").to_string());
    }

    /// id, restaurant, status, total, created_at, ready_at, fired_at, items.
    type OrderRow = (
        i64,
        &'static str,
        &'static str,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        String,
    );

    /// The same orders on SQLite (in memory) and on PostgreSQL.
    fn orders_in_both() -> (rusqlite::Connection, TestDb) {
        let mut lite = rusqlite::Connection::open_in_memory().unwrap();
        crate::store::migrate::migrate(&mut lite).unwrap();
        let db = TestDb::create();
        let done = |station: &str, at: &str| {
            format!(
                r#"{{"name":"x","qty":1,"unit_price":100,"station":"{station}","state":"done","started_at":"{at}","done_at":"{at}"}}"#
            )
        };
        let queued = r#"{"name":"y","qty":2,"unit_price":50,"note":"\"DONE_AT\": later"}"#;
        let rows: Vec<OrderRow> = vec![
            (
                1,
                "r1",
                "pending",
                1200,
                10_000,
                None,
                None,
                format!("[{queued}]"),
            ),
            (
                2,
                "r1",
                "ready",
                900,
                20_000,
                Some(80_000),
                None,
                format!("[{}]", done("wok", "1970-01-01T00:01:00Z")),
            ),
            (
                3,
                "r1",
                "delivered",
                1500,
                30_000,
                Some(150_000),
                Some(60_000),
                format!(
                    "[{},{},{queued}]",
                    done("grill", "1970-01-01T00:02:00Z"),
                    done("wok", "1970-01-01T00:02:30Z")
                ),
            ),
            (
                4,
                "r1",
                "cancelled",
                700,
                40_000,
                None,
                None,
                format!("[{}]", done("fry", "1970-01-01T00:03:00Z")),
            ),
            (
                5,
                "r1",
                "preparing",
                300,
                5_000,
                Some(9_000),
                None,
                "[]".into(),
            ), // before since
            (
                6,
                "r2",
                "rejected",
                400,
                50_000,
                None,
                None,
                format!("[{queued}]"),
            ),
            (
                7,
                "r2",
                "picked_up",
                800,
                60_000,
                Some(400_000),
                None,
                format!("[{}]", done("grill", "1970-01-01T00:05:00Z")),
            ),
            (8, "r2", "confirmed", 200, 70_000, None, None, "[]".into()),
        ];
        for (id, r, status, total, created, ready, fired, items) in rows {
            let opt = |v: Option<i64>| v.map_or("NULL".to_string(), |v| v.to_string());
            let sql = format!(
                "INSERT INTO orders (id, number, restaurant, customer_id, customer_name,
                     customer_phone, fulfilment, status, total, created_at, updated_at,
                     ready_at, fired_at, items)
                 VALUES ({id}, {id}, '{r}', 'c', 'Ann', '555', 'delivery', '{status}', {total},
                     {created}, {created}, {}, {}, '{}')",
                opt(ready),
                opt(fired),
                items.replace('\'', "''")
            );
            lite.execute_batch(&sql).unwrap();
            db.connect().batch_execute(&sql).unwrap();
        }
        (lite, db)
    }

    #[test]
    fn the_days_tally_and_figures_are_sqlites() {
        let (lite, db) = orders_in_both();
        let mut pg = db.connect();
        for restaurant in [Some("r1"), Some("r2"), Some("r9"), None] {
            for since in [0, 10_000, 45_000] {
                let ours = tally(&mut pg, restaurant, since).unwrap();
                assert_eq!(ours, queries::tally(&lite, restaurant, since).unwrap());
                assert_eq!(
                    analytics(&mut pg, restaurant, since).unwrap(),
                    queries::analytics(&lite, restaurant, since).unwrap()
                );
            }
        }
        let r1 = tally(&mut pg, Some("r1"), 10_000).unwrap();
        assert_eq!(
            (r1.orders, r1.revenue, r1.pending, r1.open),
            (4, 3600, 1, 2)
        );
        assert_eq!((r1.ready, r1.ready_ms), (2, 60_000 + 120_000));
    }

    /// Samples with each restaurant's stations in name order (the order they were
    /// first seen in depends on the order rows are read in, which neither fixes).
    fn sorted(mut all: HashMap<String, Samples>) -> Vec<(String, Samples)> {
        for samples in all.values_mut() {
            samples.stations.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let mut all: Vec<_> = all.into_iter().collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    #[test]
    fn the_days_speed_samples_are_sqlites() {
        let (lite, db) = orders_in_both();
        let mut pg = db.connect();
        for restaurant in [Some("r1"), Some("r2"), Some("r9"), None] {
            for since in [0, 10_000, 45_000] {
                let ours = sorted(speed_samples(&mut pg, restaurant, since).unwrap());
                let theirs = sorted(kitchen_sql::speed_samples(&lite, restaurant, since).unwrap());
                assert_eq!(ours, theirs, "{restaurant:?} from {since}");
            }
        }
        let all = speed_samples(&mut pg, None, 0).unwrap();
        // r1: order 2's wok item (40 s) and order 3's grill (60 s from firing) and wok
        // (90 s), the cancelled order's fry item (140 s); orders 2, 3 and 5 got ready.
        let r1 = &all["r1"];
        assert_eq!(r1.items.len(), 4);
        assert_eq!(r1.orders.len(), 3);
        assert_eq!(r1.stations.len(), 3);
        assert_eq!(all["r2"].items.len(), 1);
    }
}
