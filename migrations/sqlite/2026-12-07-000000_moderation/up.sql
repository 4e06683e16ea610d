-- Moderation (PROTOCOL.md §6 ban_user, chat-admin): a ban is kept on the
-- account (the name stays taken), with when and by whom; last_seen_at is the
-- last login or socket. ALTER TABLE leaves adopted Flask rows as they are
-- (NULL: not banned, never seen since the adoption).
ALTER TABLE users ADD COLUMN banned_at DATETIME;
ALTER TABLE users ADD COLUMN banned_by INTEGER;
ALTER TABLE users ADD COLUMN last_seen_at DATETIME;

-- Whose session a row is, so that a ban or a new password ends them all.
-- Rows written before this column get it from their JSON.
ALTER TABLE sessions ADD COLUMN user_id INTEGER;
UPDATE sessions SET user_id = CAST(json_extract(data, '$.data.user_id') AS INTEGER)
 WHERE json_valid(data) AND json_type(data, '$.data.user_id') = 'integer';
CREATE INDEX IF NOT EXISTS ix_sessions_user_id ON sessions (user_id) WHERE user_id IS NOT NULL;

-- What chat-admin did while servers were running: every node reads the rows
-- after the last one it saw, and applies them to its own sockets.
CREATE TABLE IF NOT EXISTS admin_events (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    user_id INTEGER,
    message_id BIGINT,
    actor TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
