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
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
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
    let Some((repo, prefix)) = open(root)? else {
        return Ok(History::default());
    };
    let mut history = History {
        repo: RepoInfo {
            git: true,
            ..RepoInfo::default()
        },
        ..History::default()
    };
    let head = repo.head().map_err(git)?;
    history.repo.detached = head.is_detached();
    history.repo.branch = head.referent_name().map(|n| n.as_bstr().to_string());
    let head_id = match head.id() {
        Some(id) => id.detach(),
        None => {
            // Unborn branch: nothing committed yet, every document is a draft.
            for (label, r) in labels {
                history.labels.insert(
                    label.clone(),
                    LabelState::Broken(format!(
                        "HEAD has no commit yet, so `{r}` cannot be resolved"
                    )),
                );
            }
            return Ok(history);
        }
    };
    history.repo.head = Some(head_id.to_string());

    // 1. Walk every commit reachable from HEAD.
    let shallow: HashSet<ObjectId> = match repo.shallow_commits().map_err(git)? {
        Some(list) => list.iter().copied().collect(),
        None => HashSet::new(),
    };
    history.repo.shallow = !shallow.is_empty();
    let mut nodes: Vec<CommitNode> = Vec::new();
    let mut index: HashMap<ObjectId, usize> = HashMap::new();
    let mut stack = vec![head_id];
    let mut buf = Vec::new();
    let mut missing_parents = 0usize;
    while let Some(id) = stack.pop() {
        if index.contains_key(&id) {
            continue;
        }
        let commit = match repo.objects.find_commit(&id, &mut buf) {
            Ok(c) => c,
            Err(e) if id == head_id => return Err(git(e)),
            Err(_) => {
                // A parent that is not in the object database: a shallow or partial clone.
                missing_parents += 1;
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
        let node = CommitNode {
            id,
            tree: commit.tree(),
            parents: parents.clone(),
            author,
            time,
            summary,
        };
        index.insert(id, nodes.len());
        nodes.push(node);
        stack.extend(parents.into_iter().filter(|p| !index.contains_key(p)));
    }
    if missing_parents > 0 {
        history.repo.shallow = true;
        history.warnings.push(format!(
            "{missing_parents} parent commit(s) are not in the repository (a shallow or partial clone): older versions are missing"
        ));
    }
    // Parents that were not found are dropped, so the order below only sees walked ones.
    for n in &mut nodes {
        n.parents.retain(|p| index.contains_key(p));
    }
    let order = topo_order(&nodes);
    let mut rank = vec![0usize; nodes.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    history.repo.commits = nodes.len();

    // 2. Diff each commit against its parents, inside the library only.
    let mut events: HashMap<String, Vec<Change>> = HashMap::new();
    let mut renames: HashMap<(usize, String), String> = HashMap::new();
    let mut root_trees: HashMap<ObjectId, Option<ObjectId>> = HashMap::new();
    for (r, &i) in order.iter().enumerate() {
        let node = &nodes[i];
        let new_root = library_tree(&repo, node.tree, &prefix, &mut root_trees)?;
        let changes = if node.parents.is_empty() {
            let mut out = Vec::new();
            diff_trees(&repo, None, new_root, "", &mut out)?;
            out
        } else {
            let mut per_parent = Vec::new();
            for p in &node.parents {
                let old_root = library_tree(&repo, nodes[index[p]].tree, &prefix, &mut root_trees)?;
                let mut out = Vec::new();
                if old_root != new_root {
                    diff_trees(&repo, old_root, new_root, "", &mut out)?;
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
        for (from, to) in pair_renames(&changes) {
            renames.insert((r, to), from);
        }
        for (path, old, new) in changes {
            events
                .entry(path)
                .or_default()
                .push(Change { order: r, old, new });
        }
    }

    // 3. The documents at HEAD, and each one's chain of versions back through moves.
    let head_root = library_tree(&repo, nodes[index[&head_id]].tree, &prefix, &mut root_trees)?;
    let mut files = Vec::new();
    diff_trees(&repo, None, head_root, "", &mut files)?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    history.pins = read_pins(&repo, head_root, &mut history.warnings);
    let mut parsed: HashMap<(String, ObjectId), Version> = HashMap::new();
    for (path, _, blob) in files {
        let Some(blob) = blob else { continue };
        let mut chain: Vec<(usize, String, ObjectId)> = Vec::new();
        let mut at = path.clone();
        let mut bound = usize::MAX;
        'follow: while let Some(evs) = events.get(&at) {
            for ev in evs.iter().rev().filter(|e| e.order <= bound) {
                match ev.new {
                    Some(b) => chain.push((ev.order, at.clone(), b)),
                    None => break 'follow,
                }
                if ev.old.is_none() {
                    match renames.get(&(ev.order, at.clone())) {
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
            // Outside any walked commit's changes (cannot happen for a file in HEAD's
            // tree unless the walk was cut short): its HEAD content as one version.
            chain.push((rank[index[&head_id]], path.clone(), blob));
        }
        chain.reverse();
        let mut versions_of = Vec::with_capacity(chain.len());
        for (n, (r, at, b)) in chain.into_iter().enumerate() {
            let node = &nodes[order[r]];
            let mut v = match parsed.get(&(at.clone(), b)) {
                Some(hit) => hit.clone(),
                None => {
                    let bytes = repo
                        .objects
                        .find_blob(&b, &mut buf)
                        .map_err(git)?
                        .data
                        .to_vec();
                    let hash = ContentHash::of(&bytes);
                    let outcome = parse::parse_document(&at, &bytes, opts);
                    let (document, error) = match outcome {
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
                            path: at.clone(),
                            hash: hash.clone(),
                            draft: false,
                            error,
                        },
                        document,
                    };
                    history.contents.entry(hash.0.clone()).or_insert(bytes);
                    parsed.insert((at.clone(), b), v.clone());
                    v
                }
            };
            v.info.number = n as u32 + 1;
            v.info.commit = Some(node.id.to_string());
            v.info.author = Some(node.author.clone());
            v.info.time = Some(node.time);
            v.info.summary = Some(node.summary.clone());
            versions_of.push(v);
        }
        let id = versions_of
            .last()
            .and_then(|v| v.document.as_ref())
            .map(|d| d.id.0.clone())
            .unwrap_or_else(|| parse::derived_id(&path));
        // Duplicate ids: the first path in byte order wins, as in a sync.
        history.documents.entry(id).or_insert(DocHistory {
            path,
            versions: versions_of,
        });
    }

    // 4. Labels.
    for (label, reference) in labels {
        let state = resolve_ref(&repo, reference, &nodes, &index);
        history.labels.insert(label.clone(), state);
    }
    Ok(history)
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

/// Resolves a label's ref to its commit and the walked commits it contains.
fn resolve_ref(
    repo: &gix::Repository,
    reference: &str,
    nodes: &[CommitNode],
    index: &HashMap<ObjectId, usize>,
) -> LabelState {
    let mut r = match repo.try_find_reference(reference) {
        Ok(Some(r)) => r,
        Ok(None) => return LabelState::Broken(format!("ref `{reference}` does not exist")),
        Err(e) => return LabelState::Broken(format!("ref `{reference}`: {e}")),
    };
    let id = match r.peel_to_commit() {
        Ok(c) => c.id,
        Err(e) => {
            return LabelState::Broken(format!("ref `{reference}` does not name a commit: {e}"))
        }
    };
    let Some(&start) = index.get(&id) else {
        return LabelState::Broken(format!(
            "ref `{reference}` ({}) is not in the history of HEAD; merge it or check it out",
            id.to_hex_with_len(12)
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
    let history = extract(root, labels, opts)?;
    store(root, db, labels, history)
}

/// Stores an extracted history (see [`store_history`]): drafts are added for synced
/// documents whose content differs from their newest committed version.
pub fn store(
    root: &Path,
    db: &mut promptshelf_store::Database,
    labels: &BTreeMap<String, String>,
    mut history: History,
) -> Result<Summary, HistoryError> {
    use promptshelf_store::versions::{DocLabel, DocVersions, LabelRow};
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
            repo: history.repo,
            ..Summary::default()
        });
    }
    let docs = db
        .read(promptshelf_store::read::all_documents)
        .map_err(git)?;
    let mut summary = Summary {
        repo: history.repo.clone(),
        warnings: history.warnings.clone(),
        ..Summary::default()
    };
    for row in &docs {
        let entry = history
            .documents
            .entry(row.id.clone())
            .or_insert_with(|| DocHistory {
                path: row.file_path.clone(),
                versions: Vec::new(),
            });
        if entry.versions.last().map(|v| v.info.hash.0.as_str()) == Some(row.content_hash.as_str())
        {
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join(&row.file_path)) else {
            continue;
        };
        let hash = ContentHash::of(&bytes);
        let number = entry.versions.len() as u32 + 1;
        entry.versions.push(Version {
            info: VersionInfo {
                number,
                commit: None,
                author: None,
                time: None,
                summary: None,
                path: row.file_path.clone(),
                hash: hash.clone(),
                draft: true,
                error: None,
            },
            document: None,
        });
        history.contents.insert(hash.0, bytes);
        summary.drafts += 1;
    }
    let mut doc_labels = Vec::new();
    for id in history.documents.keys() {
        for label in labels.keys() {
            doc_labels.push(DocLabel {
                doc_id: id.clone(),
                label: label.clone(),
                resolved: history.resolve(id, label).map_err(|e| e.to_string()),
            });
        }
    }
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
    let infos: Vec<(String, Vec<VersionInfo>)> = history
        .documents
        .iter()
        .map(|(id, d)| {
            (
                id.clone(),
                d.versions.iter().map(|v| v.info.clone()).collect(),
            )
        })
        .collect();
    summary.documents = infos.len();
    summary.versions = infos.iter().map(|(_, v)| v.len()).sum();
    let dv: Vec<DocVersions<'_>> = infos
        .iter()
        .map(|(id, v)| DocVersions {
            doc_id: id,
            versions: v,
        })
        .collect();
    db.write(|w| {
        w.replace_history(
            &dv,
            history
                .contents
                .iter()
                .map(|(h, d)| (h.as_str(), d.as_slice())),
            &label_rows,
            &doc_labels,
        )?;
        w.set_meta(META_HISTORY, &serde_json::to_string(&summary)?)?;
        // Not the generation counter (the search index is stamped with it): a stamp
        // the content generation appends (see `promptshelf_store::read`).
        let stamp = promptshelf_store::versions::stamp(w.conn())?;
        w.set_meta(promptshelf_store::read::META_HISTORY_STAMP, &stamp)?;
        Ok(())
    })
    .map_err(git)?;
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
