//! Applying one batch of observations, in two steps:
//!
//! 1. **Plan** ([`Engine::plan`]), outside the write transaction: the new file records
//!    and claims (in memory), the ids the batch affects and, for each, how its document
//!    is settled. Everything that must be read is read here — the database rows the
//!    decisions depend on (in one read transaction) and any file that must be read again
//!    (a duplicate that now wins because the winner went away).
//! 2. **Write** ([`write_plan`]): one transaction that only writes the plan, one small
//!    function per kind of change (removed file, confirmed file, parsed file, broken
//!    file, unreadable file, duplicate claims, and per id: provide, keep stale, remove).
//!
//! On failure the transaction is rolled back and the in-memory picture reloaded from
//! the database (see [`Engine::apply`]), so memory never disagrees with what was
//! committed.

use super::{backoff, Engine};
use crate::sync::library::Library;
use crate::sync::observe::{observe, Observed};
use crate::sync::report::BatchReport;
use crate::sync::search_hook::Upsert;
use crate::sync::walk::Stat;
use promptshelf_core::library::{duplicate_message, Claims};
use promptshelf_core::search::Prepared;
use promptshelf_core::{Document, ParseError, ParseOptions};
use promptshelf_store::read::{self, DocumentOwner};
use promptshelf_store::rusqlite::Connection;
use promptshelf_store::{ErrorKind, FileRecord, SyncErrorRecord, Writer};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

type Error = promptshelf_store::Error;

/// What one observed path changes in the file records and sync errors.
enum FileChange<'o> {
    /// The file is gone: its record and its error go.
    Removed,
    /// Same bytes as recorded (a racy record confirmed by hash): new stat and racy flag.
    Confirmed(FileRecord),
    /// New bytes that parse: the record, and no error.
    Parsed(FileRecord),
    /// New bytes that do not parse: the record, and a `parse` sync error.
    Broken(FileRecord, &'o ParseError),
    /// Unreadable after retries: a racy record (every reconcile tries it again), and an
    /// `io` sync error.
    Unreadable(FileRecord, &'o str),
}

/// How the document of one affected id is settled.
enum Settle<'o> {
    /// The winning file provides it (new, changed, or a duplicate that took over).
    Provide {
        winner: String,
        /// Boxed: a document read again is owned, and much bigger than the other
        /// outcomes.
        doc: Box<Cow<'o, Document>>,
        /// Its JSON, serialized ahead on the parsing threads.
        json: Option<Cow<'o, str>>,
        /// Its tokens, prepared ahead on the parsing threads.
        tokens: Option<Arc<Prepared>>,
        mtime_ms: i64,
        size: u64,
    },
    /// Nobody parses to it any more but its file is still there, broken: the last good
    /// version stays, marked stale (`mark`: it is not yet), its error names it.
    KeepStale { path: String, mark: bool },
    /// Nobody provides it any more.
    Remove,
    /// The stored row is what the files say.
    Unchanged,
}

/// One affected id: its duplicate claims and how its document is settled.
struct IdPlan<'o> {
    id: String,
    /// The winner, and the other claimants (one `duplicate_id` error each).
    duplicates: Option<(String, Vec<String>)>,
    settle: Settle<'o>,
}

/// Everything one batch writes, worked out before its transaction.
struct Plan<'o> {
    files: Vec<(&'o str, FileChange<'o>)>,
    ids: Vec<IdPlan<'o>>,
    /// Something readers see changed (a file appeared, changed or went).
    meaningful: bool,
}

/// A parsed document of the batch, with what was prepared for it on the parsing threads.
type Fresh<'o> = (&'o Document, Option<&'o str>, Option<&'o Arc<Prepared>>);

