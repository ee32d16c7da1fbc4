//! What each request does: checks that need no database are made here; everything else
//! becomes a future (a write for the writer, a read for the pool) whose reply the
//! connection writes when it is done. Replies to one connection may come out of order;
//! the `id` says which request each answers.

use chit_protocol::{ClientMsg, ErrorCode, Room, ServerMsg};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::error::Refusal;
use crate::frames;
use crate::service::{self, ListQuery, MAX_REPLAY};
use crate::session::{Done, RoomState, Session};
use crate::store::validate::clean;
use crate::store::{Write, Written};

const MAX_ROOMS: usize = 256;
pub const MAX_CHAT_TEXT: usize = 2000;

/// Handles one request; returns a reply to write now, or `None` when the reply will
/// come from a future pushed onto the session's in-flight set (or there is none).
pub(crate) fn dispatch(s: &mut Session, id: Option<Value>, msg: ClientMsg) -> Option<Utf8Bytes> {
    let refuse = |r: Refusal| Some(frames::error(id.as_ref(), r.code, r.message));
    match msg {
        ClientMsg::Hello { .. } => {
            refuse(Refusal::bad_request("this connection already said hello"))
        }
        ClientMsg::Ping => Some(frames::reply(id.as_ref(), ServerMsg::Pong)),
        ClientMsg::Subscribe { room, since, epoch } => {
            match subscribe(s, id.clone(), &room, since, epoch) {
                Ok(()) => None,
                Err(r) => refuse(r),
            }
        }
        ClientMsg::Unsubscribe { room } => {
            if s.rooms.remove(&room).is_some() {
                s.ctx.hub.leave(s.id, &room);
            }
            Some(frames::reply(id.as_ref(), ServerMsg::Ok { message: None }))
        }
        ClientMsg::PlaceOrder { order, key } => match service::place(order, key) {
            Ok(op) => {
                write(s, id, op, true);
                None
            }
            Err(r) => refuse(r),
        },
        ClientMsg::UpdateStatus {
            order_id,
            status,
            reason,
            recall,
            force,
        } => match service::change_status(order_id, status, reason, recall, force) {
            Ok(op) => {
                write(s, id, op, false);
                None
            }
            Err(r) => refuse(r),
        },
        ClientMsg::UpdateItem {
            order_id,
            item,
            state,
            recall,
        } => match service::update_item(order_id, item, state, recall) {
            Ok(op) => {
                write(s, id, op, false);
                None
            }
            Err(r) => refuse(r),
        },
        ClientMsg::MarkUnavailable {
            restaurant,
            item,
            until,
        } => match service::mark_unavailable(restaurant, &item, until.as_deref()) {
            Ok(op) => {
                write(s, id, op, false);
                None
            }
            Err(r) => refuse(r),
        },
        ClientMsg::MarkAvailable { restaurant, item } => {
            match service::mark_available(restaurant, &item) {
                Ok(op) => {
                    write(s, id, op, false);
                    None
                }
                Err(r) => refuse(r),
            }
        }
        ClientMsg::GetMenu { restaurant } => {
            let (store, who) = (s.ctx.store.clone(), s.who.clone());
            read(s, id, async move {
                let now = store.clock().now_ms();
                let (menu, unavailable) =
                    service::menu(&store, who, restaurant.clone(), now).await?;
                Ok(ServerMsg::Menu {
                    restaurant,
                    menu,
                    unavailable,
                })
            });
            None
        }
        ClientMsg::ListUnavailable { restaurant } => {
            let (store, who) = (s.ctx.store.clone(), s.who.clone());
            read(s, id, async move {
                let now = store.clock().now_ms();
                let items = service::unavailable(&store, who, restaurant.clone(), now).await?;
                Ok(ServerMsg::Unavailable { restaurant, items })
            });
            None
        }
        ClientMsg::ClaimOrder { order_id } => {
            write(s, id, Write::Claim { order_id }, false);
            None
        }
        ClientMsg::ReleaseOrder { order_id } => {
            write(s, id, Write::Release { order_id }, false);
            None
        }
        ClientMsg::AssignOrder { order_id, rider } => {
            if !chit_protocol::room::valid_ident(&rider) {
                return refuse(Refusal::bad_request(format!(
                    "rider '{}' is not a valid name",
                    clean(&rider)
                )));
            }
            write(s, id, Write::Assign { order_id, rider }, false);
            None
        }
        ClientMsg::GetOrder { order_id } => {
            let (store, who) = (s.ctx.store.clone(), s.who.clone());
            read(s, id, async move {
                let order = store.order(who, order_id).await?;
                Ok(ServerMsg::Order {
                    order,
                    duplicate: None,
                })
            });
            None
        }
        ClientMsg::ListOrders {
            restaurant,
            status,
            limit,
            cursor,
        } => {
            let query = ListQuery {
                restaurant,
                status,
                limit,
                cursor,
            };
            let filter = match service::order_filter(&s.who, query) {
                Ok(filter) => filter,
                Err(r) => return refuse(r),
            };
            let (store, who) = (s.ctx.store.clone(), s.who.clone());
            read(s, id, async move {
                let page = store.list_orders(who, filter).await?;
                Ok(ServerMsg::Orders {
                    orders: page.orders,
                    head: page.head,
                    next_cursor: page.next_cursor,
                })
            });
            None
        }
        ClientMsg::ChatSend { room, text } => {
            let room = match chat_room(&room) {
                Ok(room) => room,
                Err(r) => return refuse(r),
            };
            let text = clean(&text);
            if text.is_empty() {
                return refuse(Refusal::bad_request("a chat message must not be empty"));
            }
            if text.chars().count() > MAX_CHAT_TEXT {
                return refuse(Refusal::new(
                    ErrorCode::TooLarge,
                    format!("a chat message may be at most {MAX_CHAT_TEXT} characters"),
                ));
            }
            if !s.ctx.hub.allow_chat(s.who.token_id) {
                let rate = s.ctx.hub.chat_rate();
                return refuse(Refusal::new(
                    ErrorCode::RateLimited,
                    format!(
                        "more than {} chat messages a minute (bursts of {}): wait a moment and send again",
                        rate.per_minute, rate.burst
                    ),
                ));
            }
            // The message ends its author's typing indicator.
            s.ctx.hub.typing(s.id, &room.to_string(), false);
            write(s, id, Write::Chat { room, text }, false);
            None
        }
        ClientMsg::ChatHistory {
            room: name,
            before,
            limit,
        } => {
            let room = match chat_room(&name) {
                Ok(room) => room,
                Err(r) => return refuse(r),
            };
            let limit = limit.unwrap_or(50).clamp(1, 500);
            let (store, who) = (s.ctx.store.clone(), s.who.clone());
            read(s, id, async move {
                let messages = store.chat_history(who, room, before, limit).await?;
                Ok(ServerMsg::Messages { messages })
            });
            None
        }
        ClientMsg::Typing { room, active } => {
            if let Err(r) = chat_room(&room) {
                return refuse(r);
            }
            if !s.ctx.hub.typing(s.id, &room, active) {
                return refuse(Refusal::bad_request(format!(
                    "subscribe to '{room}' before typing in it"
                )));
            }
            None
        }
        ClientMsg::Presence { room: name } => {
            let room = match Room::parse(&name) {
                Ok(room) => room,
                Err(e) => return refuse(Refusal::bad_request(e)),
            };
            let hub = s.ctx.hub.clone();
            let (store, who) = (s.ctx.store.clone(), s.who.clone());
            read(s, id, async move {
                store.check_join(who, room).await?;
                Ok(ServerMsg::Presence {
                    members: hub.members(&name),
                    room: name,
                })
            });
            None
        }
        ClientMsg::Stats { restaurant } => {
            let restaurant = match service::stats_scope(&s.who, restaurant) {
                Ok(restaurant) => restaurant,
                Err(r) => return refuse(r),
            };
            let server =
                (s.who.role == chit_protocol::Role::Admin).then(|| crate::server_stats(&s.ctx));
            let server = server.map(|st| (st, s.ctx.config.webhooks.clone()));
            let (store, who) = (s.ctx.store.clone(), s.who.clone());
            read(s, id, async move {
                store
                    .stats(who, restaurant, server)
                    .await
                    .map(ServerMsg::Stats)
            });
            None
        }
    }
}

