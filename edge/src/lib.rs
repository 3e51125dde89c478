//! promptshelf's read API as a Cloudflare Worker, served from the library shipped with it
//! as static assets, or from D1 (`docs/edge.md`).
//!
//! The crate is Worker glue only; the formats (snapshot, document set, chunked index, D1)
//! and every query live in the store and core crates:
//! - [`answer`] / [`answer_source`]: one request answered through the core's pure handler
//!   (`promptshelf_core::api::handle_with_body`) over a source — a [`Snapshot`]'s reader
//!   (`promptshelf_store::snapshot`; on wasm32 its SQLite is `sqlite-wasm-rs`), or a
//!   per-request source (`promptshelf_store::docset::SiteRequest` over the assets,
//!   `promptshelf_store::d1_read::D1Request` over D1) — the same code path as the local
//!   server, so both give byte-identical bodies. Host-independent, unit-tested natively.
//! - `entry` (wasm32 only): the `worker` crate's fetch handler. It picks the source on an
//!   isolate's first request, runs a request's rounds (fetching the asset files or running
//!   the D1 queries each round names), and converts `worker::Request`/`Response` to and
//!   from the core's types. Nothing else.

pub use promptshelf_store::d1;
#[cfg(target_arch = "wasm32")]
mod entry;
use promptshelf_store::snapshot;
#[cfg(test)]
mod tests;

pub use snapshot::{Snapshot, SnapshotError};

use promptshelf_core::api::{self, ApiConfig, ApiError, Cors, Request, Response};

/// Where `scripts/build-edge` puts the snapshot inside the assets directory
/// (`edge/build/assets/`), and the path the worker fetches from its `ASSETS` binding.
/// With `run_worker_first = true` every public request reaches the worker, so the file is
/// never served directly.
pub const SNAPSHOT_ASSET: &str = "/promptshelf/snapshot.db";

/// The name of the i-th piece of a snapshot too big for one asset (Workers' static assets
/// are at most 25 MiB per file): `scripts/build-edge` splits such a snapshot into 20 MiB
/// pieces (`split -d -a 3`), and the worker, finding no [`SNAPSHOT_ASSET`], concatenates
/// the pieces it finds from 0 up.
pub fn snapshot_part_asset(i: usize) -> String {
    format!("{SNAPSHOT_ASSET}.part-{i:03}")
}

/// The name of the static-assets binding in `wrangler.toml`.
pub const ASSETS_BINDING: &str = "ASSETS";

/// The D1 binding read when `PROMPTSHELF_SOURCE = "d1"` (see `docs/edge.md`).
pub const D1_BINDING: &str = "DB";

/// `Cache-Control` of successful data responses at the edge. A deployed snapshot never
/// changes, and every response carries an ETag derived from its content hash, so:
/// browsers reuse a response for a minute, then revalidate (a cheap 304); shared caches
/// (a CDN in front, Cloudflare's cache) keep it five minutes and may serve it stale for a
/// day while they revalidate in the background, or while the worker errors. A new
/// deploy is therefore visible everywhere within about five minutes.
pub const CACHE_CONTROL: &str =
    "public, max-age=60, s-maxage=300, stale-while-revalidate=86400, stale-if-error=86400";

/// The read API's settings at the edge: the local server's limits (so bodies agree byte for
/// byte), with a CDN-friendly `Cache-Control`.
pub fn api_config() -> ApiConfig {
    ApiConfig {
        cache_control: CACHE_CONTROL.to_owned(),
        ..ApiConfig::default()
    }
}

/// The variable (`[vars]` in `wrangler.toml`) that restricts which browser origins may
/// read the API: the local server's `--cors-origin` option, same syntax and same rule
/// (`promptshelf_core::api::Cors::from_option`): comma-separated origins, which pages on
/// `localhost` may also use, or `*`. Unset or empty: every origin (`*`), the edge's
/// default, since its read API is public on purpose.
pub const CORS_VAR: &str = "PROMPTSHELF_CORS_ORIGINS";

/// [`api_config`] with the CORS policy of the [`CORS_VAR`] value, if any. A value that is
/// not a list of origins is an error response (503, `bad_config`) for every request, so
/// a typo does not silently open or close the API.
pub fn api_config_from(cors: Option<&str>) -> Result<ApiConfig, Response> {
    let mut cfg = api_config();
    match cors.map(str::trim) {
        None | Some("") => {}
        Some(v) => {
            cfg.cors = Cors::from_option(v).map_err(|e| {
                api::error_response(&ApiError::new(
                    503,
                    "bad_config",
                    format!("the worker's {CORS_VAR} variable is invalid: {e}"),
                ))
            })?;
        }
    }
    Ok(cfg)
}

/// Where `scripts/build-edge` puts the site (`promptshelf build --site`) inside the assets
/// directory, for libraries too big to ship whole (see `docs/edge.md`).
pub const SITE_ROOT: &str = "/promptshelf/site/v1/";

/// The asset path of a file a request wants in snapshot chunk mode: document-set files
/// (`docs/...`) sit under the site's `v1/`, chunked-index files under `v1/index/`.
pub fn site_asset(name: &str) -> String {
    if name.starts_with(promptshelf_store::docset::DOCS_PREFIX) {
        format!("{SITE_ROOT}{name}")
    } else {
        format!("{SITE_ROOT}index/{name}")
    }
}

/// Answers one request from `source`, or — when there is none — the `503` of
/// [`unavailable`].
pub fn answer_source(
    source: Result<&dyn api::DocumentSource, &str>,
    req: &Request,
    body: &[u8],
    cfg: &ApiConfig,
) -> Response {
    match source {
        Ok(s) => api::handle_with_body(req, body, s, cfg),
        Err(why) => unavailable(why, req, cfg),
    }
}

/// The `503 snapshot_unavailable` JSON error saying why the worker has no library, on
/// every route (with CORS, so a browser client can read it).
pub fn unavailable(why: &str, req: &Request, cfg: &ApiConfig) -> Response {
    let mut resp = api::error_response(&ApiError::new(
        503,
        "snapshot_unavailable",
        format!("the worker has no usable library snapshot: {why}"),
    ));
    if cfg.cors == Cors::AllowAll {
        resp.headers
            .push(("access-control-allow-origin", "*".to_owned()));
    } else {
        api::cors::apply(req, cfg, &mut resp);
    }
    resp
}

/// Answers one request from the snapshot, or — when there is none (missing, corrupt) — a
/// `503` JSON error saying why, on every route.
pub fn answer(snapshot: Result<&Snapshot, &str>, req: &Request, body: &[u8]) -> Response {
    answer_with(snapshot, req, body, &api_config())
}

/// [`answer`] under `cfg` (see [`api_config_from`]).
pub fn answer_with(
    snapshot: Result<&Snapshot, &str>,
    req: &Request,
    body: &[u8],
    cfg: &ApiConfig,
) -> Response {
    match snapshot {
        Ok(s) => s.answer(req, body, cfg),
        Err(why) => unavailable(why, req, cfg),
    }
}
