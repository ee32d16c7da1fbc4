//! Who may do what: each role against each request, claims by riders, and revocation
//! taking effect on an open connection.

use chit_client::{Client, ClientError};
use chit_e2e::kitchen::{get_menu, list_unavailable, mark_available, mark_unavailable};
use chit_e2e::kitchen::{set_status, update_item};
use chit_e2e::{TestServer, order};
use chit_protocol::{ErrorCode, ItemState, Role, Status};

struct Who {
    name: &'static str,
    client: Client,
}

async fn people(server: &TestServer) -> Vec<Who> {
    let specs: [(&str, Role, Option<&str>); 8] = [
        ("admin", Role::Admin, None),
        ("kitchen r1", Role::Kitchen, Some("r1")),
        ("kitchen r2", Role::Kitchen, Some("r2")),
        ("pos r1", Role::Pos, Some("r1")),
        ("rider bo", Role::Rider, Some("bo")),
        ("rider al", Role::Rider, Some("al")),
        ("customer ann", Role::Customer, Some("0812345678")),
        ("customer other", Role::Customer, Some("0899999999")),
    ];
    let mut people = Vec::new();
    for (name, role, scope) in specs {
        let token = if role == Role::Admin {
            server.admin.clone()
        } else {
            server.token(role, scope)
        };
        let (client, events) = server.connect(&token).await;
        std::mem::forget(events);
        people.push(Who { name, client });
    }
    people
}

fn allowed<T>(result: Result<T, ClientError>, who: &str, what: &str) -> bool {
    match result {
        Ok(_) => true,
        Err(e) if e.code() == Some(ErrorCode::Forbidden) => false,
        Err(e) => panic!("{who} / {what}: unexpected {e}"),
    }
}

fn check(who: &str, what: &str, got: bool, expected: &[&str]) {
    assert_eq!(
        got,
        expected.contains(&who),
        "{who} may{} {what}",
        if got { "" } else { " not" }
    );
}

#[tokio::test]
async fn each_role_against_each_request() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let people = people(&server).await;
    let (seen, _) = admin.place_order(order("r1"), None).await.unwrap();

    for p in &people {
        let n = p.name;
        let c = &p.client;
        check(
            n,
            "place for r1",
            allowed(c.place_order(order("r1"), None).await, n, "place"),
            &["admin", "kitchen r1", "pos r1", "customer ann"],
        );
        let (fresh, _) = admin.place_order(order("r1"), None).await.unwrap();
        check(
            n,
            "confirm an r1 order",
            allowed(
                c.update_status(fresh.id, Status::Confirmed, None, false)
                    .await,
                n,
                "confirm",
            ),
            &["admin", "kitchen r1"],
        );
        let (fresh, _) = admin.place_order(order("r1"), None).await.unwrap();
        check(
            n,
            "cancel a pending r1 order",
            allowed(
                c.update_status(fresh.id, Status::Cancelled, None, false)
                    .await,
                n,
                "cancel",
            ),
            &["admin", "kitchen r1", "pos r1", "customer ann"],
        );
        check(
            n,
            "see an r1 order",
            allowed(c.get_order(seen.id).await, n, "get"),
            &["admin", "kitchen r1", "pos r1", "customer ann"],
        );
        // Riders and customers may list, narrowed to their own orders and offers.
        check(
            n,
            "list r1",
            allowed(
                c.list_orders(Some("r1".into()), None, None).await,
                n,
                "list",
            ),
            &[
                "admin",
                "kitchen r1",
                "pos r1",
                "rider bo",
                "rider al",
                "customer ann",
                "customer other",
            ],
        );
        check(
            n,
            "read r1 figures",
            allowed(c.stats(Some("r1".into())).await, n, "stats"),
            &["admin", "kitchen r1", "pos r1"],
        );
        let (fresh, _) = admin.place_order(order("r1"), None).await.unwrap();
        check(
            n,
            "assign",
            allowed(c.assign_order(fresh.id, "bo").await, n, "assign"),
            &["admin"],
        );
        let (fresh, _) = admin.place_order(order("r1"), None).await.unwrap();
        check(
            n,
            "bump an item of an r1 order",
            allowed(
                update_item(c, fresh.id, 1, ItemState::Started, false).await,
                n,
                "update_item",
            ),
            &["admin", "kitchen r1"],
        );
        let (fresh, _) = admin.place_order(order("r1"), None).await.unwrap();
        for s in [Status::Confirmed, Status::Preparing] {
            admin.update_status(fresh.id, s, None, false).await.unwrap();
        }
        check(
            n,
            "force an r1 order ready",
            allowed(
                set_status(c, fresh.id, Status::Ready, true).await,
                n,
                "force",
            ),
            &["admin", "kitchen r1"],
        );
        // Items nobody orders here, so that the orders above are never refused.
        let special = format!("Special of {n}");
        check(
            n,
            "86 an r1 item",
            allowed(mark_unavailable(c, "r1", &special, None).await, n, "86"),
            &["admin", "kitchen r1"],
        );
        mark_unavailable(&admin, "r1", &special, None)
            .await
            .unwrap();
        check(
            n,
            "restore an r1 item",
            allowed(mark_available(c, "r1", &special).await, n, "restore"),
            &["admin", "kitchen r1"],
        );
        let readers = [
            "admin",
            "kitchen r1",
            "pos r1",
            "customer ann",
            "customer other",
        ];
        check(
            n,
            "read r1's menu",
            allowed(get_menu(c, "r1").await, n, "get_menu"),
            &readers,
        );
        check(
            n,
            "list what r1 has run out of",
            allowed(list_unavailable(c, "r1").await, n, "list_unavailable"),
            &readers,
        );
        let order_room = format!("order:{}", seen.id);
        let rooms: [(&str, &[&str]); 7] = [
            ("restaurant:r1", &["admin", "kitchen r1", "pos r1"]),
            ("riders", &["admin", "rider bo", "rider al"]),
            ("rider:bo", &["admin", "rider bo"]),
            ("customer:0812345678", &["admin", "customer ann"]),
            (
                &order_room,
                &["admin", "kitchen r1", "pos r1", "customer ann"],
            ),
            (
                "chat:staff",
                &["admin", "kitchen r1", "kitchen r2", "rider bo", "rider al"],
            ),
            ("restaurant:r2", &["admin", "kitchen r2"]),
        ];
        for (room, expected) in rooms {
            let got = allowed(c.subscribe(room, None).await, n, room);
            check(n, &format!("join {room}"), got, expected);
        }
    }
}