/// A room where people talk: `chat:NAME` or `order:ID`.
fn chat_room(name: &str) -> Result<Room, Refusal> {
    match Room::parse(name).map_err(Refusal::bad_request)? {
        room @ (Room::Chat(_) | Room::Order(_)) => Ok(room),
        room => Err(Refusal::bad_request(format!(
            "'{room}' is not a chat room (use chat:NAME or order:ID)"
        ))),
    }
}

fn write(s: &mut Session, id: Option<Value>, op: Write, placing: bool) {
    let store = s.ctx.store.clone();
    let who = s.who.clone();
    s.inflight.push(Box::pin(async move {
        let msg = match store.write(who, op).await {
            Ok(Written::Order {
                duplicate,
                json: Some(json),
                ..
            }) => {
                let duplicate = placing.then_some(duplicate);
                return Done::Reply(frames::order_reply(id.as_ref(), &json, duplicate));
            }
            Ok(Written::Order {
                order, duplicate, ..
            }) => ServerMsg::Order {
                order,
                duplicate: placing.then_some(duplicate),
            },
            Ok(Written::Chat(message)) => ServerMsg::Ok {
                message: Some(message),
            },
            Ok(Written::Unavailable { restaurant, items }) => {
                ServerMsg::Unavailable { restaurant, items }
            }
            Err(r) => ServerMsg::Error {
                code: r.code,
                message: r.message,
            },
        };
        Done::Reply(frames::reply(id.as_ref(), msg))
    }));
}

