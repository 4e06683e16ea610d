//! `chat-cleanup`: see `chat-cleanup --help`.

use std::process::ExitCode;

use chat_cleanup::{run, Config};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cfg = Config::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    match run(&cfg) {
        Ok(summary) => {
            println!("{summary}");
            if summary.failed() > 0 {
                eprintln!(
                    "chat-cleanup: {} file(s) could not be removed (see the log above)",
                    summary.failed()
                );
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cleanup failed");
            eprintln!("chat-cleanup: error: {e}");
            ExitCode::FAILURE
        }
    }
}
