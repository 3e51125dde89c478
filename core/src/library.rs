//! The one home of every library rule, so that `check`, the sync (initial walk,
//! periodic reconcile, live events) and the npm `Shelf` agree on what a library is:
//!
//! - which files are candidates: [`enter_folder`] (which folders a walk enters: only
//!   `personas/` and `prompts/` at the top, never hidden folders or `node_modules`),
//!   [`classify`] (which paths are documents, and of which kind), [`is_editor_artifact`],
//!   and [`is_database_file`] (promptshelf's own database files are never documents);
//! - duplicate ids: [`Claims`] (which paths claim which id; the first path in byte
//!   order wins), [`resolve_duplicates`] for a whole library at once, and
//!   [`duplicate_message`], the one wording of the error;
//! - the size limit: [`too_large`], the one error for a file over `max_bytes`;
//! - `${protocol:rest}` references in Prompty front matter (`${env:}`, `${file:}`):
//!   [`reference`], the one parser of their syntax; which names a `${file:}` reference
//!   means under each runtime's rules is rendering's business
//!   (`render::config::file_reference`, built on this).
//!
//! Pure functions over library-relative, `/`-separated paths; the walking itself is
//! I/O and lives in the watcher (`watcher/src/scan.rs` for `check`,
//! `watcher/src/sync/walk.rs` for the sync), which asks these about every entry.

use crate::model::{DocType, Document};
use crate::parse::{kind_of_path, ParseError};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Folder (directly under the library root) that holds personas, and the one for prompts.
pub const PERSONAS_DIR: &str = "personas";
/// Folder (directly under the library root) that holds prompt templates.
pub const PROMPTS_DIR: &str = "prompts";

/// Folders never entered at any depth, besides hidden ones: package managers' trees
/// (a library that is also a JavaScript project would otherwise index its dependencies).
pub const SKIPPED_FOLDERS: &[&str] = &["node_modules"];

/// Whether a walk enters the folder `name` found in the library-relative folder
/// `parent` (`""` for the library root): at the top only [`PERSONAS_DIR`] and
/// [`PROMPTS_DIR`]; below them every folder except hidden ones (leading `.`) and
/// [`SKIPPED_FOLDERS`].
pub fn enter_folder(parent: &str, name: &str) -> bool {
    if parent.is_empty() {
        return name == PERSONAS_DIR || name == PROMPTS_DIR;
    }
    !skipped_folder(name)
}

fn skipped_folder(name: &str) -> bool {
    name.is_empty() || name.starts_with('.') || SKIPPED_FOLDERS.contains(&name)
}

/// Whether `file_name`, in the folder of promptshelf's database `db_file_name`, is that
/// database or one of its companions (`-wal`, `-shm`, `-journal`, `-build`,
/// `.corrupt-…`): they all start with the database's file name. Never documents,
/// wherever the user put the database.
pub fn is_database_file(file_name: &str, db_file_name: &str) -> bool {
    !db_file_name.is_empty() && file_name.starts_with(db_file_name)
}

/// True for files editors and tools leave behind while saving: `foo~` (backups),
/// vim swap files (`.swp`, `.swo`, `.swx`, ...), vim's `4913` write probe, Emacs
/// autosaves `#foo#` and lock files `.#foo`. Never documents, never errors.
pub fn is_editor_artifact(file_name: &str) -> bool {
    // Case-insensitive without allocating: asked about every file of every walk.
    let name = file_name;
    name.ends_with('~')
        || name == "4913"
        || (name.len() >= 2 && name.starts_with('#') && name.ends_with('#'))
        || name.starts_with(".#")
        || name.rsplit_once('.').is_some_and(|(_, ext)| {
            let e = ext.as_bytes();
            e.len() == 3 && e[..2].eq_ignore_ascii_case(b"sw") && e[2].is_ascii_alphabetic()
        })
}

/// The document kind of a library-relative, `/`-separated path, or `None` when the path
/// is not a document: `*.json` under `personas/` and `*.prompty` under `prompts/`, at
/// any depth, in folders a walk enters (see [`enter_folder`]); hidden files, editor
/// artifacts and other extensions are ignored. Extensions match case-insensitively;
/// folder names exactly.
pub fn classify(path: &str) -> Option<DocType> {
    // Without collecting the parts: asked about every file of every walk.
    let (top, rest) = path.split_once('/')?;
    let (folders, file) = match rest.rsplit_once('/') {
        Some((folders, file)) => (Some(folders), file),
        None => (None, rest),
    };
    if top.starts_with('.') || file.is_empty() || file.starts_with('.') {
        return None;
    }
    if folders.is_some_and(|f| f.split('/').any(skipped_folder)) {
        return None;
    }
    if is_editor_artifact(file) {
        return None;
    }
    let kind = kind_of_path(path)?;
    let wanted = match kind {
        DocType::Persona => PERSONAS_DIR,
        DocType::PromptTemplate => PROMPTS_DIR,
    };
    (top == wanted).then_some(kind)
}

