//! `chat-admin users`: the accounts, one line each, or a JSON array.

use std::collections::BTreeSet;
use std::io::Write;

use chat_domain::schema::users;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::config::UsersArgs;
use crate::error::AdminError;

/// Accounts read per query.
const PAGE: i64 = 1000;

/// One account as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserLine {
    pub id: i32,
    pub username: String,
    #[serde(serialize_with = "chat_domain::timestamps::serialize")]
    pub created_at: Option<NaiveDateTime>,
    pub admin: bool,
    /// When the account was banned (null: not banned).
    #[serde(serialize_with = "chat_domain::timestamps::serialize")]
    pub banned_at: Option<NaiveDateTime>,
    /// The last login or socket.
    #[serde(serialize_with = "chat_domain::timestamps::serialize")]
    pub last_seen_at: Option<NaiveDateTime>,
}

fn time_or_dash(t: &Option<NaiveDateTime>) -> String {
    t.as_ref()
        .map_or_else(|| "-".to_owned(), chat_domain::timestamps::to_rfc3339)
}

impl std::fmt::Display for UserLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let banned = self
            .banned_at
            .as_ref()
            .map_or_else(|| "no".to_owned(), chat_domain::timestamps::to_rfc3339);
        write!(
            f,
            "{}\tid: {}\tcreated: {}\tadmin: {}\tbanned: {banned}\tlast seen: {}",
            printable(&self.username),
            self.id,
            time_or_dash(&self.created_at),
            self.admin,
            time_or_dash(&self.last_seen_at),
        )
    }
}

/// A name fit for one line: control characters (a Flask-era name may hold a
/// tab or a newline) are escaped, everything else is as stored.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Lists the accounts of `args.database_url` on `out`, in the order of the
/// ids, reading them a page at a time. Returns how many were listed.
pub fn list(args: &UsersArgs, out: &mut dyn Write) -> Result<usize, AdminError> {
    let admins: BTreeSet<String> = args.admins.admins().into_iter().collect();
    let db = crate::open_existing(&args.database.database_url)?;
    let mut conn = db.conn()?;
    let mut seen_admins = BTreeSet::new();
    let mut listed = 0usize;
    let mut after = i32::MIN;
    if args.json {
        out.write_all(b"[")?;
    }
    loop {
        type Row = (
            i32,
            String,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        );
        let page: Vec<Row> = users::table
            .filter(users::id.gt(after))
            .order(users::id.asc())
            .limit(PAGE)
            .select((
                users::id,
                users::username,
                users::created_at,
                users::banned_at,
                users::last_seen_at,
            ))
            .load(&mut *conn)?;
        let Some(last) = page.last() else { break };
        after = last.0;
        for (id, username, created_at, banned_at, last_seen_at) in page {
            let admin = admins.contains(&username);
            if admin {
                seen_admins.insert(username.clone());
            }
            let line = UserLine {
                id,
                username,
                created_at,
                admin,
                banned_at,
                last_seen_at,
            };
            if args.json {
                out.write_all(if listed == 0 { b"\n  " } else { b",\n  " })?;
                serde_json::to_writer(&mut *out, &line)?;
            } else {
                writeln!(out, "{line}")?;
            }
            listed += 1;
        }
    }
    if args.json {
        out.write_all(if listed == 0 { b"]\n" } else { b"\n]\n" })?;
    }
    out.flush()?;
    for missing in admins.difference(&seen_admins) {
        tracing::warn!(name = %missing, "a name of --admin-users / ADMIN_USERS has no account");
    }
    tracing::info!(users = listed, "users listed");
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_account() {
        let t = NaiveDateTime::parse_from_str("2025-06-26 08:01:02.345678", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        let line = UserLine {
            id: 3,
            username: "张三".into(),
            created_at: Some(t),
            admin: true,
            banned_at: Some(t),
            last_seen_at: Some(t),
        };
        assert_eq!(
            line.to_string(),
            "张三\tid: 3\tcreated: 2025-06-26T08:01:02.345Z\tadmin: true\t\
             banned: 2025-06-26T08:01:02.345Z\tlast seen: 2025-06-26T08:01:02.345Z"
        );
        let line = UserLine {
            id: 4,
            username: "a\tb\nc".into(),
            created_at: None,
            admin: false,
            banned_at: None,
            last_seen_at: None,
        };
        assert_eq!(
            line.to_string(),
            "a\\tb\\nc\tid: 4\tcreated: -\tadmin: false\tbanned: no\tlast seen: -"
        );
    }
}
