//! Posting chunks: the posting lists of a range of terms, in term order, cut when a
//! chunk reaches its size target — also inside a long list, so no chunk grows past
//! the target by more than one posting, however common a word is. A term's list is
//! then the concatenation of its segments in chunk order (the lexicon says which
//! chunks hold it).
//!
//! Segment: front-coded term, posting count, then per posting the slot gap (the first
//! absolute), a byte of field bits, and one frequency byte per set bit.

use super::wire::{put_f, put_v, Bad, Rd};
use crate::search::fields::NF;
use crate::search::hash::FxHashMap;
use crate::search::index::Posting;

/// Chunks, and for each input term the first and last chunk holding it.
pub fn write(terms: &[(&str, Vec<Posting>)], target: usize) -> (Vec<Vec<u8>>, Vec<(u32, u32)>) {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut spans = Vec::with_capacity(terms.len());
    let mut prev = String::new();
    for (term, list) in terms {
        let first = chunks.len() as u32;
        let mut rest: &[Posting] = list;
        loop {
            // Segment header, then postings until the chunk is full.
            let mut seg: Vec<u8> = Vec::new();
            let mut n = 0usize;
            let mut last = 0u32;
            let room = target.saturating_sub(cur.len()).max(16);
            for p in rest {
                let gap = if n == 0 { p.doc } else { p.doc - last };
                put_v(&mut seg, u64::from(gap));
                let mut mask = 0u8;
                for (f, &tf) in p.tf.iter().enumerate() {
                    if tf > 0 {
                        mask |= 1 << f;
                    }
                }
                seg.push(mask);
                seg.extend(p.tf.iter().filter(|&&tf| tf > 0));
                last = p.doc;
                n += 1;
                if seg.len() >= room {
                    break;
                }
            }
            put_f(&mut cur, &prev, term);
            prev.clear();
            prev.push_str(term);
            put_v(&mut cur, n as u64);
            cur.extend_from_slice(&seg);
            rest = &rest[n..];
            if cur.len() >= target {
                chunks.push(std::mem::take(&mut cur));
                prev.clear();
            }
            if rest.is_empty() {
                break;
            }
        }
        let last = if cur.is_empty() {
            chunks.len() as u32 - 1
        } else {
            chunks.len() as u32
        };
        spans.push((first, last));
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    (chunks, spans)
}

/// Appends the segments of the terms in `want` to their lists in `out`.
pub fn read(
    bytes: &[u8],
    want: &FxHashMap<String, u32>,
    out: &mut [Vec<Posting>],
) -> Result<(), Bad> {
    let mut r = Rd::new(bytes);
    let mut term = String::new();
    while !r.done() {
        r.f(&mut term)?;
        let n = r.count()?;
        let mut list = want.get(term.as_str()).map(|&i| &mut out[i as usize]);
        let mut doc = 0u32;
        for k in 0..n {
            let gap = r.v32()?;
            doc = if k == 0 {
                gap
            } else {
                doc.checked_add(gap).ok_or(Bad)?
            };
            let mask = r.byte()?;
            let mut tf = [0u8; NF];
            for (f, t) in tf.iter_mut().enumerate() {
                if mask & (1 << f) != 0 {
                    *t = r.byte()?;
                }
            }
            if let Some(l) = list.as_mut() {
                if l.last().is_some_and(|p| p.doc >= doc) {
                    return Err(Bad);
                }
                l.push(Posting { doc, tf });
            }
        }
    }
    Ok(())
}
