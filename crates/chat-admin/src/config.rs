//! Command-line flags. The database flag is the server's and the cleanup's
//! (`--database-url` / `DATABASE_URL`, default `chat_app.db`), so one
//! environment file serves all three programs.

use clap::{Args, Parser, Subcommand};

/// Operator commands for the chat room: list the accounts, and copy a SQLite
/// room (ours, or the Flask app's chat_app.db) into PostgreSQL for a cluster
/// of nodes. Output goes to stdout; logs go to stderr (RUST_LOG sets the
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
    ///   <name><TAB>id: <id><TAB>created: <RFC 3339 UTC, or -><TAB>admin: <true|false>
    ///
    /// The database records no ban and no last login, so neither is shown. Admin
    /// status is not stored either: an account is an admin when its name (exact,
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
    /// target (only the schema the migrations created).
    #[command(after_long_help = COPY_AFTER_HELP)]
    CopyDb(CopyDbArgs),
}

/// The flags of `users`.
#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    /// The database: a SQLite file path (or sqlite://path) or a postgres:// URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "chat_app.db",
        value_name = "URL"
    )]
    pub database_url: String,

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

    /// Print a JSON array instead, for scripts: [{"id": 1, "username":
    /// "alice", "created_at": "2025-06-26T08:01:02.345Z" (or null),
    /// "admin": false}, …].
    #[arg(long)]
    pub json: bool,
}

impl UsersArgs {
    /// The admin names, trimmed, without empty entries.
    pub fn admins(&self) -> Vec<String> {
        self.admin_users
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    }
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

Exit status: 0 done; 1 an error (the database could not be opened, the copy
failed or did not verify; nothing was committed); 2 invalid flags.

Not provided: banning, deleting messages or resetting passwords (the schema
has no ban or last-login column).";

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
             keeps working), created_at, username_key
  messages   id, user_id, content, message_type, timestamp (NULLs stay NULL)
  sessions   id, data, expiry_date, with --with-sessions only
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
        assert_eq!(u.database_url, "chat_app.db");
        assert!(u.admins().is_empty());
        let cli = Cli::try_parse_from(["chat-admin", "users", "--admin-users", " alice, Bob ,,"])
            .unwrap();
        let Command::Users(u) = cli.command else {
            panic!("users")
        };
        assert_eq!(u.admins(), ["alice", "Bob"]);
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
