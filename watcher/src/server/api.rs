//! `/v1/*` (and every unmatched path): the core's pure read-API handler, run on the
//! blocking pool inside one read transaction, with a time limit. The adapter only
//! converts types; every answer (errors included) comes from the core, so the edge
//! worker returns the same bytes.

use super::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use promptshelf_core::api::{self, ApiError, Request};
use std::sync::Arc;
use std::time::Instant;

pub async fn handle(State(st): State<Arc<AppState>>, request: axum::extract::Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let (method, uri, headers): (Method, Uri, HeaderMap) = (parts.method, parts.uri, parts.headers);
    let req = Request {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body_len: headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0),
    };
    // Only POST routes (prompt rendering) read a body; at most the configured limit
    // is read, and a longer one is a 413 from the core (`body_len` says how long).
    let mut bytes = Vec::new();
    if method == Method::POST && req.body_len <= st.cfg.api.max_body_bytes as u64 {
        match axum::body::to_bytes(body, st.cfg.api.max_body_bytes).await {
            Ok(b) => bytes = b.to_vec(),
            Err(_) => {
                let e = ApiError::payload_too_large(
                    st.cfg.api.max_body_bytes as u64 + 1,
                    st.cfg.api.max_body_bytes,
                );
                return to_http(api::error_response(&e));
            }
        }
    }
    let route = super::metrics::route_label(&req.path);
    let job = {
        let st = st.clone();
        tokio::task::spawn_blocking(move || {
            st.pool
                .with_reader(|r| api::handle_with_body(&req, &bytes, r, &st.cfg.api))
        })
    };
    let resp = match tokio::time::timeout(st.cfg.request_timeout, job).await {
        Ok(Ok(Ok(r))) => r,
        Ok(Ok(Err(store))) => api::error_response(&ApiError::from(store)),
        Ok(Err(_panic)) => api::error_response(&ApiError::new(
            500,
            "internal",
            "the request handler failed; this is a bug",
        )),
        Err(_) => api::error_response(&ApiError::new(
            503,
            "timeout",
            format!(
                "the request took longer than {} ms",
                st.cfg.request_timeout.as_millis()
            ),
        )),
    };
    st.metrics.observe(route, resp.status, started.elapsed());
    to_http(resp)
}

/// A core response as an HTTP response.
pub fn to_http(r: api::Response) -> Response {
    let mut out = Response::new(Body::from(r.body));
    *out.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = out.headers_mut();
    for (k, v) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            if let Ok(k) = HeaderName::from_bytes(k.as_bytes()) {
                h.append(k, v);
            }
        }
    }
    out
}
