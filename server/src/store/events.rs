//! Event building: an event's rows in the log (one seq per room, the data stored once)
//! and the frames published after the commit, and the data of order events made
//! around the order's JSON (made once per change, reused by the reply).

use super::tx::{Tx, TxResult};
use chit_protocol::{ChatMessage, EventKind, ItemState, Order, Room, Status};

use super::queries::LogRow;
use super::rules::Batch;
use crate::frames::{Published, event_frame, stored_event_frame};

/// An event the rules logged in this group, numbered and written only at the group's
/// end ([`write`]), as the last thing before its commit: so that on every backend the
/// log's seqs follow the order of commits (PostgreSQL takes a group's seqs from a
/// counter row that stays locked until the commit; a number taken earlier could commit
/// after a greater one, and a reader of `seq > last` would skip it).
pub(super) struct Pending {
    rooms: Vec<String>,
    kind: EventKind,
    data: Data,
    /// The order the event is of: its id, and the rooms sent its restaurant row's seq.
    order: Option<(i64, [String; 2])>,
}

pub(super) enum Data {
    Json(String),
    /// A chat message, stored and made JSON once its seq is known.
    Chat(ChatMessage),
}

/// Logs one event for `rooms` (one seq each, the data stored once), to be numbered and
/// written at the group's end. An order's event is stored for its rooms (the
/// restaurant's first) and sent to `order:ID` and `customer:ID` with the restaurant
/// row's seq: that row names the order, and replaying either room reads it.
pub(super) fn emit(
    batch: &mut Batch,
    rooms: &[Room],
    kind: EventKind,
    data: Data,
    order: Option<&Order>,
) {
    debug_assert!(
        order.is_none() || matches!(rooms.first(), Some(Room::Restaurant(_))),
        "an order's event is stored first for its restaurant"
    );
    let rooms: Vec<String> = rooms.iter().map(Room::to_string).collect();
    batch.seqs += rooms.len() as u64;
    batch.pending.push(Pending {
        rooms,
        kind,
        data,
        order: order.map(|o| {
            let derived = [
                Room::Order(o.id).to_string(),
                Room::Customer(o.customer.id.clone()).to_string(),
            ];
            (o.id, derived)
        }),
    });
}

/// Numbers the group's events from `first`, writes them (and its chat messages) and
/// queues their frames for publishing after the commit; the chat messages as stored,
/// in the order they were logged.
pub(super) fn write(tx: &dyn Tx, batch: &mut Batch, first: u64) -> TxResult<Vec<ChatMessage>> {
    let mut chats = Vec::new();
    let mut next = first;
    for pending in std::mem::take(&mut batch.pending) {
        let seq = next;
        next += pending.rooms.len() as u64;
        let data = match pending.data {
            Data::Json(data) => data,
            Data::Chat(mut message) => {
                message.seq = Some(seq);
                message.id = tx.insert_chat(&message, batch.now)?;
                let data = serde_json::to_string(&message).expect("serializable");
                chats.push(message);
                data
            }
        };
        let kind = pending.kind.as_str();
        let order_id = pending.order.as_ref().map(|(id, _)| *id);
        tx.insert_event(seq, &pending.rooms, kind, batch.now, &data, order_id)?;
        let mut frames: Vec<(u64, String)> = (seq..).zip(pending.rooms).collect();
        if let Some((_, derived)) = pending.order {
            // Beside the restaurant's row they are read from, in seq order.
            frames.splice(1..1, derived.map(|room| (seq, room)));
        }
        for (seq, room) in frames {
            let frame = event_frame(&room, Some(seq), kind, batch.now, &data);
            batch.events.push(Published {
                room: room.into(),
                seq: Some(seq),
                frame: frame.into(),
            });
        }
    }
    debug_assert_eq!(next - first, batch.seqs);
    Ok(chats)
}

