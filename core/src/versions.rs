//! Prompt versions and labels, the pure half (issue #15): the types every host shares,
//! the label resolution rules, the pin file's format, and the diff between two versions.
//!
//! Reading git is I/O and lives in the watcher (`watcher/src/history`); storing versions
//! is SQL and lives in the store. This module only decides:
//!
//! - what a version is ([`VersionInfo`], [`Version`]): numbered 1..N oldest first, one per
//!   commit that changed the document's content, plus an optional `draft` on top in `watch`;
//! - which version a label names ([`resolve_label`]): `latest` is the newest version (the
//!   draft when there is one); other labels map to git refs in `promptshelf.toml`
//!   (`[labels] production = "refs/tags/prompts-prod"`) and name, per document, the newest
//!   version whose commit the ref's commit contains; a committed pin file
//!   (`.promptshelf/labels.toml`: `"support/reply" = { production = 3 }`) overrides a label
//!   for one document. A label whose ref is missing is an error on that label, never a
//!   fallback to HEAD;
//! - what changed between two versions ([`diff`]): a unified diff of the file text and
//!   the JSON paths of the parsed document that differ.

use crate::model::{ContentHash, Document};
use crate::parse::ParseError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The label every document has: its newest version (the draft in `watch`).
pub const LATEST: &str = "latest";

/// Where the per-document pin file lives, relative to the library root.
pub const PIN_FILE: &str = ".promptshelf/labels.toml";

/// One version's metadata, without the document (what `log` and the versions list show).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// 1..N, oldest first. A draft has the number the next commit would get.
    pub number: u32,
    /// The commit id (hex) that made this version; `None` for a draft or outside git.
    pub commit: Option<String>,
    /// The commit's author name.
    pub author: Option<String>,
    /// The commit's committer time, seconds since the Unix epoch.
    pub time: Option<i64>,
    /// The first line of the commit message.
    pub summary: Option<String>,
    /// The file's library-relative path at that version (renames change it).
    pub path: String,
    /// BLAKE3 of the file's bytes at that version (the key of the stored content).
    pub hash: ContentHash,
    /// True for the uncommitted working copy on top of HEAD.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draft: bool,
    /// The parse error of the file at that version, if it did not parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ParseError>,
}

/// One version with its parsed document (`None` when the file did not parse then; the
/// error is in `info.error`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// Number, commit, author, time, summary, path, hash, error.
    #[serde(flatten)]
    pub info: VersionInfo,
    /// The document as parsed at that version.
    pub document: Option<Document>,
}

/// The per-document pins of `.promptshelf/labels.toml`: document id → label → version.
pub type Pins = BTreeMap<String, BTreeMap<String, u32>>;

/// Why a pin file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{PIN_FILE}: {0}")]
pub struct PinFileError(pub String);

/// Parses the pin file: a TOML table whose keys are document ids and whose values are
/// inline tables of `label = version number` (`"support/reply" = { production = 3 }`).
pub fn parse_pins(text: &str) -> Result<Pins, PinFileError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| PinFileError(e.to_string()))?;
    let mut pins = Pins::new();
    for (id, v) in table {
        let toml::Value::Table(labels) = v else {
            return Err(PinFileError(format!(
                "`{id}` must be a table of label = version (e.g. {{ production = 3 }})"
            )));
        };
        let mut m = BTreeMap::new();
        for (label, n) in labels {
            if label == LATEST {
                return Err(PinFileError(format!(
                    "`{id}`: `latest` is always the newest version and cannot be pinned"
                )));
            }
            match n {
                toml::Value::Integer(n) if n >= 1 && n <= u32::MAX as i64 => {
                    m.insert(label, n as u32);
                }
                _ => {
                    return Err(PinFileError(format!(
                        "`{id}`.{label} must be a version number ≥ 1"
                    )))
                }
            }
        }
        pins.insert(id, m);
    }
    Ok(pins)
}

/// Why a label names no version of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LabelError {
    /// The label is neither `latest` nor configured in `[labels]`.
    #[error("unknown label `{label}`; configured labels: {known}")]
    Unknown {
        /// The label asked for.
        label: String,
        /// The configured labels, comma-separated.
        known: String,
    },
    /// The label's ref (or its commit) could not be resolved: the label is broken for
    /// every document until the ref exists again. Never a fallback to HEAD.
    #[error("label `{label}`: {message}")]
    Broken {
        /// The label.
        label: String,
        /// Why (missing ref, not in HEAD's history...).
        message: String,
    },
    /// The pin file pins this document's label to a version it does not have.
    #[error("label `{label}` of `{id}` is pinned to version {pinned} in {PIN_FILE}, but the document has {have} version(s)")]
    PinOutOfRange {
        /// The label.
        label: String,
        /// The document.
        id: String,
        /// The pinned number.
        pinned: u32,
        /// How many versions the document has.
        have: u32,
    },
    /// The document did not exist yet at the label's commit.
    #[error("`{id}` did not exist at label `{label}`")]
    NotAtLabel {
        /// The label.
        label: String,
        /// The document.
        id: String,
    },
}

