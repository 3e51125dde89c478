//! Prompt versions from git history (issue #15), read with `gix` (pure Rust: the product
//! never spawns `git`).
//!
//! [`extract`] walks every commit reachable from HEAD once, oldest first (topological,
//! ties by committer time), and diffs each commit's library tree against its parents',
//! entering only what the library rules (`core::library`) enter: `personas/` and
//! `prompts/` under the library root, no hidden folders. A commit changes a path when
//! the path's blob differs from its (first and only) parent's; a merge changes a path
//! only when the merged blob differs from every parent's (a conflict resolution or an
//! "evil" merge), so a merged branch's commits are the versions, not the merge.
//!
//! Renames: within one commit, a deleted file and an added file with the same blob are a
//! move; of the remaining ones, a deleted and an added file with the same file name (and
//! only one candidate each way) are a move with edits (a folder moved). A moved file keeps
//! its history. A file deleted and later added again without a move starts a new history.
//!
//! A shallow clone yields the versions it has and says so ([`RepoInfo::shallow`]); a
//! missing parent object is treated as a shallow boundary with a warning. A label whose
//! ref is missing, or whose commit is not in HEAD's history, is broken (an error on that
//! label), never HEAD.

#[cfg(test)]
mod tests;

use gix::prelude::FindExt;
use gix::ObjectId;
use promptshelf_core::library;
use promptshelf_core::model::ContentHash;
use promptshelf_core::parse::{self, ParseOptions};
use promptshelf_core::versions::{self, Pins, Version, VersionInfo};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Why the history could not be read at all (per-label and per-file problems are not
/// errors: they are in [`History`]).
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The repository could not be opened or an object read failed.
    #[error("git: {0}")]
    Git(String),
}

fn git(e: impl std::fmt::Display) -> HistoryError {
    HistoryError::Git(e.to_string())
}

/// What the repository looked like when the history was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RepoInfo {
    /// False when the library is not inside a git work tree: one version per document.
    pub git: bool,
    /// HEAD's commit (hex), `None` outside git or on an unborn branch.
    pub head: Option<String>,
    /// HEAD's branch (`refs/heads/main`), `None` when detached.
    pub branch: Option<String>,
    /// HEAD points at a commit directly (a checked-out tag or commit).
    pub detached: bool,
    /// A shallow clone: the oldest versions are missing.
    pub shallow: bool,
    /// How many commits were walked.
    pub commits: usize,
    /// How the last read went (`full: first read`, `incremental: 1 commit`,
    /// `unchanged`; see [`Walk`]), for `/admin/status` and the tests of `watch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk: Option<String>,
}

/// A configured label as resolved against the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelState {
    /// The ref's commit (hex); the versions it contains are `reachable`.
    Ok {
        /// The ref, as configured.
        reference: String,
        /// Its commit.
        commit: String,
        /// The commits (hex) it contains, among those walked from HEAD.
        reachable: HashSet<String>,
    },
    /// Why the label names nothing (missing ref, not in HEAD's history...).
    Broken(String),
}

/// One document's history.
#[derive(Debug, Clone)]
pub struct DocHistory {
    /// The file's path at HEAD.
    pub path: String,
    /// Oldest first, numbered 1..N.
    pub versions: Vec<Version>,
}

/// The whole library's history at HEAD.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// HEAD, branch, shallow...
    pub repo: RepoInfo,
    /// Document id (at HEAD) → its history. Only documents present at HEAD.
    pub documents: BTreeMap<String, DocHistory>,
    /// Content hash → the file's bytes, each distinct content once.
    pub contents: HashMap<String, Vec<u8>>,
    /// Configured label → its state.
    pub labels: BTreeMap<String, LabelState>,
    /// The pin file at HEAD (empty when absent).
    pub pins: Pins,
    /// Problems worth showing (pin file unreadable, missing parents...).
    pub warnings: Vec<String>,
}

impl History {
    /// The version `label` names for document `id` (see `core::versions::resolve_label`).
    pub fn resolve(&self, id: &str, label: &str) -> Result<u32, versions::LabelError> {
        let infos: Vec<VersionInfo> = self
            .documents
            .get(id)
            .map(|d| d.versions.iter().map(|v| v.info.clone()).collect())
            .unwrap_or_default();
        let configured: BTreeMap<String, Result<&dyn versions::LabelCommits, String>> = self
            .labels
            .iter()
            .map(|(l, s)| {
                let r = match s {
                    LabelState::Ok { reachable, .. } => {
                        Ok(reachable as &dyn versions::LabelCommits)
                    }
                    LabelState::Broken(m) => Err(m.clone()),
                };
                (l.clone(), r)
            })
            .collect();
        versions::resolve_label(id, &infos, label, &self.pins, &configured)
    }
}

/// One walked commit.
struct CommitNode {
    id: ObjectId,
    tree: ObjectId,
    parents: Vec<ObjectId>,
    author: String,
    time: i64,
    summary: String,
}

/// A change of one path in one commit (`None` = absent).
#[derive(Clone, Copy)]
struct Change {
    order: usize,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
}

/// Reads the history of the library at `root` (a folder inside a git work tree, or not).
/// `labels` is the `[labels]` table: label name → ref (`refs/tags/prompts-prod`).
pub fn extract(
    root: &Path,
    labels: &BTreeMap<String, String>,
    opts: &ParseOptions,
) -> Result<History, HistoryError> {
    let mut t = Tracker::new(root, labels, opts, true);
    t.update()?;
    Ok(t.history)
}

/// How [`Tracker::update`] read the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Walk {
    /// HEAD had not moved: no commit was read (labels and the pin file were re-resolved).
    Unchanged,
    /// Only the commits between the last seen HEAD and the new one were read.
    Incremental {
        /// Commits read and diffed.
        commits: usize,
    },
    /// The whole history was read again.
    Full {
        /// Why (first read, force-push, reset...), for the log.
        reason: String,
    },
}

impl std::fmt::Display for Walk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Walk::Unchanged => f.write_str("unchanged"),
            Walk::Incremental { commits } => write!(f, "incremental: {commits} commit(s)"),
            Walk::Full { reason } => write!(f, "full: {reason}"),
        }
    }
}

