//! What the kitchen tests share: the requests of stations, the expo and 86 (sent as
//! plain protocol messages through the real client), loading a menu with the real
//! `chit-server menu load`, and waiting for an event of one kind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Arg, Offline, TestServer};
use chit_client::{Client, ClientError, Events};
use chit_protocol::{
    ClientMsg, Event, EventKind, ItemState, Menu, Order, ServerMsg, Status, UnavailableItem,
};

/// The example menu `make demo` loads (assets/menus/thai-1.toml).
pub fn thai_menu() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/menus/thai-1.toml")
}

/// Runs `chit-server menu load --restaurant R FILE` on `on`'s database (a SQLite file,
/// or a test server's, whichever store it runs on), beside any server running on it;
/// panics unless it succeeds.
pub fn load_menu(on: &(impl Offline + ?Sized), restaurant: &str, file: &Path) -> String {
    let out = on
        .offline()
        .args(["menu", "load", "--restaurant", restaurant])
        .arg(file)
        .output()
        .expect("run chit-server menu load");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "menu load failed: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

/// Writes `text` to a menu file in `dir` and loads it for `restaurant`.
pub fn load_menu_text(server: &TestServer, restaurant: &str, text: &str) -> String {
    let file = server.dir().join(format!("{restaurant}-menu.toml"));
    std::fs::write(&file, text).expect("write the menu file");
    load_menu(server, restaurant, &file)
}

fn order_of(reply: ServerMsg) -> Order {
    match reply {
        ServerMsg::Order { order, .. } => order,
        other => panic!("not an order: {other:?}"),
    }
}

pub async fn update_item(
    client: &Client,
    order_id: i64,
    item: u32,
    state: ItemState,
    recall: bool,
) -> Result<Order, ClientError> {
    let msg = ClientMsg::UpdateItem {
        order_id,
        item,
        state,
        recall,
    };
    client.request(msg).await.map(order_of)
}

/// `update_status` with `force` (the expo's confirmed ready).
pub async fn set_status(
    client: &Client,
    order_id: i64,
    status: Status,
    force: bool,
) -> Result<Order, ClientError> {
    let msg = ClientMsg::UpdateStatus {
        order_id,
        status,
        reason: None,
        recall: false,
        force,
    };
    client.request(msg).await.map(order_of)
}

fn unavailable_of(reply: ServerMsg) -> Vec<UnavailableItem> {
    match reply {
        ServerMsg::Unavailable { items, .. } => items,
        other => panic!("not unavailable: {other:?}"),
    }
}

pub async fn mark_unavailable(
    client: &Client,
    restaurant: &str,
    item: &str,
    until: Option<String>,
) -> Result<Vec<UnavailableItem>, ClientError> {
    let msg = ClientMsg::MarkUnavailable {
        restaurant: restaurant.into(),
        item: item.into(),
        until,
    };
    client.request(msg).await.map(unavailable_of)
}

pub async fn mark_available(
    client: &Client,
    restaurant: &str,
    item: &str,
) -> Result<Vec<UnavailableItem>, ClientError> {
    let msg = ClientMsg::MarkAvailable {
        restaurant: restaurant.into(),
        item: item.into(),
    };
    client.request(msg).await.map(unavailable_of)
}

pub async fn list_unavailable(
    client: &Client,
    restaurant: &str,
) -> Result<Vec<UnavailableItem>, ClientError> {
    let msg = ClientMsg::ListUnavailable {
        restaurant: restaurant.into(),
    };
    client.request(msg).await.map(unavailable_of)
}

/// The restaurant's menu (none loaded: `None`) and what it has run out of.
pub async fn get_menu(
    client: &Client,
    restaurant: &str,
) -> Result<(Option<Menu>, Vec<UnavailableItem>), ClientError> {
    let msg = ClientMsg::GetMenu {
        restaurant: restaurant.into(),
    };
    match client.request(msg).await? {
        ServerMsg::Menu {
            menu, unavailable, ..
        } => Ok((menu, unavailable)),
        other => panic!("not a menu: {other:?}"),
    }
}

/// The next event of `kind` on `events`, skipping others, failing the test if none
/// comes within `within` (of tokio's time: paused tests may wait hours of it).
pub async fn next_of(events: &mut Events, kind: EventKind, within: Duration) -> Event {
    tokio::time::timeout(within, async {
        loop {
            let event = events.recv().await.expect("the connection is open");
            if event.kind == kind {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {} within {within:?}", kind.as_str()))
}

/// Every stored event of `kind` in the server's database, oldest first: (seq, order id).
pub fn logged(server: &TestServer, kind: EventKind) -> Vec<(u64, Option<i64>)> {
    server
        .query(
            "SELECT seq, order_id FROM events WHERE kind = ?1 ORDER BY seq",
            &[Arg::Text(kind.as_str())],
        )
        .into_iter()
        .map(|r| (r[0].expect("a seq") as u64, r[1]))
        .collect()
}
