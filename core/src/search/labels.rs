//! Labels in a serialized index (issue #15), so a shelf loaded from `/v1/index` or a
//! snapshot answers `get(id, {label})` without the read API.
//!
//! An index describes the latest version of each document. For every other label it
//! carries only what differs: the documents whose version at that label is not the
//! latest one (their summary as they were then, and the version number), and the
//! documents the label names no version of (why). A document the label leaves out is
//! the same at that label as at latest. A label whose ref is broken carries only its
//! reason. That keeps the section small: a release that changed ten prompts adds ten
//! summaries, whatever the library's size.
//!
//! Wire format: a section at the end of the payload, present when header flag
//! [`F_LABELS`] is set (an index without labels is byte-for-byte what it was):
//!
//! ```text
//! v labels, per label (sorted):
//!   s name | s error ("" when it resolves) | v entries, per entry (sorted by id):
//!     s id | u8 kind: 0 the label names no version: s reason
//!                     1 persona, 2 prompt template: v version (0: not known)
//!                       | s id at that version | s name | s path | s description
//!                       | v ntags | s × ntags
//! ```
//!
//! The host that has the history (the store) computes the section and appends it to
//! the stored blob with [`with_labels`], without decoding the index.

use super::codec::{checksum, put_s, put_v, CodecError, Reader, HEADER, MAGIC};
use super::index::{DocInfo, Index};
use super::FORMAT_VERSION;
use crate::model::{DocType, DocumentId};
use std::collections::BTreeMap;

/// `crate::versions::LATEST`, here too: the npm search module builds without the
/// `versions` feature.
const LATEST: &str = "latest";

/// Header flag: a labels section follows the index in the payload.
pub const F_LABELS: u16 = 1;

/// A document as it was at a label's version (what `get` returns for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelDoc {
    /// The version the label names (`None`: not known).
    pub version: Option<u32>,
    /// The document's id as parsed at that version (a moved file had another one).
    pub id: String,
    /// Its type.
    pub doc_type: DocType,
    /// Its display name then.
    pub name: String,
    /// Its library-relative path then.
    pub path: String,
    /// Its description then.
    pub description: String,
    /// Its tags then.
    pub tags: Vec<String>,
}

/// What a label says about one document, where that differs from latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelEntry {
    /// The label names this (older, or newer) version.
    Doc(LabelDoc),
    /// The label names no version of the document: why (not in the label's commit, a
    /// pin out of range, a version that does not parse).
    Unresolved(String),
}

/// One label: a reason when it is broken as a whole (its ref is missing), else the
/// documents that differ from latest, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSet {
    /// Why the label resolves for no document (empty when it resolves).
    pub error: String,
    /// The documents whose version at this label is not the latest one.
    pub docs: BTreeMap<String, LabelEntry>,
}

/// Label name → what it names (`latest` is never in it: it is the index itself).
pub type Labels = BTreeMap<String, LabelSet>;

/// A document at a label: the indexed (latest) one, or a past version's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtLabel<'a> {
    /// The same as the latest version.
    Latest(DocInfo<'a>),
    /// Another version.
    Version(LabelDoc),
}

/// Why `get(id, {label})` / `get(id, {version})` has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelLookupError {
    /// The index carries no such label.
    #[error("unknown label `{label}`; this index has: {known}")]
    UnknownLabel {
        /// The label asked for.
        label: String,
        /// The labels the index has, `latest` first.
        known: String,
    },
    /// The label exists but names no version of this document (or is broken).
    #[error("label `{label}` names no version of `{id}`: {reason}")]
    Unresolved {
        /// The label.
        label: String,
        /// The document.
        id: String,
        /// Why.
        reason: String,
    },
    /// The index carries only the versions labels name.
    #[error("version {version} of `{id}` is not in this index (it carries the versions its labels name); the read API has every version: GET /v1/documents/{{id}}?version={version}")]
    VersionNotCarried {
        /// The document.
        id: String,
        /// The version asked for.
        version: u32,
    },
}

