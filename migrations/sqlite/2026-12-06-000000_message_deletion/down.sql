DROP INDEX IF EXISTS ix_messages_deleted_at;
ALTER TABLE messages DROP COLUMN deleted_by;
ALTER TABLE messages DROP COLUMN deleted_at;
