//! The `Shelf` class: one search index plus, when the shelf was built from files or
//! documents, the full documents (so `get` can return a document's whole content). A
//! shelf loaded from index bytes knows what the index stores about each document
//! (id, type, name, path, description, tags), which is what a result list shows.

use crate::{convert, errors};
use promptshelf_core::library::{duplicate_error, resolve_duplicates};
use promptshelf_core::search::Index;
use promptshelf_core::{Document, DocumentId, ParseError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use wasm_bindgen::prelude::*;

/// A searchable library of personas and prompt templates, held in WebAssembly memory.
///
/// Create one with `Shelf.load(bytes)`, `Shelf.fromFiles(files)`,
/// `Shelf.fromDocuments(docs)` or `new Shelf()`. Its memory lives outside the JS heap:
/// call `free()` (or use `using shelf = ...` where supported) when done with it; a shelf
/// that is only dropped is reclaimed later by the garbage collector's finalizer.
#[wasm_bindgen]
pub struct Shelf {
    pub(crate) index: Index,
    /// Full documents, for shelves built from files/documents (empty after `load`).
    pub(crate) docs: HashMap<DocumentId, Document>,
    /// Path → id, built on first need (a loaded index has the paths, not this map).
    paths: Option<HashMap<String, DocumentId>>,
    /// Files that did not parse (from `fromFiles` and failed `upsert`s), by path.
    errors: BTreeMap<String, ParseError>,
}

#[wasm_bindgen]
extern "C" {
    /// The `options` argument of `search`, typed in TypeScript as `SearchOptions` (an
    /// extern type, so wasm-bindgen declares it optional: `options?: SearchOptions | null`).
    #[wasm_bindgen(typescript_type = "SearchOptions")]
    pub type SearchOptionsArg;
}

/// What `get` returns for a document known only from index bytes.
#[derive(Serialize)]
struct Summary<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    doc_type: promptshelf_core::DocType,
    name: &'a str,
    path: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    tags: Vec<&'a str>,
}

impl Shelf {
    fn with_index(index: Index) -> Shelf {
        Shelf {
            index,
            docs: HashMap::new(),
            paths: None,
            errors: BTreeMap::new(),
        }
    }

    fn from_docs(docs: Vec<Document>) -> Shelf {
        let mut shelf = Shelf::with_index(Index::build(&docs));
        // Later documents with the same id win, as in `Index::build`.
        shelf.docs = docs.into_iter().map(|d| (d.id.clone(), d)).collect();
        shelf
    }

    fn paths(&mut self) -> &mut HashMap<String, DocumentId> {
        let index = &self.index;
        self.paths.get_or_insert_with(|| {
            index
                .ids()
                .into_iter()
                .filter_map(|id| index.get(id).map(|i| (i.path.to_owned(), id.clone())))
                .collect()
        })
    }

    /// Adds or replaces `doc` (by id); a different document previously at the same path
    /// is removed (its file now holds another id).
    fn put(&mut self, doc: Document) {
        let old = self.paths().get(&doc.path).cloned();
        if let Some(old) = old.filter(|old| *old != doc.id) {
            self.remove_id(&old);
        }
        if let Some(prev_path) = self.index.get(&doc.id).map(|i| i.path.to_owned()) {
            if prev_path != doc.path {
                self.paths().remove(&prev_path);
            }
        }
        self.index.add(&doc);
        self.errors.remove(&doc.path);
        self.paths().insert(doc.path.clone(), doc.id.clone());
        self.docs.insert(doc.id.clone(), doc);
    }

    fn remove_id(&mut self, id: &DocumentId) -> bool {
        if let Some(path) = self.index.get(id).map(|i| i.path.to_owned()) {
            if let Some(paths) = self.paths.as_mut() {
                paths.remove(&path);
            }
        }
        self.docs.remove(id);
        self.index.remove(id)
    }
}

// The parse module of the same package (pkg/parse/): the parsers are not in this module, so
// a page that only searches never downloads serde_yaml (issue #14).
#[wasm_bindgen(raw_module = "./parse/promptshelf_parse.js")]
extern "C" {
    /// `parseResult(path, text)` (parser.rs): `{"Ok": document}` or `{"Err": parseError}` as
    /// JSON text; throws only when the parse module is not initialised.
    #[wasm_bindgen(catch, js_name = parseResult)]
    fn parse_module_parse_result(path: &str, text: &str) -> Result<String, JsValue>;
}

/// Parses a file with the parse module: `Err` (a JS `Error` saying what to do) when that
/// module is not initialised, else the document or why the file is not one.
fn parse_file(what: &str, path: &str, text: &str) -> Result<Result<Document, ParseError>, JsValue> {
    let json = parse_module_parse_result(path, text).map_err(|e| {
        let why = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        JsValue::from(errors::named(
            "Error",
            &format!(
                "{what} parses files with the parse module: import `promptshelf/parse` and \
                 await its default export (init) first ({why})"
            ),
        ))
    })?;
    serde_json::from_str(&json).map_err(|e| errors::type_error(&format!("parsed document: {e}")))
}

