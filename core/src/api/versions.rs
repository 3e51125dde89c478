//! The versions routes (issue #15), the same on every host (they read only
//! [`DocumentSource`]):
//!
//! - `GET /v1/documents/{id}/versions?offset&limit`: a page of versions, oldest first;
//! - `GET /v1/documents/{id}?version=N` / `?label=L`: the document as parsed at that
//!   version (header `x-promptshelf-version: N`);
//! - `GET /v1/documents/{id}/diff?from=A&to=B` (numbers or labels): `core::versions::Diff`.
//!
//! A response that names a committed version by number never changes: strong ETag from
//! the content hash and `Cache-Control: immutable`. A label (it can move) or a draft is
//! cached like every other route (by the content generation).
//!
//! A store with no history for a document (a library outside git, an older database)
//! answers with the current document as its only version, 1.

use super::error::ApiError;
use super::http::{if_none_match_matches, parse_uint};
use super::store::DocumentSource;
use super::{ApiConfig, Request, Response};
use crate::model::Document;
use crate::parse::{parse_document, ParseOptions};
use crate::versions::{diff, VersionInfo, LATEST};

/// `Cache-Control` of a response for a fixed, committed version.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Which version a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pick {
    Number(u32),
    Label(String),
}

impl Pick {
    fn parse(name: &str, v: &str) -> Result<Pick, ApiError> {
        if v.is_empty() || v.len() > 128 || v.chars().any(char::is_control) {
            return Err(ApiError::invalid_parameter(format!(
                "`{name}` must be a version number or a label of 1 to 128 characters"
            )));
        }
        match v.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Pick::Number(n)),
            Ok(_) => Err(ApiError::invalid_parameter(format!(
                "`{name}`: versions are numbered from 1"
            ))),
            Err(_) => Ok(Pick::Label(v.to_owned())),
        }
    }
}

/// The `version=N` / `label=L` parameters of a document request: `None` when neither
/// is given (the plain document route).
pub(super) fn pick_param(params: &[(String, String)]) -> Result<Option<Pick>, ApiError> {
    let mut pick = None;
    for (k, v) in params {
        let p = match k.as_str() {
            "version" => match Pick::parse("version", v)? {
                Pick::Number(n) => Pick::Number(n),
                Pick::Label(_) => {
                    return Err(ApiError::invalid_parameter(
                        "`version` must be a number (use `label` for a label)",
                    ))
                }
            },
            "label" => Pick::Label(v.clone()),
            other => {
                return Err(ApiError::invalid_parameter(format!(
                    "unknown query parameter `{}`",
                    other.chars().take(100).collect::<String>()
                )))
            }
        };
        if pick.replace(p).is_some() {
            return Err(ApiError::invalid_parameter(
                "give one of `version` and `label`, once",
            ));
        }
    }
    if let Some(Pick::Label(l)) = &pick {
        Pick::parse("label", l)?;
    }
    Ok(pick)
}

/// A version, resolved and parsed.
struct Resolved {
    info: VersionInfo,
    text: String,
    document: Option<Document>,
    /// A committed version named by number: the answer never changes.
    fixed: bool,
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no document with id `{}`",
        id.chars().take(200).collect::<String>()
    ))
}

/// The version `pick` names for `id`.
fn resolve(store: &dyn DocumentSource, id: &str, pick: &Pick) -> Result<Resolved, ApiError> {
    let total = match store.versions(id, 0, 0)? {
        Some((_, total)) => total as u32,
        None => return single(store, id, pick),
    };
    let (number, by_number) = match pick {
        Pick::Number(n) => (*n, true),
        Pick::Label(l) if l == LATEST => (total, false),
        Pick::Label(l) => match store.doc_label(id, l)? {
            Some(Ok(n)) => (n, false),
            Some(Err(why)) => return Err(ApiError::new(409, "label_unresolved", why)),
            None => {
                return Err(ApiError::not_found(format!(
                    "no label `{}` for this document; `latest` always exists, others come from [labels] in promptshelf.toml",
                    l.chars().take(100).collect::<String>()
                )))
            }
        },
    };
    let Some((info, bytes)) = store.version(id, number)? else {
        return Err(ApiError::not_found(format!(
            "`{}` has no version {number} (it has {total})",
            id.chars().take(200).collect::<String>()
        )));
    };
    let document = parse_document(&info.path, &bytes, &ParseOptions::default()).ok();
    Ok(Resolved {
        fixed: by_number && !info.draft,
        text: String::from_utf8_lossy(&bytes).into_owned(),
        info,
        document,
    })
}

