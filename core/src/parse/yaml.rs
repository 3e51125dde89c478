//! YAML → `serde_json::Value`, built from `libyaml-safer`'s event stream.
//!
//! Why events and not a serde YAML crate: we need (1) line/column on every error,
//! including our own checks, (2) hard bounds on alias expansion and nesting depth, so an
//! "alias bomb" or `[[[[...` fails fast instead of eating memory or the stack, and (3) a
//! deliberate mapping of YAML's richer data model onto JSON. `libyaml-safer` is a safe
//! Rust port of libyaml, the same parser PyYAML (the reference Prompty runtime's YAML)
//! uses, so it accepts what real `.prompty` files contain (for example multi-line flow
//! collections that stricter YAML 1.2 parsers reject). Its parser is an explicit state
//! machine, and this builder keeps its own stack, so depth never touches the native stack.
//!
//! Decisions (documented in docs/document-format.md):
//! - Scalars resolve by the YAML 1.2 core schema (`yes`/`no`/`on`/`off` stay strings).
//! - `.inf`/`.nan`, and integers too large for 64 bits, have no JSON form: they are kept
//!   as the string that was written, never silently changed into another number.
//! - Mapping keys must be scalars; a key is the scalar's text as written (`1: x` → `"1"`).
//!   Sequence or mapping keys are an error. Duplicate keys are an error (YAML requires
//!   unique keys; a duplicate is almost always an editing mistake).
//! - Core-schema tags (`!!str`, `!!int`, ...) are honoured; other tags (`!include`,
//!   `!!python/...`) are an error, as in the reference runtime's safe loader.
//! - Only one YAML document is allowed.

use super::position::{pos_of_offset, to_u32, Pos};
use libyaml_safer::{Error as LibError, EventData, Mark, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Deepest nesting of sequences/mappings accepted; same as serde_json's JSON limit.
pub const MAX_DEPTH: usize = 128;

/// Positions are recorded for nodes up to this many path segments deep (`/model/api` is
/// 2), which is what the normalisation reports errors about.
const MAX_POSITION_DEPTH: usize = 3;

const CORE: &str = "tag:yaml.org,2002:";

/// An error inside the YAML text; `pos` is relative to the YAML text (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where, in the YAML text.
    pub pos: Pos,
    /// What is wrong, for humans.
    pub message: String,
}

/// A loaded YAML document plus the start position of shallow nodes, keyed by JSON
/// pointer (`""` is the root, `/model/api`, `/inputs/0`).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The YAML as JSON.
    pub value: Value,
    /// Start positions by JSON pointer, for field errors.
    pub positions: HashMap<String, Pos>,
}

/// Parses one YAML document. `Ok(None)` when the text holds no document at all (empty
/// or only comments).
pub fn load(text: &str) -> Result<Option<Loaded>, YamlError> {
    Builder::new(text.len(), true).run(text)
}

/// [`load`] without recording positions (`Loaded::positions` is empty): the same value
/// and the same errors, cheaper. Load again with [`load`] to locate a problem found in
/// the value.
pub fn load_without_positions(text: &str) -> Result<Option<Loaded>, YamlError> {
    Builder::new(text.len(), false).run(text)
}

/// A finished node: its value, its cost (nodes + string bytes, what it occupies in
/// memory, roughly) and its height (nesting depth below it).
#[derive(Clone)]
struct Node {
    value: Value,
    weight: usize,
    height: usize,
}

enum Container {
    Seq(Vec<Value>),
    /// The key waiting for its value, with its position.
    Map(Map<String, Value>, Option<(String, Pos)>),
}

struct Frame {
    container: Container,
    anchor: Option<String>,
    weight: usize,
    height: usize,
    /// JSON pointer of this container, when shallow enough to record positions.
    pointer: Option<String>,
    start: Pos,
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<String, Node>,
    positions: HashMap<String, Pos>,
    /// Total weight materialised so far, aliases and anchor copies included.
    spent: usize,
    budget: usize,
    root: Option<Node>,
    documents: usize,
    /// Whether `positions` is filled.
    record: bool,
}