#[wasm_bindgen(module = "/js/remote.js")]
extern "C" {
    /// `RemoteShelf.open` (js/remote.js).
    #[wasm_bindgen(js_name = openRemote)]
    fn open_remote(base_url: &JsValue, options: &JsValue, core: JsValue) -> js_sys::Promise;
}

#[wasm_bindgen]
impl Shelf {
    /// Opens a chunked index over the network (`promptshelf build --site` output, or the
    /// local server's `/v1/index/`): fetches `baseUrl + "manifest.json"`, then per query
    /// only the files that query needs. Options: `fetch` (default `globalThis.fetch`),
    /// `cacheBytes` (memory budget for fetched files, default 32 MiB), `preload` (fetch
    /// the files every query reads at once; default true). Resolves with a
    /// `RemoteShelf` whose `search(q, options)` and `get(id)` return promises of what
    /// `Shelf.search` / `Shelf.get` return.
    #[wasm_bindgen(unchecked_return_type = "Promise<RemoteShelf>")]
    pub fn open(
        #[wasm_bindgen(js_name = baseUrl, unchecked_param_type = "string | URL")] base_url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue,
    ) -> js_sys::Promise {
        open_remote(
            &base_url,
            &options,
            JsValue::from(crate::remote::ChunkCore::empty()),
        )
    }