/// The frames [`write`] published for the log's rows `rows` (read back with
/// `queries::log_after`), the same texts in the same order: each row's room, and beside
/// an order's restaurant row its `order:ID` and `customer:ID` with that row's seq. What
/// a node that follows the log delivers of events another node committed.
pub(crate) fn published(rows: Vec<LogRow>) -> Vec<Published> {
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let frame =
            |room: &str| stored_event_frame(room, Some(row.seq), &row.kind, row.at, &row.data);
        let derived = row.order.as_ref().map(|(id, customer)| {
            [
                Room::Order(*id).to_string(),
                Room::Customer(customer.clone()).to_string(),
            ]
        });
        events.push(Published {
            frame: frame(&row.room).into(),
            room: row.room.as_str().into(),
            seq: Some(row.seq),
        });
        for room in derived.into_iter().flatten() {
            events.push(Published {
                frame: frame(&room).into(),
                room: room.into(),
                seq: Some(row.seq),
            });
        }
    }
    events
}

/// The data of an order's event, as `OrderEvent` serializes it (the order's fields, then
/// the status it had and the reason, if any), around the order's JSON made once.
pub(super) fn order_event_data(
    order_json: &str,
    previous: Option<Status>,
    reason: Option<&str>,
) -> String {
    let fields = order_json
        .strip_suffix('}')
        .expect("an order serializes to a JSON object");
    let mut data = String::with_capacity(order_json.len() + 64);
    data.push_str(fields);
    if let Some(previous) = previous {
        data.push_str(r#","previous":"#);
        data.push_str(&serde_json::to_string(&previous).expect("serializable"));
    }
    if let Some(reason) = reason {
        data.push_str(r#","reason":"#);
        data.push_str(&serde_json::to_string(reason).expect("serializable"));
    }
    data.push('}');
    data
}

/// The data of `item_update`, as `ItemEvent` serializes it, around the order's JSON.
pub(super) fn item_event_data(order_json: &str, n: u32, previous: ItemState) -> String {
    let fields = order_event_data(order_json, None, None);
    let fields = fields.strip_suffix('}').expect("an object");
    format!(r#"{fields},"item":{n},"previous_state":"{previous}"}}"#)
}

#[cfg(test)]
mod tests {
    use chit_protocol::{Item, ItemEvent, OrderEvent};

    use super::*;

    #[test]
    fn an_order_event_made_around_the_order_json_is_what_serde_makes() {
        let text = r#"{"id":4,"number":2,"restaurant":"r1","customer":{"id":"c1","name":"Ana","phone":"555","address":"1 \"Road\""},"items":[{"name":"Tea","qty":1,"unit_price":250,"note":"hot"}],"total":250,"note":null,"fulfilment":"delivery","status":"ready","rider":null,"created_at":"2026-11-22T14:00:00.000Z","updated_at":"2026-11-22T14:05:00.000Z"}"#;
        let order: Order = serde_json::from_str(text).unwrap();
        let json = serde_json::to_string(&order).unwrap();
        let cases = [
            (None, None),
            (Some(Status::Preparing), None),
            (Some(Status::Pending), Some("out of \"tea\"\n")),
            (None, Some("")),
        ];
        for (previous, reason) in cases {
            let made = order_event_data(&json, previous, reason);
            let serde = serde_json::to_string(&OrderEvent {
                order: order.clone(),
                previous,
                reason: reason.map(str::to_string),
            })
            .unwrap();
            assert_eq!(made, serde);
        }
    }

    #[test]
    fn item_event_data_made_around_the_order_json_is_what_serde_makes() {
        let order = Order {
            id: 4,
            items: vec![Item {
                name: "Tea \"hot\"".into(),
                qty: 1,
                state: ItemState::Done,
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = serde_json::to_string(&order).unwrap();
        let made = item_event_data(&json, 1, ItemState::Started);
        let serde = serde_json::to_string(&ItemEvent {
            order,
            item: 1,
            previous_state: ItemState::Started,
        })
        .unwrap();
        assert_eq!(made, serde);
    }
}
