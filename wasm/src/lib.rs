//! wasm-bindgen bindings over promptshelf-core. (Skeleton.)

use wasm_bindgen::prelude::*;

/// The package version, to prove the toolchain end to end.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