/// What one [`Tracker::update`] did, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// How the commits were read.
    pub walk: Walk,
    /// Documents whose history was rebuilt (an incremental update rebuilds only the
    /// documents the new commits touched).
    pub documents: usize,
}

/// Keeps a library's history current as HEAD moves (`watch`): the first [`update`]
/// reads every commit; later ones read only the commits from the last seen HEAD to the
/// new one, and rebuild only the documents those commits touched. When the last seen
/// HEAD is not an ancestor of the new one (a force-push, a reset, a rebase), the whole
/// history is read again and [`Walk::Full`] says why.
///
/// [`update`]: Tracker::update
pub struct Tracker {
    root: PathBuf,
    labels: BTreeMap<String, String>,
    opts: ParseOptions,
    keep_documents: bool,
    graph: Option<Graph>,
    history: History,
}

/// A path's change in one commit: `(path, old blob, new blob)`, `None` = absent.
type PathChange = (String, Option<ObjectId>, Option<ObjectId>);

/// Everything a later [`Tracker::update`] reuses: the commits read so far and their
/// library changes (which do not depend on the order), the order, the per-path changes
/// by rank, and the parse of every (path, blob) seen.
struct Graph {
    prefix: String,
    head: ObjectId,
    shallow: HashSet<ObjectId>,
    nodes: Vec<CommitNode>,
    index: HashMap<ObjectId, usize>,
    /// Per node (same index as `nodes`): its library changes and its moves.
    changes: Vec<Vec<PathChange>>,
    moves: Vec<Vec<(String, String)>>,
    /// Node indices, parents first; a node's rank is its position here.
    order: Vec<usize>,
    /// Path → its changes, by rank.
    events: HashMap<String, Vec<Change>>,
    /// (rank, new path) → old path of a move.
    renames: HashMap<(usize, String), String>,
    root_trees: HashMap<ObjectId, Option<ObjectId>>,
    head_root: Option<ObjectId>,
    /// Every library file at HEAD: path → (blob, document id).
    files: BTreeMap<String, (ObjectId, String)>,
    /// Document id → the HEAD paths with that id (the first in byte order wins).
    ids: HashMap<String, BTreeSet<String>>,
    /// (path, blob) → its version (numbers and commit not set) and document id.
    parsed: HashMap<(String, ObjectId), (Version, Option<String>)>,
    missing_parents: usize,
}

impl Graph {
    fn new(prefix: String, shallow: HashSet<ObjectId>, head: ObjectId) -> Graph {
        Graph {
            prefix,
            head,
            shallow,
            nodes: Vec::new(),
            index: HashMap::new(),
            changes: Vec::new(),
            moves: Vec::new(),
            order: Vec::new(),
            events: HashMap::new(),
            renames: HashMap::new(),
            root_trees: HashMap::new(),
            head_root: None,
            files: BTreeMap::new(),
            ids: HashMap::new(),
            parsed: HashMap::new(),
            missing_parents: 0,
        }
    }

    fn add_events(&mut self, rank: usize, node: usize) {
        for (from, to) in &self.moves[node] {
            self.renames.insert((rank, to.clone()), from.clone());
        }
        for (path, old, new) in &self.changes[node] {
            self.events.entry(path.clone()).or_default().push(Change {
                order: rank,
                old: *old,
                new: *new,
            });
        }
    }
}

fn short(id: ObjectId) -> String {
    id.to_hex_with_len(12).to_string()
}

impl Tracker {
    /// A tracker that has read nothing yet. `keep_documents`: keep each version's parsed
    /// document in [`History`] (the CLI shows them); `watch` only stores the versions'
    /// metadata and contents, so it drops them (each version's `document` is then
    /// `None`, its `error` still says whether it parsed).
    pub fn new(
        root: &Path,
        labels: &BTreeMap<String, String>,
        opts: &ParseOptions,
        keep_documents: bool,
    ) -> Tracker {
        Tracker {
            root: root.to_path_buf(),
            labels: labels.clone(),
            opts: opts.clone(),
            keep_documents,
            graph: None,
            history: History::default(),
        }
    }

