//! Text → index terms. One tokenizer serves indexing, querying, phrase checks and
//! snippets, so a word is always cut and folded the same way everywhere.
//!
//! Rules: a token is a run of alphanumeric characters (Unicode `is_alphanumeric`,
//! plus combining marks, which are dropped); Han, Kana and Hangul characters are one
//! token each (those scripts do not separate words with spaces). Tokens are folded:
//! lower-cased, Latin diacritics removed (`Café` → `cafe`, `Straße` → `strasse`).
//! Tokens longer than [`MAX_TOKEN_CHARS`] (hashes, base64) are skipped: nobody types
//! them, and they would bloat the dictionary.

/// Longest token kept, in characters.
pub const MAX_TOKEN_CHARS: usize = 40;

/// Calls `f(term, start, end)` for every token of `text`, with `term` folded and
/// `start..end` the token's byte range in `text`. Allocation-free apart from one
/// reusable buffer.
///
/// An ASCII character that is not a letter or digit always ends a token, so `text` is
/// cut at those first: a run made only of ASCII letters and digits (nearly all of a
/// prompt) is one token, handed over as a slice of `text` when it has no upper case;
/// only runs with other characters go through the Unicode rules (`unicode_run`).
pub fn for_each_token(text: &str, mut f: impl FnMut(&str, usize, usize)) {
    tokenize(text, &mut f)
}

/// [`for_each_token`], compiled once for all its callers (the .wasm the npm package
/// ships has one copy; a call through `dyn` per token costs little beside the rest).
#[inline(never)]
fn tokenize(text: &str, f: &mut dyn FnMut(&str, usize, usize)) {
    let bytes = text.as_bytes();
    let mut buf = String::with_capacity(32);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() && !b.is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        let (mut ascii, mut upper) = (true, false);
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii() {
                if !b.is_ascii_alphanumeric() {
                    break;
                }
                upper |= b.is_ascii_uppercase();
            } else {
                ascii = false;
            }
            i += 1;
        }
        // `start..i` begins and ends at ASCII bytes or the ends of `text`: char
        // boundaries, so the slice never fails.
        let run = text.get(start..i).unwrap_or("");
        if !ascii {
            unicode_run(run, start, &mut buf, f);
        } else if run.len() <= MAX_TOKEN_CHARS {
            if upper {
                buf.clear();
                buf.push_str(run);
                buf.make_ascii_lowercase();
                f(&buf, start, i);
            } else {
                f(run, start, i);
            }
        }
    }
}

/// The Unicode rules over one run without ASCII separators, `base` its offset in the
/// whole text. Not generic and never inlined: one copy serves every caller of
/// [`for_each_token`] (a copy per caller grew the npm package's .wasm), and the call
/// through `dyn` only happens for the rare runs with non-ASCII characters.
#[inline(never)]
fn unicode_run(text: &str, base: usize, buf: &mut String, f: &mut dyn FnMut(&str, usize, usize)) {
    let mut f = |t: &str, s: usize, e: usize| f(t, base + s, base + e);
    buf.clear();
    let mut start: Option<usize> = None;
    let mut chars = 0usize;
    for (i, c) in text.char_indices() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                if start.is_none() {
                    start = Some(i);
                }
                buf.push(c.to_ascii_lowercase());
                chars += 1;
                continue;
            }
        } else if is_combining(c) {
            // Part of the current word (NFD input), contributes nothing.
            if start.is_some() {
                continue;
            }
        } else if is_cjk(c) {
            flush(text, buf, &mut start, &mut chars, i, &mut f);
            buf.clear();
            fold_char(c, buf);
            f(buf, i, i + c.len_utf8());
            buf.clear();
            continue;
        } else if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            fold_char(c, buf);
            chars += 1;
            continue;
        }
        flush(text, buf, &mut start, &mut chars, i, &mut f);
    }
    flush(text, buf, &mut start, &mut chars, text.len(), &mut f);
}

fn flush(
    _text: &str,
    buf: &mut String,
    start: &mut Option<usize>,
    chars: &mut usize,
    end: usize,
    f: &mut impl FnMut(&str, usize, usize),
) {
    if let Some(s) = start.take() {
        if *chars <= MAX_TOKEN_CHARS && !buf.is_empty() {
            f(buf, s, end);
        }
    }
    buf.clear();
    *chars = 0;
}

/// The folded tokens of `text`, in order.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |t, _, _| out.push(t.to_owned()));
    out
}

/// Folds a whole string the way tokens are folded, keeping non-word characters
/// (used for filter values such as `author:"Jane Doe"`). Whitespace runs become one
/// space; leading and trailing whitespace is removed.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if is_combining(c) {
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        fold_char(c, &mut out);
    }
    out
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // Extensions B–F, compatibility supplement
}

/// Appends the folded form of `c` to `out`: lower case, Latin diacritics stripped.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    if let Some(s) = latin_fold(c) {
        out.push_str(s);
        return;
    }
    for l in c.to_lowercase() {
        if let Some(s) = latin_fold(l) {
            out.push_str(s);
        } else {
            out.push(l);
        }
    }
}

