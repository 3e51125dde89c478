//! Prompt versions and labels (issue #15): the `contents`, `versions`, `labels` and
//! `doc_labels` tables of schema migration 3. The watcher writes the whole history of a
//! library in one batch ([`Writer::replace_history`]); every host reads it with the
//! functions below (they compile for wasm32: the edge reads them from a snapshot).

use crate::{pack, Error, Writer};
use promptshelf_core::model::ContentHash;
use promptshelf_core::parse::ParseError;
use promptshelf_core::versions::VersionInfo;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// A configured label as the watcher resolved it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LabelRow {
    /// The label (`production`).
    pub label: String,
    /// Its ref (`refs/tags/prompts-prod`).
    pub reference: Option<String>,
    /// The ref's commit, when it resolved.
    pub commit: Option<String>,
    /// Why the label is broken, when it is.
    pub error: Option<String>,
}

/// Which version a label names for one document, or why none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLabel {
    /// The document.
    pub doc_id: String,
    /// The label.
    pub label: String,
    /// The version number, or the error message.
    pub resolved: Result<u32, String>,
}

/// One document's versions for [`Writer::replace_history`].
pub struct DocVersions<'a> {
    /// The document.
    pub doc_id: &'a str,
    /// Oldest first.
    pub versions: &'a [VersionInfo],
}

impl Writer<'_> {
    /// Replaces every stored version, content, label and resolved label with these.
    /// Contents no version refers to are dropped.
    pub fn replace_history<'c>(
        &self,
        docs: &[DocVersions<'_>],
        contents: impl IntoIterator<Item = (&'c str, &'c [u8])>,
        labels: &[LabelRow],
        doc_labels: &[DocLabel],
    ) -> Result<(), Error> {
        self.tx.execute_batch(
            "DELETE FROM versions; DELETE FROM contents; DELETE FROM labels; DELETE FROM doc_labels;",
        )?;
        let mut put = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO contents (hash, data) VALUES (?1, ?2)")?;
        for (hash, data) in contents {
            put.execute(params![hash, data])?;
        }
        let mut ins = self.tx.prepare_cached(
            "INSERT INTO versions (doc_id, number, commit_id, author, time, summary, path, hash, \
               draft, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for d in docs {
            for v in d.versions {
                let error = v.error.as_ref().map(serde_json::to_string).transpose()?;
                ins.execute(params![
                    d.doc_id,
                    v.number,
                    v.commit,
                    v.author,
                    v.time,
                    v.summary,
                    v.path,
                    v.hash.0,
                    v.draft as i64,
                    error,
                ])?;
            }
        }
        let mut lab = self.tx.prepare_cached(
            "INSERT INTO labels (label, reference, commit_id, error) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for l in labels {
            lab.execute(params![l.label, l.reference, l.commit, l.error])?;
        }
        let mut dl = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO doc_labels (doc_id, label, number, error) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for l in doc_labels {
            let (n, e) = match &l.resolved {
                Ok(n) => (Some(*n), None),
                Err(e) => (None, Some(e.as_str())),
            };
            dl.execute(params![l.doc_id, l.label, n, e])?;
        }
        // Contents are written by hash from everything the history read; keep only the
        // ones a version names.
        self.tx.execute(
            "DELETE FROM contents WHERE hash NOT IN (SELECT hash FROM versions)",
            [],
        )?;
        Ok(())
    }
}