    /// The history as of the last [`Tracker::update`].
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Brings the history up to the repository's current HEAD and label refs.
    pub fn update(&mut self) -> Result<Update, HistoryError> {
        let Some((repo, prefix)) = open(&self.root)? else {
            self.graph = None;
            self.history = History::default();
            return Ok(Update {
                walk: Walk::Full {
                    reason: "not in a git work tree".into(),
                },
                documents: 0,
            });
        };
        let mut info = RepoInfo {
            git: true,
            ..RepoInfo::default()
        };
        let head_id = {
            let head = repo.head().map_err(git)?;
            info.detached = head.is_detached();
            info.branch = head.referent_name().map(|n| n.as_bstr().to_string());
            head.id().map(|id| id.detach())
        };
        let Some(head_id) = head_id else {
            // Unborn branch: nothing committed yet, every document is a draft.
            self.graph = None;
            let mut h = History {
                repo: info,
                ..History::default()
            };
            for (label, r) in &self.labels {
                h.labels.insert(
                    label.clone(),
                    LabelState::Broken(format!(
                        "HEAD has no commit yet, so `{r}` cannot be resolved"
                    )),
                );
            }
            self.history = h;
            return Ok(Update {
                walk: Walk::Full {
                    reason: "HEAD has no commit yet".into(),
                },
                documents: 0,
            });
        };
        info.head = Some(head_id.to_string());
        let shallow: HashSet<ObjectId> = match repo.shallow_commits().map_err(git)? {
            Some(list) => list.iter().copied().collect(),
            None => HashSet::new(),
        };

        // 1. Which commits to read: the new ones, or all of them.
        let mut reason = match &self.graph {
            None => Some("first read".to_owned()),
            Some(g) if g.prefix != prefix => {
                Some("the library moved inside the work tree".to_owned())
            }
            Some(g) if g.shallow != shallow => {
                Some("the shallow boundary changed (a fetch deepened the clone)".to_owned())
            }
            Some(_) => None,
        };
        let mut new_nodes = Vec::new();
        let mut missing = 0;
        if let (None, Some(g)) = (&reason, &self.graph) {
            if g.head != head_id {
                if g.index.contains_key(&head_id) {
                    reason = Some(format!(
                        "HEAD moved back from {} to an older commit {} (a reset or rewritten history)",
                        short(g.head),
                        short(head_id)
                    ));
                } else {
                    let walked = walk_commits(&repo, head_id, &g.index, &shallow, Some(g.head))?;
                    if walked.reached_stop {
                        new_nodes = walked.nodes;
                        missing = walked.missing;
                    } else {
                        reason = Some(format!(
                            "the last seen HEAD {} is not an ancestor of the new HEAD {} (a force-push or rewritten history)",
                            short(g.head),
                            short(head_id)
                        ));
                    }
                }
            }
        }
        let walk = match reason {
            Some(reason) => {
                let walked = walk_commits(&repo, head_id, &HashMap::new(), &shallow, None)?;
                self.graph = Some(Graph::new(prefix, shallow, head_id));
                let labels = std::mem::take(&mut self.history.labels);
                self.history = History {
                    labels,
                    ..History::default()
                };
                new_nodes = walked.nodes;
                missing = walked.missing;
                Walk::Full { reason }
            }
            None if new_nodes.is_empty() => Walk::Unchanged,
            None => Walk::Incremental {
                commits: new_nodes.len(),
            },
        };
        let full = matches!(walk, Walk::Full { .. });
        let Some(g) = self.graph.as_mut() else {
            return Err(HistoryError::Git("history state lost".into()));
        };

        // 2. Add the new commits and diff each against its parents.
        let first_new = g.nodes.len();
        for n in new_nodes {
            g.index.insert(n.id, g.nodes.len());
            g.nodes.push(n);
        }
        for i in first_new..g.nodes.len() {
            let mut parents = std::mem::take(&mut g.nodes[i].parents);
            // Parents that were not found are dropped, so the order only sees read ones.
            parents.retain(|p| g.index.contains_key(p));
            g.nodes[i].parents = parents;
        }
        g.missing_parents += missing;
        for i in first_new..g.nodes.len() {
            let (changes, moves) = commit_changes(&repo, g, i)?;
            g.changes.push(changes);
            g.moves.push(moves);
        }

        // 3. The order. New commits usually come after every known one; when they do not
        // (a merged branch older than the newest known commits), every rank is redone
        // and every document rebuilt, still without reading the old commits again.
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut all_paths = full;
        if g.nodes.len() > first_new {
            let order = topo_order(&g.nodes);
            let kept = order[..g.order.len()] == g.order[..];
            if kept && !full {
                for (r, &i) in order.iter().enumerate().skip(first_new) {
                    touched.extend(g.changes[i].iter().map(|c| c.0.clone()));
                    g.add_events(r, i);
                }
            } else {
                all_paths = true;
                g.events.clear();
                g.renames.clear();
                for (r, &i) in order.iter().enumerate() {
                    g.add_events(r, i);
                }
            }
            g.order = order;
        }

        // 4. The files at HEAD that changed, and the documents to rebuild.
        let head_tree = g.nodes[g.index[&head_id]].tree;
        let head_root = library_tree(&repo, head_tree, &g.prefix, &mut g.root_trees)?;
        let mut head_changes = Vec::new();
        let old_root = if full { None } else { g.head_root };
        diff_trees(&repo, old_root, head_root, "", &mut head_changes)?;
        g.head_root = head_root;
        g.head = head_id;
        if all_paths {
            touched.extend(g.files.keys().cloned());
        }
        let head_blobs: HashMap<String, Option<ObjectId>> = head_changes
            .into_iter()
            .map(|(path, _, new)| (path, new))
            .collect();
        touched.extend(head_blobs.keys().cloned());
        let mut affected: BTreeSet<String> = BTreeSet::new();
        let mut fresh: HashMap<String, Vec<Version>> = HashMap::new();
        let mut buf = Vec::new();
        for path in touched {
            let Some(g) = self.graph.as_mut() else {
                unreachable!("set above")
            };
            let blob = match head_blobs.get(&path) {
                Some(b) => *b,
                None => g.files.get(&path).map(|f| f.0),
            };
            if let Some((_, id)) = g.files.remove(&path) {
                if let Some(set) = g.ids.get_mut(&id) {
                    set.remove(&path);
                }
                affected.insert(id);
            }
            let Some(blob) = blob else { continue };
            let (versions, id) = self.history_of(&repo, &path, blob, &mut buf)?;
            let Some(g) = self.graph.as_mut() else {
                unreachable!("set above")
            };
            g.files.insert(path.clone(), (blob, id.clone()));
            g.ids.entry(id.clone()).or_default().insert(path.clone());
            affected.insert(id);
            fresh.insert(path, versions);
        }
        for id in &affected {
            let winner = self
                .graph
                .as_ref()
                .and_then(|g| g.ids.get(id))
                .and_then(|s| s.first())
                .cloned();
            match winner {
                Some(path) => {
                    let versions = match fresh.remove(&path) {
                        Some(v) => v,
                        None => {
                            let blob = self.graph.as_ref().map(|g| g.files[&path].0);
                            match blob {
                                Some(b) => self.history_of(&repo, &path, b, &mut buf)?.0,
                                None => Vec::new(),
                            }
                        }
                    };
                    self.history
                        .documents
                        .insert(id.clone(), DocHistory { path, versions });
                }
                None => {
                    self.history.documents.remove(id);
                }
            }
        }
        let Some(g) = self.graph.as_mut() else {
            unreachable!("set above")
        };
        g.ids.retain(|_, s| !s.is_empty());

        // 5. Pins, labels, repository state.
        let mut warnings = Vec::new();
        if g.missing_parents > 0 {
            warnings.push(format!(
                "{} parent commit(s) are not in the repository (a shallow or partial clone): older versions are missing",
                g.missing_parents
            ));
        }
        self.history.pins = read_pins(&repo, g.head_root, &mut warnings);
        self.history.warnings = warnings;
        let mut labels = BTreeMap::new();
        for (label, reference) in &self.labels {
            let state = match ref_commit(&repo, reference) {
                Err(m) => LabelState::Broken(m),
                Ok(id) => {
                    let hex = id.to_string();
                    match self.history.labels.remove(label) {
                        // Same commit, same or grown graph: what it contains is the same.
                        Some(LabelState::Ok {
                            reference: r,
                            commit,
                            reachable,
                        }) if !full && commit == hex && r == *reference => LabelState::Ok {
                            reference: r,
                            commit,
                            reachable,
                        },
                        _ => reachable_from(reference, id, &g.nodes, &g.index),
                    }
                }
            };
            labels.insert(label.clone(), state);
        }
        self.history.labels = labels;
        info.shallow = !g.shallow.is_empty() || g.missing_parents > 0;
        info.commits = g.nodes.len();
        info.walk = Some(walk.to_string());
        self.history.repo = info;
        Ok(Update {
            walk,
            documents: affected.len(),
        })
    }