fn pos_of(mark: Mark) -> Pos {
    Pos::new(
        to_u32(
            usize::try_from(mark.line)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        ),
        to_u32(
            usize::try_from(mark.column)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        ),
    )
}

fn err(pos: Pos, message: impl Into<String>) -> YamlError {
    YamlError {
        pos,
        message: message.into(),
    }
}

fn lib_error(e: &LibError, text: &str) -> YamlError {
    let pos = match e.problem_mark() {
        Some(m) => pos_of(m),
        // Reader errors (bad characters) carry a byte offset instead of a mark.
        None => match e
            .to_string()
            .rsplit_once("(offset ")
            .and_then(|(_, r)| r.split(',').next()?.parse::<usize>().ok())
        {
            Some(offset) => pos_of_offset(text.as_bytes(), offset),
            None => Pos::new(1, 1),
        },
    };
    let message = match e.context() {
        Some(c) if !c.is_empty() => format!("invalid YAML: {} ({c})", e.problem()),
        _ => format!("invalid YAML: {}", e.problem()),
    };
    err(pos, message)
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

impl Builder {
    fn new(input_len: usize, record: bool) -> Builder {
        Builder {
            stack: Vec::new(),
            anchors: HashMap::new(),
            positions: HashMap::new(),
            spent: 0,
            // Without aliases the weight stays near the input size; 8x plus a floor
            // leaves room for honest anchors and stops exponential expansion early.
            budget: input_len.saturating_mul(8).max(1 << 20),
            root: None,
            documents: 0,
            record,
        }
    }

    fn run(mut self, text: &str) -> Result<Option<Loaded>, YamlError> {
        let mut input = text.as_bytes();
        let mut parser = Parser::new();
        parser.set_input_string(&mut input);
        loop {
            let event = parser.parse().map_err(|e| lib_error(&e, text))?;
            if matches!(event.data, EventData::StreamEnd) {
                break;
            }
            self.on_event(event.data, pos_of(event.start_mark))?;
        }
        Ok(self.root.map(|n| Loaded {
            value: n.value,
            positions: self.positions,
        }))
    }

    fn spend(&mut self, weight: usize, pos: Pos) -> Result<(), YamlError> {
        self.spent = self.spent.saturating_add(weight);
        if self.spent > self.budget {
            return Err(err(
                pos,
                "YAML expands to far more data than the file holds (too many aliases: an alias bomb?)",
            ));
        }
        Ok(())
    }

    /// The pointer a new child of the current top container will have, if recorded.
    fn child_pointer(&self) -> Option<String> {
        if !self.record {
            return None;
        }
        let Some(top) = self.stack.last() else {
            return Some(String::new());
        };
        if self.stack.len() > MAX_POSITION_DEPTH {
            return None;
        }
        let parent = top.pointer.as_ref()?;
        match &top.container {
            Container::Seq(items) => Some(format!("{parent}/{}", items.len())),
            Container::Map(_, Some((key, _))) => Some(format!("{parent}/{}", escape_pointer(key))),
            Container::Map(_, None) => None,
        }
    }

    fn awaiting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                container: Container::Map(_, None),
                ..
            })
        )
    }

    fn on_event(&mut self, event: EventData, pos: Pos) -> Result<(), YamlError> {
        match event {
            EventData::StreamStart { .. }
            | EventData::StreamEnd
            | EventData::DocumentEnd { .. } => Ok(()),
            EventData::DocumentStart { .. } => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(err(
                        pos,
                        "the front matter holds more than one YAML document",
                    ));
                }
                Ok(())
            }
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                if self.awaiting_key() {
                    return self.set_key(value, pos);
                }
                let weight = 1 + value.len();
                let resolved = resolve_scalar(&value, style, tag.as_deref(), pos)?;
                self.spend(weight, pos)?;
                self.finish(
                    Node {
                        value: resolved,
                        weight,
                        height: 0,
                    },
                    anchor,
                    pos,
                )
            }
            EventData::Alias { anchor } => {
                let Some(node) = self.anchors.get(&anchor).cloned() else {
                    return Err(err(
                        pos,
                        format!("alias *{anchor} refers to an unknown anchor"),
                    ));
                };
                self.spend(node.weight, pos)?;
                if self.awaiting_key() {
                    let key = match &node.value {
                        Value::String(s) => s.clone(),
                        Value::Array(_) | Value::Object(_) => {
                            return Err(err(
                                pos,
                                "a mapping key must be a scalar, not a sequence or mapping",
                            ))
                        }
                        other => other.to_string(),
                    };
                    return self.set_key(key, pos);
                }
                if self.stack.len() + node.height > MAX_DEPTH {
                    return Err(too_deep(pos));
                }
                self.finish(node, None, pos)
            }
            EventData::SequenceStart { anchor, tag, .. } => {
                self.open(Container::Seq(Vec::new()), anchor, tag.as_deref(), pos)
            }
            EventData::MappingStart { anchor, tag, .. } => self.open(
                Container::Map(Map::new(), None),
                anchor,
                tag.as_deref(),
                pos,
            ),
            EventData::SequenceEnd | EventData::MappingEnd => self.close(pos),
        }
    }

    fn open(
        &mut self,
        container: Container,
        anchor: Option<String>,
        tag: Option<&str>,
        pos: Pos,
    ) -> Result<(), YamlError> {
        if self.awaiting_key() {
            return Err(err(
                pos,
                "a mapping key must be a scalar, not a sequence or mapping",
            ));
        }
        if let Some(tag) = tag {
            let ok = tag == "!"
                || tag
                    .strip_prefix(CORE)
                    .is_some_and(|t| matches!(t, "seq" | "map" | "omap" | "set"));
            if !ok {
                return Err(unsupported_tag(tag, pos));
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(too_deep(pos));
        }
        self.spend(1, pos)?;
        let pointer = self.child_pointer();
        self.stack.push(Frame {
            container,
            anchor,
            weight: 1,
            height: 0,
            pointer,
            start: pos,
        });
        Ok(())
    }

    fn close(&mut self, pos: Pos) -> Result<(), YamlError> {
        let Some(frame) = self.stack.pop() else {
            return Err(err(pos, "unbalanced YAML structure"));
        };
        let value = match frame.container {
            Container::Seq(items) => Value::Array(items),
            Container::Map(map, None) => Value::Object(map),
            Container::Map(_, Some((key, kpos))) => {
                return Err(err(kpos, format!("key `{key}` has no value")))
            }
        };
        let node = Node {
            value,
            weight: frame.weight,
            height: frame.height + 1,
        };
        self.finish(node, frame.anchor, frame.start)
    }

    fn set_key(&mut self, key: String, pos: Pos) -> Result<(), YamlError> {
        self.spend(1 + key.len(), pos)?;
        if let Some(Frame {
            container: Container::Map(map, pending),
            ..
        }) = self.stack.last_mut()
        {
            if map.contains_key(&key) {
                return Err(err(pos, format!("duplicate key `{key}` in a mapping")));
            }
            *pending = Some((key, pos));
        }
        Ok(())
    }

    /// Places a finished node into its parent (or makes it the root).
    fn finish(&mut self, node: Node, anchor: Option<String>, pos: Pos) -> Result<(), YamlError> {
        if let Some(anchor) = anchor {
            // Keeping a copy for later aliases costs memory too.
            self.spend(node.weight, pos)?;
            self.anchors.insert(anchor, node.clone());
        }
        if let Some(pointer) = self.child_pointer() {
            self.positions.entry(pointer).or_insert(pos);
        }
        let Some(top) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        top.weight = top.weight.saturating_add(node.weight);
        top.height = top.height.max(node.height);
        match &mut top.container {
            Container::Seq(items) => items.push(node.value),
            Container::Map(map, pending) => {
                if let Some((key, _)) = pending.take() {
                    map.insert(key, node.value);
                }
            }
        }
        Ok(())
    }
}

