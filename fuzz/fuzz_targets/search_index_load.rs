//! Any bytes as a serialized index: an error, or an index that searches and
//! re-serializes without panicking. Most inputs die at the checksum, so the target
//! also feeds the bytes behind a valid header to reach the decoder itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptshelf_core::search::{codec_header, Index, SearchOptions};

fuzz_target!(|data: &[u8]| {
    let _ = Index::from_bytes(data);
    let mut blob = codec_header(data);
    blob.extend_from_slice(data);
    if let Ok(ix) = Index::from_bytes(&blob) {
        for q in ["", "customer", "custmer sup", "\"a b\"", "type:persona -x", "tag:a model.api:chat"] {
            let _ = ix.search(q, &SearchOptions::default());
        }
        let again = Index::from_bytes(&ix.to_bytes()).expect("re-serialized index loads");
        assert_eq!(again.len(), ix.len());
    }
});
