//! `promptshelf render FILE [--input k=v ...] [--inputs inputs.json] [--format json]`:
//! renders one `.prompty` file into the chat messages the Prompty runtime would send, for
//! previewing a prompt while editing it.
//!
//! Inputs: `--inputs FILE` (a JSON object; `-` reads stdin), then each `--input k=v`
//! (a string) or `--input k:=JSON` (any JSON value) on top. What is still missing comes
//! from the file's sample/default/example values. `${env:NAME}` references are resolved
//! from this process's environment (that is the host's job; the core never reads it), and
//! `${file:NAME}` references from files next to the prompt (JSON parsed, other text as is;
//! never outside the prompt's folder).
//!
//! Text output: each message as a `--- role ---` header line, then its content. JSON:
//! `{"messages": [{"role", "content"}...]}`. Errors: `FILE:line:column: message` on stderr
//! (text) or `{"error": {"code", "message", "line", "column"}}` on stdout (JSON).
//! Exit 0 when rendered, 1 on a render error, 2 when the file or inputs cannot be read
//! or the inputs do not match the prompt's declared inputs (missing required input, wrong
//! type, value outside `enumValues`; every problem is listed, see `core::schema`).
//! Undeclared inputs are a warning on stderr, an error with `--strict`.

use promptshelf_core::render::{self, EnvMap, RenderError, RenderOptions, Source};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// The `.prompty` file.
    pub file: PathBuf,
    /// One input: `name=text` (a string) or `name:=JSON` (any JSON value). Repeatable;
    /// applied after `--inputs`.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
    pub input: Vec<String>,
    /// A JSON object of inputs (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Undefined template variables are errors (the runtime prints them as nothing), and
    /// so are inputs the prompt does not declare (otherwise a warning on stderr).
    #[arg(long)]
    pub strict: bool,
}

/// Files larger than this are not rendered (same limit as the parser's default).
const MAX_FILE: u64 = 4 * 1024 * 1024;

fn usage_error(format: Format, message: String) -> ExitCode {
    match format {
        Format::Json => println!(
            "{}",
            json!({"error": {"code": "usage", "message": message}})
        ),
        Format::Text => eprintln!("promptshelf render: {message}"),
    }
    ExitCode::from(2)
}

fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE} bytes"
        )));
    }
    Ok(buf)
}

/// `--inputs` then `--input`s.
fn collect_inputs(args: &RenderArgs) -> Result<Map<String, Value>, String> {
    let mut inputs = Map::new();
    if let Some(p) = &args.inputs {
        let text = if p.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .take(MAX_FILE)
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read inputs from stdin: {e}"))?;
            s
        } else {
            let bytes = read_limited(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", p.display()))?
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => inputs = m,
            Ok(_) => return Err(format!("{}: inputs must be a JSON object", p.display())),
            Err(e) => return Err(format!("{}:{}:{}: {e}", p.display(), e.line(), e.column())),
        }
    }
    for item in &args.input {
        if let Some((name, json_text)) = item.split_once(":=").filter(|(n, _)| !n.contains('=')) {
            let v: Value = serde_json::from_str(json_text)
                .map_err(|e| format!("--input {item}: the value after := is not JSON: {e}"))?;
            inputs.insert(name.to_owned(), v);
        } else if let Some((name, text)) = item.split_once('=') {
            inputs.insert(name.to_owned(), Value::String(text.to_owned()));
        } else {
            return Err(format!("--input {item}: expected NAME=VALUE or NAME:=JSON"));
        }
    }
    Ok(inputs)
}

