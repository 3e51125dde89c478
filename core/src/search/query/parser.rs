//! Tokens → [`Query`]. Folding of words and phrases happens here, with the same
//! tokenizer as indexing, so `Café` in a query finds `cafe` in a document.

use super::lexer::{char_pos, lex, Tok};
use super::{FilterValue, Query, QueryError, Span};
use crate::search::tokenize;

/// Longest accepted query, in bytes; longer input is an error rather than slow.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Deepest nesting of parentheses and negations.
pub const MAX_DEPTH: usize = 32;

/// How to read the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Search-as-you-type: when the query ends inside a bare word (no trailing space),
    /// that word also matches as a prefix.
    pub prefix_last: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            prefix_last: crate::search::PREFIX_LAST,
        }
    }
}

/// Parses `text`. Never panics; every malformed input is a [`QueryError`].
pub fn parse(text: &str, opts: ParseOptions) -> Result<Query, QueryError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(QueryError {
            position: char_pos(text, MAX_QUERY_BYTES),
            message: format!("query is too long (more than {MAX_QUERY_BYTES} bytes)"),
        });
    }
    let toks = lex(text)?;
    let last_word = match toks.last() {
        Some((Tok::Word(_), span))
            if opts.prefix_last
                && span.end == text.len()
                && !matches!(
                    toks.len().checked_sub(2).map(|i| &toks[i].0),
                    Some(Tok::Field(_)) | Some(Tok::Minus)
                ) =>
        {
            Some(toks.len() - 1)
        }
        _ => None,
    };
    let mut p = Parser {
        text,
        toks,
        pos: 0,
        last_word,
    };
    let q = p.query(0)?;
    if let Some((_, span)) = p.toks.get(p.pos) {
        return Err(p.err(span.start, "unmatched ')'"));
    }
    Ok(q)
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<(Tok, Span)>,
    pos: usize,
    last_word: Option<usize>,
}

impl Parser<'_> {
    fn err(&self, byte: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            position: char_pos(self.text, byte),
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn span(&self) -> Span {
        self.toks.get(self.pos).map(|(_, s)| *s).unwrap_or(Span {
            start: self.text.len(),
            end: self.text.len(),
        })
    }

    /// clause* until end or `)`.
    fn query(&mut self, depth: usize) -> Result<Query, QueryError> {
        let mut parts = Vec::new();
        let mut after_and: Option<Span> = None;
        loop {
            match self.peek() {
                None | Some(Tok::RParen) => break,
                Some(Tok::And) => {
                    let s = self.span();
                    if parts.is_empty() || after_and.is_some() {
                        return Err(self.err(s.start, "AND needs a term on both sides"));
                    }
                    after_and = Some(s);
                    self.pos += 1;
                    continue;
                }
                Some(Tok::Or) => {
                    let s = self.span();
                    return Err(self.err(s.start, "OR needs a term on both sides"));
                }
                _ => {}
            }
            after_and = None;
            if let Some(q) = self.clause(depth)? {
                parts.push(q);
            }
        }
        if let Some(s) = after_and {
            return Err(self.err(s.start, "AND needs a term on both sides"));
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Query::And(Vec::new()))
        } else {
            Query::And(parts)
        })
    }

    /// alt ("OR" alt)*
    fn clause(&mut self, depth: usize) -> Result<Option<Query>, QueryError> {
        let mut alts = Vec::new();
        if let Some(q) = self.alt(depth)? {
            alts.push(q);
        }
        while let Some(Tok::Or) = self.peek() {
            let s = self.span();
            self.pos += 1;
            match self.peek() {
                None | Some(Tok::RParen) | Some(Tok::Or) | Some(Tok::And) => {
                    return Err(self.err(s.start, "OR needs a term on both sides"));
                }
                _ => {}
            }
            if let Some(q) = self.alt(depth)? {
                alts.push(q);
            }
        }
        Ok(match alts.len() {
            0 => None,
            1 => alts.pop(),
            _ => Some(Query::Or(alts)),
        })
    }

    fn alt(&mut self, depth: usize) -> Result<Option<Query>, QueryError> {
        if depth >= MAX_DEPTH {
            let s = self.span();
            return Err(self.err(s.start, "query is nested too deeply"));
        }
        let Some((tok, span)) = self.toks.get(self.pos).cloned() else {
            return Ok(None);
        };
        self.pos += 1;
        match tok {
            Tok::Minus => {
                match self.peek() {
                    None | Some(Tok::RParen) | Some(Tok::Or) | Some(Tok::And) => {
                        return Err(self.err(span.start, "expected a term after '-'"));
                    }
                    _ => {}
                }
                Ok(self.alt(depth + 1)?.map(|q| Query::Not(Box::new(exact(q)))))
            }
            Tok::Word(w) => Ok(self.word(&w, self.pos - 1)),
            Tok::Phrase(p) => Ok(phrase(&p)),
            Tok::Field(name) => {
                let value = match self.toks.get(self.pos).cloned() {
                    Some((Tok::Word(w), _)) | Some((Tok::Phrase(w), _)) => w,
                    _ => {
                        return Err(self.err(span.end, format!("expected a value after '{name}:'")))
                    }
                };
                self.pos += 1;
                let (text, prefix) = match value.strip_suffix('*') {
                    Some(v) => (v, true),
                    None => (value.as_str(), false),
                };
                let text = tokenize::fold(text);
                if text.is_empty() {
                    return Err(self.err(span.end, format!("expected a value after '{name}:'")));
                }
                Ok(Some(Query::Filter {
                    field: name,
                    value: FilterValue { text, prefix },
                }))
            }
            Tok::LParen => {
                if let Some(Tok::RParen) = self.peek() {
                    return Err(self.err(span.start, "empty parentheses"));
                }
                let q = self.query(depth + 1)?;
                match self.peek() {
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        Ok(Some(q))
                    }
                    _ => Err(self.err(span.start, "unclosed '('")),
                }
            }
            Tok::RParen => Err(self.err(span.start, "unmatched ')'")),
            Tok::Or | Tok::And => Err(self.err(span.start, "OR and AND need a term on both sides")),
        }
    }

    /// A bare word: one or more terms (`gpt-4` → `gpt` AND `4`); `word*` is a prefix.
    fn word(&self, w: &str, tok_index: usize) -> Option<Query> {
        let (body, star) = match w.strip_suffix('*') {
            Some(b) => (b, true),
            None => (w, false),
        };
        let terms = tokenize::tokens(body);
        let last_prefix = star || self.last_word == Some(tok_index);
        let n = terms.len();
        let mut qs: Vec<Query> = terms
            .into_iter()
            .enumerate()
            .map(|(i, term)| Query::Term {
                term,
                prefix: i + 1 == n && last_prefix,
                fuzzy: true,
            })
            .collect();
        match qs.len() {
            0 => None,
            1 => qs.pop(),
            _ => Some(Query::And(qs)),
        }
    }
}

