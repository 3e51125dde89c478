//! Prompty rendering for JS: the package's second module, `promptshelf/render` (cargo
//! feature `render`, built by `scripts/build-pkg` into `pkg/render/`). It is separate from
//! the search module because minijinja alone is ~230 KB gzipped: pages that only search
//! never download it, pages that render load it when they first need it (`await
//! import("promptshelf/render")`).
//!
//! Three entry points, one pipeline (`promptshelf_core::render`):
//! - `render(path, text, inputs, options)`: a file's text, for an editor's live preview.
//!   The text is parsed by the parse module (`promptshelf/parse`, which must be
//!   initialised first), not here: this module carries no YAML/Prompty parser, so a page
//!   that renders and edits downloads the parsers once (the render .wasm is ~40 KB gzip
//!   smaller).
//! - `renderDocument(doc, inputs, options)`: a parsed document object — what `parse()`
//!   (`promptshelf/parse`)
//!   returns, what `shelf.get(id)` returns on a shelf built from files or documents, or the
//!   read API's `GET /v1/prompts/{id}` JSON. The template travels inside the document
//!   (`content.frontmatter`, `content.body`), so the render module needs no shelf of its own
//!   and the search module no renderer.
//! - `renderById(shelf, id, inputs, options)`: `shelf.get(id)` then `renderDocument`, with
//!   the errors of the old `Shelf.render` (`not_found`, `no_template`). `shelf` is anything
//!   with a `get(id)` method: a search `Shelf`, or a `Map` of read-API documents.

use crate::errors::{named, opt_u32, set, type_error};
use crate::json::{stringify, to_js};
use js_sys::Reflect;
use promptshelf_core::render::{
    is_blank_source, render, EnvMap, Message, RenderError, RenderErrorCode, RenderOptions, Source,
};
use promptshelf_core::schema::InputCheck;
use promptshelf_core::{ContentHash, DocType, Document, DocumentId};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The `inputs` argument of `render`: an object of template variables.
    #[wasm_bindgen(typescript_type = "Record<string, unknown>")]
    pub type InputsArg;

    /// The `options` argument of `render`.
    #[wasm_bindgen(typescript_type = "RenderOptions")]
    pub type RenderOptionsArg;

    /// Where `renderById` looks documents up: a search `Shelf`, a `Map`, anything with `get`.
    #[wasm_bindgen(typescript_type = "{ get(id: string): unknown }")]
    pub type DocumentLookup;

    #[wasm_bindgen(method, catch)]
    fn get(this: &DocumentLookup, id: &str) -> Result<JsValue, JsValue>;
}

// The parse module of the same package (pkg/parse/, next to pkg/render/): the same ES module
// instance the page imported and initialised, so its parser is the one in use.
#[wasm_bindgen(raw_module = "../parse/promptshelf_parse.js")]
extern "C" {
    /// `parseJson(path, text)` (parser.rs): the parsed document as JSON text, or a `ParseError`.
    #[wasm_bindgen(catch, js_name = parseJson)]
    fn parse_module_parse_json(path: &str, text: &str) -> Result<String, JsValue>;
}

/// Options of `render` as JS callers write them.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct JsRenderOptions {
    env: EnvMap,
    strict: bool,
}

/// `render`'s inputs (absent → `{}`) and options → what the core takes.
fn args(
    inputs: Option<InputsArg>,
    options: Option<RenderOptionsArg>,
) -> Result<(serde_json::Value, RenderOptions), JsValue> {
    let inputs = match stringify(&inputs.map_or(JsValue::UNDEFINED, JsValue::from), "inputs")? {
        None => serde_json::Value::Object(Default::default()),
        Some(s) => serde_json::from_str(&s).map_err(|e| type_error(&format!("inputs: {e}")))?,
    };
    let o: JsRenderOptions = match stringify(
        &options.map_or(JsValue::UNDEFINED, JsValue::from),
        "render options",
    )? {
        None => JsRenderOptions::default(),
        Some(s) => {
            serde_json::from_str(&s).map_err(|e| type_error(&format!("render options: {e}")))?
        }
    };
    let opts = RenderOptions {
        strict_undefined: o.strict,
        env: o.env,
        ..Default::default()
    };
    Ok((inputs, opts))
}

