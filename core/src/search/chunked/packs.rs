//! Fragment packs: what a hit shows and a phrase check reads — id, name, path and the
//! stored starts of description and body — for a run of documents in id order.
//! Boundaries are content-defined (after a document whose id hash says so, or when a
//! pack is full), so an edit changes only its own pack's file, and an added or removed
//! document only its own pack's, across builds.

use super::wire::{put_s, Bad, Rd};

/// One document's fragment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fragment {
    pub id: String,
    pub name: String,
    pub path: String,
    pub description: String,
    pub body: String,
    pub desc_full: bool,
    pub body_full: bool,
}

/// Whether a pack ends after the document with this id (about one in `every`).
fn cut_after(id: &str, every: u32) -> bool {
    let h = blake3::hash(id.as_bytes());
    let b = h.as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_multiple_of(every.max(1))
}

/// Packs: `(first slot, first id, bytes)`.
pub fn write(frags: &[Fragment], target: usize, every: u32) -> Vec<(u32, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut first = (0u32, String::new());
    for (slot, f) in frags.iter().enumerate() {
        if cur.is_empty() {
            first = (slot as u32, f.id.clone());
        }
        put_s(&mut cur, &f.id);
        put_s(&mut cur, &f.name);
        put_s(&mut cur, &f.path);
        put_s(&mut cur, &f.description);
        put_s(&mut cur, &f.body);
        cur.push(u8::from(f.desc_full) | (u8::from(f.body_full) << 1));
        if cur.len() >= target || cut_after(&f.id, every) {
            let (s, id) = std::mem::take(&mut first);
            out.push((s, id, std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push((first.0, first.1, cur));
    }
    out
}

pub fn read(bytes: &[u8]) -> Result<Vec<Fragment>, Bad> {
    let mut r = Rd::new(bytes);
    let mut out = Vec::new();
    while !r.done() {
        let mut f = Fragment {
            id: r.s()?.to_owned(),
            name: r.s()?.to_owned(),
            path: r.s()?.to_owned(),
            description: r.s()?.to_owned(),
            body: r.s()?.to_owned(),
            ..Fragment::default()
        };
        let flags = r.byte()?;
        f.desc_full = flags & 1 != 0;
        f.body_full = flags & 2 != 0;
        out.push(f);
    }
    Ok(out)
}
