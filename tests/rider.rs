//! Riders: claims are exactly once under a crowd of riders, only the claiming rider
//! moves an order, and the real `chit-rider` in a real terminal (tmux) claims, picks up
//! and delivers while the kitchen's `chit watch` sees each change.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use chit_client::Client;
use chit_e2e::{TestServer, Tmux, bin, next_stored, order, wait_until};
use chit_protocol::{ErrorCode, Order, Role, Status};
use serde_json::Value;

/// Places an order for r1 and bumps it to `status` as its kitchen would.
async fn placed(admin: &Client, status: Status) -> Order {
    let (mut order, _) = admin.place_order(order("r1"), None).await.unwrap();
    for s in [Status::Confirmed, Status::Preparing, Status::Ready] {
        if order.status == status {
            break;
        }
        order = admin.update_status(order.id, s, None, false).await.unwrap();
    }
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_riders_claiming_one_order_at_once_leave_exactly_one_winner() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let mut riders = Vec::new();
    for i in 0..20 {
        let name = format!("rider{i:02}");
        let (client, events) = server
            .connect(&server.token(Role::Rider, Some(&name)))
            .await;
        riders.push((name, client, events));
    }
    let mut winners = std::collections::BTreeSet::new();
    for round in 0..50 {
        let offer = placed(&admin, Status::Ready).await;
        let start = Arc::new(tokio::sync::Barrier::new(riders.len()));
        let claims: Vec<_> = riders
            .iter()
            .map(|(name, client, _)| {
                let (name, client, start) = (name.clone(), client.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    (name, client.claim_order(offer.id).await)
                })
            })
            .collect();
        let mut won = Vec::new();
        for claim in claims {
            let (name, result) = claim.await.unwrap();
            match result {
                Ok(order) => {
                    assert_eq!(order.rider.as_deref(), Some(name.as_str()));
                    won.push(name);
                }
                Err(e) => assert_eq!(e.code(), Some(ErrorCode::Conflict), "round {round}: {e}"),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: winners {won:?}");
        let stored = admin.get_order(offer.id).await.unwrap();
        assert_eq!(stored.rider, won.first().cloned(), "round {round}");
        assert_eq!(
            stored.status,
            Status::Ready,
            "a claim changes only the rider"
        );
        winners.extend(won);
    }
    eprintln!("{} different riders won the 50 rounds", winners.len());
}

#[tokio::test]
async fn only_the_claiming_rider_moves_an_order_and_only_riders_claim() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let server = &server;
    let connect = |role, scope| {
        let token = server.token(role, Some(scope));
        async move { server.connect(&token).await.0 }
    };
    let bo = connect(Role::Rider, "bo").await;
    let al = connect(Role::Rider, "al").await;
    let kitchen = connect(Role::Kitchen, "r1").await;
    let pos = connect(Role::Pos, "r1").await;
    let customer = connect(Role::Customer, "0812345678").await;
    let offer = placed(&admin, Status::Ready).await;
    let forbidden = |result: Result<Order, chit_client::ClientError>, what: &str| {
        assert_eq!(
            result.map(|o| o.id).map_err(|e| e.code()),
            Err(Some(ErrorCode::Forbidden)),
            "{what}"
        );
    };

    forbidden(kitchen.claim_order(offer.id).await, "a kitchen claims");
    forbidden(pos.claim_order(offer.id).await, "a point of sale claims");
    forbidden(customer.claim_order(offer.id).await, "a customer claims");
    forbidden(
        admin.claim_order(offer.id).await,
        "an admin claims (it assigns)",
    );
    forbidden(
        al.update_status(offer.id, Status::PickedUp, None, false)
            .await,
        "a rider picks up an unclaimed order",
    );

    bo.claim_order(offer.id).await.unwrap();
    forbidden(al.get_order(offer.id).await, "al sees bo's order");
    forbidden(
        al.update_status(offer.id, Status::PickedUp, None, false)
            .await,
        "al picks up bo's order",
    );
    forbidden(bo.assign_order(offer.id, "bo").await, "a rider assigns");
    forbidden(kitchen.release_order(offer.id).await, "a kitchen releases");
    bo.update_status(offer.id, Status::PickedUp, None, false)
        .await
        .unwrap();
    forbidden(
        al.update_status(offer.id, Status::Delivered, None, false)
            .await,
        "al delivers bo's order",
    );
    let stored = admin.get_order(offer.id).await.unwrap();
    assert_eq!(
        (stored.status, stored.rider.as_deref()),
        (Status::PickedUp, Some("bo")),
        "refusals change nothing"
    );
    let done = bo
        .update_status(offer.id, Status::Delivered, None, false)
        .await
        .unwrap();
    assert_eq!(done.status, Status::Delivered);
}