fn too_deep(pos: Pos) -> YamlError {
    err(
        pos,
        format!("YAML nesting is too deep (the limit is {MAX_DEPTH} levels)"),
    )
}

fn unsupported_tag(tag: &str, pos: Pos) -> YamlError {
    let tag = match tag.strip_prefix(CORE) {
        Some(t) => format!("!!{t}"),
        None => tag.to_owned(),
    };
    err(pos, format!("unsupported YAML tag `{tag}`"))
}

/// Resolves one scalar to JSON by the YAML 1.2 core schema (plus core-schema tags).
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&str>,
    pos: Pos,
) -> Result<Value, YamlError> {
    if let Some(tag) = tag {
        if tag == "!" {
            return Ok(Value::String(text.to_owned()));
        }
        let Some(core) = tag.strip_prefix(CORE) else {
            return Err(unsupported_tag(tag, pos));
        };
        let bad = |what: &str| err(pos, format!("`{text}` is not a valid YAML {what}"));
        return match core {
            "str" | "binary" | "timestamp" => Ok(Value::String(text.to_owned())),
            "null" => Ok(Value::Null),
            "bool" => parse_bool(text).map(Value::Bool).ok_or_else(|| bad("bool")),
            "int" => parse_int(text).ok_or_else(|| bad("integer")),
            "float" => parse_float(text)
                .or_else(|| parse_int(text))
                .ok_or_else(|| bad("float")),
            _ => Err(unsupported_tag(tag, pos)),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = parse_bool(text) {
        return Ok(Value::Bool(b));
    }
    if let Some(v) = parse_int(text).or_else(|| parse_float(text)) {
        return Ok(v);
    }
    Ok(Value::String(text.to_owned()))
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Core-schema integers: decimal with optional sign, `0o` octal, `0x` hex. Integers
/// beyond 64 bits stay strings (lossless), so `None` is only for "not an integer".
fn parse_int(text: &str) -> Option<Value> {
    let (radix, digits, negative) = if let Some(h) = text.strip_prefix("0x") {
        (16, h, false)
    } else if let Some(o) = text.strip_prefix("0o") {
        (8, o, false)
    } else if let Some(d) = text.strip_prefix('-') {
        (10, d, true)
    } else {
        (10, text.strip_prefix('+').unwrap_or(text), false)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let Ok(magnitude) = u64::from_str_radix(digits, radix) else {
        return Some(Value::String(text.to_owned()));
    };
    if !negative {
        return Some(Value::Number(Number::from(magnitude)));
    }
    match i64::try_from(magnitude) {
        Ok(m) => Some(Value::Number(Number::from(-m))),
        Err(_) if magnitude == 1u64 << 63 => Some(Value::Number(Number::from(i64::MIN))),
        Err(_) => Some(Value::String(text.to_owned())),
    }
}

/// Core-schema floats. `.inf`/`.nan` (and overflow to infinity) have no JSON form and
/// stay strings.
fn parse_float(text: &str) -> Option<Value> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(Value::String(text.to_owned()));
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac_part {
        // `1.`, `1.5`, `.5` — but not `.`
        Some(f) => digits(int_part) && digits(f) && !(int_part.is_empty() && f.is_empty()),
        None => !int_part.is_empty() && digits(int_part),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    let f: f64 = text.parse().ok()?;
    Some(match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => Value::String(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        load(text).expect("valid").expect("non-empty").value
    }

    fn error(text: &str) -> YamlError {
        load(text).expect_err("should fail")
    }

    #[test]
    fn core_schema_scalars() {
        let v = value(
            "a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf: yes\ng: '1'\nh: 0x1F\ni: 0o17\nj: .inf\nk: .nan\nl: 99999999999999999999\nm: 1e3\nn:\no: +7\np: 1.\n",
        );
        assert_eq!(
            v,
            json!({"a":1,"b":-2,"c":1.5,"d":true,"e":null,"f":"yes","g":"1","h":31,"i":15,
                   "j":".inf","k":".nan","l":"99999999999999999999","m":1000.0,"n":null,"o":7,"p":1.0})
        );
    }

    #[test]
    fn keys_are_scalar_text_and_order_is_kept() {
        let v = value("z: 1\n1: one\ntrue: t\nnull: n\n");
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "1", "true", "null"]);
    }

    #[test]
    fn complex_keys_are_errors() {
        let e = error("? [a, b]\n: 1\n");
        assert!(e.message.contains("mapping key must be a scalar"), "{e:?}");
    }

    #[test]
    fn duplicate_keys_are_errors_with_position() {
        let e = error("name: a\nother: 1\nname: b\n");
        assert_eq!(e.pos, Pos::new(3, 1));
        assert!(e.message.contains("duplicate key `name`"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = error("a: [unclosed\nb: 2\n");
        assert!(e.message.starts_with("invalid YAML"), "{e:?}");
        assert!(e.pos.line >= 1);
        let e = error("a: 1\n b: 2\n");
        assert_eq!(e.pos.line, 2, "{e:?}");
    }

    #[test]
    fn multi_line_flow_collections_like_pyyaml() {
        // Real promptflow files close a flow list at the key's indentation.
        let v = value("x:\n  d: [\n        {\n          \"r\": \"u\"\n        },\n    ]\n");
        assert_eq!(v, json!({"x": {"d": [{"r": "u"}]}}));
    }

    #[test]
    fn control_characters_are_errors_with_position() {
        let e = error("a: 1\nb: x\u{1}\n");
        assert_eq!(e.pos, Pos::new(2, 5));
        assert!(e.message.contains("control characters"), "{e:?}");
    }

    #[test]
    fn aliases_are_expanded() {
        let v = value("base: &b {x: 1}\nuse: *b\nlist: [*b, *b]\n");
        assert_eq!(v["use"], json!({"x": 1}));
        assert_eq!(v["list"], json!([{"x": 1}, {"x": 1}]));
    }

    #[test]
    fn alias_bombs_are_errors_not_hangs() {
        let mut s = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            s.push_str(&format!("{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
            prev = n;
        }
        let start = std::time::Instant::now();
        let e = error(&s);
        assert!(e.message.contains("alias bomb"), "{e:?}");
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = error(&deep);
        assert!(e.message.contains("too deep"), "{e:?}");
        let block: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(error(&block).message.contains("the limit is 128"));
        // Just under the limit is fine.
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(load(&ok).is_ok());
    }

    #[test]
    fn deep_alias_reuse_counts_depth() {
        let inner = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let s = format!("a: &a {inner}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
        assert!(error(&s).message.contains("too deep"));
    }

    #[test]
    fn tags() {
        let v = value("a: !!str 12\nb: !!int '7'\nc: ! 5\nd: !!float 1\ne: ! {x: 1}\n");
        assert_eq!(v, json!({"a":"12","b":7,"c":"5","d":1.0,"e":{"x":1}}));
        assert!(error("a: !include x.yaml\n")
            .message
            .contains("unsupported YAML tag"));
        assert!(error("a: !!int nope\n")
            .message
            .contains("not a valid YAML integer"));
    }

    #[test]
    fn empty_and_multi_document() {
        assert_eq!(load("").unwrap(), None);
        assert_eq!(load("# only a comment\n").unwrap(), None);
        assert!(error("a: 1\n...\n---\nb: 2\n")
            .message
            .contains("more than one"));
    }

    #[test]
    fn loading_without_positions_gives_the_same_value_and_errors() {
        for text in [
            "name: x\nmodel:\n  api: chat\ntags: [a, b]\n",
            "a: &x [1, 2]\nb: *x\n",
            "a: [1, 2\n",
            "a: 1\na: 2\n",
            "",
        ] {
            let with = load(text);
            let without = load_without_positions(text);
            match (with, without) {
                (Ok(w), Ok(wo)) => {
                    assert_eq!(w.map(|l| l.value), wo.as_ref().map(|l| l.value.clone()));
                    assert!(wo.is_none_or(|l| l.positions.is_empty()));
                }
                (Err(a), Err(b)) => assert_eq!((a.pos, a.message), (b.pos, b.message)),
                (a, b) => panic!("{text:?}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn positions_of_shallow_nodes() {
        let l = load("name: x\nmodel:\n  api: chat\ntags: [a, b]\n")
            .unwrap()
            .unwrap();
        assert_eq!(l.positions["/name"], Pos::new(1, 7));
        assert_eq!(l.positions["/model/api"], Pos::new(3, 8));
        assert_eq!(l.positions["/tags/1"], Pos::new(4, 11));
    }
}
