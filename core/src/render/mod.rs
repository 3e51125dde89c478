//! Rendering a `.prompty` prompt: document + inputs (a JSON object) + a host-provided
//! environment map → the chat messages (role, content) the Prompty runtime would send.
//!
//! Fidelity target: prompty 2.1.0 for v2-shape files, prompty 0.1.50 for v1-shape files
//! (see docs/prompty-compatibility.md and tests/fidelity/). Pipeline:
//!
//! 1. [`config`]: front matter → engine, strict flag, declared inputs, v1 `sample`, with
//!    `${env:...}` resolved from the host's map (never the process environment).
//! 2. Inputs: the caller's, then (v2) each input's `default`, then its `example`; (v1)
//!    `sample`, then `default`. A v2 input marked `required` with none of these is an error.
//! 3. The body is rendered by [`jinja`] (minijinja, with fuel) or [`mustache`].
//! 4. [`roles`] splits the text into messages by the reference's rules, refusing role lines
//!    that came out of variables.
//!
//! Pure: no I/O, no clock, no randomness (the v2 nonce is derived from the template and
//! inputs), so it runs the same natively, in the browser and at the edge.

pub mod config;
pub mod jinja;
pub mod mustache;
pub mod pystr;
pub mod roles;

use crate::model::Document;
pub use config::{Engine, Plan, Shape};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Environment variables the host chooses to expose to `${env:NAME}` references.
pub type EnvMap = BTreeMap<String, String>;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, ... (lower case).
    pub role: String,
    /// The message text (for a message with `parts`, the text as written, images included).
    pub content: String,
    /// Structured content, only when the text holds Markdown images (v1 files): text and
    /// `image_url` parts in the reference runtime's OpenAI shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
}

impl Message {
    /// A text message.
    pub fn new(role: &str, content: &str) -> Message {
        Message {
            role: role.to_owned(),
            content: content.to_owned(),
            parts: Vec::new(),
        }
    }
}

/// A content part (OpenAI chat shape, as prompty 0.1.x produces for inline images).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    /// A piece of text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, by URL.
    ImageUrl {
        /// Where the image is.
        image_url: ImageUrl,
    },
}

/// An image reference in a content part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// `http(s):` and `data:` URLs as written. A relative file path stays a path: the
    /// reference inlines the file as base64, but the core reads no files.
    pub url: String,
}

/// Machine-readable error kinds; the string forms are API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenderErrorCode {
    /// The inputs are not a JSON object.
    InvalidInputs,
    /// A required input was not given and has no default or example.
    MissingInput,
    /// A `${env:NAME}` used by rendering is not set and has no default.
    MissingEnv,
    /// The template does not parse.
    Syntax,
    /// The template uses a name that is not defined (strict mode), or an attribute of one.
    Undefined,
    /// Any other error raised while rendering (bad filter argument, type error...).
    Template,
    /// A role line appeared in the output that the template did not write.
    InjectedRole,
    /// The render ran out of fuel or produced too much output.
    Limit,
    /// The front matter asks for a template engine we do not have.
    UnsupportedFormat,
    /// The rendered text cannot be split into messages (v1's "Invalid prompt format").
    InvalidPrompt,
    /// The file itself does not parse (a [`Source::File`] that is no document).
    Parse,
    /// The document is not a prompt template.
    NotAPrompt,
}

impl RenderErrorCode {
    /// The code's string form (`missing_input`, ...): API contract.
    pub fn as_str(self) -> &'static str {
        match self {
            RenderErrorCode::InvalidInputs => "invalid_inputs",
            RenderErrorCode::MissingInput => "missing_input",
            RenderErrorCode::MissingEnv => "missing_env",
            RenderErrorCode::Syntax => "syntax",
            RenderErrorCode::Undefined => "undefined",
            RenderErrorCode::Template => "template",
            RenderErrorCode::InjectedRole => "injected_role",
            RenderErrorCode::Limit => "limit",
            RenderErrorCode::UnsupportedFormat => "unsupported_format",
            RenderErrorCode::InvalidPrompt => "invalid_prompt",
            RenderErrorCode::Parse => "parse",
            RenderErrorCode::NotAPrompt => "not_a_prompt",
        }
    }
}

