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

/// Terms within `max` edits of `query` (excluding `query` itself): `(term id, distance)`.
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
                let prefix: String = cur[..k].iter().collect();
                let r = dict.prefix_range(&prefix);
                pos = r.end.max(pos + 1);
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
