//! `chit chat …`: send a message, read history, or join a room interactively.

use clap::Subcommand;

use crate::connect::connect;
use crate::output::{clock, json};
use crate::{Global, Outcome};

#[derive(Subcommand)]
pub enum ChatCommand {
    /// Send one message.
    Send { room: String, text: String },
    /// Print a room's recent messages, oldest first.
    History {
        room: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

pub async fn run(global: &Global, cmd: ChatCommand) -> Outcome {
    match cmd {
        ChatCommand::Send { room, text } => {
            let (client, _) = connect(global).await?;
            let message = client.chat_send(&room, &text).await?;
            if global.json {
                json(&message);
            }
            Ok(())
        }
        ChatCommand::History { room, limit } => {
            let (client, _) = connect(global).await?;
            let messages = client.chat_history(&room, None, Some(limit)).await?;
            if global.json {
                json(&serde_json::json!({ "messages": messages }));
            } else {
                for m in &messages {
                    println!("{} {}: {}", clock(&m.at), m.author, m.text);
                }
            }
            Ok(())
        }
    }
}
