//! Small, strict HTTP helpers: percent-decoding that rejects malformed escapes and
//! invalid UTF-8, query-string splitting, header lookup and `If-None-Match` matching.
//! Written by hand to keep the core free of HTTP crates and identical on every host.

use super::error::ApiError;

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
