//! Frames the server sends, serialized once: an event frame is built when its event is
//! committed (or replayed) and the same bytes go to every subscriber.

use chit_protocol::{ErrorCode, ServerFrame, ServerMsg, format_time};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// An event ready for fan-out: its room, its seq (none for live-only events) and the
/// frame's text.
#[derive(Debug, Clone)]
pub struct Published {
    pub room: Box<str>,
    pub seq: Option<u64>,
    pub frame: Utf8Bytes,
}

#[derive(Serialize)]
struct EventFrame<'a> {
    #[serde(rename = "type")]
    kind_of_frame: &'static str,
    room: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    kind: &'a str,
    at: String,
    data: &'a RawValue,
}

/// The text of an `event` frame whose `data` is already JSON.
pub fn event_frame(room: &str, seq: Option<u64>, kind: &str, at_ms: i64, data: &str) -> String {
    let data: &RawValue = serde_json::from_str(data)
        .unwrap_or_else(|_| serde_json::from_str("null").expect("null is JSON"));
    serde_json::to_string(&EventFrame {
        kind_of_frame: "event",
        room,
        seq,
        kind,
        at: format_time(at_ms),
        data,
    })
    .expect("serializable")
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
    }
}
