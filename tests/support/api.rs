//! A real HTTP client for the API on the server's port (reqwest), and the shapes the
//! HTTP tests read.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::TestServer;

/// A JSON Lines order for `restaurant`, as a shop would POST it.
pub fn order_json(restaurant: &str) -> Value {
    json!({
        "restaurant": restaurant,
        "customer": {"name": "Ann", "phone": "0812345678", "address": "12 Sukhumvit"},
        "items": [{"name": "Pad Thai", "qty": 2, "unit_price": 12000}, {"name": "Iced tea", "unit_price": 3500}],
        "note": "no peanuts"
    })
}

/// One server's HTTP API, through a real client.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(server: &TestServer) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: server.http_url(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let res = req.send().await.expect("the server answers");
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(token), Some(body))
            .await
    }
}

/// The `{"error":{"code","message"}}` of a refusal, checked for its shape.
pub fn error(body: &Value) -> (&str, &str) {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.is_empty());
    (code, message)
}
