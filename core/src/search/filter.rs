//! Field filters (`type:persona`, `tag:support`, `model.api:chat`, `author:"Jane Doe"`)
//! → the sorted slots of the documents they keep.
//!
//! Built-in fields: `type`, `tag`/`tags`, `author`/`authors`, `name`, `description`,
//! `body`, `path`, `id`. Any other field is a JSON path into the document's content
//! (for prompts, resolved in the normalised content first, then in the raw front
//! matter); `content.` and `frontmatter.` prefixes are accepted and force a path.
//!
//! A value matches when it equals the filter value, when its words contain the filter
//! value's words in order (`tag:support` keeps `customer support`), or, for `value*`,
//! when it starts with it (or contains a word run that starts with it).

use super::fields::Field;
use super::index::{Index, KEY_SEP};
use super::query::FilterValue;
use super::tokenize;
use crate::model::DocType;

pub fn eval(ix: &Index, field: &str, value: &FilterValue) -> Vec<u32> {
    match field {
        "type" => {
            let Some(t) = DocType::parse(&value.text) else {
                return Vec::new();
            };
            (0..ix.docs.len() as u32)
                .filter(|&s| ix.docs[s as usize].doc_type == Some(t))
                .collect()
        }
        "id" => ix
            .by_id
            .iter()
            .filter(|(id, _)| {
                let f = tokenize::fold(id.as_str());
                f == value.text || (value.prefix && f.starts_with(&value.text))
            })
            .map(|(_, &s)| s)
            .collect::<Vec<u32>>()
            .tap_sort(),
        "path" => (0..ix.docs.len() as u32)
            .filter(|&s| {
                let e = &ix.docs[s as usize];
                e.alive() && tokenize::fold(&e.path).contains(&value.text)
            })
            .collect(),
        "tag" | "tags" => table(ix, "tags", value),
        "author" | "authors" => table(ix, "authors", value),
        "name" => text_field(ix, Field::Name, value),
        "description" => text_field(ix, Field::Description, value),
        "body" => text_field(ix, Field::Body, value),
        other => {
            let path = other
                .strip_prefix("content.")
                .or_else(|| other.strip_prefix("frontmatter."))
                .unwrap_or(other);
            table(ix, path, value)
        }
    }
}

trait TapSort {
    fn tap_sort(self) -> Self;
}
impl TapSort for Vec<u32> {
    fn tap_sort(mut self) -> Self {
        self.sort_unstable();
        self
    }
}

/// Whether a stored (folded) value matches the filter value.
pub fn value_matches(stored: &str, value: &FilterValue) -> bool {
    if stored == value.text || (value.prefix && stored.starts_with(&value.text)) {
        return true;
    }
    let want = tokenize::tokens(&value.text);
    if want.is_empty() {
        return false;
    }
    let have = tokenize::tokens(stored);
    contains_run(&have, &want, value.prefix)
}

/// `have` contains `want` as a contiguous run; with `prefix`, the run's last word
/// only has to start with `want`'s last word.
pub fn contains_run(have: &[String], want: &[String], prefix: bool) -> bool {
    let n = want.len();
    if n == 0 || have.len() < n {
        return false;
    }
    have.windows(n).any(|w| {
        w.iter().zip(want).enumerate().all(|(i, (h, q))| {
            if prefix && i + 1 == n {
                h.starts_with(q.as_str())
            } else {
                h == q
            }
        })
    })
}

fn table(ix: &Index, path: &str, value: &FilterValue) -> Vec<u32> {
    let lo = format!("{path}{KEY_SEP}");
    let mut out: Vec<u32> = Vec::new();
    for (key, docs) in ix.filters.range(lo.clone()..) {
        let Some(stored) = key.strip_prefix(lo.as_str()) else {
            break;
        };
        if value_matches(stored, value) {
            out.extend_from_slice(docs);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `name:`/`description:`/`body:` — the field contains the value's words in order.
fn text_field(ix: &Index, field: Field, value: &FilterValue) -> Vec<u32> {
    let want = tokenize::tokens(&value.text);
    let Some(last) = want.last() else {
        return Vec::new();
    };
    let fi = field as usize;
    // Candidates: documents with the first word (exact) in the field, or for a single
    // prefix word, any expansion.
    let mut cands: Vec<u32> = Vec::new();
    if want.len() == 1 && value.prefix {
        for pos in ix.dict.prefix_range(last) {
            let id = ix.dict.at(pos);
            cands.extend(
                ix.postings[id as usize]
                    .iter()
                    .filter(|p| p.tf[fi] > 0)
                    .map(|p| p.doc),
            );
        }
        cands.sort_unstable();
        cands.dedup();
        return cands;
    }
    let Some(id) = ix.dict.get(&want[0]) else {
        return Vec::new();
    };
    cands.extend(
        ix.postings[id as usize]
            .iter()
            .filter(|p| p.tf[fi] > 0)
            .map(|p| p.doc),
    );
    if want.len() == 1 {
        return cands;
    }
    cands
        .into_iter()
        .filter(|&s| {
            let e = &ix.docs[s as usize];
            let (text, full) = match field {
                Field::Name => (&e.name, true),
                Field::Description => (&e.description, e.desc_full),
                _ => (&e.body, e.body_full),
            };
            if contains_run(&tokenize::tokens(text), &want, value.prefix) {
                return true;
            }
            // Past the stored text: all words in the field is the best we can check.
            !full
                && want.iter().all(|w| {
                    ix.dict.get(w).is_some_and(|id| {
                        ix.postings[id as usize]
                            .binary_search_by_key(&s, |p| p.doc)
                            .is_ok_and(|i| ix.postings[id as usize][i].tf[fi] > 0)
                    })
                })
        })
        .collect()
}
