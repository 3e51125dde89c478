//! `promptshelf sync DIR [--db FILE]`: bring the database in line with the folder once.
//! Exit 0 when the sync ran (even if some files are sync errors: they are listed);
//! 1 when it could not run at all.

use crate::config::{Config, SyncArgs};
use std::process::ExitCode;

pub fn run(args: SyncArgs) -> ExitCode {
    let cfg = match Config::for_sync(&args) {
        Ok(c) => c,
        Err(e) => {
            crate::logging::init(args.log_format.unwrap_or_default());
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    crate::logging::init(cfg.log_format);
    match crate::sync::run_once(&cfg) {
        Ok((report, status)) => {
            tracing::info!(
                documents = status.documents,
                errors = status.errors,
                files = report.files,
                read = report.read,
                ms = report.millis,
                db = %cfg.db.display(),
                "sync complete"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
