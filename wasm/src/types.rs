//! TypeScript declarations for the plain objects that cross the boundary as JSON (the
//! functions and the `Shelf` class are declared by wasm-bindgen itself). Keep these in
//! step with `convert.rs` and the core's serde shapes; `tests/js/types.test.mjs` checks
//! them against real results.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** `"persona"` (personas/*.json) or `"prompt_template"` (prompts/*.prompty). */
export type DocType = "persona" | "prompt_template";

/** Log levels for `setLogLevel`; `"off"` is the default. */
export type LogLevel = "off" | "error" | "warn" | "info" | "debug" | "trace";

/** Options of `Shelf.search`. Unknown keys are a `TypeError`. */
export interface SearchOptions {
  /** Hits per page (default 20). */
  limit?: number;
  /** Hits to skip (default 0). */
  offset?: number;
  /** Treat the last word as a prefix, for search-as-you-type (default true). */
  prefix?: boolean;
  /** Compute a highlighted snippet per hit (default true). */
  snippets?: boolean;
  /** Count types and tags over all matches (default true). */
  facets?: boolean;
  /** Most tag values in `facets.tags` (default 20). */
  maxFacetValues?: number;
}

/** A piece of a document's text with the query's matches marked. */
export interface Snippet {
  field: "name" | "description" | "body";
  text: string;
  /** `[start, end)` UTF-16 indices into `text` (so `text.slice(start, end)` is the match). */
  highlights: [number, number][];
}

export interface Hit {
  id: string;
  type: DocType;
  name: string;
  path: string;
  /** Relevance (BM25 over fields with boosts); 0 for filter-only queries. */
  score: number;
  /** Index terms of the query this document contains (after prefix/typo expansion). */
  matched: string[];
  snippet?: Snippet;
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchResults {
  /** Matching documents on all pages. */
  total: number;
  offset: number;
  limit: number;
  hits: Hit[];
  /** Counts over all matches, most frequent first (empty when `facets: false`). */
  facets: { type: FacetCount[]; tags: FacetCount[] };
}

/** A parsed document, as `parse`, `upsert` and `get` return it (and the read API serves it). */
export interface Document {
  id: string;
  type: DocType;
  name: string;
  /** Path relative to the library root, `/`-separated. */
  path: string;
  /** BLAKE3 of the file's bytes, hex. */
  hash: string;
  description?: string;
  tags: string[];
  authors: string[];
  /** A prompt's template body, or a persona's prompt text. */
  body: string;
  /** Everything the file said, as JSON. */
  content: unknown;
}

/** What `get` returns for a shelf loaded from index bytes (the index keeps no bodies). */
export interface DocumentSummary {
  id: string;
  type: DocType;
  name: string;
  path: string;
  description?: string;
  tags: string[];
  /** Set by `get(id, {label})` / `get(id, {version})` for a version other than the latest. */
  version?: number;
}

/** Options of `Shelf.get`: a label (`"production"`; `"latest"` is the shelf's own
 * document) or a version number, answered from the labels a loaded `/v1/index` carries. */
export interface GetOptions {
  label?: string;
  version?: number;
}

/** A document as `Shelf.fromDocuments` / `upsertDocument` take it: a `Document`, or less. */
export interface DocumentInput {
  id: string;
  type: DocType;
  name: string;
  path?: string;
  hash?: string;
  description?: string | null;
  tags?: string[];
  authors?: string[];
  body?: string;
  content?: unknown;
}

/** One library file for `Shelf.fromFiles`. */
export interface LibraryFile {
  path: string;
  text: string;
}

/** A file that is not on the shelf (see `Shelf.errors`). */
export interface FileError {
  path: string;
  line: number | null;
  column: number | null;
  message: string;
}

/** Thrown by `parse` and `Shelf.upsert`: `name === "ParseError"`. */
export interface ParseError extends Error {
  name: "ParseError";
  path: string;
  /** 1-based; null when the problem has no position (too large, duplicate id...). */
  line: number | null;
  /** 1-based, in characters; null when the problem has no position. */
  column: number | null;
  /** The reason without the `path:line:column: ` prefix of `message`. */
  reason: string;
}

/** Thrown by `Shelf.search` for bad syntax: `name === "QueryError"`. */
export interface QueryError extends Error {
  name: "QueryError";
  /** UTF-16 index into the query string where the problem is. */
  position: number;
  reason: string;
}

/** Thrown by `Shelf.load` for bytes that are not an index: `name === "IndexFormatError"`. */
export interface IndexFormatError extends Error {
  name: "IndexFormatError";
  code: "bad_magic" | "unsupported_version" | "truncated" | "checksum_mismatch" | "corrupt";
}
"#;
