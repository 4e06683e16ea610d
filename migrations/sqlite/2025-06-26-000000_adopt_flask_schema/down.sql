-- Undo only what this project added; the Flask tables and their rows stay.
DROP INDEX IF EXISTS ix_sessions_expiry_date;
DROP TABLE IF EXISTS sessions;
DROP INDEX IF EXISTS ix_messages_image_content;
DROP INDEX IF EXISTS ix_messages_user_id;
DROP INDEX IF EXISTS ix_messages_timestamp;
DROP INDEX IF EXISTS ux_users_username_key;
ALTER TABLE users DROP COLUMN username_key;
