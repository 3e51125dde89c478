//! A deterministic synthetic library: documents shaped like the real corpus (persona
//! JSON and Prompty prompts), words drawn with their real frequencies from the
//! awesome-chatgpt-prompts vocabulary (`vocab.txt`, `names.txt`), plus a long tail of
//! rare pseudo-words so the dictionary grows with the library as real text does.
//! Same `(count, seed)` → byte-identical output on every machine.

use promptshelf_core::{ContentHash, DocType, Document, DocumentId};
use serde::Serialize;
use serde_json::json;

const VOCAB: &str = include_str!("../vocab.txt");
const NAMES: &str = include_str!("../names.txt");

const TAGS: &[&str] = &[
    "writing",
    "coding",
    "support",
    "marketing",
    "education",
    "travel",
    "health",
    "finance",
    "legal",
    "sql",
    "python",
    "javascript",
    "data",
    "design",
    "image",
    "music",
    "games",
    "career",
    "research",
    "productivity",
    "translation",
    "summarization",
    "chat",
    "evaluation",
    "rag",
    "agents",
    "security",
    "devops",
    "testing",
    "interview",
    "fitness",
    "cooking",
    "language",
    "history",
    "science",
    "math",
    "philosophy",
    "psychology",
    "sales",
    "hr",
    "product",
    "ux",
    "seo",
    "social media",
    "email",
    "customer service",
    "storytelling",
    "poetry",
    "comedy",
    "roleplay",
];
const FIRST: &[&str] = &[
    "Jane", "John", "Ana", "Wei", "Priya", "Omar", "Lena", "Carlos", "Yuki", "Sam", "Fatima",
    "Noah", "Ines", "Kofi", "Mila",
];
const LAST: &[&str] = &[
    "Doe", "Smith", "García", "Chen", "Patel", "Haddad", "Müller", "Silva", "Tanaka", "Okafor",
    "Novak", "Rossi", "Kim", "Dubois",
];
const APIS: &[&str] = &["chat", "chat", "chat", "completion", "responses"];
const SYLLABLES: &[&str] = &[
    "ka", "ro", "ti", "men", "sa", "lo", "vi", "dra", "qu", "el", "zan", "po", "ri", "tha", "mo",
    "ne", "gul", "fi", "bra", "sto", "xe", "lin", "da", "or", "pe", "ku", "sha", "vel", "tor",
    "ix",
];

/// splitmix64: tiny, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// Words with cumulative frequencies, for sampling by frequency.
pub struct Weighted {
    pub words: Vec<String>,
    cum: Vec<u64>,
}

impl Weighted {
    fn parse(text: &str) -> Weighted {
        let mut words = Vec::new();
        let mut cum = Vec::new();
        let mut total = 0u64;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut it = line.split_whitespace();
            if let (Some(w), Some(c)) = (it.next(), it.next()) {
                total += c.parse::<u64>().unwrap_or(1);
                words.push(w.to_owned());
                cum.push(total);
            }
        }
        Weighted { words, cum }
    }
    pub fn sample(&self, rng: &mut Rng) -> &str {
        let total = *self.cum.last().unwrap_or(&1);
        let x = rng.next() % total;
        let i = self.cum.partition_point(|&c| c <= x);
        &self.words[i.min(self.words.len() - 1)]
    }
}

pub struct Generator {
    pub vocab: Weighted,
    names: Weighted,
}

impl Default for Generator {
    fn default() -> Self {
        Generator {
            vocab: Weighted::parse(VOCAB),
            names: Weighted::parse(NAMES),
        }
    }
}

