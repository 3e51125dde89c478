//! `GET /v1/events`: live updates as Server-Sent Events (local server only).
//!
//! Each committed sync batch is one `event: sync` whose `id:` is the new content
//! generation and whose data lists the ids upserted and removed and the sync errors added
//! and cleared (see [`crate::sync::feed`]). A new stream starts with `event: hello`
//! (`id:` the current generation). A client that reconnects with `Last-Event-ID` gets
//! every event after it from a bounded in-memory ring, or one `event: reset` when the ring
//! no longer reaches back that far (reload everything). Comment lines every
//! [`StreamConfig::heartbeat`] keep proxies from closing an idle stream. At most
//! [`StreamConfig::max_streams`] streams are open at once; past that a JSON 503.
//!
//! Under `promptshelf serve` another process writes the database, so the ids of a change
//! are unknown: a poller sends `reset` whenever the generation moves.

use super::AppState;
use crate::sync::feed::{ChangeEvent, Feed, Since};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use promptshelf_store::read;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

/// Limits of the event streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// Interval of the comment lines sent on an idle stream.
    pub heartbeat: Duration,
    /// Most streams open at once (each holds a connection and a task).
    pub max_streams: usize,
    /// How often `serve` (no sync in this process) checks the database's generation.
    pub poll: Duration,
}

impl Default for StreamConfig {
    fn default() -> StreamConfig {
        StreamConfig {
            heartbeat: Duration::from_secs(15),
            max_streams: 64,
            poll: Duration::from_millis(500),
        }
    }
}

impl StreamConfig {
    /// The defaults, overridden by `PROMPTSHELF_EVENTS_HEARTBEAT_MS` and
    /// `PROMPTSHELF_EVENTS_MAX_STREAMS` (unparsable values are ignored).
    pub fn from_env() -> StreamConfig {
        let num = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut c = StreamConfig::default();
        if let Some(ms) = num("PROMPTSHELF_EVENTS_HEARTBEAT_MS").filter(|&ms| ms > 0) {
            c.heartbeat = Duration::from_millis(ms);
        }
        if let Some(n) = num("PROMPTSHELF_EVENTS_MAX_STREAMS") {
            c.max_streams = n as usize;
        }
        c
    }
}

/// Open-stream count, the feed `serve` makes for itself, and the signal that ends every
/// stream when the server shuts down (a graceful shutdown waits for open requests, and a
/// stream never ends by itself).
pub struct Streams {
    open: Arc<AtomicUsize>,
    own_feed: OnceLock<Arc<Feed>>,
    closing: tokio::sync::watch::Sender<bool>,
}

impl Default for Streams {
    fn default() -> Streams {
        Streams {
            open: Arc::default(),
            own_feed: OnceLock::new(),
            closing: tokio::sync::watch::channel(false).0,
        }
    }
}

impl Streams {
    /// Ends every open stream (and any opened later).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }
}

/// Decrements the open-stream count when the stream (or the refused request) is dropped.
struct Slot(Arc<AtomicUsize>);
impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The sync's feed, or (under `serve`) one fed by a poller of the database's generation,
/// started at the current generation (so the first stream's `hello` is not followed by a
/// spurious `reset`).
async fn feed_of(st: &Arc<AppState>) -> Arc<Feed> {
    if let Some(f) = st.source.feed() {
        return f;
    }
    if let Some(f) = st.streams.own_feed.get() {
        return f.clone();
    }
    let g = generation(st.clone()).await;
    st.streams
        .own_feed
        .get_or_init(|| {
            let feed = Arc::new(Feed::default());
            feed.published(g.unwrap_or(0), &[]);
            tokio::spawn(poll(Arc::downgrade(st), feed.clone(), g));
            feed
        })
        .clone()
}

async fn generation(st: Arc<AppState>) -> Option<u64> {
    tokio::task::spawn_blocking(move || {
        st.pool
            .with_reader(|r| read::generation(r.conn()).ok())
            .ok()
            .flatten()
    })
    .await
    .ok()
    .flatten()
}

