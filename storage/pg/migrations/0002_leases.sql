-- Work that replicas share: SQLite's migration 0013, table for table.
CREATE TABLE leases (
    name       text PRIMARY KEY,                 -- the job, e.g. 'sender'
    holder     text NOT NULL,                    -- the process holding it: host:pid:random
    expires_at text NOT NULL                     -- ISO 8601, UTC; the holder renews well before
);
CREATE TABLE flood (
    user_id bigint NOT NULL,
    bucket  text NOT NULL,                       -- 'flood' (updates) or 'inline_flood'
    tokens  double precision NOT NULL,           -- left in the bucket at `last`
    last    double precision NOT NULL,           -- seconds since the epoch of the last update
    warned  bigint NOT NULL DEFAULT 0,           -- updates refused since the last admitted one
    PRIMARY KEY (user_id, bucket)
);
