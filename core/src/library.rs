//! What counts as a document in a library folder, and how duplicate ids are settled.
//! Pure functions over library-relative paths; the walking itself is I/O and lives in
//! the watcher (`watcher/src/scan.rs`), which asks [`classify`] about every file.

use crate::model::{DocType, Document};
use crate::parse::{kind_of_path, ParseError};
use std::collections::HashMap;

/// Folder (directly under the library root) that holds personas, and the one for prompts.
pub const PERSONAS_DIR: &str = "personas";
/// Folder (directly under the library root) that holds prompt templates.
pub const PROMPTS_DIR: &str = "prompts";

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
/// any depth; hidden files or folders (leading `.`), editor artifacts and other
/// extensions are ignored. Extensions match case-insensitively; folder names exactly.
pub fn classify(path: &str) -> Option<DocType> {
    // Without collecting the parts: asked about every file of every walk.
    let (top, _) = path.split_once('/')?;
    let mut file = top;
    for p in path.split('/') {
        if p.is_empty() || p.starts_with('.') {
            return None;
        }
        file = p;
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

/// Settles duplicate ids: for each id, the document with the lexicographically first
/// path (byte order) wins; every other document with that id becomes an error naming
/// the winner. Returns the winners sorted by path, and the errors sorted by path.
pub fn resolve_duplicates(mut docs: Vec<Document>) -> (Vec<Document>, Vec<ParseError>) {
    docs.sort_by(|a, b| a.path.cmp(&b.path));
    let mut first: HashMap<String, String> = HashMap::new();
    let mut kept = Vec::with_capacity(docs.len());
    let mut errors = Vec::new();
    for doc in docs {
        match first.get(doc.id.as_str()) {
            Some(winner) => errors.push(duplicate_error(&doc, winner)),
            None => {
                first.insert(doc.id.0.clone(), doc.path.clone());
                kept.push(doc);
            }
        }
    }
    (kept, errors)
}

/// The error for a document whose id is already taken by the file at `winner`.
pub fn duplicate_error(doc: &Document, winner: &str) -> ParseError {
    ParseError::file(
        &doc.path,
        format!(
            "duplicate id `{}`: already used by {winner} (the first path in sort order wins); give one of them another `id`",
            doc.id
        ),
    )
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
}