/// Reads the referenced files that exist inside the prompt's folder.
fn read_file_refs(prompt: &Path, frontmatter: &Value) -> BTreeMap<String, Value> {
    // The core's own reading of `${file:NAME}` (render::config), so the CLI reads exactly
    // the files rendering can ask for.
    let names = promptshelf_core::render::config::file_references(frontmatter);
    let mut files = BTreeMap::new();
    let Some(dir) = prompt.parent().and_then(|d| {
        std::fs::canonicalize(if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        })
        .ok()
    }) else {
        return files;
    };
    for name in names {
        let Ok(path) = std::fs::canonicalize(dir.join(&name)) else {
            continue;
        };
        if !path.starts_with(&dir) {
            continue;
        }
        let Ok(bytes) = read_limited(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let value = if name.ends_with(".json") {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(_) => continue,
            }
        } else {
            Value::String(text)
        };
        files.insert(name, value);
    }
    files
}

fn print_error(args: &RenderArgs, e: &RenderError) {
    match args.format {
        Format::Json => println!("{}", json!({"error": e})),
        Format::Text => {
            let pos = match (e.line, e.column) {
                (Some(l), Some(c)) => format!(":{l}:{c}"),
                (Some(l), None) => format!(":{l}"),
                _ => String::new(),
            };
            eprintln!(
                "{}{pos}: {} ({})",
                args.file.display(),
                e.message,
                e.code.as_str()
            );
        }
    }
}

/// Every input problem: one `FILE: input: expected ..., found ...` line each on stderr, or
/// `{"error": {"code", "message", "problems": [...]}}` (the read API's 422 body).
fn print_input_problems(args: &RenderArgs, check: &promptshelf_core::schema::InputCheck) {
    match args.format {
        Format::Json => {
            let code = if check.problems.iter().all(|p| p.found == "nothing") {
                "missing_input"
            } else {
                "invalid_inputs"
            };
            let message: Vec<&str> = check.problems.iter().map(|p| p.message.as_str()).collect();
            println!(
                "{}",
                json!({"error": {"code": code, "message": message.join("; "), "problems": check.problems}})
            );
        }
        Format::Text => {
            for p in &check.problems {
                eprintln!("{}: {}", args.file.display(), p.message);
            }
        }
    }
}

pub fn run(args: RenderArgs) -> ExitCode {
    let bytes = match read_limited(&args.file) {
        Ok(b) => b,
        Err(e) => {
            return usage_error(
                args.format,
                format!("cannot read {}: {e}", args.file.display()),
            )
        }
    };
    let inputs = match collect_inputs(&args) {
        Ok(i) => i,
        Err(e) => return usage_error(args.format, e),
    };
    let text = String::from_utf8_lossy(&bytes);
    let env: EnvMap = std::env::vars().collect();
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "prompt.prompty".into());
    // Parse once to find `${file:...}` references the core cannot read itself, and to
    // check the inputs against the prompt's declared ones before rendering.
    let files = match promptshelf_core::parse_document(&name, &bytes, &Default::default()) {
        Ok(doc) => {
            let schema = promptshelf_core::schema::of_document(&doc);
            let check =
                promptshelf_core::schema::check_inputs(&schema["inputs"], &inputs, args.strict);
            if !check.problems.is_empty() {
                print_input_problems(&args, &check);
                return ExitCode::from(2);
            }
            for w in check.warnings() {
                eprintln!("{}: warning: {w}", args.file.display());
            }
            read_file_refs(&args.file, &doc.content["frontmatter"])
        }
        Err(_) => BTreeMap::new(),
    };
    let opts = RenderOptions {
        strict_undefined: args.strict,
        files,
        env,
        ..RenderOptions::default()
    };
    let source = Source::File {
        path: &name,
        text: &text,
    };
    match render::render(source, &Value::Object(inputs), &opts) {
        Ok(messages) => {
            match args.format {
                Format::Json => println!("{}", json!({"messages": messages})),
                Format::Text => {
                    for (i, m) in messages.iter().enumerate() {
                        if i > 0 {
                            println!();
                        }
                        println!("--- {} ---", m.role);
                        println!("{}", m.content);
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_error(&args, &e);
            ExitCode::from(1)
        }
    }
}
