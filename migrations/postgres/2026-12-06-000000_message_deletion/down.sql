DROP INDEX IF EXISTS ix_messages_deleted_at;
ALTER TABLE messages DROP COLUMN IF EXISTS deleted_by;
ALTER TABLE messages DROP COLUMN IF EXISTS deleted_at;
