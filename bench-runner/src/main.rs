//! `bench-runner`: builds benchlab's images and measures its services under load.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = bench_runner::cli::parse();
    match bench_runner::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
