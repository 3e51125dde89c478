//! Splits a Prompty file into YAML front matter and body, line by line.
//!
//! The reference runtime uses a regex that takes the text between the first two
//! `---`/`+++` delimiters. We apply the same rule to whole lines, which is what the
//! format documents and what people mean: the file may start with blank lines, then an
//! opening line that is exactly `---` (or `+++`, trailing spaces allowed); the front
//! matter ends at the next line that is exactly `---`/`+++` at column 1. Every later
//! `---` is body text (a Markdown rule, say). A file whose first non-blank line is not a
//! fence has no front matter: all of it is body (the spec's "instructions only" case).

use super::position::{to_u32, Pos};

/// The front matter's YAML text and where it sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatter<'a> {
    /// The YAML text between the fences.
    pub yaml: &'a str,
    /// 1-based file line of the YAML's first line (the line after the opening fence).
    pub first_line: u32,
}

/// A Prompty file cut at its front-matter fences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The front matter, when the file has one.
    pub front: Option<FrontMatter<'a>>,
    /// Everything after the closing fence (the whole file without front matter).
    pub body: &'a str,
    /// 1-based file line on which `body` starts.
    pub body_line: u32,
}

/// The opening fence has no matching closing line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclosed {
    /// Where the opening fence is.
    pub pos: Pos,
}

fn is_fence(line: &str) -> bool {
    matches!(line.trim_end(), "---" | "+++")
}

/// Lines with their byte offsets; the last line may lack a `\n`.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |l| {
        let start = offset;
        offset += l.len();
        (start, l.strip_suffix('\n').unwrap_or(l))
    })
}

/// `text` must already have CRLF turned into LF.
pub fn split(text: &str) -> Result<Split<'_>, Unclosed> {
    let mut it = lines(text).enumerate();
    let opening = loop {
        match it.next() {
            None => {
                return Ok(Split {
                    front: None,
                    body: text,
                    body_line: 1,
                })
            }
            Some((_, (_, l))) if l.trim().is_empty() => continue,
            Some((i, (_, l))) if is_fence(l.trim_start()) => break i,
            Some(_) => {
                return Ok(Split {
                    front: None,
                    body: text,
                    body_line: 1,
                })
            }
        }
    };
    let yaml_start = lines(text)
        .nth(opening + 1)
        .map_or(text.len(), |(off, _)| off);
    for (i, (off, l)) in it {
        if is_fence(l) {
            let body_start = (off + l.len() + 1).min(text.len());
            return Ok(Split {
                front: Some(FrontMatter {
                    yaml: &text[yaml_start..off],
                    first_line: to_u32(opening + 2),
                }),
                body: &text[body_start..],
                body_line: to_u32(i + 2),
            });
        }
    }
    let column = text
        .lines()
        .nth(opening)
        .map_or(1, |l| l.len() - l.trim_start().len() + 1);
    Err(Unclosed {
        pos: Pos::new(to_u32(opening + 1), to_u32(column)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (Option<(String, u32)>, String, u32) {
        let s = split(text).expect("closed");
        (
            s.front.map(|f| (f.yaml.to_owned(), f.first_line)),
            s.body.to_owned(),
            s.body_line,
        )
    }

    #[test]
    fn standard() {
        let (fm, body, line) = ok("---\nname: test\n---\nHello world");
        assert_eq!(fm, Some(("name: test\n".into(), 2)));
        assert_eq!(body, "Hello world");
        assert_eq!(line, 4);
    }

    #[test]
    fn no_front_matter_is_all_body() {
        let (fm, body, _) = ok("Just a prompt with no frontmatter");
        assert_eq!(fm, None);
        assert_eq!(body, "Just a prompt with no frontmatter");
        let (fm, _, _) = ok("text\n---\nmore\n---\n");
        assert_eq!(fm, None);
    }

    #[test]
    fn empty_front_matter() {
        let (fm, body, _) = ok("---\n---\nBody only");
        assert_eq!(fm, Some((String::new(), 2)));
        assert_eq!(body, "Body only");
    }

    #[test]
    fn leading_whitespace_and_blank_lines() {
        let (fm, body, line) = ok("\n  ---\nname: test\n---\nBody");
        assert_eq!(fm, Some(("name: test\n".into(), 3)));
        assert_eq!(body, "Body");
        assert_eq!(line, 5);
    }

    #[test]
    fn later_fences_are_body_text() {
        let (_, body, _) = ok("---\na: 1\n---\nintro\n---\nuser:\nhi\n");
        assert_eq!(body, "intro\n---\nuser:\nhi\n");
    }

    #[test]
    fn fence_must_be_whole_line() {
        let (fm, _, _) = ok("---\na: x --- y\nb: |\n  ---\n---\nbody");
        assert_eq!(fm.unwrap().0, "a: x --- y\nb: |\n  ---\n");
        let (fm, _, _) = ok("---   \na: 1\n--- \nbody");
        assert_eq!(fm.unwrap().0, "a: 1\n");
        let (fm, _, _) = ok("+++\na: 1\n+++\nbody");
        assert_eq!(fm.unwrap().0, "a: 1\n");
    }

    #[test]
    fn fence_at_end_of_file() {
        let (fm, body, _) = ok("---\na: 1\n---");
        assert_eq!(fm.unwrap().0, "a: 1\n");
        assert_eq!(body, "");
    }

    #[test]
    fn unclosed() {
        assert_eq!(
            split("\n ---\nname: x\n"),
            Err(Unclosed {
                pos: Pos::new(2, 2)
            })
        );
    }
}
