//! The Workers fetch handler: a thin adapter between `worker::Request`/`Response` and
//! [`crate::answer`]. The snapshot is fetched from the static-assets binding on an
//! isolate's first request, opened once and kept for every later request; in D1 mode
//! (`PROMPTSHELF_SOURCE = "d1"`) the rows are copied out of D1 instead, and copied again
//! when D1's `snapshot_id` changes.

use crate::d1::{queries, query_columns, row_values, snapshot_from_rows, SNAPSHOT_ID_QUERY};
use crate::{
    answer_with, api_config_from, snapshot_part_asset, Snapshot, ASSETS_BINDING, CORS_VAR,
    D1_BINDING, SNAPSHOT_ASSET,
};
use promptshelf_core::api;
use std::cell::RefCell;
use std::rc::Rc;
use worker::{
    event, Context, D1Database, Date, Env, Fetcher, Headers, Request, Response, ResponseBody,
    Result,
};

thread_local! {
    /// This isolate's open snapshot. Only a successful open is kept: a failed one (a
    /// missing asset, say) is retried on the next request.
    static SNAPSHOT: RefCell<Option<Rc<Snapshot>>> = const { RefCell::new(None) };
    /// D1 mode: the copy in memory, its `snapshot_id` and when D1 was last asked.
    static D1_COPY: RefCell<Option<D1Copy>> = const { RefCell::new(None) };
}

struct D1Copy {
    id: String,
    checked_ms: u64,
    snap: Rc<Snapshot>,
}

/// How often D1 is asked whether its contents changed, unless the
/// `PROMPTSHELF_D1_RECHECK_MS` variable says otherwise.
const D1_RECHECK_MS: u64 = 10_000;

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

/// D1 mode (`PROMPTSHELF_SOURCE = "d1"`): serve an in-memory copy of the D1 database,
/// re-copied when its `snapshot_id` changes. While D1 is being reloaded (no
/// `snapshot_id` yet) or cannot be reached, the previous copy keeps being served.
async fn d1_snapshot(env: &Env) -> std::result::Result<Rc<Snapshot>, String> {
    let recheck = var(env, "PROMPTSHELF_D1_RECHECK_MS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(D1_RECHECK_MS);
    let now = Date::now().as_millis();
    let current = D1_COPY.with(|c| {
        c.borrow()
            .as_ref()
            .map(|c| (c.id.clone(), c.checked_ms, c.snap.clone()))
    });
    if let Some((_, checked, snap)) = &current {
        if now.saturating_sub(*checked) < recheck {
            return Ok(snap.clone());
        }
    }
    let db = env
        .d1(D1_BINDING)
        .map_err(|e| format!("the `{D1_BINDING}` D1 binding is missing ({e}); see docs/edge.md"))?;
    let id = db
        .prepare(SNAPSHOT_ID_QUERY)
        .first::<String>(Some("value"))
        .await
        .map_err(|e| format!("reading snapshot_id from D1 failed: {e}"));
    match (id, current) {
        (Ok(Some(id)), Some((cur, _, snap))) if id == cur => {
            D1_COPY.with(|c| {
                if let Some(c) = c.borrow_mut().as_mut() {
                    c.checked_ms = now;
                }
            });
            Ok(snap)
        }
        (Ok(Some(_)), current) => match copy_d1(&db).await {
            Ok((id, snap)) => {
                let snap = Rc::new(snap);
                D1_COPY.with(|c| {
                    *c.borrow_mut() = Some(D1Copy {
                        id,
                        checked_ms: now,
                        snap: snap.clone(),
                    })
                });
                Ok(snap)
            }
            Err(e) => current.map(|c| c.2).ok_or(e),
        },
        (_, Some((_, _, snap))) => Ok(snap),
        (Err(e), None) => Err(e),
        (Ok(None), None) => Err(
            "the D1 database holds no promptshelf snapshot (no snapshot_id); load one with \
             `npx wrangler d1 execute DB --file` on the SQL of `promptshelf build --d1-sql`"
                .into(),
        ),
    }
}

/// Copies every row the read API needs out of D1, in one batch (one transaction, so one
/// consistent state), into an in-memory snapshot.
async fn copy_d1(db: &D1Database) -> std::result::Result<(String, Snapshot), String> {
    let mut statements: Vec<_> = queries().into_iter().map(|q| db.prepare(q)).collect();
    statements.push(db.prepare(SNAPSHOT_ID_QUERY));
    let results = db
        .batch(statements)
        .await
        .map_err(|e| format!("reading the D1 database failed: {e}"))?;
    let columns = query_columns();
    let mut rows = Vec::with_capacity(columns.len());
    for (cols, result) in columns.iter().zip(&results) {
        let objects: Vec<serde_json::Map<String, serde_json::Value>> = result
            .results()
            .map_err(|e| format!("reading D1 rows failed: {e}"))?;
        rows.push(
            objects
                .iter()
                .map(|o| row_values(cols, o))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?,
        );
    }
    let id = results
        .last()
        .and_then(|r| {
            r.results::<serde_json::Map<String, serde_json::Value>>()
                .ok()
        })
        .and_then(|v| v.into_iter().next())
        .and_then(|o| o.get("value").and_then(|v| v.as_str().map(str::to_owned)))
        .ok_or("the D1 database was being reloaded; try again")?;
    let snap = snapshot_from_rows(&rows).map_err(|e| e.to_string())?;
    Ok((id, snap))
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
            // A big snapshot ships in pieces (see `snapshot_part_asset`). The buffer is
            // sized once from the SQLite header of the first piece: growing it piece by
            // piece would leave the isolate's memory (which never shrinks) at about twice
            // the snapshot, over the 128 MB limit for big libraries.
            let Some(first) = fetch_asset(&assets, &snapshot_part_asset(0)).await? else {
                return Err(format!(
                    "the snapshot asset {SNAPSHOT_ASSET} is missing; build it with scripts/build-edge"
                ));
            };
            let mut all = Vec::with_capacity(crate::snapshot::declared_size(&first).unwrap_or(0));
            all.extend_from_slice(&first);
            drop(first);
            let mut i = 1;
            while let Some(piece) = fetch_asset(&assets, &snapshot_part_asset(i)).await? {
                all.extend_from_slice(&piece);
                i += 1;
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
    let cfg = match api_config_from(var(&env, CORS_VAR).as_deref()) {
        Ok(c) => c,
        Err(resp) => return to_worker(resp),
    };
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
    let snap = if var(&env, "PROMPTSHELF_SOURCE").as_deref() == Some("d1") {
        d1_snapshot(&env).await
    } else {
        snapshot(&env).await
    };
    let resp = answer_with(
        snap.as_deref().map_err(String::as_str),
        &request,
        &body,
        &cfg,
    );
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
