//! Items run out of ("86") on the real server: an order naming one is refused with
//! `unavailable`, the item named and nothing written; restoring it, or its time
//! passing (tokio's clock paused, the server's clock on it), lets it be ordered again;
//! each change is a stored `menu_update`.

use std::time::Duration;

use chit_e2e::kitchen::{
    self, get_menu, list_unavailable, mark_available, mark_unavailable, next_of,
};
use chit_e2e::{TestServer, next_stored, order};
use chit_protocol::{ErrorCode, EventKind, MenuChange, NewItem, NewOrder, Role};
use chit_server::Config;
use chit_server::clock::Clock;

const WAIT: Duration = Duration::from_secs(10);

fn thai(items: &[&str]) -> NewOrder {
    let mut o = order("thai-1");
    o.items = items.iter().map(|i| NewItem::parse(i).unwrap()).collect();
    o
}

async fn with_menu(config: Config) -> (TestServer, chit_client::Client, chit_client::Events) {
    let server = TestServer::with_config(config).await;
    let (kitchen, mut events) = server
        .connect(&server.token(Role::Kitchen, Some("thai-1")))
        .await;
    kitchen.subscribe("restaurant:thai-1", None).await.unwrap();
    kitchen::load_menu(&server, "thai-1", &kitchen::thai_menu());
    next_of(&mut events, EventKind::MenuUpdate, Duration::from_secs(30)).await;
    (server, kitchen, events)
}

#[tokio::test]
async fn an_order_naming_an_item_run_out_of_is_refused_until_it_is_restored() {
    let (server, kitchen, mut events) = with_menu(Config::default()).await;
    let (early, _) = kitchen
        .place_order(thai(&["Pad Thai @ 120"]), Some("pos-1".into()))
        .await
        .unwrap();
    next_stored(&mut events).await;

    // Made unavailable by any of its names, under the menu's own.
    let out = mark_unavailable(&kitchen, "thai-1", "  pad   THAI ", None)
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].item, "Pad Thai");
    assert_eq!(out[0].by.as_deref(), Some("kitchen thai-1"));
    let update = next_of(&mut events, EventKind::MenuUpdate, WAIT).await;
    assert!(update.seq.is_some());
    let update = update.menu_update().unwrap();
    assert_eq!(
        (update.change, update.item.as_deref()),
        (MenuChange::Unavailable, Some("Pad Thai"))
    );
    assert_eq!(update.unavailable, out);

    let (admin, _e) = server.admin().await;
    let head = admin.subscribe("restaurant:thai-1", None).await.unwrap();
    let before = admin
        .list_orders(Some("thai-1".into()), None, None)
        .await
        .unwrap()
        .0;
    for name in ["Pad Thai", "ผัดไทย", "phad thai"] {
        let e = kitchen
            .place_order(thai(&["Som tam @ 80", &format!("{name} @ 120")]), None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::Unavailable), "{e}");
        let said = e.to_string();
        assert!(
            said.contains("'Pad Thai' is unavailable at thai-1 until"),
            "{said}"
        );
        assert!(said.contains("nothing was placed"), "{said}");
    }
    // Nothing written: no order, no event, no number used.
    assert_eq!(
        admin.subscribe("restaurant:thai-1", None).await.unwrap(),
        head
    );
    assert_eq!(
        admin
            .list_orders(Some("thai-1".into()), None, None)
            .await
            .unwrap()
            .0,
        before
    );
    // An order placed before, placed again with its key, is still that order.
    let (again, duplicate) = kitchen
        .place_order(thai(&["Pad Thai @ 120"]), Some("pos-1".into()))
        .await
        .unwrap();
    assert!(duplicate && again.id == early.id);
    // Other dishes are fine; the list and the menu say what is out.
    let (fine, _) = kitchen
        .place_order(thai(&["Som tam @ 80"]), None)
        .await
        .unwrap();
    assert_eq!(fine.number, early.number + 1, "the refusals used no number");
    assert_eq!(list_unavailable(&kitchen, "thai-1").await.unwrap(), out);
    let (menu, listed) = get_menu(&kitchen, "thai-1").await.unwrap();
    assert!(menu.is_some());
    assert_eq!(listed, out);

    assert!(
        mark_available(&kitchen, "thai-1", "ผัดไทย")
            .await
            .unwrap()
            .is_empty()
    );
    let update = next_of(&mut events, EventKind::MenuUpdate, WAIT)
        .await
        .menu_update()
        .unwrap();
    assert_eq!(update.change, MenuChange::Restored);
    assert!(!update.expired && update.unavailable.is_empty());
    kitchen
        .place_order(thai(&["Pad Thai @ 120"]), None)
        .await
        .unwrap();
    let e = mark_available(&kitchen, "thai-1", "Pad Thai")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound));
}

#[tokio::test]
async fn only_items_on_the_menu_can_be_86d_and_any_name_without_one() {
    let (server, kitchen, _events) = with_menu(Config::default()).await;
    let e = mark_unavailable(&kitchen, "thai-1", "Pad Thia", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound));
    assert!(
        e.to_string().contains("'Pad Thia' is not on thai-1's menu"),
        "{e}"
    );
    let past = chit_protocol::format_time(chit_protocol::now_ms() - 60_000);
    let e = mark_unavailable(&kitchen, "thai-1", "Pad Thai", Some(past))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    // A restaurant without a menu names its items as its orders do.
    let (r1, _e) = server
        .connect(&server.token(Role::Kitchen, Some("r1")))
        .await;
    mark_unavailable(&r1, "r1", "Iced tea", None).await.unwrap();
    let e = r1.place_order(order("r1"), None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unavailable));
    assert!(e.to_string().contains("'Iced tea'"), "{e}");
}

#[tokio::test]
async fn an_86_ends_at_its_time() {
    let clock = Clock::tokio();
    let mut config = Config::default();
    config.store.clock = clock.clone();
    let (_server, kitchen, mut events) = with_menu(config).await;
    let until = clock.now_ms() + 30 * 60_000;
    tokio::time::pause();
    let out = mark_unavailable(
        &kitchen,
        "thai-1",
        "Som tam",
        Some(chit_protocol::format_time(until)),
    )
    .await
    .unwrap();
    assert_eq!(chit_protocol::parse_time(&out[0].until), Some(until));
    next_of(&mut events, EventKind::MenuUpdate, WAIT).await;
    let e = kitchen
        .place_order(thai(&["Som tam @ 80"]), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unavailable));

    let ended = next_of(
        &mut events,
        EventKind::MenuUpdate,
        Duration::from_secs(3600),
    )
    .await;
    let at = chit_protocol::parse_time(&ended.at).unwrap();
    assert!(at >= until && at < until + 60_000, "ended at {}", ended.at);
    let ended = ended.menu_update().unwrap();
    assert_eq!(ended.change, MenuChange::Restored);
    assert!(ended.expired && ended.item.as_deref() == Some("Som tam"));
    kitchen
        .place_order(thai(&["Som tam @ 80"]), None)
        .await
        .unwrap();
    assert!(
        list_unavailable(&kitchen, "thai-1")
            .await
            .unwrap()
            .is_empty()
    );
}