impl Writer<'_> {
    /// Empties the history tables (the first store of a `watch`, before writing it all).
    pub fn delete_history(&self) -> Result<(), Error> {
        self.tx.execute_batch(
            "DELETE FROM versions; DELETE FROM contents; DELETE FROM labels; DELETE FROM doc_labels;",
        )?;
        Ok(())
    }

    /// Replaces one document's versions (none: the document has no history any more).
    /// The contents they name must be written with [`Writer::put_content`].
    pub fn set_doc_versions(&self, doc_id: &str, versions: &[VersionInfo]) -> Result<(), Error> {
        self.tx
            .prepare_cached("DELETE FROM versions WHERE doc_id = ?1")?
            .execute([doc_id])?;
        let mut ins = self.tx.prepare_cached(
            "INSERT INTO versions (doc_id, number, commit_id, author, time, summary, path, hash, \
               draft, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for v in versions {
            let error = v.error.as_ref().map(serde_json::to_string).transpose()?;
            ins.execute(params![
                doc_id,
                v.number,
                v.commit,
                v.author,
                v.time,
                v.summary,
                v.path,
                v.hash.0,
                v.draft as i64,
                error,
            ])?;
        }
        Ok(())
    }

    /// Stores a content by its hash (a no-op when it is stored already).
    pub fn put_content(&self, hash: &str, data: &[u8]) -> Result<(), Error> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO contents (hash, data) VALUES (?1, ?2)")?
            .execute(params![hash, data])?;
        Ok(())
    }

    /// Drops a content no version names any more (the caller keeps the count).
    pub fn delete_content(&self, hash: &str) -> Result<(), Error> {
        self.tx
            .prepare_cached("DELETE FROM contents WHERE hash = ?1")?
            .execute([hash])?;
        Ok(())
    }

    /// Sets (or, with `None`, removes) the version a label names for one document.
    pub fn set_doc_label(
        &self,
        doc_id: &str,
        label: &str,
        resolved: Option<&Result<u32, String>>,
    ) -> Result<(), Error> {
        match resolved {
            None => {
                self.tx
                    .prepare_cached("DELETE FROM doc_labels WHERE doc_id = ?1 AND label = ?2")?
                    .execute([doc_id, label])?;
            }
            Some(r) => {
                let (n, e) = match r {
                    Ok(n) => (Some(*n), None),
                    Err(e) => (None, Some(e.as_str())),
                };
                self.tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO doc_labels (doc_id, label, number, error) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![doc_id, label, n, e])?;
            }
        }
        Ok(())
    }

    /// Replaces the configured labels' rows.
    pub fn set_labels(&self, labels: &[LabelRow]) -> Result<(), Error> {
        self.tx.execute("DELETE FROM labels", [])?;
        let mut lab = self.tx.prepare_cached(
            "INSERT INTO labels (label, reference, commit_id, error) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for l in labels {
            lab.execute(params![l.label, l.reference, l.commit, l.error])?;
        }
        Ok(())
    }
}

/// Every synced document's id, path and content hash (what `watch` needs to tell a
/// draft from a committed version, without reading the documents' JSON).
pub fn document_hashes(conn: &Connection) -> Result<Vec<(String, String, String)>, Error> {
    let mut stmt =
        conn.prepare_cached("SELECT id, file_path, content_hash FROM documents ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Writer<'_> {
    /// Removes every version, content and label, and the history stamp (a library that
    /// left git).
    pub fn clear_history(&self) -> Result<(), Error> {
        self.replace_history(&[], std::iter::empty(), &[], &[])?;
        self.tx.execute(
            "DELETE FROM sync_meta WHERE key = ?1",
            [crate::read::META_HISTORY_STAMP],
        )?;
        Ok(())
    }

    /// Keeps only the newest `n` versions of each document (`promptshelf build
    /// --history N`): older rows go, and the contents only they used. Numbers are kept,
    /// so version 7 is version 7 everywhere; the dropped ones answer 404.
    pub fn keep_last_versions(&self, n: u32) -> Result<(), Error> {
        self.tx.execute(
            "DELETE FROM versions WHERE number <= \
               (SELECT MAX(v.number) FROM versions v WHERE v.doc_id = versions.doc_id) - ?1",
            [n],
        )?;
        self.tx.execute(
            "DELETE FROM contents WHERE hash NOT IN (SELECT hash FROM versions)",
            [],
        )?;
        self.tx.execute(
            "UPDATE doc_labels SET number = NULL, \
               error = 'label `' || label || '` names version ' || number || ', which this snapshot does not carry (built with --history)' \
             WHERE number IS NOT NULL AND NOT EXISTS \
               (SELECT 1 FROM versions v WHERE v.doc_id = doc_labels.doc_id AND v.number = doc_labels.number)",
            [],
        )?;
        Ok(())
    }
}

/// A short hash of the stored history ([`digest_input`]), for the content generation.
pub fn stamp(conn: &Connection) -> Result<String, Error> {
    Ok(blake3::hash(&digest_input(conn)?).to_hex()[..16].to_owned())
}

/// Every history row the read API can answer from, as bytes for the snapshot's content
/// id (`crate::snapshot`): versions (from the tables or the packs: the same rows give
/// the same bytes either way) and resolved labels, in key order. Empty for a database
/// without the tables.
pub fn digest_input(conn: &Connection) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut put = |s: &str| {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    let sql = format!("SELECT doc_id, {RAW_COLUMNS} FROM versions ORDER BY doc_id, number");
    let Ok(mut stmt) = conn.prepare(&sql) else {
        return Ok(Vec::new());
    };
    let mut rows: Vec<(String, pack::Row)> = stmt
        .query_map([], |r| Ok((r.get(0)?, raw_row(r, 1)?)))?
        .collect::<Result<_, _>>()?;
    if let Some(mut packs) = table_exists(conn, "history_packs")
        .then(|| conn.prepare("SELECT doc_id, data FROM history_packs ORDER BY doc_id"))
        .transpose()?
    {
        let packed: Vec<(String, Vec<u8>)> = packs
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (doc, data) in packed {
            let (vs, _) = pack::decode(&data).map_err(pack_err)?;
            rows.extend(vs.into_iter().map(|(r, _)| (doc.clone(), r)));
        }
        rows.sort_by(|a, b| (&a.0, a.1.number).cmp(&(&b.0, b.1.number)));
    }
    for (doc, r) in &rows {
        let line = [
            doc.as_str(),
            &r.number.to_string(),
            r.commit.as_deref().unwrap_or(""),
            r.author.as_deref().unwrap_or(""),
            &r.time.map(|t| t.to_string()).unwrap_or_default(),
            r.summary.as_deref().unwrap_or(""),
            &r.path,
            &r.hash,
            if r.draft { "1" } else { "0" },
            r.error.as_deref().unwrap_or(""),
        ]
        .join("\0");
        put(&line);
    }
    let mut stmt = conn.prepare(
        "SELECT doc_id || char(0) || label || char(0) || COALESCE(number, '') || char(0) \
           || COALESCE(error, '') FROM doc_labels ORDER BY doc_id, label",
    )?;
    for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
        put(&row?);
    }
    Ok(out)
}

