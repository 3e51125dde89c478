//! The labels section of the served index (issue #15): `GET /v1/index` (local server,
//! edge, snapshot) carries, for each label, only the documents whose version at that
//! label is not the latest one, so the npm shelf loaded from it answers
//! `get(id, {label})` (see `promptshelf_core::search::labels`). Computed from the
//! `labels`, `doc_labels`, `versions` and `contents` tables on read, so the stored
//! index blob (which the watcher updates per batch) stays independent of git.

use crate::Error;
use promptshelf_core::parse::{parse_document, ParseOptions};
use promptshelf_core::search::labels::{LabelDoc, LabelEntry, LabelSet, Labels};
use rusqlite::{Connection, OptionalExtension};

/// The labels to carry in the index: every configured label with its error, or the
/// documents it names another version of than the latest (or no version). Empty for a
/// database without history tables or labels.
pub fn index_labels(conn: &Connection) -> Result<Labels, Error> {
    let has_tables = conn
        .prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'doc_labels'")?
        .query_row([], |_| Ok(()))
        .optional()?
        .is_some();
    if !has_tables {
        return Ok(Labels::new());
    }
    let mut labels = Labels::new();
    for row in crate::versions::labels(conn)? {
        labels.insert(
            row.label,
            LabelSet {
                error: row.error.unwrap_or_default(),
                ..LabelSet::default()
            },
        );
    }
    // (document, label, number, error) of every pin; the ones naming the newest version
    // are dropped below. The newest number is asked of `versions` (not a SQL MAX over
    // the `versions` table), because a snapshot keeps history in packs, not in tables.
    let mut stmt = conn.prepare_cached(
        "SELECT dl.doc_id, dl.label, dl.number, dl.error FROM doc_labels dl \
         ORDER BY dl.label, dl.doc_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<u32>>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let opts = ParseOptions::default();
    for row in rows {
        let (doc_id, label, number, error) = row?;
        if let Some(n) = number {
            // Versions are numbered 1..=N, so the count is the newest number.
            let (_, newest) = crate::versions::versions(conn, &doc_id, 0, 0)?;
            if u64::from(n) == newest {
                continue;
            }
        }
        let Some(set) = labels.get_mut(&label).filter(|s| s.error.is_empty()) else {
            continue; // a broken label says so once, not per document
        };
        let entry = match number {
            None => LabelEntry::Unresolved(
                error.unwrap_or_else(|| format!("label `{label}` names no version")),
            ),
            Some(n) => match crate::versions::version(conn, &doc_id, n)? {
                None => LabelEntry::Unresolved(format!("version {n} is not stored")),
                Some((info, bytes)) => match parse_document(&info.path, &bytes, &opts) {
                    Ok(d) => LabelEntry::Doc(LabelDoc {
                        version: Some(n),
                        id: d.id.0,
                        doc_type: d.doc_type,
                        name: d.name,
                        path: d.path,
                        description: d.description.unwrap_or_default(),
                        tags: d.tags,
                    }),
                    Err(e) => LabelEntry::Unresolved(format!("version {n} did not parse: {e}")),
                },
            },
        };
        set.docs.insert(doc_id, entry);
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::{DocLabel, DocVersions, LabelRow};
    use crate::Database;
    use promptshelf_core::model::ContentHash;
    use promptshelf_core::versions::VersionInfo;

    fn v(doc: &str, number: u32, path: &str, text: &str) -> VersionInfo {
        VersionInfo {
            number,
            commit: Some(format!("{doc}{number}")),
            author: None,
            time: None,
            summary: None,
            path: path.into(),
            hash: ContentHash::of(text.as_bytes()),
            draft: false,
            error: None,
        }
    }

    #[test]
    fn carries_only_what_differs_from_latest() {
        let prompt = |name: &str| format!("---\nname: {name}\ntags: [t]\n---\nuser:\nhi\n");
        let a = [prompt("A1"), prompt("A2"), prompt("A3")];
        let b = prompt("B1");
        // `a` moved from prompts/old/a at version 3; production names its version 2.
        let va = vec![
            v("a", 1, "prompts/old/a.prompty", &a[0]),
            v("a", 2, "prompts/old/a.prompty", &a[1]),
            v("a", 3, "prompts/a.prompty", &a[2]),
        ];
        let vb = vec![v("b", 1, "prompts/b.prompty", &b)];
        let vc = vec![v("c", 1, "prompts/c.prompty", "---\nname: [\n---\n")];
        let mut db = Database::open_in_memory().unwrap();
        assert!(db.read(index_labels).unwrap().is_empty(), "no history");
        let contents: Vec<(String, Vec<u8>)> = a
            .iter()
            .chain([&b])
            .map(|t| (ContentHash::of(t.as_bytes()).0, t.as_bytes().to_vec()))
            .chain([(vc[0].hash.0.clone(), b"---\nname: [\n---\n".to_vec())])
            .collect();
        let label = |doc: &str, label: &str, resolved: Result<u32, String>| DocLabel {
            doc_id: doc.into(),
            label: label.into(),
            resolved,
        };
        let row = |label: &str, error: Option<&str>| LabelRow {
            label: label.into(),
            reference: Some(format!("refs/tags/{label}")),
            commit: None,
            error: error.map(Into::into),
        };
        db.write(|w| {
            w.replace_history(
                &[
                    DocVersions {
                        doc_id: "prompts/a",
                        versions: &va,
                    },
                    DocVersions {
                        doc_id: "prompts/b",
                        versions: &vb,
                    },
                    DocVersions {
                        doc_id: "prompts/c",
                        versions: &vc,
                    },
                ],
                contents.iter().map(|(h, d)| (h.as_str(), d.as_slice())),
                &[
                    row("production", None),
                    row("staging", Some("ref `refs/tags/staging` does not exist")),
                ],
                &[
                    label("prompts/a", "production", Ok(2)),
                    label("prompts/b", "production", Ok(1)),
                    label("prompts/c", "production", Ok(1)),
                    label(
                        "prompts/d",
                        "production",
                        Err("not in the label's commit".into()),
                    ),
                    label("prompts/a", "staging", Err("broken".into())),
                ],
            )
        })
        .unwrap();
        let labels = db.read(index_labels).unwrap();
        assert_eq!(labels.keys().collect::<Vec<_>>(), ["production", "staging"]);
        let prod = &labels["production"];
        assert_eq!(prod.error, "");
        // b is the same at production as at latest: not carried.
        assert_eq!(
            prod.docs.keys().collect::<Vec<_>>(),
            ["prompts/a", "prompts/d"],
            "c (version 1 of 1 = latest) and b are not carried"
        );
        match &prod.docs["prompts/a"] {
            LabelEntry::Doc(d) => {
                assert_eq!(d.version, Some(2));
                assert_eq!(d.name, "A2");
                assert_eq!(d.id, "prompts/old/a");
                assert_eq!(d.path, "prompts/old/a.prompty");
                assert_eq!(d.tags, ["t"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            prod.docs["prompts/d"],
            LabelEntry::Unresolved("not in the label's commit".into())
        );
        // A broken label carries its reason once, no documents.
        assert_eq!(
            labels["staging"].error,
            "ref `refs/tags/staging` does not exist"
        );
        assert!(labels["staging"].docs.is_empty());

        // `GET /v1/index` serves the stored index with them.
        use crate::reader::{IndexCache, Reader};
        use promptshelf_core::api::{handle, ApiConfig, Request};
        use promptshelf_core::search::Index;
        let docs: Vec<_> = [("prompts/a.prompty", &a[2]), ("prompts/b.prompty", &b)]
            .iter()
            .map(|(p, t)| parse_document(p, t.as_bytes(), &ParseOptions::default()).unwrap())
            .collect();
        let stored = Index::build(&docs).to_bytes();
        db.write(|w| {
            for d in &docs {
                w.upsert_document(d, 0, 10)?;
            }
            Ok(())
        })
        .unwrap();
        let generation = db.read(crate::read::generation).unwrap();
        db.write(|w| w.put_search_index(generation, &stored))
            .unwrap();
        let cache = IndexCache::new(None);
        let reader = Reader::new(db.conn(), &cache);
        let r = handle(&Request::get("/v1/index"), &reader, &ApiConfig::default());
        assert_eq!(r.status, 200);
        assert_ne!(r.body, stored);
        let served = Index::from_bytes(&r.body).unwrap();
        assert_eq!(served.labels(), labels);
        assert_eq!(served.len(), 2);
    }
}
