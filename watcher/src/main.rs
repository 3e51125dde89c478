//! `promptshelf`: the native host. Each subcommand lives in its own module under `cmd/`.

mod cmd;
mod scan;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "promptshelf",
    version,
    about = "Keep prompt and persona files in sync with a searchable SQLite file"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a library folder and report every file that is not a valid document
    /// (`path:line:column: message`); exit 1 if any. For pre-commit hooks and CI.
    Check(cmd::check::CheckArgs),
    /// Print the version and exit (placeholder until the real subcommands land).
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Version => cmd::version::run(),
    }
}