impl Engine {
    /// Applies observations in one transaction. On failure the transaction is rolled
    /// back and the in-memory picture reloaded from the database.
    pub fn apply(&mut self, obs: Vec<(String, Observed)>) -> Result<BatchReport, Error> {
        let mut attempt = 0;
        // Files whose content was confirmed unchanged (racy records checked by hash):
        // only their records change, so neither the search index (loading it cost a
        // restart ~35 ms at 10,000 documents) nor the claims are needed.
        let confirm_only = obs.iter().all(|(_, o)| matches!(o, Observed::Same { .. }));
        loop {
            let result = if confirm_only {
                self.try_confirm(&obs)
            } else {
                self.ready_to_apply()?;
                self.try_apply(&obs)
            };
            match result {
                Ok(r) => return Ok(r),
                Err(e) => {
                    self.reload_state()?;
                    if e.is_busy() && attempt < 6 {
                        self.shared.counters.retries.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, attempt, "database busy, retrying batch");
                        std::thread::sleep(backoff(attempt));
                        attempt += 1;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Loads what [`Engine::try_apply`] relies on: the search index, the claims, and
    /// whether `documents` has rows without a file record.
    fn ready_to_apply(&mut self) -> Result<(), Error> {
        self.ensure_index()?;
        self.ensure_claims();
        if self.orphan_rows.is_none() {
            self.orphan_rows = Some(read::has_orphan_documents(self.store.conn())?);
        }
        Ok(())
    }

    /// Applies a batch of `Observed::Same` only: new stat and racy flag in the file
    /// records; documents, claims and errors stay as they are.
    fn try_confirm(&mut self, obs: &[(String, Observed)]) -> Result<BatchReport, Error> {
        let mut updated: Vec<FileRecord> = Vec::new();
        for (rel, o) in obs {
            if let (Observed::Same { stat, racy }, Some(old)) = (o, self.files.get(rel)) {
                updated.push(confirmed(old, *stat, *racy));
            }
        }
        if !updated.is_empty() {
            self.store.write(|w| {
                for rec in &updated {
                    w.upsert_file(rec)?;
                }
                Ok(())
            })?;
        }
        for rec in updated {
            self.files.insert(rec.path.clone(), rec);
        }
        self.shared.counters.batches.fetch_add(1, Ordering::Relaxed);
        Ok(BatchReport {
            observed: obs.len(),
            ..Default::default()
        })
    }

    /// Plans the batch, writes it in one transaction, then updates the in-memory search
    /// index and the counters.
    fn try_apply(&mut self, obs: &[(String, Observed)]) -> Result<BatchReport, Error> {
        let t_batch = Instant::now();
        let plan = self.plan(obs)?;
        let mut report = BatchReport {
            observed: obs.len(),
            ..Default::default()
        };
        let mut errors_empty = self.no_errors;
        let (removed, upserted) = self
            .store
            .write(|w| write_plan(w, &plan, &mut errors_empty, &mut report))?;
        self.no_errors = errors_empty;
        if !upserted.is_empty() || !removed.is_empty() {
            // In memory now; serialized later by `flush_index` (see there).
            self.search.apply(&removed, &upserted);
            self.index_dirty = true;
        }
        tracing::debug!(
            observed = obs.len(),
            ms = t_batch.elapsed().as_secs_f64() * 1e3,
            "transaction committed"
        );
        let c = &self.shared.counters;
        c.batches.fetch_add(1, Ordering::Relaxed);
        c.changes
            .fetch_add((report.upserted + report.removed) as u64, Ordering::Relaxed);
        if report.generation > 0 {
            tracing::debug!(
                observed = report.observed,
                upserted = report.upserted,
                removed = report.removed,
                stale = report.stale,
                generation = report.generation,
                "batch applied"
            );
            self.publish()?;
        }
        Ok(report)
    }

    /// Step 1 (see the module docs): updates the file records and claims in memory and
    /// decides every write of the batch, reading what the decisions need first.
    fn plan<'o>(&mut self, obs: &'o [(String, Observed)]) -> Result<Plan<'o>, Error> {
        let orphan_rows = self.orphan_rows.unwrap_or(true);
        let Engine {
            lib,
            store,
            files,
            claims,
            opts,
            ..
        } = self;
        let mut affected: BTreeSet<String> = BTreeSet::new();
        let mut fresh: HashMap<&'o str, Fresh<'o>> = HashMap::new();
        let mut changes = Vec::with_capacity(obs.len());
        let mut meaningful = false;
        let owners = store.read(|conn| {
            for (rel, o) in obs {
                let old = files.get(rel.as_str()).cloned();
                // A path without a record has no documents (they change together),
                // unless another tool wrote rows.
                if old.is_some() || orphan_rows {
                    affected.extend(read::document_ids_at(conn, rel)?);
                }
                if let Some(id) = old.as_ref().and_then(|f| f.doc_id.as_deref()) {
                    claims.unclaim(id, rel);
                    affected.insert(id.to_owned());
                }
                meaningful |= !matches!(o, Observed::Same { .. })
                    && (old.is_some() || !matches!(o, Observed::Gone));
                if let Some(change) = file_change(rel, o, old, claims, &mut affected, &mut fresh) {
                    match &change {
                        FileChange::Removed => {
                            files.remove(rel.as_str());
                        }
                        FileChange::Confirmed(rec)
                        | FileChange::Parsed(rec)
                        | FileChange::Broken(rec, _)
                        | FileChange::Unreadable(rec, _) => {
                            files.insert(rel.clone(), rec.clone());
                        }
                    }
                    changes.push((rel.as_str(), change));
                }
            }
            owners_of(conn, &affected)
        })?;
        // Outside any transaction: may read a file again (a duplicate taking over).
        let ids = affected
            .into_iter()
            .zip(owners)
            .map(|(id, owner)| settle_id(lib, opts, files, claims, &fresh, id, owner))
            .collect();
        Ok(Plan {
            files: changes,
            ids,
            meaningful,
        })
    }
}

/// The stored owner of each id, in order.
fn owners_of(
    conn: &Connection,
    ids: &BTreeSet<String>,
) -> Result<Vec<Option<DocumentOwner>>, Error> {
    ids.iter()
        .map(|id| read::document_owner(conn, id))
        .collect()
}

/// `old` with a new stat and racy flag (same bytes).
fn confirmed(old: &FileRecord, stat: Stat, racy: bool) -> FileRecord {
    FileRecord {
        size: stat.size,
        mtime_ns: stat.mtime_ns,
        racy,
        ..old.clone()
    }
}

/// What the observation `o` of `rel` changes (`None`: nothing, a confirmation of a file
/// without a record). Claims the id of a file that parses, and notes what it affects.
fn file_change<'o>(
    rel: &'o str,
    o: &'o Observed,
    old: Option<FileRecord>,
    claims: &mut Claims,
    affected: &mut BTreeSet<String>,
    fresh: &mut HashMap<&'o str, Fresh<'o>>,
) -> Option<FileChange<'o>> {
    Some(match o {
        Observed::Gone => FileChange::Removed,
        Observed::Same { stat, racy } => {
            let rec = FileRecord {
                size: stat.size,
                mtime_ns: stat.mtime_ns,
                racy: *racy,
                ..old?
            };
            if let Some(id) = &rec.doc_id {
                claims.claim(id, rel);
            }
            FileChange::Confirmed(rec)
        }
        Observed::Parsed {
            stat,
            hash,
            racy,
            result,
            prepared,
            json,
        } => {
            let rec = FileRecord {
                path: rel.to_owned(),
                size: stat.size,
                mtime_ns: stat.mtime_ns,
                content_hash: hash.0.clone(),
                doc_id: result.as_ref().as_ref().ok().map(|d| d.id.0.clone()),
                racy: *racy,
            };
            match result.as_ref() {
                Ok(doc) => {
                    claims.claim(doc.id.as_str(), rel);
                    affected.insert(doc.id.0.clone());
                    fresh.insert(rel, (doc, json.as_deref(), prepared.as_ref()));
                    FileChange::Parsed(rec)
                }
                Err(pe) => FileChange::Broken(rec, pe),
            }
        }
        Observed::Unreadable { stat, error } => {
            let stat = stat.unwrap_or(Stat {
                size: 0,
                mtime_ns: 0,
            });
            FileChange::Unreadable(
                FileRecord {
                    path: rel.to_owned(),
                    size: stat.size,
                    mtime_ns: stat.mtime_ns,
                    content_hash: String::new(),
                    doc_id: None,
                    racy: true,
                },
                error,
            )
        }
    })
}

