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
}

impl Sources {
    /// Every file read, once each.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = [&self.personas, &self.prompts]
            .into_iter()
            .flatten()
            .flat_map(|docs| docs.keys())
            .filter_map(|u| url::Url::parse(u).ok()?.to_file_path().ok())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Reads and compiles the schemas `table` names (`base`: the folder relative paths
/// start from), and returns what was read beside them.
pub fn load_with_sources(
    table: &SchemasTable,
    base: &Path,
) -> Result<(CollectionSchemas, Sources), SchemaLoadError> {
    type One = (Option<Arc<UserSchema>>, Option<BTreeMap<String, Value>>);
    let one = |p: &Option<PathBuf>| -> Result<One, SchemaLoadError> {
        match p {
            None => Ok((None, None)),
            Some(p) => {
                let (url, docs) = read_one(&base.join(p))?;
                let schema = UserSchema::compile(&url, &docs)?;
                Ok((Some(Arc::new(schema)), Some(docs)))
            }
        }
    };
    let (personas, personas_docs) = one(&table.personas)?;
    let (prompts, prompts_docs) = one(&table.prompts)?;
    Ok((
        CollectionSchemas { personas, prompts },
        Sources {
            personas: personas_docs,
            prompts: prompts_docs,
        },
    ))
}

/// The schema at `path` and every local file it refers to, transitively: its URL and
/// the map URL → document the core compiles from.
fn read_one(path: &Path) -> Result<(String, BTreeMap<String, Value>), SchemaLoadError> {
    let path = std::fs::canonicalize(path).map_err(|e| SchemaLoadError::Read(path.into(), e))?;
    let root = url::Url::from_file_path(&path).map_err(|_| SchemaLoadError::Path(path.clone()))?;
    let mut docs: BTreeMap<String, Value> = BTreeMap::new();
    let mut queue = vec![(root.clone(), path.clone())];
    while let Some((url, file)) = queue.pop() {
        if docs.contains_key(url.as_str()) {
            continue;
        }
        if docs.len() >= MAX_SCHEMA_FILES {
            return Err(SchemaLoadError::TooManyFiles(path));
        }
        let doc = read_json(&file)?;
        let mut refs = Vec::new();
        refs_of(&doc, &mut refs);
        for r in refs {
            let Ok(mut target) = url.join(&r) else {
                continue;
            };
            target.set_fragment(None);
            if target.scheme() != "file" || docs.contains_key(target.as_str()) || target == url {
                continue;
            }
            // Anything not a readable local file is left out: the core then reports the
            // `$ref` as unresolvable, naming it.
            if let Ok(p) = target.to_file_path() {
                if p.is_file() {
                    queue.push((target, p));
                }
            }
        }
        docs.insert(url.to_string(), doc);
    }
    Ok((root.to_string(), docs))
}

fn read_json(file: &Path) -> Result<Value, SchemaLoadError> {
    let meta = std::fs::metadata(file).map_err(|e| SchemaLoadError::Read(file.into(), e))?;
    if meta.len() > MAX_SCHEMA_BYTES {
        return Err(SchemaLoadError::TooLarge(file.into()));
    }
    let bytes = std::fs::read(file).map_err(|e| SchemaLoadError::Read(file.into(), e))?;
    serde_json::from_slice(&bytes).map_err(|e| SchemaLoadError::Json(file.into(), e))
}

/// Every `$ref` / `$dynamicRef` string in a schema document.
fn refs_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("$ref" | "$dynamicRef", Value::String(r)) => out.push(r.clone()),
                    _ => refs_of(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| refs_of(c, out)),
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
