//! `GET /v1/events?room=R&since=SEQ`: a room's events as Server-Sent Events (`id:` the
//! seq, `event:` the kind, `data:` the event), resumed from `Last-Event-ID` with no gap
//! and no duplicate, exactly like `subscribe` with `since`; or, with `wait=N`, a long
//! poll that answers `{events, head, epoch}` as soon as there is something after
//! `since`. With `epoch` (the log's, as `subscribed` or a poll's answer gave it), a
//! `since` of another log is refused with `resync_required` rather than replayed.
//!
//! Both join the room in the hub before reading the log, so an event committed while
//! the log is read is not missed: it waits in the session's queue, and whatever the
//! read already gave is skipped by its seq.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chit_protocol::Room;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use tokio::time::Instant;

use super::Body;
use super::reply::{Failure, json};
use super::request::{self, Query};
use crate::auth::Principal;
use crate::context::Ctx;
use crate::error::Refusal;
use crate::frames;
use crate::hub::{Kick, Outbox, SessionId};
use crate::session::Replay;

/// The longest a long poll waits, in seconds.
const MAX_WAIT: u64 = 300;
/// Events a long poll answers with at most, when none is asked for, and the most.
const POLL_LIMIT: u64 = 100;
const MAX_POLL_LIMIT: u64 = 1000;
/// Events read from the log at a time while a stream catches up.
const STREAM_PAGE: u32 = 1000;
/// Live events written to a stream in one chunk at most.
const STREAM_BATCH: usize = 64;

/// A session in the hub for the length of one request: it receives the room's live
/// events from the moment it joins, and leaves the hub when dropped.
struct Follower {
    ctx: Ctx,
    id: SessionId,
    rx: Arc<Outbox>,
    kick: Arc<Kick>,
}

impl Follower {
    fn join(ctx: &Ctx, who: &Principal, room: &str) -> Follower {
        let handle = ctx.hub.register(who.token_id, who.name(), who.role);
        ctx.hub.join(handle.id, room);
        Follower {
            ctx: ctx.clone(),
            id: handle.id,
            rx: handle.rx,
            kick: handle.kick,
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.ctx.hub.remove(self.id);
    }
}

/// `GET /v1/events`.
pub(super) async fn follow(ctx: &Ctx, parts: Parts) -> Result<Response<Body>, Failure> {
    let query = Query::parse(
        &parts.uri,
        &["room", "since", "epoch", "wait", "limit", "access_token"],
    )?;
    let who = request::who(ctx, &parts, query.get("access_token")).await?;
    let Some(name) = query.get("room") else {
        return Err(Failure::bad_request(
            "say which room to follow: ?room=restaurant:r1 (or customer:ID, order:ID, riders, rider:NAME, chat:NAME)",
        ));
    };
    let room = Room::parse(name).map_err(Failure::bad_request)?;
    let name = room.to_string();
    // A reconnecting EventSource sends the last id it saw, which supersedes `since`.
    let since_query = query.number("since", 0, i64::MAX as u64)?;
    let since = match parts.headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Failure::bad_request("Last-Event-ID must be the seq of an event (a number)")
                })?,
        ),
        None => since_query,
    };
    let epoch = query.number("epoch", 1, crate::store::epoch::MAX)?;
    let wait = query.number("wait", 0, MAX_WAIT)?;
    let limit = query.number("limit", 1, MAX_POLL_LIMIT)?;
    if wait.is_none() && limit.is_some() {
        return Err(Failure::bad_request(
            "limit is for long polls (wait=N); a stream sends every event",
        ));
    }
    let page = match wait {
        Some(_) => limit.unwrap_or(POLL_LIMIT) as u32,
        None => STREAM_PAGE,
    };
    if let Err(other_log) = ctx.store.check_epoch(since, epoch) {
        // Refused as `subscribe` refuses it: once the room is known to be open to `who`.
        read(ctx, &who, &room, None, page).await?;
        return Err(other_log.into());
    }
    let follower = Follower::join(ctx, &who, &name);
    let (replay, more) = read(ctx, &who, &room, since, page).await?;
    match wait {
        Some(wait) => {
            let wait = Duration::from_secs(wait);
            long_poll(ctx, follower, &who, &room, since, replay, page, wait).await
        }
        None => Ok(stream(ctx, follower, who, room, since, replay, more)),
    }
}

/// The room's events after `since`, if `who` may follow it.
async fn read(
    ctx: &Ctx,
    who: &Arc<Principal>,
    room: &Room,
    since: Option<u64>,
    limit: u32,
) -> Result<(Replay, bool), Refusal> {
    ctx.store
        .replay(who.clone(), room.clone(), since, limit)
        .await
}

