//! Registering and logging in: validation, bcrypt and the users table together.

use crate::db::Database;
use crate::error::{DomainError, Result};
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
}
