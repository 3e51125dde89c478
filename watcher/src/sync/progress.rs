//! A progress bar for long reconciles when stderr is a terminal; nothing otherwise
//! (the reconcile's log line reports the totals).

use super::report::{Progress, Quiet};
use crate::config::{Config, LogFormat};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

pub fn for_config(cfg: &Config) -> Box<dyn Progress + Send> {
    if cfg.progress && cfg.log_format == LogFormat::Text && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} syncing {pos}/{len} files {wide_bar} {eta}")
        {
            bar.set_style(style);
        }
        Box::new(Bar(bar))
    } else {
        Box::new(Quiet)
    }
}
