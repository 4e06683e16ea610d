//! `chat-cleanup`: see `chat-cleanup --help`.

use std::process::ExitCode;

use chat_cleanup::config::DAILY_AT_ENV;
use chat_cleanup::{daily, run_and_report, Config};
use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cfg = Config::parse();
    let cleanup_at = std::env::var(DAILY_AT_ENV).ok();
    let daily_at = cfg.daily_at(cleanup_at.as_deref()).unwrap_or_else(|e| {
        Config::command()
            .error(clap::error::ErrorKind::InvalidValue, e)
            .exit()
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    if daily_at.is_some() {
        daily::check_tz();
    }
    match daily_at {
        None if run_and_report(&cfg) => ExitCode::SUCCESS,
        None => ExitCode::FAILURE,
        Some(at) if cfg.next_run => {
            println!("{}", daily::local_time(daily::next_run_from_now(at)));
            ExitCode::SUCCESS
        }
        Some(at) => daily::run_daily(&cfg, at),
    }
}