/// Why a render failed. `line`/`column` are 1-based and relative to the whole file when
/// the position is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}{message}", position_prefix(*line, *column))]
pub struct RenderError {
    /// What kind of failure (API contract).
    pub code: RenderErrorCode,
    /// What went wrong, for humans.
    pub message: String,
    /// 1-based line in the file, when known.
    pub line: Option<u32>,
    /// 1-based column in the file, when known.
    pub column: Option<u32>,
    /// What the error is about (an input or variable name), to locate it in the source.
    #[serde(skip)]
    pub subject: Option<String>,
}

fn position_prefix(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{l}:{c}: "),
        (Some(l), None) => format!("{l}: "),
        _ => String::new(),
    }
}

impl RenderError {
    /// An error of kind `code` without a position.
    pub fn new(code: RenderErrorCode, message: impl Into<String>) -> RenderError {
        RenderError {
            code,
            message: message.into(),
            line: None,
            column: None,
            subject: None,
        }
    }

    pub(crate) fn about(mut self, subject: &str) -> RenderError {
        self.subject = Some(subject.to_owned());
        self
    }

    /// The same error at a 1-based position (e.g. a parse error's, reported as `parse`).
    pub fn at(mut self, line: Option<u32>, column: Option<u32>) -> RenderError {
        self.line = line;
        self.column = column;
        self
    }
}

/// Knobs with safe defaults.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Undefined template variables are errors (with position) instead of printing nothing
    /// (the reference's behaviour).
    pub strict_undefined: bool,
    /// Template instruction budget (minijinja fuel; Mustache steps).
    pub fuel: u64,
    /// Upper bound on the rendered text, in bytes.
    pub max_output_bytes: usize,
    /// Contents for `${file:NAME}` references in the front matter, keyed by NAME as
    /// written, that the host chose to read (the core reads no files). Unresolved file
    /// references count as absent.
    pub files: BTreeMap<String, Value>,
    /// Values for `${env:NAME}` references, that the host chose to expose (the CLI its
    /// process environment, the read API none, the npm package what the page passes).
    pub env: EnvMap,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            strict_undefined: false,
            fuel: 2_000_000,
            max_output_bytes: 4 * 1024 * 1024,
            files: BTreeMap::new(),
            env: EnvMap::new(),
        }
    }
}

/// A prompt ready to render: front matter (as JSON), the raw body, where the body starts.
#[derive(Debug, Clone)]
pub struct PromptSource<'a> {
    /// The front matter as JSON (`null` when the file has none).
    pub frontmatter: &'a Value,
    /// The body as written.
    pub body: &'a str,
    /// Which runtime's rules apply.
    pub shape: Shape,
    /// 1-based file line of the body's first line (for error positions); 1 when unknown.
    pub body_line: u32,
}

