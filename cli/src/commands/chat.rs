//! `chit chat …`: send a message, read history, or join a room interactively.

mod editor;
mod join;
mod link;
mod screen;

use chit_protocol::ChatMessage;
use chit_protocol::chat::printable;
use clap::Subcommand;

use crate::connect::connect;
use crate::output::{clock, json};
use crate::{Global, Outcome};

#[derive(Subcommand)]
pub enum ChatCommand {
    /// Talk in a room: the last 20 messages, then live ones, who is typing, and
    /// what you type. Reads lines from standard input when it is not a terminal.
    Join {
        /// chat:NAME (staff rooms) or order:ID (one order's restaurant, rider and customer)
        room: String,
    },
    /// Send one message.
    Send { room: String, text: String },
    /// Print a room's messages, oldest first: the newest --limit of those before
    /// --before (a seq), so the first message's seq pages further back.
    History {
        room: String,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
        #[arg(long)]
        before: Option<u64>,
    },
}

pub async fn run(global: &Global, cmd: ChatCommand) -> Outcome {
    match cmd {
        ChatCommand::Join { room } => join::run(global, &room).await,
        ChatCommand::Send { room, text } => {
            let (client, _) = connect(global).await?;
            let message = client.chat_send(&room, &text).await?;
            if global.json {
                json(&message);
            } else {
                println!("{}", line(&message));
            }
            Ok(())
        }
        ChatCommand::History {
            room,
            limit,
            before,
        } => {
            let (client, _) = connect(global).await?;
            let messages = client.chat_history(&room, before, Some(limit)).await?;
            if global.json {
                json(&serde_json::json!({ "messages": messages }));
            } else {
                for m in &messages {
                    println!("{}", line(m));
                }
            }
            Ok(())
        }
    }
}

/// `08:12:03 bo: on my way`, with nothing in it a terminal would act on.
fn line(m: &ChatMessage) -> String {
    format!(
        "{} {}: {}",
        clock(&m.at),
        printable(&m.author),
        printable(&m.text)
    )
}
