//! What the cleanup's integration tests share.

use std::process::Command;

/// The real binary, with none of the caller's configuration in its
/// environment (a developer's DATABASE_URL must not reach a test).
pub fn cleanup_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-cleanup"));
    for v in [
        "DATABASE_URL",
        "UPLOAD_DIR",
        "LOG_DIR",
        "RETENTION_DAYS",
        "LOG_RETENTION_DAYS",
        "CLEANUP_BATCH_SIZE",
        "CLEANUP_BATCH_PAUSE_MS",
        "CLEANUP_DRY_RUN",
        "CLEANUP_AT",
        "TZDIR",
    ] {
        cmd.env_remove(v);
    }
    cmd
}
