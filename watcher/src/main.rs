//! `promptshelf`: the native host. Each subcommand lives in its own module under `cmd/`.

mod cmd;
mod config;
mod history;
mod logging;
mod scan;
mod schemas;
mod server;
mod sync;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: parsing, tokenizing and serializing thousands of
/// documents on several threads is allocation-heavy (see BENCHMARKS.md, "Watcher").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
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
    /// Sync a library into a compact, immutable SQLite snapshot for shipping (the edge
    /// worker); refuses when files are broken unless --allow-errors.
    Build(cmd::build::BuildArgs),
    /// Parse a library folder and report every file that is not a valid document
    /// (`path:line:column: message`); exit 1 if any. For pre-commit hooks and CI.
    Check(cmd::check::CheckArgs),
    /// Render a `.prompty` file with inputs into chat messages, as the Prompty runtime would.
    Render(cmd::render::RenderArgs),
    /// Search a library folder or database: ranked hits with snippets (exit 2 on a bad query).
    Search(cmd::search::SearchArgs),
    /// Write TypeScript declarations of every prompt's inputs and outputs (typed
    /// `renderById` / client `render` calls).
    Types(cmd::types::TypesArgs),
    /// Print the version and exit.
    Version,
    /// Sync the library into its SQLite file once, then exit.
    Sync(config::SyncArgs),
    /// Sync, then keep syncing live as files change (until Ctrl-C / SIGTERM).
    Watch(cmd::watch::WatchCommand),
    /// Serve a database read-only: read API, admin API and dashboard.
    Serve(cmd::serve::ServeArgs),
    /// A document's versions from git history, newest first (drafts included).
    Log(cmd::versions::LogArgs),
    /// One version of a document: `ID@N`, `ID@LABEL` (`latest`, or a `[labels]` entry).
    Show(cmd::versions::ShowArgs),
    /// What changed between two versions (numbers or labels) of a document.
    Diff(cmd::versions::DiffArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build(a) => cmd::build::run(a),
        Command::Check(args) => cmd::check::run(args),
        Command::Render(a) => cmd::render::run(a),
        Command::Search(a) => cmd::search::run(a),
        Command::Types(a) => cmd::types::run(a),
        Command::Version => cmd::version::run(),
        Command::Sync(a) => cmd::sync::run(a),
        Command::Watch(a) => cmd::watch::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Log(a) => cmd::versions::run_log(a),
        Command::Show(a) => cmd::versions::run_show(a),
        Command::Diff(a) => cmd::versions::run_diff(a),
    }
}
