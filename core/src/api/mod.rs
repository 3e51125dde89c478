//! The read API v1 as a pure function: [`handle`] turns a [`Request`] (method, raw path,
//! raw query, headers) into a [`Response`] (status, headers, body bytes) by reading a
//! [`DocumentSource`]. The local server and the edge worker are thin adapters around it, so both
//! give byte-identical bodies for the same database. No I/O, no clocks: time limits and
//! sockets are the host's business.
//!
//! Routes (all `GET`/`HEAD`, plus `OPTIONS` for CORS preflight):
//! `/v1/health`, `/v1/documents`, `/v1/documents/{id}`, `/v1/search?q=`,
//! `/v1/personas[/{id}]`, `/v1/prompts[/{id}]`, `/v1/index`, `/v1/openapi.json`;
//! and `POST /v1/prompts/{id}/render` (see [`render`]).
//! The contract is `docs/openapi.json`, served at `/v1/openapi.json`.

pub mod cors;
pub mod cursor;
mod engine;
pub mod error;
pub mod http;
pub mod memory;
mod openapi;
pub mod render;
mod routes;
pub mod store;
#[cfg(test)]
mod tests;
pub mod versions;

pub use engine::load_index;
pub use error::ApiError;
pub use openapi::OPENAPI_JSON;
pub use routes::route_label;
pub use store::{
    Counts, DocumentSource, FieldFilter, HealthInfo, ListPage, ListRequest, RawDocument,
    RawListPage, SearchProblem, SearchRequest, Searcher, ServedDocument, StoreError,
};

/// One HTTP request as the host received it. `path` and `query` are raw (still
/// percent-encoded); the handler decodes them strictly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The HTTP method, upper case as sent.
    pub method: String,
    /// The path part of the request target, e.g. `/v1/documents/a%2Fb`.
    pub path: String,
    /// The query string without `?` (empty when absent).
    pub query: String,
    /// Header names in any case; looked up case-insensitively.
    pub headers: Vec<(String, String)>,
    /// Length of the request body the client sent (or announced), in bytes.
    pub body_len: u64,
}

impl Request {
    /// A `GET` for `target` (`/path?query`), for tests and simple hosts.
    pub fn get(target: &str) -> Request {
        Request::new("GET", target)
    }

    /// A request with `method` for `target` (`/path?query`).
    pub fn new(method: &str, target: &str) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body_len: 0,
        }
    }

    /// Adds a header (tests and simple hosts build requests this way).
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the host sends back. For `HEAD` the body is still filled in (so hosts can
/// report its length); HTTP stacks drop it on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Header names are lower case.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes (JSON, or the index blob for `/v1/index`).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (tests and adapters; `None` when it is not JSON).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Which browser origins may read the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// `Access-Control-Allow-Origin: *` (the default: the read API is public data).
    AllowAll,
    /// Only these exact origins (e.g. `https://app.example.com`) are echoed back.
    Origins(Vec<String>),
    /// Pages served from this machine — `http(s)` origins on `localhost`, `*.localhost`,
    /// `127.0.0.0/8` or `[::1]`, any port (a Vite dev page on `localhost:5173`) — plus
    /// these exact origins. The local server's default: websites its user visits may not
    /// read a private library. [`Cors::from_list`] builds it from the `cors-origin`
    /// option.
    Local(Vec<String>),
    /// No CORS headers at all.
    Disabled,
}

/// Host-tunable behaviour. Bodies depend only on the limits here, so hosts that must
/// agree byte for byte (local server, edge) use the same limits; `cache_control`
/// differs per host (a CDN wants `s-maxage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Which browser origins may read the answers.
    pub cors: Cors,
    /// `Cache-Control` of successful data responses.
    pub cache_control: String,
    /// Longest request target (path + query) accepted, in bytes; beyond: 414.
    pub max_target_bytes: usize,
    /// Largest request body accepted (the read API uses none); beyond: 413.
    pub max_body_bytes: usize,
    /// List page size when `limit` is absent.
    pub default_page_size: u64,
    /// Largest `limit` a list accepts.
    pub max_page_size: u64,
    /// Largest `offset` a list accepts (deeper pages use cursors).
    pub max_offset: u64,
    /// Search hits per page when `limit` is absent.
    pub default_search_limit: u64,
    /// Largest `limit` a search accepts.
    pub max_search_limit: u64,
    /// Largest `offset` a search accepts.
    pub max_search_offset: u64,
    /// Longest search query, in characters.
    pub max_query_chars: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            cors: Cors::AllowAll,
            cache_control: "public, max-age=0, must-revalidate".into(),
            max_target_bytes: 8 * 1024,
            max_body_bytes: 16 * 1024,
            default_page_size: 50,
            max_page_size: 500,
            max_offset: 1_000_000,
            default_search_limit: 20,
            max_search_limit: 100,
            max_search_offset: 10_000,
            max_query_chars: 1_000,
        }
    }
}

/// Answers one read-API request. Never panics on client input: every bad request is a
/// 4xx JSON error; a failing store is a 503 JSON error.
pub fn handle(req: &Request, store: &dyn DocumentSource, cfg: &ApiConfig) -> Response {
    handle_with_body(req, &[], store, cfg)
}

/// [`handle`] for a request with a body: only `POST /v1/prompts/{id}/render` reads one.
/// Hosts read at most `max_body_bytes` of it (and set `body_len` to what the client
/// sent, so an oversized body is a 413).
pub fn handle_with_body(
    req: &Request,
    body: &[u8],
    store: &dyn DocumentSource,
    cfg: &ApiConfig,
) -> Response {
    let mut resp = match routes::dispatch(req, body, store, cfg) {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    cors::apply(req, cfg, &mut resp);
    resp
}

/// The response for an error, with the headers every error carries.
pub fn error_response(e: &ApiError) -> Response {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("cache-control", "no-store".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
    ];
    if e.status == 405 {
        headers.push(("allow", routes::ALLOW.to_owned()));
    }
    Response {
        status: e.status,
        headers,
        body: e.body(),
    }
}
