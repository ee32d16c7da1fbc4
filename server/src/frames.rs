//! Frames the server sends, serialized once: an event frame is built when its event is
//! committed (or replayed) and the same bytes go to every subscriber.

use chit_protocol::{ErrorCode, ServerFrame, ServerMsg, format_time};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// An event ready for fan-out: its room, its seq (none for live-only events) and the
/// frame's text.
#[derive(Debug, Clone)]
pub struct Published {
    pub room: Box<str>,
    pub seq: Option<u64>,
    pub frame: Utf8Bytes,
}

/// The text of an `event` frame whose `data` is already JSON. Room names and kinds are
/// identifiers and `at` is a timestamp, so only `data` could need care: it is checked
/// (and replaced by `null` if it is not JSON) only where it comes from storage, see
/// [`stored_event_frame`].
pub fn event_frame(room: &str, seq: Option<u64>, kind: &str, at_ms: i64, data: &str) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(data.len() + room.len() + 112);
    text.push_str(r#"{"type":"event","room":"#);
    text.push_str(&serde_json::to_string(room).expect("serializable"));
    if let Some(seq) = seq {
        let _ = write!(text, r#","seq":{seq}"#);
    }
    let _ = write!(
        text,
        r#","kind":"{kind}","at":"{}","data":{data}}}"#,
        format_time(at_ms)
    );
    text
}

/// How every event frame begins (see [`event_frame`]).
const EVENT_PREFIX: &str = r#"{"type":"event","#;

/// The event of an event frame as HTTP sends it (`{room, seq, kind, at, data}`: the
/// frame without its `type`), and its kind. `None` for a frame that is not an event.
pub fn event_json(frame: &str) -> Option<(String, &str)> {
    let rest = frame.strip_prefix(EVENT_PREFIX)?;
    // Room names are identifiers (no quotes), so the first `"kind":"` is the kind's.
    let kind_at = rest.find(r#","kind":""#)? + r#","kind":""#.len();
    let kind = &rest[kind_at..kind_at + rest[kind_at..].find('"')?];
    let mut json = String::with_capacity(rest.len() + 1);
    json.push('{');
    json.push_str(rest);
    Some((json, kind))
}

/// [`event_frame`] for data read back from the database, which is checked first.
pub fn stored_event_frame(
    room: &str,
    seq: Option<u64>,
    kind: &str,
    at_ms: i64,
    data: &str,
) -> String {
    let valid = serde_json::from_str::<serde::de::IgnoredAny>(data).is_ok();
    event_frame(room, seq, kind, at_ms, if valid { data } else { "null" })
}

/// The text of a reply to request `id`.
pub fn reply(id: Option<&serde_json::Value>, msg: ServerMsg) -> Utf8Bytes {
    serde_json::to_string(&ServerFrame {
        id: id.cloned(),
        msg,
    })
    .expect("serializable")
    .into()
}

/// The text of an `order` reply to request `id` around the order's JSON made by the
/// change (for its event), the same text [`reply`] makes from the order.
pub fn order_reply(
    id: Option<&serde_json::Value>,
    order_json: &str,
    duplicate: Option<bool>,
) -> Utf8Bytes {
    let mut text = String::with_capacity(order_json.len() + 64);
    text.push('{');
    if let Some(id) = id {
        text.push_str(r#""id":"#);
        text.push_str(&serde_json::to_string(id).expect("serializable"));
        text.push(',');
    }
    text.push_str(r#""type":"order","order":"#);
    text.push_str(order_json);
    if let Some(duplicate) = duplicate {
        text.push_str(if duplicate {
            r#","duplicate":true"#
        } else {
            r#","duplicate":false"#
        });
    }
    text.push('}');
    text.into()
}

pub fn error(
    id: Option<&serde_json::Value>,
    code: ErrorCode,
    message: impl Into<String>,
) -> Utf8Bytes {
    reply(
        id,
        ServerMsg::Error {
            code,
            message: message.into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chit_protocol::{Event, EventKind};

    #[test]
    fn event_frames_parse_as_protocol_events() {
        let text = event_frame("restaurant:r1", Some(7), "new_order", 0, r#"{"id":1}"#);
        let frame: ServerFrame = serde_json::from_str(&text).unwrap();
        let ServerMsg::Event(Event {
            room,
            seq,
            kind,
            data,
            ..
        }) = frame.msg
        else {
            panic!("not an event: {text}");
        };
        assert_eq!(
            (room.as_str(), seq, kind),
            ("restaurant:r1", Some(7), EventKind::NewOrder)
        );
        assert_eq!(data["id"], 1);
        let live = event_frame("chat:x\"y", None, "typing", 0, r#"{"a":[1,"b"]}"#);
        let frame: ServerFrame = serde_json::from_str(&live).unwrap();
        assert!(matches!(
            frame.msg,
            ServerMsg::Event(Event { seq: None, .. })
        ));
    }

    #[test]
    fn an_order_reply_around_its_json_is_the_reply_made_from_the_order() {
        let text = r#"{"id":4,"number":2,"restaurant":"r1","customer":{"id":"c1","name":"Ana \"A\"","phone":"555","address":null},"items":[{"name":"Tea","qty":1,"unit_price":250}],"total":250,"note":"ring","fulfilment":"delivery","status":"ready","rider":"bo","created_at":"2026-11-22T14:00:00.000Z","updated_at":"2026-11-22T14:05:00.000Z"}"#;
        let order: chit_protocol::Order = serde_json::from_str(text).unwrap();
        let json = serde_json::to_string(&order).unwrap();
        let ids = [
            None,
            Some(serde_json::json!(7)),
            Some(serde_json::json!({"a": "b\"c"})),
        ];
        for id in &ids {
            for duplicate in [None, Some(false), Some(true)] {
                let msg = ServerMsg::Order {
                    order: order.clone(),
                    duplicate,
                };
                assert_eq!(
                    order_reply(id.as_ref(), &json, duplicate),
                    reply(id.as_ref(), msg)
                );
            }
        }
    }

    #[test]
    fn an_events_http_json_is_its_frame_without_the_type() {
        for (room, seq, kind) in [
            ("restaurant:r1", Some(7), "new_order"),
            ("chat:kind", None, "typing"),
            ("order:9", Some(12), "order_update"),
        ] {
            let data = r#"{"kind":"not this","a":[1,"b"]}"#;
            let frame = event_frame(room, seq, kind, 1_795_000_000_123, data);
            let (json, found) = event_json(&frame).unwrap();
            assert_eq!(found, kind);
            let mut expected: serde_json::Value = serde_json::from_str(&frame).unwrap();
            expected.as_object_mut().unwrap().remove("type");
            let json: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(json, expected);
            assert_eq!(json["data"]["kind"], "not this");
        }
        assert!(event_json(r#"{"type":"pong"}"#).is_none());
    }

    #[test]
    fn stored_data_that_is_not_json_becomes_null() {
        let text = stored_event_frame("restaurant:r1", Some(1), "new_order", 0, "{broken");
        let frame: ServerFrame = serde_json::from_str(&text).unwrap();
        let ServerMsg::Event(event) = frame.msg else {
            panic!("not an event: {text}");
        };
        assert!(event.data.is_null());
    }
}
