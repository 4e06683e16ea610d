//! Helpers of the domain tests. The fresh database per test (SQLite or
//! PostgreSQL) and `on_both_backends!` are chat-testkit's; what is left here
//! are the times the tests write.
#![allow(dead_code)]

use chrono::NaiveDateTime;

#[allow(unused_imports)]
pub use chat_testkit::{passwords, test_options};

/// A naive UTC time, written as the Flask app stores them.
pub fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("bad test time {text:?}: {e}"))
}

pub fn now() -> NaiveDateTime {
    chat_domain::timestamps::now()
}

pub fn days_ago(days: i64) -> NaiveDateTime {
    now() - chrono::Duration::days(days)
}

/// The retention window the server uses: 7 days back from now.
pub fn retention_start() -> NaiveDateTime {
    days_ago(7)
}
