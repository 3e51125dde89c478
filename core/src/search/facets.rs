//! Facet counts over the whole matching set (not just the page): document types and
//! tags, most frequent first, ties by value.

use super::index::Index;
use serde::Serialize;

/// How many documents of the matching set have a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    /// The value (a type name or a tag).
    pub value: String,
    /// Matching documents with it.
    pub count: usize,
}

/// Facets of a result set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// Counts by document type.
    #[serde(rename = "type")]
    pub doc_type: Vec<FacetCount>,
    /// Counts by tag, most frequent first.
    pub tags: Vec<FacetCount>,
}

/// [`Facets`] borrowing the index's tag texts (hosts that serialize them at once need
/// no copies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FacetsRef<'a> {
    /// Counts by document type.
    pub doc_type: Vec<(&'static str, usize)>,
    /// Counts by tag, most frequent first.
    pub tags: Vec<(&'a str, usize)>,
}

impl FacetsRef<'_> {
    /// A copy that owns its strings.
    pub fn owned(&self) -> Facets {
        let owned = |v: &[(&str, usize)]| {
            v.iter()
                .map(|&(value, count)| FacetCount {
                    value: value.to_owned(),
                    count,
                })
                .collect()
        };
        Facets {
            doc_type: owned(&self.doc_type),
            tags: owned(&self.tags),
        }
    }
}

/// Facet counts over the documents in `slots`, at most `max_tags` tags.
pub fn compute(index: &Index, slots: impl Iterator<Item = u32>, max_tags: usize) -> FacetsRef<'_> {
    let mut types = [0usize; 2];
    let mut tags = vec![0usize; index.tags.len()];
    for s in slots {
        let Some(e) = index.docs.get(s as usize) else {
            continue;
        };
        match e.doc_type {
            Some(crate::model::DocType::Persona) => types[0] += 1,
            Some(crate::model::DocType::PromptTemplate) => types[1] += 1,
            None => continue,
        }
        for &t in &e.tags {
            if let Some(c) = tags.get_mut(t as usize) {
                *c += 1;
            }
        }
    }
    let mut doc_type: Vec<(&'static str, usize)> = crate::model::DocType::ALL
        .iter()
        .zip(types)
        .filter(|(_, c)| *c > 0)
        .map(|(t, c)| (t.as_str(), c))
        .collect();
    doc_type.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    // Rank tag ids (no string copies; a broad query touches most tags, a picker shows a
    // handful).
    let mut ranked: Vec<(usize, u32)> = tags
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| (*c, i as u32))
        .collect();
    // Tag texts are distinct, so this is a total order and the unstable sorts agree
    // with a full stable sort.
    let by = |a: &(usize, u32), b: &(usize, u32)| {
        b.0.cmp(&a.0)
            .then_with(|| index.tags[a.1 as usize].cmp(&index.tags[b.1 as usize]))
    };
    if ranked.len() > max_tags {
        if max_tags > 0 {
            ranked.select_nth_unstable_by(max_tags - 1, by);
        }
        ranked.truncate(max_tags);
    }
    ranked.sort_unstable_by(by);
    FacetsRef {
        doc_type,
        tags: ranked
            .into_iter()
            .map(|(count, i)| (index.tags[i as usize].as_str(), count))
            .collect(),
    }
}
