//! `GET /`: the sync dashboard, one hand-written HTML page (no framework) embedded in
//! the binary. It follows `/v1/events` and reloads `/admin/status`, `/admin/errors` and
//! `/admin/events`, searches through `/v1/search`, and its document page reads the
//! document, render and versions routes (#15, #16). Behind a token, open it as `/#token=...`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

pub const PAGE: &str = include_str!("dashboard.html");

pub async fn page() -> Response {
    let mut r = PAGE.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
        ),
    );
    r
}
