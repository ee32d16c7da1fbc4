//! A real HTTP server on 127.0.0.1:0 that receives webhooks: it records every request
//! (headers and body) and answers as the test says, so tests can fail and recover an
//! endpoint, make it slow, or kill the sender in the middle.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Notify;

/// One request the receiver got, and how it answered.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub answered: u16,
}

impl Delivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a delivery's body is JSON")
    }
}

/// How the receiver answers the `n`-th request (from 0).
pub type Answer = Arc<dyn Fn(usize) -> (StatusCode, Duration) + Send + Sync>;

pub struct Receiver {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<Delivery>>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver that answers 200 at once.
    pub async fn start() -> Receiver {
        Receiver::answering(Arc::new(|_| (StatusCode::OK, Duration::ZERO))).await
    }

    pub async fn answering(answer: Answer) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let (g, a) = (got.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (got, arrived, answer) = (g.clone(), a.clone(), answer.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (got, arrived, answer) = (got.clone(), arrived.clone(), answer.clone());
                        async move {
                            let header = |n: &str| {
                                req.headers()
                                    .get(n)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_string()
                            };
                            let (id, timestamp, signature) = (
                                header("webhook-id"),
                                header("webhook-timestamp"),
                                header("webhook-signature"),
                            );
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let n = got.lock().unwrap().len();
                            let (status, delay) = answer(n);
                            // The receiver's own pace, as a slow shop's would be.
                            tokio::time::sleep(delay).await;
                            got.lock().unwrap().push(Delivery {
                                id,
                                timestamp,
                                signature,
                                body: String::from_utf8_lossy(&body).into_owned(),
                                answered: status.as_u16(),
                            });
                            arrived.notify_waiters();
                            let mut res = Response::new(Full::new(Bytes::from_static(b"{}")));
                            *res.status_mut() = status;
                            Ok::<_, Infallible>(res)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            addr,
            got,
            arrived,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/chit", self.addr)
    }

    /// Everything received so far, in the order it arrived.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (up to `limit`) until `check` holds for what was received; returns it.
    pub async fn wait_for(
        &self,
        limit: Duration,
        check: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let got = self.deliveries();
            if check(&got) {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("timed out waiting for deliveries; got {} so far", got.len());
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
