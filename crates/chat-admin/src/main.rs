//! `chat-admin`: see `chat-admin --help`.

use std::process::ExitCode;

use chat_admin::config::Command;
use chat_admin::{copy, users, AdminError, Cli};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let outcome = match &cli.command {
        Command::Users(args) => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            users::list(args, &mut out).map(|_| ())
        }
        Command::CopyDb(args) => copy::copy_db(args).map(|summary| println!("{summary}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let AdminError::Verification(summary) = &e {
                println!("{summary}");
            }
            tracing::error!(error = %e, "chat-admin failed");
            eprintln!("chat-admin: error: {e}");
            ExitCode::FAILURE
        }
    }
}
