//! What keeps the websites a developer visits out of the local server (issue 18).
//!
//! A server on loopback is reachable from every page the browser opens. Two rules, as a
//! layer over the whole router (so a route added later, such as the `/v1/events`
//! stream, is covered without being named here):
//!
//! 1. **Host check** (DNS rebinding). A page on `evil.example` whose DNS later answers
//!    `127.0.0.1` talks to this server as its own origin, so CORS does not apply; only
//!    the `Host` header still says `evil.example`. A request is answered only when its
//!    `Host` (and the authority of an absolute request target) is a loopback name or
//!    address ([`is_loopback_host`]), the address the server is bound to, or a name the
//!    user allowed ([`AllowedHosts`]); any port (a dev proxy such as Vite's forwards its
//!    own `Host: localhost:5173`). Otherwise: 403 `host_not_allowed`. A request with
//!    no `Host` at all (HTTP/1.0) is not a browser's and is answered.
//! 2. **Cross-site refusal.** CORS only hides responses; a cross-site `POST` (a form, a
//!    `fetch` with a simple content type) still runs. So every request that could change
//!    state — any method but `GET`, `HEAD` and `OPTIONS` — and every request to the
//!    admin routes, `/metrics` and the event stream (`/v1/events`, which an
//!    `EventSource` opens with a `GET`) must come from an allowed page: its `Origin` is a
//!    loopback page, an origin listed with `--cors-origin`, or this server itself (the
//!    dashboard); without an `Origin`, it must not say `Sec-Fetch-Site: cross-site`
//!    (an `<img>` or a link). Otherwise: 403 `cross_site_request`, whatever the content
//!    type. `--cors-origin '*'` opens the read API (`POST /v1/prompts/{id}/render` too,
//!    a read that takes a body) to every site, but never the admin routes or the event
//!    stream: those need an origin listed by name. Clients that are not browsers (curl,
//!    scripts, Prometheus) send neither header and are not affected.

use super::{AppState, ServerConfig, ServerError};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use promptshelf_core::api::cors::{default_port, is_loopback_host, split_host, Origin};
use promptshelf_core::api::{self, ApiError, Cors};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Host names the user allowed besides loopback (`--allowed-host`,
/// `PROMPTSHELF_ALLOWED_HOSTS`, `allowed_hosts` under `[server]`): exact names or
/// addresses (`shelf.internal`, `192.168.1.20`), `.example.com` for that domain and all
/// its subdomains, or `*` for any host (no check; for a trusted reverse proxy that
/// rewrites names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    any: bool,
    names: Vec<String>,
    /// `.example.com` entries, stored without the leading dot.
    domains: Vec<String>,
}

impl AllowedHosts {
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<AllowedHosts, ServerError> {
        let mut out = AllowedHosts::default();
        for v in values {
            let v = v.as_ref().trim();
            if v.is_empty() {
                continue;
            }
            if v == "*" {
                out.any = true;
                continue;
            }
            let (domain, name) = match v.strip_prefix('.') {
                Some(rest) => (true, rest),
                None => (false, v),
            };
            let host = match split_host(name) {
                Some((h, None)) => h,
                _ => {
                    return Err(ServerError::Config(format!(
                        "allowed host `{v}` is not a host name: write a name or address without \
                         scheme or port (shelf.internal, 192.168.1.20, [fd00::1]), \
                         .example.com for a domain and its subdomains, or `*` for any"
                    )))
                }
            };
            let list = if domain {
                &mut out.domains
            } else {
                &mut out.names
            };
            if !list.contains(&host) {
                list.push(host);
            }
        }
        Ok(out)
    }

    /// No name allowed (loopback names only).
    pub fn is_empty(&self) -> bool {
        !self.any && self.names.is_empty() && self.domains.is_empty()
    }

    fn allows(&self, host: &str) -> bool {
        self.any
            || self.names.iter().any(|n| n == host)
            || self.domains.iter().any(|d| {
                host == d
                    || host
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            })
    }
}