/// Which library paths claim which document id. The rule: the claimant with the
/// lexicographically first path (byte order) provides the document; every other one is
/// a duplicate-id error naming it ([`duplicate_message`]). `check` and the npm `Shelf`
/// settle a whole library at once ([`resolve_duplicates`]); the sync keeps one of these
/// up to date file by file, so when a winner goes the next claimant takes over.
#[derive(Debug, Default, Clone)]
pub struct Claims {
    by_id: HashMap<String, BTreeSet<String>>,
}

impl Claims {
    /// `path` parses to a document with this id.
    pub fn claim(&mut self, id: &str, path: &str) {
        match self.by_id.get_mut(id) {
            Some(set) => {
                if !set.contains(path) {
                    set.insert(path.to_owned());
                }
            }
            None => {
                self.by_id
                    .insert(id.to_owned(), BTreeSet::from([path.to_owned()]));
            }
        }
    }

    /// `path` no longer parses to this id.
    pub fn unclaim(&mut self, id: &str, path: &str) {
        if let Some(set) = self.by_id.get_mut(id) {
            set.remove(path);
            if set.is_empty() {
                self.by_id.remove(id);
            }
        }
    }

    /// The path that provides `id`, if any path claims it.
    pub fn winner(&self, id: &str) -> Option<&str> {
        self.by_id
            .get(id)
            .and_then(|s| s.first())
            .map(String::as_str)
    }

    /// The other claimants of `id`, in path order: each is a duplicate-id error.
    pub fn losers(&self, id: &str) -> impl Iterator<Item = &str> {
        self.by_id
            .get(id)
            .into_iter()
            .flat_map(|s| s.iter().skip(1))
            .map(String::as_str)
    }

    /// Forgets every claim.
    pub fn clear(&mut self) {
        self.by_id.clear();
    }
}

/// Settles duplicate ids by the [`Claims`] rule: for each id, the document with the
/// lexicographically first path wins; every other document with that id becomes an
/// error naming the winner. Returns the winners sorted by path, and the errors sorted
/// by path.
pub fn resolve_duplicates(mut docs: Vec<Document>) -> (Vec<Document>, Vec<ParseError>) {
    docs.sort_by(|a, b| a.path.cmp(&b.path));
    let mut claims = Claims::default();
    for d in &docs {
        claims.claim(d.id.as_str(), &d.path);
    }
    let mut provided: HashSet<String> = HashSet::new();
    let mut kept = Vec::with_capacity(docs.len());
    let mut errors = Vec::new();
    for doc in docs {
        let winner = claims.winner(doc.id.as_str()).unwrap_or(&doc.path);
        if winner == doc.path && !provided.contains(doc.id.as_str()) {
            provided.insert(doc.id.0.clone());
            kept.push(doc);
        } else {
            errors.push(duplicate_error(&doc, winner));
        }
    }
    (kept, errors)
}

/// The error for a document whose id is already taken by the file at `winner`.
pub fn duplicate_error(doc: &Document, winner: &str) -> ParseError {
    ParseError::file(&doc.path, duplicate_message(doc.id.as_str(), winner))
}

/// The one wording of a duplicate-id error (`check`, the sync's `duplicate_id` sync
/// errors, the npm `Shelf`).
pub fn duplicate_message(id: &str, winner: &str) -> String {
    format!(
        "duplicate id `{id}`: already used by {winner} (the first path in sort order wins); give one of them another `id`"
    )
}

/// The error for a file of `size` bytes over the `max_bytes` limit. `check` and the
/// sync both decide from the file's size before reading it, and the parser from the
/// bytes it is given, all with this wording.
pub fn too_large(path: &str, size: u64, max_bytes: usize) -> ParseError {
    ParseError::file(
        path,
        format!("file is {size} bytes, over the limit of {max_bytes} bytes"),
    )
}