#[tokio::test]
async fn a_listing_shows_each_role_only_its_own_orders() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let (r1, _) = admin.place_order(order("r1"), None).await.unwrap();
    let (r2, _) = admin
        .place_order(chit_e2e::order_for("r2", "0899999999"), None)
        .await
        .unwrap();
    let (kitchen, _k) = server
        .connect(&server.token(Role::Kitchen, Some("r2")))
        .await;
    let (orders, _) = kitchen.list_orders(None, None, None).await.unwrap();
    assert_eq!(orders.iter().map(|o| o.id).collect::<Vec<_>>(), [r2.id]);
    let (customer, _c) = server
        .connect(&server.token(Role::Customer, Some("0812345678")))
        .await;
    let (orders, _) = customer.list_orders(None, None, None).await.unwrap();
    assert_eq!(orders.iter().map(|o| o.id).collect::<Vec<_>>(), [r1.id]);
    let (rider, _r) = server.connect(&server.token(Role::Rider, Some("bo"))).await;
    let (orders, _) = rider.list_orders(None, None, None).await.unwrap();
    assert!(
        orders.is_empty(),
        "nothing is offered before it is being prepared"
    );
    for s in [Status::Confirmed, Status::Preparing] {
        admin.update_status(r1.id, s, None, false).await.unwrap();
    }
    let (orders, _) = rider.list_orders(None, None, None).await.unwrap();
    assert_eq!(orders.iter().map(|o| o.id).collect::<Vec<_>>(), [r1.id]);
}

