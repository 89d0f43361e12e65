-- Alert fan-out writes a million outbox rows at a time, and checking each row's content_id
-- against push_contents cost half of that write. Only matching sets content_id, from ids it
-- has just inserted, and nothing deletes contents, so the check is dropped. SQLite cannot drop
-- a column's REFERENCES clause in place: the table is rebuilt with its rows and indexes.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,        -- kind:chat:reference
    chat_id         INTEGER NOT NULL,
    kind            TEXT NOT NULL,               -- alert | digest | broadcast
    text            TEXT NOT NULL,               -- '' when content_id points at shared text
    reply_markup    TEXT,                        -- JSON
    not_before      TEXT NOT NULL,               -- UTC; retries and quiet hours move it
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending|sending|sent|failed|cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    content_id      INTEGER                      -- push_contents.id
);
INSERT INTO outbox_new (id, idempotency_key, chat_id, kind, text, reply_markup, not_before,
                        status, attempts, last_error, created_at, sent_at, content_id)
SELECT id, idempotency_key, chat_id, kind, text, reply_markup, not_before,
       status, attempts, last_error, created_at, sent_at, content_id
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, not_before);
CREATE INDEX outbox_chat ON outbox (chat_id, status);
