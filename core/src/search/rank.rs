//! BM25 scoring across fields: each field's term frequency is saturated on its own
//! (with its own length normalisation), then the fields are summed with boosts —
//! the multi-field form Lucene and MiniSearch use. (Plain BM25F sums the fields
//! *before* saturating, which on short documents squashes a name match to barely
//! above a body match; the relevance set over the real corpus ranks better this way.)
//! Only `+ - * /` on `f64` are used (no `ln`/`exp` from the platform's
//! libm, which differ between native and wasm32), and final scores are rounded to a
//! fixed grid, so the same index and query rank identically on every host.

use super::fields::NF;
use super::index::Posting;

/// Field boosts, in [`super::fields::Field`] order: name > tags > description > body > other.
pub const BOOST: [f64; NF] = [4.0, 3.0, 2.0, 1.0, 0.5];
/// Length normalisation per field (0 = none, 1 = full).
pub const B: [f64; NF] = [0.5, 0.3, 0.6, 0.75, 0.5];
/// Term-frequency saturation.
pub const K1: f64 = 1.2;

/// Weight of a match by how the query term reached the index term.
pub const W_EXACT: f64 = 1.0;
/// Fuzzy matches at edit distance 1 and 2.
pub const W_FUZZY: [f64; 3] = [1.0, 0.3, 0.18];

/// Weight of a phrase whose words occur in the part of the body the index does not
/// store (adjacency unverifiable).
pub const W_UNVERIFIED_PHRASE: f64 = 0.5;

/// Weight of a prefix expansion: closer to the full word, closer to an exact match,
/// always below it.
pub fn prefix_weight(query_chars: usize, term_chars: usize) -> f64 {
    let ratio = query_chars as f64 / term_chars.max(1) as f64;
    0.15 + 0.6 * ratio
}

/// Corpus statistics a score needs.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Documents in the index.
    pub docs: f64,
    /// Average field length in tokens (at least 1).
    pub avg_len: [f64; NF],
}

/// Inverse document frequency (BM25's, always positive).
pub fn idf(stats: &Stats, df: usize) -> f64 {
    let df = df as f64;
    ln(1.0 + (stats.docs - df + 0.5) / (df + 0.5))
}

/// Per-document length factors `1 / (1 - b + b * len / avg)` for each field.
pub fn norms(stats: &Stats, len: &[u32; NF]) -> [f64; NF] {
    let mut out = [0.0; NF];
    for f in 0..NF {
        out[f] = 1.0 / (1.0 - B[f] + B[f] * f64::from(len[f]) / stats.avg_len[f]);
    }
    out
}

/// Score of one posting from the document's field lengths (norms computed only for
/// the fields the term occurs in — usually one).
#[inline]
pub fn score_len(p: &Posting, stats: &Stats, len: &[u32; NF], idf: f64) -> f64 {
    let mut sum = 0.0;
    for f in 0..NF {
        if p.tf[f] != 0 {
            let norm = 1.0 / (1.0 - B[f] + B[f] * f64::from(len[f]) / stats.avg_len[f]);
            let tf = f64::from(p.tf[f]) * norm;
            sum += BOOST[f] * tf * (K1 + 1.0) / (K1 + tf);
        }
    }
    idf * sum
}

/// Score of one posting, given the document's norms and the term's idf.
#[inline]
pub fn score(p: &Posting, norms: &[f64; NF], idf: f64) -> f64 {
    let mut sum = 0.0;
    for f in 0..NF {
        if p.tf[f] != 0 {
            let tf = f64::from(p.tf[f]) * norms[f];
            sum += BOOST[f] * tf * (K1 + 1.0) / (K1 + tf);
        }
    }
    idf * sum
}

/// Scores are compared and reported on a grid of 1e-6: differences below it are ties
/// (broken by id), which absorbs any last-bit difference between hosts.
pub fn quantize(score: f64) -> i64 {
    if score.is_finite() {
        (score * 1e6 + 0.5).floor() as i64
    } else {
        0
    }
}

/// Natural logarithm with basic arithmetic only: `x = m * 2^e`, `m` in [1, 2), and
/// `ln m = 2 atanh((m - 1) / (m + 1))` by its series (|s| < 1/3, 20 terms).
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64;
    let mut m_bits = bits & 0x000f_ffff_ffff_ffff;
    if e == 0 {
        // Subnormal: normalise.
        let shift = m_bits.leading_zeros() as i64 - 11;
        m_bits = (m_bits << shift) & 0x000f_ffff_ffff_ffff;
        e = 1 - shift;
    }
    let m = f64::from_bits(m_bits | 0x3ff0_0000_0000_0000);
    let e = (e - 1023) as f64;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..20 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + e * std::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_std_closely() {
        for &x in &[1e-300, 0.001, 0.5, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300] {
            let d = (ln(x) - f64::ln(x)).abs();
            assert!(
                d < 1e-12 * f64::ln(x).abs().max(1.0),
                "{x}: {} vs {}",
                ln(x),
                f64::ln(x)
            );
        }
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn idf_decreases_with_df() {
        let s = Stats {
            docs: 100.0,
            avg_len: [1.0; NF],
        };
        assert!(idf(&s, 1) > idf(&s, 10));
        assert!(idf(&s, 100) > 0.0);
    }

    #[test]
    fn name_outweighs_body() {
        let s = Stats {
            docs: 10.0,
            avg_len: [2.0, 1.0, 10.0, 100.0, 5.0],
        };
        let n = norms(&s, &[2, 1, 10, 100, 5]);
        let mut in_name = Posting {
            doc: 0,
            tf: [0; NF],
        };
        in_name.tf[0] = 1;
        let mut in_body = Posting {
            doc: 0,
            tf: [0; NF],
        };
        in_body.tf[3] = 1;
        assert!(score(&in_name, &n, 1.0) > score(&in_body, &n, 1.0));
        let len = [2, 1, 10, 100, 5];
        assert_eq!(score_len(&in_body, &s, &len, 1.3), score(&in_body, &n, 1.3));
    }

    #[test]
    fn prefix_below_exact() {
        assert!(prefix_weight(9, 10) < W_EXACT);
        assert!(prefix_weight(3, 10) < prefix_weight(8, 10));
    }
}