/// A document without history: the current document is version 1, `latest`.
fn single(store: &dyn DocumentSource, id: &str, pick: &Pick) -> Result<Resolved, ApiError> {
    let doc = store.get(id)?.ok_or_else(|| not_found(id))?;
    let document = doc.document;
    match pick {
        Pick::Number(1) => {}
        Pick::Label(l) if l == LATEST => {}
        Pick::Number(n) => {
            return Err(ApiError::not_found(format!(
                "this document has no history, only version 1 (asked for {n})"
            )))
        }
        Pick::Label(l) => {
            return Err(ApiError::new(
                409,
                "label_unresolved",
                format!(
                    "label `{}`: the library has no git history, so only `latest` exists",
                    l.chars().take(100).collect::<String>()
                ),
            ))
        }
    }
    Ok(Resolved {
        info: VersionInfo {
            number: 1,
            commit: None,
            author: None,
            time: None,
            summary: None,
            path: document.path.clone(),
            hash: document.hash.clone(),
            draft: false,
            error: None,
        },
        text: String::new(),
        document: Some(document),
        fixed: false,
    })
}

/// Answers with `body`: immutable headers for a fixed version, the generation's ETag
/// otherwise (`etag` is then the generation ETag the router computed).
fn respond(
    req: &Request,
    fixed_etag: Option<String>,
    generation_etag: String,
    cfg: &ApiConfig,
    version: Option<u32>,
    body: impl FnOnce() -> Result<Vec<u8>, ApiError>,
) -> Result<Response, ApiError> {
    let (etag, cache) = match fixed_etag {
        Some(e) => (e, IMMUTABLE.to_owned()),
        None => (generation_etag, cfg.cache_control.clone()),
    };
    let mut headers = vec![("etag", etag.clone()), ("cache-control", cache)];
    if let Some(n) = version {
        headers.push(("x-promptshelf-version", n.to_string()));
    }
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
    let body = body()?;
    headers.insert(0, ("content-type", "application/json".to_owned()));
    headers.push(("x-content-type-options", "nosniff".to_owned()));
    Ok(Response {
        status: 200,
        headers,
        body,
    })
}

fn fixed_etag(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"\0");
    }
    format!(
        "\"v{}-{}\"",
        super::routes::REPRESENTATION,
        &h.finalize().to_hex()[..32]
    )
}

fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(v)
        .map_err(|e| ApiError::unavailable(format!("could not serialize the response: {e}")))
}

/// `GET /v1/documents/{id}?version=N|label=L`.
pub(super) fn get_version(
    req: &Request,
    store: &dyn DocumentSource,
    cfg: &ApiConfig,
    generation_etag: String,
    id: &str,
    pick: &Pick,
) -> Result<Response, ApiError> {
    let r = resolve(store, id, pick)?;
    let Some(doc) = r.document else {
        let why = r
            .info
            .error
            .map_or_else(|| "it does not parse".to_owned(), |e| e.to_string());
        return Err(ApiError::new(
            422,
            "version_unparsable",
            format!(
                "version {} of this document did not parse: {why}",
                r.info.number
            ),
        ));
    };
    let etag = r.fixed.then(|| {
        fixed_etag(&[
            "document",
            id,
            &r.info.number.to_string(),
            &r.info.hash.0,
            &r.info.path,
        ])
    });
    respond(req, etag, generation_etag, cfg, Some(r.info.number), || {
        to_json(&doc)
    })
}

