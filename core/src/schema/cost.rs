//! How much work validating one value against a user schema can take, computed from the
//! schema before any value is checked, so that a hostile schema is an error and not a
//! hang (boon has no time or step limit, and the core cannot use a timer or a thread).
//!
//! Two ways validation blows up:
//! - **Same value, many times.** `anyOf`/`oneOf`/`allOf`/`not`/`if`/`$ref` apply their
//!   subschemas to the same value. Nesting them over shared `$ref`s (`a0: anyOf [a1, a1]`,
//!   `a1: anyOf [a2, a2]`, ...) makes 2^n checks of one value: 2^22 took 42 s. The number
//!   of schema nodes one value meets is [`Cost::per_value`]; over [`MAX_CHECKS`] the
//!   schema is refused when compiled.
//! - **Recursion that fans out.** When a schema reaches itself again through a child
//!   value more than once for the same child (`a: anyOf [{items: a}, {items: a}]`), each
//!   level of the value doubles the work: 2^depth. [`Cost::fan_out`] is the largest such
//!   factor; a value is then checked only when `per_value × fan_out^depth` stays under
//!   [`MAX_CHECKS`], otherwise it gets one violation saying so (the schema is fine for
//!   shallow values, so it is not refused).
//!
//! `$ref`s are resolved like boon does (against `$id` bases, JSON pointers, `$anchor`s)
//! among the documents the host handed over; one that does not resolve is boon's to
//! report.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use url::Url;

/// Schema nodes one document may be checked against, in total (about a second of boon's
/// work at the very worst; real schemas stay in the hundreds).
pub const MAX_CHECKS: u64 = 1_000_000;

/// `$ref` chains (and nesting) deeper than this make the schema an error: the analysis,
/// like boon's own validation, recurses along them.
const MAX_DEPTH: usize = 1_000;

/// What [`analyse`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// The most schema nodes applied to any one value.
    pub per_value: u64,
    /// The most times a recursive schema reaches itself for one child value (1 when it
    /// never does more than once: validation time is then linear in the value's size).
    pub fan_out: u64,
}

impl Cost {
    /// Schema nodes a value nested `depth` levels deep may be checked against, at most.
    pub fn bound(&self, depth: usize) -> u64 {
        let depth = u32::try_from(depth).unwrap_or(u32::MAX);
        self.per_value
            .saturating_mul(self.fan_out.saturating_pow(depth))
    }
}

/// Which value an applicator's subschema applies to: the same one, or a child.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Edge {
    Same(usize),
    /// A child by key (`properties`, `prefixItems` as `#0`, `#1`, ...), or every child (`*`).
    Child(String, usize),
}

struct Graph<'a> {
    docs: &'a BTreeMap<String, Value>,
    /// A document's root `$id` (resolved) → its key in `docs`.
    aliases: HashMap<String, &'a str>,
    nodes: Vec<(&'a Value, Url)>,
    index: HashMap<*const Value, usize>,
    edges: Vec<Vec<Edge>>,
}

/// The cost of validating against the schema at `root` (a key of `docs`).
pub fn analyse(root: &str, docs: &BTreeMap<String, Value>) -> Result<Cost, String> {
    let Some(root_doc) = docs.get(root) else {
        return Ok(Cost {
            per_value: 1,
            fan_out: 1,
        });
    };
    let mut aliases = HashMap::new();
    for (k, d) in docs {
        if let (Ok(base), Some(id)) = (Url::parse(k), d.get("$id").and_then(Value::as_str)) {
            if let Ok(u) = base.join(id) {
                aliases.insert(without_fragment(&u), k.as_str());
            }
        }
    }
    let mut g = Graph {
        docs,
        aliases,
        nodes: Vec::new(),
        index: HashMap::new(),
        edges: Vec::new(),
    };
    let base = Url::parse(root).map_err(|e| format!("{root}: {e}"))?;
    g.add(root_doc, &base);
    let mut next = 0;
    while next < g.nodes.len() {
        g.expand(next);
        next += 1;
    }
    let per_value = g.per_value()?;
    if per_value > MAX_CHECKS {
        return Err(format!(
            "validating one value would take about {per_value} checks (over {MAX_CHECKS}): \
             anyOf/oneOf/allOf nested over the same $refs multiply"
        ));
    }
    let fan_out = g.fan_out()?;
    Ok(Cost { per_value, fan_out })
}

fn without_fragment(u: &Url) -> String {
    let mut u = u.clone();
    u.set_fragment(None);
    u.to_string()
}