    /// The versions of the HEAD file `path` (blob `blob`), following its moves back, and
    /// the document's id (its newest version's, else derived from the path).
    fn history_of(
        &mut self,
        repo: &gix::Repository,
        path: &str,
        blob: ObjectId,
        buf: &mut Vec<u8>,
    ) -> Result<(Vec<Version>, String), HistoryError> {
        let Some(g) = self.graph.as_mut() else {
            return Ok((Vec::new(), parse::derived_id(path)));
        };
        let mut chain: Vec<(usize, String, ObjectId)> = Vec::new();
        let mut at = path.to_owned();
        let mut bound = usize::MAX;
        'follow: while let Some(evs) = g.events.get(&at) {
            for ev in evs.iter().rev().filter(|e| e.order <= bound) {
                match ev.new {
                    Some(b) => chain.push((ev.order, at.clone(), b)),
                    None => break 'follow,
                }
                if ev.old.is_none() {
                    match g.renames.get(&(ev.order, at.clone())) {
                        Some(from) if ev.order > 0 => {
                            bound = ev.order - 1;
                            at = from.clone();
                            continue 'follow;
                        }
                        _ => break 'follow,
                    }
                }
            }
            break;
        }
        if chain.is_empty() {
            // Outside any read commit's changes (cannot happen for a file in HEAD's
            // tree unless the walk was cut short): its HEAD content as one version.
            chain.push((g.order.len().saturating_sub(1), path.to_owned(), blob));
        }
        chain.reverse();
        let mut out = Vec::with_capacity(chain.len());
        let mut id = None;
        for (n, (r, at, b)) in chain.into_iter().enumerate() {
            let key = (at, b);
            let mut v = match g.parsed.get(&key) {
                Some((hit, doc_id)) => {
                    id = doc_id.clone();
                    hit.clone()
                }
                None => {
                    let bytes = repo.objects.find_blob(&b, buf).map_err(git)?.data.to_vec();
                    let hash = ContentHash::of(&bytes);
                    let (document, error) = match parse::parse_document(&key.0, &bytes, &self.opts)
                    {
                        Ok(d) => (Some(d), None),
                        Err(e) => (None, Some(e)),
                    };
                    let v = Version {
                        info: VersionInfo {
                            number: 0,
                            commit: None,
                            author: None,
                            time: None,
                            summary: None,
                            path: key.0.clone(),
                            hash: hash.clone(),
                            draft: false,
                            error,
                        },
                        document,
                    };
                    id = v.document.as_ref().map(|d| d.id.0.clone());
                    let mut v = v;
                    if !self.keep_documents {
                        v.document = None;
                    }
                    self.history.contents.entry(hash.0).or_insert(bytes);
                    g.parsed.insert(key, (v.clone(), id.clone()));
                    v
                }
            };
            let node = &g.nodes[g.order[r.min(g.order.len() - 1)]];
            v.info.number = n as u32 + 1;
            v.info.commit = Some(node.id.to_string());
            v.info.author = Some(node.author.clone());
            v.info.time = Some(node.time);
            v.info.summary = Some(node.summary.clone());
            out.push(v);
        }
        Ok((out, id.unwrap_or_else(|| parse::derived_id(path))))
    }
}

/// Commits read by [`walk_commits`].
struct Walked {
    /// Commits not in `known`, in no particular order.
    nodes: Vec<CommitNode>,
    /// Whether the walk met the `stop` commit (it is an ancestor of the start).
    reached_stop: bool,
    /// Parents that are not in the object database (a shallow or partial clone).
    missing: usize,
}

/// Reads every commit reachable from `start` that is not in `known` (the walk does not
/// go past a known commit).
fn walk_commits(
    repo: &gix::Repository,
    start: ObjectId,
    known: &HashMap<ObjectId, usize>,
    shallow: &HashSet<ObjectId>,
    stop: Option<ObjectId>,
) -> Result<Walked, HistoryError> {
    let mut out = Walked {
        nodes: Vec::new(),
        reached_stop: false,
        missing: 0,
    };
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut stack = vec![start];
    let mut buf = Vec::new();
    while let Some(id) = stack.pop() {
        if known.contains_key(&id) {
            out.reached_stop |= Some(id) == stop;
            continue;
        }
        if !seen.insert(id) {
            continue;
        }
        let commit = match repo.objects.find_commit(&id, &mut buf) {
            Ok(c) => c,
            Err(e) if id == start => return Err(git(e)),
            Err(_) => {
                // A parent that is not in the object database: a shallow or partial clone.
                out.missing += 1;
                continue;
            }
        };
        let parents: Vec<ObjectId> = if shallow.contains(&id) {
            Vec::new()
        } else {
            commit.parents().collect()
        };
        let author = commit
            .author()
            .map(|a| a.name.to_string())
            .unwrap_or_default();
        let time = commit.committer().map(|c| c.seconds()).unwrap_or(0);
        let summary = commit.message().summary().to_string();
        stack.extend(parents.iter().filter(|p| !seen.contains(*p)).copied());
        out.nodes.push(CommitNode {
            id,
            tree: commit.tree(),
            parents,
            author,
            time,
            summary,
        });
    }
    Ok(out)
}