#[tokio::test]
async fn an_assignment_reaches_the_rider_and_leaves_the_offers() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let (bo, mut bo_events) = server.connect(&server.token(Role::Rider, Some("bo"))).await;
    let (al, mut al_events) = server.connect(&server.token(Role::Rider, Some("al"))).await;
    let offer = placed(&admin, Status::Preparing).await;
    bo.subscribe("rider:bo", None).await.unwrap();
    al.subscribe("riders", None).await.unwrap();

    admin.assign_order(offer.id, "bo").await.unwrap();
    let to_bo = next_stored(&mut bo_events).await.order_event().unwrap();
    assert_eq!(to_bo.order.rider.as_deref(), Some("bo"));
    let to_al = next_stored(&mut al_events).await.order_event().unwrap();
    assert_eq!(
        (to_al.order.id, to_al.order.rider.as_deref()),
        (offer.id, Some("bo")),
        "the other riders learn it is no longer on offer"
    );
    let (listed, _) = al.list_orders(None, None, None).await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    assert_eq!(
        al.claim_order(offer.id).await.unwrap_err().code(),
        Some(ErrorCode::Conflict)
    );
    // bo may hand it back before pickup; then it is an offer again.
    bo.release_order(offer.id).await.unwrap();
    let back = next_stored(&mut al_events).await.order_event().unwrap();
    assert_eq!(back.order.rider, None);
    assert_eq!(
        al.claim_order(offer.id).await.unwrap().rider.as_deref(),
        Some("al")
    );
}