    /// An empty shelf; fill it with `upsert` / `upsertDocument`.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Shelf {
        Shelf::with_index(Index::new())
    }

    /// Loads a serialized index: the bytes of the read API's `GET /v1/index`, or of
    /// `shelf.toBytes()`. Throws an `IndexFormatError` for bytes that are not one.
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<Shelf, JsValue> {
        let data: Vec<u8> = if let Some(a) = bytes.dyn_ref::<js_sys::Uint8Array>() {
            a.to_vec()
        } else if let Some(b) = bytes.dyn_ref::<js_sys::ArrayBuffer>() {
            js_sys::Uint8Array::new(b).to_vec()
        } else {
            return Err(errors::type_error(
                "Shelf.load: expected a Uint8Array or an ArrayBuffer",
            ));
        };
        let t = crate::log::now();
        let index = Index::from_bytes(&data).map_err(|e| {
            tracing::warn!(bytes = data.len(), error = %e, "index load failed");
            errors::codec_error(&e)
        })?;
        tracing::debug!(
            bytes = data.len(),
            documents = index.len(),
            terms = index.term_count(),
            ms = crate::log::since(t),
            "index loaded"
        );
        Ok(Shelf::with_index(index))
    }

    /// Builds a shelf from documents: the read API's document objects, the results of
    /// `parse`, or objects with at least `id`, `type` and `name` (and usually `path`,
    /// `description`, `tags`, `body`). A later document with the same id replaces an
    /// earlier one. Throws a `TypeError` naming the first malformed element.
    #[wasm_bindgen(js_name = fromDocuments)]
    pub fn from_documents(
        #[wasm_bindgen(unchecked_param_type = "DocumentInput[]")] docs: JsValue,
    ) -> Result<Shelf, JsValue> {
        let t = crate::log::now();
        let docs = convert::documents(&docs)?;
        let shelf = Shelf::from_docs(docs);
        tracing::debug!(
            documents = shelf.index.len(),
            ms = crate::log::since(t),
            "built from documents"
        );
        Ok(shelf)
    }

    /// Builds a shelf from library files (`{path, text}`; the path's extension decides
    /// the kind: `.json` persona, `.prompty` prompt template). Files that do not parse,
    /// and files whose id is already taken by a file earlier in path order, are skipped
    /// and listed in `errors` — one bad file never fails the whole library. Parsing is done
    /// by the parse module: initialise `promptshelf/parse` first (else this throws).
    #[wasm_bindgen(js_name = fromFiles)]
    pub fn from_files(
        #[wasm_bindgen(unchecked_param_type = "LibraryFile[]")] files: JsValue,
    ) -> Result<Shelf, JsValue> {
        let t = crate::log::now();
        let files = convert::files(&files)?;
        let mut docs = Vec::with_capacity(files.len());
        let mut errs = BTreeMap::new();
        for f in &files {
            match parse_file("Shelf.fromFiles", &f.path, &f.text)? {
                Ok(d) => docs.push(d),
                Err(e) => {
                    errs.insert(f.path.clone(), e);
                }
            }
        }
        let (docs, dups) = resolve_duplicates(docs);
        for e in dups {
            errs.insert(e.path.clone(), e);
        }
        let mut shelf = Shelf::from_docs(docs);
        tracing::debug!(
            files = files.len(),
            documents = shelf.index.len(),
            errors = errs.len(),
            ms = crate::log::since(t),
            "built from files"
        );
        shelf.errors = errs;
        Ok(shelf)
    }

    /// Runs a query (`"support agent"`, `"type:persona tag:writing"`, `"\"exact phrase\""`,
    /// `"-draft"`, ...). The last word is a prefix unless `prefix: false`, so this is
    /// made for search-as-you-type. Returns `{total, offset, limit, hits, facets}`;
    /// throws a `QueryError` (with `position`) for bad syntax, a `TypeError` for bad
    /// options.
    #[wasm_bindgen(unchecked_return_type = "SearchResults")]
    pub fn search(
        &self,
        query: &str,
        options: Option<SearchOptionsArg>,
    ) -> Result<JsValue, JsValue> {
        let opts = convert::search_options(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
        let r = self.index.search_ref(query, &opts).map_err(|e| {
            tracing::debug!(query, error = %e, "bad query");
            errors::query_error(query, &e)
        })?;
        tracing::trace!(query, total = r.total, "search");
        Ok(convert::results(&r))
    }

    /// The document with this id: the full document when the shelf was built from files
    /// or documents, else the index's summary (`id`, `type`, `name`, `path`,
    /// `description`, `tags`). `undefined` when there is none.
    #[wasm_bindgen(unchecked_return_type = "Document | DocumentSummary | undefined")]
    pub fn get(&self, id: &str) -> Result<JsValue, JsValue> {
        let id = DocumentId(id.to_owned());
        if let Some(d) = self.docs.get(&id) {
            return convert::to_js(d);
        }
        match self.index.get(&id) {
            Some(i) => convert::to_js(&Summary {
                id: i.id.as_str(),
                doc_type: i.doc_type,
                name: i.name,
                path: i.path,
                description: i.description,
                tags: i.tags,
            }),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Whether a document with this id is on the shelf.
    pub fn has(&self, id: &str) -> bool {
        self.index.contains(&DocumentId(id.to_owned()))
    }

    /// Parses a file's new text and puts its document on the shelf (replacing the one
    /// with the same id, and any other document previously at this path). Returns the
    /// document. On a parse error it throws a `ParseError`, records it in `errors`, and
    /// leaves the shelf as it was: the last good version stays searchable. An id already
    /// used by a file at another path is a `ParseError` too. Needs `promptshelf/parse`
    /// initialised, as `fromFiles`.
    #[wasm_bindgen(unchecked_return_type = "Document")]
    pub fn upsert(&mut self, path: &str, text: &str) -> Result<JsValue, JsValue> {
        let parsed = parse_file("shelf.upsert", path, text)?;
        let doc = match parsed {
            Ok(d) => d,
            Err(e) => return Err(self.reject(e)),
        };
        if let Some(owner) = self.index.get(&doc.id).map(|i| i.path.to_owned()) {
            if owner != doc.path {
                let e = duplicate_error(&doc, &owner);
                return Err(self.reject(e));
            }
        }
        let out = convert::to_js(&doc)?;
        tracing::debug!(path, id = %doc.id, "upsert");
        self.put(doc);
        Ok(out)
    }

    /// Puts a document object (as `fromDocuments` takes them) on the shelf, replacing
    /// the one with the same id.
    #[wasm_bindgen(js_name = upsertDocument)]
    pub fn upsert_document(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "DocumentInput")] doc: JsValue,
    ) -> Result<(), JsValue> {
        let doc = convert::document(&doc)?;
        tracing::debug!(id = %doc.id, "upsert document");
        self.put(doc);
        Ok(())
    }

    /// Removes the document with this id; returns whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        let removed = self.remove_id(&DocumentId(id.to_owned()));
        tracing::debug!(id, removed, "remove");
        removed
    }

    /// Replaces everything on the shelf with a serialized index (as `Shelf.load`), in
    /// place: what `follow` does when the server says `reset`, so a page keeps its
    /// `Shelf` object. Throws an `IndexFormatError` (and keeps the shelf) for bad bytes.
    #[wasm_bindgen(js_name = replaceWith)]
    pub fn replace_with(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<(), JsValue> {
        *self = Shelf::load(bytes)?;
        Ok(())
    }

    /// Serializes the index (the same format as the read API's `GET /v1/index`), to
    /// store or ship and `Shelf.load` later.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.index.to_bytes()
    }

    /// Number of documents.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.index.len()).unwrap_or(u32::MAX)
    }

    /// Ids of all documents, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.index
            .ids()
            .into_iter()
            .map(|i| i.as_str().to_owned())
            .collect()
    }

    /// Files that are not on the shelf because they failed to parse (or had a duplicate
    /// id), sorted by path: `{path, line, column, message}` each. A later successful
    /// `upsert` of the same path clears its entry.
    #[wasm_bindgen(getter, unchecked_return_type = "FileError[]")]
    pub fn errors(&self) -> Result<JsValue, JsValue> {
        let list: Vec<&ParseError> = self.errors.values().collect();
        convert::to_js(&list)
    }
}

impl Shelf {
    fn reject(&mut self, e: ParseError) -> JsValue {
        tracing::debug!(error = %e, "upsert rejected");
        let js = errors::parse_error(&e);
        self.errors.insert(e.path.clone(), e);
        js
    }
}
