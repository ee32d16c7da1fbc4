//! chit's wire contract: the JSON messages exchanged over WebSocket, the order model
//! and its status machine, rooms and error codes. Connecting is `chit-client`'s; this
//! crate owns no I/O beyond reading the process's own figures.

pub mod chat;
pub mod error;
pub mod menu;
pub mod message;
pub mod money;
pub mod order;
pub mod process;
pub mod room;

pub use error::ErrorCode;
pub use menu::{Menu, MenuCategory, MenuChange, MenuItem, MenuUpdate, UnavailableItem, name_key};
pub use message::{
    Analytics, ChatMessage, ClientFrame, ClientMsg, Event, EventKind, ItemEvent, Member,
    OrderEvent, Role, ServerFrame, ServerMsg, ServerStats, Speed, StationTiming, Stats, Timing,
    WebhookStatus, Welcome,
};
pub use order::{
    Customer, Fulfilment, Item, ItemState, NewCustomer, NewItem, NewOrder, Order, Priority, Status,
};
pub use room::Room;

/// The protocol version a client announces in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame the server accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The server's default listen address and the client's default URL.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7787";
pub const DEFAULT_SERVER_URL: &str = "ws://127.0.0.1:7787";

/// Formats a Unix time in milliseconds as RFC 3339 UTC with millisecond precision.
pub fn format_time(unix_ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Parses an RFC 3339 UTC timestamp into Unix milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(text).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// The current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trips() {
        let ms = 1_795_000_000_123;
        let text = format_time(ms);
        assert_eq!(text, "2026-11-18T11:06:40.123Z");
        assert_eq!(parse_time(&text), Some(ms));
        assert_eq!(parse_time("yesterday"), None);
    }
}