/// The document at the version the render route's `version=N` / `label=L` names
/// (`POST /v1/prompts/{id}/render?label=production`); `None` without those parameters.
pub(super) fn document_for_render(
    req: &Request,
    store: &dyn DocumentSource,
    id: &str,
) -> Result<Option<Document>, ApiError> {
    // Only ours: the render route has its own (`strict`).
    let params: Vec<(String, String)> = super::http::parse_query(&req.query)?
        .into_iter()
        .filter(|(k, _)| k == "version" || k == "label")
        .collect();
    let Some(pick) = pick_param(&params)? else {
        return Ok(None);
    };
    let r = resolve(store, id, &pick)?;
    r.document.map(Some).ok_or_else(|| {
        ApiError::new(
            422,
            "version_unparsable",
            format!("version {} of this document did not parse", r.info.number),
        )
    })
}

/// `GET /v1/documents/{id}/versions?offset=&limit=`.
pub(super) fn list_versions(
    req: &Request,
    store: &dyn DocumentSource,
    cfg: &ApiConfig,
    generation_etag: String,
    id: &str,
    params: &[(String, String)],
) -> Result<Response, ApiError> {
    let (mut offset, mut limit) = (0u64, cfg.default_page_size.min(cfg.max_page_size));
    let mut seen = (false, false);
    for (k, v) in params {
        match k.as_str() {
            "offset" if !seen.0 => {
                seen.0 = true;
                offset = parse_uint("offset", v, 0, cfg.max_offset)?;
            }
            "limit" if !seen.1 => {
                seen.1 = true;
                limit = parse_uint("limit", v, 1, cfg.max_page_size)?;
            }
            "offset" | "limit" => {
                return Err(ApiError::invalid_parameter(format!(
                    "query parameter `{k}` given more than once"
                )))
            }
            other => {
                return Err(ApiError::invalid_parameter(format!(
                    "unknown query parameter `{}`",
                    other.chars().take(100).collect::<String>()
                )))
            }
        }
    }
    #[derive(serde::Serialize)]
    struct Page {
        data: Vec<VersionInfo>,
        total: u64,
        limit: u64,
        offset: u64,
    }
    let page = match store.versions(id, offset as usize, limit as usize)? {
        Some((data, total)) => Page {
            data,
            total,
            limit,
            offset,
        },
        None => {
            let one = single(store, id, &Pick::Number(1))?;
            Page {
                data: if offset == 0 {
                    vec![one.info]
                } else {
                    Vec::new()
                },
                total: 1,
                limit,
                offset,
            }
        }
    };
    respond(req, None, generation_etag, cfg, None, || to_json(&page))
}

/// `GET /v1/documents/{id}/diff?from=A&to=B`.
pub(super) fn diff_versions(
    req: &Request,
    store: &dyn DocumentSource,
    cfg: &ApiConfig,
    generation_etag: String,
    id: &str,
    params: &[(String, String)],
) -> Result<Response, ApiError> {
    let (mut from, mut to) = (None, None);
    for (k, v) in params {
        let slot = match k.as_str() {
            "from" => &mut from,
            "to" => &mut to,
            other => {
                return Err(ApiError::invalid_parameter(format!(
                    "unknown query parameter `{}`",
                    other.chars().take(100).collect::<String>()
                )))
            }
        };
        if slot.replace(Pick::parse(k, v)?).is_some() {
            return Err(ApiError::invalid_parameter(format!(
                "query parameter `{k}` given more than once"
            )));
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::invalid_parameter(
            "`from` and `to` (version numbers or labels) are required",
        ));
    };
    let a = resolve(store, id, &from)?;
    let b = resolve(store, id, &to)?;
    let etag = (a.fixed && b.fixed).then(|| {
        fixed_etag(&[
            "diff",
            id,
            &a.info.number.to_string(),
            &a.info.hash.0,
            &a.info.path,
            &b.info.number.to_string(),
            &b.info.hash.0,
            &b.info.path,
        ])
    });
    let d = diff(
        (&a.info, &a.text, a.document.as_ref()),
        (&b.info, &b.text, b.document.as_ref()),
    );
    respond(req, etag, generation_etag, cfg, None, || to_json(&d))
}