/// Latin-1 Supplement and Latin Extended-A letters → ASCII. Covers the diacritics of
/// the Western and Central European languages; other scripts are only lower-cased.
fn latin_fold(c: char) -> Option<&'static str> {
    let u = c as u32;
    Some(match u {
        0xC0..=0xC5 | 0xE0..=0xE5 => "a",
        0xC6 | 0xE6 => "ae",
        0xC7 | 0xE7 => "c",
        0xC8..=0xCB | 0xE8..=0xEB => "e",
        0xCC..=0xCF | 0xEC..=0xEF => "i",
        0xD0 | 0xF0 => "d",
        0xD1 | 0xF1 => "n",
        0xD2..=0xD6 | 0xD8 | 0xF2..=0xF6 | 0xF8 => "o",
        0xD9..=0xDC | 0xF9..=0xFC => "u",
        0xDD | 0xFD | 0xFF => "y",
        0xDE | 0xFE => "th",
        0xDF => "ss",
        0x100..=0x105 => "a",
        0x106..=0x10D => "c",
        0x10E..=0x111 => "d",
        0x112..=0x11B => "e",
        0x11C..=0x123 => "g",
        0x124..=0x127 => "h",
        0x128..=0x131 => "i",
        0x132 | 0x133 => "ij",
        0x134 | 0x135 => "j",
        0x136..=0x138 => "k",
        0x139..=0x142 => "l",
        0x143..=0x14B => "n",
        0x14C..=0x151 => "o",
        0x152 | 0x153 => "oe",
        0x154..=0x159 => "r",
        0x15A..=0x161 => "s",
        0x162..=0x167 => "t",
        0x168..=0x173 => "u",
        0x174 | 0x175 => "w",
        0x176..=0x178 => "y",
        0x179..=0x17E => "z",
        0x17F => "s",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<(String, &str)> {
        let mut v = Vec::new();
        for_each_token(text, |t, s, e| v.push((t.to_owned(), &text[s..e])));
        v
    }

    #[test]
    fn splits_and_lowercases() {
        assert_eq!(
            tokens("Hello, World! gpt-4o {{firstName}}"),
            ["hello", "world", "gpt", "4o", "firstname"]
        );
    }

    #[test]
    fn folds_diacritics_and_keeps_offsets() {
        let v = spans("Café Straße ÉCOLE naïve");
        assert_eq!(v[0], ("cafe".into(), "Café"));
        assert_eq!(v[1], ("strasse".into(), "Straße"));
        assert_eq!(v[2], ("ecole".into(), "ÉCOLE"));
        assert_eq!(v[3], ("naive".into(), "naïve"));
    }

    #[test]
    fn combining_marks_are_dropped() {
        assert_eq!(tokens("cafe\u{301} x"), ["cafe", "x"]);
    }

    #[test]
    fn cjk_is_one_token_per_character() {
        assert_eq!(tokens("日本語abc"), ["日", "本", "語", "abc"]);
        assert_eq!(tokens("Привет Мир"), ["привет", "мир"]);
    }

    #[test]
    fn skips_overlong_tokens() {
        let long = "a".repeat(MAX_TOKEN_CHARS + 1);
        assert_eq!(tokens(&format!("x {long} y")), ["x", "y"]);
    }

    #[test]
    fn ascii_runs_and_unicode_runs_meet_correctly() {
        let v = spans("GPT-4o: naïve,Café日本 x\u{301}y HELLO");
        let got: Vec<(&str, &str)> = v.iter().map(|(t, s)| (t.as_str(), *s)).collect();
        assert_eq!(
            got,
            [
                ("gpt", "GPT"),
                ("4o", "4o"),
                ("naive", "naïve"),
                ("cafe", "Café"),
                ("日", "日"),
                ("本", "本"),
                ("xy", "x\u{301}y"),
                ("hello", "HELLO"),
            ]
        );
    }

    /// The fast path (ASCII runs cut at ASCII separators) against the Unicode rules
    /// run over the whole text, which is what the tokenizer was before it.
    fn reference(text: &str) -> Vec<(String, usize, usize)> {
        let mut v = Vec::new();
        let mut buf = String::new();
        unicode_run(text, 0, &mut buf, &mut |t: &str, s, e| {
            v.push((t.to_owned(), s, e))
        });
        v
    }

    fn fast(text: &str) -> Vec<(String, usize, usize)> {
        let mut v = Vec::new();
        for_each_token(text, |t, s, e| v.push((t.to_owned(), s, e)));
        v
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]
        #[test]
        fn fast_path_equals_the_unicode_rules(
            text in "([a-zA-Z0-9 ,.:_\\-]|[éÉßüÜ日本\u{301}\u{300}ДжΩ]|[\\PC]){0,60}"
        ) {
            proptest::prop_assert_eq!(fast(&text), reference(&text));
        }

        #[test]
        fn long_ascii_runs_are_skipped_like_before(n in 35usize..46, upper in proptest::bool::ANY) {
            let word = if upper { "A".repeat(n) } else { "a".repeat(n) };
            let text = format!("x {word} é{word} y");
            proptest::prop_assert_eq!(fast(&text), reference(&text));
        }
    }

    #[test]
    fn fold_keeps_punctuation() {
        assert_eq!(fold("  Jane   DOÉ-x "), "jane doe-x");
    }
}