/// Decides how the document `id` is settled after the batch's claims: which file
/// provides it (the first claimant), or that it stays stale, goes, or is unchanged.
fn settle_id<'o>(
    lib: &Library,
    opts: &ParseOptions,
    files: &HashMap<String, FileRecord>,
    claims: &Claims,
    fresh: &HashMap<&'o str, Fresh<'o>>,
    id: String,
    owner: Option<DocumentOwner>,
) -> IdPlan<'o> {
    let Some(winner) = claims.winner(&id) else {
        // Nobody parses to this id any more.
        let settle = match owner {
            Some(o) if files.get(&o.path).is_some_and(|f| f.doc_id.is_none()) => {
                // Its file is still there but broken: keep the last good version.
                Settle::KeepStale {
                    path: o.path,
                    mark: !o.stale,
                }
            }
            Some(_) => Settle::Remove,
            None => Settle::Unchanged,
        };
        return IdPlan {
            id,
            duplicates: None,
            settle,
        };
    };
    let losers: Vec<String> = claims.losers(&id).map(str::to_owned).collect();
    let duplicates = (!losers.is_empty()).then(|| (winner.to_owned(), losers));
    let rec = files.get(winner);
    let up_to_date = match (&owner, rec) {
        (Some(o), Some(rec)) => o.path == winner && !o.stale && o.content_hash == rec.content_hash,
        _ => false,
    };
    let settle = if up_to_date {
        Settle::Unchanged
    } else {
        provide(lib, opts, rec, fresh, winner, &id)
    };
    IdPlan {
        id,
        duplicates,
        settle,
    }
}

