//! The pure half of `Shelf.open(baseUrl)`: a chunked index (core's
//! `search::chunked`) over the files the JS half (`js/remote.js`) has fetched. Each call
//! either answers or returns the names of the files it still needs (a JS array); the JS
//! half fetches them (sharing requests in flight, caching under a byte budget), hands
//! them over with `put`, and asks again.

use crate::{convert, convert::SearchOptionsArg, errors};
use promptshelf_core::search::chunked::{ChunkError, ChunkedIndex, Step};
use std::collections::HashMap;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/remote.js")]
extern "C" {
    /// `RemoteShelf.open` (js/remote.js).
    #[wasm_bindgen(js_name = openRemote)]
    pub fn open_remote(base_url: &JsValue, options: &JsValue, core: JsValue) -> js_sys::Promise;
}

/// `Shelf.open` of the slim module `promptshelf/open` (feature `remote`): the chunked
/// index over the network and nothing else — no whole-index builder, no `Shelf`, no
/// logging — so a page that searches a large library downloads the smallest module that
/// can (issue #14: the first query's bytes include the `.wasm`). Same options and same
/// `RemoteShelf` as `Shelf.open` of the main module.
#[cfg(feature = "remote")]
#[wasm_bindgen(unchecked_return_type = "Promise<RemoteShelf>")]
pub fn open(
    #[wasm_bindgen(js_name = baseUrl, unchecked_param_type = "string | URL")] base_url: JsValue,
    #[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue,
) -> js_sys::Promise {
    open_remote(&base_url, &options, JsValue::from(ChunkCore::empty()))
}

/// Internal to the package: what `RemoteShelf` (js/remote.js) drives.
#[wasm_bindgen(skip_typescript)]
pub struct ChunkCore {
    index: Option<ChunkedIndex>,
    files: HashMap<String, Vec<u8>>,
}

fn chunk_error(e: ChunkError) -> JsValue {
    errors::type_error(&e.to_string())
}

fn names(v: Vec<String>) -> JsValue {
    v.into_iter()
        .map(JsValue::from)
        .collect::<js_sys::Array>()
        .into()
}

impl ChunkCore {
    /// A core with no chunk set yet (`load` gives it one).
    pub fn empty() -> ChunkCore {
        ChunkCore {
            index: None,
            files: HashMap::new(),
        }
    }

    fn index(&self) -> Result<&ChunkedIndex, JsValue> {
        self.index
            .as_ref()
            .ok_or_else(|| errors::type_error("the chunked index is not loaded"))
    }
}

#[wasm_bindgen]
impl ChunkCore {
    /// Opens the chunk set whose manifest is `bytes` (what js/remote.js fetched).
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.index = Some(ChunkedIndex::from_manifest(bytes).map_err(chunk_error)?);
        self.files.clear();
        Ok(())
    }

    /// Keeps a fetched file.
    pub fn put(&mut self, name: String, bytes: Vec<u8>) {
        self.files.insert(name, bytes);
    }

    /// Drops a file (the JS cache's budget decides which).
    pub fn evict(&mut self, name: &str) {
        self.files.remove(name);
    }

    /// The files every query reads first (preloaded on open).
    pub fn globals(&self) -> Result<JsValue, JsValue> {
        Ok(names(self.index()?.global_files()))
    }

    /// A search step: the results object (as `Shelf.search` returns it) or an array of
    /// file names to fetch first.
    pub fn search(
        &self,
        query: &str,
        options: Option<SearchOptionsArg>,
    ) -> Result<JsValue, JsValue> {
        let opts = convert::search_options(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
        match self.index()?.search(query, &opts, &self.files) {
            Ok(Step::Need(n)) => Ok(names(n)),
            Ok(Step::Done(r)) => Ok(convert::results(&r.as_ref())),
            Err(ChunkError::Query(e)) => Err(errors::query_error(query, &e)),
            Err(e) => Err(chunk_error(e)),
        }
    }

    /// A `get` step: the document summary (`undefined` if none) or file names to fetch.
    pub fn get(&self, id: &str) -> Result<JsValue, JsValue> {
        match self.index()?.get(id, &self.files).map_err(chunk_error)? {
            Step::Need(n) => Ok(names(n)),
            Step::Done(Some(d)) => convert::to_js(&d),
            Step::Done(None) => Ok(JsValue::UNDEFINED),
        }
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_REMOTE: &'static str = r#"
/** Options of `Shelf.open`. */
export interface OpenOptions {
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: (url: string) => Promise<Response>;
  /** Memory budget for fetched index files, in bytes (default 32 MiB). */
  cacheBytes?: number;
  /** Fetch the files every query reads as soon as the shelf opens (default true). */
  preload?: boolean;
}

/** A chunked index over the network (`Shelf.open`): fetches only what each query needs. */
export interface RemoteShelf {
  readonly baseUrl: string;
  /** Bytes held in the cache, files and bytes fetched so far. */
  readonly stats: { cachedBytes: number; fetches: number; fetchedBytes: number };
  /** What `Shelf.search` returns, for the whole library. Rejects with a `QueryError`. */
  search(query: string, options?: SearchOptions): Promise<SearchResults>;
  /** The document's summary, or undefined. */
  get(id: string): Promise<DocumentSummary | undefined>;
  /** Fetch ahead: the files every query reads, or what `query` needs (as the user types). */
  preload(query?: string): Promise<void>;
  /** Releases the WebAssembly memory. */
  free(): void;
}
"#;