/// The keywords whose values are not schemas (never walked into).
fn is_data_keyword(k: &str) -> bool {
    matches!(
        k,
        "const" | "enum" | "default" | "examples" | "example" | "$defs" | "definitions"
    )
}

impl<'a> Graph<'a> {
    /// The node for `v` (its base: `base`, moved by its own `$id`).
    fn add(&mut self, v: &'a Value, base: &Url) -> usize {
        let key = v as *const Value;
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let base = match v.get("$id").and_then(Value::as_str) {
            Some(id) => base.join(id).unwrap_or_else(|_| base.clone()),
            None => base.clone(),
        };
        let i = self.nodes.len();
        self.nodes.push((v, base));
        self.edges.push(Vec::new());
        self.index.insert(key, i);
        i
    }

    fn expand(&mut self, i: usize) {
        let (v, base) = (self.nodes[i].0, self.nodes[i].1.clone());
        let Value::Object(map) = v else { return };
        let mut edges = Vec::new();
        for (k, child) in map {
            if is_data_keyword(k) {
                continue;
            }
            match (k.as_str(), child) {
                ("$ref" | "$dynamicRef" | "$recursiveRef", Value::String(r)) => {
                    if let Some((target, tbase)) = self.resolve(&base, r) {
                        edges.push(Edge::Same(self.add(target, &tbase)));
                    }
                }
                ("allOf" | "anyOf" | "oneOf", Value::Array(items)) => {
                    for s in items {
                        edges.push(Edge::Same(self.add(s, &base)));
                    }
                }
                ("not" | "if" | "then" | "else", s) => edges.push(Edge::Same(self.add(s, &base))),
                ("dependentSchemas" | "dependencies", Value::Object(m)) => {
                    for s in m.values().filter(|s| s.is_object() || s.is_boolean()) {
                        edges.push(Edge::Same(self.add(s, &base)));
                    }
                }
                ("properties", Value::Object(m)) => {
                    for (name, s) in m {
                        edges.push(Edge::Child(name.clone(), self.add(s, &base)));
                    }
                }
                ("patternProperties", Value::Object(m)) => {
                    for s in m.values() {
                        edges.push(Edge::Child("*".into(), self.add(s, &base)));
                    }
                }
                ("prefixItems" | "items", Value::Array(items)) => {
                    for (n, s) in items.iter().enumerate() {
                        edges.push(Edge::Child(format!("#{n}"), self.add(s, &base)));
                    }
                }
                (
                    "items"
                    | "additionalItems"
                    | "unevaluatedItems"
                    | "contains"
                    | "additionalProperties"
                    | "unevaluatedProperties"
                    | "propertyNames",
                    s,
                ) if s.is_object() || s.is_boolean() => {
                    edges.push(Edge::Child("*".into(), self.add(s, &base)));
                }
                _ => {}
            }
        }
        self.edges[i] = edges;
    }

    /// The subschema `r` refers to from a node whose base is `base`, and its base.
    fn resolve(&self, base: &Url, r: &str) -> Option<(&'a Value, Url)> {
        let target = base.join(r).ok()?;
        let fragment = target.fragment().unwrap_or("").to_owned();
        let doc_url = without_fragment(&target);
        let key = if self.docs.contains_key(&doc_url) {
            doc_url.as_str()
        } else {
            self.aliases.get(&doc_url).copied()?
        };
        let doc = self.docs.get(key)?;
        let doc_base = {
            let k = Url::parse(key).ok()?;
            match doc.get("$id").and_then(Value::as_str) {
                Some(id) => k.join(id).unwrap_or(k),
                None => k,
            }
        };
        let fragment = percent_decode(&fragment);
        let v = if fragment.is_empty() {
            doc
        } else if fragment.starts_with('/') {
            doc.pointer(&fragment)?
        } else {
            find_anchor(doc, &fragment, 0)?
        };
        Some((v, doc_base))
    }

    /// The most nodes one value meets (same-value edges expanded; a cycle among them
    /// counts once: boon reports it as an infinite loop, it does not run it).
    fn per_value(&self) -> Result<u64, String> {
        let mut memo: Vec<Option<u64>> = vec![None; self.nodes.len()];
        let mut on_stack = vec![false; self.nodes.len()];
        let mut max = 0;
        for i in 0..self.nodes.len() {
            max = max.max(self.same_cost(i, &mut memo, &mut on_stack, 0)?);
        }
        Ok(max)
    }

