//! `promptshelf log DIR ID`, `promptshelf show DIR ID@LABEL|ID@N`, `promptshelf diff DIR ID A B`
//! (issue #15): a document's versions, one version, or what changed between two, read
//! straight from the library's git history (no database needed). `--format json` for
//! scripts. A working copy that differs from the newest commit is a `draft` version on top
//! (`latest` names it). Exit 0 on success, 2 for an unknown document, version or label
//! (the message says which), 1 when the history cannot be read.

use crate::history::{self, History};
use promptshelf_core::model::ContentHash;
use promptshelf_core::parse::{self, ParseOptions};
use promptshelf_core::versions::{self, Version, VersionInfo};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// The library folder (inside a git work tree).
    pub dir: PathBuf,
    /// The document id (`prompts/support/reply`).
    pub id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The library folder (inside a git work tree).
    pub dir: PathBuf,
    /// `ID@N` (a version number), `ID@LABEL` (`latest`, or a label of `[labels]`), or `ID`
    /// (latest).
    pub spec: String,
    /// Output format: the file's text, or the version and its parsed document as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The library folder (inside a git work tree).
    pub dir: PathBuf,
    /// The document id.
    pub id: String,
    /// From: a version number or a label.
    pub from: String,
    /// To: a version number or a label.
    pub to: String,
    /// Output format: a unified diff (coloured on a terminal), or JSON with the changed
    /// JSON paths of the parsed documents.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A failure with its exit code.
struct Fail(u8, String);

fn load(dir: &Path) -> Result<History, Fail> {
    let table: toml::Table = std::fs::read_to_string(dir.join("promptshelf.toml"))
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default();
    let (labels, problems) = history::configured_labels(&table);
    for p in problems {
        eprintln!("promptshelf.toml: {p}");
    }
    let opts = ParseOptions::default();
    let mut h = history::extract(dir, &labels, &opts).map_err(|e| Fail(1, e.to_string()))?;
    if h.repo.shallow {
        eprintln!("note: shallow clone, the oldest versions are missing");
    }
    add_drafts(dir, &mut h, &opts);
    Ok(h)
}

/// A working copy whose bytes differ from the newest version becomes a draft on top.
fn add_drafts(dir: &Path, h: &mut History, opts: &ParseOptions) {
    for d in h.documents.values_mut() {
        let Ok(bytes) = std::fs::read(dir.join(&d.path)) else {
            continue;
        };
        let hash = ContentHash::of(&bytes);
        if d.versions.last().is_some_and(|v| v.info.hash == hash) {
            continue;
        }
        let (document, error) = match parse::parse_document(&d.path, &bytes, opts) {
            Ok(doc) => (Some(doc), None),
            Err(e) => (None, Some(e)),
        };
        d.versions.push(Version {
            info: VersionInfo {
                number: d.versions.len() as u32 + 1,
                commit: None,
                author: None,
                time: None,
                summary: None,
                path: d.path.clone(),
                hash: hash.clone(),
                draft: true,
                error,
            },
            document,
        });
        h.contents.insert(hash.0, bytes);
    }
}

fn versions_of<'h>(h: &'h History, id: &str) -> Result<&'h [Version], Fail> {
    if !h.repo.git {
        return Err(Fail(
            2,
            "the library is not in a git work tree: it has no versions".into(),
        ));
    }
    h.documents
        .get(id)
        .map(|d| d.versions.as_slice())
        .ok_or_else(|| Fail(2, format!("no document `{id}` at HEAD")))
}

/// A version number or a label → the version.
fn pick<'h>(h: &'h History, id: &str, which: &str) -> Result<&'h Version, Fail> {
    let vs = versions_of(h, id)?;
    let n = match which.parse::<u32>() {
        Ok(n) => n,
        Err(_) => h
            .resolve(id, which)
            .or_else(|e| match (which, vs.last()) {
                // `latest` includes the draft, which `resolve` (committed history) lacks.
                (versions::LATEST, Some(v)) => Ok(v.info.number),
                _ => Err(e),
            })
            .map_err(|e| Fail(2, e.to_string()))?,
    };
    let n = if which == versions::LATEST {
        vs.last().map_or(n, |v| v.info.number)
    } else {
        n
    };
    vs.iter().find(|v| v.info.number == n).ok_or_else(|| {
        Fail(
            2,
            format!("`{id}` has no version {n} (it has {})", vs.len()),
        )
    })
}

fn text_of(h: &History, v: &Version) -> String {
    h.contents
        .get(&v.info.hash.0)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

fn finish(r: Result<(), Fail>, cmd: &str) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("promptshelf {cmd}: {msg}");
            ExitCode::from(code)
        }
    }
}

pub fn run_log(args: LogArgs) -> ExitCode {
    let r = (|| {
        let h = load(&args.dir)?;
        let vs = versions_of(&h, &args.id)?;
        match args.format {
            Format::Json => {
                let infos: Vec<&VersionInfo> = vs.iter().map(|v| &v.info).collect();
                println!(
                    "{}",
                    serde_json::json!({"id": args.id, "versions": infos, "repo": h.repo})
                );
            }
            Format::Text => {
                for v in vs.iter().rev() {
                    let i = &v.info;
                    let commit = i
                        .commit
                        .as_deref()
                        .map_or("(draft)".into(), |c| c[..12.min(c.len())].to_owned());
                    let broken = if i.error.is_some() {
                        "  [does not parse]"
                    } else {
                        ""
                    };
                    println!(
                        "v{:<4} {commit}  {}  {}  {}{broken}",
                        i.number,
                        i.author.as_deref().unwrap_or("-"),
                        i.summary.as_deref().unwrap_or("uncommitted changes"),
                        i.path
                    );
                }
            }
        }
        Ok(())
    })();
    finish(r, "log")
}

pub fn run_show(args: ShowArgs) -> ExitCode {
    let r = (|| {
        let (id, which) = args
            .spec
            .rsplit_once('@')
            .unwrap_or((args.spec.as_str(), versions::LATEST));
        let h = load(&args.dir)?;
        let v = pick(&h, id, which)?;
        match args.format {
            Format::Json => println!("{}", serde_json::to_string(v).unwrap_or_default()),
            Format::Text => print!("{}", text_of(&h, v)),
        }
        Ok(())
    })();
    finish(r, "show")
}

pub fn run_diff(args: DiffArgs) -> ExitCode {
    let r = (|| {
        let h = load(&args.dir)?;
        let a = pick(&h, &args.id, &args.from)?;
        let b = pick(&h, &args.id, &args.to)?;
        let (ta, tb) = (text_of(&h, a), text_of(&h, b));
        let d = versions::diff(
            (&a.info, &ta, a.document.as_ref()),
            (&b.info, &tb, b.document.as_ref()),
        );
        match args.format {
            Format::Json => println!("{}", serde_json::to_string(&d).unwrap_or_default()),
            Format::Text => {
                let colour = std::io::stdout().is_terminal();
                for line in d.unified.lines() {
                    let code = match line.as_bytes().first() {
                        _ if !colour => None,
                        Some(b'+') if !line.starts_with("+++") => Some("32"),
                        Some(b'-') if !line.starts_with("---") => Some("31"),
                        Some(b'@') => Some("36"),
                        _ => None,
                    };
                    match code {
                        Some(c) => println!("\x1b[{c}m{line}\x1b[0m"),
                        None => println!("{line}"),
                    }
                }
            }
        }
        Ok(())
    })();
    finish(r, "diff")
}
