//! Routing and the route handlers. Every input is validated before the store is
//! touched; every failure is an [`ApiError`].

use super::cors;
use super::cursor;
use super::error::ApiError;
use super::http::{if_none_match_matches, normalize_path, parse_query, parse_uint, percent_decode};
use super::openapi::OPENAPI_JSON;
use super::store::{DocumentSource, FieldFilter, ListRequest, SearchRequest};
use super::{ApiConfig, Request, Response};
use crate::model::DocType;
use serde::Serialize;

pub const ALLOW: &str = "GET, HEAD, OPTIONS";
/// Bumped when the JSON shape of any route changes, so cached bodies revalidate.
pub(super) const REPRESENTATION: &str = "1";
const MAX_ID_BYTES: usize = 512;
const MAX_TAG_FILTERS: usize = 16;
const MAX_FIELD_FILTERS: usize = 8;
const MAX_FIELD_DEPTH: usize = 8;
const MAX_FILTER_VALUE_BYTES: usize = 1024;

/// The resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Health,
    Documents,
    Document(String),
    TypedList(DocType),
    TypedDocument(DocType, String),
    Search,
    Index,
    /// `/v1/index/{file}`: one file of the chunked index (`manifest.json` or a chunk).
    IndexChunk(String),
    OpenApi,
    /// `POST /v1/prompts/{id}/render` (see `super::render`).
    Render(String),
    /// `GET /v1/documents/{id}/versions` (see `super::versions`).
    Versions(String),
    /// `GET /v1/documents/{id}/diff` (see `super::versions`).
    Diff(String),
    /// `GET /v1/prompts/{id}/schema`: the prompt's inputs/outputs JSON Schema.
    Schema(String),
}

pub fn dispatch(
    req: &Request,
    body: &[u8],
    store: &dyn DocumentSource,
    cfg: &ApiConfig,
) -> Result<Response, ApiError> {
    // What the edge sees: its runtime has already parsed the URL (see `normalize_path`).
    let path = normalize_path(&req.path);
    let target_len = path.len() + req.query.len();
    if target_len > cfg.max_target_bytes {
        return Err(ApiError::uri_too_long(target_len, cfg.max_target_bytes));
    }
    if req.path == "/v1/events" {
        // Live updates need a process that watches the files: only the local server.
        return Err(ApiError::not_found(
            "live updates (`GET /v1/events`) are served by the local server \
             (`promptshelf watch`), not by this host",
        ));
    }
    if req.body_len > cfg.max_body_bytes as u64 {
        return Err(ApiError::payload_too_large(
            req.body_len,
            cfg.max_body_bytes,
        ));
    }
    let route = resolve(&path)?;
    if let Route::Render(id) = &route {
        return match req.method.as_str() {
            "POST" => super::render::render_prompt(req, body, store, id),
            "OPTIONS" => Ok(options_for(req, cfg, super::render::ALLOW)),
            other => Err(ApiError::new(
                405,
                "method_not_allowed",
                format!(
                    "method {} is not allowed here; this route accepts POST and OPTIONS",
                    sanitize_method(other)
                ),
            )),
        };
    }
    match req.method.as_str() {
        "GET" | "HEAD" => {}
        "OPTIONS" => return Ok(options(req, cfg)),
        other => return Err(ApiError::method_not_allowed(&sanitize_method(other))),
    }
    let params = parse_query(&req.query)?;
    match route {
        Route::Health => health(store, &params),
        Route::OpenApi => openapi(req, cfg, &params),
        Route::Documents => {
            let q = list_query(&params, cfg, None)?;
            cached(req, store, cfg, |s| list(s, q), "application/json")
        }
        Route::TypedList(t) => {
            let q = list_query(&params, cfg, Some(t))?;
            cached(req, store, cfg, |s| list(s, q), "application/json")
        }
        Route::Document(id) => match super::versions::pick_param(&params)? {
            None => cached(req, store, cfg, |s| get(s, &id, None), "application/json"),
            Some(pick) => {
                let etag = etag_for(&store.generation()?);
                super::versions::get_version(req, store, cfg, etag, &id, &pick)
            }
        },
        Route::Versions(id) => {
            let etag = etag_for(&store.generation()?);
            super::versions::list_versions(req, store, cfg, etag, &id, &params)
        }
        Route::Diff(id) => {
            let etag = etag_for(&store.generation()?);
            super::versions::diff_versions(req, store, cfg, etag, &id, &params)
        }
        Route::TypedDocument(t, id) => {
            no_params(&params)?;
            cached(
                req,
                store,
                cfg,
                |s| get(s, &id, Some(t)),
                "application/json",
            )
        }
        Route::Search => {
            let sr = search_request(&params, cfg)?;
            cached(req, store, cfg, |s| search(s, &sr), "application/json")
        }
        Route::Index => {
            no_params(&params)?;
            cached(req, store, cfg, index, "application/octet-stream")
        }
        Route::IndexChunk(name) => {
            no_params(&params)?;
            if name == crate::search::chunked::MANIFEST {
                // The one mutable file: revalidated on every use (its ETag is the generation's).
                let mut r = cached(
                    req,
                    store,
                    cfg,
                    |s| index_chunk(s, &name),
                    "application/json",
                )?;
                for h in r.headers.iter_mut().filter(|h| h.0 == "cache-control") {
                    h.1 = "no-cache".to_owned();
                }
                return Ok(r);
            }
            // Every other file is named by the hash of its bytes: cacheable forever, so a
            // browser or CDN never asks twice (issue #14); its ETag is its name.
            let etag = format!("\"{}\"", name.replace(['/', '.'], "-"));
            let mut headers = vec![
                ("etag", etag.clone()),
                ("cache-control", super::versions::IMMUTABLE.to_owned()),
            ];
            if req
                .header("if-none-match")
                .is_some_and(|inm| if_none_match_matches(inm, &etag))
            {
                return Ok(Response {
                    status: 304,
                    headers,
                    body: Vec::new(),
                });
            }
            let body = index_chunk(store, &name)?;
            headers.insert(0, ("content-type", "application/octet-stream".to_owned()));
            headers.push(("x-content-type-options", "nosniff".to_owned()));
            Ok(Response {
                status: 200,
                headers,
                body,
            })
        }
        Route::Schema(id) => {
            no_params(&params)?;
            cached(req, store, cfg, |s| schema(s, &id), "application/json")
        }
        // Answered above, before the read-only method check.
        Route::Render(id) => super::render::render_prompt(req, body, store, &id),
    }
}

