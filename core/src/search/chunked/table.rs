//! Table chunks: per document (by slot) what ranking and facets need for every match,
//! not just the page's — type, tag ids and field lengths — a few bytes each. The tag
//! texts are a chunk of their own (`tags`): facet values and tag-id order.

use super::wire::{put_s, put_v, Bad, Rd};
use crate::model::DocType;
use crate::search::fields::NF;

/// One document's row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    pub doc_type: Option<DocType>,
    pub tags: Vec<u32>,
    pub len: [u32; NF],
}

/// Chunks of about `target` bytes: `(first slot, bytes)`.
pub fn write(rows: &[Row], target: usize) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut first = 0u32;
    for (slot, row) in rows.iter().enumerate() {
        if cur.is_empty() {
            first = slot as u32;
        }
        cur.push(match row.doc_type {
            Some(DocType::Persona) => 0,
            _ => 1,
        });
        for &l in &row.len {
            put_v(&mut cur, u64::from(l));
        }
        put_v(&mut cur, row.tags.len() as u64);
        let mut prev = 0;
        for &t in &row.tags {
            put_v(&mut cur, u64::from(t - prev));
            prev = t;
        }
        if cur.len() >= target {
            out.push((first, std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push((first, cur));
    }
    out
}

/// Decodes one chunk's rows.
pub fn read(bytes: &[u8], tag_count: usize) -> Result<Vec<Row>, Bad> {
    let mut r = Rd::new(bytes);
    let mut rows = Vec::new();
    while !r.done() {
        let doc_type = match r.byte()? {
            0 => DocType::Persona,
            1 => DocType::PromptTemplate,
            _ => return Err(Bad),
        };
        let mut len = [0u32; NF];
        for l in &mut len {
            *l = r.v32()?;
        }
        let n = r.count()?;
        let mut tags = Vec::with_capacity(n);
        let mut prev = 0u32;
        for k in 0..n {
            let t = prev.checked_add(r.v32()?).ok_or(Bad)?;
            if (k > 0 && t == prev) || t as usize >= tag_count {
                return Err(Bad);
            }
            tags.push(t);
            prev = t;
        }
        rows.push(Row {
            doc_type: Some(doc_type),
            tags,
            len,
        });
    }
    Ok(rows)
}

/// The tag texts chunk.
pub fn write_tags(tags: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tags {
        put_s(&mut out, t);
    }
    out
}

pub fn read_tags(bytes: &[u8]) -> Result<Vec<String>, Bad> {
    let mut r = Rd::new(bytes);
    let mut out = Vec::new();
    while !r.done() {
        out.push(r.s()?.to_owned());
    }
    Ok(out)
}