/// `chit watch ROOM` as a child process, its JSON lines on a channel.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Watch {
    /// Starts watching and returns once it is subscribed.
    fn start(server: &TestServer, room: &str) -> Watch {
        let mut child = server
            .chit()
            .args(["watch", room])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chit watch");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let said = stderr
            .next()
            .expect("chit watch says what it follows")
            .unwrap();
        assert!(said.contains("watching"), "{said}");
        std::thread::spawn(move || for _ in stderr {});
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx
                    .send(serde_json::from_str(&line).expect("JSON line"))
                    .is_err()
                {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    /// The next order update for `id` that satisfies `check`, within 15 s.
    fn expect(&self, id: i64, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let event = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("chit watch did not show {what}"));
            if event["kind"] == "order_update" && event["data"]["id"] == id && check(&event) {
                return event;
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn console(
    server: &TestServer,
    rider: &str,
    width: u16,
    height: u16,
    dir: &std::path::Path,
) -> Tmux {
    let command = format!(
        "CHIT_SERVER={} CHIT_TOKEN={} {} --rider {rider} --bell --log {}",
        server.url,
        server.token(Role::Rider, Some(rider)),
        bin("chit-rider").display(),
        dir.join(format!("{rider}.log")).display()
    );
    let term = Tmux::start(width, height, &command);
    term.wait_text("● online");
    term
}

/// The first line of order `number` of r1 in either list (not a message naming it).
fn row(screen: &str, number: u32) -> Option<String> {
    let tag = format!("#{number} ");
    screen
        .lines()
        .find(|l| {
            let rest = l.trim_start_matches(['▶', '›', ' ']);
            rest.starts_with("r1 ") && rest.contains(&tag)
        })
        .map(str::to_string)
}

fn section(screen: &str, title: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(title))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rider_claims_picks_up_and_delivers_from_the_console() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let dir = tempfile::tempdir().unwrap();
    let watch = Watch::start(&server, "restaurant:r1");
    let term = console(&server, "bo", 80, 24, dir.path());
    let raw = dir.path().join("terminal.raw");
    term.record(&raw);
    let screen = term.screen();
    assert!(screen.contains("no offers right now"), "{screen}");

    let offer = placed(&admin, Status::Preparing).await;
    let n = offer.number;
    let screen = term.wait_for("an upcoming offer", |s| {
        row(s, n).is_some_and(|r| r.contains("upcoming"))
    });
    assert!(screen.contains("12 Sukhumvit"), "{screen}");
    assert!(
        wait_until("a bell", || std::fs::read(&raw)
            .ok()
            .filter(|b| b.contains(&7u8)))
        .is_some(),
        "--bell rings the terminal bell on a new offer"
    );
    admin
        .update_status(offer.id, Status::Ready, None, false)
        .await
        .unwrap();
    let screen = term.wait_for("the offer to be ready", |s| {
        row(s, n).is_some_and(|r| r.contains("READY") && r.starts_with('▶'))
    });
    assert!(section(&screen, "OFFERS").contains("1 ready"), "{screen}");
    watch.expect(offer.id, "ready", |e| e["data"]["status"] == "ready");

    term.keys(&["Enter"]);
    let screen = term.wait_for("the claim", |s| section(s, "MY DELIVERIES").contains("· 1"));
    assert!(section(&screen, "OFFERS").contains("0 ready"), "{screen}");
    assert!(screen.contains("0812345678 · Ann"), "{screen}");
    watch.expect(offer.id, "the claim", |e| e["data"]["rider"] == "bo");
    assert_eq!(
        admin.get_order(offer.id).await.unwrap().rider.as_deref(),
        Some("bo")
    );

    term.keys(&["p"]);
    term.wait_for("picked up", |s| {
        row(s, n).is_some_and(|r| r.contains("PICKED UP"))
    });
    watch.expect(offer.id, "the pickup", |e| {
        e["data"]["status"] == "picked_up"
    });

    term.keys(&["d"]);
    let screen = term.wait_for("delivered", |s| section(s, "MY DELIVERIES").contains("· 0"));
    assert!(screen.contains(&format!("#{n} delivered ✓")), "{screen}");
    let delivered = watch.expect(offer.id, "the delivery", |e| {
        e["data"]["status"] == "delivered"
    });
    assert_eq!(delivered["data"]["rider"], "bo");

    term.keys(&["q"]);
    term.wait_for("the console to exit", |s| !s.contains("chit rider"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consoles_race_for_one_offer_and_one_gets_it() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    let dir = tempfile::tempdir().unwrap();
    // One on a laptop, one on a phone's SSH client.
    let wide = console(&server, "bo", 80, 24, dir.path());
    let narrow = console(&server, "al", 60, 20, dir.path());
    let offer = placed(&admin, Status::Ready).await;
    let n = offer.number;
    for term in [&wide, &narrow] {
        let screen = term.wait_for("the offer", |s| {
            row(s, n).is_some_and(|r| r.starts_with('▶'))
        });
        for line in screen.lines() {
            assert!(line.chars().count() <= 80);
        }
    }
    let screen = narrow.screen();
    assert!(
        screen.contains("⏎ claim"),
        "keys in the footer at 60 columns\n{screen}"
    );
    assert!(screen.lines().all(|l| l.chars().count() <= 60), "{screen}");

    wide.keys(&["Enter"]);
    narrow.keys(&["Enter"]);
    let mine = |s: &str| section(s, "MY DELIVERIES").contains("· 1");
    let settled = |s: &str| mine(s) || row(s, n).is_none();
    let wide_screen = wide.wait_for("the race to settle", settled);
    let narrow_screen = narrow.wait_for("the race to settle", settled);
    assert!(
        mine(&wide_screen) != mine(&narrow_screen),
        "exactly one console has it:\n{wide_screen}\n{narrow_screen}"
    );
    let winner = if mine(&wide_screen) { "bo" } else { "al" };
    assert_eq!(
        admin.get_order(offer.id).await.unwrap().rider.as_deref(),
        Some(winner)
    );
    for term in [&wide, &narrow] {
        term.keys(&["q"]);
        term.wait_for("the console to exit", |s| !s.contains("chit rider"));
    }
}