/// A rare pseudo-word: rank drawn from a heavy tail over ~10^6 possible words.
fn rare_word(rng: &mut Rng) -> String {
    // Log-uniform rank over 1..10^6 (Zipf with exponent 1): a few rare words recur,
    // most occur once or twice, and the dictionary keeps growing with the library.
    let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    let rank = (u * 6.0 * std::f64::consts::LN_10).exp() as u64;
    let mut r = Rng::new(rank.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let n = 2 + r.below(3);
    (0..n)
        .map(|_| SYLLABLES[r.below(SYLLABLES.len())])
        .collect()
}

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl Generator {
    fn sentence(&self, rng: &mut Rng, words: usize) -> String {
        let mut s = String::new();
        for i in 0..words {
            let w = if rng.chance(30) {
                rare_word(rng)
            } else {
                self.vocab.sample(rng).to_owned()
            };
            if i == 0 {
                s.push_str(&capitalize(&w));
            } else {
                s.push(' ');
                s.push_str(&w);
                if rng.chance(60) {
                    s.push(',');
                }
            }
        }
        s.push('.');
        s
    }

    fn text(&self, rng: &mut Rng, words: usize) -> String {
        let mut out = String::new();
        let mut left = words;
        while left > 0 {
            let n = (6 + rng.below(18)).min(left);
            if !out.is_empty() {
                out.push(if rng.chance(150) { '\n' } else { ' ' });
            }
            out.push_str(&self.sentence(rng, n));
            left -= n;
        }
        out
    }

    /// Body length in words: 40% short, 45% medium, 15% long (mean ~270 words).
    fn body_words(rng: &mut Rng) -> usize {
        match rng.below(100) {
            0..=39 => 40 + rng.below(80),
            40..=84 => 120 + rng.below(280),
            _ => 400 + rng.below(800),
        }
    }

    pub fn document(&self, rng: &mut Rng, i: usize) -> Document {
        let persona = rng.below(2) == 0;
        let name_words = 2 + rng.below(3);
        let name = (0..name_words)
            .map(|_| capitalize(self.names.sample(rng)))
            .collect::<Vec<_>>()
            .join(" ");
        let slug = name.to_lowercase().replace(' ', "-");
        let description = if rng.chance(700) {
            let n = 8 + rng.below(13);
            Some(self.sentence(rng, n))
        } else {
            None
        };
        let mut tags: Vec<String> = (0..1 + rng.below(4))
            .map(|_| {
                // Zipf over the tag list.
                let r = rng.below(TAGS.len() * 3);
                TAGS[(r * r) / (TAGS.len() * 9)].to_owned()
            })
            .collect();
        tags.sort();
        tags.dedup();
        let author = format!(
            "{} {}",
            FIRST[rng.below(FIRST.len())],
            LAST[rng.below(LAST.len())]
        );
        let words = Self::body_words(rng);
        let body = self.text(rng, words);
        let (doc_type, path, content) = if persona {
            let path = format!("personas/{i:06}-{slug}.json");
            let kind = ["TEXT", "STRUCTURED", "IMAGE"][rng.below(3)];
            let for_devs = rng.chance(300);
            let content = json!({
                "name": name, "system_prompt": body, "for_devs": for_devs,
                "type": kind,
                "contributor": author, "tags": tags,
            });
            (DocType::Persona, path, content)
        } else {
            let path = format!("prompts/{i:06}-{slug}.prompty");
            let api = APIS[rng.below(APIS.len())];
            let input = self.vocab.sample(rng).to_owned();
            let input_desc = self.sentence(rng, 6);
            let fm = json!({
                "name": name, "description": description, "metadata": {"authors": [author], "tags": tags},
                "model": {"api": api, "connection": {"azure_deployment": "gpt-4o"}},
                "inputs": {input.clone(): {"type": "string", "description": input_desc}},
                "template": {"format": "jinja2", "parser": "prompty"},
            });
            let content = json!({
                "shape": "v1", "model": {"api": api, "connection": {"azure_deployment": "gpt-4o"}},
                "inputs": {input: {"type": "string"}}, "frontmatter": fm, "body": body, "sections": [],
            });
            (DocType::PromptTemplate, path, content)
        };
        Document {
            id: DocumentId(
                path.rsplit_once('.')
                    .map_or(path.as_str(), |(a, _)| a)
                    .to_owned(),
            ),
            doc_type,
            name,
            hash: ContentHash::of(body.as_bytes()),
            path,
            description,
            tags,
            authors: vec![author],
            body,
            content,
        }
    }

    pub fn library(&self, n: usize, seed: u64) -> Vec<Document> {
        let mut rng = Rng::new(seed);
        (0..n).map(|i| self.document(&mut rng, i)).collect()
    }
}

/// One benchmark query in promptshelf syntax, with its MiniSearch equivalent.
#[derive(Debug, Clone, Serialize)]
pub struct BenchQuery {
    pub kind: &'static str,
    /// promptshelf query language.
    pub q: String,
    /// MiniSearch: the text to search.
    pub text: String,
    /// MiniSearch: prefix on the last term.
    pub prefix: bool,
    /// MiniSearch: a stored field that must equal a value (`type` or `tags`).
    pub filter: Option<(String, String)>,
}

/// The fixed query list: single words, two words, prefixes, misspellings, filters,
/// phrases — drawn from the same vocabulary and a few generated documents.
pub fn queries(g: &Generator, docs: &[Document], seed: u64) -> Vec<BenchQuery> {
    let mut rng = Rng::new(seed ^ 0xABCD);
    let mut out = Vec::new();
    let word = |rng: &mut Rng| -> String {
        loop {
            // Mid-frequency words: skip the ~100 most common (stop words).
            let i = 100 + rng.below(g.vocab.words.len() - 100);
            let w = &g.vocab.words[i];
            if w.len() >= 4 {
                return w.clone();
            }
        }
    };
    let plain = |kind: &'static str, text: String| BenchQuery {
        kind,
        q: format!("{text} "),
        text,
        prefix: false,
        filter: None,
    };
    for _ in 0..20 {
        let w = word(&mut rng);
        out.push(plain("word", w));
    }
    for _ in 0..20 {
        let t = format!("{} {}", word(&mut rng), word(&mut rng));
        out.push(plain("two words", t));
    }
    for _ in 0..15 {
        let a = word(&mut rng);
        let w = word(&mut rng);
        let cut = 3 + rng.below(3);
        let p: String = w.chars().take(cut).collect();
        let text = if rng.below(2) == 0 {
            p
        } else {
            format!("{a} {p}")
        };
        out.push(BenchQuery {
            kind: "prefix",
            q: text.clone(),
            text,
            prefix: true,
            filter: None,
        });
    }
    for _ in 0..15 {
        let w: Vec<char> = loop {
            let w = word(&mut rng);
            if w.len() >= 5 {
                break w.chars().collect();
            }
        };
        let i = 1 + rng.below(w.len() - 2);
        let mut m = w.clone();
        match rng.below(3) {
            0 => {
                m.remove(i);
            }
            1 => m.swap(i, i + 1),
            _ => m[i] = if m[i] == 'e' { 'a' } else { 'e' },
        }
        out.push(plain("misspelling", m.into_iter().collect()));
    }
    for k in 0..10 {
        let w = word(&mut rng);
        let (field, value) = if k % 2 == 0 {
            (
                "type",
                if rng.below(2) == 0 {
                    "persona"
                } else {
                    "prompt_template"
                }
                .to_owned(),
            )
        } else {
            ("tags", TAGS[rng.below(12)].to_owned())
        };
        let qf = if field == "type" {
            format!("type:{value}")
        } else {
            format!("tag:\"{value}\"")
        };
        out.push(BenchQuery {
            kind: "filter",
            q: format!("{qf} {w} "),
            text: w,
            prefix: false,
            filter: Some((field.to_owned(), value)),
        });
    }
    for _ in 0..10 {
        let d = &docs[rng.below(docs.len())];
        let toks: Vec<&str> = d.body.split_whitespace().collect();
        let i = rng.below(toks.len().saturating_sub(2).max(1));
        let clean = |s: &str| {
            s.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        };
        let text = format!(
            "{} {}",
            clean(toks[i]),
            clean(toks.get(i + 1).copied().unwrap_or("the"))
        );
        out.push(BenchQuery {
            kind: "phrase",
            q: format!("\"{text}\""),
            text,
            prefix: false,
            filter: None,
        });
    }
    out
}
