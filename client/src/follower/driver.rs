//! The follower's I/O: one task that carries out the machine's actions on a real
//! connection and feeds back what happened. At most one operation (connecting, loading,
//! subscribing, waiting, or the owner's request in flight) runs at a time, beside the
//! connection's events and the owner's new requests.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use super::machine::{Action, Input, Machine};
use super::{Request, Spec, Update};
use crate::backoff::Backoff;
use crate::connection::{Client, Events};
use crate::connector::Connector;
use crate::error::{ClientError, ServerError};

/// The owner's end of a follower. Dropping it (and the update receiver) stops the task.
pub struct Follower {
    requests: mpsc::UnboundedSender<Request>,
}

impl Follower {
    /// Starts following `spec` through `connector`; updates arrive on the receiver.
    pub fn spawn(connector: Connector, spec: Spec) -> (Follower, mpsc::UnboundedReceiver<Update>) {
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (up_tx, up_rx) = mpsc::unbounded_channel();
        let machine = Machine::new(connector.servers().urls(), &spec, Backoff::default());
        tokio::spawn(run(connector, spec, machine, req_rx, up_tx));
        (Follower { requests: req_tx }, up_rx)
    }

    /// Queues a request: sent now if online, or in order after the next reconnect.
    pub fn send(&self, request: Request) {
        let _ = self.requests.send(request);
    }
}

/// What an operation ended with: a new connection, or an input for the machine.
// One per operation, taken apart at once: boxing the input buys nothing.
#[allow(clippy::large_enum_variant)]
enum Done {
    Connected(Client, Events),
    Input(Input),
}

async fn run(
    connector: Connector,
    spec: Spec,
    mut machine: Machine,
    mut requests: mpsc::UnboundedReceiver<Request>,
    updates: mpsc::UnboundedSender<Update>,
) {
    let snapshot = spec.snapshot.unwrap_or_default();
    let mut conn: Option<(Client, Events)> = None;
    let mut op: Option<BoxFuture<'static, Done>> = None;
    let mut actions = machine.step(Input::Start);
    loop {
        for action in actions.drain(..) {
            match action {
                Action::Connect(i) => {
                    conn = None;
                    let connector = connector.clone();
                    op = Some(
                        async move {
                            match connector.connect(i).await {
                                Ok((client, events)) => Done::Connected(client, events),
                                Err(e) => Done::Input(Input::ConnectFailed(e)),
                            }
                        }
                        .boxed(),
                    );
                }
                Action::Sleep(delay) => {
                    conn = None;
                    op = Some(
                        tokio::time::sleep(delay)
                            .map(|_| Done::Input(Input::Woke))
                            .boxed(),
                    );
                }
                Action::Load { leave } => {
                    let client = current(&conn);
                    let filter = snapshot.clone();
                    op = Some(
                        async move {
                            for room in &leave {
                                let _ = client.unsubscribe(room).await;
                            }
                            let statuses = (!filter.statuses.is_empty()).then_some(filter.statuses);
                            let loaded = load_all(&client, filter.restaurant, statuses).await;
                            Done::Input(match loaded {
                                Ok((orders, head)) => Input::Loaded { orders, head },
                                Err(e) => refused_or_lost(&client, e, Input::LoadFailed),
                            })
                        }
                        .boxed(),
                    );
                }
                Action::Subscribe { room, since, epoch } => {
                    let client = current(&conn);
                    op = Some(
                        async move {
                            Done::Input(match client.resume(&room, since, epoch).await {
                                Ok(joined) => Input::Subscribed {
                                    head: joined.head,
                                    epoch: joined.epoch,
                                },
                                Err(e) => refused_or_lost(&client, e, Input::SubscribeFailed),
                            })
                        }
                        .boxed(),
                    );
                }
                Action::Send(req) => {
                    let client = current(&conn);
                    op = Some(
                        async move {
                            Done::Input(match client.request(req.msg).await {
                                Ok(reply) => Input::Replied(Ok(reply)),
                                Err(e) => refused_or_lost(&client, e, |e| Input::Replied(Err(e))),
                            })
                        }
                        .boxed(),
                    );
                }
                Action::SendNow(msg) => {
                    if let Some((client, _)) = &conn {
                        let _ = client.send(msg);
                    }
                }
                Action::Tell(update) => {
                    if let Update::State(state) = &update {
                        tracing::info!("link: {state:?}");
                    }
                    let stopped = matches!(update, Update::Stopped(_));
                    if updates.send(update).is_err() || stopped {
                        return;
                    }
                }
            }
        }
        let input = tokio::select! {
            // The operation first: the connection's task hands a reply over before the
            // events that followed it on the wire, so polling it first keeps that order
            // (a room is reported joined before its replayed events, a request answered
            // before what came after). The owner's few requests come before the many
            // events, so a key press never waits behind a burst.
            biased;
            done = async { op.as_mut().expect("guarded").await }, if op.is_some() => {
                op = None;
                match done {
                    Done::Connected(client, events) => {
                        let welcome = client.welcome().clone();
                        conn = Some((client, events));
                        Input::Connected(welcome)
                    }
                    Done::Input(input) => input,
                }
            }
            req = requests.recv() => match req {
                Some(req) => Input::Request(req),
                None => return,
            },
            event = async { conn.as_mut().expect("guarded").1.recv().await }, if conn.is_some() => {
                match event {
                    Some(event) => {
                        if machine.event(&event.room, event.seq) && updates.send(Update::Event(event)).is_err() {
                            return;
                        }
                        continue;
                    }
                    None => {
                        let (client, _) = conn.take().expect("guarded");
                        // Whatever was in flight on it is lost with it.
                        op = None;
                        Input::Lost(client.close_reason())
                    }
                }
            }
        };
        actions = machine.step(input);
    }
}

