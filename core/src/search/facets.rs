//! Facet counts over the whole matching set (not just the page): document types and
//! tags, most frequent first, ties by value.

use super::index::Index;
use serde::Serialize;

/// How many documents of the matching set have a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub count: usize,
}

/// Facets of a result set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    #[serde(rename = "type")]
    pub doc_type: Vec<FacetCount>,
    pub tags: Vec<FacetCount>,
}

pub fn compute(index: &Index, slots: impl Iterator<Item = u32>, max_tags: usize) -> Facets {
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
    let mut doc_type: Vec<FacetCount> = crate::model::DocType::ALL
        .iter()
        .zip(types)
        .filter(|(_, c)| *c > 0)
        .map(|(t, c)| FacetCount {
            value: t.as_str().to_owned(),
            count: c,
        })
        .collect();
    doc_type.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    let mut tag_counts: Vec<FacetCount> = tags
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| FacetCount {
            value: index.tags[i].clone(),
            count: *c,
        })
        .collect();
    tag_counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    tag_counts.truncate(max_tags);
    Facets {
        doc_type,
        tags: tag_counts,
    }
}
