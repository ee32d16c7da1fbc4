//! One module per top-level command.

pub mod bench;
pub mod chat;
pub mod menu;
pub mod order;
pub mod stats;
pub mod watch;