    fn same_cost(
        &self,
        i: usize,
        memo: &mut [Option<u64>],
        on_stack: &mut [bool],
        depth: usize,
    ) -> Result<u64, String> {
        if let Some(c) = memo[i] {
            return Ok(c);
        }
        if on_stack[i] {
            return Ok(0);
        }
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        on_stack[i] = true;
        let mut c: u64 = 1;
        for e in &self.edges[i] {
            c = c.saturating_add(match e {
                Edge::Same(j) => self.same_cost(*j, memo, on_stack, depth + 1)?,
                Edge::Child(..) => 1,
            });
        }
        on_stack[i] = false;
        memo[i] = Some(c);
        Ok(c)
    }

    /// The largest number of times a node of a cycle reaches its own cycle again for one
    /// child value (see the module docs); 1 when there is no such fan-out.
    fn fan_out(&self) -> Result<u64, String> {
        let scc = self.components()?;
        let mut memo: Vec<Option<BTreeMap<String, u64>>> = vec![None; self.nodes.len()];
        let mut on_stack = vec![false; self.nodes.len()];
        let mut max = 1;
        for i in 0..self.nodes.len() {
            let fan = self.fan(i, &scc, &mut memo, &mut on_stack, 0)?;
            let all = fan.get("*").copied().unwrap_or(0);
            let most = fan
                .iter()
                .filter(|(k, _)| k.as_str() != "*")
                .map(|(_, n)| n.saturating_add(all))
                .max()
                .unwrap_or(0)
                .max(all);
            max = max.max(most);
        }
        Ok(max)
    }

    /// Child edges, per child key, from `i`'s same-value expansion into `i`'s own cycle.
    fn fan(
        &self,
        i: usize,
        scc: &[usize],
        memo: &mut Vec<Option<BTreeMap<String, u64>>>,
        on_stack: &mut Vec<bool>,
        depth: usize,
    ) -> Result<BTreeMap<String, u64>, String> {
        if let Some(m) = &memo[i] {
            return Ok(m.clone());
        }
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        if on_stack[i] {
            return Ok(out);
        }
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        on_stack[i] = true;
        for e in &self.edges[i] {
            match e {
                Edge::Child(k, j) if scc[*j] == scc[i] => {
                    let n = out.entry(k.clone()).or_insert(0);
                    *n = n.saturating_add(1);
                }
                Edge::Same(j) if scc[*j] == scc[i] => {
                    for (k, n) in self.fan(*j, scc, memo, on_stack, depth + 1)? {
                        let m = out.entry(k).or_insert(0);
                        *m = m.saturating_add(n);
                    }
                }
                _ => {}
            }
        }
        on_stack[i] = false;
        memo[i] = Some(out.clone());
        Ok(out)
    }

    /// Strongly connected components (Tarjan): the component number of each node.
    fn components(&self) -> Result<Vec<usize>, String> {
        struct T {
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            on: Vec<bool>,
            stack: Vec<usize>,
            comp: Vec<usize>,
            next: usize,
            comps: usize,
        }
        fn visit(g: &Graph<'_>, t: &mut T, v: usize, depth: usize) -> Result<(), String> {
            if depth > MAX_DEPTH {
                return Err(too_deep());
            }
            t.index[v] = Some(t.next);
            t.low[v] = t.next;
            t.next += 1;
            t.stack.push(v);
            t.on[v] = true;
            for e in &g.edges[v] {
                let w = match e {
                    Edge::Same(w) | Edge::Child(_, w) => *w,
                };
                match t.index[w] {
                    None => {
                        visit(g, t, w, depth + 1)?;
                        t.low[v] = t.low[v].min(t.low[w]);
                    }
                    Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                    Some(_) => {}
                }
            }
            if Some(t.low[v]) == t.index[v] {
                while let Some(w) = t.stack.pop() {
                    t.on[w] = false;
                    t.comp[w] = t.comps;
                    if w == v {
                        break;
                    }
                }
                t.comps += 1;
            }
            Ok(())
        }
        let n = self.nodes.len();
        let mut t = T {
            index: vec![None; n],
            low: vec![0; n],
            on: vec![false; n],
            stack: Vec::new(),
            comp: vec![0; n],
            next: 0,
            comps: 0,
        };
        for v in 0..n {
            if t.index[v].is_none() {
                visit(self, &mut t, v, 0)?;
            }
        }
        Ok(t.comp)
    }
}

fn too_deep() -> String {
    format!("its $ref chains or nesting go deeper than {MAX_DEPTH} levels")
}

