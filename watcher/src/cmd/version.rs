use std::process::ExitCode;

pub fn run() -> ExitCode {
    println!("promptshelf {}", env!("CARGO_PKG_VERSION"));
    ExitCode::SUCCESS
}