impl Index {
    /// The labels the index carries, decoded (empty for one built from documents).
    pub fn labels(&self) -> Labels {
        let mut out = Labels::new();
        let _ = walk(&self.labels, &mut |name, error, entry| {
            let set = out.entry(name.to_owned()).or_insert_with(|| LabelSet {
                error: error.to_owned(),
                docs: BTreeMap::new(),
            });
            if let Some((id, e)) = entry {
                set.docs.insert(id.to_owned(), e);
            }
            false
        });
        out
    }

    /// Replaces the labels the index carries (written by `to_bytes`).
    pub fn set_labels(&mut self, labels: &Labels) {
        self.labels.clear();
        if !labels.is_empty() {
            write_labels(&mut self.labels, labels);
        }
    }

    /// The document `id` as `label` names it. `Ok(None)` when the index has no such
    /// document (as `get`). The section stays encoded in memory and is scanned per call
    /// (no maps: the search module's size budget; a label lists few documents).
    pub fn get_at_label(
        &self,
        id: &DocumentId,
        label: &str,
    ) -> Result<Option<AtLabel<'_>>, LabelLookupError> {
        let Some(latest) = self.get(id) else {
            return Ok(None);
        };
        if label == LATEST {
            return Ok(Some(AtLabel::Latest(latest)));
        }
        let mut known = vec![LATEST];
        let mut found: Option<Result<Option<LabelEntry>, String>> = None;
        let _ = walk(&self.labels, &mut |name, error, entry| {
            match entry {
                None => {
                    known.push(name);
                    if name == label {
                        found = Some(if error.is_empty() {
                            Ok(None)
                        } else {
                            Err(error.to_owned())
                        });
                        return !error.is_empty();
                    }
                }
                Some((eid, e)) if name == label && eid == id.as_str() => {
                    found = Some(Ok(Some(e)));
                    return true;
                }
                Some(_) => {}
            }
            false
        });
        let unresolved = |reason: String| LabelLookupError::Unresolved {
            label: label.to_owned(),
            id: id.0.clone(),
            reason,
        };
        match found {
            None => Err(LabelLookupError::UnknownLabel {
                label: label.to_owned(),
                known: known.join(", "),
            }),
            Some(Err(why)) | Some(Ok(Some(LabelEntry::Unresolved(why)))) => Err(unresolved(why)),
            Some(Ok(None)) => Ok(Some(AtLabel::Latest(latest))),
            Some(Ok(Some(LabelEntry::Doc(d)))) => Ok(Some(AtLabel::Version(d))),
        }
    }

    /// Version `version` of `id`, when a label names it (the only past versions an
    /// index carries). `Ok(None)` when the index has no such document.
    pub fn get_version(
        &self,
        id: &DocumentId,
        version: u32,
    ) -> Result<Option<LabelDoc>, LabelLookupError> {
        if !self.contains(id) {
            return Ok(None);
        }
        let mut found = None;
        let _ = walk(&self.labels, &mut |_, _, entry| {
            if let Some((eid, LabelEntry::Doc(d))) = entry {
                if eid == id.as_str() && d.version == Some(version) {
                    found = Some(d);
                    return true;
                }
            }
            false
        });
        found
            .map(Some)
            .ok_or_else(|| LabelLookupError::VersionNotCarried {
                id: id.0.clone(),
                version,
            })
    }
}

