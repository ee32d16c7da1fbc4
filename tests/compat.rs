//! The seed design's API under `/api/orders`, as a web shop written against it sends
//! it: camel case, prices and `totalAmount` in major units, statuses in upper case.

use chit_e2e::{TestServer, next_stored};
use chit_protocol::EventKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn seed_order(total: Value) -> Value {
    json!({
        "restaurantId": "r1",
        "customerInfo": {"name": "Ann", "phone": "081-234-5678", "address": "12 Sukhumvit"},
        "items": [{"name": "Pad Thai", "quantity": 2, "price": 120.5}, {"name": "Iced tea", "qty": 1, "price": 35}],
        "totalAmount": total
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_written_against_the_seed_api_works_unchanged() {
    let server = TestServer::start().await;
    let (kitchen, mut events) = server.admin().await;
    kitchen.subscribe("restaurant:r1", None).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/api/orders", server.http_url());

    let res = http
        .post(&url)
        .bearer_auth(&server.admin)
        .json(&seed_order(json!(276.0)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let placed: Value = res.json().await.unwrap();
    assert_eq!(placed["status"], "PENDING");
    assert_eq!(placed["totalAmount"], 276.0);
    assert_eq!(placed["restaurantId"], "r1");
    assert_eq!(placed["customerInfo"]["name"], "Ann");
    assert_eq!(placed["items"][0]["quantity"], 2);
    assert_eq!(placed["items"][0]["price"], 120.5);
    let id = placed["id"].as_i64().unwrap();
    // The kitchen sees it as any other order: minor units, its own status names.
    let event = next_stored(&mut events).await;
    assert_eq!(event.kind, EventKind::NewOrder);
    assert_eq!(
        (
            event.data["total"].as_i64(),
            event.data["items"][0]["unit_price"].as_i64()
        ),
        (Some(27600), Some(12050))
    );

    // A total that does not add up is refused, saying both.
    let res = http
        .post(&url)
        .bearer_auth(&server.admin)
        .json(&seed_order(json!(270)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("270.00") && message.contains("276.00"),
        "{message}"
    );
    let mut odd = seed_order(json!(276));
    odd["items"][0]["price"] = json!(120.555);
    let res = http
        .post(&url)
        .bearer_auth(&server.admin)
        .json(&odd)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // The seed allowed numeric restaurant ids.
    let mut numeric = seed_order(json!(276));
    numeric["restaurantId"] = json!(7);
    let res = http
        .post(&url)
        .bearer_auth(&server.admin)
        .json(&numeric)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.unwrap()["restaurantId"], "7");

    // Statuses in upper case, and the seed's own names for them.
    let patch = |status: &str| {
        http.patch(format!("{url}/{id}"))
            .bearer_auth(&server.admin)
            .json(&json!({"status": status}))
            .send()
    };
    let res = patch("CONFIRMED").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "CONFIRMED");
    assert_eq!(patch("PREPARING").await.unwrap().status(), StatusCode::OK);
    let res = patch("DELIVERED").await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_transition"
    );
    assert_eq!(patch("READY").await.unwrap().status(), StatusCode::OK);
    let res = patch("OUT_FOR_DELIVERY").await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "PICKED_UP");
    assert_eq!(
        patch("SHIPPED").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );

    let res = http
        .get(format!("{url}?restaurantId=r1&status=PICKED_UP"))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let listed: Vec<Value> = res.json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    // Paging says where the older ones are.
    let res = http
        .get(format!("{url}?limit=1"))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    let link = res.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("rel=\"next\"") && link.contains("cursor="),
        "{link}"
    );
    let next = link.split(['<', '>']).nth(1).unwrap();
    let res = http
        .get(format!("{}{next}", server.http_url()))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    let older: Vec<Value> = res.json().await.unwrap();
    assert_eq!(older[0]["id"], id);
    assert!(
        res_has_no_link(
            &http,
            &format!("{}{next}", server.http_url()),
            &server.admin
        )
        .await
    );
}

async fn res_has_no_link(http: &reqwest::Client, url: &str, token: &str) -> bool {
    let res = http.get(url).bearer_auth(token).send().await.unwrap();
    !res.headers().contains_key("link")
}
