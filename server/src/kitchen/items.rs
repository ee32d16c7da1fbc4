//! Item bumps and what they do to their order. An item moves forward (a step, or
//! straight to done) or, recalled, exactly one step back; starting the first item of a
//! pending or confirmed order makes the order preparing (a cook at a station has taken
//! it on). Nothing else moves the order by itself: every item done leaves it for the
//! expo to bump to ready, and an order with stations becomes ready only when every item
//! is done, or by the expo's confirmed force.

use chit_protocol::{ErrorCode, ItemState, Order, Status};

use crate::error::Refusal;

/// What a bump changed: the item's state before, and the order's status before if the
/// bump moved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bumped {
    pub previous: ItemState,
    pub status_before: Option<Status>,
}

/// Moves item `n` (counting from 1) of `order` to `to` at time `at` (RFC 3339), or says
/// why not; on refusal `order` is unchanged.
pub fn bump(
    order: &mut Order,
    n: u32,
    to: ItemState,
    recall: bool,
    at: &str,
) -> Result<Bumped, Refusal> {
    if n == 0 {
        return Err(Refusal::bad_request(
            "items are numbered from 1, as the ticket prints them",
        ));
    }
    let count = order.items.len();
    let Some(item) = order.items.get_mut(n as usize - 1) else {
        return Err(Refusal::not_found(format!(
            "order {} has {count} item{}: there is no item {n}",
            order.id,
            if count == 1 { "" } else { "s" }
        )));
    };
    if !matches!(
        order.status,
        Status::Pending | Status::Confirmed | Status::Preparing | Status::Ready
    ) {
        return Err(Refusal::new(
            ErrorCode::InvalidTransition,
            format!(
                "order {} is {}: its items no longer change",
                order.id, order.status
            ),
        ));
    }
    let previous = item.state;
    if !previous.can_become(to, recall) {
        let why = if recall {
            " (a recall goes back exactly one step)"
        } else if to == previous {
            ""
        } else {
            " (going back is a recall)"
        };
        let state = if to == previous {
            format!("already {to}")
        } else {
            format!("{previous}: it cannot become {to}{why}")
        };
        return Err(Refusal::new(
            ErrorCode::InvalidTransition,
            format!("item {n} of order {} ({}) is {state}", order.id, item.name),
        ));
    }
    item.state = to;
    match to {
        ItemState::Queued => item.started_at = None,
        ItemState::Started => {
            item.done_at = None;
            if !recall {
                item.started_at = Some(at.to_string());
            }
        }
        ItemState::Done => {
            item.started_at.get_or_insert_with(|| at.to_string());
            item.done_at = Some(at.to_string());
        }
    }
    let status_before = (!recall
        && to != ItemState::Queued
        && matches!(order.status, Status::Pending | Status::Confirmed))
    .then(|| std::mem::replace(&mut order.status, Status::Preparing));
    Ok(Bumped {
        previous,
        status_before,
    })
}