fn table_exists(conn: &Connection, name: &str) -> bool {
    conn.prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
        .and_then(|mut s| s.exists([name]))
        .unwrap_or(false)
}

/// A pack that does not decode is damage, like a failed integrity check.
fn pack_err(e: pack::PackError) -> Error {
    Error::Corrupt(e.to_string())
}

const RAW_COLUMNS: &str = "number, commit_id, author, time, summary, path, hash, draft, error";

fn raw_row(r: &Row<'_>, at: usize) -> rusqlite::Result<pack::Row> {
    Ok(pack::Row {
        number: r.get(at)?,
        commit: r.get(at + 1)?,
        author: r.get(at + 2)?,
        time: r.get(at + 3)?,
        summary: r.get(at + 4)?,
        path: r.get(at + 5)?,
        hash: r.get(at + 6)?,
        draft: r.get::<_, i64>(at + 7)? != 0,
        error: r.get(at + 8)?,
    })
}

fn info_of(r: pack::Row) -> VersionInfo {
    VersionInfo {
        number: r.number,
        commit: r.commit,
        author: r.author,
        time: r.time,
        summary: r.summary,
        path: r.path,
        hash: ContentHash(r.hash),
        draft: r.draft,
        error: r
            .error
            .and_then(|e| serde_json::from_str::<ParseError>(&e).ok()),
    }
}

/// The pack of `doc_id`, decoded, if the database has one (a snapshot).
fn pack_of(conn: &Connection, doc_id: &str) -> Result<Option<pack::Unpacked>, Error> {
    let data: Option<Vec<u8>> =
        match conn.prepare_cached("SELECT data FROM history_packs WHERE doc_id = ?1") {
            Ok(mut stmt) => stmt.query_row([doc_id], |r| r.get(0)).optional()?,
            // A database of schema 3 (before packs).
            Err(e) if e.to_string().contains("no such table") => None,
            Err(e) => return Err(e.into()),
        };
    data.map(|d| pack::decode(&d).map_err(pack_err)).transpose()
}