/// What a configured label resolved to, once for the whole library: the set of commits
/// its ref contains (the caller tests membership), or why it is broken.
pub trait LabelCommits {
    /// Whether the label's commit contains (is, or descends from) `commit`.
    fn contains(&self, commit: &str) -> bool;
}

impl<F: Fn(&str) -> bool> LabelCommits for F {
    fn contains(&self, commit: &str) -> bool {
        self(commit)
    }
}

impl LabelCommits for std::collections::HashSet<String> {
    fn contains(&self, commit: &str) -> bool {
        std::collections::HashSet::contains(self, commit)
    }
}

/// The version number `label` names for document `id` whose versions are `versions`
/// (oldest first, possibly ending with a draft).
///
/// - `latest`: the newest version (the draft, when there is one).
/// - a pinned label (`pins[id][label]`): that number, which must exist (not the draft).
/// - a configured label: the newest committed version whose commit `label_commits`
///   contains; `Err(NotAtLabel)` when none does. `Ok(Err)` for a broken label.
///
/// A document outside git (versions with no commit) has only `latest` and pins.
pub fn resolve_label(
    id: &str,
    versions: &[VersionInfo],
    label: &str,
    pins: &Pins,
    configured: &BTreeMap<String, Result<&dyn LabelCommits, String>>,
) -> Result<u32, LabelError> {
    let committed = versions.iter().filter(|v| !v.draft).count() as u32;
    if label == LATEST {
        return versions
            .last()
            .map(|v| v.number)
            .ok_or(LabelError::NotAtLabel {
                label: label.into(),
                id: id.into(),
            });
    }
    if let Some(&n) = pins.get(id).and_then(|m| m.get(label)) {
        if !configured.contains_key(label) {
            return Err(unknown(label, configured));
        }
        if n == 0 || n > committed {
            return Err(LabelError::PinOutOfRange {
                label: label.into(),
                id: id.into(),
                pinned: n,
                have: committed,
            });
        }
        return Ok(n);
    }
    match configured.get(label) {
        None => Err(unknown(label, configured)),
        Some(Err(message)) => Err(LabelError::Broken {
            label: label.into(),
            message: message.clone(),
        }),
        Some(Ok(commits)) => versions
            .iter()
            .rev()
            .filter(|v| !v.draft)
            .find(|v| v.commit.as_deref().is_some_and(|c| commits.contains(c)))
            .map(|v| v.number)
            .ok_or(LabelError::NotAtLabel {
                label: label.into(),
                id: id.into(),
            }),
    }
}

fn unknown<T>(label: &str, configured: &BTreeMap<String, T>) -> LabelError {
    let mut known = vec![LATEST.to_owned()];
    known.extend(configured.keys().cloned());
    LabelError::Unknown {
        label: label.into(),
        known: known.join(", "),
    }
}

/// What changed between two versions of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// The `from` version's number.
    pub from: u32,
    /// The `to` version's number.
    pub to: u32,
    /// Unified diff of the file text (3 lines of context), `a/PATH` → `b/PATH`.
    pub unified: String,
    /// JSON pointers (`/content/model/api`) of the parsed documents' values that differ:
    /// added, removed or changed leaves and type changes, in document order. Empty when
    /// either side did not parse.
    pub changed_paths: Vec<String>,
}

/// The diff between two versions' file texts and parsed documents.
pub fn diff(
    from: (&VersionInfo, &str, Option<&Document>),
    to: (&VersionInfo, &str, Option<&Document>),
) -> Diff {
    let text = similar::TextDiff::from_lines(from.1, to.1);
    let unified = text
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{}", from.0.path), &format!("b/{}", to.0.path))
        .to_string();
    let mut changed_paths = Vec::new();
    if let (Some(a), Some(b)) = (from.2, to.2) {
        let a = serde_json::to_value(a).unwrap_or_default();
        let b = serde_json::to_value(b).unwrap_or_default();
        json_paths(&a, &b, &mut String::new(), &mut changed_paths);
    }
    Diff {
        from: from.0.number,
        to: to.0.number,
        unified,
        changed_paths,
    }
}