/// Node `i`'s library changes against its parents, and the moves among them. A commit
/// changes a path when the path's blob differs from its (first and only) parent's; a
/// merge, only where the merged blob differs from every parent's.
#[allow(clippy::type_complexity)]
fn commit_changes(
    repo: &gix::Repository,
    g: &mut Graph,
    i: usize,
) -> Result<(Vec<PathChange>, Vec<(String, String)>), HistoryError> {
    let new_root = library_tree(repo, g.nodes[i].tree, &g.prefix, &mut g.root_trees)?;
    let changes = if g.nodes[i].parents.is_empty() {
        let mut out = Vec::new();
        diff_trees(repo, None, new_root, "", &mut out)?;
        out
    } else {
        let mut per_parent = Vec::new();
        for p in g.nodes[i].parents.clone() {
            let parent_tree = g.nodes[g.index[&p]].tree;
            let old_root = library_tree(repo, parent_tree, &g.prefix, &mut g.root_trees)?;
            let mut out = Vec::new();
            if old_root != new_root {
                diff_trees(repo, old_root, new_root, "", &mut out)?;
            }
            per_parent.push(out);
        }
        if per_parent.len() == 1 {
            per_parent.pop().unwrap_or_default()
        } else {
            // A merge changes only what differs from every parent.
            let mut first = per_parent.remove(0);
            first.retain(|(path, _, _)| {
                per_parent
                    .iter()
                    .all(|other| other.iter().any(|(p, _, _)| p == path))
            });
            first
        }
    };
    let moves = pair_renames(&changes);
    Ok((changes, moves))
}

/// Opens the repository holding `root`, and `root`'s path inside its work tree
/// (`/`-separated, empty or ending in `/`). `None` when `root` is not in a work tree.
fn open(root: &Path) -> Result<Option<(gix::Repository, String)>, HistoryError> {
    let Ok(mut repo) = gix::discover(root) else {
        return Ok(None);
    };
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        return Ok(None);
    };
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (root_c, work_c) = (canon(root), canon(&workdir));
    let Ok(rel) = root_c.strip_prefix(&work_c) else {
        return Ok(None);
    };
    let mut prefix = String::new();
    for part in rel.components() {
        prefix.push_str(&part.as_os_str().to_string_lossy());
        prefix.push('/');
    }
    repo.object_cache_size_if_unset(32 * 1024 * 1024);
    Ok(Some((repo, prefix)))
}

/// The git dir of the repository holding `root` (for `watch`), if any.
pub fn git_dir(root: &Path) -> Option<PathBuf> {
    open(root)
        .ok()
        .flatten()
        .map(|(r, _)| r.git_dir().to_path_buf())
}

/// Commits ordered parents first; among commits whose parents are all placed, the
/// oldest committer time first (then id, for a stable order).
fn topo_order(nodes: &[CommitNode]) -> Vec<usize> {
    let index: HashMap<ObjectId, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let mut pending: Vec<usize> = nodes.iter().map(|n| n.parents.len()).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for p in &n.parents {
            children[index[p]].push(i);
        }
    }
    let key = |i: usize| std::cmp::Reverse((nodes[i].time, nodes[i].id, i));
    let mut ready: BinaryHeap<_> = (0..nodes.len())
        .filter(|&i| pending[i] == 0)
        .map(key)
        .collect();
    let mut out = Vec::with_capacity(nodes.len());
    while let Some(std::cmp::Reverse((_, _, i))) = ready.pop() {
        out.push(i);
        for &c in &children[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(key(c));
            }
        }
    }
    out
}

/// The tree of the library root inside the commit tree `tree` (`None` when absent).
fn library_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    prefix: &str,
    cache: &mut HashMap<ObjectId, Option<ObjectId>>,
) -> Result<Option<ObjectId>, HistoryError> {
    if prefix.is_empty() {
        return Ok(Some(tree));
    }
    if let Some(hit) = cache.get(&tree) {
        return Ok(*hit);
    }
    let mut at = Some(tree);
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        let Some(t) = at else { break };
        at = entries(repo, t)?
            .into_iter()
            .find(|e| e.is_tree && e.name == part)
            .map(|e| e.id);
    }
    cache.insert(tree, at);
    Ok(at)
}

struct Entry {
    name: String,
    is_tree: bool,
    id: ObjectId,
}

fn entries(repo: &gix::Repository, tree: ObjectId) -> Result<Vec<Entry>, HistoryError> {
    let mut buf = Vec::new();
    let t = repo.objects.find_tree(&tree, &mut buf).map_err(git)?;
    Ok(t.entries
        .iter()
        .filter(|e| e.mode.is_tree() || e.mode.is_blob())
        .map(|e| Entry {
            name: e.filename.to_string(),
            is_tree: e.mode.is_tree(),
            id: e.oid.to_owned(),
        })
        .collect())
}

/// Appends `(path, old blob, new blob)` for every document path (library rules) whose
/// blob differs between the trees `old` and `new` (either may be absent), below the
/// library-relative folder `folder` (`""` for the root). Equal subtrees are skipped
/// without reading them.
fn diff_trees(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    folder: &str,
    out: &mut Vec<(String, Option<ObjectId>, Option<ObjectId>)>,
) -> Result<(), HistoryError> {
    if old == new {
        return Ok(());
    }
    let old_entries = match old {
        Some(t) => entries(repo, t)?,
        None => Vec::new(),
    };
    let new_entries = match new {
        Some(t) => entries(repo, t)?,
        None => Vec::new(),
    };
    let mut names: BTreeMap<&str, (Option<&Entry>, Option<&Entry>)> = BTreeMap::new();
    for e in &old_entries {
        names.entry(&e.name).or_default().0 = Some(e);
    }
    for e in &new_entries {
        names.entry(&e.name).or_default().1 = Some(e);
    }
    for (name, (o, n)) in names {
        let path = if folder.is_empty() {
            name.to_owned()
        } else {
            format!("{folder}/{name}")
        };
        let tree_of = |e: Option<&Entry>| e.filter(|e| e.is_tree).map(|e| e.id);
        let blob_of = |e: Option<&Entry>| e.filter(|e| !e.is_tree).map(|e| e.id);
        let (ot, nt) = (tree_of(o), tree_of(n));
        if (ot.is_some() || nt.is_some()) && library::enter_folder(folder, name) {
            diff_trees(repo, ot, nt, &path, out)?;
        }
        let (ob, nb) = (blob_of(o), blob_of(n));
        if ob != nb && !folder.is_empty() && library::classify(&path).is_some() {
            out.push((path, ob, nb));
        }
    }
    Ok(())
}

