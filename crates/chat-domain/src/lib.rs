//! The chat room's domain: accounts, messages and sessions over SQLite or
//! PostgreSQL. No HTTP here; the server and the cleanup program build on it.

pub mod accounts;
pub mod db;
pub mod deletion;
pub mod error;
pub mod messages;
pub mod moderation;
pub mod passwords;
pub mod room;
pub mod schema;
pub mod session_store;
pub mod storage;
pub mod timestamps;
pub mod users;

pub use accounts::Accounts;
pub use db::{Backend, Database, DatabaseUrl, DbConnection, DbOptions};
pub use deletion::{DeleteError, Deleted, DeletedNotice, Deleter};
pub use error::{DomainError, ValidationError};
pub use messages::{Message, MessageType, NewMessage, Page};
pub use moderation::{AdminAction, AdminEvent, BanError, Moderator};
pub use passwords::Passwords;
pub use room::Messages;
pub use session_store::DbSessionStore;
pub use storage::StorageArgs;
pub use users::{PublicUser, User};