/// Refuses to make `order` ready while an item at a station is not done, unless the
/// expo forces it. Orders without stations (no menu) are bumped whole, as before.
pub fn check_ready(order: &Order, force: bool) -> Result<(), Refusal> {
    if force || !order.has_stations() || order.all_done() {
        return Ok(());
    }
    let progress: Vec<String> = order
        .stations()
        .into_iter()
        .filter_map(|s| {
            let (done, of) = order.progress_at(s);
            (done < of).then(|| format!("{s} {done}/{of}"))
        })
        .collect();
    Err(Refusal::new(
        ErrorCode::InvalidTransition,
        format!(
            "order {} has items not done ({}): bump them at their stations, or force it ready from the expo",
            order.id,
            progress.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ItemState::*;
    use chit_protocol::Item;

    fn order(status: Status, states: &[ItemState]) -> Order {
        Order {
            id: 17,
            status,
            items: states
                .iter()
                .enumerate()
                .map(|(i, s)| Item {
                    name: ["Pad Thai", "Gai yang", "Iced tea"][i % 3].into(),
                    qty: 1,
                    station: Some(["wok", "grill", "bar"][i % 3].into()),
                    state: *s,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    const AT: &str = "2026-11-22T12:00:00.000Z";
    const LATER: &str = "2026-11-22T12:09:00.000Z";

    #[test]
    fn a_bump_table() {
        // (order status, item states, item, to, recall) -> the order's status after, or
        // the refusal's code and words.
        type Case = (
            Status,
            &'static [ItemState],
            u32,
            ItemState,
            bool,
            Result<Status, (ErrorCode, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            (
                Status::Pending,
                &[Queued, Queued],
                1,
                Started,
                false,
                Ok(Status::Preparing),
            ),
            (
                Status::Confirmed,
                &[Queued],
                1,
                Done,
                false,
                Ok(Status::Preparing),
            ),
            (
                Status::Preparing,
                &[Started, Queued],
                1,
                Done,
                false,
                Ok(Status::Preparing),
            ),
            (
                Status::Ready,
                &[Done, Started],
                2,
                Done,
                false,
                Ok(Status::Ready),
            ),
            (
                Status::Preparing,
                &[Done],
                1,
                Started,
                true,
                Ok(Status::Preparing),
            ),
            (
                Status::Confirmed,
                &[Started],
                1,
                Queued,
                true,
                Ok(Status::Confirmed),
            ),
            (
                Status::Preparing,
                &[Done],
                1,
                Queued,
                true,
                Err((
                    ErrorCode::InvalidTransition,
                    "is done: it cannot become queued (a recall goes back exactly one step)",
                )),
            ),
            (
                Status::Preparing,
                &[Done],
                1,
                Started,
                false,
                Err((ErrorCode::InvalidTransition, "(going back is a recall)")),
            ),
            (
                Status::Preparing,
                &[Started],
                1,
                Started,
                false,
                Err((
                    ErrorCode::InvalidTransition,
                    "item 1 of order 17 (Pad Thai) is already started",
                )),
            ),
            (
                Status::Preparing,
                &[Queued],
                1,
                Queued,
                true,
                Err((ErrorCode::InvalidTransition, "is already queued")),
            ),
            (
                Status::Preparing,
                &[Queued, Queued],
                3,
                Started,
                false,
                Err((
                    ErrorCode::NotFound,
                    "order 17 has 2 items: there is no item 3",
                )),
            ),
            (
                Status::Preparing,
                &[Queued],
                0,
                Started,
                false,
                Err((ErrorCode::BadRequest, "numbered from 1")),
            ),
            (
                Status::Delivered,
                &[Done],
                1,
                Started,
                true,
                Err((
                    ErrorCode::InvalidTransition,
                    "order 17 is delivered: its items no longer change",
                )),
            ),
            (
                Status::Cancelled,
                &[Queued],
                1,
                Started,
                false,
                Err((ErrorCode::InvalidTransition, "is cancelled")),
            ),
        ];
        for (status, states, n, to, recall, expected) in cases {
            let mut o = order(status, states);
            let before = o.clone();
            let got = bump(&mut o, n, to, recall, AT);
            match (got, expected) {
                (Ok(b), Ok(after)) => {
                    assert_eq!(o.status, after, "{status} {states:?} #{n} -> {to}");
                    assert_eq!(o.items[n as usize - 1].state, to);
                    assert_eq!(b.previous, states[n as usize - 1]);
                    assert_eq!(b.status_before, (after != status).then_some(status));
                }
                (Err(r), Err((code, words))) => {
                    assert_eq!(r.code, code, "{}", r.message);
                    assert!(r.message.contains(words), "{} !~ {words}", r.message);
                    assert_eq!(o, before, "a refused bump changes nothing");
                }
                (got, expected) => {
                    panic!("{status} {states:?} #{n} -> {to}: {got:?}, expected {expected:?}")
                }
            }
        }
    }

    #[test]
    fn an_item_keeps_when_it_was_started_and_done() {
        let mut o = order(Status::Confirmed, &[Queued]);
        bump(&mut o, 1, Started, false, AT).unwrap();
        assert_eq!(o.items[0].started_at.as_deref(), Some(AT));
        bump(&mut o, 1, Done, false, LATER).unwrap();
        assert_eq!(o.items[0].started_at.as_deref(), Some(AT));
        assert_eq!(o.items[0].done_at.as_deref(), Some(LATER));
        // A recall to started forgets that it was done, not that it was started.
        bump(&mut o, 1, Started, true, LATER).unwrap();
        assert_eq!(
            (
                o.items[0].started_at.as_deref(),
                o.items[0].done_at.as_deref()
            ),
            (Some(AT), None)
        );
        bump(&mut o, 1, Queued, true, LATER).unwrap();
        assert_eq!(o.items[0].started_at, None);
        // Straight to done: started then too.
        let mut o = order(Status::Preparing, &[Queued]);
        bump(&mut o, 1, Done, false, LATER).unwrap();
        assert_eq!(o.items[0].started_at.as_deref(), Some(LATER));
    }

    #[test]
    fn ready_waits_for_every_station_unless_forced() {
        let o = order(Status::Preparing, &[Done, Started, Queued]);
        let e = check_ready(&o, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidTransition);
        assert!(e.message.contains("(grill 0/1, bar 0/1)"), "{}", e.message);
        assert!(check_ready(&o, true).is_ok());
        assert!(check_ready(&order(Status::Preparing, &[Done, Done]), false).is_ok());
        // Without stations (no menu), the ticket is bumped whole, as before.
        let mut plain = order(Status::Preparing, &[Queued]);
        plain.items[0].station = None;
        assert!(check_ready(&plain, false).is_ok());
    }
}
