//! The Workers fetch handler: a thin adapter between `worker::Request`/`Response` and
//! the core's handler over one of three sources (`docs/edge.md`):
//! - the whole snapshot, fetched from the static-assets binding on an isolate's first
//!   request and kept (small libraries: `scripts/build-edge` ships it only then);
//! - else the chunk set and document set (`promptshelf build --site`), whose files a
//!   request needs are fetched from the assets per request, in rounds
//!   (`promptshelf_store::docset`), and cached under a byte budget;
//! - D1 mode (`PROMPTSHELF_SOURCE = "d1"`): the request's queries, in rounds, through a
//!   D1 session (`promptshelf_store::d1_read`).
//!
//! All SQL and file formats live in the store crate; this file only runs queries and
//! fetches files.

use crate::{
    answer_source, api_config_from, site_asset, snapshot_part_asset, unavailable, Snapshot,
    ASSETS_BINDING, CORS_VAR, D1_BINDING, SNAPSHOT_ASSET,
};
use promptshelf_core::api;
use promptshelf_store::d1_read::{Arg, D1Request, D1State, Rows, DEFAULT_CACHE_BYTES};
use promptshelf_store::docset::{SiteRequest, SiteState, DOCS_MANIFEST};
use std::cell::RefCell;
use std::rc::Rc;
use worker::wasm_bindgen::JsValue;
use worker::{
    event, Context, D1DatabaseSession, Date, Env, Fetcher, Headers, Request, Response,
    ResponseBody, Result,
};

/// Where an isolate's library comes from in snapshot mode (decided on its first
/// request, from which assets exist).
enum Source {
    /// The whole snapshot, open in memory (small libraries).
    Whole(Rc<Snapshot>),
    /// The chunk set and document set, fetched per request.
    Site,
}

thread_local! {
    /// This isolate's source. Only a successful open is kept: a failed one (a missing
    /// asset, say) is retried on the next request.
    static SOURCE: RefCell<Option<Rc<Source>>> = const { RefCell::new(None) };
    /// Snapshot chunk mode: manifests and cached files. Taken out for the length of a
    /// request (a concurrent request of the same isolate starts from an empty one).
    static SITE: RefCell<Option<SiteState>> = const { RefCell::new(None) };
    /// D1 mode: the contents last seen, their manifest and cached chunks.
    static D1: RefCell<Option<D1State>> = const { RefCell::new(None) };
}

/// How often D1 is asked whether its contents changed before a request is answered
/// from what the isolate knows, unless `PROMPTSHELF_D1_RECHECK_MS` says otherwise.
/// (Every batch of queries checks it anyway.)
const D1_RECHECK_MS: u64 = 10_000;
/// Rounds of fetching one request may take (a search takes at most four).
const MAX_ROUNDS: usize = 8;

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

fn cache_bytes(env: &Env) -> usize {
    var(env, "PROMPTSHELF_CACHE_BYTES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CACHE_BYTES)
}

/// D1 mode (`PROMPTSHELF_SOURCE = "d1"`): the request's queries, run in rounds through
/// one D1 session (replicas may serve it; each batch checks `snapshot_id`).
async fn d1_answer(
    env: &Env,
    req: &api::Request,
    body: &[u8],
    cfg: &api::ApiConfig,
) -> api::Response {
    let recheck = var(env, "PROMPTSHELF_D1_RECHECK_MS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(D1_RECHECK_MS);
    let mut state = D1
        .with(|s| s.borrow_mut().take())
        .unwrap_or_else(|| D1State::new(cache_bytes(env)));
    let out = d1_rounds(env, &mut state, req, body, cfg, recheck).await;
    D1.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            *s = Some(state);
        }
    });
    out.unwrap_or_else(|why| unavailable(&why, req, cfg))
}

async fn d1_rounds(
    env: &Env,
    state: &mut D1State,
    req: &api::Request,
    body: &[u8],
    cfg: &api::ApiConfig,
    recheck: u64,
) -> std::result::Result<api::Response, String> {
    let db = env
        .d1(D1_BINDING)
        .map_err(|e| format!("the `{D1_BINDING}` D1 binding is missing ({e}); see docs/edge.md"))?;
    // Read-only: any replica may answer the first query; later ones in this request
    // see at least what it saw (the session's sequential consistency).
    let session = db
        .with_session(Some("first-unconstrained"))
        .map_err(|e| format!("opening a D1 session failed: {e}"))?;
    let mut r = D1Request::new(state, Date::now().as_millis(), recheck);
    for _ in 0..MAX_ROUNDS {
        let resp = api::handle_with_body(req, body, r.reader(), cfg);
        if let Some(f) = r.failure() {
            return Err(f);
        }
        let batch = r.batch();
        if batch.is_empty() {
            return Ok(resp);
        }
        let rows = run_batch(&session, &batch).await?;
        r.absorb(&batch, rows, Date::now().as_millis())?;
    }
    Err("the request needed too many rounds of D1 queries".into())
}

async fn run_batch(
    session: &D1DatabaseSession,
    batch: &[promptshelf_store::d1_read::D1Query],
) -> std::result::Result<Vec<Rows>, String> {
    let mut stmts = Vec::with_capacity(batch.len());
    for q in batch {
        let args: Vec<JsValue> = q
            .args
            .iter()
            .map(|a| match a {
                Arg::Text(t) => JsValue::from_str(t),
                Arg::Int(i) => JsValue::from_f64(*i as f64),
            })
            .collect();
        stmts.push(
            session
                .prepare(q.sql.as_str())
                .bind(&args)
                .map_err(|e| format!("binding a D1 query failed: {e}"))?,
        );
    }
    let results = session
        .batch(stmts)
        .await
        .map_err(|e| format!("reading the D1 database failed: {e}"))?;
    results
        .iter()
        .map(|r| {
            r.results::<serde_json::Map<String, serde_json::Value>>()
                .map_err(|e| format!("reading D1 rows failed: {e}"))
        })
        .collect()
}

