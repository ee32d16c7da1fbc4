//! Times as people type them on the command line (`--due`, `--until`): a clock time
//! `HH:MM` in local time (the next one: today, or tomorrow once it has passed), a local
//! `YYYY-MM-DD HH:MM`, or RFC 3339. Sent on the wire as RFC 3339 UTC.

use chrono::{DateTime, Local, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

/// `text` as Unix milliseconds, reading clock times against `now` (local).
pub fn parse_at(text: &str, now: DateTime<Local>) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let bad = || {
        format!(
            "'{text}' is not a time: give HH:MM (local, the next one), YYYY-MM-DD HH:MM (local) or RFC 3339"
        )
    };
    if let Ok(clock) = NaiveTime::parse_from_str(text, "%H:%M") {
        let today = now.date_naive().and_time(clock);
        let at = local(today).ok_or_else(bad)?;
        if at > now {
            return Ok(at.timestamp_millis());
        }
        let tomorrow = today + chrono::Duration::days(1);
        return local(tomorrow)
            .map(|t| t.timestamp_millis())
            .ok_or_else(bad);
    }
    let whole = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(bad)?;
    local(whole).map(|t| t.timestamp_millis()).ok_or_else(bad)
}

/// [`parse_at`] now, as RFC 3339 UTC for the wire.
pub fn parse(text: &str) -> Result<String, String> {
    parse_at(text, Local::now()).map(chit_protocol::format_time)
}

/// A local time; the earlier of two when clocks go back, none in a gap when they go
/// forward.
fn local(t: NaiveDateTime) -> Option<DateTime<Local>> {
    match Local.from_local_datetime(&t) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_clock_times_dates_and_rfc_3339() {
        let now = local(
            NaiveDate::from_ymd_opt(2026, 11, 22)
                .unwrap()
                .and_hms_opt(18, 0, 0)
                .unwrap(),
        )
        .unwrap();
        let at = |h, m, day| {
            local(
                NaiveDate::from_ymd_opt(2026, 11, day)
                    .unwrap()
                    .and_hms_opt(h, m, 0)
                    .unwrap(),
            )
            .unwrap()
            .timestamp_millis()
        };
        assert_eq!(parse_at("19:30", now), Ok(at(19, 30, 22)), "later today");
        assert_eq!(
            parse_at("07:15", now),
            Ok(at(7, 15, 23)),
            "tomorrow morning"
        );
        assert_eq!(parse_at("2026-11-24 12:00", now), Ok(at(12, 0, 24)));
        assert_eq!(parse_at("2026-11-24", now), Ok(at(0, 0, 24)));
        assert_eq!(
            parse_at("2026-11-22T12:30:00Z", now).ok(),
            chit_protocol::parse_time("2026-11-22T12:30:00.000Z")
        );
        assert_eq!(
            parse_at("2026-11-22T19:30:00+07:00", now),
            parse_at("2026-11-22T12:30:00Z", now)
        );
        for bad in ["soon", "25:00", "7pm", "2026-13-01 10:00"] {
            assert!(
                parse_at(bad, now).unwrap_err().contains("is not a time"),
                "{bad}"
            );
        }
    }
}