/// Packs every document's versions and their contents into `history_packs`, and
/// empties `versions` and `contents` (`promptshelf build`: see `crate::pack`). A
/// document some of whose contents' hashes do not match their bytes still packs (the
/// pack keeps such a hash).
pub fn pack_history(conn: &Connection) -> Result<usize, Error> {
    let sql = format!("SELECT doc_id, {RAW_COLUMNS} FROM versions ORDER BY doc_id, number");
    let mut stmt = conn.prepare(&sql)?;
    let rows: Vec<(String, pack::Row)> = stmt
        .query_map([], |r| Ok((r.get(0)?, raw_row(r, 1)?)))?
        .collect::<Result<_, _>>()?;
    let mut content = conn.prepare("SELECT data FROM contents WHERE hash = ?1")?;
    let mut put =
        conn.prepare("INSERT OR REPLACE INTO history_packs (doc_id, data) VALUES (?1, ?2)")?;
    let mut packed = 0;
    let mut i = 0;
    while i < rows.len() {
        let doc = &rows[i].0;
        let end = rows[i..]
            .iter()
            .position(|(d, _)| d != doc)
            .map_or(rows.len(), |n| i + n);
        let doc_rows: Vec<pack::Row> = rows[i..end].iter().map(|(_, r)| r.clone()).collect();
        let mut failed = None;
        let data = pack::encode(&doc_rows, &mut |h| match content
            .query_row([h], |r| r.get::<_, Vec<u8>>(0))
            .optional()
        {
            Ok(d) => d,
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        put.execute(params![doc, data])?;
        packed += 1;
        i = end;
    }
    conn.execute_batch("DELETE FROM versions; DELETE FROM contents;")?;
    Ok(packed)
}

const VERSION_COLUMNS: &str = "number, commit_id, author, time, summary, path, hash, draft, error";

fn version_from_row(r: &Row<'_>) -> rusqlite::Result<VersionInfo> {
    let error: Option<String> = r.get(8)?;
    Ok(VersionInfo {
        number: r.get(0)?,
        commit: r.get(1)?,
        author: r.get(2)?,
        time: r.get(3)?,
        summary: r.get(4)?,
        path: r.get(5)?,
        hash: ContentHash(r.get(6)?),
        draft: r.get::<_, i64>(7)? != 0,
        error: error.and_then(|e| serde_json::from_str::<ParseError>(&e).ok()),
    })
}

/// Whether the database holds any history (a library read outside git, or a database
/// built before migration 3, has none: each document is then its own version 1).
pub fn has_history(conn: &Connection) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM versions LIMIT 1")?
        .exists([])?
        || (table_exists(conn, "history_packs")
            && conn
                .prepare_cached("SELECT 1 FROM history_packs LIMIT 1")?
                .exists([])?))
}

/// A page of one document's versions, oldest first, and how many it has.
pub fn versions(
    conn: &Connection,
    doc_id: &str,
    offset: usize,
    limit: usize,
) -> Result<(Vec<VersionInfo>, u64), Error> {
    if let Some((rows, _)) = pack_of(conn, doc_id)? {
        let total = rows.len() as u64;
        let page = rows
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(r, _)| info_of(r))
            .collect();
        return Ok((page, total));
    }
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM versions WHERE doc_id = ?1")?
        .query_row([doc_id], |r| r.get(0))?;
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM versions WHERE doc_id = ?1 ORDER BY number LIMIT ?2 OFFSET ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![doc_id, limit.min(i64::MAX as usize) as i64, offset as i64],
        version_from_row,
    )?;
    Ok((rows.collect::<Result<_, _>>()?, total.max(0) as u64))
}

/// One version with its file's bytes.
pub fn version(
    conn: &Connection,
    doc_id: &str,
    number: u32,
) -> Result<Option<(VersionInfo, Vec<u8>)>, Error> {
    if let Some((rows, mut contents)) = pack_of(conn, doc_id)? {
        return Ok(rows
            .into_iter()
            .find(|(r, _)| r.number == number)
            .map(|(r, i)| (info_of(r), std::mem::take(&mut contents[i]))));
    }
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, (SELECT data FROM contents c WHERE c.hash = v.hash) \
         FROM versions v WHERE v.doc_id = ?1 AND v.number = ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt
        .query_row(params![doc_id, number], |r| {
            let data: Option<Vec<u8>> = r.get(9)?;
            Ok((version_from_row(r)?, data.unwrap_or_default()))
        })
        .optional()?)
}

