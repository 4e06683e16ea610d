DROP TABLE IF EXISTS admin_events;
DROP INDEX IF EXISTS ix_sessions_user_id;
ALTER TABLE sessions DROP COLUMN user_id;
ALTER TABLE users DROP COLUMN last_seen_at;
ALTER TABLE users DROP COLUMN banned_by;
ALTER TABLE users DROP COLUMN banned_at;