impl<'a> PromptSource<'a> {
    /// From a parsed prompt `Document` (`content.frontmatter`, `content.body`, `content.shape`).
    pub fn from_document(doc: &'a Document) -> Result<PromptSource<'a>, RenderError> {
        static NULL: Value = Value::Null;
        if doc.doc_type != crate::model::DocType::PromptTemplate {
            return Err(RenderError::new(
                RenderErrorCode::NotAPrompt,
                format!("document '{}' is not a prompt template", doc.id),
            ));
        }
        let c = &doc.content;
        let frontmatter = c.get("frontmatter").unwrap_or(&NULL);
        let body = c
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or(doc.body.as_str());
        let shape = match c
            .get("shape")
            .and_then(Value::as_str)
            .and_then(Shape::parse)
        {
            // prompty 0.1.x cannot prepare a file without its own markers (it needs
            // `model.api`, reads `sample`...); a neutral file (no front matter, only a name)
            // is rendered the way the current runtime renders it.
            Some(Shape::V1) if !config::has_v1_markers(frontmatter) => Shape::V2,
            Some(s) => s,
            None => Shape::detect(frontmatter),
        };
        let body_line = c
            .get("body_line")
            .and_then(Value::as_u64)
            .and_then(|l| u32::try_from(l).ok())
            .unwrap_or(1);
        Ok(PromptSource {
            frontmatter,
            body,
            shape,
            body_line,
        })
    }
}

/// What [`render`] renders: every host's prompt reaches the pipeline through one of these.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A `.prompty` file's text at library-relative `path` (the CLI): parsed here. A blank
    /// file renders to no messages ([`is_blank_source`]).
    File {
        /// Library-relative path (gives the document its id and shape).
        path: &'a str,
        /// The file's text.
        text: &'a str,
    },
    /// A prompt document parsed elsewhere (the read API's stored documents; the npm render
    /// module's, parsed by the search module so the browser downloads one copy of the
    /// parsers). `text`, the file it came from when at hand, gives front-matter errors
    /// their positions, as for [`Source::File`].
    Document {
        /// The parsed document (a persona is a `not_a_prompt` error).
        doc: &'a Document,
        /// The document's file text, if the host has it.
        text: Option<&'a str>,
    },
    /// Front matter and body already split out (tests and fuzzing drive the pipeline
    /// with hand-built front matter).
    Prompt(&'a PromptSource<'a>),
}

/// Renders a prompt into chat messages: the one entry point the CLI, the read API and
/// the npm package call, so a prompt renders alike everywhere. `inputs` is a JSON object
/// (or null) of input values; missing ones fall back to the file's defaults and samples.
///
/// Always inlined: each caller passes one kind of source, so the match folds away and a
/// caller that never passes a file (the npm render module) does not link the parsers
/// (about 35 KB gzip of its .wasm; `tests/js/pack.test.mjs` guards the size).
#[inline(always)]
pub fn render(
    source: Source<'_>,
    inputs: &Value,
    opts: &RenderOptions,
) -> Result<Vec<Message>, RenderError> {
    match source {
        Source::Prompt(src) => render_prompt(src, inputs, opts),
        Source::Document { doc, text } => {
            let out = render_prompt(&PromptSource::from_document(doc)?, inputs, opts);
            // Folds away where `text` is a constant `None` (the read API), so such hosts
            // do not link the position search either.
            match text {
                Some(text) => out.map_err(|e| locate_in_source(e, text)),
                None => out,
            }
        }
        Source::File { path, text } => render_file(path, text, inputs, opts),
    }
}

/// [`Source::File`].
fn render_file(
    path: &str,
    text: &str,
    inputs: &Value,
    opts: &RenderOptions,
) -> Result<Vec<Message>, RenderError> {
    if is_blank_source(text) {
        return Ok(Vec::new());
    }
    let doc = crate::parse::parse_document(
        path,
        text.as_bytes(),
        &crate::parse::ParseOptions::default(),
    )
    .map_err(|e| RenderError::new(RenderErrorCode::Parse, e.message).at(e.line, e.column))?;
    render_prompt(&PromptSource::from_document(&doc)?, inputs, opts)
        .map_err(|e| locate_in_source(e, text))
}

/// An empty (or whitespace-only) file renders to no messages, as in the reference: it is
/// not a document for the library, but previewing it should not be an error.
pub fn is_blank_source(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').trim().is_empty()
}

