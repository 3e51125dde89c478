//! Highlighted snippets: the window of a stored field that holds the most distinct
//! matched terms, cut at word boundaries, with the byte ranges of the matches.

use super::tokenize;
use serde::Serialize;

/// Target snippet length in bytes (before the `…` marks).
pub const SNIPPET_BYTES: usize = 180;
const ELLIPSIS: &str = "…";

/// A piece of a document's text with the query's matches marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    /// Which field the text comes from: `name`, `description` or `body`.
    pub field: &'static str,
    /// The excerpt (with `…` where it was cut).
    pub text: String,
    /// `[start, end)` byte offsets into `text` of each matched word, in order.
    pub highlights: Vec<[usize; 2]>,
}

/// The text a snippet is cut from: a stored field, maybe only its start.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    text: &'a str,
    /// The field goes on past `text` (the index keeps only its start), so a snippet
    /// reaching the end of `text` still ends with `…`.
    truncated: bool,
}

impl<'a> Source<'a> {
    /// A source over `text`; `complete` is false when the field goes on past it.
    pub fn new(text: &'a str, complete: bool) -> Self {
        Source {
            text,
            truncated: !complete,
        }
    }
}

/// The best snippet of `src` for `terms` (folded index terms, sorted and
/// deduplicated), or `None` when no term occurs in it.
pub fn make(field: &'static str, src: Source<'_>, terms: &[&str]) -> Option<Snippet> {
    let text = src.text;
    // Most fields of most hits hold none of the terms (they matched in text the index
    // does not store, or in another field): rule that out without tokenizing.
    if text.is_ascii()
        && !terms
            .iter()
            .any(|t| occurs_ascii(text.as_bytes(), t.as_bytes()))
    {
        return None;
    }
    let mut hits: Vec<(usize, usize, u32)> = Vec::new(); // (start, end, term index)
    tokenize::for_each_token(text, |t, s, e| {
        if let Ok(idx) = terms.binary_search(&t) {
            hits.push((s, e, idx as u32));
        }
    });
    if hits.is_empty() {
        return None;
    }
    // Best window start: most distinct terms, then most hits, then earliest.
    let mut best = (0usize, 0usize, 0usize); // (distinct, count, first hit index)
    let mut counts = vec![0u32; terms.len()];
    let mut distinct = 0usize;
    let mut j = 0usize;
    for i in 0..hits.len() {
        while j < hits.len() && hits[j].1 <= hits[i].0 + SNIPPET_BYTES {
            let c = &mut counts[hits[j].2 as usize];
            if *c == 0 {
                distinct += 1;
            }
            *c += 1;
            j += 1;
        }
        let cand = (distinct, j - i, i);
        if cand.0 > best.0 || (cand.0 == best.0 && cand.1 > best.1) {
            best = cand;
        }
        let c = &mut counts[hits[i].2 as usize];
        *c -= 1;
        if *c == 0 {
            distinct -= 1;
        }
    }
    let first = hits[best.2];
    // Start a little before the first match, at a word boundary.
    let lead = SNIPPET_BYTES / 5;
    // A match near the start: show the text from its beginning rather than cut a
    // word or two for an ellipsis.
    let mut start = if first.0 <= 2 * lead {
        0
    } else {
        first.0 - lead
    };
    start = floor_boundary(text, start);
    if start > 0 {
        // Move forward to the next word start.
        if let Some(off) = text[start..first.0].find(char::is_whitespace) {
            start += off;
            while start < first.0 && text[start..].starts_with(char::is_whitespace) {
                start += text[start..].chars().next().map_or(1, char::len_utf8);
            }
        } else {
            start = first.0;
        }
    }
    let mut end = floor_boundary(text, (start + SNIPPET_BYTES).min(text.len()));
    if end < text.len() {
        if let Some(off) = text[start..end].rfind(char::is_whitespace) {
            if start + off > first.1 {
                end = start + off;
            }
        }
    }
    end = end.max(first.1);
    let mut out = String::with_capacity(end - start + 8);
    let shift = if start > 0 {
        out.push_str(ELLIPSIS);
        ELLIPSIS.len()
    } else {
        0
    };
    out.push_str(text[start..end].trim_end());
    let body_end = shift + text[start..end].trim_end().len();
    if end < text.len() || src.truncated {
        out.push_str(ELLIPSIS);
    }
    let highlights = hits
        .iter()
        .filter(|h| h.0 >= start && h.1 <= end)
        .map(|h| [h.0 - start + shift, h.1 - start + shift])
        .filter(|h| h[1] <= body_end)
        .collect();
    Some(Snippet {
        field,
        text: out,
        highlights,
    })
}

/// The start of a field as a snippet without highlights (for hits that matched
/// only through filters or fields that are not stored).
pub fn lead(field: &'static str, src: Source<'_>) -> Option<Snippet> {
    let text = src.text.trim();
    if text.is_empty() {
        return None;
    }
    let mut end = floor_boundary(text, SNIPPET_BYTES.min(text.len()));
    if end < text.len() {
        if let Some(off) = text[..end].rfind(char::is_whitespace) {
            end = off;
        }
    }
    let mut s = text[..end].trim_end().to_owned();
    if end < text.len() || src.truncated {
        s.push_str(ELLIPSIS);
    }
    Some(Snippet {
        field,
        text: s,
        highlights: Vec::new(),
    })
}

