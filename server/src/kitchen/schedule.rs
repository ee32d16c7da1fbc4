//! When an order placed for later (`due_at`) goes into the kitchen: at its due time
//! less the longest prep of its items, so that everything is ready together. One due
//! more than 14 days ahead is refused; one whose fire time has passed fires at once.

use chit_protocol::Item;

use crate::error::Refusal;
use crate::kitchen::routing::DEFAULT_PREP_MINUTES;

/// How far ahead an order may be placed.
pub const MAX_AHEAD_MS: i64 = 14 * 24 * 3600 * 1000;

/// The fire time of an order due at `due_at` (Unix ms) with `items` (routed, so with
/// their prep minutes; an item without one counts [`DEFAULT_PREP_MINUTES`]).
pub fn fire_at(due_at: i64, items: &[Item]) -> i64 {
    let longest = items
        .iter()
        .map(|i| i.prep_minutes.unwrap_or(DEFAULT_PREP_MINUTES))
        .max()
        .unwrap_or(DEFAULT_PREP_MINUTES);
    due_at - i64::from(longest) * 60_000
}

/// Refuses a due time more than [`MAX_AHEAD_MS`] after `now`.
pub fn check_due(due_at: i64, now: i64) -> Result<(), Refusal> {
    if due_at - now > MAX_AHEAD_MS {
        return Err(Refusal::bad_request(format!(
            "due_at {} is more than 14 days ahead: place it nearer the day",
            chit_protocol::format_time(due_at)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(prep: Option<u32>) -> Item {
        Item {
            prep_minutes: prep,
            ..Default::default()
        }
    }

    #[test]
    fn fires_the_longest_prep_before_it_is_due() {
        let due = 1_800_000_000_000;
        assert_eq!(
            fire_at(due, &[item(Some(5)), item(Some(18))]),
            due - 18 * 60_000
        );
        assert_eq!(fire_at(due, &[item(None)]), due - 15 * 60_000, "no menu");
        assert_eq!(fire_at(due, &[item(Some(0))]), due);
    }

    #[test]
    fn fourteen_days_ahead_is_the_limit() {
        let now = 1_800_000_000_000;
        assert!(check_due(now + MAX_AHEAD_MS, now).is_ok());
        assert!(
            check_due(now - 3_600_000, now).is_ok(),
            "in the past: fires at once"
        );
        let e = check_due(now + MAX_AHEAD_MS + 1, now).unwrap_err();
        assert_eq!(e.code, chit_protocol::ErrorCode::BadRequest);
        assert!(
            e.message.contains("more than 14 days ahead"),
            "{}",
            e.message
        );
    }
}