/// Calls `visit(label, error, None)` for each label, then `visit(label, error,
/// Some((id, entry)))` for each of its entries, until `visit` returns true. Checks the
/// section as it goes (labels and ids strictly sorted, no `latest`, nothing after it):
/// the load walks it once, so later walks cannot fail.
pub(super) fn walk<'a>(
    raw: &'a [u8],
    visit: &mut dyn FnMut(&'a str, &'a str, Option<(&'a str, LabelEntry)>) -> bool,
) -> Result<bool, CodecError> {
    if raw.is_empty() {
        return Ok(false);
    }
    let mut r = Reader { b: raw, i: 0 };
    let mut prev_label = "";
    // A label takes at least 3 bytes (two empty strings, no entries).
    for n in 0..r.count(3)? {
        let name = r.s()?;
        let error = r.s()?;
        if name == LATEST || (n > 0 && name <= prev_label) {
            return Err(CodecError::Corrupt("labels out of order"));
        }
        prev_label = name;
        if visit(name, error, None) {
            return Ok(true);
        }
        let mut prev_id = "";
        // An entry takes at least 3 bytes (empty id, kind 0, empty reason).
        for k in 0..r.count(3)? {
            let id = r.s()?;
            if k > 0 && id <= prev_id {
                return Err(CodecError::Corrupt("label entries out of order"));
            }
            prev_id = id;
            let kind = r.u8()?;
            let e = if kind == 0 {
                LabelEntry::Unresolved(r.s()?.to_owned())
            } else {
                let doc_type = match kind {
                    1 => DocType::Persona,
                    2 => DocType::PromptTemplate,
                    _ => return Err(CodecError::Corrupt("unknown entry kind in labels")),
                };
                let version = Some(r.u32()?).filter(|&n| n > 0);
                let mut s4 = [""; 4];
                for s in &mut s4 {
                    *s = r.s()?;
                }
                let [at_id, name, path, description] = s4.map(str::to_owned);
                let mut tags = Vec::new();
                for _ in 0..r.count(1)? {
                    tags.push(r.s()?.to_owned());
                }
                LabelEntry::Doc(LabelDoc {
                    version,
                    id: at_id,
                    doc_type,
                    name,
                    path,
                    description,
                    tags,
                })
            };
            if visit(name, error, Some((id, e))) {
                return Ok(true);
            }
        }
    }
    if r.i != raw.len() {
        return Err(CodecError::Corrupt("trailing bytes after the labels"));
    }
    Ok(false)
}

/// Writes the labels section (see the module docs).
pub(super) fn write_labels(p: &mut Vec<u8>, labels: &Labels) {
    put_v(p, labels.len() as u64);
    for (name, set) in labels {
        put_s(p, name);
        put_s(p, &set.error);
        put_v(p, set.docs.len() as u64);
        for (id, e) in &set.docs {
            put_s(p, id);
            match e {
                LabelEntry::Unresolved(why) => {
                    p.push(0);
                    put_s(p, why);
                }
                LabelEntry::Doc(d) => {
                    p.push(1 + u8::from(d.doc_type == DocType::PromptTemplate));
                    put_v(p, u64::from(d.version.unwrap_or(0)));
                    for s in [&d.id, &d.name, &d.path, &d.description] {
                        put_s(p, s);
                    }
                    put_v(p, d.tags.len() as u64);
                    for t in &d.tags {
                        put_s(p, t);
                    }
                }
            }
        }
    }
}

/// `blob` (an index without labels, as stored) with `labels` appended: the payload
/// grows by the section, the header gets [`F_LABELS`] and a new checksum. The index
/// itself is not decoded. No labels: `blob` unchanged.
pub fn with_labels(blob: &[u8], labels: &Labels) -> Result<Vec<u8>, CodecError> {
    if blob.len() < 4 || blob[..4] != MAGIC {
        return Err(CodecError::BadMagic);
    }
    if blob.len() < HEADER {
        return Err(CodecError::Truncated);
    }
    let version = u16::from_le_bytes([blob[4], blob[5]]);
    if version != FORMAT_VERSION {
        return Err(CodecError::UnsupportedVersion { found: version });
    }
    if blob[6..8] != [0, 0] {
        return Err(CodecError::Corrupt("the index already has flags"));
    }
    let payload = &blob[HEADER..];
    if u64::from_le_bytes(blob[8..16].try_into().unwrap_or_default()) != payload.len() as u64 {
        return Err(CodecError::Truncated);
    }
    if labels.is_empty() {
        return Ok(blob.to_vec());
    }
    let mut p = Vec::with_capacity(payload.len() + 256);
    p.extend_from_slice(payload);
    write_labels(&mut p, labels);
    let mut out = Vec::with_capacity(HEADER + p.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&F_LABELS.to_le_bytes());
    out.extend_from_slice(&(p.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(&p).to_le_bytes());
    out.extend_from_slice(&p);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Document;

    fn doc(id: &str, name: &str) -> Document {
        crate::parse_document(
            &format!("prompts/{id}.prompty"),
            format!("---\nname: {name}\ntags: [a]\n---\nuser:\nhi\n").as_bytes(),
            &Default::default(),
        )
        .unwrap()
    }

    fn labels() -> Labels {
        let mut prod = LabelSet::default();
        prod.docs.insert(
            "prompts/reply".into(),
            LabelEntry::Doc(LabelDoc {
                version: Some(2),
                id: "prompts/old/reply".into(),
                doc_type: DocType::PromptTemplate,
                name: "Reply v2".into(),
                path: "prompts/old/reply.prompty".into(),
                description: "then".into(),
                tags: vec!["x".into(), "y".into()],
            }),
        );
        prod.docs.insert(
            "prompts/new".into(),
            LabelEntry::Unresolved("not in the label's commit".into()),
        );
        let staging = LabelSet {
            error: "ref `refs/heads/staging` does not exist".into(),
            docs: BTreeMap::new(),
        };
        Labels::from([("production".into(), prod), ("staging".into(), staging)])
    }

    #[cfg(feature = "versions")]
    #[test]
    fn latest_is_the_versions_latest() {
        assert_eq!(LATEST, crate::versions::LATEST);
    }

    #[test]
    fn labels_round_trip_and_answer_get() {
        let ix = Index::build(&[
            doc("reply", "Reply"),
            doc("new", "New"),
            doc("same", "Same"),
        ]);
        let plain = ix.to_bytes();
        assert_eq!(with_labels(&plain, &Labels::new()).unwrap(), plain);
        let bytes = with_labels(&plain, &labels()).unwrap();
        assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), F_LABELS);
        let back = Index::from_bytes(&bytes).unwrap();
        assert_eq!(back.labels(), labels());
        // Written by to_bytes too, the same bytes as the splice.
        let mut built = Index::from_bytes(&plain).unwrap();
        built.set_labels(&labels());
        assert_eq!(built.to_bytes(), bytes);
        // Search is unchanged.
        assert_eq!(back.len(), 3);

        let id = |s: &str| DocumentId(s.into());
        match back.get_at_label(&id("prompts/reply"), "production") {
            Ok(Some(AtLabel::Version(d))) => {
                assert_eq!((d.version, d.name.as_str()), (Some(2), "Reply v2"))
            }
            other => panic!("{other:?}"),
        }
        match back.get_at_label(&id("prompts/same"), "production") {
            Ok(Some(AtLabel::Latest(i))) => assert_eq!(i.name, "Same"),
            other => panic!("{other:?}"),
        }
        match back.get_at_label(&id("prompts/reply"), "latest") {
            Ok(Some(AtLabel::Latest(i))) => assert_eq!(i.name, "Reply"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            back.get_at_label(&id("prompts/new"), "production"),
            Err(LabelLookupError::Unresolved { reason, .. }) if reason == "not in the label's commit"
        ));
        assert!(matches!(
            back.get_at_label(&id("prompts/same"), "staging"),
            Err(LabelLookupError::Unresolved { reason, .. }) if reason.contains("refs/heads/staging")
        ));
        let e = back.get_at_label(&id("prompts/same"), "nope").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown label `nope`; this index has: latest, production, staging"
        );
        assert_eq!(back.get_at_label(&id("prompts/none"), "nope"), Ok(None));
        assert_eq!(
            back.get_version(&id("prompts/reply"), 2)
                .unwrap()
                .unwrap()
                .name,
            "Reply v2"
        );
        assert!(matches!(
            back.get_version(&id("prompts/reply"), 1),
            Err(LabelLookupError::VersionNotCarried { version: 1, .. })
        ));
    }

    #[test]
    fn damaged_label_sections_are_errors() {
        let plain = Index::build(&[doc("reply", "Reply")]).to_bytes();
        let bytes = with_labels(&plain, &labels()).unwrap();
        // Spliced twice: refused.
        assert!(with_labels(&bytes, &labels()).is_err());
        // Every truncation of the section (with a valid header) is an error, not a panic.
        let payload = &bytes[HEADER..];
        let start = plain.len() - HEADER;
        for cut in start..payload.len() {
            let p = &payload[..cut];
            let mut b = super::super::codec_header(p);
            b[6..8].copy_from_slice(&F_LABELS.to_le_bytes());
            b.extend_from_slice(p);
            assert!(Index::from_bytes(&b).is_err(), "cut at {cut}");
        }
        // Unknown flags stay an error.
        let mut b = bytes.clone();
        b[6] = 2;
        assert!(Index::from_bytes(&b).is_err());
    }
}
