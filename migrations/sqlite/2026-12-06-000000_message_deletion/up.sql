-- delete_message (PROTOCOL.md §6): a deleted message keeps its row (id,
-- author, times) with its content erased, and when and by whom it was
-- deleted, so that a page that was offline learns what to stop showing.
-- Added to an adopted Flask table as well: ALTER TABLE leaves its rows as
-- they are (NULL: not deleted).
ALTER TABLE messages ADD COLUMN deleted_at DATETIME;
ALTER TABLE messages ADD COLUMN deleted_by INTEGER;
CREATE INDEX IF NOT EXISTS ix_messages_deleted_at ON messages (deleted_at) WHERE deleted_at IS NOT NULL;
