//! CORS for the read API, and the origin and host rules both hosts share.
//!
//! Policies ([`Cors`]): allow-all (the edge's default: public, read-only data), local
//! pages plus a list (the local server's default: a page on `localhost` or `127.0.0.1`,
//! any port, may read; any other website may not), an exact list, or none. Users
//! configure the same option on both hosts (`--cors-origin` / `PROMPTSHELF_CORS_ORIGINS`),
//! parsed once here by [`Cors::from_list`], so both hosts apply one rule.
//!
//! Preflight answers live in `routes` (they depend on the route existing); this module
//! adds the per-response headers.

use super::{ApiConfig, Cors, Request, Response};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Methods a preflight allows on read routes (a route with other methods, such as render,
/// answers with its own `Allow` list).
pub const ALLOW_METHODS: &str = "GET, HEAD, OPTIONS";
/// Request headers a preflight allows: what `fetch` with caching and auth sends.
pub const ALLOW_HEADERS: &str = "Accept, Accept-Language, Content-Language, Content-Type, Cache-Control, If-None-Match, If-Modified-Since, Authorization";
/// How long a browser may cache a preflight answer (a day: the policy changes only on restart).
pub const MAX_AGE: &str = "86400";

/// A configured CORS origin that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsError {
    /// The value, as configured.
    #[error("`{0}` is not an origin: write scheme://host[:port] (e.g. https://app.example.com or http://localhost:5173), or `*` for every origin")]
    NotAnOrigin(String),
}

impl Cors {
    /// The policy the `cors-origin` option asks for, on either host: `*` (anywhere in
    /// the list) allows every origin; otherwise local pages plus the listed origins
    /// ([`Cors::Local`]). Entries are normalized (case, default port, a trailing `/`);
    /// empty entries are skipped.
    pub fn from_list<S: AsRef<str>>(values: &[S]) -> Result<Cors, CorsError> {
        let mut list = Vec::new();
        for v in values {
            let v = v.as_ref().trim();
            if v.is_empty() {
                continue;
            }
            if v == "*" {
                return Ok(Cors::AllowAll);
            }
            let o = Origin::parse(v.strip_suffix('/').unwrap_or(v))
                .ok_or_else(|| CorsError::NotAnOrigin(v.to_owned()))?;
            let o = o.to_string();
            if !list.contains(&o) {
                list.push(o);
            }
        }
        Ok(Cors::Local(list))
    }

    /// [`Cors::from_list`] over one comma- or space-separated string (an environment
    /// variable such as `PROMPTSHELF_CORS_ORIGINS`).
    pub fn from_option(value: &str) -> Result<Cors, CorsError> {
        let parts: Vec<&str> = value
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .collect();
        Cors::from_list(&parts)
    }

    /// Whether `origin` is one the user listed by name (not through `*`).
    pub fn lists(&self, origin: &str) -> bool {
        let list = match self {
            Cors::Origins(l) | Cors::Local(l) => l,
            Cors::AllowAll | Cors::Disabled => return false,
        };
        let Some(o) = Origin::parse(origin) else {
            return false;
        };
        let o = o.to_string();
        list.iter()
            .any(|a| Origin::parse(a).is_some_and(|a| a.to_string() == o))
    }
}

/// A browser origin (`scheme://host[:port]`), normalized: lower case, a host's trailing
/// dot removed, IP literals in canonical form, the scheme's default port dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https` (lower case).
    pub scheme: String,
    /// As in [`split_host`]: a name, a dotted IPv4 address, or `[IPv6]`.
    pub host: String,
    /// `None` when absent or the scheme's default.
    pub port: Option<u16>,
}

