//! Small, strict HTTP helpers: percent-decoding that rejects malformed escapes and
//! invalid UTF-8, query-string splitting, header lookup and `If-None-Match` matching.
//! Written by hand to keep the core free of HTTP crates and identical on every host.

use super::error::ApiError;
use std::borrow::Cow;

/// Decodes `%XX` escapes (and `+` as space when `plus_is_space`, for query strings).
/// A `%` not followed by two hex digits, or bytes that are not UTF-8 afterwards, are a
/// `400 bad_encoding` naming `what`.
pub fn percent_decode(raw: &str, plus_is_space: bool, what: &str) -> Result<String, ApiError> {
    if !raw
        .bytes()
        .any(|b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Ok(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex_val(*b));
                let lo = bytes.get(i + 2).and_then(|b| hex_val(*b));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => {
                        return Err(ApiError::bad_encoding(format!(
                            "malformed percent-escape in {what} at byte {i}"
                        )))
                    }
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| {
        ApiError::bad_encoding(format!(
            "{what} is not valid UTF-8 after percent-decoding (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The request path as a WHATWG URL parser leaves it for an `http:` URL: dot segments
/// (`.`, `..` and their `%2e` forms, any case) resolved, `\` read as `/`, and bytes
/// outside the path percent-encode set escaped. The edge worker only ever sees paths in
/// this form (the runtime parses every request URL), so the local server normalises the
/// raw request path the same way before routing and both hosts answer alike. Already
/// normal paths (every path the edge sees) come back borrowed and unchanged; a path that
/// does not start with `/` is left for the router to reject.
pub fn normalize_path(raw: &str) -> Cow<'_, str> {
    let is_sep = |b: u8| b == b'/' || b == b'\\';
    if !raw.bytes().next().is_some_and(is_sep) {
        return Cow::Borrowed(raw);
    }
    let body = &raw[1..];
    let plain = !raw.bytes().any(|b| b == b'\\' || path_escaped(b))
        && !body
            .split('/')
            .any(|s| is_single_dot(s) || is_double_dot(s));
    if plain {
        return Cow::Borrowed(raw);
    }
    // Both separators are ASCII, so splitting on bytes keeps every piece valid UTF-8.
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, b) in body.bytes().enumerate() {
        if is_sep(b) {
            parts.push(&body[start..i]);
            start = i + 1;
        }
    }
    parts.push(&body[start..]);
    let mut segs: Vec<&str> = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        // A dot segment at the end leaves an empty last segment (`/a/..` is `/`,
        // `/a/.` is `/a/`); elsewhere it leaves nothing.
        let last = i + 1 == parts.len();
        if is_double_dot(part) {
            segs.pop();
            if last {
                segs.push("");
            }
        } else if is_single_dot(part) {
            if last {
                segs.push("");
            }
        } else {
            segs.push(part);
        }
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(raw.len() + 8);
    for seg in segs {
        out.push('/');
        // Non-ASCII characters are escaped byte by byte (their UTF-8), as WHATWG does.
        for b in seg.bytes() {
            if path_escaped(b) {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            } else {
                out.push(b as char);
            }
        }
    }
    Cow::Owned(out)
}

/// WHATWG's path percent-encode set (ASCII part): C0 controls, space, `"`, `#`, `<`,
/// `>`, `?`, `` ` ``, `{`, `}` and DEL; every non-ASCII byte is escaped too.
fn path_escaped(b: u8) -> bool {
    b <= 0x20 || b >= 0x7F || matches!(b, b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}')
}

fn is_single_dot(s: &str) -> bool {
    s == "." || s.eq_ignore_ascii_case("%2e")
}

fn is_double_dot(s: &str) -> bool {
    s == ".."
        || s.eq_ignore_ascii_case(".%2e")
        || s.eq_ignore_ascii_case("%2e.")
        || s.eq_ignore_ascii_case("%2e%2e")
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits a raw query string into decoded `(key, value)` pairs, in order. Empty pieces
/// (`a=1&&b=2`) are skipped; a key without `=` has an empty value.
pub fn parse_query(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for piece in raw.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let key = percent_decode(k, true, "query parameter name")?;
        let value = percent_decode(v, true, "query parameter value")?;
        out.push((key, value));
    }
    Ok(out)
}

/// Whether an `If-None-Match` header value matches `etag` (weak comparison, as RFC 9110
/// requires for `If-None-Match`; `*` matches anything).
pub fn if_none_match_matches(header: &str, etag: &str) -> bool {
    let want = strip_weak(etag);
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || (!candidate.is_empty() && strip_weak(candidate) == want)
    })
}

fn strip_weak(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Parses a non-negative decimal integer strictly: digits only (no sign, spaces,
/// exponent), at most `max`.
pub fn parse_uint(name: &str, value: &str, min: u64, max: u64) -> Result<u64, ApiError> {
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_parameter(format!(
            "`{name}` must be a whole number between {min} and {max}"
        )));
    }
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid_parameter(format!(
            "`{name}` must be a whole number between {min} and {max}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_rejects() {
        assert_eq!(percent_decode("a%20b+c", true, "x").unwrap(), "a b c");
        assert_eq!(percent_decode("a+b", false, "x").unwrap(), "a+b");
        assert_eq!(percent_decode("%C3%A9", false, "x").unwrap(), "é");
        assert!(percent_decode("%zz", false, "x").is_err());
        assert!(percent_decode("%4", false, "x").is_err());
        assert!(percent_decode("%", false, "x").is_err());
        assert!(percent_decode("%FF%FE", false, "x").is_err());
        assert!(percent_decode("%C3", false, "x").is_err());
    }

    /// Expected values are what `new URL("http://h" + path).pathname` gives in Node.
    #[test]
    fn paths_normalise_like_whatwg() {
        for (raw, want) in [
            ("/v1/health", "/v1/health"),
            ("/", "/"),
            ("/v1/documents/../../etc/passwd", "/etc/passwd"),
            ("/admin/../v1/x", "/v1/x"),
            ("/v1/documents/..", "/v1/"),
            ("/v1/documents/.", "/v1/documents/"),
            ("/v1/./documents", "/v1/documents"),
            ("/..", "/"),
            ("/../../..", "/"),
            ("/v1/documents/%2e%2e", "/v1/"),
            ("/v1/documents/%2E%2e/x", "/v1/x"),
            ("/v1/documents/.%2E/x", "/v1/x"),
            ("/v1/documents/%2e./x", "/v1/x"),
            ("/v1/%2e/health", "/v1/health"),
            ("/v1/documents/..%2F..%2Fetc", "/v1/documents/..%2F..%2Fetc"),
            ("/v1/documents/...", "/v1/documents/..."),
            ("/v1/documents/%2e%2e%2e", "/v1/documents/%2e%2e%2e"),
            ("/v1\\documents\\x", "/v1/documents/x"),
            ("/v1/a b\"<>`{}", "/v1/a%20b%22%3C%3E%60%7B%7D"),
            ("/v1/é", "/v1/%C3%A9"),
            ("/v1/%zz", "/v1/%zz"),
            ("/v1//documents", "/v1//documents"),
            ("v1/health", "v1/health"),
            ("", ""),
        ] {
            assert_eq!(normalize_path(raw), want, "{raw}");
        }
        assert!(matches!(
            normalize_path("/v1/documents/a%2Fb"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn query_pairs() {
        let q = parse_query("a=1&&b&c=x%3Dy&d=").unwrap();
        assert_eq!(
            q,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "x=y".into()),
                ("d".into(), "".into())
            ]
        );
    }

    #[test]
    fn etag_matching() {
        assert!(if_none_match_matches("\"g1\"", "\"g1\""));
        assert!(if_none_match_matches("W/\"g1\"", "\"g1\""));
        assert!(if_none_match_matches("\"x\", \"g1\"", "\"g1\""));
        assert!(if_none_match_matches("*", "\"g1\""));
        assert!(!if_none_match_matches("\"g2\"", "\"g1\""));
        assert!(!if_none_match_matches("", "\"g1\""));
    }

    #[test]
    fn uints() {
        assert_eq!(parse_uint("limit", "10", 1, 100).unwrap(), 10);
        for bad in [
            "",
            "-1",
            "+1",
            "1e3",
            " 1",
            "0x10",
            "101",
            "0",
            "99999999999999999999999",
        ] {
            assert!(parse_uint("limit", bad, 1, 100).is_err(), "{bad}");
        }
    }
}
