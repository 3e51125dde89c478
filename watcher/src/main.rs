//! `promptshelf`: the native host. (Skeleton: subcommands land with their issues.)

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "promptshelf",
    version,
    about = "Keep prompt and persona files in sync with a searchable SQLite file"
)]
enum Cli {}

fn main() {
    let _ = Cli::parse();
}
