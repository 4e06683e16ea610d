//! `chat-cleanup`: the chat room's daily retention. [`run`] does the work;
//! the binary parses the flags, sets up logging and prints the [`Summary`]
//! ([`run_and_report`]), once, or every day with `--daily-at` ([`daily`],
//! its calendar in [`schedule`]).

pub mod config;
pub mod daily;
pub mod error;
pub mod files;
pub mod messages;
pub mod schedule;
pub mod summary;

use std::collections::BTreeSet;
use std::time::SystemTime;

use chat_domain::{timestamps, Database, DbOptions};

pub use config::Config;
pub use error::CleanupError;
pub use summary::Summary;

/// Opens the database without ever creating one: a SQLite file must exist.
pub fn open_database(url: &str) -> Result<Database, CleanupError> {
    Ok(Database::open_existing(url, &DbOptions::operator_tool())?)
}

/// One cleanup, as a plain `chat-cleanup` run does it: [`run`], then the
/// summary on stdout, or the error on stderr (and in the log). True when
/// everything was done; false when the cleanup could not run or some file
/// could not be removed (exit status 1 of a plain run).
pub fn run_and_report(cfg: &Config) -> bool {
    match run(cfg) {
        Ok(summary) => {
            println!("{summary}");
            if summary.failed() > 0 {
                eprintln!(
                    "chat-cleanup: {} file(s) could not be removed (see the log above)",
                    summary.failed()
                );
                false
            } else {
                true
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cleanup failed");
            eprintln!("chat-cleanup: error: {e}");
            false
        }
    }
}

/// Applies the retention once. Errors mean nothing could be done (the
/// database or a folder is missing); files that could not be removed are
/// counted in [`Summary::failed`].
pub fn run(cfg: &Config) -> Result<Summary, CleanupError> {
    files::check_dir(&cfg.storage.upload_dir, "upload", "upload-dir")?;
    if let Some(dir) = &cfg.storage.log_dir {
        files::check_dir(dir, "log", "log-dir")?;
    }
    let db = open_database(&cfg.storage.database_url)?;
    let mut conn = db.conn()?;
    let dry = cfg.dry_run;

    let cutoff = timestamps::now() - cfg.retention();
    let file_cutoff = SystemTime::now()
        .checked_sub(cfg.upload_retention())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut summary = Summary {
        dry_run: dry,
        cutoff,
        ..Summary::default()
    };

    // 1. Messages, in batches.
    let pass = messages::purge(&mut conn, cutoff, cfg.batch_size, cfg.batch_pause(), dry)?;
    summary.messages = pass.messages;
    tracing::info!(messages = pass.messages, batches = pass.batches, dry_run = dry, %cutoff, "old messages");

    // 2. Their images, unless a remaining message still shows them.
    let urls: Vec<String> = pass.image_urls.into_iter().collect();
    let kept = messages::still_referenced(&mut conn, &urls, cutoff, dry)?;
    let mut handled = BTreeSet::new();
    let mut images = Vec::new();
    for url in urls.iter().filter(|u| !kept.contains(*u)) {
        let Some(name) = files::upload_name(url) else {
            tracing::warn!(url = %url, "image message with an unexpected URL; no file removed");
            continue;
        };
        handled.insert(name.to_owned());
        if let Some(c) = files::regular_file(&cfg.storage.upload_dir, name) {
            images.push(c);
        }
    }
    summary.images = files::remove_all(&images, dry, "image");

    // 3. Orphan uploads: old, and referenced by no (remaining) message.
    let old = files::old_files(&cfg.storage.upload_dir, file_cutoff, files::is_upload_name)?;
    let old: Vec<_> = old
        .into_iter()
        .filter(|c| !handled.contains(&c.name))
        .collect();
    let old_urls: Vec<String> = old.iter().map(|c| files::upload_url(&c.name)).collect();
    let used = messages::still_referenced(&mut conn, &old_urls, cutoff, dry)?;
    let orphans: Vec<_> = old
        .into_iter()
        .filter(|c| !used.contains(&files::upload_url(&c.name)))
        .collect();
    summary.orphans = files::remove_all(&orphans, dry, "orphan upload");
    drop(conn);

    // 4. Log files.
    if let Some(dir) = &cfg.storage.log_dir {
        let log_cutoff = SystemTime::now()
            .checked_sub(cfg.log_retention())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let logs = files::old_files(dir, log_cutoff, files::is_log_name)?;
        summary.logs = files::remove_all(&logs, dry, "log file");
        summary.log_dir = true;
    }
    Ok(summary)
}
