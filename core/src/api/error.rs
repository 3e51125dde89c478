//! The API's one error shape: `{"error": {"code", "message"}}` with a 4xx status for
//! anything the client sent, 503 when the store fails. Codes are stable strings
//! clients may match on; messages are for humans.

use serde::Serialize;

/// A failed request: turned into the JSON error body and status by [`ApiError::body`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (4xx for the client's mistakes, 503 for the store's).
    pub status: u16,
    /// Stable machine-readable code (`not_found`, `bad_query`, ...); clients match on it.
    pub code: &'static str,
    /// What went wrong, for humans.
    pub message: String,
    /// Character position in the search query, for `bad_query`.
    pub position: Option<usize>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<usize>,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            position: None,
        }
    }
    /// 404: no such route or document.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    /// 405 for a method the read routes do not take (they take GET, HEAD, OPTIONS).
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "method_not_allowed",
            format!(
                "method {method} is not allowed here; the read API accepts GET, HEAD and OPTIONS"
            ),
        )
    }
    /// 400: a malformed `%XX` escape or bytes that are not UTF-8.
    pub fn bad_encoding(message: impl Into<String>) -> Self {
        Self::new(400, "bad_encoding", message)
    }
    /// 400: a parameter or id the route cannot use.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_parameter", message)
    }
    /// 400: a path the router cannot read at all (not starting with `/`).
    pub fn bad_path(message: impl Into<String>) -> Self {
        Self::new(400, "bad_path", message)
    }
    /// 400: a cursor this API did not issue.
    pub fn bad_cursor(message: impl Into<String>) -> Self {
        Self::new(400, "bad_cursor", message)
    }
    /// 400: a search query with a syntax error at `position` (characters).
    pub fn bad_query(message: impl Into<String>, position: Option<usize>) -> Self {
        ApiError {
            position,
            ..Self::new(400, "bad_query", message)
        }
    }
    /// 414: the request target is longer than the configured limit.
    pub fn uri_too_long(len: usize, max: usize) -> Self {
        Self::new(
            414,
            "uri_too_long",
            format!("request target is {len} bytes; the limit is {max}"),
        )
    }
    /// 413: the request body is longer than the configured limit.
    pub fn payload_too_large(len: u64, max: usize) -> Self {
        Self::new(
            413,
            "payload_too_large",
            format!("request body is {len} bytes; the limit is {max}"),
        )
    }
    /// 503: the store failed; the client may retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "unavailable", message)
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Vec<u8> {
        let env = Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                position: self.position,
            },
        };
        // Serializing plain strings and integers cannot fail; fall back to a fixed body
        // rather than panic if it ever did.
        serde_json::to_vec(&env).unwrap_or_else(|_| {
            br#"{"error":{"code":"internal","message":"error serialization failed"}}"#.to_vec()
        })
    }
}

impl From<super::store::StoreError> for ApiError {
    fn from(e: super::store::StoreError) -> Self {
        ApiError::unavailable(format!("the database could not be read: {}", e.0))
    }
}