impl Origin {
    /// Parses a serialized origin, as browsers send in `Origin`. `None` for `null`,
    /// anything with a path, query, user info, or a malformed host or port.
    pub fn parse(s: &str) -> Option<Origin> {
        let (scheme, authority) = s.split_once("://")?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return None;
        }
        let scheme = scheme.to_ascii_lowercase();
        let (host, port) = split_host(authority)?;
        let port = port.filter(|p| Some(*p) != default_port(&scheme));
        Some(Origin { scheme, host, port })
    }

    /// The port the origin's pages connect to (the scheme's default when absent).
    pub fn effective_port(&self) -> Option<u16> {
        self.port.or_else(|| default_port(&self.scheme))
    }

    /// A page served from this machine: `http(s)` on a loopback host (see
    /// [`is_loopback_host`]), any port.
    pub fn is_loopback(&self) -> bool {
        matches!(self.scheme.as_str(), "http" | "https") && is_loopback_host(&self.host)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

/// The port a scheme's URLs use when they name none.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Splits a `Host` header value (or an origin's authority) into its normalized host and
/// port: `name[:port]`, `a.b.c.d[:port]` or `[IPv6][:port]`. Host names are lower-cased
/// and lose one trailing dot (`localhost.` is `localhost`); IP literals are written in
/// canonical form (`[0:0::1]` is `[::1]`). `None` for anything else (user info, paths,
/// characters no host name has, a port that is not a number up to 65535). An empty port
/// (`localhost:`) counts as absent, as RFC 3986 allows.
pub fn split_host(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let v6: Ipv6Addr = v6.parse().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{v6}]"), port)
    } else {
        let (h, p) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let h = h.strip_suffix('.').unwrap_or(h);
        if h.is_empty()
            || h.len() > 253
            || !h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        {
            return None;
        }
        let h = h.to_ascii_lowercase();
        let h = match h.parse::<Ipv4Addr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => h,
        };
        (h, p)
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// A host that always means this machine, so no DNS answer can point it elsewhere:
/// `localhost` and `*.localhost` (browsers resolve them to loopback themselves, RFC
/// 6761), `127.0.0.0/8`, `[::1]` and `[::ffff:127.x.y.z]`. Takes a host as
/// [`split_host`] returns it.
pub fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|ip| {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        });
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `origin` may read responses; `Some(value)` is the `Access-Control-Allow-Origin`.
pub fn allowed_origin(cfg: &ApiConfig, origin: Option<&str>) -> Option<String> {
    match (&cfg.cors, origin) {
        (Cors::AllowAll, _) => Some("*".to_owned()),
        (Cors::Origins(_), Some(o)) if cfg.cors.lists(o) => Some(o.to_owned()),
        (Cors::Local(_), Some(o))
            if Origin::parse(o).is_some_and(|p| p.is_loopback()) || cfg.cors.lists(o) =>
        {
            Some(o.to_owned())
        }
        _ => None,
    }
}

