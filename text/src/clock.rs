//! Times as people at the counter read them: in the machine's local time zone (the
//! wire carries UTC, RFC 3339).

use chrono::TimeZone;

fn local(unix_ms: i64) -> Option<chrono::DateTime<chrono::Local>> {
    match chrono::Local.timestamp_millis_opt(unix_ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => Some(t),
        chrono::LocalResult::None => None,
    }
}

/// `HH:MM:SS` in local time.
pub fn local_clock(unix_ms: i64) -> String {
    local(unix_ms).map_or_else(|| "--:--:--".into(), |t| t.format("%H:%M:%S").to_string())
}

/// `HH:MM` in local time: when an order is due, or an 86 ends.
pub fn local_hm(unix_ms: i64) -> String {
    local(unix_ms).map_or_else(|| "--:--".into(), |t| t.format("%H:%M").to_string())
}

/// [`local_clock`] of an RFC 3339 time from the wire (`--:--:--` if unreadable).
pub fn local_clock_of(rfc3339: &str) -> String {
    parse(rfc3339).map_or_else(|| "--:--:--".into(), local_clock)
}

/// `2026-11-22 15:12:03 +07:00`: a whole local time, with its offset from UTC so that
/// it is never ambiguous. The RFC 3339 text itself if it cannot be read.
pub fn local_date_time(rfc3339: &str) -> String {
    parse(rfc3339).and_then(local).map_or_else(
        || rfc3339.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
    )
}

fn parse(rfc3339: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_times_are_shown_in_local_time() {
        let at = "2026-11-22T08:12:03.123Z";
        let ms = parse(at).unwrap();
        let offset = local(ms).unwrap().offset().local_minus_utc() as i64;
        let shifted = chrono::DateTime::from_timestamp_millis(ms + offset * 1000).unwrap();
        assert_eq!(local_clock_of(at), shifted.format("%H:%M:%S").to_string());
        assert_eq!(
            &local_date_time(at)[..19],
            shifted.format("%Y-%m-%d %H:%M:%S").to_string()
        );
        assert_eq!(local_clock_of("soon"), "--:--:--");
        assert_eq!(local_date_time("soon"), "soon");
    }
}
