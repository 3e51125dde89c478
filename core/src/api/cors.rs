//! CORS for the read API: allow-all by default (public, read-only data), or an exact
//! list of origins. Preflight answers live in `routes` (they depend on the route
//! existing); this module adds the per-response headers.

use super::{ApiConfig, Cors, Request, Response};

pub const ALLOW_METHODS: &str = "GET, HEAD, OPTIONS";
pub const ALLOW_HEADERS: &str = "Accept, Accept-Language, Content-Language, Content-Type, Cache-Control, If-None-Match, If-Modified-Since, Authorization";
pub const MAX_AGE: &str = "86400";

/// Whether `origin` may read responses; `Some(value)` is the `Access-Control-Allow-Origin`.
pub fn allowed_origin(cfg: &ApiConfig, origin: Option<&str>) -> Option<String> {
    match (&cfg.cors, origin) {
        (Cors::AllowAll, _) => Some("*".to_owned()),
        (Cors::Origins(list), Some(o)) if list.iter().any(|a| a == o) => Some(o.to_owned()),
        _ => None,
    }
}

/// Adds `Access-Control-*` and `Vary` headers to any response (errors included, so a
/// browser client can read the error JSON).
pub fn apply(req: &Request, cfg: &ApiConfig, resp: &mut Response) {
    if let Cors::Origins(_) = cfg.cors {
        resp.headers.push(("vary", "Origin".to_owned()));
    }
    if resp.header("access-control-allow-origin").is_some() {
        return; // preflight already answered
    }
    let origin = req.header("origin");
    if matches!(cfg.cors, Cors::Origins(_)) && origin.is_none() {
        return;
    }
    if let Some(allow) = allowed_origin(cfg, origin) {
        resp.headers.push(("access-control-allow-origin", allow));
        resp.headers
            .push(("access-control-expose-headers", "ETag".to_owned()));
    }
}
