//! Accounts as stored: queries on `users`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::error::{DomainError, Result, ValidationError};
use crate::schema::users;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i32,
    pub username: String,
    pub password_hash: String,
    pub created_at: Option<NaiveDateTime>,
    /// When an admin or the operator banned the account; a banned user
    /// cannot log in or connect.
    pub banned_at: Option<NaiveDateTime>,
}

impl User {
    pub fn is_banned(&self) -> bool {
        self.banned_at.is_some()
    }
}

/// The `User` object of the protocol: what others may see of an account.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PublicUser {
    pub id: i32,
    pub username: String,
    #[serde(serialize_with = "crate::timestamps::serialize")]
    pub created_at: Option<NaiveDateTime>,
}

impl From<&User> for PublicUser {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            created_at: u.created_at,
        }
    }
}

/// The case-insensitive identity of a name, in any script.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// A new username, trimmed: 2 to 20 characters, letters of any script, digits, `_`, `-`.
pub fn validate_username(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::Missing);
    }
    let len = name.chars().count();
    if !(2..=20).contains(&len) {
        return Err(ValidationError::UsernameLength);
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ValidationError::UsernameCharacters);
    }
    Ok(name.to_owned())
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUser<'a> {
    username: &'a str,
    password_hash: &'a str,
    created_at: NaiveDateTime,
    username_key: String,
}

/// Inserts an account. The unique index on the lower-cased name settles races
/// between concurrent registrations (and between nodes).
pub fn create(conn: &mut DbConnection, username: &str, password_hash: &str) -> Result<User> {
    let row = NewUser {
        username,
        password_hash,
        created_at: crate::timestamps::now(),
        username_key: username_key(username),
    };
    diesel::insert_into(users::table)
        .values(&row)
        .returning((
            users::id,
            users::username,
            users::password_hash,
            users::created_at,
            users::banned_at,
        ))
        .get_result::<User>(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => DomainError::UsernameTaken,
            e => DomainError::Query(e),
        })
}

/// Whether a new account of this name would clash with an existing one
/// (case-insensitively). The unique index stays the final judge.
pub fn name_taken(conn: &mut DbConnection, username: &str) -> Result<bool> {
    let taken: i64 = users::table
        .filter(users::username_key.eq(username_key(username)))
        .count()
        .get_result(conn)?;
    Ok(taken > 0)
}

/// The account with exactly this name (login is case-sensitive, as in Flask).
pub fn find_by_username(conn: &mut DbConnection, username: &str) -> Result<Option<User>> {
    if username.contains('\0') {
        // No stored name holds a NUL, and PostgreSQL refuses one in a query
        // parameter with an error: a login attempt is just an unknown name.
        return Ok(None);
    }
    Ok(users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut DbConnection, id: i32) -> Result<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Fills `username_key` for rows written by the Flask app (or by it again after
/// a roll-back). Where two old names clash case-insensitively, the older keeps
/// the key and the newer keeps NULL: both still log in, and a new name can
/// clash with neither. Returns how many rows got a key.
pub fn backfill_username_keys(conn: &mut DbConnection) -> Result<usize> {
    let pending: Vec<(i32, String)> = users::table
        .filter(users::username_key.is_null())
        .order(users::id)
        .select((users::id, users::username))
        .load(conn)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let mut filled = 0;
    conn.transaction(|conn| {
        for (id, name) in &pending {
            if !name_taken(conn, name)? {
                diesel::update(users::table.find(id))
                    .set(users::username_key.eq(username_key(name)))
                    .execute(conn)?;
                filled += 1;
            }
        }
        Ok::<_, DomainError>(())
    })?;
    tracing::info!(
        filled,
        of = pending.len(),
        "case-insensitive username keys filled in"
    );
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_bounded() {
        assert_eq!(validate_username("  alice ").unwrap(), "alice");
        assert_eq!(validate_username("张三").unwrap(), "张三");
        assert_eq!(validate_username("a-b_9").unwrap(), "a-b_9");
        assert_eq!(validate_username("Ωμέγα").unwrap(), "Ωμέγα");
        assert_eq!(validate_username(""), Err(ValidationError::Missing));
        assert_eq!(validate_username("   \t"), Err(ValidationError::Missing));
        assert_eq!(validate_username("a"), Err(ValidationError::UsernameLength));
        assert_eq!(
            validate_username(&"x".repeat(21)),
            Err(ValidationError::UsernameLength)
        );
        assert!(validate_username(&"字".repeat(20)).is_ok());
        for bad in [
            "a b", "a'b", "a;--", "x\"y", "<b>", "a.b", "ab\u{0}", "😀😀",
        ] {
            assert_eq!(
                validate_username(bad),
                Err(ValidationError::UsernameCharacters),
                "{bad:?}"
            );
        }
    }
}
