//! Typo tolerance: all dictionary terms within an edit distance of a query term
//! (Levenshtein plus adjacent transposition, i.e. optimal string alignment).
//!
//! The dictionary is sorted, so it is a trie laid flat: terms that share a prefix are
//! neighbours. The walk keeps one DP row per prefix character and reuses the rows of
//! the prefix a term shares with the previous one; when every cell of a row exceeds
//! the allowed distance, no term with that prefix can match and the walk jumps past
//! the whole prefix range with a binary search. The work is bounded by the trie nodes
//! within reach of the query, not by the dictionary size.

use super::dict::Dictionary;
use super::tokenize::MAX_TOKEN_CHARS;

/// Allowed edit distance for a query term of `chars` characters: 1 from 4, 2 from 8.
pub fn max_distance(chars: usize) -> u8 {
    match chars {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Bigram index over the dictionary, built lazily on the first fuzzy query (so
/// loading an index stays a plain decode). Candidates for a query term are the terms
/// that share enough distinct bigrams with it — one edit (a transposition included)
/// changes at most three bigrams of the word padded with boundary marks — and each
/// candidate is then checked exactly. Cost: a few short list merges and a few hundred
/// distance checks, instead of a walk over every dictionary prefix within reach.
#[derive(Debug, Clone, Default)]
pub struct GramIndex {
    /// Distinct bigram keys, sorted.
    keys: Vec<u64>,
    /// `ids[offs[i]..offs[i + 1]]`: term ids containing `keys[i]`, by length then id, so
    /// a query reads only the ids of lengths within reach (a binary search each side).
    offs: Vec<u32>,
    ids: Vec<u32>,
    /// Length in characters of the term at each position of `ids` (the binary searches
    /// read this, contiguous, rather than `lens` by id).
    id_lens: Vec<u8>,
    /// Length in characters of each term id.
    lens: Vec<u8>,
    /// Number of distinct bigrams of each term id.
    gram_counts: Vec<u8>,
}

const PAD: char = '\u{0}';

fn grams(chars: &[char], out: &mut Vec<u64>) {
    out.clear();
    let mut prev = PAD;
    for &c in chars.iter().chain(std::iter::once(&PAD)) {
        out.push((u64::from(prev as u32) << 32) | u64::from(c as u32));
        prev = c;
    }
    out.sort_unstable();
    out.dedup();
}

impl GramIndex {
    pub fn build(dict: &Dictionary) -> GramIndex {
        let n = dict.len();
        let mut pairs: Vec<(u64, u8, u32)> = Vec::with_capacity(n * 8);
        let mut lens = Vec::with_capacity(n);
        let mut gram_counts = Vec::with_capacity(n);
        let mut chars = Vec::new();
        let mut g = Vec::new();
        for id in 0..n as u32 {
            chars.clear();
            chars.extend(dict.text(id).chars());
            let len = chars.len().min(255) as u8;
            lens.push(len);
            grams(&chars, &mut g);
            gram_counts.push(g.len().min(255) as u8);
            pairs.extend(g.iter().map(|&k| (k, len, id)));
        }
        pairs.sort_unstable();
        let mut keys = Vec::new();
        let mut offs = Vec::new();
        let mut ids = Vec::with_capacity(pairs.len());
        let mut id_lens = Vec::with_capacity(pairs.len());
        for (k, len, id) in pairs {
            if keys.last() != Some(&k) {
                keys.push(k);
                offs.push(ids.len() as u32);
            }
            ids.push(id);
            id_lens.push(len);
        }
        offs.push(ids.len() as u32);
        GramIndex {
            keys,
            offs,
            ids,
            id_lens,
            lens,
            gram_counts,
        }
    }

    /// Terms within `max` edits of `query` (excluding `query` itself).
    pub fn search(&self, dict: &Dictionary, query: &str, max: u8) -> Vec<(u32, u8)> {
        let q: Vec<char> = query.chars().collect();
        let m = q.len();
        if max == 0 || m == 0 || m > MAX_TOKEN_CHARS {
            return Vec::new();
        }
        let mut qg = Vec::new();
        grams(&q, &mut qg);
        let need = qg.len().saturating_sub(3 * max as usize);
        if need == 0 {
            // Too short for the filter to prune anything: walk instead.
            return search(dict, query, max);
        }
        let mut count = vec![0u8; self.lens.len()];
        let mut cands: Vec<u32> = Vec::new();
        // Terms more than `max` characters longer or shorter are never within reach.
        let (lo, hi) = (m.saturating_sub(max as usize), m + max as usize);
        for k in &qg {
            let Ok(i) = self.keys.binary_search(k) else {
                continue;
            };
            let range = self.offs[i] as usize..self.offs[i + 1] as usize;
            let lens = &self.id_lens[range.clone()];
            let from = lens.partition_point(|&l| (l as usize) < lo);
            let to = from + lens[from..].partition_point(|&l| l as usize <= hi);
            for &id in &self.ids[range][from..to] {
                let c = &mut count[id as usize];
                *c += 1;
                if *c as usize == need {
                    cands.push(id);
                }
            }
        }
        let mut out = Vec::new();
        let mut t: Vec<char> = Vec::new();
        let mut rows = Vec::new();
        for id in cands {
            let len = self.lens[id as usize] as usize;
            if len.abs_diff(m) > max as usize {
                continue;
            }
            // Each edit removes at most three of the term's distinct bigrams too, so it
            // must share all but 3·max of its own (the count is final here).
            let shared = usize::from(count[id as usize]);
            if shared + 3 * usize::from(max) < usize::from(self.gram_counts[id as usize]) {
                continue;
            }
            t.clear();
            t.extend(dict.text(id).chars());
            if let Some(d) = osa_bounded(&q, &t, max, &mut rows) {
                if d > 0 {
                    out.push((id, d));
                }
            }
        }
        out
    }
}

/// Optimal string alignment distance of `a` and `b` if it is at most `max`.
fn osa_bounded(a: &[char], b: &[char], max: u8, rows: &mut Vec<u8>) -> Option<u8> {
    let (n, m) = (a.len(), b.len());
    let w = m + 1;
    rows.clear();
    rows.resize((n + 1) * w, 0);
    for (j, cell) in rows[..w].iter_mut().enumerate() {
        *cell = j.min(255) as u8;
    }
    for i in 1..=n {
        rows[i * w] = i.min(255) as u8;
        let mut row_min = rows[i * w];
        for j in 1..=m {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut v = (rows[(i - 1) * w + j] + 1)
                .min(rows[i * w + j - 1] + 1)
                .min(rows[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(rows[(i - 2) * w + j - 2] + 1);
            }
            rows[i * w + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
    }
    let d = rows[n * w + m];
    (d <= max).then_some(d)
}

/// Terms within `max` edits of `query` (excluding `query` itself) by walking the
/// sorted dictionary as a trie: `(term id, distance)`.
pub fn search(dict: &Dictionary, query: &str, max: u8) -> Vec<(u32, u8)> {
    let q: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    if max == 0 || q.is_empty() || q.len() > MAX_TOKEN_CHARS {
        return out;
    }
    let m = q.len();
    let w = m + 1;
    let max_depth = MAX_TOKEN_CHARS + 1;
    // rows[k] = DP row after k characters of the term.
    let mut rows = vec![0u8; (max_depth + 1) * w];
    for (j, cell) in rows[..w].iter_mut().enumerate() {
        *cell = j as u8;
    }
    let mut tchars: Vec<char> = Vec::with_capacity(max_depth);
    // Number of term characters whose rows are valid for `tchars`.
    let mut valid = 0usize;
    let n = dict.len();
    let mut pos = 0usize;
    let mut cur: Vec<char> = Vec::with_capacity(max_depth);
    while pos < n {
        let id = dict.at(pos);
        let text = dict.text(id);
        cur.clear();
        cur.extend(text.chars());
        // Shared prefix with the previous term (rows up to there are reusable).
        let mut lcp = 0;
        while lcp < valid && lcp < cur.len() && tchars[lcp] == cur[lcp] {
            lcp += 1;
        }
        tchars.truncate(lcp);
        valid = lcp;
        let mut pruned_at: Option<usize> = None;
        for k in lcp + 1..=cur.len().min(max_depth) {
            let c = cur[k - 1];
            tchars.push(c);
            let (before, after) = rows.split_at_mut(k * w);
            let prev = &before[(k - 1) * w..k * w];
            let prev2 = if k >= 2 {
                Some(&before[(k - 2) * w..(k - 1) * w])
            } else {
                None
            };
            let row = &mut after[..w];
            row[0] = k.min(255) as u8;
            let mut row_min = row[0];
            for j in 1..=m {
                let cost = u8::from(q[j - 1] != c);
                let mut v = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
                if let Some(p2) = prev2 {
                    if j >= 2 && q[j - 1] == cur[k - 2] && q[j - 2] == c {
                        v = v.min(p2[j - 2] + 1);
                    }
                }
                row[j] = v;
                row_min = row_min.min(v);
            }
            valid = k;
            if row_min > max {
                pruned_at = Some(k);
                break;
            }
        }
        match pruned_at {
            Some(k) => {
                // Skip every term that starts with these k characters.
                let bytes: usize = cur[..k].iter().map(|c| c.len_utf8()).sum();
                pos = dict.skip_prefix(pos, &text[..bytes]).max(pos + 1);
                // Rows up to k-1 stay valid for the next term's shared prefix.
                valid = k - 1;
                tchars.truncate(k - 1);
            }
            None => {
                if cur.len() <= max_depth {
                    let d = rows[cur.len() * w + m];
                    if d <= max && d > 0 {
                        out.push((id, d));
                    }
                }
                pos += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(words: &[&str]) -> Dictionary {
        Dictionary::from_unsorted(words.iter().map(|s| s.to_string()).collect())
    }

    fn found(d: &Dictionary, q: &str, max: u8) -> Vec<(String, u8)> {
        let mut v: Vec<(String, u8)> = search(d, q, max)
            .into_iter()
            .map(|(id, dist)| (d.text(id).to_owned(), dist))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn finds_edits_and_transpositions() {
        let d = dict(&[
            "customer",
            "customers",
            "costumer",
            "custom",
            "cutomer",
            "support",
            "cusotmer",
        ]);
        let v = found(&d, "custmer", 1);
        assert_eq!(
            v,
            [("cusotmer".to_string(), 1), ("customer".to_string(), 1)]
        );
        let v = found(&d, "customer", 2);
        assert!(v.contains(&("cusotmer".to_string(), 1)));
        assert!(v.contains(&("customers".to_string(), 1)));
        assert!(v.contains(&("custom".to_string(), 2)));
        assert!(!v.iter().any(|(t, _)| t == "customer"));
    }

    #[test]
    fn gram_index_agrees_with_walk() {
        let words = [
            "customer",
            "customers",
            "costumer",
            "custom",
            "cutomer",
            "support",
            "cusotmer",
            "suport",
            "apple",
            "aple",
            "appel",
            "maple",
            "applesauce",
            "apples",
            "élan",
            "elan",
            "naive",
            "native",
        ];
        let d = dict(&words);
        let g = GramIndex::build(&d);
        for q in [
            "customer",
            "custmer",
            "apple",
            "aple",
            "naïve",
            "naive",
            "support",
            "applesauce",
            "elan",
            "zzzz",
        ] {
            for max in 1..=2u8 {
                let mut a = g.search(&d, q, max);
                let mut b = search(&d, q, max);
                a.sort();
                b.sort();
                assert_eq!(a, b, "{q} {max}");
            }
        }
    }

    proptest::proptest! {
        /// The gram index (which reads only the ids of lengths within reach) finds
        /// exactly what the walk finds, on dictionaries dense with near misses.
        #[test]
        fn gram_index_agrees_with_walk_on_random_words(
            words in proptest::collection::vec("[abcé]{1,9}", 1..80),
            q in "[abcé]{1,10}",
            max in 1u8..=2,
        ) {
            let mut words = words;
            words.sort();
            words.dedup();
            let d = Dictionary::from_unsorted(words);
            let mut a = GramIndex::build(&d).search(&d, &q, max);
            let mut b = search(&d, &q, max);
            a.sort();
            b.sort();
            proptest::prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn brute_force_agrees() {
        fn osa(a: &[char], b: &[char]) -> usize {
            let (n, m) = (a.len(), b.len());
            let mut d = vec![vec![0usize; m + 1]; n + 1];
            for (i, row) in d.iter_mut().enumerate() {
                row[0] = i;
            }
            for (j, cell) in d[0].iter_mut().enumerate() {
                *cell = j;
            }
            for i in 1..=n {
                for j in 1..=m {
                    let c = usize::from(a[i - 1] != b[j - 1]);
                    d[i][j] = (d[i - 1][j] + 1)
                        .min(d[i][j - 1] + 1)
                        .min(d[i - 1][j - 1] + c);
                    if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                        d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                    }
                }
            }
            d[n][m]
        }
        let words = [
            "apple",
            "apply",
            "ample",
            "maple",
            "applet",
            "appeal",
            "papel",
            "aple",
            "appl",
            "ab",
            "zebra",
            "apples",
            "applesauce",
            "pale",
            "élan",
            "elan",
            "alpe",
        ];
        let d = dict(&words);
        for q in ["apple", "aple", "elan", "appel", "zebr", "applesauce"] {
            for max in 1..=2u8 {
                let qc: Vec<char> = q.chars().collect();
                let mut want: Vec<(String, u8)> = words
                    .iter()
                    .filter_map(|w| {
                        let dd = osa(&w.chars().collect::<Vec<_>>(), &qc);
                        (dd > 0 && dd <= max as usize).then(|| (w.to_string(), dd as u8))
                    })
                    .collect();
                want.sort();
                assert_eq!(found(&d, q, max), want, "{q} {max}");
            }
        }
    }
}
