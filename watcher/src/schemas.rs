//! `[schemas]` in promptshelf.toml: the JSON Schema files personas and prompt front
//! matter must match. The core validates (no I/O there); this module reads the schema
//! file and every local file it `$ref`s, resolved relative to the referring file, and
//! hands the core a map URL → document.

use promptshelf_core::schema::{CollectionSchemas, SchemaError, UserSchema};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// At most this many files per schema (the schema and what it refers to, transitively).
pub const MAX_SCHEMA_FILES: usize = 64;
/// Schema files larger than this are refused.
pub const MAX_SCHEMA_BYTES: u64 = 4 * 1024 * 1024;

/// The `[schemas]` table. Paths are relative to the TOML file's folder.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemasTable {
    /// For `*.json` personas (the whole object).
    pub personas: Option<PathBuf>,
    /// For `*.prompty` prompts (their front matter).
    pub prompts: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaLoadError {
    #[error("schema file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("schema file {0}: invalid JSON: {1}")]
    Json(PathBuf, serde_json::Error),
    #[error("schema file {0}: larger than {MAX_SCHEMA_BYTES} bytes")]
    TooLarge(PathBuf),
    #[error("schema file {0}: refers to more than {MAX_SCHEMA_FILES} files")]
    TooManyFiles(PathBuf),
    #[error("schema file {0}: not a usable path")]
    Path(PathBuf),
    #[error("{0}")]
    Compile(#[from] SchemaError),
}

/// The documents each collection's schema was compiled from (URL → JSON), so that
/// `watch` can tell which files to watch and which collection an edit changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources {
    pub personas: Option<BTreeMap<String, Value>>,
    pub prompts: Option<BTreeMap<String, Value>>,
    /// Every file read (canonical), once each.
    pub paths: Vec<PathBuf>,
}

impl Sources {
    /// Every file read, once each.
    pub fn files(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }
}

/// Reads and compiles the schemas `table` names (`base`: the folder relative paths
/// start from), and returns what was read beside them.
pub fn load_with_sources(
    table: &SchemasTable,
    base: &Path,
) -> Result<(CollectionSchemas, Sources), SchemaLoadError> {
    type One = (Option<Arc<UserSchema>>, Option<BTreeMap<String, Value>>);
    let mut paths = Vec::new();
    let mut one = |p: &Option<PathBuf>| -> Result<One, SchemaLoadError> {
        match p {
            None => Ok((None, None)),
            Some(p) => {
                let (url, docs, files) = read_one(&base.join(p))?;
                paths.extend(files);
                let schema = UserSchema::compile(&url, &docs)?;
                Ok((Some(Arc::new(schema)), Some(docs)))
            }
        }
    };
    let (personas, personas_docs) = one(&table.personas)?;
    let (prompts, prompts_docs) = one(&table.prompts)?;
    paths.sort();
    paths.dedup();
    Ok((
        CollectionSchemas { personas, prompts },
        Sources {
            personas: personas_docs,
            prompts: prompts_docs,
            paths,
        },
    ))
}

/// The schema's URL, the documents by URL, the files read.
type ReadSchema = (String, BTreeMap<String, Value>, Vec<PathBuf>);

/// The schema at `path` and every local file it refers to, transitively: its URL, the
/// map URL → document the core compiles from, and the files read.
///
/// A `$ref` is resolved as the validator will resolve it, against the base URI that
/// `$id`s set (`"$id": "https://example.com/s/persona.json"` makes `common.json` mean
/// `https://example.com/s/common.json`), and the document is looked for on disk at the
/// same relative place from the referring file; it is handed over under the URL the
/// validator will ask for. So a schema set written with `$id`s (as published schemas
/// are) works from a folder, without the network.
fn read_one(path: &Path) -> Result<ReadSchema, SchemaLoadError> {
    let path = std::fs::canonicalize(path).map_err(|e| SchemaLoadError::Read(path.into(), e))?;
    let root = url::Url::from_file_path(&path).map_err(|_| SchemaLoadError::Path(path.clone()))?;
    let mut docs: BTreeMap<String, Value> = BTreeMap::new();
    let mut files: Vec<PathBuf> = Vec::new();
    // (the URL the validator knows the document by, its file's URL, its path)
    let mut queue = vec![(root.clone(), root.clone(), path.clone())];
    while let Some((url, file_url, file)) = queue.pop() {
        if docs.contains_key(url.as_str()) {
            continue;
        }
        if docs.len() >= MAX_SCHEMA_FILES {
            return Err(SchemaLoadError::TooManyFiles(path));
        }
        let doc = read_json(&file)?;
        let mut refs = Vec::new();
        refs_of(&doc, &url, &file_url, &mut refs);
        for (target, local) in refs {
            if local == file_url
                || docs.contains_key(target.as_str())
                || queue.iter().any(|(u, _, _)| *u == target)
            {
                continue;
            }
            // Anything not a readable local file is left out: the core then reports the
            // `$ref` as unresolvable, naming it.
            if local.scheme() != "file" {
                continue;
            }
            if let Ok(p) = local.to_file_path() {
                if p.is_file() {
                    queue.push((target, local, p));
                }
            }
        }
        docs.insert(url.to_string(), doc);
        files.push(file);
    }
    Ok((root.to_string(), docs, files))
}

fn read_json(file: &Path) -> Result<Value, SchemaLoadError> {
    let meta = std::fs::metadata(file).map_err(|e| SchemaLoadError::Read(file.into(), e))?;
    if meta.len() > MAX_SCHEMA_BYTES {
        return Err(SchemaLoadError::TooLarge(file.into()));
    }
    let bytes = std::fs::read(file).map_err(|e| SchemaLoadError::Read(file.into(), e))?;
    serde_json::from_slice(&bytes).map_err(|e| SchemaLoadError::Json(file.into(), e))
}