/// The winner's document: from the batch, or — a file that lost before now wins (the
/// winner went away) — read again, before the transaction.
fn provide<'o>(
    lib: &Library,
    opts: &ParseOptions,
    rec: Option<&FileRecord>,
    fresh: &HashMap<&'o str, Fresh<'o>>,
    winner: &str,
    id: &str,
) -> Settle<'o> {
    let (mtime_ms, size) = rec.map_or((0, 0), |r| (r.mtime_ns / 1_000_000, r.size));
    if let Some((doc, json, tokens)) = fresh.get(winner) {
        return Settle::Provide {
            winner: winner.to_owned(),
            doc: Box::new(Cow::Borrowed(*doc)),
            json: json.map(Cow::Borrowed),
            tokens: tokens.cloned(),
            mtime_ms,
            size,
        };
    }
    match observe(lib, winner, None, opts) {
        Observed::Parsed {
            result,
            hash,
            prepared,
            json,
            ..
        } if rec.is_some_and(|r| r.content_hash == hash.0) => match *result {
            Ok(doc) if doc.id.as_str() == id => Settle::Provide {
                winner: winner.to_owned(),
                doc: Box::new(Cow::Owned(doc)),
                json: json.map(Cow::Owned),
                tokens: prepared,
                mtime_ms,
                size,
            },
            _ => Settle::Unchanged,
        },
        // It changed since it was recorded; its own event will settle it.
        _ => Settle::Unchanged,
    }
}

