//! Filter chunks: the field-filter table (`"path\x1fvalue"` → sorted slots) cut by key
//! range, so `tag:support` fetches the chunk(s) of the `tags` keys only.

use super::wire::{put_f, put_v, Bad, Rd};
use std::collections::BTreeMap;

/// Chunks of about `target` bytes: `(first key, bytes)`.
pub fn write(filters: &[(&str, Vec<u32>)], target: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut first = String::new();
    let mut prev = "";
    for (key, slots) in filters {
        if cur.is_empty() {
            first = (*key).to_owned();
            prev = "";
        }
        put_f(&mut cur, prev, key);
        put_v(&mut cur, slots.len() as u64);
        let mut last = 0;
        for (k, &s) in slots.iter().enumerate() {
            put_v(&mut cur, u64::from(if k == 0 { s } else { s - last }));
            last = s;
        }
        prev = key;
        if cur.len() >= target {
            out.push((std::mem::take(&mut first), std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push((first, cur));
    }
    out
}

pub fn read(bytes: &[u8], out: &mut BTreeMap<String, Vec<u32>>) -> Result<(), Bad> {
    let mut r = Rd::new(bytes);
    let mut key = String::new();
    while !r.done() {
        r.f(&mut key)?;
        let n = r.count()?;
        let mut slots = Vec::with_capacity(n);
        let mut s = 0u32;
        for k in 0..n {
            let g = r.v32()?;
            s = if k == 0 {
                g
            } else {
                s.checked_add(g).ok_or(Bad)?
            };
            slots.push(s);
        }
        out.insert(key.clone(), slots);
    }
    Ok(())
}