/// Methods are echoed in messages; keep them short and printable.
fn sanitize_method(m: &str) -> String {
    m.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(16)
        .collect()
}

/// Sub-resources of a document, addressed as `/v1/{collection}/{id}/{name}`. They are
/// matched on the last path segment, so the id before them may contain unencoded `/`
/// (`/v1/prompts/support/reply/render`). An id whose own last segment is one of these
/// names must be sent with its `/` encoded as `%2F` (the canonical form, which always
/// works). A route added later (`/v1/documents/{id}/versions`...) is one more row.
const SUB_RESOURCES: &[SubResource] = &[
    (
        Collection::Prompts,
        "render",
        Route::Render,
        "/v1/prompts/{id}/render",
    ),
    (
        Collection::Documents,
        "versions",
        Route::Versions,
        "/v1/documents/{id}/versions",
    ),
    (
        Collection::Documents,
        "diff",
        Route::Diff,
        "/v1/documents/{id}/diff",
    ),
    (
        Collection::Prompts,
        "schema",
        Route::Schema,
        "/v1/prompts/{id}/schema",
    ),
];

/// A sub-resource row: the collection it hangs off, its path segment, the route it makes
/// of the id before it, and its metrics label.
type SubResource = (Collection, &'static str, fn(String) -> Route, &'static str);

/// The collections whose documents are addressed by id in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    Documents,
    Personas,
    Prompts,
}

impl Collection {
    fn parse(seg: &str) -> Option<Collection> {
        match seg {
            "documents" => Some(Collection::Documents),
            "personas" => Some(Collection::Personas),
            "prompts" => Some(Collection::Prompts),
            _ => None,
        }
    }

    fn list(self) -> Route {
        match self {
            Collection::Documents => Route::Documents,
            Collection::Personas => Route::TypedList(DocType::Persona),
            Collection::Prompts => Route::TypedList(DocType::PromptTemplate),
        }
    }

