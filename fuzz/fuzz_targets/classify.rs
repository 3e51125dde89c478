//! Any string as a library path: `classify` answers without panicking, and whatever it
//! accepts has the extension and folder of its kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptshelf_core::library::classify;
use promptshelf_core::DocType;

fuzz_target!(|path: &str| {
    match classify(path) {
        Some(DocType::Persona) => assert!(path.starts_with("personas/")),
        Some(DocType::PromptTemplate) => assert!(path.starts_with("prompts/")),
        None => {}
    }
});
