//! What each request does: checks that need no database are made here; everything else
//! becomes a future (a write for the writer, a read for the pool) whose reply the
//! connection writes when it is done. Replies to one connection may come out of order;
//! the `id` says which request each answers.

use std::sync::Arc;

use chit_protocol::{ClientMsg, ErrorCode, Role, Room, ServerMsg};
use rusqlite::Connection;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::auth::{self, Principal};
use crate::connection::{Done, Replay, RoomState, Session};
use crate::error::Refusal;
use crate::frames;
use crate::store::validate::{self, clean};
use crate::store::{Write, Written, queries};

/// The most events one subscribe replays; a peer that missed more reloads instead.
const MAX_REPLAY: u32 = 100_000;
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
        ClientMsg::Subscribe { room, since } => match subscribe(s, id.clone(), &room, since) {
            Ok(()) => None,
            Err(r) => refuse(r),
        },
        ClientMsg::Unsubscribe { room } => {
            if s.rooms.remove(&room).is_some() {
                s.ctx.hub.leave(s.id, &room);
            }
            Some(frames::reply(id.as_ref(), ServerMsg::Ok { message: None }))
        }
        ClientMsg::PlaceOrder { order, key } => match validate::validate(order, key) {
            Ok(order) => {
                write(s, id, Write::PlaceOrder { order }, true);
                None
            }
            Err(r) => refuse(r),
        },
        ClientMsg::UpdateStatus {
            order_id,
            status,
            reason,
            recall,
        } => {
            let reason = reason.map(|r| clean(&r)).filter(|r| !r.is_empty());
            if reason
                .as_ref()
                .is_some_and(|r| r.chars().count() > validate::MAX_NOTE)
            {
                return refuse(Refusal::bad_request(
                    "the reason is longer than 500 characters",
                ));
            }
            let op = Write::UpdateStatus {
                order_id,
                status,
                reason,
                recall,
            };
            write(s, id, op, false);
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
            read(s, id, move |conn, who| {
                match queries::get_order(conn, order_id)? {
                    Some(order) if auth::can_see(who, &order) => Ok(ServerMsg::Order {
                        order,
                        duplicate: None,
                    }),
                    Some(_) => Err(Refusal::forbidden(format!(
                        "this token may not see order {order_id}"
                    ))),
                    None => Err(Refusal::not_found(format!(
                        "order {order_id} does not exist"
                    ))),
                }
            });
            None
        }
        ClientMsg::ListOrders {
            restaurant,
            status,
            limit,
        } => {
            let filter = match order_filter(&s.who, restaurant, status, limit) {
                Ok(filter) => filter,
                Err(r) => return refuse(r),
            };
            read(s, id, move |conn, _| {
                let tx = conn.unchecked_transaction()?;
                let orders = queries::list_orders(&tx, &filter)?;
                let head = queries::head(&tx)?;
                tx.commit()?;
                Ok(ServerMsg::Orders { orders, head })
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
            let name = room.to_string();
            let limit = limit.unwrap_or(50).clamp(1, 500);
            read(s, id, move |conn, who| {
                check_join(conn, who, &room)?;
                let messages = queries::chat_history(conn, &name, before, limit)?;
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
            read(s, id, move |conn, who| {
                check_join(conn, who, &room)?;
                Ok(ServerMsg::Presence {
                    members: hub.members(&name),
                    room: name,
                })
            });
            None
        }
        ClientMsg::Stats { restaurant } => {
            let restaurant = match (s.who.role, restaurant) {
                (Role::Kitchen | Role::Pos, None) => s.who.restaurant.clone(),
                (_, r) => r,
            };
            if let Err(r) = auth::check_stats(&s.who, restaurant.as_deref()) {
                return refuse(r);
            }
            let server = (s.who.role == Role::Admin).then(|| crate::server_stats(&s.ctx));
            read(s, id, move |conn, _| {
                let since = queries::local_day(conn)?.start;
                let mut today = queries::analytics(conn, restaurant.as_deref(), since)?;
                today.restaurant = restaurant;
                let server = server.map(|mut st| {
                    st.orders_total = queries::count_orders(conn).unwrap_or(0);
                    st.head = queries::head(conn).unwrap_or(0);
                    st
                });
                Ok(ServerMsg::Stats(chit_protocol::Stats { today, server }))
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

/// Narrows a `list_orders` to what the principal may see.
fn order_filter(
    who: &Principal,
    restaurant: Option<String>,
    status: Option<Vec<chit_protocol::Status>>,
    limit: Option<u32>,
) -> Result<queries::OrderFilter, Refusal> {
    let mut filter = queries::OrderFilter {
        restaurant,
        statuses: status.unwrap_or_default(),
        limit: limit.unwrap_or(100).clamp(1, 1000),
        ..Default::default()
    };
    match who.role {
        Role::Admin => {}
        Role::Kitchen | Role::Pos => {
            if filter.restaurant.is_some() && filter.restaurant != who.restaurant {
                return Err(Refusal::forbidden(format!(
                    "this token may not list orders of restaurant '{}'",
                    filter.restaurant.unwrap_or_default()
                )));
            }
            filter.restaurant = who.restaurant.clone();
        }
        Role::Rider => filter.rider_view = who.rider.clone(),
        Role::Customer => filter.customer = who.customer.clone(),
    }
    Ok(filter)
}

fn check_join(conn: &Connection, who: &Principal, room: &Room) -> Result<(), Refusal> {
    let order = match room {
        Room::Order(id) => Some(
            queries::get_order(conn, *id)?
                .ok_or_else(|| Refusal::not_found(format!("order {id} does not exist")))?,
        ),
        _ => None,
    };
    if auth::can_join(who, room, order.as_ref()) {
        Ok(())
    } else {
        Err(Refusal::forbidden(format!(
            "this token may not join '{room}'"
        )))
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
            Err(r) => ServerMsg::Error {
                code: r.code,
                message: r.message,
            },
        };
        Done::Reply(frames::reply(id.as_ref(), msg))
    }));
}

/// Runs `f` on a read connection after checking the token is still live.
fn read<F>(s: &mut Session, id: Option<Value>, f: F)
where
    F: FnOnce(&Connection, &Principal) -> Result<ServerMsg, Refusal> + Send + 'static,
{
    let store = s.ctx.store.clone();
    let who = s.who.clone();
    s.inflight.push(Box::pin(async move {
        let result = store
            .read(move |conn| {
                check_live(conn, &who)?;
                f(conn, &who)
            })
            .await;
        let msg = result.unwrap_or_else(|r| ServerMsg::Error {
            code: r.code,
            message: r.message,
        });
        Done::Reply(frames::reply(id.as_ref(), msg))
    }));
}

fn check_live(conn: &Connection, who: &Principal) -> Result<(), Refusal> {
    if queries::token_is_live(conn, who.token_id)? {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::Unauthorized,
            "this token has been revoked",
        ))
    }
}

/// Joins the room at once (so no live event is missed), holds its live events, and
/// reads what the peer missed; the connection writes the reply, the replay, then the
/// held events.
fn subscribe(
    s: &mut Session,
    id: Option<Value>,
    name: &str,
    since: Option<u64>,
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
    let who: Arc<Principal> = s.who.clone();
    let room_name = name.clone();
    s.inflight.push(Box::pin(async move {
        let result = store
            .read(move |conn| {
                check_live(conn, &who)?;
                check_join(conn, &who, &room)?;
                replay(conn, &room_name, since)
            })
            .await;
        Done::Subscribed {
            id,
            room: name,
            since,
            result,
        }
    }));
    Ok(())
}

fn replay(conn: &Connection, room: &str, since: Option<u64>) -> Result<Replay, Refusal> {
    let tx = conn.unchecked_transaction()?;
    let head = queries::head(&tx)?;
    let Some(since) = since else {
        return Ok(Replay {
            head,
            frames: Vec::new(),
        });
    };
    let pruned = queries::meta(&tx, "pruned_through")?;
    let resync = |why: String| Err(Refusal::new(ErrorCode::ResyncRequired, why));
    if since < pruned {
        return resync(format!(
            "events up to seq {pruned} are no longer kept: reload the orders and subscribe from the new head"
        ));
    }
    if since > head {
        return resync(format!(
            "seq {since} is ahead of this server's log (head {head}): reload the orders and subscribe from the new head"
        ));
    }
    let events = queries::events_since(&tx, room, since, MAX_REPLAY + 1)?;
    if events.len() > MAX_REPLAY as usize {
        return resync(format!(
            "more than {MAX_REPLAY} events were missed: reload the orders and subscribe from the new head"
        ));
    }
    tx.commit()?;
    let frames = events
        .into_iter()
        .map(|e| {
            let frame = frames::stored_event_frame(room, Some(e.seq), &e.kind, e.at, &e.data);
            (e.seq, frame.into())
        })
        .collect();
    Ok(Replay { head, frames })
}
