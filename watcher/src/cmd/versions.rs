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

/// Version number → the labels naming it (`latest` first, then `[labels]` by name), as
/// the dashboard's versions table shows them. A broken label names nothing.
fn labels_by_version(
    h: &History,
    id: &str,
    vs: &[Version],
) -> std::collections::BTreeMap<u32, Vec<String>> {
    let mut out = std::collections::BTreeMap::<u32, Vec<String>>::new();
    if let Some(last) = vs.last() {
        out.entry(last.info.number)
            .or_default()
            .push(versions::LATEST.to_owned());
    }
    for label in h.labels.keys() {
        if let Ok(n) = h.resolve(id, label) {
            out.entry(n).or_default().push(label.clone());
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM` (UTC) of a Unix time, for `log` (no date library for one line).
fn utc_minute(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 → civil date (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3_600,
        rem % 3_600 / 60
    )
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
                let labels = labels_by_version(&h, &args.id, vs);
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
                    let named = labels
                        .get(&i.number)
                        .map_or(String::new(), |ls| format!("  [{}]", ls.join(", ")));
                    println!(
                        "v{:<4} {commit}  {}  {}  {}  {}{broken}{named}",
                        i.number,
                        i.time.map_or("-".into(), utc_minute),
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
                for (n, line) in d.unified.lines().enumerate() {
                    // The first two lines are the `---`/`+++` header; after them a removed
                    // front-matter fence is `----`, still a removed line.
                    let code = match line.as_bytes().first() {
                        _ if !colour => None,
                        _ if n < 2 => Some("1"),
                        Some(b'+') => Some("32"),
                        Some(b'-') => Some("31"),
                        Some(b'@') => Some("36"),
                        _ => None,
                    };
                    match code {
                        Some(c) => println!("\x1b[{c}m{line}\x1b[0m"),
                        None => println!("{line}"),
                    }
                }
                // What the dashboard shows under its side-by-side diff.
                if d.unified.is_empty() {
                    println!("v{} and v{}: the file text is the same", d.from, d.to);
                }
                if !d.changed_paths.is_empty() {
                    println!("changed fields: {}", d.changed_paths.join(" "));
                }
            }
        }
        Ok(())
    })();
    finish(r, "diff")
}

#[cfg(test)]
mod tests {
    use super::utc_minute;

    #[test]
    fn utc_minute_is_the_civil_date() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_700_000_060), "2023-11-14 22:14");
        // A leap day and a time before the epoch.
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00");
        assert_eq!(utc_minute(-60), "1969-12-31 23:59");
    }
}