/// Answers with what `read` (a read of the store's) comes to, off the connection task.
fn read<F>(s: &mut Session, id: Option<Value>, read: F)
where
    F: Future<Output = Result<ServerMsg, Refusal>> + Send + 'static,
{
    s.inflight.push(Box::pin(async move {
        let msg = read.await.unwrap_or_else(|r| ServerMsg::Error {
            code: r.code,
            message: r.message,
        });
        Done::Reply(frames::reply(id.as_ref(), msg))
    }));
}

/// Joins the room at once (so no live event is missed), holds its live events, and
/// reads what the peer missed; the connection writes the reply, the replay, then the
/// held events. A `since` of another `epoch` than the log's is not replayed:
/// `resync_required` (once the room is known to be open to the peer).
fn subscribe(
    s: &mut Session,
    id: Option<Value>,
    name: &str,
    since: Option<u64>,
    epoch: Option<u64>,
) -> Result<(), Refusal> {
    let room = Room::parse(name).map_err(Refusal::bad_request)?;
    let name = room.to_string();
    if !s.rooms.contains_key(&name) && s.rooms.len() >= MAX_ROOMS {
        return Err(Refusal::bad_request(format!(
            "a connection may join at most {MAX_ROOMS} rooms"
        )));
    }
    s.rooms.insert(
        name.clone(),
        RoomState {
            threshold: 0,
            buffer: Some(Vec::new()),
        },
    );
    s.ctx.hub.join(s.id, &name);
    let store = s.ctx.store.clone();
    let who = s.who.clone();
    let other_log = s.ctx.store.check_epoch(since, epoch).err();
    // Of another log, only whether the room may be joined is read.
    let asked = if other_log.is_some() { None } else { since };
    s.inflight.push(Box::pin(async move {
        let result = match (store.replay(who, room, asked, MAX_REPLAY).await, other_log) {
            (Err(r), _) | (Ok(_), Some(r)) => Err(r),
            (Ok((_, true)), None) => Err(service::resync(format!(
                "more than {MAX_REPLAY} events were missed: reload the orders and subscribe from the new head"
            ))),
            (Ok((replay, false)), None) => Ok(replay),
        };
        Done::Subscribed {
            id,
            room: name,
            since,
            result,
        }
    }));
    Ok(())
}