/// A `${protocol:rest}` reference string of Prompty front matter, split at its first
/// `:` (`rest` is `None` when there is no `:`). `None` for any other string.
pub fn reference(s: &str) -> Option<(&str, Option<&str>)> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    Some(match inner.split_once(':') {
        Some((protocol, rest)) => (protocol, Some(rest)),
        None => (inner, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_document, ParseOptions};

    #[test]
    fn documents_by_folder_and_extension() {
        assert_eq!(classify("personas/a.json"), Some(DocType::Persona));
        assert_eq!(classify("personas/team/sub/a.JSON"), Some(DocType::Persona));
        assert_eq!(classify("prompts/a.prompty"), Some(DocType::PromptTemplate));
        assert_eq!(
            classify("prompts/x/y/a.prompty"),
            Some(DocType::PromptTemplate)
        );
        // Wrong folder for the kind, or no folder.
        assert_eq!(classify("prompts/a.json"), None);
        assert_eq!(classify("personas/a.prompty"), None);
        assert_eq!(classify("a.json"), None);
        assert_eq!(classify("other/a.json"), None);
        assert_eq!(classify("Personas/a.json"), None);
        // Other extensions.
        for p in [
            "personas/a.yaml",
            "personas/a.json.bak",
            "prompts/a.md",
            "prompts/prompty",
            "personas/README",
        ] {
            assert_eq!(classify(p), None, "{p}");
        }
    }

    #[test]
    fn hidden_paths_are_ignored() {
        for p in [
            "personas/.a.json",
            "personas/.git/a.json",
            ".personas/a.json",
            "prompts/.cache/x/a.prompty",
            "personas//a.json",
            "personas/../a.json",
        ] {
            assert_eq!(classify(p), None, "{p}");
        }
    }

    #[test]
    fn editor_artifacts_are_ignored() {
        for f in [
            "a.json~",
            "a.prompty~",
            ".a.json.swp",
            "a.json.swx",
            "a.swo",
            "4913",
            "#a.json#",
            ".#a.json",
        ] {
            assert!(is_editor_artifact(f), "{f}");
            assert_eq!(classify(&format!("personas/{f}")), None, "{f}");
        }
        for f in ["a.json", "swing.json", "a.prompty", "49130.json", "#a.json"] {
            assert!(!is_editor_artifact(f), "{f}");
        }
    }

    fn persona(path: &str, id: Option<&str>) -> Document {
        let json = match id {
            Some(id) => format!("{{\"id\": \"{id}\"}}"),
            None => "{}".into(),
        };
        parse_document(path, json.as_bytes(), &ParseOptions::default()).unwrap()
    }

    #[test]
    fn first_path_wins_duplicates() {
        let docs = vec![
            persona("personas/z.json", Some("same")),
            persona("personas/b.json", Some("same")),
            persona("personas/a/x.json", None),
            persona("personas/c.json", Some("same")),
            persona("personas/d.json", Some("personas/a/x")),
        ];
        let (kept, errors) = resolve_duplicates(docs);
        let kept: Vec<_> = kept.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(kept, ["personas/a/x.json", "personas/b.json"]);
        let errs: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            errs,
            ["personas/c.json", "personas/d.json", "personas/z.json"]
        );
        assert!(
            errors[0]
                .message
                .contains("duplicate id `same`: already used by personas/b.json"),
            "{}",
            errors[0].message
        );
        assert!(errors[1]
            .message
            .contains("already used by personas/a/x.json"));
    }

    #[test]
    fn skipped_folders_are_never_entered_nor_classified() {
        assert!(enter_folder("", "personas") && enter_folder("", "prompts"));
        assert!(!enter_folder("", "other") && !enter_folder("", "node_modules"));
        assert!(enter_folder("personas", "team"));
        for name in [".git", ".cache", "node_modules", ""] {
            assert!(!enter_folder("personas", name), "{name}");
            assert!(!enter_folder("prompts/a/b", name), "{name}");
        }
        for p in [
            "personas/node_modules/a.json",
            "prompts/x/node_modules/y/a.prompty",
        ] {
            assert_eq!(classify(p), None, "{p}");
        }
        // Only a folder of that name: a file called so is judged by its extension.
        assert_eq!(
            classify("personas/node_modules.json"),
            Some(DocType::Persona)
        );
    }

    #[test]
    fn database_files_are_recognised_by_name() {
        for f in ["shelf.json", "shelf.json-wal", "shelf.json.corrupt-17"] {
            assert!(is_database_file(f, "shelf.json"), "{f}");
        }
        assert!(!is_database_file("a.json", "shelf.json"));
        assert!(!is_database_file("a.json", ""));
    }

    #[test]
    fn claims_follow_the_first_path() {
        let mut c = Claims::default();
        c.claim("x", "personas/b.json");
        c.claim("x", "personas/a.json");
        c.claim("x", "personas/c.json");
        c.claim("x", "personas/a.json");
        assert_eq!(c.winner("x"), Some("personas/a.json"));
        assert_eq!(
            c.losers("x").collect::<Vec<_>>(),
            ["personas/b.json", "personas/c.json"]
        );
        c.unclaim("x", "personas/a.json");
        assert_eq!(c.winner("x"), Some("personas/b.json"));
        c.unclaim("x", "personas/b.json");
        c.unclaim("x", "personas/c.json");
        assert_eq!(c.winner("x"), None);
        assert_eq!(c.losers("x").count(), 0);
        assert_eq!(c.winner("nobody"), None);
    }

    #[test]
    fn the_size_limit_has_one_wording() {
        let e = too_large("prompts/big.prompty", 1001, 1000);
        assert_eq!(e.path, "prompts/big.prompty");
        assert_eq!(
            e.message,
            "file is 1001 bytes, over the limit of 1000 bytes"
        );
        let parsed = parse_document(
            "prompts/big.prompty",
            &[b'x'; 1001],
            &ParseOptions {
                max_bytes: 1000,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(parsed.message, e.message);
    }

    #[test]
    fn references_are_split_once() {
        assert_eq!(reference("${env:A:b}"), Some(("env", Some("A:b"))));
        assert_eq!(reference("${file}"), Some(("file", None)));
        assert_eq!(reference("$file:a}"), None);
    }
}
