//! One module per subcommand; each exposes `run(args) -> ExitCode`.

pub mod build;
pub mod check;
pub mod render;
pub mod search;
pub mod serve;
pub mod sync;
pub mod types;
pub mod version;
pub mod versions;
pub mod watch;