fn error_parts(
    code: &str,
    message: &str,
    reason: &str,
    line: Option<u32>,
    column: Option<u32>,
) -> JsValue {
    let err: JsValue = named("RenderError", message).into();
    set(&err, "code", JsValue::from_str(code));
    set(&err, "line", opt_u32(line));
    set(&err, "column", opt_u32(column));
    set(&err, "reason", JsValue::from_str(reason));
    err
}

/// A prompt that could not be rendered: a `RenderError` with the core's code.
fn error(e: &RenderError) -> JsValue {
    error_parts(
        e.code.as_str(),
        &e.to_string(),
        &e.message,
        e.line,
        e.column,
    )
}

/// A `RenderError` without a position (a document that is missing or has no template).
fn plain_error(code: &str, message: &str) -> JsValue {
    error_parts(code, message, message, None, None)
}

/// Renders a Prompty file's text into chat messages without putting it on a shelf (an
/// editor's live preview): `inputs` fill the template (missing ones fall back to the
/// file's defaults/samples), `options.env` answers `${env:NAME}` references (nothing is
/// read from any real environment), `options.strict` makes undefined variables errors.
/// Returns `[{role, content}]`; throws a `RenderError` (`code`, `line`, `column`).
/// The text is parsed by the parse module, `promptshelf/parse`: initialise it first
/// (`await init()` of its default export).
#[wasm_bindgen(js_name = render, unchecked_return_type = "Message[]")]
pub fn render_text(
    path: &str,
    text: &str,
    inputs: Option<InputsArg>,
    options: Option<RenderOptionsArg>,
) -> Result<JsValue, JsValue> {
    let (inputs, opts) = args(inputs, options)?;
    // A blank file is no document for the parser, yet previews as no messages (as
    // `Source::File` does natively).
    if is_blank_source(text) {
        return to_js(&Vec::<Message>::new());
    }
    let json = parse_module_parse_json(path, text).map_err(parse_failure)?;
    let doc: Document =
        serde_json::from_str(&json).map_err(|e| type_error(&format!("document: {e}")))?;
    let check = input_check(&doc, &inputs, opts.strict_undefined);
    if !check.problems.is_empty() {
        return Err(problems_error(&check)?);
    }
    let source = Source::Document {
        doc: &doc,
        text: Some(text),
    };
    let messages = render(source, &inputs, &opts).map_err(|e| error(&e))?;
    to_js(&messages)
}

/// What the parse module threw → what `render` throws: a `ParseError` becomes a
/// `RenderError` of code `parse` at the same position (as natively); anything else means
/// the parse module is not ready (not initialised), which says what to do.
fn parse_failure(e: JsValue) -> JsValue {
    let field = |key: &str| Reflect::get(&e, &JsValue::from_str(key)).ok();
    if field("name").and_then(|v| v.as_string()).as_deref() != Some("ParseError") {
        let why = field("message")
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        return named(
            "Error",
            &format!(
                "render(path, text) parses with the parse module: initialise \
                 `promptshelf/parse` (`await init()` of its default export) before rendering \
                 ({why})"
            ),
        )
        .into();
    }
    let reason = field("reason")
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let at = |key: &str| field(key).and_then(|v| v.as_f64()).map(|n| n as u32);
    error(&RenderError::new(RenderErrorCode::Parse, reason).at(at("line"), at("column")))
}

/// The fields of a document that rendering reads; the rest (and the read API's extra
/// `modified`/`stale`) are ignored.
#[derive(Debug, Deserialize)]
struct DocArg {
    id: String,
    #[serde(rename = "type")]
    doc_type: DocType,
    #[serde(default)]
    body: String,
    #[serde(default)]
    content: Option<serde_json::Value>,
}

