//! `chat-admin`: see `chat-admin --help`.

use std::process::ExitCode;

use chat_admin::config::Command;
use chat_admin::{copy, moderate, users, AdminError, Cli};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn said(sentence: String) {
    println!("{sentence}");
}

/// The new password: from a prompt on a terminal, else the first line of
/// standard input.
fn reset_password(args: &chat_admin::config::ResetPasswordArgs) -> Result<String, AdminError> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let password = moderate::prompt_password()?;
        moderate::reset_password(args, &mut std::io::Cursor::new(password))
    } else {
        moderate::reset_password(args, &mut std::io::stdin().lock())
    }
}

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
        Command::Ban(args) => moderate::ban(args).map(said),
        Command::Unban(args) => moderate::unban(args).map(said),
        Command::ResetPassword(args) => reset_password(args).map(said),
        Command::DeleteMessage(args) => moderate::delete_message(args).map(said),
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
