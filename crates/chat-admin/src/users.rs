//! `chat-admin users`: the accounts, one line each, or a JSON array.

use std::collections::BTreeSet;
use std::io::Write;

use chat_domain::schema::users;
use chat_domain::users::User;
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
}

impl std::fmt::Display for UserLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let created = self
            .created_at
            .as_ref()
            .map_or_else(|| "-".to_owned(), chat_domain::timestamps::to_rfc3339);
        write!(
            f,
            "{}\tid: {}\tcreated: {created}\tadmin: {}",
            printable(&self.username),
            self.id,
            self.admin
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
    let admins: BTreeSet<String> = args.admins().into_iter().collect();
    let db = crate::open_existing(&args.database_url)?;
    let mut conn = db.conn()?;
    let mut seen_admins = BTreeSet::new();
    let mut listed = 0usize;
    let mut after = i32::MIN;
    if args.json {
        out.write_all(b"[")?;
    }
    loop {
        let page: Vec<User> = users::table
            .filter(users::id.gt(after))
            .order(users::id.asc())
            .limit(PAGE)
            .select(User::as_select())
            .load(&mut *conn)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for u in page {
            let admin = admins.contains(&u.username);
            if admin {
                seen_admins.insert(u.username.clone());
            }
            let line = UserLine {
                id: u.id,
                username: u.username,
                created_at: u.created_at,
                admin,
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
        };
        assert_eq!(
            line.to_string(),
            "张三\tid: 3\tcreated: 2025-06-26T08:01:02.345Z\tadmin: true"
        );
        let line = UserLine {
            id: 4,
            username: "a\tb\nc".into(),
            created_at: None,
            admin: false,
        };
        assert_eq!(
            line.to_string(),
            "a\\tb\\nc\tid: 4\tcreated: -\tadmin: false"
        );
    }
}