/// Appends the JSON pointers under `at` where `a` and `b` differ.
fn json_paths(
    a: &serde_json::Value,
    b: &serde_json::Value,
    at: &mut String,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if a == b {
        return;
    }
    let len = at.len();
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                push_segment(at, k);
                match y.get(k) {
                    Some(vb) => json_paths(va, vb, at, out),
                    None => out.push(at.clone()),
                }
                at.truncate(len);
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                push_segment(at, k);
                out.push(at.clone());
                at.truncate(len);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                push_segment(at, &i.to_string());
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => json_paths(va, vb, at, out),
                    _ => out.push(at.clone()),
                }
                at.truncate(len);
            }
        }
        _ => out.push(if at.is_empty() {
            "/".into()
        } else {
            at.clone()
        }),
    }
}

/// RFC 6901 escaping of one segment.
fn push_segment(at: &mut String, seg: &str) {
    at.push('/');
    for c in seg.chars() {
        match c {
            '~' => at.push_str("~0"),
            '/' => at.push_str("~1"),
            c => at.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(number: u32, commit: &str) -> VersionInfo {
        VersionInfo {
            number,
            commit: Some(commit.into()),
            author: None,
            time: None,
            summary: None,
            path: "prompts/a.prompty".into(),
            hash: ContentHash::of(commit.as_bytes()),
            draft: false,
            error: None,
        }
    }

    #[test]
    fn pins_parse_and_reject_bad_values() {
        let p = parse_pins("\"support/reply\" = { production = 3 }\n").unwrap();
        assert_eq!(p["support/reply"]["production"], 3);
        assert!(parse_pins("a = 3").is_err());
        assert!(parse_pins("a = { production = 0 }").is_err());
        assert!(parse_pins("a = { latest = 1 }").is_err());
        assert!(parse_pins("a = {").is_err());
    }

    #[test]
    fn labels_resolve_by_commit_pin_and_latest() {
        let vs = vec![v(1, "c1"), v(2, "c2"), v(3, "c3")];
        let at_c2 = |c: &str| c == "c1" || c == "c2";
        let mut configured: BTreeMap<String, Result<&dyn LabelCommits, String>> = BTreeMap::new();
        configured.insert("production".into(), Ok(&at_c2));
        configured.insert(
            "staging".into(),
            Err("ref refs/heads/staging is missing".into()),
        );
        let pins = Pins::new();
        assert_eq!(resolve_label("a", &vs, LATEST, &pins, &configured), Ok(3));
        assert_eq!(
            resolve_label("a", &vs, "production", &pins, &configured),
            Ok(2)
        );
        assert!(matches!(
            resolve_label("a", &vs, "staging", &pins, &configured),
            Err(LabelError::Broken { .. })
        ));
        assert!(matches!(
            resolve_label("a", &vs, "nope", &pins, &configured),
            Err(LabelError::Unknown { .. })
        ));
        let pins = parse_pins("a = { production = 1 }\nb = { production = 9 }").unwrap();
        assert_eq!(
            resolve_label("a", &vs, "production", &pins, &configured),
            Ok(1)
        );
        assert!(matches!(
            resolve_label("b", &vs, "production", &pins, &configured),
            Err(LabelError::PinOutOfRange {
                pinned: 9,
                have: 3,
                ..
            })
        ));
        let none = |_: &str| false;
        configured.insert("production".into(), Ok(&none));
        assert!(matches!(
            resolve_label("c", &vs, "production", &Pins::new(), &configured),
            Err(LabelError::NotAtLabel { .. })
        ));
    }

    #[test]
    fn diff_gives_unified_text_and_json_paths() {
        let a = v(1, "c1");
        let b = v(2, "c2");
        let d = diff((&a, "x\ny\nz\n", None), (&b, "x\nY\nz\n", None));
        assert!(d.unified.contains("-y\n+Y\n"), "{}", d.unified);
        assert!(d
            .unified
            .starts_with("--- a/prompts/a.prompty\n+++ b/prompts/a.prompty\n"));
        assert!(d.changed_paths.is_empty());
        let mut out = Vec::new();
        json_paths(
            &serde_json::json!({"a": 1, "b": {"c": [1, 2], "d/e": 1}, "x": 1}),
            &serde_json::json!({"a": 1, "b": {"c": [1, 3, 4], "d/e": 2}, "y": 1}),
            &mut String::new(),
            &mut out,
        );
        assert_eq!(out, ["/b/c/1", "/b/c/2", "/b/d~1e", "/x", "/y"]);
    }
}
