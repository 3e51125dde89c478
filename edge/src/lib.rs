//! promptshelf's read API as a Cloudflare Worker.
//!
//! The crate splits in two so that almost everything is testable without a Workers runtime:
//! - [`route`]: method + path → status and JSON body. Pure, host-independent, unit-tested natively.
//! - `entry` (wasm32 only): the `worker` crate's fetch handler, a thin adapter from
//!   `worker::Request` to [`route`] and back.
//!
//! Served today: `GET /v1/health`. The full read API v1 comes from the core's pure
//! handler once it lands (issue 7).

#[cfg(target_arch = "wasm32")]
mod entry;

/// A response the edge sends: HTTP status and a JSON body (errors included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeResponse {
    pub status: u16,
    pub body: String,
}

impl EdgeResponse {
    fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            body: value.to_string(),
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({ "error": { "code": code, "message": message } }),
        )
    }
}

/// Answers one request. `method` is the HTTP method as sent (upper case), `path` the URL path
/// without the query string.
pub fn route(method: &str, path: &str) -> EdgeResponse {
    match (method, path) {
        ("GET" | "HEAD", "/v1/health") => EdgeResponse::json(
            200,
            &serde_json::json!({
                "status": "ok",
                "host": "edge",
                "version": env!("CARGO_PKG_VERSION"),
            }),
        ),
        (_, "/v1/health") => EdgeResponse::error(
            405,
            "method_not_allowed",
            "only GET and HEAD are allowed on this route",
        ),
        _ => EdgeResponse::error(404, "not_found", "no such route"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_json_ok() {
        let r = route("GET", "/v1/health");
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["status"], "ok");
    }

    #[test]
    fn unknown_route_is_json_404() {
        let r = route("GET", "/nope");
        assert_eq!(r.status, 404);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["error"]["code"], "not_found");
    }

    #[test]
    fn wrong_method_is_405() {
        assert_eq!(route("POST", "/v1/health").status, 405);
    }
}
