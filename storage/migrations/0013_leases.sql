-- Work that replicas share. A lease names the one process doing a job (the outbox sender)
-- until expires_at; another takes it over only once it has expired.
CREATE TABLE IF NOT EXISTS leases (
    name       TEXT PRIMARY KEY,                 -- the job, e.g. 'sender'
    holder     TEXT NOT NULL,                    -- the process holding it: host:pid:random
    expires_at TEXT NOT NULL                     -- UTC; the holder renews well before
);
-- Per-user flood buckets shared by every replica answering updates.
CREATE TABLE IF NOT EXISTS flood (
    user_id INTEGER NOT NULL,
    bucket  TEXT NOT NULL,                       -- 'flood' (updates) or 'inline_flood'
    tokens  REAL NOT NULL,                       -- left in the bucket at `last`
    last    REAL NOT NULL,                       -- seconds since the epoch of the last update
    warned  INTEGER NOT NULL DEFAULT 0,          -- updates refused since the last admitted one
    PRIMARY KEY (user_id, bucket)
);