    /// Metrics labels of the collection's list and item routes.
    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Collection::Documents => ("/v1/documents", "/v1/documents/{id}"),
            Collection::Personas => ("/v1/personas", "/v1/personas/{id}"),
            Collection::Prompts => ("/v1/prompts", "/v1/prompts/{id}"),
        }
    }

    fn item(self, id: String) -> Route {
        match self {
            Collection::Documents => Route::Document(id),
            Collection::Personas => Route::TypedDocument(DocType::Persona, id),
            Collection::Prompts => Route::TypedDocument(DocType::PromptTemplate, id),
        }
    }
}

/// Routes a path that [`normalize_path`] has already brought into the form the edge sees
/// (no dot segments). Each segment is percent-decoded; an id is every segment after the
/// collection name (minus a sub-resource name at the end) joined by `/`, so
/// `personas/support/agent` and `personas%2Fsupport%2Fagent` name the same document.
fn resolve(path: &str) -> Result<Route, ApiError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(ApiError::bad_path("the path must start with `/`"));
    };
    let mut segs = Vec::new();
    for raw in rest.split('/') {
        segs.push(percent_decode(raw, false, "path")?);
    }
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let route = match s.as_slice() {
        ["v1", "health"] => Some(Route::Health),
        ["v1", "search"] => Some(Route::Search),
        ["v1", "index"] => Some(Route::Index),
        ["v1", "index", file @ ..] => Some(Route::IndexChunk(file.join("/"))),
        ["v1", "openapi.json"] => Some(Route::OpenApi),
        ["v1", coll] => Collection::parse(coll).map(Collection::list),
        ["v1", coll, id @ ..] => match Collection::parse(coll) {
            Some(c) => Some(item_route(c, id)?),
            None => None,
        },
        _ => None,
    };
    route.ok_or_else(|| {
        ApiError::not_found(format!(
            "no route for `{}`; see /v1/openapi.json",
            truncate(path, 200)
        ))
    })
}

/// The route of `/v1/{collection}/{segs...}`: a sub-resource when the last segment
/// names one (and an id precedes it), else the document whose id is all of `segs`.
fn item_route(c: Collection, segs: &[&str]) -> Result<Route, ApiError> {
    if let [id @ .., last] = segs {
        let sub = SUB_RESOURCES
            .iter()
            .find(|(rc, name, ..)| *rc == c && name == last);
        if let (false, Some((_, _, make, _))) = (id.is_empty(), sub) {
            return Ok(make(valid_id(id.join("/"))?));
        }
    }
    Ok(c.item(valid_id(segs.join("/"))?))
}

/// The route template of `path` (`/v1/documents/{id}`), for metrics labels: the
/// handler's routing rules (normalised path, sub-resources matched from the end) without
/// its decoding, so labelling a request allocates nothing. `None` for a path no route
/// answers.
pub fn route_label(path: &str) -> Option<&'static str> {
    let path = normalize_path(path);
    let rest = path.strip_prefix("/v1/")?;
    let (head, tail) = match rest.split_once('/') {
        Some((h, t)) => (h, Some(t)),
        None => (rest, None),
    };
    let fixed = match head {
        "health" => Some("/v1/health"),
        "search" => Some("/v1/search"),
        "index" => Some("/v1/index"),
        "openapi.json" => Some("/v1/openapi.json"),
        _ => None,
    };
    if head == "index" && tail.is_some() {
        return Some("/v1/index/{file}");
    }
    if let Some(label) = fixed {
        return tail.is_none().then_some(label);
    }
    let c = Collection::parse(head)?;
    let Some(tail) = tail else {
        return Some(c.labels().0);
    };
    let sub = tail.rsplit_once('/').and_then(|(_, last)| {
        SUB_RESOURCES
            .iter()
            .find(|(rc, name, ..)| *rc == c && *name == last)
    });
    Some(sub.map_or(c.labels().1, |(.., label)| label))
}

fn valid_id(id: String) -> Result<String, ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid_parameter("the document id is empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(ApiError::invalid_parameter(format!(
            "the document id is longer than {MAX_ID_BYTES} bytes"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(ApiError::invalid_parameter(
            "the document id contains control characters",
        ));
    }
    Ok(id)
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn options(req: &Request, cfg: &ApiConfig) -> Response {
    options_for(req, cfg, ALLOW)
}