/// Whether a request that names `authority` (a `Host` value) may be answered.
pub fn host_allowed(cfg: &ServerConfig, authority: &str) -> bool {
    if cfg.allowed_hosts.any {
        return true;
    }
    let Some((host, _port)) = split_host(authority.trim()) else {
        return false;
    };
    if is_loopback_host(&host) || cfg.allowed_hosts.allows(&host) {
        return true;
    }
    let bound = cfg.listen.ip();
    !bound.is_unspecified()
        && match bound {
            std::net::IpAddr::V4(ip) => host == ip.to_string(),
            std::net::IpAddr::V6(ip) => host == format!("[{ip}]"),
        }
}

/// The routes whose `GET` must come from an allowed page too: they expose the sync's
/// state (file paths, errors) and are not part of the public read API.
pub fn guarded_read(path: &str) -> bool {
    let p = path.trim_start_matches('/');
    p == "metrics" || p.starts_with("admin") || p.starts_with("v1/events")
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The `Host` (or request-target authority) is not one this server answers.
    Host(String),
    /// A page from another site (its origin, or `None` for a request that only said
    /// `Sec-Fetch-Site: cross-site`).
    CrossSite(Option<String>),
}

/// Applies both rules to a request's method, path, headers and request-target authority.
pub fn check(
    cfg: &ServerConfig,
    method: &Method,
    path: &str,
    authority: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let mut hosts: Vec<&str> = headers
        .get_all(header::HOST)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .collect();
    hosts.extend(authority);
    if let Some(bad) = hosts.iter().find(|h| !host_allowed(cfg, h)) {
        return Err(Refusal::Host((*bad).to_owned()));
    }
    let sensitive = guarded_read(path);
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if reads && !sensitive {
        return Ok(());
    }
    if method == Method::OPTIONS {
        // A preflight changes nothing; the route's own answer (no CORS headers for a
        // page that may not call it) makes the browser stop there.
        return Ok(());
    }
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match value("origin") {
        Some(origin) => {
            let this_host = hosts.first().copied();
            if origin_allowed(cfg, origin, this_host, !sensitive) {
                Ok(())
            } else {
                Err(Refusal::CrossSite(Some(origin.to_owned())))
            }
        }
        None if value("sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) => {
            Err(Refusal::CrossSite(None))
        }
        None => Ok(()),
    }
}

/// Whether a page at `origin` may make a state-changing or admin request: a page on this
/// machine, an origin the user listed, this server itself (the dashboard, under the
/// `Host` the request used), or — for read routes only — anyone when CORS is `*`.
fn origin_allowed(cfg: &ServerConfig, origin: &str, host: Option<&str>, wildcard: bool) -> bool {
    let Some(o) = Origin::parse(origin) else {
        return false; // `null` (sandboxed frames, file: pages) and garbage
    };
    if o.is_loopback() || cfg.api.cors.lists(origin) {
        return true;
    }
    if wildcard && cfg.api.cors == Cors::AllowAll {
        return true;
    }
    host.and_then(split_host).is_some_and(|(h, port)| {
        matches!(o.scheme.as_str(), "http" | "https")
            && h == o.host
            && port.or_else(|| default_port(&o.scheme)) == o.effective_port()
    })
}

/// The JSON 403 for a refusal, naming the option that would allow the request.
pub fn refusal_response(r: &Refusal, path: &str) -> Response {
    let e = match r {
        Refusal::Host(host) => ApiError::new(
            403,
            "host_not_allowed",
            format!(
                "this server does not answer requests for host `{}`: it answers loopback names \
                 (localhost, *.localhost, 127.0.0.1, [::1]) and its own address, which a \
                 DNS-rebinding page cannot use; to reach it under another name, start it with \
                 --allowed-host NAME (env PROMPTSHELF_ALLOWED_HOSTS, or allowed_hosts under \
                 [server] in promptshelf.toml)",
                shown(host)
            ),
        ),
        Refusal::CrossSite(origin) => {
            let from = match origin {
                Some(o) => format!("a page at `{}`", shown(o)),
                None => "a page on another site (Sec-Fetch-Site: cross-site)".to_owned(),
            };
            let what = if guarded_read(path) {
                "the admin routes, /metrics and the event stream"
            } else {
                "requests that are not GET, HEAD or OPTIONS"
            };
            ApiError::new(
                403,
                "cross_site_request",
                format!(
                    "cross-site request refused: {from} may not call {what} here; pages on \
                     this machine (localhost, 127.0.0.1, any port) may; to allow a site, start \
                     the server with --cors-origin ORIGIN (env PROMPTSHELF_CORS_ORIGINS, or \
                     cors_origins under [server] in promptshelf.toml)"
                ),
            )
        }
    };
    super::api::to_http(api::error_response(&e))
}

