//! The OpenAPI 3 description of the read API. The file lives in the repository at
//! `docs/openapi.json` (reviewed like code); the handler serves exactly those bytes.

/// `docs/openapi.json`, verbatim.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");
