//! Lexicon chunks: every term in order with its document frequency and the posting
//! chunks that hold it. Small next to the postings (a few bytes a term), fetched whole
//! on a library's first query and then kept: prefix and typo expansion, like the
//! whole index's, choose among all terms by frequency, so they need them all, but
//! never a posting list they will not use.

use super::wire::{put_f, put_v, Bad, Rd};
use crate::search::dict::Dictionary;
use crate::search::exec::Lexicon;
use crate::search::fuzzy::GramIndex;
use std::sync::OnceLock;

/// One term's entry.
pub struct Entry<'a> {
    pub term: &'a str,
    pub df: u32,
    /// First and last posting chunk holding its list.
    pub span: (u32, u32),
}

/// Chunks of at most about `target` bytes, and the first term of each.
pub fn write(entries: &[Entry<'_>], target: usize) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut first = String::new();
    let mut prev = "";
    for e in entries {
        if cur.is_empty() {
            first = e.term.to_owned();
            prev = "";
        }
        put_f(&mut cur, prev, e.term);
        put_v(&mut cur, u64::from(e.df));
        put_v(&mut cur, u64::from(e.span.0));
        put_v(&mut cur, u64::from(e.span.1 - e.span.0));
        prev = e.term;
        if cur.len() >= target {
            out.push((std::mem::take(&mut first), std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push((first, cur));
    }
    out
}

/// The whole lexicon, decoded from all its chunks in order.
#[derive(Debug, Default)]
pub struct Lex {
    pub dict: Dictionary,
    pub df: Vec<u32>,
    pub span: Vec<(u32, u32)>,
    grams: OnceLock<GramIndex>,
}

impl Lex {
    pub fn read<'a>(
        chunks: impl Iterator<Item = &'a [u8]>,
        posting_chunks: u32,
    ) -> Result<Lex, Bad> {
        let mut arena = String::new();
        let mut spans = Vec::new();
        let (mut df, mut span) = (Vec::new(), Vec::new());
        let mut last = String::new();
        for bytes in chunks {
            let mut r = Rd::new(bytes);
            let mut term = String::new();
            while !r.done() {
                r.f(&mut term)?;
                // Strictly increasing across chunks (binary searches rely on it).
                if !spans.is_empty() && term <= last {
                    return Err(Bad);
                }
                last.clone_from(&term);
                let start = arena.len() as u32;
                arena.push_str(&term);
                spans.push((start, arena.len() as u32));
                df.push(r.v32()?);
                let a = r.v32()?;
                let b = a.checked_add(r.v32()?).ok_or(Bad)?;
                if b >= posting_chunks {
                    return Err(Bad);
                }
                span.push((a, b));
            }
        }
        Ok(Lex {
            dict: Dictionary::from_sorted(arena, spans),
            df,
            span,
            grams: OnceLock::new(),
        })
    }
}

impl Lexicon for Lex {
    fn lookup(&self, term: &str) -> Option<u32> {
        self.dict.get(term)
    }
    fn df(&self, id: u32) -> usize {
        self.df[id as usize] as usize
    }
    fn text(&self, id: u32) -> &str {
        self.dict.text(id)
    }
    fn prefixed(&self, prefix: &str) -> Vec<u32> {
        self.dict
            .prefix_range(prefix)
            .map(|p| self.dict.at(p))
            .collect()
    }
    fn near(&self, term: &str, max: u8) -> Vec<(u32, u8)> {
        self.grams
            .get_or_init(|| GramIndex::build(&self.dict))
            .search(&self.dict, term, max)
    }
}
