//! Registering and logging in: validation, bcrypt and the users table together.

use crate::db::Database;
use crate::error::{DomainError, Result};
use crate::moderation::{self, BanError, Moderator};
use crate::passwords::{validate_password, Passwords};
use crate::users::{self, validate_username, User};

#[derive(Clone, Debug)]
pub struct Accounts {
    db: Database,
    passwords: Passwords,
}

impl Accounts {
    pub fn new(db: Database, passwords: Passwords) -> Self {
        Self { db, passwords }
    }

    /// Creates an account: the name trimmed and checked, the password checked
    /// (never truncated) and hashed off the async workers.
    pub async fn register(&self, username: &str, password: &str) -> Result<User> {
        let username = validate_username(username)?;
        validate_password(password)?;
        // A name already taken is refused before bcrypt's work, so that
        // retried registrations cost no hashing.
        let name = username.clone();
        if self
            .db
            .run(move |conn| users::name_taken(conn, &name))
            .await?
        {
            return Err(DomainError::UsernameTaken);
        }
        let hash = self.passwords.hash(password.to_owned()).await?;
        self.db
            .run(move |conn| users::create(conn, &username, &hash))
            .await
    }

    /// The user whose exact name and password these are. Unknown names cost
    /// the same bcrypt work as wrong passwords.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Option<User>> {
        let name = username.trim().to_owned();
        let user = if name.is_empty() {
            None
        } else {
            self.db
                .run(move |conn| users::find_by_username(conn, &name))
                .await?
        };
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let ok = self.passwords.verify(password.to_owned(), hash).await?;
        Ok(user.filter(|_| ok))
    }

    pub async fn find(&self, id: i32) -> Result<Option<User>> {
        self.db.run(move |conn| users::find_by_id(conn, id)).await
    }

    /// Bans the account of this exact name if `by` may (`is_admin` tells
    /// whether a name is one of the operator's admins). Returns the account
    /// and whether it was not banned before.
    pub async fn ban(
        &self,
        username: String,
        by: Moderator,
        is_admin: impl Fn(&str) -> bool + Send + 'static,
    ) -> std::result::Result<(User, bool), BanError> {
        let now = crate::timestamps::now();
        self.db
            .run(move |conn| {
                Ok((|| {
                    let target = moderation::target(conn, &username)?;
                    moderation::may_ban(by, &target, is_admin(&target.username))?;
                    let newly = moderation::ban(conn, target.id, Some(by.user_id), now)?;
                    Ok((target, newly))
                })())
            })
            .await?
    }

    /// Lifts the ban of the account of this exact name if `by` is an admin.
    /// Returns the account and whether it was banned.
    pub async fn unban(
        &self,
        username: String,
        by: Moderator,
    ) -> std::result::Result<(User, bool), BanError> {
        if !by.is_admin {
            return Err(BanError::NotAdmin);
        }
        self.db
            .run(move |conn| {
                Ok((|| {
                    let target = moderation::target(conn, &username)?;
                    let lifted = moderation::unban(conn, target.id)?;
                    Ok((target, lifted))
                })())
            })
            .await?
    }

    /// Records that these users were seen now (a login, a socket).
    pub async fn touch(&self, user_ids: Vec<i32>) -> Result<()> {
        let now = crate::timestamps::now();
        self.db
            .run(move |conn| moderation::touch(conn, &user_ids, now))
            .await
    }
}