fn options_for(req: &Request, cfg: &ApiConfig, allow: &str) -> Response {
    let mut headers = vec![("allow", allow.to_owned())];
    let preflight = req.header("access-control-request-method").is_some();
    if preflight {
        if let Some(origin) = cors::allowed_origin(cfg, req.header("origin")) {
            headers.push(("access-control-allow-origin", origin));
            headers.push((
                "access-control-allow-methods",
                if allow == ALLOW {
                    cors::ALLOW_METHODS.to_owned()
                } else {
                    allow.to_owned()
                },
            ));
            headers.push((
                "access-control-allow-headers",
                cors::ALLOW_HEADERS.to_owned(),
            ));
            headers.push(("access-control-max-age", cors::MAX_AGE.to_owned()));
        }
    }
    Response {
        status: 204,
        headers,
        body: Vec::new(),
    }
}

fn no_params(params: &[(String, String)]) -> Result<(), ApiError> {
    match params.first() {
        None => Ok(()),
        Some((k, _)) => Err(unknown_param(k)),
    }
}

fn unknown_param(k: &str) -> ApiError {
    ApiError::invalid_parameter(format!("unknown query parameter `{}`", truncate(k, 100)))
}

fn once<'a>(slot: &mut Option<&'a str>, k: &str, v: &'a str) -> Result<(), ApiError> {
    if slot.replace(v).is_some() {
        return Err(ApiError::invalid_parameter(format!(
            "query parameter `{k}` given more than once"
        )));
    }
    Ok(())
}

fn list_query(
    params: &[(String, String)],
    cfg: &ApiConfig,
    fixed_type: Option<DocType>,
) -> Result<ListRequest, ApiError> {
    let (mut ty, mut cur, mut off, mut lim) = (None, None, None, None);
    let mut q = ListRequest::default();
    for (k, v) in params {
        match k.as_str() {
            "type" if fixed_type.is_none() => once(&mut ty, k, v)?,
            "cursor" => once(&mut cur, k, v)?,
            "offset" => once(&mut off, k, v)?,
            "limit" => once(&mut lim, k, v)?,
            "tag" => {
                if q.tags.len() >= MAX_TAG_FILTERS {
                    return Err(ApiError::invalid_parameter(format!(
                        "at most {MAX_TAG_FILTERS} `tag` filters"
                    )));
                }
                check_value("tag", v)?;
                q.tags.push(v.clone());
            }
            _ => match k.strip_prefix("field.") {
                Some(path) => {
                    if q.fields.len() >= MAX_FIELD_FILTERS {
                        return Err(ApiError::invalid_parameter(format!(
                            "at most {MAX_FIELD_FILTERS} `field.*` filters"
                        )));
                    }
                    check_value(k, v)?;
                    q.fields.push(FieldFilter {
                        path: field_path(path)?,
                        value: v.clone(),
                    });
                }
                None => return Err(unknown_param(k)),
            },
        }
    }
    q.doc_type = match (fixed_type, ty) {
        (Some(t), _) => Some(t),
        (None, None) => None,
        (None, Some(t)) => Some(DocType::parse(t).ok_or_else(|| {
            ApiError::invalid_parameter("`type` must be `persona` or `prompt_template`")
        })?),
    };
    q.limit = match lim {
        Some(v) => parse_uint("limit", v, 1, cfg.max_page_size)?,
        None => cfg.default_page_size.min(cfg.max_page_size),
    };
    q.offset = match off {
        Some(v) => parse_uint("offset", v, 0, cfg.max_offset)?,
        None => 0,
    };
    if let Some(c) = cur {
        if q.offset > 0 {
            return Err(ApiError::invalid_parameter(
                "use either `cursor` or `offset`, not both",
            ));
        }
        q.after_id = Some(cursor::decode(c)?);
    }
    Ok(q)
}

fn check_value(name: &str, v: &str) -> Result<(), ApiError> {
    if v.len() > MAX_FILTER_VALUE_BYTES {
        return Err(ApiError::invalid_parameter(format!(
            "`{}` is longer than {MAX_FILTER_VALUE_BYTES} bytes",
            truncate(name, 100)
        )));
    }
    Ok(())
}

