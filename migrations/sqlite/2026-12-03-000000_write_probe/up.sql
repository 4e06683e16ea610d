-- One row the health check rewrites every few seconds: a committed write is
-- the only way to learn that the database can no longer be written.
CREATE TABLE IF NOT EXISTS write_probe (
    id INTEGER NOT NULL PRIMARY KEY,
    n BIGINT NOT NULL
);
