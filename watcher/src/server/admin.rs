//! Admin routes (local server only): status, errors, events, reload, sync barrier,
//! Prometheus metrics, and the liveness/readiness probes. Guarded by a bearer token
//! when one is configured (always, when bound beyond loopback).

use super::events::error_line;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use promptshelf_core::api::{self, ApiError, DocumentSource as _};
use promptshelf_store::read;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const RELOAD_TIMEOUT: Duration = Duration::from_secs(120);
const BARRIER_TIMEOUT: Duration = Duration::from_secs(30);

pub fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let guarded = Router::new()
        .route("/admin/status", get(status).fallback(not_allowed))
        .route("/admin/errors", get(errors).fallback(not_allowed))
        .route("/admin/events", get(events).fallback(not_allowed))
        .route("/admin/reload", post(reload).fallback(not_allowed))
        .route("/admin/sync", post(barrier).fallback(not_allowed))
        .route("/metrics", get(metrics).fallback(not_allowed))
        .route_layer(middleware::from_fn_with_state(state, require_token));
    Router::new()
        .route("/healthz", get(healthz).fallback(not_allowed))
        .route("/readyz", get(readyz).fallback(not_allowed))
        .merge(guarded)
}

fn json_error(status: u16, code: &'static str, message: impl Into<String>) -> Response {
    let mut r = super::api::to_http(api::error_response(&ApiError::new(status, code, message)));
    if status == 401 {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

async fn not_allowed() -> Response {
    json_error(
        405,
        "method_not_allowed",
        "method not allowed on this admin route",
    )
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(token) = &st.cfg.admin_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same(g.trim().as_bytes(), token.as_bytes())) {
            return json_error(
                401,
                "unauthorized",
                "admin routes need `Authorization: Bearer <token>`",
            );
        }
    }
    next.run(req).await
}

fn no_store(v: Value) -> Response {
    let mut r = Json(v).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Runs blocking admin work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(json_error(503, "unavailable", e)),
        Err(_) => Err(json_error(500, "internal", "admin task failed")),
    }
}

pub async fn status(State(st): State<Arc<AppState>>) -> Response {
    let st2 = st.clone();
    let db = blocking(move || {
        st2.pool
            .with_reader(|r| -> Result<Value, String> {
                let h = r.health().map_err(|e| e.to_string())?;
                let c = r.conn();
                let meta = |k| read::meta(c, k).ok().flatten();
                Ok(json!({
                    "path": st2.pool.path().display().to_string(),
                    "generation": h.generation,
                    "counts": h.counts,
                    "sync_errors": h.sync_errors,
                    "search_index": h.search_index,
                    "schema_version": h.schema_version,
                    "last_sync_at": meta(read::META_LAST_SYNC),
                    "library_root": meta(read::META_LIBRARY_ROOT),
                    // Git history (issue #15): HEAD, branch, shallow, broken labels.
                    "history": meta(crate::history::META_HISTORY)
                        .and_then(|h| serde_json::from_str::<Value>(&h).ok()),
                    // The configured labels (name, ref, commit, error): the dashboard's
                    // versions panel asks `?label=` for each to mark the versions.
                    "labels": promptshelf_store::versions::labels(c).unwrap_or_default(),
                }))
            })
            .map_err(|e| e.to_string())?
    })
    .await;
    let db = match db {
        Ok(v) => v,
        Err(r) => return r,
    };
    no_store(json!({
        "mode": st.source.mode(),
        "ready": st.source.ready(),
        "versions": {
            "promptshelf": env!("CARGO_PKG_VERSION"),
            "api": "v1",
            "schema": promptshelf_store::SCHEMA_VERSION,
            "sqlite": promptshelf_store::rusqlite::version(),
        },
        "server": {
            "listen": st.cfg.listen.to_string(),
            "uptime_ms": st.started.elapsed().as_millis() as u64,
            "requests": st.metrics.total(),
        },
        "database": db,
        "sync": st.source.sync_status(),
    }))
}

/// The sync errors, and (issue #15) every configured label that names no version
/// (`labels`: label, ref, why), so a missing ref shows here and not only in the log.
pub async fn errors(State(st): State<Arc<AppState>>) -> Response {
    let src = st.source.clone();
    let errs = match blocking(move || src.errors()).await {
        Ok(errs) => errs,
        Err(r) => return r,
    };
    let st2 = st.clone();
    let labels = blocking(move || {
        st2.pool
            .with_reader(|r| {
                promptshelf_store::versions::labels(r.conn()).map_err(|e| e.to_string())
            })
            .map_err(|e| e.to_string())?
    })
    .await
    .unwrap_or_default();
    let list: Vec<Value> = errs
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("display".into(), Value::String(error_line(e)));
            }
            v
        })
        .collect();
    let broken: Vec<Value> = labels
        .into_iter()
        .filter_map(|l| {
            let error = l.error?;
            Some(json!({ "label": l.label, "reference": l.reference, "error": error }))
        })
        .collect();
    no_store(json!({ "count": list.len(), "errors": list, "labels": broken }))
}

pub async fn events(State(st): State<Arc<AppState>>) -> Response {
    no_store(json!({ "events": st.events.recent() }))
}

pub async fn reload(State(st): State<Arc<AppState>>) -> Response {
    let src = st.source.clone();
    match blocking(move || src.reload(RELOAD_TIMEOUT)).await {
        Ok(v) => {
            st.events.push("sync", "manual reload".into());
            no_store(v)
        }
        Err(r) => r,
    }
}

pub async fn barrier(State(st): State<Arc<AppState>>) -> Response {
    let src = st.source.clone();
    match blocking(move || src.barrier(BARRIER_TIMEOUT)).await {
        Ok(v) => no_store(v),
        Err(r) => r,
    }
}

pub async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP promptshelf_up 1 while the server runs.\n# TYPE promptshelf_up gauge\npromptshelf_up 1\n");
    out.push_str(&format!(
        "# HELP promptshelf_uptime_seconds Seconds since the server started.\n# TYPE promptshelf_uptime_seconds gauge\npromptshelf_uptime_seconds {}\n",
        st.started.elapsed().as_secs()
    ));
    let st2 = st.clone();
    if let Ok(Some(h)) =
        blocking(move || Ok(st2.pool.with_reader(|r| r.health().ok()).ok().flatten())).await
    {
        out.push_str(&format!(
            "# HELP promptshelf_documents Documents in the database, by type.\n# TYPE promptshelf_documents gauge\n\
             promptshelf_documents{{type=\"persona\"}} {}\npromptshelf_documents{{type=\"prompt_template\"}} {}\n\
             # HELP promptshelf_sync_errors Files that currently fail to sync.\n# TYPE promptshelf_sync_errors gauge\npromptshelf_sync_errors {}\n\
             # HELP promptshelf_generation Content generation of the database.\n# TYPE promptshelf_generation gauge\npromptshelf_generation {}\n",
            h.counts.personas, h.counts.prompt_templates, h.sync_errors,
            h.generation.parse::<u64>().unwrap_or(0)
        ));
    }
    st.source.metrics(&mut out);
    st.metrics.render(&mut out);
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn healthz() -> Response {
    (StatusCode::OK, no_store(json!({"status": "ok"}))).into_response()
}

async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let src = st.source.clone();
    let ready = tokio::task::spawn_blocking(move || src.ready())
        .await
        .unwrap_or(false);
    if ready {
        no_store(json!({"status": "ready"}))
    } else {
        json_error(503, "not_ready", "the initial sync has not finished")
    }
}