/// The version `label` names for `doc_id`: `None` when the database has no such
/// (document, label) pair, `Some(Err)` with the reason when it names none.
pub fn doc_label(
    conn: &Connection,
    doc_id: &str,
    label: &str,
) -> Result<Option<Result<u32, String>>, Error> {
    let mut stmt = conn
        .prepare_cached("SELECT number, error FROM doc_labels WHERE doc_id = ?1 AND label = ?2")?;
    Ok(stmt
        .query_row(params![doc_id, label], |r| {
            let n: Option<u32> = r.get(0)?;
            let e: Option<String> = r.get(1)?;
            Ok(match n {
                Some(n) => Ok(n),
                None => Err(e.unwrap_or_else(|| format!("label `{label}` names no version"))),
            })
        })
        .optional()?)
}

/// Every configured label, by name.
pub fn labels(conn: &Connection) -> Result<Vec<LabelRow>, Error> {
    let mut stmt = conn
        .prepare_cached("SELECT label, reference, commit_id, error FROM labels ORDER BY label")?;
    let rows = stmt.query_map([], |r| {
        Ok(LabelRow {
            label: r.get(0)?,
            reference: r.get(1)?,
            commit: r.get(2)?,
            error: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;

    fn info(number: u32, text: &str) -> VersionInfo {
        VersionInfo {
            number,
            commit: Some(format!("c{number}")),
            author: Some("Ada".into()),
            time: Some(1_700_000_000 + number as i64),
            summary: Some(format!("v{number}")),
            path: "prompts/a.prompty".into(),
            hash: ContentHash::of(text.as_bytes()),
            draft: false,
            error: (number == 2).then(|| ParseError::file("prompts/a.prompty", "broken")),
        }
    }

    #[test]
    fn history_round_trips_and_stores_each_content_once() {
        let mut db = Database::open_in_memory().unwrap();
        assert!(!db.read(has_history).unwrap());
        let vs = vec![info(1, "one"), info(2, "two"), info(3, "one")];
        let contents: Vec<(String, Vec<u8>)> = ["one", "two", "unused"]
            .iter()
            .map(|t| (ContentHash::of(t.as_bytes()).0, t.as_bytes().to_vec()))
            .collect();
        db.write(|w| {
            w.replace_history(
                &[DocVersions {
                    doc_id: "prompts/a",
                    versions: &vs,
                }],
                contents.iter().map(|(h, d)| (h.as_str(), d.as_slice())),
                &[LabelRow {
                    label: "production".into(),
                    reference: Some("refs/tags/p".into()),
                    commit: None,
                    error: Some("ref `refs/tags/p` does not exist".into()),
                }],
                &[
                    DocLabel {
                        doc_id: "prompts/a".into(),
                        label: "staging".into(),
                        resolved: Ok(2),
                    },
                    DocLabel {
                        doc_id: "prompts/a".into(),
                        label: "production".into(),
                        resolved: Err("broken".into()),
                    },
                ],
            )
        })
        .unwrap();
        let conn = db.conn();
        assert!(has_history(conn).unwrap());
        let (page, total) = versions(conn, "prompts/a", 1, 1).unwrap();
        assert_eq!(total, 3);
        assert_eq!(page, vec![vs[1].clone()]);
        let (v, bytes) = version(conn, "prompts/a", 3).unwrap().unwrap();
        assert_eq!((v, bytes), (vs[2].clone(), b"one".to_vec()));
        assert!(version(conn, "prompts/a", 4).unwrap().is_none());
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM contents", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2, "one row per distinct content, unused ones dropped");
        assert_eq!(
            doc_label(conn, "prompts/a", "staging").unwrap(),
            Some(Ok(2))
        );
        assert_eq!(
            doc_label(conn, "prompts/a", "production").unwrap(),
            Some(Err("broken".into()))
        );
        assert_eq!(doc_label(conn, "prompts/a", "nope").unwrap(), None);
        assert_eq!(labels(conn).unwrap()[0].label, "production");
    }

    /// The read API over a real database with history: pages, a fixed version (immutable),
    /// a label (movable), a broken label, a diff, and the fallback without history.
    #[test]
    fn api_routes_answer_from_the_stored_history() {
        use crate::reader::{IndexCache, Reader};
        use promptshelf_core::api::{handle, ApiConfig, Request};
        let texts = [
            "---\nname: R\nmodel:\n  api: chat\n---\nuser:\nHello\n",
            "---\nname: R\nmodel:\n  api: completion\n---\nuser:\nHello\n",
        ];
        let vs: Vec<VersionInfo> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| VersionInfo {
                error: None,
                hash: ContentHash::of(t.as_bytes()),
                ..info(i as u32 + 1, t)
            })
            .collect();
        let doc = promptshelf_core::parse::parse_document(
            "prompts/a.prompty",
            texts[1].as_bytes(),
            &Default::default(),
        )
        .unwrap();
        let mut db = Database::open_in_memory().unwrap();
        db.write(|w| {
            w.upsert_document(&doc, 0, 10)?;
            w.upsert_document(
                &promptshelf_core::parse::parse_document(
                    "prompts/plain.prompty",
                    texts[0].as_bytes(),
                    &Default::default(),
                )
                .unwrap(),
                0,
                10,
            )?;
            w.replace_history(
                &[DocVersions {
                    doc_id: "prompts/a",
                    versions: &vs,
                }],
                vs.iter()
                    .zip(texts)
                    .map(|(v, t)| (v.hash.0.as_str(), t.as_bytes())),
                &[],
                &[
                    DocLabel {
                        doc_id: "prompts/a".into(),
                        label: "production".into(),
                        resolved: Ok(1),
                    },
                    DocLabel {
                        doc_id: "prompts/a".into(),
                        label: "staging".into(),
                        resolved: Err(
                            "label `staging`: ref `refs/heads/staging` does not exist".into()
                        ),
                    },
                ],
            )
        })
        .unwrap();
        let cache = IndexCache::new(None);
        let reader = Reader::new(db.conn(), &cache);
        let cfg = ApiConfig::default();
        let get = |t: &str| handle(&Request::get(t), &reader, &cfg);
        let json = |r: &promptshelf_core::api::Response| -> serde_json::Value {
            serde_json::from_slice(&r.body).unwrap()
        };
        let header = |r: &promptshelf_core::api::Response, k: &str| {
            r.headers
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        };

        let r = get("/v1/documents/prompts/a/versions?limit=1&offset=1");
        assert_eq!(r.status, 200);
        let b = json(&r);
        assert_eq!(
            (b["total"].as_u64(), b["data"][0]["number"].as_u64()),
            (Some(2), Some(2))
        );

        let r = get("/v1/documents/prompts%2Fa?version=1");
        assert_eq!(r.status, 200);
        assert_eq!(json(&r)["content"]["model"]["api"], "chat");
        assert_eq!(
            header(&r, "cache-control").unwrap(),
            promptshelf_core::api::versions::IMMUTABLE
        );
        let etag = header(&r, "etag").unwrap();
        assert!(etag.starts_with("\"v"), "{etag}");
        let mut again = Request::get("/v1/documents/prompts%2Fa?version=1");
        again.headers.push(("If-None-Match".into(), etag));
        assert_eq!(handle(&again, &reader, &cfg).status, 304);

        let r = get("/v1/documents/prompts/a?label=production");
        assert_eq!(
            (r.status, header(&r, "x-promptshelf-version")),
            (200, Some("1".into()))
        );
        assert_ne!(
            header(&r, "cache-control").unwrap(),
            promptshelf_core::api::versions::IMMUTABLE
        );
        let r = get("/v1/documents/prompts/a?label=latest");
        assert_eq!(json(&r)["content"]["model"]["api"], "completion");
        let r = get("/v1/documents/prompts/a?label=staging");
        assert_eq!(r.status, 409);
        assert!(String::from_utf8_lossy(&r.body).contains("does not exist"));
        assert_eq!(get("/v1/documents/prompts/a?label=nope").status, 404);
        assert_eq!(get("/v1/documents/prompts/a?version=3").status, 404);
        assert_eq!(get("/v1/documents/prompts/a?version=1&label=x").status, 400);

        let r = get("/v1/documents/prompts/a/diff?from=1&to=latest");
        assert_eq!(r.status, 200);
        let d = json(&r);
        assert!(d["unified"]
            .as_str()
            .unwrap()
            .contains("-  api: chat\n+  api: completion\n"));
        assert!(d["changed_paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "/content/model/api"));
        assert_eq!(get("/v1/documents/prompts/a/diff?from=1").status, 400);

        // No history for this one: its current document is version 1, `latest`.
        let r = get("/v1/documents/prompts/plain/versions");
        assert_eq!((r.status, json(&r)["total"].as_u64()), (200, Some(1)));
        assert_eq!(get("/v1/documents/prompts/plain?version=1").status, 200);
        assert_eq!(get("/v1/documents/prompts/plain?version=2").status, 404);
        assert_eq!(
            get("/v1/documents/prompts/plain?label=production").status,
            409
        );
        assert_eq!(get("/v1/documents/nope/versions").status, 404);
    }

    /// Packed (as in a snapshot), the history answers every route byte for byte as
    /// the tables did, and digests the same.
    #[test]
    fn packed_history_answers_like_the_tables() {
        use crate::reader::{IndexCache, Reader};
        use promptshelf_core::api::{handle, ApiConfig, Request};
        let texts = ["one\n", "two\n", "one\n"];
        let vs: Vec<VersionInfo> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| info(i as u32 + 1, t))
            .collect();
        let mut db = Database::open_in_memory().unwrap();
        let doc = promptshelf_core::parse::parse_document(
            "prompts/a.prompty",
            b"---\nname: R\n---\nuser:\nHi\n",
            &Default::default(),
        )
        .unwrap();
        db.write(|w| {
            w.upsert_document(&doc, 0, 10)?;
            w.replace_history(
                &[DocVersions {
                    doc_id: "prompts/a",
                    versions: &vs,
                }],
                vs.iter()
                    .zip(texts)
                    .map(|(v, t)| (v.hash.0.as_str(), t.as_bytes())),
                &[],
                &[],
            )
        })
        .unwrap();
        let urls = [
            "/v1/documents/prompts/a/versions",
            "/v1/documents/prompts/a/versions?offset=1&limit=1",
            "/v1/documents/prompts/a/diff?from=1&to=2",
            "/v1/documents/prompts/a/diff?from=2&to=latest",
            "/v1/documents/prompts/a?version=2",
            "/v1/documents/prompts/a?version=4",
        ];
        let answers = |db: &Database| {
            let cache = IndexCache::new(None);
            let reader = Reader::new(db.conn(), &cache);
            urls.iter()
                .map(|u| {
                    let r = handle(&Request::get(u), &reader, &ApiConfig::default());
                    (r.status, r.headers, r.body)
                })
                .collect::<Vec<_>>()
        };
        let before = (answers(&db), digest_input(db.conn()).unwrap());
        assert_eq!(before.0[0].0, 200);
        let packed = db.write(|w| pack_history(w.conn())).unwrap();
        assert_eq!(packed, 1);
        let conn = db.conn();
        let left: i64 = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM versions) + (SELECT COUNT(*) FROM contents)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
        assert!(has_history(conn).unwrap());
        assert_eq!((answers(&db), digest_input(db.conn()).unwrap()), before);
        let (v, bytes) = version(conn, "prompts/a", 3).unwrap().unwrap();
        assert_eq!((v, bytes), (vs[2].clone(), b"one\n".to_vec()));
        // A damaged pack is an error (a 500 from the API is the host's call), not a panic.
        conn.execute("UPDATE history_packs SET data = x'00'", [])
            .unwrap();
        assert!(versions(conn, "prompts/a", 0, 10).is_err());
    }

    #[test]
    fn keep_last_versions_drops_old_rows_contents_and_labels_on_them() {
        let mut db = Database::open_in_memory().unwrap();
        let texts = ["one", "two", "three"];
        let vs: Vec<VersionInfo> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| VersionInfo {
                error: None,
                ..info(i as u32 + 1, t)
            })
            .collect();
        db.write(|w| {
            w.replace_history(
                &[DocVersions {
                    doc_id: "a",
                    versions: &vs,
                }],
                vs.iter()
                    .zip(texts)
                    .map(|(v, t)| (v.hash.0.as_str(), t.as_bytes())),
                &[],
                &[DocLabel {
                    doc_id: "a".into(),
                    label: "production".into(),
                    resolved: Ok(1),
                }],
            )
        })
        .unwrap();
        let before = digest_input(db.conn()).unwrap();
        db.write(|w| w.keep_last_versions(2)).unwrap();
        let conn = db.conn();
        let (page, total) = versions(conn, "a", 0, 10).unwrap();
        assert_eq!(total, 2);
        assert_eq!(page[0].number, 2);
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM contents", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
        let label = doc_label(conn, "a", "production").unwrap().unwrap();
        assert!(label.unwrap_err().contains("--history"));
        assert_ne!(digest_input(conn).unwrap(), before);
    }
}