/// Answers at once if there are events after `since` (or `wait` is 0); otherwise waits
/// up to `wait` for the room's next stored event and reads the log again.
#[allow(clippy::too_many_arguments)]
async fn long_poll(
    ctx: &Ctx,
    follower: Follower,
    who: &Arc<Principal>,
    room: &Room,
    since: Option<u64>,
    replay: Replay,
    limit: u32,
    wait: Duration,
) -> Result<Response<Body>, Failure> {
    if !replay.frames.is_empty() || wait.is_zero() {
        return Ok(poll_answer(ctx, replay));
    }
    // From here on only events after what was read count.
    let since = since.unwrap_or(replay.head);
    let deadline = Instant::now() + wait;
    loop {
        tokio::select! {
            event = follower.rx.recv() => {
                if event.seq.is_some_and(|seq| seq > since) {
                    break;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                let head = ctx.store.head().max(replay.head);
                return Ok(poll_answer(ctx, Replay { head, frames: Vec::new() }));
            }
            _ = follower.kick.kicked() => break,
            _ = ctx.shutdown.cancelled() => break,
        }
    }
    drop(follower);
    let (replay, _) = read(ctx, who, room, Some(since), limit).await?;
    Ok(poll_answer(ctx, replay))
}

/// `{"events": [...], "head": N, "epoch": E}`.
fn poll_answer(ctx: &Ctx, replay: Replay) -> Response<Body> {
    let mut body = String::from(r#"{"events":["#);
    for (i, (_, frame)) in replay.frames.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        if let Some((event, _)) = frames::event_json(frame.as_str()) {
            body.push_str(&event);
        }
    }
    body.push_str(&format!(
        r#"],"head":{},"epoch":{}}}"#,
        replay.head,
        ctx.store.epoch()
    ));
    let mut response = json(StatusCode::OK, body);
    allow_any_origin(&mut response);
    response
}

/// Browsers may follow a room from a page of any origin (the token travels in the
/// request, never in a cookie).
fn allow_any_origin(response: &mut Response<Body>) {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The event stream: what was read, then pages of the log until it is caught up, then
/// live events, with a comment every heartbeat so that proxies and peers see it alive.
fn stream(
    ctx: &Ctx,
    follower: Follower,
    who: Arc<Principal>,
    room: Room,
    since: Option<u64>,
    replay: Replay,
    more: bool,
) -> Response<Body> {
    let mut first = format!(
        "retry: 2000\nevent: subscribed\ndata: {{\"room\":\"{room}\",\"head\":{},\"epoch\":{}}}\n\n",
        replay.head,
        ctx.store.epoch()
    );
    let mut threshold = since.unwrap_or(replay.head);
    for (seq, frame) in &replay.frames {
        threshold = threshold.max(*seq);
        sse_event(&mut first, Some(*seq), frame.as_str());
    }
    let beat = ctx.config.heartbeat;
    let state = Stream {
        ctx: ctx.clone(),
        follower,
        who,
        room,
        threshold,
        catching_up: more,
        first: Some(Bytes::from(first)),
        heartbeat: tokio::time::interval_at(Instant::now() + beat, beat),
        ended: false,
    };
    let chunks = futures_util::stream::unfold(state, |mut s| async move {
        let chunk = s.next().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), s))
    });
    let mut response = Response::new(StreamBody::new(chunks).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx and its kind not to hold the stream back in a buffer.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    allow_any_origin(&mut response);
    response
}

struct Stream {
    ctx: Ctx,
    follower: Follower,
    who: Arc<Principal>,
    room: Room,
    /// The newest seq written.
    threshold: u64,
    /// More of the log is to be read before live events.
    catching_up: bool,
    first: Option<Bytes>,
    heartbeat: tokio::time::Interval,
    ended: bool,
}

impl Stream {
    /// The next chunk to write; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        if self.ended {
            return None;
        }
        loop {
            if self.catching_up {
                let since = Some(self.threshold);
                match read(&self.ctx, &self.who, &self.room, since, STREAM_PAGE).await {
                    Ok((replay, more)) => {
                        self.catching_up = more;
                        let mut chunk = String::new();
                        for (seq, frame) in &replay.frames {
                            self.threshold = self.threshold.max(*seq);
                            sse_event(&mut chunk, Some(*seq), frame.as_str());
                        }
                        if !chunk.is_empty() {
                            return Some(Bytes::from(chunk));
                        }
                    }
                    Err(r) => return Some(self.end_with(&r)),
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = self.ctx.shutdown.cancelled() => return None,
                _ = self.follower.kick.kicked() => return None,
                first = self.follower.rx.recv() => {
                    let mut chunk = String::new();
                    let mut next = Some(first);
                    let mut taken = 0;
                    while let Some(event) = next {
                        taken += 1;
                        match event.seq {
                            Some(seq) if seq <= self.threshold => {}
                            seq => {
                                self.threshold = self.threshold.max(seq.unwrap_or(0));
                                sse_event(&mut chunk, seq, event.frame.as_str());
                            }
                        }
                        next = if taken < STREAM_BATCH { self.follower.rx.try_recv() } else { None };
                    }
                    if !chunk.is_empty() {
                        return Some(Bytes::from(chunk));
                    }
                }
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b": keep-alive\n\n")),
            }
        }
    }

    /// A last `error` event (the refusal), after which the stream ends.
    fn end_with(&mut self, r: &Refusal) -> Bytes {
        self.ended = true;
        let data = serde_json::json!({"code": r.code, "message": r.message});
        Bytes::from(format!("event: error\ndata: {data}\n\n"))
    }
}

/// Appends one event frame as an SSE event: `id:` its seq (none for live-only events,
/// so a reconnect resumes from the last stored one), `event:` its kind, `data:` it.
fn sse_event(out: &mut String, seq: Option<u64>, frame: &str) {
    let Some((json, kind)) = frames::event_json(frame) else {
        return;
    };
    if let Some(seq) = seq {
        out.push_str(&format!("id: {seq}\n"));
    }
    out.push_str("event: ");
    out.push_str(kind);
    out.push('\n');
    // Event JSON has no line breaks; if it ever had, each line is its own `data:`.
    for line in json.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
}
