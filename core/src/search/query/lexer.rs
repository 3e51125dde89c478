//! Query text → tokens with byte spans. Knows quoting, parentheses, the `-` prefix,
//! `field:` prefixes and the OR/AND keywords; folding of words is left to the parser.

use super::{QueryError, Span};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Phrase(String),
    /// `name:` — the value follows as the next `Word` or `Phrase` token.
    Field(String),
    Minus,
    LParen,
    RParen,
    Or,
    And,
}

/// Characters that end a bare word.
fn is_break(c: char) -> bool {
    c.is_whitespace() || c == '"' || c == '(' || c == ')'
}

/// A field name: letters, digits, `_`, `-`, `.`, not starting or ending with `.`.
fn is_field_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && !s.ends_with('.')
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
}

pub(super) fn char_pos(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].chars().count()
}

fn err(text: &str, byte: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        position: char_pos(text, byte),
        message: message.into(),
    }
}

pub(super) fn lex(text: &str) -> Result<Vec<(Tok, Span)>, QueryError> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    // Whether the previous character was a separator (start, whitespace, `(`):
    // `-` only negates at the start of a word.
    while i < b.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        match c {
            '(' => {
                out.push((
                    Tok::LParen,
                    Span {
                        start: i,
                        end: i + 1,
                    },
                ));
                i += 1;
            }
            ')' => {
                out.push((
                    Tok::RParen,
                    Span {
                        start: i,
                        end: i + 1,
                    },
                ));
                i += 1;
            }
            '"' => {
                let (phrase, end) = lex_phrase(text, i)?;
                out.push((Tok::Phrase(phrase), Span { start: i, end }));
                i = end;
            }
            '-' => {
                let next = text[i + 1..].chars().next();
                match next {
                    Some(n) if !n.is_whitespace() && n != ')' && n != '-' => {
                        out.push((
                            Tok::Minus,
                            Span {
                                start: i,
                                end: i + 1,
                            },
                        ));
                        i += 1;
                    }
                    Some('-') => {
                        // `--x`: a word made of dashes and more; let the tokenizer
                        // drop the dashes.
                        i = lex_word(text, i, &mut out)?;
                    }
                    _ => return Err(err(text, i, "expected a term after '-'")),
                }
            }
            _ => {
                i = lex_word(text, i, &mut out)?;
            }
        }
    }
    Ok(out)
}

/// Lexes a bare word starting at `start` (possibly `field:value`); returns the end.
fn lex_word(text: &str, start: usize, out: &mut Vec<(Tok, Span)>) -> Result<usize, QueryError> {
    let mut end = start;
    for (j, c) in text[start..].char_indices() {
        if is_break(c) {
            break;
        }
        end = start + j + c.len_utf8();
    }
    let word = &text[start..end];
    if let Some(colon) = word.find(':') {
        let name = &word[..colon];
        if is_field_name(name) {
            let span = Span {
                start,
                end: start + colon + 1,
            };
            out.push((Tok::Field(name.to_lowercase()), span));
            let vstart = start + colon + 1;
            if vstart < end {
                out.push((
                    Tok::Word(text[vstart..end].to_owned()),
                    Span { start: vstart, end },
                ));
                return Ok(end);
            }
            // Value is a phrase right after the colon, or missing.
            if text[end..].starts_with('"') {
                let (phrase, pend) = lex_phrase(text, end)?;
                out.push((
                    Tok::Phrase(phrase),
                    Span {
                        start: end,
                        end: pend,
                    },
                ));
                return Ok(pend);
            }
            return Err(err(text, end, format!("expected a value after '{name}:'")));
        }
    }
    let tok = match word {
        "OR" | "||" | "|" => Tok::Or,
        "AND" | "&&" => Tok::And,
        _ => Tok::Word(word.to_owned()),
    };
    out.push((tok, Span { start, end }));
    Ok(end)
}

/// Lexes `"..."` starting at the quote; `\"` and `\\` are escapes. Returns the
/// phrase text and the byte after the closing quote.
fn lex_phrase(text: &str, start: usize) -> Result<(String, usize), QueryError> {
    let mut s = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((j, c)) = chars.next() {
        match c {
            '"' => return Ok((s, start + 1 + j + 1)),
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    s.push(n);
                }
            }
            _ => s.push(c),
        }
    }
    Err(err(text, start, "unterminated quote: add a closing '\"'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(q: &str) -> Vec<Tok> {
        lex(q).unwrap().into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn lexes_all_kinds() {
        assert_eq!(
            toks(r#"a -b "c d" tag:x author:"J D" (e OR f)"#),
            vec![
                Tok::Word("a".into()),
                Tok::Minus,
                Tok::Word("b".into()),
                Tok::Phrase("c d".into()),
                Tok::Field("tag".into()),
                Tok::Word("x".into()),
                Tok::Field("author".into()),
                Tok::Phrase("J D".into()),
                Tok::LParen,
                Tok::Word("e".into()),
                Tok::Or,
                Tok::Word("f".into()),
                Tok::RParen,
            ]
        );
    }

    #[test]
    fn dash_inside_word_is_not_negation() {
        assert_eq!(toks("e-mail"), vec![Tok::Word("e-mail".into())]);
    }

    #[test]
    fn errors_have_char_positions() {
        let e = lex("héllo \"open").unwrap_err();
        assert_eq!(e.position, 6);
        let e = lex("tag: x").unwrap_err();
        assert_eq!(e.position, 4);
        let e = lex("a - b").unwrap_err();
        assert_eq!(e.position, 2);
    }
}
