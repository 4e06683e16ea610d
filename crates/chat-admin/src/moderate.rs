//! `ban`, `unban`, `reset-password`, `delete-message`: the rules of
//! chat_domain applied from the operator's shell, and recorded (admin_events)
//! for running servers to apply to their sockets.

use std::io::BufRead;

use diesel::Connection;

use chat_domain::moderation::{self, AdminAction};
use chat_domain::users::{self, User};
use chat_domain::{timestamps, DbConnection, Deleter};

use crate::config::{AdminNames, BanArgs, DeleteMessageArgs, ResetPasswordArgs, UnbanArgs};
use crate::error::AdminError;

/// What the room is told when no name is given and no admin is named.
pub const OPERATOR: &str = "管理员";

fn account(conn: &mut DbConnection, name: &str) -> Result<User, AdminError> {
    users::find_by_username(conn, name)?.ok_or_else(|| AdminError::UnknownUser(name.to_owned()))
}

/// `--by`, else the first of `--admin-users`.
fn actor(by: &Option<String>, admins: &AdminNames) -> Option<String> {
    by.clone().or_else(|| admins.admins().into_iter().next())
}

/// `chat-admin ban NAME`.
pub fn ban(args: &BanArgs) -> Result<String, AdminError> {
    let db = crate::open_existing(&args.database.database_url)?;
    let mut pooled = db.conn()?;
    let conn: &mut DbConnection = &mut pooled;
    let target = account(conn, &args.username)?;
    let by = actor(&args.by, &args.admins).unwrap_or_else(|| OPERATOR.to_owned());
    let by_id = users::find_by_username(conn, &by)?.map(|u| u.id);
    let now = timestamps::now();
    let newly = conn.transaction(|conn| {
        let newly = moderation::ban(conn, target.id, by_id, now)?;
        if newly {
            moderation::record(conn, AdminAction::Ban, Some(target.id), None, &by, now)?;
        }
        Ok::<_, chat_domain::DomainError>(newly)
    })?;
    tracing::info!(user_id = target.id, newly, "ban");
    Ok(if newly {
        format!(
            "{} is banned: logins refused, sessions ended; running servers close the sockets within 10 s",
            target.username
        )
    } else {
        format!("{} was banned already; nothing changed", target.username)
    })
}

/// `chat-admin unban NAME`.
pub fn unban(args: &UnbanArgs) -> Result<String, AdminError> {
    let db = crate::open_existing(&args.database.database_url)?;
    let mut pooled = db.conn()?;
    let conn: &mut DbConnection = &mut pooled;
    let target = account(conn, &args.username)?;
    let lifted = moderation::unban(conn, target.id)?;
    tracing::info!(user_id = target.id, lifted, "unban");
    Ok(if lifted {
        format!(
            "{} is no longer banned and can log in again",
            target.username
        )
    } else {
        format!("{} was not banned; nothing changed", target.username)
    })
}

/// `chat-admin reset-password NAME`, the password read from `input` (one
/// line, its line ending removed).
pub fn reset_password(
    args: &ResetPasswordArgs,
    input: &mut dyn BufRead,
) -> Result<String, AdminError> {
    let db = crate::open_existing(&args.database.database_url)?;
    let mut pooled = db.conn()?;
    let conn: &mut DbConnection = &mut pooled;
    let target = account(conn, &args.username)?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(AdminError::EmptyPassword);
    }
    let hash = chat_domain::passwords::hash_new_password(password, args.bcrypt_cost)
        .map_err(AdminError::Password)?;
    let now = timestamps::now();
    let ended = conn.transaction(|conn| {
        let ended = moderation::set_password(conn, target.id, &hash)?;
        moderation::record(
            conn,
            AdminAction::ResetPassword,
            Some(target.id),
            None,
            OPERATOR,
            now,
        )?;
        Ok::<_, chat_domain::DomainError>(ended)
    })?;
    tracing::info!(
        user_id = target.id,
        sessions_ended = ended,
        "password reset"
    );
    Ok(format!(
        "{}'s password is changed; {ended} session(s) ended; running servers close the sockets within 10 s",
        target.username
    ))
}

/// The new password from a prompt that does not echo, on a terminal.
pub fn prompt_password() -> Result<String, AdminError> {
    let first = rpassword::prompt_password("New password: ")?;
    let again = rpassword::prompt_password("Again: ")?;
    if first != again {
        return Err(AdminError::PasswordsDiffer);
    }
    Ok(first)
}

/// `chat-admin delete-message ID`.
pub fn delete_message(args: &DeleteMessageArgs) -> Result<String, AdminError> {
    let by_name = actor(&args.by, &args.admins).ok_or(AdminError::NoDeleter)?;
    let db = crate::open_existing(&args.database.database_url)?;
    let mut pooled = db.conn()?;
    let conn: &mut DbConnection = &mut pooled;
    let by = account(conn, &by_name)?;
    let now = timestamps::now();
    let deleter = Deleter {
        user_id: by.id,
        is_admin: true,
    };
    let deleted = conn.transaction(|conn| {
        let deleted =
            chat_domain::deletion::delete(conn, args.id, deleter, now, chrono::Duration::zero())?;
        moderation::record(
            conn,
            AdminAction::DeleteMessage,
            None,
            Some(args.id),
            &by.username,
            now,
        )?;
        Ok::<_, AdminError>(deleted)
    })?;
    tracing::info!(message_id = args.id, by = by.id, "message deleted");
    let mut said = format!(
        "message {} deleted (by {}); running servers tell the room within 10 s",
        args.id, by.username
    );
    let image = deleted
        .orphaned_image
        .as_deref()
        .and_then(chat_domain::storage::upload_name);
    if let Some(name) = image {
        match std::fs::remove_file(args.upload_dir.join(name)) {
            Ok(()) => said.push_str(&format!("; image {name} removed")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // The message is deleted; its file may be in a folder this
                // command was not told of.
                tracing::warn!(file = name, dir = %args.upload_dir.display(), "the deleted image's file is not in the upload folder");
                said.push_str(&format!(
                    "; image {name} NOT found in {}: remove it from the server's upload folder \
                     (or name that folder with --upload-dir / UPLOAD_DIR)",
                    args.upload_dir.display()
                ));
            }
            Err(e) => {
                tracing::warn!(error = %e, file = name, "the image file could not be removed");
                said.push_str(&format!("; image {name} NOT removed: {e}"));
            }
        }
    }
    Ok(said)
}
