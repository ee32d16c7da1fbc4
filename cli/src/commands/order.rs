//! `chit order …`: place (one, or many from JSON Lines), change status, cancel, show,
//! list, follow and assign orders.

use std::io::BufRead;

use chit_client::Client;
use chit_protocol::{
    ClientMsg, EventKind, Fulfilment, ItemState, NewCustomer, NewItem, NewOrder, Priority,
    ServerMsg, Status,
};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::connect::connect;
use crate::output::{self, json};
use crate::{Failure, Global, Outcome, when};

#[derive(Subcommand)]
pub enum OrderCommand {
    /// Place an order from flags, or many from a JSON Lines file (--file PATH or -).
    Place(PlaceArgs),
    /// Move an order to a new status: chit order status 17 preparing
    Status {
        order_id: i64,
        #[arg(value_parser = statuses())]
        status: Status,
        /// Why (shown to the kitchen and the customer).
        #[arg(long)]
        reason: Option<String>,
        /// With `ready`: ready although items at the stations are not done (the expo's
        /// override).
        #[arg(long)]
        force: bool,
    },
    /// Move one item of an order at its station: chit order item 17 2 started
    Item {
        order_id: i64,
        /// The item's number on the ticket, from 1 (chit order show lists them).
        item: u32,
        #[arg(value_parser = chit_config::one_of::<ItemState>(ItemState::ALL.map(ItemState::as_str)))]
        state: ItemState,
        /// Take a bump back: exactly one step (done -> started -> queued).
        #[arg(long)]
        recall: bool,
    },
    /// Cancel an order.
    Cancel {
        order_id: i64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Show one order.
    Show { order_id: i64 },
    /// List orders, oldest first.
    List {
        #[arg(long)]
        restaurant: Option<String>,
        /// Statuses, comma separated: pending,preparing
        #[arg(long, value_delimiter = ',', value_parser = statuses())]
        status: Vec<Status>,
        /// Orders a page holds (at most 1000): the newest ones, shown oldest first.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Start from this cursor: the page of older orders that a listing pointed to.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Follow an order until it is delivered, cancelled or rejected: its status
    /// changes, its items bumped at their stations, a held order's fire.
    Watch { order_id: i64 },
    /// Hand an order to a rider (admin).
    Assign { order_id: i64, rider: String },
}

#[derive(Args)]
pub struct PlaceArgs {
    /// JSON Lines file of orders, one per line; '-' reads stdin.
    #[arg(long, conflicts_with_all = ["restaurant", "name", "phone", "address", "item", "note", "pickup", "key", "due", "priority", "source"])]
    file: Option<String>,
    #[arg(long, required_unless_present = "file")]
    restaurant: Option<String>,
    /// Customer name.
    #[arg(long, required_unless_present = "file")]
    name: Option<String>,
    #[arg(long, required_unless_present = "file")]
    phone: Option<String>,
    /// Delivery address (needed unless --pickup).
    #[arg(long)]
    address: Option<String>,
    /// "[QTY x ]NAME @ PRICE [CATEGORY]", e.g. "2 x Pad Thai @ 120.00" or, naming its
    /// menu category, "2 x Pad Thai @ 120.00 [noodles]"; repeat for more items.
    #[arg(long, value_parser = NewItem::parse, required_unless_present = "file")]
    item: Vec<NewItem>,
    #[arg(long)]
    note: Option<String>,
    /// The customer collects the order (no delivery).
    #[arg(long)]
    pickup: bool,
    /// Idempotency key: placing again with the same key returns the first order.
    #[arg(long)]
    key: Option<String>,
    /// When the customer expects it: HH:MM (local, the next one), YYYY-MM-DD HH:MM
    /// (local) or RFC 3339. The kitchen gets it its longest prep before.
    #[arg(long, value_parser = when::parse)]
    due: Option<String>,
    /// Rush tickets sort first on the displays and carry a mark.
    #[arg(long, default_value = "normal", value_parser = chit_config::one_of::<Priority>(["normal", "rush"]))]
    priority: Priority,
    /// Where the order comes from: web, pos, phone, uber…
    #[arg(long)]
    source: Option<String>,
}

/// Every status, for `--help` and completions.
fn statuses() -> impl clap::builder::TypedValueParser<Value = Status> {
    chit_config::one_of(Status::ALL.map(Status::as_str))
}

pub async fn run(global: &Global, cmd: OrderCommand) -> Outcome {
    match cmd {
        OrderCommand::Place(args) => place(global, args).await,
        OrderCommand::Status {
            order_id,
            status,
            reason,
            force,
        } => set_status(global, order_id, status, reason, force).await,
        OrderCommand::Cancel { order_id, reason } => {
            set_status(global, order_id, Status::Cancelled, reason, false).await
        }
        OrderCommand::Item {
            order_id,
            item,
            state,
            recall,
        } => {
            let (client, _) = connect(global).await?;
            let msg = ClientMsg::UpdateItem {
                order_id,
                item,
                state,
                recall,
            };
            let ServerMsg::Order { order, .. } = client.request(msg).await? else {
                return Err(Failure::refused("the server answered with something else"));
            };
            print_order(global, &order, &output::item_change(&order, item));
            Ok(())
        }
        OrderCommand::Show { order_id } => {
            let (client, _) = connect(global).await?;
            let order = client.get_order(order_id).await?;
            if global.json {
                json(&json!({ "order": order }));
            } else {
                println!("{}", output::order_details(&order));
            }
            Ok(())
        }
        OrderCommand::List {
            restaurant,
            status,
            limit,
            cursor,
        } => {
            let (client, _) = connect(global).await?;
            let status = (!status.is_empty()).then_some(status);
            let (orders, head, next_cursor) = client
                .list_orders_page(restaurant, status, Some(limit), cursor)
                .await?;
            if global.json {
                json(&json!({ "orders": orders, "head": head, "next_cursor": next_cursor }));
            } else if orders.is_empty() {
                println!("no orders");
            } else {
                for order in &orders {
                    println!("{}", output::order_line(order));
                }
            }
            // Said on stderr, so that the listing itself stays what a script reads.
            if let Some(next) = &next_cursor {
                eprintln!(
                    "chit: more orders remain, older than these {}: add --cursor {next} for the next page",
                    orders.len()
                );
            }
            Ok(())
        }
        OrderCommand::Watch { order_id } => watch(global, order_id).await,
        OrderCommand::Assign { order_id, rider } => {
            let (client, _) = connect(global).await?;
            let order = client.assign_order(order_id, &rider).await?;
            print_order(
                global,
                &order,
                &format!("order {order_id} assigned to {rider}"),
            );
            Ok(())
        }
    }
}

fn print_order(global: &Global, order: &chit_protocol::Order, human: &str) {
    if global.json {
        json(&json!({ "order": order }));
    } else {
        println!("{human}");
    }
}

async fn set_status(
    global: &Global,
    order_id: i64,
    status: Status,
    reason: Option<String>,
    force: bool,
) -> Outcome {
    let (client, _) = connect(global).await?;
    let msg = ClientMsg::UpdateStatus {
        order_id,
        status,
        reason,
        recall: false,
        force,
    };
    let ServerMsg::Order { order, .. } = client.request(msg).await? else {
        return Err(Failure::refused("the server answered with something else"));
    };
    print_order(global, &order, &output::status_change(&order, None));
    Ok(())
}

async fn place(global: &Global, args: PlaceArgs) -> Outcome {
    if let Some(file) = args.file {
        return place_many(global, &file).await;
    }
    let order = NewOrder {
        restaurant: args.restaurant.unwrap_or_default(),
        customer: NewCustomer {
            id: None,
            name: args.name.unwrap_or_default(),
            phone: args.phone.unwrap_or_default(),
            address: args.address,
        },
        items: args.item,
        note: args.note,
        fulfilment: if args.pickup {
            Fulfilment::Pickup
        } else {
            Fulfilment::Delivery
        },
        source: args.source,
        priority: args.priority,
        due_at: args.due,
    };
    let (client, _) = connect(global).await?;
    let (order, duplicate) = client.place_order(order, args.key).await?;
    if global.json {
        json(&json!({ "order": order, "duplicate": duplicate }));
    } else {
        let again = if duplicate {
            " (already placed with this key)"
        } else {
            ""
        };
        println!("{}{again}", output::order_details(&order));
    }
    Ok(())
}

/// A JSON Lines order: the order itself plus an optional idempotency key.
#[derive(Deserialize)]
struct OrderLine {
    #[serde(flatten)]
    order: NewOrder,
    #[serde(default)]
    key: Option<String>,
}

/// Orders in flight at once during batch entry.
const BATCH_IN_FLIGHT: usize = 32;

async fn place_many(global: &Global, file: &str) -> Outcome {
    let reader: Box<dyn BufRead + Send> = if file == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(file)
            .map_err(|e| Failure::usage(format!("cannot read '{file}': {e}")))?;
        Box::new(std::io::BufReader::new(f))
    };
    let (client, _) = connect(global).await?;
    // Lines are read lazily (stdin may be a pipe that is still being written).
    let (tx, rx) = tokio::sync::mpsc::channel::<(usize, std::io::Result<String>)>(256);
    std::thread::spawn(move || {
        for (i, line) in reader.lines().enumerate() {
            if tx.blocking_send((i + 1, line)).is_err() {
                break;
            }
        }
    });
    let lines = tokio_stream(rx);
    let results = lines
        .map(|(n, line)| {
            let client = client.clone();
            async move { (n, place_line(&client, line).await) }
        })
        .buffered(BATCH_IN_FLIGHT);
    futures_util::pin_mut!(results);
    let mut failed = 0usize;
    let mut total = 0usize;
    let mut lost = false;
    while let Some((n, result)) = results.next().await {
        let Some(result) = result else { continue };
        total += 1;
        match result {
            Ok((order, duplicate)) => {
                if global.json {
                    json(&json!({ "line": n, "ok": true, "order": order, "duplicate": duplicate }));
                } else {
                    let again = if duplicate {
                        " (duplicate key: not placed again)"
                    } else {
                        ""
                    };
                    println!(
                        "line {n}: order {} (#{}) at {}, total {}{again}",
                        order.id,
                        order.number,
                        order.restaurant,
                        chit_protocol::money::format(order.total)
                    );
                }
            }
            Err((code, message)) => {
                failed += 1;
                lost |= code == "disconnected";
                if global.json {
                    json(
                        &json!({ "line": n, "ok": false, "error": { "code": code, "message": message } }),
                    );
                } else {
                    println!("line {n}: failed: {message} ({code})");
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("chit: {failed} of {total} lines failed");
        if lost {
            return Err(Failure {
                code: 3,
                message: "the connection to the server was lost".into(),
            });
        }
        return Err(Failure::quiet());
    }
    Ok(())
}

type LineResult = Result<(chit_protocol::Order, bool), (String, String)>;

/// Places one input line; `None` for a blank line.
async fn place_line(client: &Client, line: std::io::Result<String>) -> Option<LineResult> {
    let line = match line {
        Ok(line) => line,
        Err(e) => {
            return Some(Err((
                "bad_input".into(),
                format!("cannot read the line: {e}"),
            )));
        }
    };
    if line.trim().is_empty() {
        return None;
    }
    let parsed: OrderLine = match serde_json::from_str(&line) {
        Ok(parsed) => parsed,
        Err(e) => return Some(Err(("bad_input".into(), format!("not an order: {e}")))),
    };
    Some(
        client
            .place_order(parsed.order, parsed.key)
            .await
            .map_err(|e| {
                let code = e
                    .code()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "disconnected".into());
                (code, e.to_string())
            }),
    )
}

fn tokio_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Prints the order's history and its changes (status, items, fire) until it reaches a
/// final status.
async fn watch(global: &Global, order_id: i64) -> Outcome {
    let room = format!("order:{order_id}");
    let mut watch = crate::commands::watch::Watch::start(global, vec![(room, Some(0))])?;
    loop {
        let event = watch.next().await?;
        // Status changes, item bumps at the stations and the fire of a held order.
        if !matches!(
            event.kind,
            EventKind::NewOrder
                | EventKind::OrderUpdate
                | EventKind::ItemUpdate
                | EventKind::OrderFired
        ) {
            continue;
        }
        let Some(change) = event.order_event() else {
            continue;
        };
        if global.json {
            json(&event);
        } else if let Some(line) = output::event_line(&event) {
            println!("{}  {line}", output::clock(&event.at));
        }
        if change.order.status.is_terminal() {
            return Ok(());
        }
    }
}