/// Snapshot chunk mode: the files the request needs, fetched from the assets in
/// rounds (all of a round at once).
async fn site_answer(
    assets: &Fetcher,
    env: &Env,
    req: &api::Request,
    body: &[u8],
    cfg: &api::ApiConfig,
) -> api::Response {
    let mut state = SITE
        .with(|s| s.borrow_mut().take())
        .unwrap_or_else(|| SiteState::new(cache_bytes(env)));
    let out = site_rounds(assets, &mut state, req, body, cfg).await;
    SITE.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            *s = Some(state);
        }
    });
    out.unwrap_or_else(|why| unavailable(&why, req, cfg))
}

async fn site_rounds(
    assets: &Fetcher,
    state: &mut SiteState,
    req: &api::Request,
    body: &[u8],
    cfg: &api::ApiConfig,
) -> std::result::Result<api::Response, String> {
    let mut r = SiteRequest::new(state);
    for _ in 0..MAX_ROUNDS {
        let resp = api::handle_with_body(req, body, r.reader(), cfg);
        if let Some(f) = r.failure() {
            return Err(f);
        }
        let want = r.wanted();
        if want.is_empty() {
            return Ok(resp);
        }
        let fetched = futures_util::future::join_all(want.iter().map(|n| async move {
            let path = site_asset(n);
            fetch_asset(assets, &path).await.map(|b| (n.clone(), b))
        }))
        .await
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()?;
        r.absorb(fetched)?;
    }
    Err("the request needed too many rounds of fetching".into())
}

/// Snapshot mode's source: the whole snapshot when one is shipped (`scripts/build-edge`
/// ships it for small libraries), else the chunk and document sets.
async fn source(assets: &Fetcher, env: &Env) -> std::result::Result<Rc<Source>, String> {
    if let Some(s) = SOURCE.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    // What the assets hold, asked at once (only one kind is shipped; the others are
    // cheap 404s): a whole snapshot, its first piece, or the site's two manifests.
    let index_manifest = site_asset(promptshelf_core::search::chunked::MANIFEST);
    let docs_manifest = site_asset(DOCS_MANIFEST);
    let (whole, part, docs, index) = futures_util::future::join4(
        fetch_asset(assets, SNAPSHOT_ASSET),
        fetch_asset(assets, &snapshot_part_asset(0)),
        fetch_asset(assets, &docs_manifest),
        fetch_asset(assets, &index_manifest),
    )
    .await;
    let src = match (whole?, part?, docs?) {
        (Some(b), _, _) => {
            Source::Whole(Rc::new(Snapshot::from_vec(b).map_err(|e| e.to_string())?))
        }
        (None, Some(first), _) => Source::Whole(Rc::new(whole_from_parts(assets, first).await?)),
        (None, None, Some(manifest)) => {
            // Seed this isolate's state with the manifests just read (a first search
            // then starts from the lexicon).
            let mut st = SiteState::new(cache_bytes(env));
            SiteRequest::new(&mut st).absorb(vec![
                (DOCS_MANIFEST.to_owned(), Some(manifest)),
                (
                    promptshelf_core::search::chunked::MANIFEST.to_owned(),
                    index?,
                ),
            ])?;
            SITE.with(|s| *s.borrow_mut() = Some(st));
            Source::Site
        }
        (None, None, None) => {
            return Err(format!(
                "the snapshot asset {SNAPSHOT_ASSET} is missing; build it with scripts/build-edge"
            ))
        }
    };
    let src = Rc::new(src);
    SOURCE.with(|s| *s.borrow_mut() = Some(src.clone()));
    Ok(src)
}

/// A snapshot shipped in pieces (see `snapshot_part_asset`). The buffer is sized once
/// from the SQLite header of the first piece: growing it piece by piece would leave the
/// isolate's memory (which never shrinks) at about twice the snapshot.
async fn whole_from_parts(
    assets: &Fetcher,
    first: Vec<u8>,
) -> std::result::Result<Snapshot, String> {
    let mut all = Vec::with_capacity(crate::snapshot::declared_size(&first).unwrap_or(0));
    all.extend_from_slice(&first);
    drop(first);
    let mut i = 1;
    while let Some(piece) = fetch_asset(assets, &snapshot_part_asset(i)).await? {
        all.extend_from_slice(&piece);
        i += 1;
    }
    Snapshot::from_vec(all).map_err(|e| e.to_string())
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
    let resp = if var(&env, "PROMPTSHELF_SOURCE").as_deref() == Some("d1") {
        d1_answer(&env, &request, &body, &cfg).await
    } else {
        match env.assets(ASSETS_BINDING) {
            Err(e) => unavailable(
                &format!(
                    "the `{ASSETS_BINDING}` assets binding is missing ({e}); see wrangler.toml"
                ),
                &request,
                &cfg,
            ),
            Ok(assets) => match source(&assets, &env).await {
                Ok(src) => match &*src {
                    Source::Whole(snap) => answer_source(Ok(&snap.reader()), &request, &body, &cfg),
                    Source::Site => site_answer(&assets, &env, &request, &body, &cfg).await,
                },
                Err(why) => unavailable(&why, &request, &cfg),
            },
        }
    };
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
