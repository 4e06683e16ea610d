//! Command-line flags. The database flag is the server's and the cleanup's
//! (`--database-url` / `DATABASE_URL`, default `chat_app.db`), so one
//! environment file serves all three programs.

use clap::{Args, Parser, Subcommand};

/// Operator commands for the chat room: list the accounts, ban and unban,
/// set a new password, delete a message, and copy a SQLite room (ours, or the
/// Flask app's chat_app.db) into PostgreSQL for a cluster of nodes. Running
/// servers on the same database apply a ban, a new password or a deletion to
/// their sockets within 10 seconds, without a restart. Output goes to stdout; logs go to stderr (RUST_LOG sets the
/// level, default info).
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-admin", version, about, long_about, after_long_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// List the accounts, one line each (or a JSON array with --json).
    ///
    /// One line per account, in the order of the ids:
    ///
    ///   <name><TAB>id: <id><TAB>created: <time><TAB>admin: <true|false><TAB>banned: <time or no><TAB>last seen: <time>
    ///
    /// Times are RFC 3339 UTC, or - when unknown. "last seen" is the last login
    /// or socket (joining or leaving) recorded since this version. Admin status
    /// is not stored: an account is an admin when its name (exact,
    /// case-sensitive, as login is) is in --admin-users. The database is migrated
    /// (and a Flask chat_app.db adopted) as chat-server would at its start; a
    /// SQLite file is never created.
    #[command(after_long_help = USERS_AFTER_HELP)]
    Users(UsersArgs),
    /// Copy a SQLite room into a PostgreSQL database for a cluster.
    ///
    /// Copies every account (id, name, bcrypt hash, creation time) and every
    /// message (id, author, content, type, time) of a SQLite room into a
    /// PostgreSQL database, for a cluster of nodes. Stop the node first: the
    /// SQLite file must not change during the copy.
    ///
    /// The source is opened as chat-server opens it: a Flask chat_app.db is
    /// adopted in place first (the same adoption, no row lost or changed). The
    /// target's schema is created by the server's own migrations. The copy then
    /// runs in one PostgreSQL transaction: rows in batches of --batch-size per
    /// INSERT (so memory stays small whatever the size of the room), the id
    /// sequences set past the largest ids (setval), and a verification: counts
    /// equal, and the first, the last and about 100 random rows of each table
    /// compared field by field. Only when all of it succeeds is the transaction
    /// committed; on any error or mismatch no copied row is left in the
    /// target (only the schema the migrations created). After the commit the
    /// tables are analyzed, so that PostgreSQL plans queries with statistics
    /// from the start.
    #[command(after_long_help = COPY_AFTER_HELP)]
    CopyDb(CopyDbArgs),
    /// Ban an account: it cannot log in (403) or connect, its sessions end,
    /// and running servers close its sockets and tell the room (user_banned).
    ///
    /// The name stays taken. Banning a banned account changes nothing. The
    /// operator may ban anyone, an account named in --admin-users too (in
    /// the room an admin cannot ban another admin).
    Ban(BanArgs),
    /// Lift a ban. The sessions the ban ended stay ended: the user logs in again.
    Unban(UnbanArgs),
    /// Set a new password, read from standard input (one line) or, on a
    /// terminal, from a prompt that does not echo; never from the command line.
    ///
    /// The account's sessions end, and running servers close its sockets:
    /// the user logs in again with the new password.
    ResetPassword(ResetPasswordArgs),
    /// Delete a message as an admin would in the room: its content erased
    /// (the row stays, marked deleted), its image file removed unless another
    /// message shows it, and running servers tell the room (message_deleted).
    DeleteMessage(DeleteMessageArgs),
}

/// The database, as chat-server and chat-cleanup name it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The database: a SQLite file path (or sqlite://path) or a postgres:// URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "chat_app.db",
        value_name = "URL"
    )]
    pub database_url: String,
}

/// The admin accounts, as chat-server is given them.
#[derive(Debug, Clone, Args)]
pub struct AdminNames {
    /// Comma-separated names of the admin accounts (exact names; blanks
    /// around a name are ignored).
    #[arg(
        long,
        env = "ADMIN_USERS",
        value_name = "NAMES",
        value_delimiter = ',',
        default_value = ""
    )]
    pub admin_users: Vec<String>,
}

impl AdminNames {
    /// The admin names, trimmed, without empty entries.
    pub fn admins(&self) -> Vec<String> {
        self.admin_users
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    }
}

/// The flags of `ban`.
#[derive(Debug, Clone, Args)]
pub struct BanArgs {
    /// The account's exact name (as login matches it).
    #[arg(value_name = "NAME")]
    pub username: String,

    /// Who the room is told banned it (user_banned's "by"): default the first
    /// of --admin-users, else 管理员.
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub admins: AdminNames,
}

/// The flags of `unban`.
#[derive(Debug, Clone, Args)]
pub struct UnbanArgs {
    /// The account's exact name.
    #[arg(value_name = "NAME")]
    pub username: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The flags of `reset-password`.
#[derive(Debug, Clone, Args)]
pub struct ResetPasswordArgs {
    /// The account's exact name.
    #[arg(value_name = "NAME")]
    pub username: String,

    /// bcrypt work factor of the new hash (4 to 31), as chat-server's.
    #[arg(long, env = "BCRYPT_COST", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The flags of `delete-message`.
#[derive(Debug, Clone, Args)]
pub struct DeleteMessageArgs {
    /// The message's id (as in GET /api/messages).
    #[arg(value_name = "ID")]
    pub id: i64,

    /// The account recorded as the deleter (message_deleted's "username"):
    /// default the first of --admin-users. It must exist.
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,