/// Adds `Access-Control-*` and `Vary` headers to any response (errors included, so a
/// browser client can read the error JSON).
pub fn apply(req: &Request, cfg: &ApiConfig, resp: &mut Response) {
    let per_origin = matches!(cfg.cors, Cors::Origins(_) | Cors::Local(_));
    if per_origin {
        resp.headers.push(("vary", "Origin".to_owned()));
    }
    if resp.header("access-control-allow-origin").is_some() {
        return; // preflight already answered
    }
    let origin = req.header("origin");
    if per_origin && origin.is_none() {
        return;
    }
    if let Some(allow) = allowed_origin(cfg, origin) {
        resp.headers.push(("access-control-allow-origin", allow));
        resp.headers
            .push(("access-control-expose-headers", "ETag".to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> Option<(String, Option<u16>)> {
        split_host(s)
    }

    #[test]
    fn splits_and_normalizes_hosts() {
        assert_eq!(
            host("localhost:7410"),
            Some(("localhost".into(), Some(7410)))
        );
        assert_eq!(host("LOCALHOST"), Some(("localhost".into(), None)));
        assert_eq!(host("localhost.:80"), Some(("localhost".into(), Some(80))));
        assert_eq!(host("localhost:"), Some(("localhost".into(), None)));
        assert_eq!(host("[::1]:7410"), Some(("[::1]".into(), Some(7410))));
        assert_eq!(host("[0:0:0:0:0:0:0:1]"), Some(("[::1]".into(), None)));
        assert_eq!(
            host("127.0.0.1:65535"),
            Some(("127.0.0.1".into(), Some(65535)))
        );
        assert_eq!(
            host("App.Example.COM"),
            Some(("app.example.com".into(), None))
        );
        for bad in [
            "",
            ":80",
            "localhost:65536",
            "localhost:-1",
            "localhost:http",
            "user@localhost",
            "localhost/x",
            "[::1",
            "[::1]x",
            "[evil.example]",
            "::1",
            "exämple.com",
            "a b",
            "localhost:80:80",
        ] {
            assert_eq!(host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LocalHost.",
            "app.localhost:5173",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]:7410",
            "[::ffff:127.0.0.1]",
        ] {
            let (h, _) = split_host(h).unwrap();
            assert!(is_loopback_host(&h), "{h}");
        }
        for h in [
            "evil.example",
            "localhost.evil.example",
            "evillocalhost",
            "127.0.0.1.evil.example",
            "128.0.0.1",
            "0.0.0.0",
            "10.0.0.1",
            "[::]",
            "[::2]",
            "[::ffff:10.0.0.1]",
        ] {
            let (h, _) = split_host(h).unwrap();
            assert!(!is_loopback_host(&h), "{h}");
        }
    }

    #[test]
    fn origins() {
        let o = Origin::parse("HTTP://LocalHost:5173").unwrap();
        assert_eq!(o.to_string(), "http://localhost:5173");
        assert!(o.is_loopback());
        assert_eq!(
            Origin::parse("https://app.example.com:443")
                .unwrap()
                .to_string(),
            "https://app.example.com"
        );
        assert_eq!(
            Origin::parse("http://app.example.com")
                .unwrap()
                .effective_port(),
            Some(80)
        );
        assert!(Origin::parse("http://[::1]:8080").unwrap().is_loopback());
        assert!(Origin::parse("http://127.0.0.1").unwrap().is_loopback());
        assert!(!Origin::parse("http://evil.test:5173")
            .unwrap()
            .is_loopback());
        // Only web schemes count as local pages.
        assert!(!Origin::parse("file://localhost").unwrap().is_loopback());
        for bad in [
            "null",
            "",
            "localhost:5173",
            "http://",
            "http://a/b",
            "http://u@a",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn configured_lists() {
        assert_eq!(Cors::from_list(&["*"]), Ok(Cors::AllowAll));
        assert_eq!(
            Cors::from_list(&["https://a.example", "*"]),
            Ok(Cors::AllowAll)
        );
        assert_eq!(Cors::from_list::<&str>(&[]), Ok(Cors::Local(vec![])));
        assert_eq!(
            Cors::from_option(
                " HTTPS://App.Example/ ,https://app.example:443,, http://b.example:8080"
            ),
            Ok(Cors::Local(vec![
                "https://app.example".into(),
                "http://b.example:8080".into()
            ]))
        );
        assert_eq!(
            Cors::from_list(&["app.example"]),
            Err(CorsError::NotAnOrigin("app.example".into()))
        );
        let c = Cors::from_option("https://app.example").unwrap();
        assert!(c.lists("https://APP.example:443"));
        assert!(!c.lists("https://app.example:8443"));
        assert!(!c.lists("http://app.example"));
        assert!(
            !c.lists("http://localhost:5173"),
            "local pages are not listed"
        );
        assert!(!Cors::AllowAll.lists("https://app.example"));
    }

    #[test]
    fn local_policy() {
        let cfg = ApiConfig {
            cors: Cors::from_option("https://app.example").unwrap(),
            ..ApiConfig::default()
        };
        let allowed = |o: &str| allowed_origin(&cfg, Some(o));
        for ok in [
            "http://localhost:5173",
            "http://localhost",
            "https://dev.localhost:8443",
            "http://127.0.0.1:3000",
            "http://[::1]:8080",
            "https://app.example",
        ] {
            assert_eq!(allowed(ok).as_deref(), Some(ok), "{ok}");
        }
        for no in [
            "http://evil.test",
            "http://evil.test:5173",
            "https://app.example.evil.test",
            "http://localhost.evil.test",
            "null",
            "file://",
            "http://192.168.1.10:5173",
        ] {
            assert_eq!(allowed(no), None, "{no}");
        }
        assert_eq!(allowed_origin(&cfg, None), None);
    }
}