fn phrase(p: &str) -> Option<Query> {
    let mut terms = tokenize::tokens(p);
    match terms.len() {
        0 => None,
        1 => Some(Query::Term {
            term: terms.pop().unwrap_or_default(),
            prefix: false,
            fuzzy: false,
        }),
        _ => Some(Query::Phrase(terms)),
    }
}

/// Negated terms match exactly: `-draft` must not also exclude `drafty` or `craft`.
fn exact(q: Query) -> Query {
    match q {
        Query::Term { term, .. } => Query::Term {
            term,
            prefix: false,
            fuzzy: false,
        },
        Query::And(v) => Query::And(v.into_iter().map(exact).collect()),
        Query::Or(v) => Query::Or(v.into_iter().map(exact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Query {
        parse(q, ParseOptions::default()).unwrap()
    }
    fn t(s: &str, prefix: bool) -> Query {
        Query::Term {
            term: s.into(),
            prefix,
            fuzzy: true,
        }
    }

    #[test]
    fn implicit_and_and_prefix_last() {
        assert_eq!(
            p("Customer sup"),
            Query::And(vec![t("customer", false), t("sup", true)])
        );
        assert_eq!(
            p("customer sup "),
            Query::And(vec![t("customer", false), t("sup", false)])
        );
    }

    #[test]
    fn or_binds_tighter_than_and() {
        assert_eq!(
            p("a OR b c "),
            Query::And(vec![
                Query::Or(vec![t("a", false), t("b", false)]),
                t("c", false)
            ])
        );
    }

    #[test]
    fn phrases_filters_negation_groups() {
        let q = p(r#""exact Phrase" -draft type:persona author:"Jane Doe" (x OR y*)"#);
        let Query::And(parts) = q else { panic!() };
        assert_eq!(
            parts[0],
            Query::Phrase(vec!["exact".into(), "phrase".into()])
        );
        assert_eq!(
            parts[1],
            Query::Not(Box::new(Query::Term {
                term: "draft".into(),
                prefix: false,
                fuzzy: false
            }))
        );
        assert_eq!(
            parts[2],
            Query::Filter {
                field: "type".into(),
                value: FilterValue {
                    text: "persona".into(),
                    prefix: false
                }
            }
        );
        assert_eq!(
            parts[3],
            Query::Filter {
                field: "author".into(),
                value: FilterValue {
                    text: "jane doe".into(),
                    prefix: false
                }
            }
        );
        assert_eq!(parts[4], Query::Or(vec![t("x", false), t("y", true)]));
    }

    #[test]
    fn empty_and_punctuation_only_match_all() {
        assert!(p("").is_match_all());
        assert!(p("  !!! ").is_match_all());
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = |q: &str| parse(q, ParseOptions::default()).unwrap_err();
        assert_eq!(e("a OR").position, 2);
        assert_eq!(e("OR a").position, 0);
        assert_eq!(e("(a b").position, 0);
        assert_eq!(e("a b)").position, 3);
        assert_eq!(e("()").position, 0);
        assert_eq!(e("x tag:").position, 6);
        assert!(e(&"(".repeat(100)).message.contains("nested"));
        assert!(e(&"a ".repeat(2000)).message.contains("too long"));
    }
}