    /// Folder of uploaded images (a deleted image's file is removed there).
    #[arg(
        long,
        env = "UPLOAD_DIR",
        default_value = "uploads",
        value_name = "DIR"
    )]
    pub upload_dir: std::path::PathBuf,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub admins: AdminNames,
}

/// The flags of `users`.
#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub admins: AdminNames,

    /// Print a JSON array instead, for scripts: [{"id": 1, "username":
    /// "alice", "created_at": "2025-06-26T08:01:02.345Z" (or null),
    /// "admin": false, "banned_at": null (or a time), "last_seen_at": null
    /// (or a time)}, …].
    #[arg(long)]
    pub json: bool,
}

/// The flags of `copy-db`.
#[derive(Debug, Clone, Args)]
pub struct CopyDbArgs {
    /// The SQLite room to copy: a file path or sqlite://path. It must exist.
    #[arg(long, value_name = "SQLITE")]
    pub from: String,

    /// The PostgreSQL database to fill: postgres://user:pass@host/db. It must
    /// exist and hold no user and no message (a new database, or one that
    /// nodes have only migrated).
    #[arg(long, value_name = "POSTGRES_URL")]
    pub to: String,

    /// Also copy the login sessions (the `sessions` table), so that users
    /// stay logged in across the move. Without it they log in again.
    #[arg(long)]
    pub with_sessions: bool,

    /// Rows per INSERT (and per read of the source).
    #[arg(long, default_value_t = 1000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,

    /// Random rows per table compared field by field, besides the first and
    /// the last.
    #[arg(long, default_value_t = 100, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub sample: u32,
}

const AFTER_HELP: &str = "\
Database: --database-url / DATABASE_URL, as for chat-server and chat-cleanup
(default chat_app.db); copy-db names its two databases with --from and --to.

Running servers: ban, reset-password and delete-message are recorded in the
database (admin_events); every chat-server on it reads them every 2 seconds
and closes the user's sockets or tells the room. unban needs nothing from them.

Exit status: 0 done; 1 an error (the database could not be opened, an unknown
account or message, the copy failed or did not verify: nothing was committed);
2 invalid flags.";

const USERS_AFTER_HELP: &str = "\
Examples:
  chat-admin users --database-url /var/lib/chat/chat_app.db
  ADMIN_USERS=alice,bob chat-admin users --json | jq '.[] | select(.admin)'

Exit status: 0 listed; 1 the database could not be opened or read.";

const COPY_AFTER_HELP: &str = "\
Procedure (docs/CLUSTER.md):
  1. stop the SQLite node (and back up chat_app.db and the uploads);
  2. chat-admin copy-db --from /var/lib/chat/chat_app.db --to postgres://chat:…@db/chat
  3. start the cluster nodes with --database-url postgres://… --redis-url …
     and the same upload folder (shared by every node).

What is copied:
  users      id, username, password_hash (bcrypt, unchanged: every old password
             keeps working), created_at, username_key, banned_at, banned_by,
             last_seen_at
  messages   id, user_id, content, message_type, timestamp (NULLs stay NULL)
  sessions   id, data, expiry_date, user_id, with --with-sessions only
  sequences  users.id and messages.id continue past the largest copied id (and
             past the largest message id SQLite ever gave, so no id is reused)
Not copied: uploaded files (point the nodes at the same folder, or copy it),
the health check's write_probe row. Messages whose author does not exist (the
Flask app did not enforce the reference) stop the copy with their ids.

Refused: a --to that holds any user or message (or, with --with-sessions, any
session), a --from that is not an existing SQLite file, a --to that is not
postgres://. A PostgreSQL lock on the tables (users, messages, sessions) keeps
nodes from writing them during the copy.

Output: a summary on stdout (rows copied, next ids, rows verified). Exit status:
0 copied and verified (committed); 1 any error or mismatch (rolled back: the
target holds the migrated, empty schema); 2 invalid flags.";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn admin_names_are_a_comma_list() {
        if std::env::var_os("ADMIN_USERS").is_some() || std::env::var_os("DATABASE_URL").is_some() {
            return; // the environment overrides the defaults
        }
        let cli = Cli::try_parse_from(["chat-admin", "users"]).unwrap();
        let Command::Users(u) = cli.command else {
            panic!("users")
        };
        assert_eq!(u.database.database_url, "chat_app.db");
        assert!(u.admins.admins().is_empty());
        let cli = Cli::try_parse_from(["chat-admin", "users", "--admin-users", " alice, Bob ,,"])
            .unwrap();
        let Command::Users(u) = cli.command else {
            panic!("users")
        };
        assert_eq!(u.admins.admins(), ["alice", "Bob"]);
    }

    #[test]
    fn copy_db_needs_both_ends() {
        assert!(Cli::try_parse_from(["chat-admin", "copy-db", "--from", "a.db"]).is_err());
        assert!(Cli::try_parse_from(["chat-admin", "copy-db", "--to", "postgres://h/d"]).is_err());
        let cli = Cli::try_parse_from([
            "chat-admin",
            "copy-db",
            "--from",
            "a.db",
            "--to",
            "postgres://h/d",
        ])
        .unwrap();
        let Command::CopyDb(c) = cli.command else {
            panic!("copy-db")
        };
        assert_eq!(
            (c.batch_size, c.sample, c.with_sessions),
            (1000, 100, false)
        );
        assert!(Cli::try_parse_from([
            "chat-admin",
            "copy-db",
            "--from",
            "a",
            "--to",
            "b",
            "--batch-size",
            "0"
        ])
        .is_err());
    }
}