fn field_path(path: &str) -> Result<Vec<String>, ApiError> {
    let segs: Vec<&str> = path.split('.').collect();
    let ok = !path.is_empty()
        && segs.len() <= MAX_FIELD_DEPTH
        && segs.iter().all(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    if !ok {
        return Err(ApiError::invalid_parameter(format!(
            "`field.{}`: a field path is 1 to {MAX_FIELD_DEPTH} keys of [A-Za-z0-9_-] joined by `.`",
            truncate(path, 100)
        )));
    }
    Ok(segs.into_iter().map(str::to_owned).collect())
}

fn search_request(params: &[(String, String)], cfg: &ApiConfig) -> Result<SearchRequest, ApiError> {
    let (mut q, mut off, mut lim) = (None, None, None);
    for (k, v) in params {
        match k.as_str() {
            "q" => once(&mut q, k, v)?,
            "offset" => once(&mut off, k, v)?,
            "limit" => once(&mut lim, k, v)?,
            _ => return Err(unknown_param(k)),
        }
    }
    let query =
        q.ok_or_else(|| ApiError::invalid_parameter("`q` (the search query) is required"))?;
    let chars = query.chars().count();
    if chars > cfg.max_query_chars {
        return Err(ApiError::invalid_parameter(format!(
            "`q` is {chars} characters; the limit is {}",
            cfg.max_query_chars
        )));
    }
    let limit = match lim {
        Some(v) => parse_uint("limit", v, 1, cfg.max_search_limit)?,
        None => cfg.default_search_limit.min(cfg.max_search_limit),
    };
    let offset = match off {
        Some(v) => parse_uint("offset", v, 0, cfg.max_search_offset)?,
        None => 0,
    };
    Ok(SearchRequest {
        query: query.to_owned(),
        limit: limit as usize,
        offset: offset as usize,
    })
}

/// The ETag of everything derived from the database at `generation`.
fn etag_for(generation: &str) -> String {
    let clean: String = generation
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        .take(128)
        .collect();
    format!("\"{REPRESENTATION}-{clean}\"")
}

/// Runs a data route with ETag revalidation: a matching `If-None-Match` is answered
/// with 304 before the route reads anything else.
fn cached(
    req: &Request,
    store: &dyn DocumentSource,
    cfg: &ApiConfig,
    body: impl FnOnce(&dyn DocumentSource) -> Result<Vec<u8>, ApiError>,
    content_type: &str,
) -> Result<Response, ApiError> {
    let etag = etag_for(&store.generation()?);
    let mut headers = vec![
        ("etag", etag.clone()),
        ("cache-control", cfg.cache_control.clone()),
    ];
    if let Some(inm) = req.header("if-none-match") {
        if if_none_match_matches(inm, &etag) {
            return Ok(Response {
                status: 304,
                headers,
                body: Vec::new(),
            });
        }
    }
    let body = body(store)?;
    headers.insert(0, ("content-type", content_type.to_owned()));
    headers.push(("x-content-type-options", "nosniff".to_owned()));
    Ok(Response {
        status: 200,
        headers,
        body,
    })
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(v)
        .map_err(|e| ApiError::unavailable(format!("could not serialize the response: {e}")))
}

fn health(store: &dyn DocumentSource, params: &[(String, String)]) -> Result<Response, ApiError> {
    no_params(params)?;
    #[derive(Serialize)]
    struct Health<'a> {
        status: &'a str,
        api: &'a str,
        version: &'a str,
        #[serde(flatten)]
        info: super::store::HealthInfo,
    }
    let info = store.health()?;
    let body = to_json(&Health {
        status: "ok",
        api: "v1",
        version: env!("CARGO_PKG_VERSION"),
        info,
    })?;
    Ok(Response {
        status: 200,
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("cache-control", "no-store".to_owned()),
            ("x-content-type-options", "nosniff".to_owned()),
        ],
        body,
    })
}