#[tokio::test]
async fn riders_claim_once_and_change_only_their_own_orders() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let (bo, _b) = server.connect(&server.token(Role::Rider, Some("bo"))).await;
    let (al, _a) = server.connect(&server.token(Role::Rider, Some("al"))).await;
    let (kitchen, _k) = server
        .connect(&server.token(Role::Kitchen, Some("r1")))
        .await;
    let (placed, _) = admin.place_order(order("r1"), None).await.unwrap();
    let err = bo.claim_order(placed.id).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::InvalidTransition),
        "not offered while pending"
    );
    for s in [Status::Confirmed, Status::Preparing, Status::Ready] {
        kitchen
            .update_status(placed.id, s, None, false)
            .await
            .unwrap();
    }
    assert_eq!(
        kitchen.claim_order(placed.id).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        bo.claim_order(placed.id).await.unwrap().rider.as_deref(),
        Some("bo")
    );
    assert_eq!(
        al.claim_order(placed.id).await.unwrap_err().code(),
        Some(ErrorCode::Conflict)
    );
    let err = al
        .update_status(placed.id, Status::PickedUp, None, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    assert_eq!(
        al.release_order(placed.id).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );
    let err = bo
        .update_status(placed.id, Status::Cancelled, None, false)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::Forbidden),
        "riders do not cancel"
    );
    bo.update_status(placed.id, Status::PickedUp, None, false)
        .await
        .unwrap();
    let err = bo.release_order(placed.id).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::InvalidTransition),
        "no release after pickup"
    );
    let done = bo
        .update_status(placed.id, Status::Delivered, None, false)
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.rider.as_deref()),
        (Status::Delivered, Some("bo"))
    );
}

#[tokio::test]
async fn a_revoked_token_fails_at_once_even_on_an_open_connection() {
    let server = TestServer::start().await;
    let token = server.token(Role::Kitchen, Some("r1"));
    let (kitchen, mut events) = server.connect(&token).await;
    kitchen.subscribe("restaurant:r1", None).await.unwrap();
    kitchen.place_order(order("r1"), None).await.unwrap();
    let list = server.offline().args(["token", "list"]).output().unwrap();
    let listing = String::from_utf8(list.stdout).unwrap();
    let id = listing
        .lines()
        .find(|l| l.contains("kitchen restaurant=r1"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the kitchen token is listed")
        .to_string();
    let revoke = server
        .offline()
        .args(["token", "revoke", &id])
        .status()
        .unwrap();
    assert!(revoke.success());
    // The very next request is refused ...
    match kitchen.place_order(order("r1"), None).await {
        Err(e) if e.code() == Some(ErrorCode::Unauthorized) => {}
        // ... unless the server already closed the connection for the revocation.
        Err(ClientError::Disconnected(_)) => {}
        other => panic!("a revoked token placed an order: {other:?}"),
    }
    // ... and the server closes the connection.
    while events.recv().await.is_some() {}
    assert!(!kitchen.is_open() || kitchen.ping().await.is_err());
    let err = Client::connect(&server.url, &token, "test")
        .await
        .err()
        .expect("refused");
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_issued_with_the_real_binary_works_until_it_is_revoked() {
    let server = TestServer::start().await;
    let run = |args: &[&str]| server.offline().args(args).output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    let issued = run(&[
        "token",
        "issue",
        "--role",
        "kitchen",
        "--restaurant",
        "r1",
        "--label",
        "wok",
    ]);
    assert!(issued.status.success(), "{}", text(&issued.stderr));
    let token = text(&issued.stdout).trim().to_string();
    let said = text(&issued.stderr);
    assert!(
        said.starts_with("issued token ") && said.contains(": kitchen restaurant=r1 label=wok"),
        "{said}"
    );
    let id: String = said["issued token ".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let (kitchen, _events) = server.connect(&token).await;
    kitchen.place_order(order("r1"), None).await.unwrap();

    let listed = text(&run(&["token", "list"]).stdout);
    let line = listed
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id.as_str()))
        .unwrap_or_else(|| panic!("token {id} in {listed}"));
    assert!(
        line.contains("kitchen restaurant=r1 label=wok") && line.ends_with("live"),
        "{line}"
    );
    assert!(!listed.contains(&token), "never the secret");

    // Usage mistakes: a sentence and exit 1, nothing issued.
    let bad = run(&["token", "issue", "--role", "kitchen"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("a kitchen token needs --restaurant"),
        "{}",
        text(&bad.stderr)
    );
    assert_eq!(text(&run(&["token", "list"]).stdout), listed);

    let revoked = run(&["token", "revoke", &id]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert_eq!(text(&revoked.stderr).trim(), format!("revoked token {id}"));
    let again = run(&["token", "revoke", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains(&format!("no live token with id {id}")),
        "{}",
        text(&again.stderr)
    );
    let err = Client::connect(&server.url, &token, "test")
        .await
        .err()
        .expect("refused");
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    let listed = text(&run(&["token", "list"]).stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.split_whitespace().next() == Some(id.as_str()) && l.contains("revoked")),
        "{listed}"
    );
}
