//! Logging to the console through `tracing-wasm`, off by default and switchable at run
//! time with `setLogLevel`. The subscriber is installed on the first call that turns
//! logging on; after that a per-layer filter reads the level from an atomic, so
//! switching back and forth costs nothing and works any number of times (a global
//! subscriber can be set only once).

use crate::errors;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Once;
use tracing::Level;
use tracing_subscriber_registry::layer::{Layer, SubscriberExt};
use tracing_subscriber_registry::Registry;
use wasm_bindgen::prelude::*;

/// 0 = off, 1 = error ... 5 = trace.
static LEVEL: AtomicU8 = AtomicU8::new(0);
static INSTALL: Once = Once::new();

fn rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// Sets the console log level: `"off"` (the default), `"error"`, `"warn"`, `"info"`,
/// `"debug"` or `"trace"` (case-insensitive). Throws a `TypeError` for anything else.
#[wasm_bindgen(js_name = setLogLevel)]
pub fn set_log_level(
    #[wasm_bindgen(unchecked_param_type = "LogLevel")] level: &str,
) -> Result<(), JsValue> {
    let n = match level.to_ascii_lowercase().as_str() {
        "off" => 0,
        "error" => 1,
        "warn" => 2,
        "info" => 3,
        "debug" => 4,
        "trace" => 5,
        _ => {
            return Err(errors::type_error(&format!(
                "setLogLevel: unknown level {level:?} (off, error, warn, info, debug, trace)"
            )))
        }
    };
    LEVEL.store(n, Ordering::Relaxed);
    if n > 0 {
        INSTALL.call_once(|| {
            let config = tracing_wasm::WASMLayerConfigBuilder::new()
                .set_report_logs_in_timings(false)
                .set_max_level(Level::TRACE)
                .set_console_config(tracing_wasm::ConsoleConfig::ReportWithoutConsoleColor)
                .build();
            // A *dynamic* filter: tracing caches a plain filter's verdict per call site
            // ("always"/"never"), which would freeze the level of the first call.
            let filter = tracing_subscriber_registry::filter::dynamic_filter_fn(|meta, _| {
                rank(meta.level()) <= LEVEL.load(Ordering::Relaxed)
            });
            let layer = tracing_wasm::WASMLayer::new(config).with_filter(filter);
            // Fails only if another subscriber is already global (none is, in this
            // module); logging then simply stays with that one.
            let _ = tracing::subscriber::set_global_default(Registry::default().with(layer));
        });
    }
    Ok(())
}

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: present in browsers, workers, Node ≥ 16 and workerd.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// A timestamp for log lines, taken only when debug logging is on (no clock otherwise).
pub fn now() -> f64 {
    if LEVEL.load(Ordering::Relaxed) >= 4 {
        performance_now()
    } else {
        0.0
    }
}

/// Milliseconds since `t` (rounded to µs), or 0 when logging was off at `t`.
pub fn since(t: f64) -> f64 {
    if t == 0.0 || LEVEL.load(Ordering::Relaxed) < 4 {
        return 0.0;
    }
    ((performance_now() - t) * 1000.0).round() / 1000.0
}