/// Gives a front-matter error (missing input, missing env variable) the position of
/// its declaration in the file, when the text is at hand.
fn locate_in_source(mut e: RenderError, text: &str) -> RenderError {
    if e.line.is_some() {
        return e;
    }
    let Some(subject) = e.subject.clone() else {
        return e;
    };
    let offset = match e.code {
        RenderErrorCode::MissingEnv => text.find(&format!("${{env:{subject}")),
        RenderErrorCode::MissingInput => {
            // `- name: q` (v2 list) or `q:` (map form), after the `inputs:` key.
            let start = text.find("\ninputs:").map_or(0, |i| i + 1);
            let mut found = None;
            let mut off = start;
            for line in text[start..].split_inclusive('\n') {
                let t = line.trim_start().trim_start_matches("- ").trim_start();
                let value =
                    |rest: &str| rest.trim().trim_matches(|c| c == '"' || c == '\'') == subject;
                let hit = t.strip_prefix("name:").is_some_and(value)
                    || t.strip_prefix(subject.as_str())
                        .is_some_and(|r| r.trim_start().starts_with(':'));
                if hit {
                    found = Some(off + (line.len() - line.trim_start().len()));
                    break;
                }
                off += line.len();
            }
            found
        }
        _ => None,
    };
    if let Some(o) = offset {
        let (l, c) = line_col(text, o);
        e.line = Some(l);
        e.column = Some(c);
    }
    e
}

/// The whole pipeline (see the module docs), behind [`render`].
fn render_prompt(
    src: &PromptSource<'_>,
    inputs: &Value,
    opts: &RenderOptions,
) -> Result<Vec<Message>, RenderError> {
    let given = match inputs {
        Value::Object(m) => m,
        Value::Null => &Map::new(),
        _ => {
            return Err(RenderError::new(
                RenderErrorCode::InvalidInputs,
                "inputs must be a JSON object of name → value",
            ))
        }
    };
    let fm = match src.frontmatter {
        Value::Null => &Value::Object(Map::new()),
        other => other,
    };
    let plan = Plan::from_frontmatter(fm, src.shape, &opts.env, &opts.files)?;
    let (template, body_line) = normalize_body(src.body, src.body_line);
    let values = effective_inputs(&plan, given)?;
    match plan.shape {
        Shape::V1 => render_v1(&plan, &template, body_line, &values, opts),
        Shape::V2 => render_v2(&plan, &template, body_line, &values, opts),
    }
}

/// The reference reads files in text mode (`\r\n` and `\r` become `\n`) and its
/// front-matter regex swallows all whitespace before the body.
fn normalize_body(body: &str, body_line: u32) -> (String, u32) {
    let unified = body.replace("\r\n", "\n").replace('\r', "\n");
    let trimmed = pystr::py_lstrip(&unified);
    let skipped = &unified[..unified.len() - trimmed.len()];
    let lines = u32::try_from(skipped.matches('\n').count()).unwrap_or(0);
    (trimmed.to_owned(), body_line.saturating_add(lines))
}

