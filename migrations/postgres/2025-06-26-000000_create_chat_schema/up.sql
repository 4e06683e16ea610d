CREATE TABLE IF NOT EXISTS users (
    id SERIAL PRIMARY KEY,
    username VARCHAR(80) NOT NULL UNIQUE,
    password_hash VARCHAR(128) NOT NULL,
    created_at TIMESTAMP,
    -- Lower-cased username: the unique index makes new names differ
    -- case-insensitively in any script (see the SQLite migration).
    username_key TEXT UNIQUE
);

CREATE TABLE IF NOT EXISTS messages (
    id BIGSERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    content TEXT NOT NULL,
    message_type VARCHAR(20),
    timestamp TIMESTAMP
);
CREATE INDEX IF NOT EXISTS ix_messages_timestamp ON messages (timestamp);
CREATE INDEX IF NOT EXISTS ix_messages_user_id ON messages (user_id);
CREATE INDEX IF NOT EXISTS ix_messages_image_content ON messages (content) WHERE message_type = 'image';

CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expiry_date TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_sessions_expiry_date ON sessions (expiry_date);
