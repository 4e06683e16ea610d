-- The Flask app (Flask-SQLAlchemy db.create_all()) made `users` and `messages`
-- with exactly these columns. Create them only when they are missing, so that
-- an existing chat_app.db is adopted in place without touching a row.
CREATE TABLE IF NOT EXISTS users (
    id INTEGER NOT NULL PRIMARY KEY,
    username VARCHAR(80) NOT NULL UNIQUE,
    password_hash VARCHAR(128) NOT NULL,
    created_at DATETIME
);

CREATE TABLE IF NOT EXISTS messages (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    content TEXT NOT NULL,
    message_type VARCHAR(20),
    timestamp DATETIME
);

-- New usernames must differ case-insensitively (any script), which SQLite's
-- ASCII-only lower() cannot judge: the application stores the lower-cased name
-- here and the unique index enforces it. Flask-era rows are filled in at start-up;
-- names that already clash keep NULL and keep working.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX ux_users_username_key ON users (username_key);

CREATE INDEX IF NOT EXISTS ix_messages_timestamp ON messages (timestamp);
CREATE INDEX IF NOT EXISTS ix_messages_user_id ON messages (user_id);
CREATE INDEX IF NOT EXISTS ix_messages_image_content ON messages (content) WHERE message_type = 'image';

CREATE TABLE IF NOT EXISTS sessions (
    id TEXT NOT NULL PRIMARY KEY,
    data TEXT NOT NULL,
    expiry_date DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_sessions_expiry_date ON sessions (expiry_date);