/// Moves within one commit's changes: `(from, to)` pairs. Same blob first; then the same
/// file name with exactly one deleted and one added candidate.
fn pair_renames(changes: &[(String, Option<ObjectId>, Option<ObjectId>)]) -> Vec<(String, String)> {
    let deleted: Vec<&(String, Option<ObjectId>, Option<ObjectId>)> =
        changes.iter().filter(|c| c.2.is_none()).collect();
    let added: Vec<&(String, Option<ObjectId>, Option<ObjectId>)> =
        changes.iter().filter(|c| c.1.is_none()).collect();
    if deleted.is_empty() || added.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut used_from = HashSet::new();
    let mut used_to = HashSet::new();
    for a in &added {
        if let Some(d) = deleted
            .iter()
            .find(|d| d.1 == a.2 && !used_from.contains(&d.0))
        {
            used_from.insert(d.0.clone());
            used_to.insert(a.0.clone());
            out.push((d.0.clone(), a.0.clone()));
        }
    }
    let name = |p: &str| parse::file_name(p).to_owned();
    for a in added.iter().filter(|a| !used_to.contains(&a.0)) {
        let n = name(&a.0);
        let ds: Vec<_> = deleted
            .iter()
            .filter(|d| !used_from.contains(&d.0) && name(&d.0) == n)
            .collect();
        let others = added
            .iter()
            .filter(|b| !used_to.contains(&b.0) && name(&b.0) == n)
            .count();
        if ds.len() == 1 && others == 1 {
            used_from.insert(ds[0].0.clone());
            out.push((ds[0].0.clone(), a.0.clone()));
        }
    }
    out
}

/// The pin file in the library tree `root` (empty when absent; a warning when broken).
fn read_pins(repo: &gix::Repository, root: Option<ObjectId>, warnings: &mut Vec<String>) -> Pins {
    let Some(root) = root else { return Pins::new() };
    let find = |tree: ObjectId, name: &str, want_tree: bool| -> Option<ObjectId> {
        entries(repo, tree)
            .ok()?
            .into_iter()
            .find(|e| e.name == name && e.is_tree == want_tree)
            .map(|e| e.id)
    };
    let Some(dir) = find(root, ".promptshelf", true) else {
        return Pins::new();
    };
    let Some(blob) = find(dir, "labels.toml", false) else {
        return Pins::new();
    };
    let mut buf = Vec::new();
    let text = match repo.objects.find_blob(&blob, &mut buf) {
        Ok(b) => String::from_utf8_lossy(b.data).into_owned(),
        Err(e) => {
            warnings.push(format!("{}: {e}", versions::PIN_FILE));
            return Pins::new();
        }
    };
    versions::parse_pins(&text).unwrap_or_else(|e| {
        warnings.push(e.to_string());
        Pins::new()
    })
}

/// The commit a label's ref names, or why it names none.
fn ref_commit(repo: &gix::Repository, reference: &str) -> Result<ObjectId, String> {
    let mut r = match repo.try_find_reference(reference) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(format!("ref `{reference}` does not exist")),
        Err(e) => return Err(format!("ref `{reference}`: {e}")),
    };
    r.peel_to_commit()
        .map(|c| c.id)
        .map_err(|e| format!("ref `{reference}` does not name a commit: {e}"))
}

/// A label whose ref names commit `id`: the read commits it contains.
fn reachable_from(
    reference: &str,
    id: ObjectId,
    nodes: &[CommitNode],
    index: &HashMap<ObjectId, usize>,
) -> LabelState {
    let Some(&start) = index.get(&id) else {
        return LabelState::Broken(format!(
            "ref `{reference}` ({}) is not in the history of HEAD; merge it or check it out",
            short(id)
        ));
    };
    let mut reachable = HashSet::new();
    let mut stack = vec![start];
    while let Some(i) = stack.pop() {
        if reachable.insert(nodes[i].id.to_string()) {
            stack.extend(nodes[i].parents.iter().map(|p| index[p]));
        }
    }
    LabelState::Ok {
        reference: reference.to_owned(),
        commit: id.to_string(),
        reachable,
    }
}

/// Each configured label that names no version, and why (`check`): the library is not
/// in git, HEAD has no commit, the ref is missing or names no commit, or its commit is
/// not in HEAD's history. Reads commits only (no trees, no files), and walks HEAD's
/// history only until every label's commit has been met. Sorted by label.
pub fn label_problems(root: &Path, labels: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let all = |why: &str| -> Vec<(String, String)> {
        labels
            .keys()
            .map(|l| (l.clone(), format!("label `{l}`: {why}")))
            .collect()
    };
    if labels.is_empty() {
        return Vec::new();
    }
    let repo = match open(root) {
        Ok(Some((repo, _))) => repo,
        Ok(None) => {
            return all("the library is not in a git work tree, so its ref cannot be resolved")
        }
        Err(e) => return all(&e.to_string()),
    };
    let Some(head) = repo.head().ok().and_then(|h| h.id().map(|i| i.detach())) else {
        return all("HEAD has no commit yet, so its ref cannot be resolved");
    };
    let mut out = Vec::new();
    let mut wanted: HashMap<ObjectId, Vec<(&String, &String)>> = HashMap::new();
    for (label, reference) in labels {
        match ref_commit(&repo, reference) {
            Err(m) => out.push((label.clone(), format!("label `{label}`: {m}"))),
            Ok(id) => wanted.entry(id).or_default().push((label, reference)),
        }
    }
    let mut seen = HashSet::new();
    let mut stack = vec![head];
    let mut buf = Vec::new();
    while let Some(id) = stack.pop() {
        if wanted.is_empty() {
            break;
        }
        if !seen.insert(id) {
            continue;
        }
        wanted.remove(&id);
        if let Ok(c) = repo.objects.find_commit(&id, &mut buf) {
            stack.extend(c.parents());
        }
    }
    for (id, ls) in wanted {
        for (label, reference) in ls {
            out.push((
                label.clone(),
                format!(
                    "label `{label}`: ref `{reference}` ({}) is not in the history of HEAD; merge it or check it out",
                    short(id)
                ),
            ));
        }
    }
    out.sort();
    out
}