/// Whether a token of `text` could fold to `term`. Exact for ASCII text (its tokens are
/// its alphanumeric runs, lowercased, so the term must occur in it ignoring case);
/// other text is assumed to (folding maps many characters to one).
#[cfg(test)]
fn may_occur(text: &str, term: &str) -> bool {
    !text.is_ascii() || occurs_ascii(text.as_bytes(), term.as_bytes())
}

/// Whether `term` (folded: lower case) occurs in the ASCII `text` ignoring case. Most
/// positions fail on the first byte, so that is compared before the rest.
fn occurs_ascii(text: &[u8], term: &[u8]) -> bool {
    let Some((&first, rest)) = term.split_first() else {
        return false;
    };
    if term.len() > text.len() {
        return false;
    }
    let first = first.to_ascii_lowercase();
    (0..=text.len() - term.len()).any(|i| {
        text[i].to_ascii_lowercase() == first
            && text[i + 1..i + term.len()].eq_ignore_ascii_case(rest)
    })
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_point_at_matches() {
        let text = "You are a helpful assistant. ".repeat(10)
            + "Answer the customer's refund question politely. "
            + &"filler words here. ".repeat(20);
        let terms = ["customer", "refund"];
        let s = make("body", Source::new(&text, true), &terms).unwrap();
        assert!(s.text.starts_with('…') && s.text.ends_with('…'));
        let words: Vec<&str> = s.highlights.iter().map(|h| &s.text[h[0]..h[1]]).collect();
        assert_eq!(words, ["customer", "refund"]);
        assert!(s.text.len() <= SNIPPET_BYTES + 8);
    }

    #[test]
    fn no_match_no_snippet_and_lead() {
        let terms = ["zzz"];
        assert!(make("body", Source::new("hello world", true), &terms).is_none());
        assert_eq!(
            lead("body", Source::new("  hello world ", true))
                .unwrap()
                .text,
            "hello world"
        );
    }

    #[test]
    fn multibyte_text_is_cut_on_boundaries() {
        let text = "é".repeat(300) + " café " + &"ü".repeat(300);
        let terms = ["cafe"];
        let s = make("body", Source::new(&text, true), &terms).unwrap();
        let h = s.highlights[0];
        assert_eq!(&s.text[h[0]..h[1]], "café");
    }

    #[test]
    fn a_match_near_the_start_shows_the_text_from_its_beginning() {
        let terms = ["support"];
        let text = "You are a patient, friendly first-line support agent for Acme Cloud.";
        let s = make("body", Source::new(text, true), &terms).unwrap();
        assert_eq!(s.text, text);
        let far = format!("{} support", "word ".repeat(30));
        let s = make("body", Source::new(&far, true), &terms).unwrap();
        assert!(s.text.starts_with('…'), "{}", s.text);
    }

    #[test]
    fn a_stored_prefix_of_a_longer_field_ends_with_an_ellipsis() {
        let terms = ["refund"];
        let s = make("body", Source::new("Handle the refund", false), &terms).unwrap();
        assert_eq!(s.text, "Handle the refund…");
        assert_eq!(&s.text[s.highlights[0][0]..s.highlights[0][1]], "refund");
        let l = lead("body", Source::new("Handle the refund", false)).unwrap();
        assert_eq!(l.text, "Handle the refund…");
        let whole = make("body", Source::new("Handle the refund", true), &terms).unwrap();
        assert_eq!(whole.text, "Handle the refund");
    }

    proptest::proptest! {
        /// The first-byte scan answers exactly what comparing every window does.
        #[test]
        fn occurs_ascii_equals_the_window_scan(text in "[aAbB1 -]{0,24}", term in "[ab1é]{0,4}") {
            let (t, w) = (text.as_bytes(), term.as_bytes());
            let windows = !w.is_empty() && t.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
            proptest::prop_assert_eq!(occurs_ascii(t, w), windows);
        }
    }

    /// The substring pre-check must never hide a token: every token of a text passes
    /// it (whatever its case in the text), and each gives a snippet.
    #[test]
    fn precheck_never_hides_a_match() {
        for text in [
            "Handle the REFUND quickly",
            "x-ray X_RAY Xray2 2xray",
            "AbC123 abc 123ABC a1b2",
            "Über café naïve 東京",
            "",
        ] {
            for tok in tokenize::tokens(text) {
                assert!(may_occur(text, &tok), "{text:?} {tok:?}");
                assert!(
                    make("body", Source::new(text, true), &[tok.as_str()]).is_some(),
                    "{text:?} {tok:?}"
                );
            }
        }
        assert!(!may_occur("Handle the refund", "refunds"));
        assert!(!may_occur("Handle the refund", "é"));
        assert!(make("body", Source::new("Handle the refund", true), &["refunds"]).is_none());
    }
}
