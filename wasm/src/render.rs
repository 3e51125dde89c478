//! Prompty rendering for JS (cargo feature `render`): `render(path, text, inputs, options)`
//! for an editor's live preview, and `Shelf.render(id, inputs, options)`. Left out of the
//! default npm build: minijinja more than doubles the .wasm (≈210 → ≈440 KB gzipped), over
//! the package's 300 KB budget. `scripts/build-pkg --features render` builds it in.

use crate::convert::{stringify, to_js};
use crate::errors::{named, opt_u32, set, type_error};
use crate::shelf::Shelf;
use promptshelf_core::render::{
    render_source_with, render_with, EnvMap, PromptSource, RenderError, RenderOptions,
};
use promptshelf_core::DocumentId;
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
) -> Result<(serde_json::Value, EnvMap, RenderOptions), JsValue> {
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
        ..Default::default()
    };
    Ok((inputs, o.env, opts))
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

/// Renders a Prompty file's text into chat messages without putting it on a shelf (an
/// editor's live preview): `inputs` fill the template (missing ones fall back to the
/// file's defaults/samples), `options.env` answers `${env:NAME}` references (nothing is
/// read from any real environment), `options.strict` makes undefined variables errors.
/// Returns `[{role, content}]`; throws a `RenderError` (`code`, `line`, `column`).
#[wasm_bindgen(js_name = render, unchecked_return_type = "Message[]")]
pub fn render_text(
    path: &str,
    text: &str,
    inputs: Option<InputsArg>,
    options: Option<RenderOptionsArg>,
) -> Result<JsValue, JsValue> {
    let (inputs, env, opts) = args(inputs, options)?;
    let messages = render_source_with(path, text, &inputs, &env, &opts).map_err(|e| error(&e))?;
    to_js(&messages)
}

#[wasm_bindgen]
impl Shelf {
    /// Renders the prompt template with this id into chat messages (`[{role, content}]`),
    /// the way the Prompty runtime would before calling a model. See the top-level
    /// `render` for `inputs` and `options`. Needs the template itself, so the shelf must
    /// have been built from files or documents (a loaded index holds no templates: that is
    /// a `RenderError` with code `no_template`); an unknown id is code `not_found`.
    #[wasm_bindgen(js_name = render, unchecked_return_type = "Message[]")]
    pub fn render_doc(
        &self,
        id: &str,
        inputs: Option<InputsArg>,
        options: Option<RenderOptionsArg>,
    ) -> Result<JsValue, JsValue> {
        let key = DocumentId(id.to_owned());
        let Some(doc) = self.docs.get(&key) else {
            let (code, msg) = if self.index.contains(&key) {
                ("no_template", format!("'{id}' has no template on this shelf: it was loaded from index bytes; build the shelf with fromFiles/fromDocuments or upsert the file"))
            } else {
                ("not_found", format!("no document with id '{id}'"))
            };
            return Err(error_parts(code, &msg, &msg, None, None));
        };
        let (inputs, env, opts) = args(inputs, options)?;
        let src = PromptSource::from_document(doc).map_err(|e| error(&e))?;
        let messages = render_with(&src, &inputs, &env, &opts).map_err(|e| error(&e))?;
        to_js(&messages)
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_RENDER_TYPES: &'static str = r#"
/** Options of `render` / `Shelf.render`. Unknown keys are a `TypeError`. */
export interface RenderOptions {
  /** Values for `${env:NAME}` references in the front matter (no real environment is read). */
  env?: Record<string, string>;
  /** Undefined template variables are errors instead of rendering as nothing (default false). */
  strict?: boolean;
}

/** One chat message, as the Prompty runtime would send it. */
export interface Message {
  role: string;
  content: string;
  /** Only for messages with inline images (v1 files): OpenAI-style content parts. */
  parts?: ({ type: "text"; text: string } | { type: "image_url"; image_url: { url: string } })[];
}

/** Thrown by `render` / `Shelf.render`: `name === "RenderError"`. */
export interface RenderError extends Error {
  name: "RenderError";
  code:
    | "invalid_inputs" | "missing_input" | "missing_env" | "syntax" | "undefined" | "template"
    | "injected_role" | "limit" | "unsupported_format" | "invalid_prompt" | "parse" | "not_a_prompt"
    | "not_found" | "no_template";
  line: number | null;
  column: number | null;
  reason: string;
}

"#;
