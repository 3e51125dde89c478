//! The Workers fetch handler: a thin adapter between `worker::Request`/`Response` and
//! [`crate::answer`]. The snapshot is fetched from the static-assets binding on an
//! isolate's first request, opened once and kept for every later request.

use crate::{answer, api_config, snapshot_part_asset, Snapshot, ASSETS_BINDING, SNAPSHOT_ASSET};
use promptshelf_core::api;
use std::cell::RefCell;
use std::rc::Rc;
use worker::{event, Context, Env, Fetcher, Headers, Request, Response, ResponseBody, Result};

thread_local! {
    /// This isolate's open snapshot. Only a successful open is kept: a failed one (a
    /// missing asset, say) is retried on the next request.
    static SNAPSHOT: RefCell<Option<Rc<Snapshot>>> = const { RefCell::new(None) };
}

async fn snapshot(env: &Env) -> std::result::Result<Rc<Snapshot>, String> {
    if let Some(s) = SNAPSHOT.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let assets = env.assets(ASSETS_BINDING).map_err(|e| {
        format!("the `{ASSETS_BINDING}` assets binding is missing ({e}); see wrangler.toml")
    })?;
    let bytes = match fetch_asset(&assets, SNAPSHOT_ASSET).await? {
        Some(b) => b,
        None => {
            // A big snapshot ships in pieces (see `snapshot_part_asset`).
            let mut all = Vec::new();
            let mut i = 0;
            while let Some(piece) = fetch_asset(&assets, &snapshot_part_asset(i)).await? {
                all.extend_from_slice(&piece);
                i += 1;
            }
            if i == 0 {
                return Err(format!(
                    "the snapshot asset {SNAPSHOT_ASSET} is missing; build it with scripts/build-edge"
                ));
            }
            all
        }
    };
    let snap = Rc::new(Snapshot::from_vec(bytes).map_err(|e| e.to_string())?);
    SNAPSHOT.with(|s| *s.borrow_mut() = Some(snap.clone()));
    Ok(snap)
}

/// One asset's bytes; `None` when it does not exist.
async fn fetch_asset(assets: &Fetcher, path: &str) -> std::result::Result<Option<Vec<u8>>, String> {
    let mut resp = assets
        .fetch(format!("https://assets.invalid{path}"), None)
        .await
        .map_err(|e| format!("fetching the asset {path} failed: {e}"))?;
    match resp.status_code() {
        200 => resp
            .bytes()
            .await
            .map(Some)
            .map_err(|e| format!("reading the asset {path} failed: {e}")),
        404 => Ok(None),
        s => Err(format!("fetching the asset {path} answered status {s}")),
    }
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let cfg = api_config();
    let url = req.url()?;
    let method = req.method().to_string();
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let announced: u64 = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    // Like the local server: only POST reads a body, at most the limit; a longer one is a
    // 413 from the core (`body_len` says how long).
    let max = cfg.max_body_bytes;
    let mut body = Vec::new();
    let mut body_len = announced;
    if method == "POST" && announced <= max as u64 {
        body = req.bytes().await.unwrap_or_default();
        if body.len() > max {
            body.clear();
            body_len = max as u64 + 1;
        }
    }
    let request = api::Request {
        method,
        path: url.path().to_owned(),
        query: url.query().unwrap_or("").to_owned(),
        headers,
        body_len,
    };
    let snap = snapshot(&env).await;
    let resp = answer(snap.as_deref().map_err(String::as_str), &request, &body);
    to_worker(resp)
}

/// A core response as a Workers response (the runtime drops the body of HEAD answers).
fn to_worker(r: api::Response) -> Result<Response> {
    let headers = Headers::new();
    for (k, v) in &r.headers {
        headers.append(k, v)?;
    }
    let body = if r.body.is_empty() {
        ResponseBody::Empty
    } else {
        ResponseBody::Body(r.body)
    };
    Ok(Response::from_body(body)?
        .with_status(r.status)
        .with_headers(headers))
}