fn effective_inputs(
    plan: &Plan,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, RenderError> {
    let mut values = given.clone();
    match plan.shape {
        Shape::V1 => {
            for (k, v) in &plan.sample {
                values.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for p in &plan.props {
                if let Some(d) = &p.default {
                    values.entry(p.name.clone()).or_insert_with(|| d.clone());
                }
            }
        }
        Shape::V2 => {
            for p in &plan.props {
                if values.contains_key(&p.name) {
                    continue;
                }
                if let Some(v) = p.default.as_ref().or(p.example.as_ref()) {
                    values.insert(p.name.clone(), v.clone());
                } else if p.required {
                    return Err(RenderError::new(
                        RenderErrorCode::MissingInput,
                        format!(
                            "required input '{}' was not provided and has no default",
                            p.name
                        ),
                    )
                    .about(&p.name));
                }
            }
        }
    }
    Ok(values)
}

/// Byte offset → (line, column) in `text`, both 1-based; column counts characters.
fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let mut start = offset;
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn file_pos(
    body_line: u32,
    template: &str,
    offset: Option<usize>,
    line: Option<usize>,
) -> (Option<u32>, Option<u32>) {
    match (offset, line) {
        (Some(o), _) => {
            let (l, c) = line_col(template, o);
            (Some(body_line.saturating_add(l - 1)), Some(c))
        }
        (None, Some(l)) => (
            Some(body_line.saturating_add(u32::try_from(l).unwrap_or(1).saturating_sub(1))),
            None,
        ),
        _ => (None, None),
    }
}

fn engine_render(
    plan: &Plan,
    template: &str,
    body_line: u32,
    ctx: &Value,
    opts: &RenderOptions,
    keep_trailing_newline: bool,
    marks: Option<&mut roles::Marks>,
) -> Result<String, RenderError> {
    match plan.engine {
        Engine::Jinja2 => jinja::render(
            template,
            ctx,
            jinja::JinjaOptions {
                keep_trailing_newline,
                strict_undefined: opts.strict_undefined,
                fuel: opts.fuel,
                max_output: opts.max_output_bytes,
                marks,
            },
        )
        .map_err(|e| {
            use minijinja::ErrorKind as K;
            let code = match e.kind {
                K::SyntaxError => RenderErrorCode::Syntax,
                K::UndefinedError => RenderErrorCode::Undefined,
                K::OutOfFuel => RenderErrorCode::Limit,
                K::InvalidOperation if e.message.contains("larger than") => RenderErrorCode::Limit,
                _ => RenderErrorCode::Template,
            };
            let (line, column) = file_pos(body_line, template, e.range.map(|r| r.start), e.line);
            RenderError::new(code, e.message).at(line, column)
        }),
        Engine::Mustache => mustache::render(
            template,
            ctx,
            mustache::MustacheOptions {
                v1: plan.shape == Shape::V1,
                max_steps: opts.fuel,
                max_output: opts.max_output_bytes,
                marks,
            },
        )
        .map_err(|e| {
            let code = if e.message.contains("limit") || e.message.contains("too large") {
                RenderErrorCode::Limit
            } else {
                RenderErrorCode::Syntax
            };
            let (line, column) = file_pos(body_line, template, e.offset, None);
            RenderError::new(code, e.message).at(line, column)
        }),
    }
}

fn render_v1(
    plan: &Plan,
    template: &str,
    body_line: u32,
    values: &Map<String, Value>,
    opts: &RenderOptions,
) -> Result<Vec<Message>, RenderError> {
    let mut marks = roles::Marks::default();
    // prompty 0.1.x uses Jinja2's default Environment: the trailing newline is dropped.
    let ctx = Value::Object(values.clone());
    let text = engine_render(
        plan,
        template,
        body_line,
        &ctx,
        opts,
        false,
        Some(&mut marks),
    )?;
    roles::split_v1(&text, &marks).map_err(|_| {
        RenderError::new(
            RenderErrorCode::InvalidPrompt,
            "the rendered prompt does not alternate roles and contents (a message's whole content is a role name?)",
        )
    })
}

/// `__PROMPTY_THREAD_<hex>_<name>__`, the reference's placeholder for rich inputs.
fn rich_marker(seed: &str, name: &str) -> String {
    let h = blake3::hash(format!("{seed}\0{name}").as_bytes()).to_hex();
    format!("__PROMPTY_THREAD_{}_{}__", &h[..8], name)
}

const RICH_KINDS: [&str; 4] = ["thread", "image", "file", "audio"];

fn render_v2(
    plan: &Plan,
    template: &str,
    body_line: u32,
    values: &Map<String, Value>,
    opts: &RenderOptions,
) -> Result<Vec<Message>, RenderError> {
    // Deterministic but input-dependent: a value cannot contain the nonce of a render
    // that depends on that very value.
    let seed_json = serde_json::to_string(values).unwrap_or_default();
    let seed = blake3::hash(format!("{template}\0{seed_json}").as_bytes()).to_hex();
    let nonce = &seed[..16];
    let rich: Vec<(&str, &str, String)> = plan
        .props
        .iter()
        .filter(|p| RICH_KINDS.contains(&p.kind.as_str()))
        .map(|p| {
            (
                p.name.as_str(),
                p.kind.as_str(),
                rich_marker(&seed, &p.name),
            )
        })
        .collect();
    let mut ctx = values.clone();
    for (name, _, marker) in &rich {
        ctx.insert((*name).to_owned(), Value::String(marker.clone()));
    }
    let tagged;
    let template_used = if plan.strict {
        tagged = roles::tag_role_lines(template, nonce);
        tagged.as_str()
    } else {
        template
    };
    let text = engine_render(
        plan,
        template_used,
        body_line,
        &Value::Object(ctx),
        opts,
        true,
        None,
    )?;
    let messages = roles::split_v2(&text, plan.strict.then_some(nonce)).map_err(|inj| {
        RenderError::new(
            RenderErrorCode::InjectedRole,
            format!(
                "a '{}:' role line in the rendered prompt (output line {}) was not written by the template; \
                 a variable or loop produced it (strict mode; set template.format.strict: false to allow)",
                inj.role, inj.rendered_line
            ),
        )
    })?;
    Ok(expand_rich(messages, &rich, values))
}

/// The reference's thread/rich-input expansion: a message holding a marker is split
/// around it; a `thread` input's messages are inserted there (or appended when the
/// template never mentions it); `image`/`file`/`audio` become a user message's
/// attachment, which has no text.
fn expand_rich(
    messages: Vec<Message>,
    rich: &[(&str, &str, String)],
    values: &Map<String, Value>,
) -> Vec<Message> {
    if rich.is_empty() {
        return messages;
    }
    let mut out: Vec<Message> = Vec::new();
    let mut marker_found = false;
    let insert = |out: &mut Vec<Message>, name: &str, kind: &str| {
        if kind == "thread" {
            if let Some(Value::Array(items)) = values.get(name) {
                out.extend(items.iter().filter_map(thread_message));
            }
        } else if out.last().map(|m| m.role.as_str()) != Some("user") {
            out.push(Message::new("user", ""));
        }
    };
    for msg in messages {
        let mut rest = msg.content.clone();
        let mut pieces: Vec<(String, Option<(&str, &str)>)> = Vec::new();
        loop {
            let found = rich
                .iter()
                .filter_map(|(n, k, m)| rest.find(m.as_str()).map(|at| (at, *n, *k, m.len())))
                .min_by_key(|x| x.0);
            match found {
                Some((at, name, kind, len)) => {
                    pieces.push((rest[..at].to_owned(), Some((name, kind))));
                    rest = rest[at + len..].to_owned();
                }
                None => break,
            }
        }
        if pieces.is_empty() {
            out.push(msg);
            continue;
        }
        marker_found = true;
        for (before, marker) in pieces {
            let before = pystr::py_strip(&before);
            if !before.is_empty() {
                out.push(Message::new(&msg.role, before));
            }
            if let Some((name, kind)) = marker {
                insert(&mut out, name, kind);
            }
        }
        let after = pystr::py_strip(&rest);
        if !after.is_empty() {
            out.push(Message::new(&msg.role, after));
        }
    }
    if !marker_found {
        for (name, kind, _) in rich {
            if *kind == "thread" && values.contains_key(*name) {
                insert(&mut out, name, kind);
            }
        }
    }
    out
}

/// A thread entry (`{"role": ..., "content": ...}`) as a message; content parts are
/// reduced to their text.
fn thread_message(v: &Value) -> Option<Message> {
    let m = v.as_object()?;
    let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
    let content = match m.get("content") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                Value::Object(o) => o
                    .get("value")
                    .or_else(|| o.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                other => pystr::py_str(other),
            })
            .collect(),
        Some(other) => pystr::py_str(other),
    };
    Some(Message::new(role, &content))
}

#[cfg(test)]
mod tests;
