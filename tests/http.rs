//! The HTTP API's orders on the WebSocket port, driven by a real HTTP client against the
//! real server: placing (answered once committed, idempotent across HTTP and WebSocket),
//! listing with a cursor, status changes, every role's rules, and the port shared with
//! WebSocket.

use chit_e2e::api::{Api, error, order_json};
use chit_e2e::{Arg, TestServer, next_stored, order};
use chit_protocol::{ErrorCode, EventKind, Role, Status};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_placed_over_http_is_committed_first_beeps_the_kitchen_and_is_idempotent() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let (kitchen, mut events) = server.admin().await;
    kitchen.subscribe("restaurant:r1", None).await.unwrap();

    let res = api
        .http
        .post(api.url("/v1/orders"))
        .bearer_auth(&server.admin)
        .header("idempotency-key", "shop-1001")
        // As `curl -d @order.json` sends it: no JSON content type.
        .header("content-type", "application/x-www-form-urlencoded")
        .body(order_json("r1").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let placed: Value = res.json().await.unwrap();
    assert_eq!(placed["duplicate"], false);
    assert_eq!(placed["order"]["total"], 27500);
    let id = placed["order"]["id"].as_i64().unwrap();
    // Answered only after the commit: the order is already in the database.
    let stored = server.query("SELECT total FROM orders WHERE id = ?1", &[Arg::Int(id)]);
    assert_eq!(stored, [[Some(27500)]]);
    let event = next_stored(&mut events).await;
    assert_eq!(event.kind, EventKind::NewOrder);
    assert_eq!(event.data["id"], id);

    // The same key again: the same order, 200, duplicate, and nothing new published.
    let res = api
        .http
        .post(api.url("/v1/orders"))
        .bearer_auth(&server.admin)
        .header("idempotency-key", "shop-1001")
        .json(&order_json("r1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let again: Value = res.json().await.unwrap();
    assert_eq!(
        (again["duplicate"].clone(), again["order"]["id"].as_i64()),
        (json!(true), Some(id))
    );

    // One key across HTTP and WebSocket: whichever came first is the order.
    let (ws_order, duplicate) = kitchen
        .place_order(order("r1"), Some("shop-1001".into()))
        .await
        .unwrap();
    assert_eq!((ws_order.id, duplicate), (id, true));
    let (first, _) = kitchen
        .place_order(order("r1"), Some("pos-7".into()))
        .await
        .unwrap();
    let mut body = order_json("r1");
    body["key"] = json!("pos-7");
    let (status, via_http) = api.post("/v1/orders", &server.admin, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(via_http["order"]["id"], first.id);
    // With a key in both, the header's is the key.
    let res = api
        .http
        .post(api.url("/v1/orders"))
        .bearer_auth(&server.admin)
        .header("idempotency-key", "shop-1001")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["order"]["id"], id);
    // The kitchen saw the one new order placed over WebSocket, nothing for duplicates.
    let next = next_stored(&mut events).await;
    assert_eq!(next.data["id"], first.id);
    let count = server.query("SELECT COUNT(*) FROM orders", &[]);
    assert_eq!(count, [[Some(2)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_follow_the_state_machine_and_a_wrong_one_changes_nothing() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let (_, placed) = api
        .post("/v1/orders", &server.admin, &order_json("r1"))
        .await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let path = format!("/v1/orders/{id}");
    let (status, body) = api
        .patch(&path, &server.admin, &json!({"status": "ready"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (code, message) = error(&body);
    assert_eq!(code, "invalid_transition");
    assert!(message.contains("cannot become ready"), "{message}");
    let (_, now) = api.get(&path, &server.admin).await;
    assert_eq!(now["order"]["status"], "pending", "nothing changed");

    for next in ["confirmed", "preparing", "ready"] {
        let (status, body) = api
            .patch(&path, &server.admin, &json!({"status": next}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["order"]["status"], next);
    }
    let (status, body) = api
        .patch(
            &path,
            &server.admin,
            &json!({"status": "cancelled", "reason": "oven broke"}),
        )
        .await;
    assert_eq!(
        (status, body["order"]["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (status, body) = api
        .patch(&path, &server.admin, &json!({"status": "nonsense"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error(&body).1.contains("nonsense"), "{body}");
    let (status, _) = api
        .patch(
            "/v1/orders/999",
            &server.admin,
            &json!({"status": "confirmed"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.get("/v1/orders/999", &server.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api.get("/v1/orders/seven", &server.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error(&body).1.contains("seven"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_filters_by_restaurant_and_status_and_pages_with_a_cursor() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let mut r1 = Vec::new();
    for i in 0..5 {
        let restaurant = if i == 2 { "r2" } else { "r1" };
        let (_, placed) = api
            .post("/v1/orders", &server.admin, &order_json(restaurant))
            .await;
        if restaurant == "r1" {
            r1.push(placed["order"]["id"].as_i64().unwrap());
        }
    }
    api.patch(
        &format!("/v1/orders/{}", r1[0]),
        &server.admin,
        &json!({"status": "confirmed"}),
    )
    .await;
    let (status, page) = api
        .get(
            "/v1/orders?restaurant=r1&status=pending,confirmed&limit=3",
            &server.admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids = |page: &Value| -> Vec<i64> {
        page["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&page), r1[1..]);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("more remain")
        .to_string();
    assert!(page["head"].as_u64().unwrap() >= 5);
    let (_, last) = api
        .get(
            &format!("/v1/orders?restaurant=r1&status=pending,confirmed&limit=3&cursor={cursor}"),
            &server.admin,
        )
        .await;
    assert_eq!(ids(&last), [r1[0]]);
    assert!(last["next_cursor"].is_null());
    let (_, pending) = api
        .get("/v1/orders?restaurant=r1&status=confirmed", &server.admin)
        .await;
    assert_eq!(ids(&pending), [r1[0]]);

    // A misspelt filter is refused, not ignored (it would list every restaurant).
    for (query, what) in [
        ("restaurantId=r1", "restaurantId"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("status=PENDING", "PENDING"),
        ("restaurant=r1&restaurant=r2", "twice"),
        ("cursor=abc", "cursor"),
        ("restaurant=r%201", "not a valid id"),
    ] {
        let (status, body) = api.get(&format!("/v1/orders?{query}"), &server.admin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(error(&body).1.contains(what), "{query}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_rule_holds_over_http() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let kitchen = server.token(Role::Kitchen, Some("r1"));
    let other_kitchen = server.token(Role::Kitchen, Some("r2"));
    let pos = server.token(Role::Pos, Some("r1"));
    let rider = server.token(Role::Rider, Some("bo"));
    let customer = server.token(Role::Customer, Some("0812345678"));
    let stranger = server.token(Role::Customer, Some("0899999999"));

    // Placing: the restaurant's own kitchen and pos, the customer as themself.
    for (who, token, allowed) in [
        ("kitchen r1", &kitchen, true),
        ("pos r1", &pos, true),
        ("customer", &customer, true),
        ("kitchen r2", &other_kitchen, false),
        ("rider", &rider, false),
        ("another customer", &stranger, false),
    ] {
        let (status, body) = api.post("/v1/orders", token, &order_json("r1")).await;
        let expected = if allowed {
            StatusCode::CREATED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(status, expected, "{who} placing: {body}");
    }
    let (_, placed) = api
        .post("/v1/orders", &server.admin, &order_json("r1"))
        .await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let path = format!("/v1/orders/{id}");
    // Seeing one order.
    for (who, token, expected) in [
        ("kitchen r1", &kitchen, StatusCode::OK),
        ("customer", &customer, StatusCode::OK),
        ("kitchen r2", &other_kitchen, StatusCode::FORBIDDEN),
        ("rider (not offered yet)", &rider, StatusCode::FORBIDDEN),
        ("another customer", &stranger, StatusCode::FORBIDDEN),
    ] {
        let (status, _) = api.get(&path, token).await;
        assert_eq!(status, expected, "{who} getting order {id}");
    }
    // Listing another restaurant is refused; a customer lists only its own orders.
    let (status, _) = api.get("/v1/orders?restaurant=r2", &kitchen).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, mine) = api.get("/v1/orders", &stranger).await;
    assert_eq!(mine["orders"].as_array().unwrap().len(), 0);
    // Changing status: pos may only cancel, a rider only what it claimed.
    let (status, _) = api
        .patch(&path, &pos, &json!({"status": "confirmed"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .patch(&path, &rider, &json!({"status": "confirmed"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .patch(&path, &kitchen, &json!({"status": "confirmed"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .patch(&path, &customer, &json!({"status": "cancelled"}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a customer cancels only pending orders"
    );
    let (status, _) = api
        .patch(&path, &pos, &json!({"status": "cancelled"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Statistics: a kitchen its own restaurant, a customer none.
    let (status, stats) = api.get("/v1/stats", &kitchen).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["restaurant"], "r1");
    assert!(
        stats.get("server").is_none(),
        "server figures are for admins"
    );
    let (status, _) = api.get("/v1/stats?restaurant=r2", &kitchen).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.get("/v1/stats", &customer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, all) = api.get("/v1/stats", &server.admin).await;
    assert!(all["server"]["connections"].is_u64(), "{all}");

    // A revoked token stops working at once.
    server.execute(
        "UPDATE tokens SET revoked_at = 1 WHERE role = 'kitchen' AND restaurant = 'r1'",
        &[],
    );
    let (status, body) = api.get(&path, &kitchen).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = api.post("/v1/orders", &kitchen, &order_json("r1")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_and_http_share_the_port_and_the_order_path() {
    let server = TestServer::start().await;
    let api = Api::new(&server);
    let (client, mut events) = server.admin().await;
    client.subscribe("customer:0812345678", None).await.unwrap();
    let (_, placed) = api
        .post("/v1/orders", &server.admin, &order_json("r1"))
        .await;
    let id = placed["order"]["id"].as_i64().unwrap();
    let event = next_stored(&mut events).await;
    assert_eq!(
        (event.kind, event.data["id"].as_i64()),
        (EventKind::NewOrder, Some(id))
    );
    // A change over WebSocket is what HTTP reads back, and the other way round.
    client
        .update_status(id, Status::Confirmed, None, false)
        .await
        .unwrap();
    let (_, now) = api.get(&format!("/v1/orders/{id}"), &server.admin).await;
    assert_eq!(now["order"]["status"], "confirmed");
    api.patch(
        &format!("/v1/orders/{id}"),
        &server.admin,
        &json!({"status": "preparing"}),
    )
    .await;
    let order = client.get_order(id).await.unwrap();
    assert_eq!(order.status, Status::Preparing);
    let update = next_stored(&mut events).await;
    assert_eq!(update.data["status"], "confirmed");
    let update = next_stored(&mut events).await;
    assert_eq!(update.data["status"], "preparing");
    // A plain GET of the WebSocket URL is answered, not hung up on.
    let res = reqwest::get(format!("{}/", server.http_url()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let err = client
        .list_orders_page(None, None, None, Some("x".into()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest));
}