/// The `[labels]` table of `promptshelf.toml` (label → ref), from the config's extra
/// tables. Values that are not strings are reported and skipped.
pub fn configured_labels(extra: &toml::Table) -> (BTreeMap<String, String>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    if let Some(t) = extra.get("labels") {
        match t {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    match v {
                        toml::Value::String(r) if k != versions::LATEST => {
                            out.insert(k.clone(), r.clone());
                        }
                        _ => problems.push(format!(
                            "[labels] {k}: must be a git ref such as \"refs/tags/prompts-prod\" (and `latest` is built in)"
                        )),
                    }
                }
            }
            _ => problems.push("[labels] must be a table of label = \"git ref\"".into()),
        }
    }
    (out, problems)
}

/// What [`store_history`] wrote, for logs and `check`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// Repository state.
    pub repo: RepoInfo,
    /// Documents with a history.
    pub documents: usize,
    /// Versions stored (drafts included).
    pub versions: usize,
    /// Drafts (uncommitted content on top of HEAD, or files outside git).
    pub drafts: usize,
    /// Broken labels: label → why.
    pub label_errors: BTreeMap<String, String>,
    /// Other problems (pin file, config).
    pub warnings: Vec<String>,
    /// Documents whose versions were (re)written by this store (not kept in the meta).
    #[serde(skip)]
    pub written: usize,
}

/// Reads the history of the library at `root` and replaces the stored one in `db` with
/// it. A synced document whose content differs from its newest committed version (or
/// that has none: a new file, or a library outside git) gets a draft version on top.
pub fn store_history(
    root: &Path,
    db: &mut promptshelf_store::Database,
    labels: &BTreeMap<String, String>,
    opts: &ParseOptions,
) -> Result<Summary, HistoryError> {
    let mut t = Tracker::new(root, labels, opts, false);
    t.update()?;
    store(root, db, labels, &t.history)
}

/// Stores an extracted history (see [`store_history`]), replacing what is stored:
/// drafts are added for synced documents whose content differs from their newest
/// committed version.
pub fn store(
    root: &Path,
    db: &mut promptshelf_store::Database,
    labels: &BTreeMap<String, String>,
    history: &History,
) -> Result<Summary, HistoryError> {
    store_into(root, db, labels, history, &mut None)
}

/// What the last [`store_into`] wrote, so that the next one writes only the rows that
/// changed (`watch`: a commit touching 10 files rewrites 10 documents' versions, not
/// the library's).
#[derive(Debug, Default)]
pub struct Stored {
    docs: HashMap<String, Vec<VersionInfo>>,
    doc_labels: HashMap<(String, String), Result<u32, String>>,
    /// Content hash → how many stored versions name it (a content goes with its last).
    refs: HashMap<String, usize>,
    label_rows: Vec<promptshelf_store::versions::LabelRow>,
    pins: Pins,
    stamp: String,
}

