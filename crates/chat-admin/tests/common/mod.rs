//! What the chat-admin integration tests share: the real binary with a clean
//! environment, and the Flask-written `chat_app.db` (chat-testkit's `flask`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chat_testkit::flask::Manifest;
/// The real binary, with none of the caller's configuration in its
/// environment (a developer's DATABASE_URL must not reach a test).
pub fn admin_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-admin"));
    for v in ["DATABASE_URL", "ADMIN_USERS", "RUST_LOG"] {
        cmd.env_remove(v);
    }
    cmd
}

/// Runs `chat-admin` with these arguments.
pub fn admin(args: &[&str]) -> Output {
    admin_command().args(args).output().expect("run chat-admin")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The Flask app's database (bcrypt at cost 4, to keep the test fast), in `dir`.
pub fn flask_database(dir: &Path) -> (PathBuf, Manifest) {
    chat_testkit::flask::flask_database(dir, 4)
}