/// `serve`: a `reset` whenever the database's generation moves; ends with the server.
async fn poll(st: Weak<AppState>, feed: Arc<Feed>, mut last: Option<u64>) {
    loop {
        let Some(state) = st.upgrade() else { return };
        let every = state.cfg.stream.poll;
        let g = generation(state).await;
        match (last, g) {
            (None, Some(g)) => feed.published(g, &[]),
            (Some(prev), Some(g)) if prev != g => feed.push_event(ChangeEvent::reset(g)),
            _ => {}
        }
        last = g.or(last);
        tokio::time::sleep(every).await;
    }
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The read API's CORS headers for this request, whatever the policy (`--cors-origin`):
/// the core applies it to its own answer for `/v1/events` (a JSON 404 that reads nothing),
/// and the stream copies them, so a page on another origin may follow the stream exactly
/// when it may read the API.
async fn cors(st: &Arc<AppState>, req: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    let mut probe = promptshelf_core::api::Request::get("/v1/events");
    if let Some(o) = req.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        probe = probe.with_header("origin", o);
    }
    let st = st.clone();
    let answer = tokio::task::spawn_blocking(move || {
        st.pool
            .with_reader(|r| promptshelf_core::api::handle(&probe, r, &st.cfg.api))
            .ok()
    })
    .await
    .ok()
    .flatten();
    answer
        .map(|r| r.headers)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k.starts_with("access-control-") || *k == "vary")
        .filter_map(|(k, v)| {
            Some((
                HeaderName::from_bytes(k.as_bytes()).ok()?,
                HeaderValue::from_str(&v).ok()?,
            ))
        })
        .collect()
}

fn sse(kind: &'static str, id: u64, data: String) -> Event {
    Event::default().event(kind).id(id.to_string()).data(data)
}

fn change(e: &ChangeEvent) -> Event {
    sse(
        e.kind,
        e.generation,
        serde_json::to_string(e).unwrap_or_else(|_| "{}".into()),
    )
}

fn reset(generation: u64) -> Event {
    change(&ChangeEvent::reset(generation))
}

struct Follow {
    feed: Arc<Feed>,
    rx: tokio::sync::watch::Receiver<u64>,
    /// The generation of the last event sent.
    cursor: u64,
    pending: VecDeque<Event>,
    closing: tokio::sync::watch::Receiver<bool>,
    _slot: Slot,
}

impl Follow {
    fn catch_up(&mut self) {
        match self.feed.since(self.cursor) {
            Since::Events(events) => {
                for e in events {
                    self.cursor = e.generation;
                    self.pending.push_back(change(&e));
                }
            }
            Since::Gap(g) => {
                self.cursor = g;
                self.pending.push_back(reset(g));
            }
        }
    }
}

pub async fn events(
    State(st): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let feed = if method == Method::GET || method == Method::HEAD {
        Some(feed_of(&st).await)
    } else {
        None
    };
    let mut resp = open(&st, &method, &headers, feed);
    for (k, v) in cors(&st, &headers).await {
        resp.headers_mut().append(k, v);
    }
    resp
}

fn open(
    st: &Arc<AppState>,
    method: &Method,
    headers: &HeaderMap,
    feed: Option<Arc<Feed>>,
) -> Response {
    if method == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Accept, Cache-Control, Last-Event-ID"),
        );
        return r;
    }
    let Some(feed) = feed else {
        let mut r = json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route accepts GET, HEAD and OPTIONS",
        );
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        return r;
    };
    let cfg = &st.cfg.stream;
    let slot = Slot(st.streams.open.clone());
    if st.streams.open.fetch_add(1, Ordering::Relaxed) >= cfg.max_streams {
        drop(slot);
        let mut r = json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            &format!(
                "{} event streams are open, the most this server allows; retry later",
                cfg.max_streams
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return r;
    }
    // Subscribe before reading the ring: an event added in between wakes the stream,
    // which then reads from its cursor (never twice, never missed).
    let rx = feed.watch();
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut f = Follow {
        cursor: 0,
        feed,
        rx,
        closing: st.streams.closing.subscribe(),
        pending: VecDeque::new(),
        _slot: slot,
    };
    match last {
        Some(id) => {
            f.cursor = id;
            f.catch_up();
        }
        None => {
            f.cursor = f.feed.current();
            let hello = serde_json::json!({"type": "hello", "generation": f.cursor});
            f.pending.push_back(
                sse("hello", f.cursor, hello.to_string()).retry(Duration::from_millis(1000)),
            );
        }
    }
    let stream = futures_util::stream::unfold(f, |mut f| async move {
        loop {
            if let Some(e) = f.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(e), f));
            }
            tokio::select! {
                changed = f.rx.changed() => if changed.is_err() {
                    return None; // the feed is gone: the sync stopped
                },
                _ = f.closing.wait_for(|c| *c) => return None, // the server is shutting down
            }
            f.catch_up();
        }
    });
    let mut r = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(cfg.heartbeat).text("ping"))
        .into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Tell buffering reverse proxies (nginx) to pass events through at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