/// Stores `history` (plus drafts, see [`store_history`]). With `state` `None` every
/// history row is replaced; with the state a previous call left, only the documents
/// whose versions changed are rewritten (and every document's labels when a label or
/// the pin file moved). `state` is left `None` when the write fails, so the next call
/// rewrites everything.
pub fn store_into(
    root: &Path,
    db: &mut promptshelf_store::Database,
    labels: &BTreeMap<String, String>,
    history: &History,
    state: &mut Option<Stored>,
) -> Result<Summary, HistoryError> {
    use promptshelf_store::versions::LabelRow;
    let previous = state.take();
    if !history.repo.git {
        // Outside git the read API answers with each current document as version 1;
        // nothing to store (and nothing left over from when the library was in git).
        let had = db
            .read(promptshelf_store::versions::has_history)
            .map_err(git)?;
        if had {
            db.write(|w| w.clear_history()).map_err(git)?;
        }
        return Ok(Summary {
            repo: history.repo.clone(),
            ..Summary::default()
        });
    }
    let full = previous.is_none();
    let mut st = previous.unwrap_or_default();
    let rows = db
        .read(promptshelf_store::versions::document_hashes)
        .map_err(git)?;
    let mut summary = Summary {
        repo: history.repo.clone(),
        warnings: history.warnings.clone(),
        ..Summary::default()
    };
    let synced: HashMap<&str, (&str, &str)> = rows
        .iter()
        .map(|(id, path, hash)| (id.as_str(), (path.as_str(), hash.as_str())))
        .collect();
    let mut ids: BTreeSet<&str> = history.documents.keys().map(String::as_str).collect();
    ids.extend(synced.keys());

    // 1. Each document's versions (and draft); keep the ones that differ from the store.
    let mut changed: Vec<(String, Vec<VersionInfo>)> = Vec::new();
    let mut draft_bytes: HashMap<String, Vec<u8>> = HashMap::new();
    for &id in &ids {
        let committed: &[Version] = history
            .documents
            .get(id)
            .map(|d| d.versions.as_slice())
            .unwrap_or(&[]);
        let mut draft = None;
        if let Some(&(path, hash)) = synced.get(id) {
            if committed.last().map(|v| v.info.hash.0.as_str()) != Some(hash) {
                if let Ok(bytes) = std::fs::read(root.join(path)) {
                    let hash = ContentHash::of(&bytes);
                    draft = Some(VersionInfo {
                        number: committed.len() as u32 + 1,
                        commit: None,
                        author: None,
                        time: None,
                        summary: None,
                        path: path.to_owned(),
                        hash: hash.clone(),
                        draft: true,
                        error: None,
                    });
                    draft_bytes.insert(hash.0, bytes);
                }
            }
        }
        let wanted = || committed.iter().map(|v| &v.info).chain(draft.as_ref());
        let count = committed.len() + draft.is_some() as usize;
        if count > 0 {
            summary.documents += 1;
        }
        summary.versions += count;
        summary.drafts += draft.is_some() as usize;
        let old = st.docs.get(id).map(Vec::as_slice).unwrap_or(&[]);
        if old.len() != count || !old.iter().zip(wanted()).all(|(a, b)| a == b) {
            changed.push((id.to_owned(), wanted().cloned().collect()));
        }
    }
    let removed: Vec<String> = st
        .docs
        .keys()
        .filter(|id| !ids.contains(id.as_str()))
        .cloned()
        .collect();

    // 2. Labels: the rows, and which documents' resolved labels to redo.
    let label_rows: Vec<LabelRow> = labels
        .iter()
        .map(|(label, reference)| {
            let (commit, error) = match history.labels.get(label) {
                Some(LabelState::Ok { commit, .. }) => (Some(commit.clone()), None),
                Some(LabelState::Broken(m)) => (None, Some(m.clone())),
                None => (
                    None,
                    Some(format!(
                        "label `{label}`: not resolved (library not in git)"
                    )),
                ),
            };
            if let Some(e) = &error {
                summary.label_errors.insert(label.clone(), e.clone());
            }
            LabelRow {
                label: label.clone(),
                reference: Some(reference.clone()),
                commit,
                error,
            }
        })
        .collect();
    let labels_moved = full || label_rows != st.label_rows || history.pins != st.pins;

    // 3. Write, in one transaction.
    let mut delta: Vec<u8> = st.stamp.as_bytes().to_vec();
    let mut written = 0usize;
    let result = db.write(|w| {
        if full {
            w.delete_history()?;
        }
        let mut dropped: Vec<String> = Vec::new();
        for (id, infos) in &changed {
            w.set_doc_versions(id, infos)?;
            for v in infos {
                let n = st.refs.entry(v.hash.0.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    let data = history
                        .contents
                        .get(&v.hash.0)
                        .or_else(|| draft_bytes.get(&v.hash.0));
                    if let Some(data) = data {
                        w.put_content(&v.hash.0, data)?;
                    }
                }
            }
            delta.extend_from_slice(id.as_bytes());
            delta.extend_from_slice(&serde_json::to_vec(infos)?);
            if let Some(old) = st.docs.insert(id.clone(), infos.clone()) {
                dropped.extend(old.into_iter().map(|v| v.hash.0));
            }
            written += 1;
        }
        for id in &removed {
            w.set_doc_versions(id, &[])?;
            for label in labels.keys() {
                w.set_doc_label(id, label, None)?;
                st.doc_labels.remove(&(id.clone(), label.clone()));
            }
            delta.extend_from_slice(id.as_bytes());
            if let Some(old) = st.docs.remove(id) {
                dropped.extend(old.into_iter().map(|v| v.hash.0));
            }
            written += 1;
        }
        for hash in dropped {
            if let Some(n) = st.refs.get_mut(&hash) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    st.refs.remove(&hash);
                    w.delete_content(&hash)?;
                }
            }
        }
        // Resolved labels, for every document when a label or a pin moved.
        let configured: BTreeMap<String, Result<&dyn versions::LabelCommits, String>> = history
            .labels
            .iter()
            .map(|(l, s)| {
                let r = match s {
                    LabelState::Ok { reachable, .. } => {
                        Ok(reachable as &dyn versions::LabelCommits)
                    }
                    LabelState::Broken(m) => Err(m.clone()),
                };
                (l.clone(), r)
            })
            .collect();
        let redo: Vec<&str> = if labels_moved {
            ids.iter().copied().collect()
        } else {
            changed.iter().map(|(id, _)| id.as_str()).collect()
        };
        for id in redo {
            let infos = st.docs.get(id).map(Vec::as_slice).unwrap_or(&[]);
            for label in labels.keys() {
                let resolved =
                    versions::resolve_label(id, infos, label, &history.pins, &configured)
                        .map_err(|e| e.to_string());
                let key = (id.to_owned(), label.clone());
                if st.doc_labels.get(&key) != Some(&resolved) {
                    w.set_doc_label(id, label, Some(&resolved))?;
                    delta.extend_from_slice(format!("{id}\0{label}\0{resolved:?}").as_bytes());
                    st.doc_labels.insert(key, resolved);
                }
            }
        }
        if labels_moved {
            w.set_labels(&label_rows)?;
        }
        w.set_meta(META_HISTORY, &serde_json::to_string(&summary)?)?;
        // Not the generation counter (the search index is stamped with it): a stamp
        // the content generation appends (see `promptshelf_store::read`). A full write
        // hashes every row; a partial one chains the last stamp with what changed.
        let stamp = if full {
            promptshelf_store::versions::stamp(w.conn())?
        } else {
            ContentHash::of(&delta).0[..16].to_owned()
        };
        w.set_meta(promptshelf_store::read::META_HISTORY_STAMP, &stamp)?;
        st.stamp = stamp;
        Ok(())
    });
    result.map_err(git)?;
    st.label_rows = label_rows;
    st.pins = history.pins.clone();
    summary.written = written;
    *state = Some(st);
    Ok(summary)
}

/// Meta key of the last [`Summary`] (JSON), for `/admin/status` and `check`.
pub const META_HISTORY: &str = "history";

/// A cheap fingerprint of where HEAD and the label refs point: the bytes of `HEAD`, of the
/// loose ref it names, of each configured label's loose ref, and the size and mtime of
/// `packed-refs`. `watch` polls it (the file watcher skips hidden folders such as `.git`)
/// and re-reads the history when it changes.
pub fn refs_fingerprint(git_dir: &Path, labels: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut add = |p: PathBuf| {
        out.extend_from_slice(&std::fs::read(&p).unwrap_or_default());
        out.push(0);
    };
    add(git_dir.join("HEAD"));
    if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) {
        if let Some(r) = head.trim().strip_prefix("ref: ") {
            add(git_dir.join(r));
        }
    }
    for r in labels.values() {
        add(git_dir.join(r));
    }
    // Worktrees keep refs in the common dir.
    if let Ok(common) = std::fs::read_to_string(git_dir.join("commondir")) {
        let common = git_dir.join(common.trim());
        if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) {
            if let Some(r) = head.trim().strip_prefix("ref: ") {
                add(common.join(r));
            }
        }
        for r in labels.values() {
            add(common.join(r));
        }
        if let Ok(m) = std::fs::metadata(common.join("packed-refs")) {
            out.extend_from_slice(format!("{:?}{}", m.modified().ok(), m.len()).as_bytes());
        }
    }
    if let Ok(m) = std::fs::metadata(git_dir.join("packed-refs")) {
        out.extend_from_slice(format!("{:?}{}", m.modified().ok(), m.len()).as_bytes());
    }
    out
}
