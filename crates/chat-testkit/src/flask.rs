//! The `chat_app.db` of the Flask app, written by its own code
//! (tests/fixtures/make_flask_db.py: Flask-SQLAlchemy `db.create_all()`,
//! Flask-Bcrypt), run with the project's virtualenv (`scripts/install-deps.sh`
//! makes it), and the manifest of what it wrote.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub users: Vec<FlaskUser>,
    pub messages: Vec<FlaskMessage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FlaskUser {
    pub id: i32,
    pub username: String,
    pub password: String,
    pub password_hash: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FlaskMessage {
    pub id: i64,
    pub user_id: i32,
    pub username: String,
    pub content: String,
    pub message_type: Option<String>,
    pub timestamp: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// Runs the Flask app's code once per test process (bcrypt at `rounds`: 12 is
/// Flask-Bcrypt's default, slow) and gives each caller its own copy of the
/// database in `dir`; returns the copy's path and the manifest. Every caller
/// of one process asks for the same `rounds`.
pub fn flask_database(dir: &Path, rounds: u32) -> (PathBuf, Manifest) {
    static MADE: OnceLock<(u32, tempfile::TempDir, String)> = OnceLock::new();
    let (made_rounds, made, manifest) = MADE.get_or_init(|| {
        let made = tempfile::tempdir().expect("a temporary folder");
        let manifest = run_make_flask_db(made.path(), rounds);
        (rounds, made, manifest)
    });
    assert_eq!(*made_rounds, rounds, "one bcrypt cost per test process");
    let db_path = dir.join("chat_app.db");
    std::fs::copy(made.path().join("chat_app.db"), &db_path).expect("copy chat_app.db");
    let manifest = serde_json::from_str(manifest).expect("the manifest of make_flask_db.py");
    (db_path, manifest)
}

fn run_make_flask_db(dir: &Path, rounds: u32) -> String {
    let root = repo_root();
    let python = root.join(".venv/bin/python");
    let hint = "run scripts/install-deps.sh (it pip-installs tests/*/requirements.txt into .venv), \
                or: python3 -m venv .venv && .venv/bin/pip install -r tests/fixtures/requirements.txt";
    assert!(
        python.exists(),
        "{} is missing: the Flask database needs Flask, Flask-SQLAlchemy and Flask-Bcrypt; {hint}",
        python.display()
    );
    let check = Command::new(&python)
        .args(["-c", "import flask, flask_sqlalchemy, flask_bcrypt"])
        .output()
        .expect("run the virtualenv's python");
    assert!(
        check.status.success(),
        "Flask, Flask-SQLAlchemy or Flask-Bcrypt is not installed in .venv ({}); {hint}",
        String::from_utf8_lossy(&check.stderr).trim()
    );
    let manifest_path = dir.join("manifest.json");
    let out = Command::new(&python)
        .arg(root.join("tests/fixtures/make_flask_db.py"))
        .arg(dir.join("chat_app.db"))
        .arg(&manifest_path)
        .args(["--rounds", &rounds.to_string()])
        .output()
        .expect("run make_flask_db.py");
    assert!(
        out.status.success(),
        "make_flask_db.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&manifest_path).expect("the manifest file")
}
