-- Chats that follow topics, their subscriptions, and the outbox.
CREATE TABLE chats (
    id             INTEGER PRIMARY KEY,          -- Telegram chat id
    type           TEXT NOT NULL,
    language       TEXT NOT NULL DEFAULT 'ar',
    timezone       TEXT NOT NULL,
    digest_time    TEXT,                         -- 'HH:MM' local time, NULL = no digest
    quiet_start    TEXT,                         -- 'HH:MM' local time, NULL = no quiet hours
    quiet_end      TEXT,
    active         INTEGER NOT NULL DEFAULT 1,   -- 0 once Telegram says 403
    last_digest_at TEXT NOT NULL,                -- UTC; a digest covers documents after it
    created_at     TEXT NOT NULL
);

CREATE TABLE subscriptions (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    query      TEXT NOT NULL,
    plan       TEXT NOT NULL,                    -- JSON: concepts, each a list of [column, phrase]
    created_at TEXT NOT NULL,
    UNIQUE (chat_id, query)
);

-- Every push is written here before anything is sent.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,        -- kind:chat:reference
    chat_id         INTEGER NOT NULL,
    kind            TEXT NOT NULL,               -- alert | digest | broadcast
    text            TEXT NOT NULL,
    reply_markup    TEXT,                        -- JSON
    not_before      TEXT NOT NULL,               -- UTC; retries and quiet hours move it
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending|sending|sent|failed|cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, not_before);
CREATE INDEX outbox_chat ON outbox (chat_id, status);

-- Small named values: the id of the last document matched against subscriptions.
CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