/// Every `$ref` / `$dynamicRef` of a schema document, without fragment: as the
/// validator resolves it (against `base`, moved by each `$id` on the way), and the file
/// it is looked for in (against `file_base`, moved only by relative `$id`s).
fn refs_of(v: &Value, base: &url::Url, file_base: &url::Url, out: &mut Vec<(url::Url, url::Url)>) {
    match v {
        Value::Object(map) => {
            let (base, file_base) = match map.get("$id").and_then(Value::as_str) {
                Some(id) => {
                    let moved = base.join(id).unwrap_or_else(|_| base.clone());
                    let file_moved = if url::Url::parse(id).is_ok() {
                        file_base.clone()
                    } else {
                        file_base.join(id).unwrap_or_else(|_| file_base.clone())
                    };
                    (moved, file_moved)
                }
                None => (base.clone(), file_base.clone()),
            };
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("$ref" | "$dynamicRef", Value::String(r)) => {
                        if let (Ok(mut t), Ok(mut l)) = (base.join(r), file_base.join(r)) {
                            t.set_fragment(None);
                            l.set_fragment(None);
                            out.push((t, l));
                        }
                    }
                    // Values, not schemas: a `$ref` key in an example is not a reference.
                    ("const" | "enum" | "default" | "examples", _) => {}
                    _ => refs_of(child, &base, &file_base, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| refs_of(c, base, file_base, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(table: &SchemasTable, base: &Path) -> Result<CollectionSchemas, SchemaLoadError> {
        load_with_sources(table, base).map(|(s, _)| s)
    }

    #[test]
    fn local_refs_are_loaded_relative_to_the_referring_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("schemas/common")).unwrap();
        std::fs::write(
            dir.path().join("schemas/persona.schema.json"),
            r#"{"properties": {"tags": {"$ref": "common/tags.json"}}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("schemas/common/tags.json"),
            r#"{"type": "array", "items": {"$ref": "string.json#/$defs/s"}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("schemas/common/string.json"),
            r#"{"$defs": {"s": {"type": "string"}}}"#,
        )
        .unwrap();
        let table = SchemasTable {
            personas: Some("schemas/persona.schema.json".into()),
            prompts: None,
        };
        let s = load(&table, dir.path()).unwrap();
        assert!(s.prompts.is_none());
        let v = s.personas.unwrap().violations(&json!({"tags": ["a", 7]}));
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].message,
            "tags[1]: expected a string, found the number 7"
        );
    }

    #[test]
    fn refs_resolve_against_id_bases_and_load_from_the_same_relative_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("schemas/defs")).unwrap();
        // Published-style schemas: absolute `$id`s, relative `$ref`s between them; one
        // nested `$id` moves the base into a subfolder.
        std::fs::write(
            dir.path().join("schemas/persona.json"),
            r#"{"$id": "https://example.com/schemas/persona.json",
                "properties": {
                  "tags": {"$ref": "defs/tags.json"},
                  "level": {"$id": "defs/", "$ref": "level.json"}}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("schemas/defs/tags.json"),
            r##"{"$id": "https://example.com/schemas/defs/tags.json",
                "type": "array", "items": {"$ref": "#/$defs/tag"},
                "$defs": {"tag": {"type": "string"}}}"##,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("schemas/defs/level.json"),
            r#"{"enum": ["junior", "senior"]}"#,
        )
        .unwrap();
        let table = SchemasTable {
            personas: Some("schemas/persona.json".into()),
            prompts: None,
        };
        let (s, sources) = load_with_sources(&table, dir.path()).unwrap();
        assert_eq!(sources.files().len(), 3, "{:?}", sources.files());
        let v = s
            .personas
            .unwrap()
            .violations(&json!({"tags": ["a", 7], "level": "x"}));
        let mut messages: Vec<&str> = v.iter().map(|v| v.message.as_str()).collect();
        messages.sort();
        assert_eq!(
            messages,
            [
                "level: expected one of \"junior\", \"senior\", found the string \"x\"",
                "tags[1]: expected a string, found the number 7"
            ]
        );
    }

    #[test]
    fn missing_invalid_and_unresolvable_schemas_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let table = |p: &str| SchemasTable {
            personas: None,
            prompts: Some(p.into()),
        };
        let e = load(&table("nope.json"), dir.path()).unwrap_err();
        assert!(matches!(e, SchemaLoadError::Read(..)), "{e}");
        assert!(e.to_string().contains("nope.json"), "{e}");
        std::fs::write(dir.path().join("bad.json"), "{not json").unwrap();
        let e = load(&table("bad.json"), dir.path()).unwrap_err();
        assert!(e.to_string().contains("invalid JSON"), "{e}");
        std::fs::write(dir.path().join("dangling.json"), r#"{"$ref": "gone.json"}"#).unwrap();
        let e = load(&table("dangling.json"), dir.path()).unwrap_err();
        assert!(e.to_string().contains("gone.json"), "{e}");
        // Two files referring to each other load once each (no loop).
        std::fs::write(dir.path().join("a.json"), r#"{"$ref": "b.json"}"#).unwrap();
        std::fs::write(dir.path().join("b.json"), r#"{"$ref": "a.json"}"#).unwrap();
        if let Ok(s) = load(&table("a.json"), dir.path()) {
            assert!(!s.prompts.unwrap().violations(&json!({})).is_empty());
        }
    }
}