fn find_anchor<'v>(v: &'v Value, name: &str, depth: usize) -> Option<&'v Value> {
    if depth > 128 {
        return None;
    }
    match v {
        Value::Object(m) => {
            if ["$anchor", "$dynamicAnchor"]
                .iter()
                .any(|k| m.get(*k).and_then(Value::as_str) == Some(name))
            {
                return Some(v);
            }
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "const" | "enum" | "default" | "examples"))
                .find_map(|(_, c)| find_anchor(c, name, depth + 1))
        }
        Value::Array(items) => items.iter().find_map(|c| find_anchor(c, name, depth + 1)),
        _ => None,
    }
}

/// `%xx` escapes of a URI fragment (JSON pointers in `$ref`s are URI-encoded).
fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cost(v: Value) -> Result<Cost, String> {
        let url = "file:///lib/s.json";
        analyse(url, &BTreeMap::from([(url.to_owned(), v)]))
    }

    fn chain(n: usize, last: Value) -> Value {
        let mut defs = serde_json::Map::new();
        for i in 0..n {
            let next = format!("#/$defs/a{}", i + 1);
            defs.insert(
                format!("a{i}"),
                json!({"anyOf": [{"$ref": next}, {"$ref": next}]}),
            );
        }
        defs.insert(format!("a{n}"), last);
        json!({"$defs": defs, "$ref": "#/$defs/a0"})
    }

    #[test]
    fn nested_anyof_over_shared_refs_is_counted_not_run() {
        // 2^10 paths: fine; 2^22: refused (boon took 42 s on it).
        let c = cost(chain(10, json!({"type": "string"}))).unwrap();
        assert!(c.per_value > 1 << 10 && c.per_value < 1 << 13, "{c:?}");
        let e = cost(chain(22, json!(false))).unwrap_err();
        assert!(e.contains("anyOf"), "{e}");
    }

    #[test]
    fn recursion_that_fans_out_is_measured_and_linear_recursion_is_not() {
        // A tree: each child is checked once by the node schema.
        let tree = json!({"$defs": {"node": {"properties": {
            "left": {"$ref": "#/$defs/node"}, "right": {"$ref": "#/$defs/node"},
            "children": {"items": {"$ref": "#/$defs/node"}}}}}, "$ref": "#/$defs/node"});
        assert_eq!(cost(tree).unwrap().fan_out, 1);
        // Every item checked twice by the same schema: 2^depth.
        let fan = json!({"$defs": {"a": {"anyOf": [
            {"items": {"$ref": "#/$defs/a"}}, {"items": {"$ref": "#/$defs/a"}}]}},
            "$ref": "#/$defs/a"});
        let c = cost(fan).unwrap();
        assert_eq!(c.fan_out, 2);
        assert!(c.bound(30) > MAX_CHECKS && c.bound(3) < MAX_CHECKS, "{c:?}");
    }

    #[test]
    fn refs_resolve_through_ids_anchors_and_other_documents() {
        let a = "file:///lib/a.json";
        let b = "file:///lib/b.json";
        let docs = BTreeMap::from([
            (
                a.to_owned(),
                json!({"$id": "https://ex.com/s/a.json", "anyOf": [{"$ref": "b.json#x"}, {"$ref": "b.json#x"}]}),
            ),
            (
                b.to_owned(),
                json!({"$id": "https://ex.com/s/b.json", "$defs": {"x": {"$anchor": "x", "anyOf": [{"$ref": "#/$defs/y"}, {"$ref": "#/%24defs/y"}]}, "y": {"type": "string"}}}),
            ),
        ]);
        // Each `{"$ref"}` branch is a node too: y = 1, x = 1 + 2·(1 + y) = 5,
        // a = 1 + 2·(1 + x) = 13. Unresolved refs would give 1 + 2·1 = 3.
        assert_eq!(analyse(a, &docs).unwrap().per_value, 13);
    }

    #[test]
    fn deep_ref_chains_are_an_error_not_a_stack_overflow() {
        let mut defs = serde_json::Map::new();
        for i in 0..5_000 {
            defs.insert(
                format!("a{i}"),
                json!({"$ref": format!("#/$defs/a{}", i + 1)}),
            );
        }
        defs.insert("a5000".into(), json!(true));
        let e = cost(json!({"$defs": defs, "$ref": "#/$defs/a0"})).unwrap_err();
        assert!(e.contains("deeper"), "{e}");
    }
}
