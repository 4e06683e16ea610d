-- Moderation (PROTOCOL.md §6 ban_user, chat-admin): a ban is kept on the
-- account (the name stays taken), with when and by whom; last_seen_at is the
-- last login or socket.
ALTER TABLE users ADD COLUMN IF NOT EXISTS banned_at TIMESTAMP;
ALTER TABLE users ADD COLUMN IF NOT EXISTS banned_by INTEGER;
ALTER TABLE users ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMP;

-- Whose session a row is, so that a ban or a new password ends them all.
-- Rows written before this column get it from their JSON.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS user_id INTEGER;
UPDATE sessions SET user_id = (data::jsonb #>> '{data,user_id}')::integer
 WHERE CASE WHEN data LIKE '{%'
            THEN jsonb_typeof(data::jsonb #> '{data,user_id}') = 'number'
            ELSE false END;
CREATE INDEX IF NOT EXISTS ix_sessions_user_id ON sessions (user_id) WHERE user_id IS NOT NULL;

-- What chat-admin did while servers were running: every node reads the rows
-- after the last one it saw, and applies them to its own sockets.
CREATE TABLE IF NOT EXISTS admin_events (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id INTEGER,
    message_id BIGINT,
    actor TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
