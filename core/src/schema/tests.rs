use super::*;
use serde_json::json;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn v1_map_with_types_defaults_and_samples() {
    let fm = json!({
        "inputs": {
            "firstName": {"type": "string", "description": "first name", "sample": "Jane"},
            "count": {"type": "integer", "default": 3},
            "lastName": "Doe",
            "anything": null
        },
        "sample": {"firstName": "Jane", "question": "What is life?"}
    });
    let s = prompt_schemas(&fm);
    assert_eq!(s["outputs"], Value::Null);
    let i = &s["inputs"];
    assert_eq!(i["$schema"], DRAFT_2020_12);
    assert_eq!(i["type"], "object");
    assert_eq!(
        i["properties"]["firstName"],
        json!({"x-prompty-kind": "string", "description": "first name", "type": "string", "examples": ["Jane"]})
    );
    assert_eq!(i["properties"]["count"]["type"], "integer");
    assert_eq!(i["properties"]["count"]["default"], 3);
    assert_eq!(
        i["properties"]["lastName"],
        json!({"type": "string", "default": "Doe"})
    );
    assert_eq!(i["properties"]["anything"], json!({}));
    // A sample-only input is declared, untyped, with its example.
    assert_eq!(
        i["properties"]["question"],
        json!({"examples": ["What is life?"]})
    );
    assert!(i.get("required").is_none());
}

#[test]
fn v2_list_nested_enum_required_nullable() {
    let fm = json!({
        "inputs": [
            {"name": "city", "kind": "string", "required": true, "enumValues": ["Paris", "Oslo"]},
            {"name": "days", "kind": "integer", "nullable": true, "example": 3},
            {"name": "user", "kind": "object", "properties": [
                {"name": "name", "kind": "string", "required": true},
                {"name": "age", "kind": "float"}
            ]},
            {"name": "tags", "kind": "array", "items": {"kind": "string"}},
            {"name": "pic", "kind": "image"},
            {"kind": "string"}
        ],
        "outputs": [{"name": "summary", "kind": "string", "required": true}]
    });
    let s = prompt_schemas(&fm);
    let i = &s["inputs"];
    assert_eq!(i["required"], json!(["city"]));
    assert_eq!(i["properties"]["city"]["enum"], json!(["Paris", "Oslo"]));
    assert_eq!(i["properties"]["days"]["type"], json!(["integer", "null"]));
    assert_eq!(i["properties"]["days"]["examples"], json!([3]));
    let user = &i["properties"]["user"];
    assert_eq!(user["type"], "object");
    assert_eq!(user["required"], json!(["name"]));
    assert_eq!(user["properties"]["age"]["type"], "number");
    assert!(user.get("$schema").is_none());
    assert_eq!(i["properties"]["tags"]["items"]["type"], "string");
    assert_eq!(
        i["properties"]["pic"],
        json!({"x-prompty-kind": "image"}),
        "kinds without a JSON type are declared, not typed"
    );
    assert_eq!(i["properties"].as_object().map(Map::len), Some(5));
    assert_eq!(s["outputs"]["required"], json!(["summary"]));
    assert_eq!(s["outputs"]["$schema"], DRAFT_2020_12);
}

#[test]
fn shorthand_types_are_inferred() {
    let fm = json!({"inputs": {"n": 2, "x": 1.5, "b": true, "l": [1], "o": {"a": 1}}});
    let p = &prompt_schemas(&fm)["inputs"]["properties"];
    for (k, t) in [
        ("n", "integer"),
        ("x", "number"),
        ("b", "boolean"),
        ("l", "array"),
        ("o", "object"),
    ] {
        assert_eq!(p[k]["type"], t, "{k}");
    }
    assert_eq!(p["o"]["default"], json!({"a": 1}));
}

#[test]
fn no_front_matter_is_an_empty_object() {
    let s = prompt_schemas(&Value::Null);
    assert_eq!(s["inputs"]["properties"], json!({}));
    let s = prompt_schemas(&json!({"inputs": "weird"}));
    assert_eq!(s["inputs"]["properties"], json!({}));
}

fn schema() -> Value {
    prompt_schemas(&json!({
        "inputs": [
            {"name": "question", "kind": "string", "required": true},
            {"name": "tone", "kind": "string", "enumValues": ["friendly", "formal"], "default": "friendly"},
            {"name": "n", "kind": "integer", "default": 1},
            {"name": "tags", "kind": "array", "items": {"kind": "string"}},
            {"name": "user", "kind": "object", "properties": [
                {"name": "name", "kind": "string", "required": true}
            ]}
        ]
    }))["inputs"]
        .clone()
}

#[test]
fn good_inputs_pass_with_defaults_applied() {
    let c = check_inputs(
        &schema(),
        &obj(json!({"question": "hi", "n": 2.0, "tags": ["a"]})),
        false,
    );
    assert_eq!(c, InputCheck::default());
}

#[test]
fn every_problem_is_reported() {
    let c = check_inputs(
        &schema(),
        &obj(json!({"tone": "rude", "n": 1.5, "tags": ["a", "b", 7], "user": {}, "qestion": "x"})),
        false,
    );
    let msgs: Vec<&str> = c.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "question: expected a string, found nothing",
            "tone: expected one of \"friendly\", \"formal\", found the string \"rude\"",
            "n: expected an integer, found the number 1.5",
            "tags[2]: expected a string, found the number 7",
            "user.name: expected a string, found nothing",
        ]
    );
    assert_eq!(c.problems[3].input, "tags[2]");
    assert_eq!(c.problems[3].expected, "a string");
    assert_eq!(c.problems[3].found, "the number 7");
    assert_eq!(c.undeclared, ["qestion"]);
    assert!(c.warnings()[0].contains("`qestion`"));
    let strict = check_inputs(&schema(), &obj(json!({"question": "q", "x": 1})), true);
    assert_eq!(strict.problems.len(), 1);
    assert_eq!(strict.problems[0].input, "x");
}

#[test]
fn a_wrong_default_is_a_problem_too() {
    // The values the template sees are checked, defaults included.
    let s = prompt_schemas(&json!({"inputs": {"n": {"type": "integer", "default": "three"}}}));
    let c = check_inputs(&s["inputs"], &Map::new(), false);
    assert_eq!(c.problems.len(), 1);
    assert_eq!(c.problems[0].found, "the string \"three\"");
}

#[test]
fn huge_arrays_are_bounded() {
    let s = schema();
    let many: Vec<Value> = (0..10_000).map(|i| json!(i)).collect();
    let c = check_inputs(&s, &obj(json!({"question": "q", "tags": many})), false);
    assert_eq!(c.problems.len(), 100);
}

#[test]
fn references_in_samples_are_left_to_the_host() {
    let s = prompt_schemas(&json!({
        "inputs": {"research": {"type": "object"}},
        "sample": {"research": "${file:research.json}"}
    }));
    assert_eq!(
        check_inputs(&s["inputs"], &Map::new(), false),
        InputCheck::default()
    );
    // Given by the caller, the same text is a value like any other.
    let c = check_inputs(&s["inputs"], &obj(json!({"research": "${file:x}"})), false);
    assert_eq!(c.problems.len(), 1);
}
