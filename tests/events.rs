//! `GET /v1/events` with a real HTTP client: Server-Sent Events resumed with
//! `Last-Event-ID` while orders keep being placed (no gap, no duplicate), the `wait=N`
//! long poll resumed the same way, and the refusals.

use std::collections::BTreeSet;
use std::time::Duration;

use chit_e2e::{Arg, TestServer, order};
use chit_protocol::Role;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::time::timeout;

/// One Server-Sent Event as read off the wire.
#[derive(Debug, Clone)]
struct Sse {
    id: Option<u64>,
    event: String,
    data: Value,
}

/// Reads events off an SSE response, as a browser's EventSource would.
struct SseReader {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    fn new(res: reqwest::Response) -> SseReader {
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        SseReader {
            body: res.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event (comments and `retry:` skipped); `None` when the stream ends.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse().expect("a numeric id"));
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if data.is_empty() {
                    continue; // a comment (keep-alive) or retry: alone
                }
                let data = serde_json::from_str(&data).expect("data is JSON");
                return Some(Sse { id, event, data });
            }
            let chunk = timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("the stream moves within 10 s")?
                .ok()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

async fn follow(
    server: &TestServer,
    token: &str,
    query: &str,
    last: Option<u64>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(format!("{}/v1/events?{query}", server.http_url()))
        .bearer_auth(token);
    if let Some(last) = last {
        req = req.header("last-event-id", last.to_string());
    }
    req.send().await.unwrap()
}

/// The seqs of `room`'s stored events, from the log itself.
fn logged(server: &TestServer, room: &str) -> Vec<u64> {
    server
        .query(
            "SELECT seq FROM events WHERE room = ?1 ORDER BY seq",
            &[Arg::Text(room)],
        )
        .into_iter()
        .map(|r| r[0].unwrap() as u64)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_with_last_event_id_misses_nothing_while_orders_keep_coming() {
    let server = TestServer::start().await;
    let (placer, _) = server.admin().await;
    for _ in 0..5 {
        placer.place_order(order("r1"), None).await.unwrap();
    }
    const MORE: usize = 120;
    let placing = tokio::spawn(async move {
        for i in 0..MORE {
            let restaurant = if i % 4 == 3 { "r2" } else { "r1" };
            placer.place_order(order(restaurant), None).await.unwrap();
        }
        placer
    });
    // Follow from the start, drop the stream every 20 events and resume from the last id.
    let mut seen: Vec<u64> = Vec::new();
    let mut last = None;
    let expected = 5 + MORE * 3 / 4;
    let mut streams = 0;
    while seen.len() < expected {
        streams += 1;
        assert!(streams < 100, "too many reconnects");
        let res = match last {
            None => follow(&server, &server.admin, "room=restaurant:r1&since=0", None).await,
            Some(id) => {
                follow(
                    &server,
                    &server.admin,
                    "room=restaurant:r1&since=0",
                    Some(id),
                )
                .await
            }
        };
        let mut reader = SseReader::new(res);
        let first = reader.next().await.unwrap();
        assert_eq!(first.event, "subscribed");
        assert_eq!(first.data["room"], "restaurant:r1");
        let mut taken = 0;
        while taken < 20 && seen.len() < expected {
            let event = reader.next().await.expect("the stream goes on");
            if event.event == "analytics_update" {
                assert!(event.id.is_none(), "live-only events carry no id");
                continue;
            }
            let id = event.id.expect("stored events carry their seq");
            assert_eq!(event.data["seq"], id);
            assert_eq!(event.data["room"], "restaurant:r1");
            assert_eq!(event.event, event.data["kind"].as_str().unwrap());
            assert_eq!(event.data["data"]["restaurant"], "r1");
            seen.push(id);
            last = Some(id);
            taken += 1;
        }
    }
    placing.await.unwrap();
    assert!(streams >= 3, "the test resumed ({streams} streams)");
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicate");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(seen, logged(&server, "restaurant:r1"), "no gap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_answers_with_what_came_after_since_and_resumes_exactly() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let poll = |since: u64| {
        let url = format!(
            "{}/v1/events?room=restaurant:r1&since={since}&wait=10&limit=7",
            server.http_url()
        );
        let req = http.get(url).bearer_auth(&server.admin);
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["access-control-allow-origin"], "*");
            res.json::<Value>().await.unwrap()
        }
    };
    let (placer, _) = server.admin().await;
    let placing = tokio::spawn(async move {
        for i in 0..40 {
            let restaurant = if i % 5 == 4 { "r2" } else { "r1" };
            placer.place_order(order(restaurant), None).await.unwrap();
        }
    });
    let mut since = 0;
    let mut seen = Vec::new();
    while seen.len() < 32 {
        let answer = poll(since).await;
        let events = answer["events"].as_array().unwrap();
        assert!(events.len() <= 7, "the limit holds");
        for event in events {
            assert_eq!(event["room"], "restaurant:r1");
            seen.push(event["seq"].as_u64().unwrap());
        }
        // Resume from the last event's seq, or the head when none came.
        since = events
            .last()
            .map(|e| e["seq"].as_u64().unwrap())
            .unwrap_or_else(|| answer["head"].as_u64().unwrap());
    }
    placing.await.unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate: {seen:?}"
    );
    assert_eq!(seen, logged(&server, "restaurant:r1"), "no gap");

    // Nothing after the head: the poll waits, and wakes for the next order.
    let head = since;
    let waiting = tokio::spawn(poll(head));
    let (placer, _) = server.admin().await;
    let (placed, _) = placer.place_order(order("r1"), None).await.unwrap();
    let answer = waiting.await.unwrap();
    assert_eq!(answer["events"][0]["data"]["id"], placed.id);
    // A quiet room: an empty answer once the wait is over.
    let url = format!(
        "{}/v1/events?room=restaurant:quiet&wait=1",
        server.http_url()
    );
    let started = tokio::time::Instant::now();
    let res = http
        .get(url)
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["events"].as_array().unwrap().len(), 0);
    assert!(answer["head"].as_u64().unwrap() > head);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_is_refused_as_subscribing_is() {
    let server = TestServer::start().await;
    let kitchen = server.token(Role::Kitchen, Some("r1"));
    let (admin, _) = server.admin().await;
    admin.place_order(order("r1"), None).await.unwrap();
    for (token, query, status, code) in [
        (
            &kitchen,
            "room=restaurant:r2",
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (&kitchen, "", StatusCode::BAD_REQUEST, "bad_request"),
        (
            &kitchen,
            "room=kitchen:r1",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            &kitchen,
            "room=restaurant:r1&since=99999",
            StatusCode::GONE,
            "resync_required",
        ),
        (
            &kitchen,
            "room=restaurant:r1&limit=5",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            &kitchen,
            "room=restaurant:r1&wait=301",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            &kitchen,
            "room=order:99",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            &"chit_nonsense".to_string(),
            "room=restaurant:r1",
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
    ] {
        let res = follow(&server, token, query, None).await;
        assert_eq!(res.status(), status, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
    }
    let res = follow(&server, &kitchen, "room=restaurant:r1", Some(0)).await;
    let mut reader = SseReader::new(res);
    assert_eq!(reader.next().await.unwrap().event, "subscribed");
    let replayed = reader.next().await.unwrap();
    assert_eq!(
        (replayed.id, replayed.event.as_str()),
        (Some(1), "new_order")
    );
    let bad = follow(&server, &kitchen, "room=restaurant:r1", None).await;
    assert_eq!(bad.status(), StatusCode::OK);

    // A browser's EventSource cannot set headers: the token may ride in the URL.
    let url = format!(
        "{}/v1/events?room=restaurant:r1&since=0&access_token={kitchen}",
        server.http_url()
    );
    let res = reqwest::get(url).await.unwrap();
    let mut reader = SseReader::new(res);
    assert_eq!(reader.next().await.unwrap().event, "subscribed");
    assert_eq!(reader.next().await.unwrap().id, Some(1));
    let res = reqwest::Client::new()
        .get(format!(
            "{}/v1/events?room=restaurant:r1",
            server.http_url()
        ))
        .header("last-event-id", "yesterday")
        .bearer_auth(&kitchen)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