/// Step 2 (see the module docs): writes the plan. Returns the ids removed and the
/// documents upserted, for the search index. `errors_empty`: see `Engine::no_errors`
/// (an error row cannot exist to clear while it holds).
fn write_plan<'p>(
    w: &Writer<'_>,
    plan: &'p Plan<'_>,
    errors_empty: &mut bool,
    report: &mut BatchReport,
) -> Result<(Vec<String>, Vec<Upsert<'p>>), Error> {
    for (rel, change) in &plan.files {
        match change {
            FileChange::Removed => write_removed(w, rel, *errors_empty)?,
            FileChange::Confirmed(rec) => w.upsert_file(rec)?,
            FileChange::Parsed(rec) => write_parsed(w, rec, *errors_empty)?,
            FileChange::Broken(rec, error) => {
                write_broken(w, rec, error)?;
                report.errors_set += 1;
                *errors_empty = false;
            }
            FileChange::Unreadable(rec, error) => {
                write_unreadable(w, rec, error)?;
                report.errors_set += 1;
                *errors_empty = false;
            }
        }
    }
    let mut removed: Vec<String> = Vec::new();
    let mut upserted: Vec<Upsert<'p>> = Vec::new();
    for p in &plan.ids {
        if let Some((winner, losers)) = &p.duplicates {
            write_duplicates(w, &p.id, winner, losers)?;
            *errors_empty = false;
        }
        match &p.settle {
            Settle::Provide {
                winner,
                doc,
                json,
                tokens,
                mtime_ms,
                size,
            } => {
                if !*errors_empty {
                    w.clear_error(winner)?;
                }
                match json {
                    Some(json) => w.upsert_document_json(doc, json, *mtime_ms, *size)?,
                    None => w.upsert_document(doc, *mtime_ms, *size)?,
                }
                upserted.push((Cow::Borrowed(doc.as_ref().as_ref()), tokens.clone()));
            }
            Settle::KeepStale { path, mark } => {
                write_kept_stale(w, &p.id, path, *mark)?;
                report.stale += 1;
            }
            Settle::Remove => {
                w.delete_document(&p.id)?;
                removed.push(p.id.clone());
            }
            Settle::Unchanged => {}
        }
    }
    report.upserted = upserted.len();
    report.removed = removed.len();
    if plan.meaningful || !upserted.is_empty() || !removed.is_empty() {
        report.generation = w.bump_generation()?;
        w.touch_last_sync()?;
    }
    Ok((removed, upserted))
}

/// A file that went: its record and its error.
fn write_removed(w: &Writer<'_>, rel: &str, errors_empty: bool) -> Result<(), Error> {
    w.delete_file(rel)?;
    if !errors_empty {
        w.clear_error(rel)?;
    }
    Ok(())
}

/// A file with new bytes that parse: its record; its error, if any, is cleared.
fn write_parsed(w: &Writer<'_>, rec: &FileRecord, errors_empty: bool) -> Result<(), Error> {
    w.upsert_file(rec)?;
    if !errors_empty {
        w.clear_error(&rec.path)?;
    }
    Ok(())
}

/// A file with new bytes that do not parse: its record and a `parse` error.
fn write_broken(w: &Writer<'_>, rec: &FileRecord, e: &ParseError) -> Result<(), Error> {
    tracing::warn!(path = %rec.path, line = ?e.line, column = ?e.column, "parse error: {}", e.message);
    w.upsert_file(rec)?;
    w.set_error(&SyncErrorRecord {
        path: rec.path.clone(),
        kind: ErrorKind::Parse,
        line: e.line,
        column: e.column,
        message: e.message.clone(),
        doc_id: None,
        first_seen: String::new(),
        last_seen: String::new(),
    })
}

/// A file that could not be read after retries: its (racy) record and an `io` error.
fn write_unreadable(w: &Writer<'_>, rec: &FileRecord, error: &str) -> Result<(), Error> {
    tracing::warn!(path = %rec.path, %error, "cannot read file");
    w.upsert_file(rec)?;
    w.set_error(&SyncErrorRecord {
        path: rec.path.clone(),
        kind: ErrorKind::Io,
        line: None,
        column: None,
        message: error.to_owned(),
        doc_id: None,
        first_seen: String::new(),
        last_seen: String::new(),
    })
}

/// One `duplicate_id` error per loser, naming the winner (core's wording).
fn write_duplicates(
    w: &Writer<'_>,
    id: &str,
    winner: &str,
    losers: &[String],
) -> Result<(), Error> {
    for loser in losers {
        w.set_error(&SyncErrorRecord {
            path: loser.clone(),
            kind: ErrorKind::DuplicateId,
            line: None,
            column: None,
            message: duplicate_message(id, winner),
            doc_id: Some(id.to_owned()),
            first_seen: String::new(),
            last_seen: String::new(),
        })?;
    }
    Ok(())
}

/// The last good version of a broken file's document stays, marked stale; the file's
/// error names it.
fn write_kept_stale(w: &Writer<'_>, id: &str, path: &str, mark: bool) -> Result<(), Error> {
    if mark {
        w.set_document_stale(id, true)?;
    }
    w.set_error_doc_id(path, id)
}
