//! Any bytes as a Prompty file: an error or a document, never a panic or a hang.
//! Errors must carry both line and column or neither.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptshelf_core::{parse_document, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let opts = ParseOptions { max_bytes: 1 << 20, ..Default::default() };
    match parse_document("prompts/fuzz.prompty", data, &opts) {
        Ok(doc) => {
            assert!(doc.content["sections"].is_array());
            let _ = doc.content.to_string();
        }
        Err(e) => assert_eq!(e.line.is_some(), e.column.is_some(), "{e}"),
    }
});
