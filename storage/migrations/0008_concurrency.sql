-- Searches reload the vocabulary only when documents change: triggers count the changes, so a
-- reader connection can tell without scanning anything.
INSERT OR IGNORE INTO state (key, value) VALUES ('doc_version', '0');
CREATE TRIGGER documents_version_ai AFTER INSERT ON documents BEGIN
    UPDATE state SET value = value + 1 WHERE key = 'doc_version';
END;
CREATE TRIGGER documents_version_ad AFTER DELETE ON documents BEGIN
    UPDATE state SET value = value + 1 WHERE key = 'doc_version';
END;
CREATE TRIGGER documents_version_au AFTER UPDATE OF sha256 ON documents BEGIN
    UPDATE state SET value = value + 1 WHERE key = 'doc_version';
END;

-- The topics each new document matched, written with its alerts: a digest reads what matched
-- its chat's subscriptions since its last digest instead of re-reading every passage.
CREATE TABLE topic_matches (
    topic      TEXT NOT NULL,                    -- subscriptions.plan
    doc_id     INTEGER NOT NULL,
    passage_id INTEGER NOT NULL,                 -- the first passage that matched
    PRIMARY KEY (topic, doc_id)
) WITHOUT ROWID;

-- The last document a chat's digest covered: documents are matched in id order, so a digest
-- takes what was matched after it, however long a document's transaction took to commit.
ALTER TABLE chats ADD COLUMN digest_doc INTEGER NOT NULL DEFAULT 0;
UPDATE chats SET digest_doc = coalesce(
    (SELECT max(id) FROM documents WHERE ingested_at <= chats.last_digest_at), 0);

-- When a push was claimed: a row still `sending` a lease later is due again, so a failure
-- between claiming and recording the outcome delays a push instead of stranding it.
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