/// Renders a parsed document (`parse()`'s result, `shelf.get(id)` of a shelf built from
/// files or documents, or the read API's `GET /v1/prompts/{id}` JSON) into chat messages.
/// `inputs` and `options` as for `render`. Throws a `RenderError`: code `not_a_prompt` for
/// a persona, `no_template` for a summary without `content` (what `get` returns on a shelf
/// loaded from index bytes), or the template's own errors (positions are file lines, since
/// the document carries where its body starts); a `TypeError` for something that is not a
/// document at all.
#[wasm_bindgen(js_name = renderDocument, unchecked_return_type = "Message[]")]
pub fn render_document(
    #[wasm_bindgen(unchecked_param_type = "PromptDocument")] doc: JsValue,
    inputs: Option<InputsArg>,
    options: Option<RenderOptionsArg>,
) -> Result<JsValue, JsValue> {
    let Some(text) = stringify(&doc, "document")? else {
        return Err(type_error("document: expected a document object"));
    };
    let d: DocArg =
        serde_json::from_str(&text).map_err(|e| type_error(&format!("document: {e}")))?;
    let content = match d.content {
        Some(c) if !c.is_null() => c,
        _ if d.doc_type == DocType::Persona => {
            let msg = format!("document '{}' is not a prompt template", d.id);
            return Err(plain_error("not_a_prompt", &msg));
        }
        _ => {
            let msg = format!(
                "'{}' has no template here: a shelf loaded from index bytes holds summaries only; \
                 render a document from parse(), fromFiles/fromDocuments or GET /v1/prompts/{{id}}",
                d.id
            );
            return Err(plain_error("no_template", &msg));
        }
    };
    // Only what rendering reads matters; the rest stays empty.
    let doc = Document {
        id: DocumentId(d.id),
        doc_type: d.doc_type,
        name: String::new(),
        path: String::new(),
        hash: ContentHash(String::new()),
        description: None,
        tags: Vec::new(),
        authors: Vec::new(),
        body: d.body,
        content,
    };
    let (inputs, opts) = args(inputs, options)?;
    // Typed inputs (#16): every problem at once, before rendering, as the CLI and the read
    // API do; `strict` also makes undeclared inputs errors.
    let check = input_check(&doc, &inputs, opts.strict_undefined);
    if !check.problems.is_empty() {
        return Err(problems_error(&check)?);
    }
    let source = Source::Document {
        doc: &doc,
        text: None,
    };
    let messages = render(source, &inputs, &opts).map_err(|e| error(&e))?;
    to_js(&messages)
}

fn input_check(doc: &Document, inputs: &serde_json::Value, strict: bool) -> InputCheck {
    let schema = promptshelf_core::schema::of_document(doc);
    let empty = serde_json::Map::new();
    let given = inputs.as_object().unwrap_or(&empty);
    promptshelf_core::schema::check_inputs(&schema["inputs"], given, strict)
}

/// A `RenderError` of code `invalid_inputs` (or `missing_input` when every problem is an
/// absent input) with `problems: [{input, expected, found, message}]`.
fn problems_error(check: &InputCheck) -> Result<JsValue, JsValue> {
    let code = if check.problems.iter().all(|p| p.found == "nothing") {
        "missing_input"
    } else {
        "invalid_inputs"
    };
    let message: Vec<&str> = check.problems.iter().map(|p| p.message.as_str()).collect();
    let err = plain_error(code, &message.join("; "));
    set(&err, "problems", to_js(&check.problems)?);
    Ok(err)
}

/// Checks `inputs` against a prompt document's inputs schema (`content.schema.inputs`)
/// without rendering: `{problems: [{input, expected, found, message}], warnings: [string]}`.
/// A form uses it to show each problem next to its field. `options.strict` makes
/// undeclared inputs problems.
#[wasm_bindgen(js_name = checkInputs, unchecked_return_type = "InputCheck")]
pub fn check_inputs(
    #[wasm_bindgen(unchecked_param_type = "PromptDocument")] doc: JsValue,
    inputs: Option<InputsArg>,
    options: Option<RenderOptionsArg>,
) -> Result<JsValue, JsValue> {
    let Some(text) = stringify(&doc, "document")? else {
        return Err(type_error("document: expected a document object"));
    };
    let d: DocArg =
        serde_json::from_str(&text).map_err(|e| type_error(&format!("document: {e}")))?;
    let doc = Document {
        id: DocumentId(d.id),
        doc_type: d.doc_type,
        name: String::new(),
        path: String::new(),
        hash: ContentHash(String::new()),
        description: None,
        tags: Vec::new(),
        authors: Vec::new(),
        body: d.body,
        content: d.content.unwrap_or_default(),
    };
    let (inputs, opts) = args(inputs, options)?;
    let check = input_check(&doc, &inputs, opts.strict_undefined);
    to_js(&serde_json::json!({"problems": check.problems, "warnings": check.warnings()}))
}