/// A client-sent value as it may appear in a message: printable ASCII, at most 100 bytes.
fn shown(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect()
}

/// The middleware: refuses what [`check`] refuses, counts it, and logs it (at most one
/// warning every 10 s, so a hostile page cannot flood the log).
pub async fn layer(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let verdict = check(
        &st.cfg,
        req.method(),
        req.uri().path(),
        req.uri().authority().map(|a| a.as_str()),
        req.headers(),
    );
    let Err(refusal) = verdict else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    let reason = match refusal {
        Refusal::Host(_) => "host",
        Refusal::CrossSite(_) => "cross_site",
    };
    st.metrics.refused(reason);
    static LAST_WARN_SECS: AtomicU64 = AtomicU64::new(0);
    let now = st.started.elapsed().as_secs() + 10;
    let last = LAST_WARN_SECS.load(Ordering::Relaxed);
    if now >= last + 10
        && LAST_WARN_SECS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            method = %req.method(),
            path = %shown(path),
            ?refusal,
            "refused a request from a website (see the 403 body for how to allow it)"
        );
    }
    let resp = refusal_response(&refusal, path);
    st.metrics.observe(
        super::metrics::route_label(path),
        resp.status().as_u16(),
        started.elapsed(),
    );
    resp
}

/// Warnings for settings that open the server up, logged once at start.
pub fn warn_about(cfg: &ServerConfig) {
    if cfg.api.cors == Cors::AllowAll {
        tracing::warn!(
            "--cors-origin '*': every website the user visits can read the read API \
             (the admin routes still refuse other sites)"
        );
    }
    if cfg.allowed_hosts.any {
        tracing::warn!(
            "--allowed-host '*': the Host check is off, so DNS-rebinding pages can reach \
             this server; use it only behind a proxy that checks names"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cfg(listen: &str, hosts: &[&str], cors: &[&str]) -> ServerConfig {
        let mut c = ServerConfig::new(listen.parse().unwrap());
        c.allowed_hosts = AllowedHosts::parse(hosts).unwrap();
        c.api.cors = Cors::from_list(cors).unwrap();
        c
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hosts() {
        let c = cfg("127.0.0.1:7410", &[], &[]);
        for ok in [
            "localhost:7410",
            "localhost",
            "LOCALHOST:7410",
            "localhost.:7410",
            "app.localhost:7410",
            "127.0.0.1:7410",
            "127.0.0.1",
            "127.9.9.9:1",
            "[::1]:7410",
            "[::1]",
            "localhost:5173", // a dev proxy forwarding its own Host
        ] {
            assert!(host_allowed(&c, ok), "{ok}");
        }
        for no in [
            "evil.example:7410",
            "evil.example",
            "localhost.evil.example:7410",
            "127.0.0.1.nip.io:7410",
            "192.168.1.20:7410",
            "[::2]:7410",
            "",
            "localhost:99999",
            "evil.example:7410, localhost",
            "\u{fffd}",
        ] {
            assert!(!host_allowed(&c, no), "{no}");
        }

        // Bound to a LAN address: that address is allowed, plus the user's names.
        let c = cfg(
            "192.168.1.20:7410",
            &["Shelf.Internal.", ".corp.example", "10.0.0.5"],
            &[],
        );
        for ok in [
            "192.168.1.20:7410",
            "shelf.internal:7410",
            "SHELF.internal",
            "corp.example",
            "a.b.corp.example:80",
            "10.0.0.5:7410",
            "localhost:7410",
        ] {
            assert!(host_allowed(&c, ok), "{ok}");
        }
        for no in [
            "evilcorp.example",
            "shelf.internal.evil",
            "192.168.1.21:7410",
        ] {
            assert!(!host_allowed(&c, no), "{no}");
        }
        // Bound to every address: no address is implied.
        let c = cfg("0.0.0.0:7410", &["shelf.internal"], &[]);
        assert!(!host_allowed(&c, "0.0.0.0:7410"));
        assert!(!host_allowed(&c, "192.168.1.20:7410"));
        let c = cfg("[::]:7410", &["*"], &[]);
        assert!(host_allowed(&c, "anything.example"));
        let c = cfg("[fd00::7]:7410", &["x.example"], &[]);
        assert!(host_allowed(&c, "[fd00::7]:7410"));
        assert!(host_allowed(&c, "[FD00:0::7]"));

        for bad in ["http://shelf.internal", "shelf.internal:7410", "a/b", "."] {
            assert!(AllowedHosts::parse(&[bad]).is_err(), "{bad}");
        }
        assert!(AllowedHosts::parse::<&str>(&[]).unwrap().is_empty());
        assert!(!AllowedHosts::parse(&["*"]).unwrap().is_empty());
    }

    #[test]
    fn cross_site() {
        let c = cfg("127.0.0.1:7410", &[], &["https://app.example.com"]);
        let run = |method: Method, path: &str, h: &[(&str, &str)]| {
            let mut all = vec![("host", "127.0.0.1:7410")];
            all.extend_from_slice(h);
            check(&c, &method, path, None, &headers(&all))
        };
        let evil = [("origin", "http://evil.test:8000")];
        // Reads of the read API: CORS decides who may read; the request is answered.
        assert_eq!(run(Method::GET, "/v1/documents", &evil), Ok(()));
        assert_eq!(run(Method::OPTIONS, "/admin/reload", &evil), Ok(()));
        // Anything that is not a read, and admin / metrics / events reads, are refused.
        for (m, p) in [
            (Method::POST, "/admin/reload"),
            (Method::POST, "/admin/sync"),
            (Method::POST, "/v1/prompts/x/render"),
            (Method::PUT, "/v1/documents"),
            (Method::DELETE, "/anything"),
            (Method::GET, "/admin/status"),
            (Method::GET, "/admin/errors"),
            (Method::GET, "/metrics"),
            (Method::GET, "/v1/events"),
            (Method::GET, "/v1/events?since=3"),
            (Method::HEAD, "//admin/status"),
        ] {
            assert_eq!(
                run(m.clone(), p, &evil),
                Err(Refusal::CrossSite(Some("http://evil.test:8000".into()))),
                "{m} {p}"
            );
            for origin in [
                "null",
                "http://localhost.evil.test",
                "https://127.0.0.1.evil.test",
            ] {
                assert!(
                    run(m.clone(), p, &[("origin", origin)]).is_err(),
                    "{m} {p} {origin}"
                );
            }
            // No Origin, but the browser says the page is another site's (<img>, link).
            assert_eq!(
                run(m.clone(), p, &[("sec-fetch-site", "cross-site")]),
                Err(Refusal::CrossSite(None)),
                "{m} {p}"
            );
            // Allowed: local pages (any port), the listed origin, this server's own
            // pages, and clients that are not browsers.
            for origin in [
                "http://localhost:5173",
                "http://127.0.0.1:7410",
                "http://[::1]:3000",
                "https://app.example.com",
            ] {
                assert_eq!(
                    run(
                        m.clone(),
                        p,
                        &[("origin", origin), ("sec-fetch-site", "cross-site")]
                    ),
                    Ok(()),
                    "{m} {p} {origin}"
                );
            }
            assert_eq!(run(m.clone(), p, &[]), Ok(()), "{m} {p}");
            assert_eq!(
                run(m.clone(), p, &[("sec-fetch-site", "same-origin")]),
                Ok(())
            );
            assert_eq!(run(m.clone(), p, &[("sec-fetch-site", "none")]), Ok(()));
        }

        // The dashboard under an allowed name posts with its own origin.
        let c = cfg("0.0.0.0:7410", &["shelf.internal"], &[]);
        let h = |origin: &str| headers(&[("host", "shelf.internal:7410"), ("origin", origin)]);
        assert_eq!(
            check(
                &c,
                &Method::POST,
                "/admin/reload",
                None,
                &h("http://shelf.internal:7410")
            ),
            Ok(())
        );
        assert!(check(
            &c,
            &Method::POST,
            "/admin/reload",
            None,
            &h("http://shelf.internal:7411")
        )
        .is_err());
        assert!(check(
            &c,
            &Method::POST,
            "/admin/reload",
            None,
            &h("http://other.internal:7410")
        )
        .is_err());
        let h80 = headers(&[
            ("host", "shelf.internal"),
            ("origin", "http://shelf.internal"),
        ]);
        assert_eq!(
            check(&c, &Method::POST, "/admin/reload", None, &h80),
            Ok(())
        );

        // `*` opens the read API's POST (render) to every site, never the admin routes.
        let c = cfg("127.0.0.1:7410", &[], &["*"]);
        let h = headers(&[
            ("host", "localhost:7410"),
            ("origin", "https://any.example"),
        ]);
        assert_eq!(
            check(&c, &Method::POST, "/v1/prompts/x/render", None, &h),
            Ok(())
        );
        assert!(check(&c, &Method::POST, "/admin/reload", None, &h).is_err());
        assert!(check(&c, &Method::GET, "/v1/events", None, &h).is_err());
    }

    #[test]
    fn host_is_checked_first_and_everywhere() {
        let c = cfg("127.0.0.1:7410", &[], &[]);
        let h = headers(&[("host", "evil.example:7410")]);
        for (m, p) in [
            (Method::GET, "/v1/documents"),
            (Method::GET, "/"),
            (Method::GET, "/healthz"),
        ] {
            assert_eq!(
                check(&c, &m, p, None, &h),
                Err(Refusal::Host("evil.example:7410".into()))
            );
        }
        // An absolute request target names the host too.
        let local = headers(&[("host", "localhost:7410")]);
        assert!(check(
            &c,
            &Method::GET,
            "/v1/documents",
            Some("evil.example:7410"),
            &local
        )
        .is_err());
        assert_eq!(
            check(
                &c,
                &Method::GET,
                "/v1/documents",
                Some("127.0.0.1:7410"),
                &local
            ),
            Ok(())
        );
        // Two Host headers: both must pass.
        let two = headers(&[("host", "localhost:7410"), ("host", "evil.example")]);
        assert!(check(&c, &Method::GET, "/v1/health", None, &two).is_err());
        // No Host at all (HTTP/1.0): not a browser, answered.
        assert_eq!(
            check(&c, &Method::GET, "/v1/health", None, &HeaderMap::new()),
            Ok(())
        );
    }

    #[tokio::test]
    async fn refusals_are_json_naming_the_option() {
        for (refusal, code, option) in [
            (
                Refusal::Host("evil.example:7410\r\nx".into()),
                "host_not_allowed",
                "--allowed-host",
            ),
            (
                Refusal::CrossSite(None),
                "cross_site_request",
                "--cors-origin",
            ),
            (
                Refusal::CrossSite(Some("http://evil.test".into())),
                "cross_site_request",
                "--cors-origin",
            ),
        ] {
            let r = refusal_response(&refusal, "/admin/reload");
            assert_eq!(r.status(), 403);
            assert_eq!(r.headers()["content-type"], "application/json");
            assert!(r.headers().get("access-control-allow-origin").is_none());
            let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], code);
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(msg.contains(option), "{v}");
            assert!(!msg.contains('\r'), "{v}");
        }
    }
}
