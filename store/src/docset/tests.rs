use super::*;
use crate::snapshot::Snapshot;
use promptshelf_core::api::{ApiConfig, Request};
use promptshelf_core::{ContentHash, Document, DocumentId};
use serde_json::{json, Value};

/// A snapshot of `n` documents whose tags and content vary (types, arrays, nesting,
/// mixed case), deterministic.
fn snapshot(n: usize) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_u64;
    let mut next = move |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    let tags = ["Support", "billing", "SQL", "ops", "Ünicode", "x"];
    let docs: Vec<Document> = (0..n)
        .map(|i| {
            let id = format!("doc-{:03}{}", i, ["", "-a", "/b"][next(3) as usize]);
            let t: Vec<String> = (0..next(3))
                .map(|_| tags[next(6) as usize].to_owned())
                .collect();
            let api = ["chat", "completion"][next(2) as usize];
            let temp = [0.5, 1.0, 1e20][next(3) as usize];
            let stop = if next(2) == 1 {
                json!(["a", 1, null, [2]])
            } else {
                Value::Null
            };
            let content = json!({
                "model": {"api": api, "max_tokens": next(4) * 100,
                          "temperature": temp, "stream": next(2) == 1,
                          "stop": stop},
                "kebab-key": {"x_y": "v"},
                "long": "l".repeat(70 + next(3) as usize),
                "deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}},
            });
            let body = format!("body {} about refunds and support {}", i, next(50));
            Document {
                id: DocumentId(id.clone()),
                doc_type: if next(3) == 0 {
                    DocType::PromptTemplate
                } else {
                    DocType::Persona
                },
                name: format!("Name {i}"),
                path: format!("personas/{id}.json"),
                hash: ContentHash::of(body.as_bytes()),
                description: Some("about support".into()),
                tags: t,
                authors: vec![],
                body,
                content,
            }
        })
        .collect();
    let mut store = crate::Database::open_in_memory().unwrap();
    store
        .write(|w| {
            for d in &docs {
                w.upsert_document(d, 1_700_000_000_000, 10)?;
            }
            let ix = promptshelf_core::search::Index::build(&docs);
            w.put_search_index(1, &ix.to_bytes())?;
            w.bump_generation()?;
            Ok(())
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.db");
    crate::snapshot::write_snapshot(store.conn(), &path).unwrap();
    std::fs::read(path).unwrap()
}

struct Site {
    files: HashMap<String, Vec<u8>>,
}

impl Site {
    fn of(bytes: &[u8]) -> Site {
        let mut c = rusqlite::Connection::open_in_memory().unwrap();
        c.deserialize_read_exact("main", std::io::Cursor::new(bytes), bytes.len(), true)
            .unwrap();
        let ds = doc_set(&c).unwrap();
        let mut files: HashMap<String, Vec<u8>> = ds.files.into_iter().collect();
        files.insert(
            DOCS_MANIFEST.into(),
            serde_json::to_vec(&ds.manifest).unwrap(),
        );
        let cs = crate::site::chunk_set(&c, Default::default())
            .unwrap()
            .unwrap();
        files.insert(MANIFEST.into(), cs.manifest_bytes());
        files.extend(cs.files);
        Site { files }
    }

    /// One request the way the worker runs it: rounds until nothing is wanted.
    fn answer(
        &self,
        state: &mut SiteState,
        target: &str,
    ) -> (promptshelf_core::api::Response, usize) {
        let cfg = ApiConfig::default();
        let mut r = SiteRequest::new(state);
        for rounds in 0..8 {
            let resp = promptshelf_core::api::handle(&Request::get(target), r.reader(), &cfg);
            assert_eq!(r.failure(), None, "{target}");
            let want = r.wanted();
            if want.is_empty() {
                return (resp, rounds);
            }
            r.absorb(
                want.into_iter()
                    .map(|n| {
                        let b = self.files.get(&n).cloned();
                        (n, b)
                    })
                    .collect(),
            )
            .unwrap();
        }
        panic!("{target}: too many rounds");
    }
}

fn same(file: &Snapshot, site: &Site, state: &mut SiteState, target: &str) -> usize {
    let a = file.answer(&Request::get(target), &[], &ApiConfig::default());
    let (b, rounds) = site.answer(state, target);
    assert_eq!(
        a.status,
        b.status,
        "{target}: {}",
        String::from_utf8_lossy(&b.body)
    );
    assert!(
        a.body == b.body,
        "{target}: bodies differ\nfile: {}\nsite: {}",
        String::from_utf8_lossy(&a.body),
        String::from_utf8_lossy(&b.body)
    );
    assert_eq!(a.header("etag"), b.header("etag"), "{target}");
    rounds
}

#[test]
fn answers_like_the_snapshot_file() {
    let bytes = snapshot(300);
    let file = Snapshot::from_vec(bytes.clone()).unwrap();
    let site = Site::of(&bytes);
    assert!(
        site.files
            .keys()
            .filter(|k| k.starts_with("docs/packs/"))
            .count()
            > 5
    );
    for budget in [16 << 20, 1] {
        let mut state = SiteState::new(budget);
        let mut targets: Vec<String> = [
            "/v1/health",
            "/v1/documents",
            "/v1/documents?limit=7&offset=13",
            "/v1/documents?offset=299",
            "/v1/documents?offset=300",
            "/v1/documents?type=persona&limit=5&offset=40",
            "/v1/prompts?limit=500",
            "/v1/personas?tag=support",
            "/v1/documents?tag=SUPPORT&tag=billing",
            "/v1/documents?tag=%C3%BCnicode",
            "/v1/documents?tag=%C3%9Cnicode",
            "/v1/documents?tag=nothing",
            "/v1/documents?field.model.api=chat&limit=3",
            "/v1/documents?field.model.max_tokens=300",
            "/v1/documents?field.model.temperature=1.0",
            "/v1/documents?field.model.temperature=1.0e%2B20",
            "/v1/documents?field.model.temperature=0.5",
            "/v1/documents?field.model.stream=true",
            "/v1/documents?field.model.stop=a",
            "/v1/documents?field.model.stop=1",
            "/v1/documents?field.model.stop=null",
            "/v1/documents?field.model.stop=2",
            "/v1/documents?field.model=chat",
            "/v1/documents?field.kebab-key.x_y=v",
            "/v1/documents?field.deep.a.b.c.d.e.f.g=1",
            "/v1/documents?field.model.api=chat&tag=ops&type=prompt_template",
            "/v1/documents/doc-005",
            "/v1/documents/doc-005-a",
            "/v1/documents/doc-005%2Fb",
            "/v1/documents/zzz",
            "/v1/documents/a",
            "/v1/prompts/doc-001",
            "/v1/search?q=refunds",
            "/v1/search?q=support+-body&limit=3&offset=2",
            "/v1/search?q=%22refunds+and%22",
            "/v1/search?q=(",
            "/v1/index",
            "/v1/index/manifest.json",
            "/v1/index/nope.bin",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for len in 70..73 {
            targets.push(format!("/v1/documents?field.long={}", "l".repeat(len)));
        }
        for t in &targets {
            same(&file, &site, &mut state, t);
        }
        // The filters discriminate (so "same" above is not "both empty").
        for t in [
            "/v1/documents?tag=SUPPORT&tag=billing",
            "/v1/documents?field.model.stop=a",
            "/v1/documents?field.model.stop=1",
            "/v1/documents?field.model.temperature=1.0e%2B20",
            "/v1/documents?field.model.stream=true",
            "/v1/documents?field.kebab-key.x_y=v",
            &format!("/v1/documents?field.long={}", "l".repeat(71)),
        ] {
            let (r, _) = site.answer(&mut state, t);
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            let total = v["total"].as_u64().unwrap();
            assert!(
                total > 0 && (total < 300 || t.contains("kebab")),
                "{t}: {total}"
            );
        }
        // Cursors: walk a filtered list and the whole list page by page.
        for base in ["/v1/documents?limit=40", "/v1/personas?tag=ops&limit=7"] {
            let mut target = base.to_owned();
            let mut pages = 0;
            loop {
                same(&file, &site, &mut state, &target);
                let a = file.answer(&Request::get(&target), &[], &ApiConfig::default());
                let v: Value = serde_json::from_slice(&a.body).unwrap();
                let Some(c) = v["next_cursor"].as_str() else {
                    break;
                };
                target = format!("{base}&cursor={c}");
                pages += 1;
            }
            assert!(pages > 1, "{base}");
        }
        if budget == 1 {
            assert!(state.cache.bytes() < 1 << 20);
        }
    }
}

#[test]
fn a_document_takes_one_pack_and_few_rounds() {
    let bytes = snapshot(300);
    let file = Snapshot::from_vec(bytes.clone()).unwrap();
    let site = Site::of(&bytes);
    let mut state = SiteState::new(16 << 20);
    // Cold: the manifest, then the pack.
    assert_eq!(same(&file, &site, &mut state, "/v1/documents/doc-100"), 2);
    let packs = state.cache.len();
    assert_eq!(packs, 1);
    // Warm: no fetch at all.
    assert_eq!(same(&file, &site, &mut state, "/v1/documents/doc-100"), 0);
}

#[test]
fn missing_or_corrupt_files_are_errors() {
    let bytes = snapshot(20);
    let site = Site::of(&bytes);
    let mut state = SiteState::new(1 << 20);
    let mut r = SiteRequest::new(&mut state);
    let _ = promptshelf_core::api::handle(
        &Request::get("/v1/documents"),
        r.reader(),
        &ApiConfig::default(),
    );
    assert_eq!(r.wanted(), vec![DOCS_MANIFEST.to_owned()]);
    assert!(r
        .absorb(vec![(DOCS_MANIFEST.into(), None)])
        .unwrap_err()
        .contains("missing"));
    r.absorb(vec![(
        DOCS_MANIFEST.into(),
        site.files.get(DOCS_MANIFEST).cloned(),
    )])
    .unwrap();
    let _ = promptshelf_core::api::handle(
        &Request::get("/v1/documents"),
        r.reader(),
        &ApiConfig::default(),
    );
    let want = r.wanted();
    assert!(!want.is_empty());
    assert!(r
        .absorb(vec![(want[0].clone(), Some(b"garbage".to_vec()))])
        .unwrap_err()
        .contains("corrupt"));
    assert!(r
        .absorb(vec![(want[0].clone(), None)])
        .unwrap_err()
        .contains("lacks"));
}

#[test]
fn json_paths_are_split_into_keys() {
    assert_eq!(json_path_keys("$.content"), Some(vec![]));
    assert_eq!(
        json_path_keys("$.content.a.b"),
        Some(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        json_path_keys("$.content.\"a-b\".c"),
        Some(vec!["a-b".into(), "c".into()])
    );
    assert_eq!(json_path_keys("$.content.a[1]"), None);
    assert_eq!(json_path_keys("$.other"), None);
}