/// `renderDocument(shelf.get(id), inputs, options)`, with a `RenderError` of code
/// `not_found` when `get` finds nothing. `shelf` is a search `Shelf` (built from files or
/// documents: a shelf loaded from index bytes has no templates, code `no_template`) or any
/// object with a `get(id)` method, such as a `Map` of the read API's documents.
// Declared by hand below (`TS_RENDER_TYPES`): typed by the `PromptRegistry` that
// `promptshelf types` generates.
#[wasm_bindgen(js_name = renderById, skip_typescript)]
pub fn render_by_id(
    shelf: &DocumentLookup,
    id: &str,
    inputs: Option<InputsArg>,
    options: Option<RenderOptionsArg>,
) -> Result<JsValue, JsValue> {
    let doc = shelf.get(id)?;
    if doc.is_undefined() || doc.is_null() {
        return Err(plain_error(
            "not_found",
            &format!("no document with id '{id}'"),
        ));
    }
    render_document(doc, inputs, options)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_RENDER_TYPES: &'static str = r#"
/** Options of `render` / `renderDocument` / `renderById`. Unknown keys are a `TypeError`. */
export interface RenderOptions {
  /** Values for `${env:NAME}` references in the front matter (no real environment is read). */
  env?: Record<string, string>;
  /**
   * Undefined template variables are errors instead of rendering as nothing, and inputs the
   * prompt does not declare are `invalid_inputs` errors (default false).
   */
  strict?: boolean;
}

/** One input that does not match the prompt's inputs schema. */
export interface InputProblem {
  /** `question`, `tags[2]`, `user.name`. */
  input: string;
  /** `a string`, `one of "a", "b"`. */
  expected: string;
  /** `the number 7`, `nothing`. */
  found: string;
  /** `tags[2]: expected a string, found the number 7`. */
  message: string;
}

/** What `checkInputs` returns. */
export interface InputCheck {
  problems: InputProblem[];
  /** Inputs the prompt does not declare (problems under `strict`). */
  warnings: string[];
}

/**
 * The fields `renderDocument` reads: a `Document` (`parse()` of `promptshelf/parse`,
 * `shelf.get(id)` of a shelf built from files or documents) or the read API's
 * `GET /v1/prompts/{id}` JSON. Other fields are ignored. `content` is the parsed file
 * (`{frontmatter, body, shape, body_line, ...}` for a prompt); it is absent on the summaries
 * of a shelf loaded from index bytes, which cannot be rendered (`no_template`).
 */
export interface PromptDocument {
  id: string;
  type: "persona" | "prompt_template";
  body?: string;
  content?: unknown;
}

/**
 * Prompt ids → `{inputs, outputs}` types. Empty here; the `.d.ts` that `promptshelf types`
 * (or `promptshelf build`) writes fills it in, and `renderById` then checks each call's
 * inputs for that id at compile time (a missing required input or a misspelled one is an
 * error). Ids it does not list take any inputs.
 */
export interface PromptRegistry {}

/** The inputs (and options) `renderById` takes for id `K`. */
export type RenderByIdArgs<K extends string> = K extends keyof PromptRegistry
  ? PromptRegistry[K] extends { inputs: infer I }
    ? {} extends I
      ? [inputs?: I, options?: RenderOptions]
      : [inputs: I, options?: RenderOptions]
    : [inputs?: Record<string, unknown>, options?: RenderOptions]
  : [inputs?: Record<string, unknown>, options?: RenderOptions];

/**
 * `renderDocument(shelf.get(id), inputs, options)`, with a `RenderError` of code `not_found`
 * when `get` finds nothing. `shelf` is a search `Shelf` (built from files or documents) or
 * any object with a `get(id)` method, such as a `Map` of the read API's documents.
 */
export function renderById<K extends string>(shelf: { get(id: string): unknown }, id: K, ...args: RenderByIdArgs<K>): Message[];

/** One chat message, as the Prompty runtime would send it. */
export interface Message {
  role: string;
  content: string;
  /** Only for messages with inline images (v1 files): OpenAI-style content parts. */
  parts?: ({ type: "text"; text: string } | { type: "image_url"; image_url: { url: string } })[];
}

/** Thrown by `render` / `renderDocument` / `renderById`: `name === "RenderError"`. */
export interface RenderError extends Error {
  name: "RenderError";
  code:
    | "invalid_inputs" | "missing_input" | "missing_env" | "syntax" | "undefined" | "template"
    | "injected_role" | "limit" | "unsupported_format" | "invalid_prompt" | "parse" | "not_a_prompt"
    | "not_found" | "no_template";
  line: number | null;
  column: number | null;
  reason: string;
  /** For `invalid_inputs` / `missing_input` found before rendering: every problem. */
  problems?: InputProblem[];
}

"#;