/// Orders asked for per page of a snapshot: the most the server gives in one.
pub const SNAPSHOT_PAGE: u32 = 1000;

/// Every order a snapshot asks for, page by page until the last (the server gives the
/// newest page first, each page oldest first), put together oldest first, with the
/// head read beside the first page. Subscribing from that head replays whatever
/// happened while the later pages were read (an order placed, one moved on), so the
/// one snapshot and the events after it miss nothing. No silent cap: a kitchen with
/// more open orders than a page sees them all.
async fn load_all(
    client: &Client,
    restaurant: Option<String>,
    statuses: Option<Vec<chit_protocol::Status>>,
) -> Result<(Vec<chit_protocol::Order>, u64), ClientError> {
    let mut pages = Vec::new();
    let mut head = None;
    let mut cursor: Option<String> = None;
    loop {
        let (orders, page_head, next) = client
            .list_orders_page(
                restaurant.clone(),
                statuses.clone(),
                Some(SNAPSHOT_PAGE),
                cursor.clone(),
            )
            .await?;
        head.get_or_insert(page_head);
        let empty = orders.is_empty();
        pages.push(orders);
        match next {
            // A cursor that does not move on (or an empty page) would never end.
            Some(next) if !empty && cursor.as_ref() != Some(&next) => cursor = Some(next),
            _ => break,
        }
    }
    let orders = pages.into_iter().rev().flatten().collect();
    Ok((orders, head.unwrap_or_default()))
}

fn current(conn: &Option<(Client, Events)>) -> Client {
    conn.as_ref()
        .map(|(client, _)| client.clone())
        .expect("the machine asks for requests only while connected")
}

/// A refusal from the server becomes `refused`; anything else means the connection is
/// gone.
fn refused_or_lost(
    client: &Client,
    e: ClientError,
    refused: impl FnOnce(ServerError) -> Input,
) -> Input {
    match e {
        ClientError::Server { code, message } => refused(ServerError { code, message }),
        _ => Input::Lost(client.close_reason()),
    }
}