fn openapi(
    req: &Request,
    cfg: &ApiConfig,
    params: &[(String, String)],
) -> Result<Response, ApiError> {
    no_params(params)?;
    let etag = format!(
        "\"openapi-{}\"",
        &blake3::hash(OPENAPI_JSON.as_bytes()).to_hex()[..16]
    );
    let mut headers = vec![
        ("etag", etag.clone()),
        ("cache-control", cfg.cache_control.clone()),
    ];
    if req
        .header("if-none-match")
        .is_some_and(|inm| if_none_match_matches(inm, &etag))
    {
        return Ok(Response {
            status: 304,
            headers,
            body: Vec::new(),
        });
    }
    headers.insert(0, ("content-type", "application/json".to_owned()));
    headers.push(("x-content-type-options", "nosniff".to_owned()));
    Ok(Response {
        status: 200,
        headers,
        body: OPENAPI_JSON.as_bytes().to_vec(),
    })
}

fn get(store: &dyn DocumentSource, id: &str, want: Option<DocType>) -> Result<Vec<u8>, ApiError> {
    match store.get_raw(id)? {
        Some(doc) if want.is_none_or(|t| t == doc.doc_type) => Ok(doc.json),
        _ => Err(ApiError::not_found(format!(
            "no {} with id `{}`",
            match want {
                Some(DocType::Persona) => "persona",
                Some(DocType::PromptTemplate) => "prompt template",
                None => "document",
            },
            truncate(id, 200)
        ))),
    }
}

/// `{"id", "inputs", "outputs"}`: a prompt's JSON Schemas (see `crate::schema`).
fn schema(store: &dyn DocumentSource, id: &str) -> Result<Vec<u8>, ApiError> {
    match store.get(id)? {
        Some(d) if d.document.doc_type == DocType::PromptTemplate => {
            let s = crate::schema::of_document(&d.document);
            to_json(&serde_json::json!({
                "id": d.document.id,
                "inputs": s.get("inputs"),
                "outputs": s.get("outputs"),
            }))
        }
        _ => Err(ApiError::not_found(format!(
            "no prompt template with id `{}`",
            truncate(id, 200)
        ))),
    }
}

/// A list page: `{"data":[...],"total":N,"limit":N,"offset":N,"next_cursor":...}`,
/// written around the documents' ready-made JSON (byte for byte what serializing a
/// struct with those fields in that order gives).
fn list(store: &dyn DocumentSource, mut q: ListRequest) -> Result<Vec<u8>, ApiError> {
    let limit = q.limit;
    q.limit = limit + 1; // one extra tells whether a next page exists
    let mut page = store.list_raw(&q)?;
    let more = page.items.len() as u64 > limit;
    page.items.truncate(limit as usize);
    let next_cursor = if more {
        page.items.last().map(|d| cursor::encode(&d.id))
    } else {
        None
    };
    let docs_len: usize = page.items.iter().map(|d| d.json.len() + 1).sum();
    let mut out = Vec::with_capacity(docs_len + 128);
    out.extend_from_slice(b"{\"data\":[");
    for (i, d) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&d.json);
    }
    out.extend_from_slice(
        format!(
            "],\"total\":{},\"limit\":{limit},\"offset\":{},\"next_cursor\":",
            page.total, q.offset
        )
        .as_bytes(),
    );
    out.extend_from_slice(&to_json(&next_cursor)?);
    out.push(b'}');
    Ok(out)
}

fn search(store: &dyn DocumentSource, req: &SearchRequest) -> Result<Vec<u8>, ApiError> {
    let searcher = store
        .searcher()?
        .ok_or_else(|| ApiError::unavailable("the database holds no search index yet"))?;
    match searcher.search_json(req) {
        Ok(v) => to_json(&v),
        Err(p) => Err(ApiError::bad_query(p.message, p.position)),
    }
}

fn index_chunk(store: &dyn DocumentSource, name: &str) -> Result<Vec<u8>, ApiError> {
    let searcher = store
        .searcher()?
        .ok_or_else(|| ApiError::unavailable("the database holds no search index yet"))?;
    searcher.index_chunk(name).ok_or_else(|| {
        ApiError::not_found(format!(
            "no file `{}` in the chunked index; see /v1/index/manifest.json",
            truncate(name, 200)
        ))
    })
}

fn index(store: &dyn DocumentSource) -> Result<Vec<u8>, ApiError> {
    store
        .index_bytes()?
        .ok_or_else(|| ApiError::unavailable("the database holds no search index yet"))
}
