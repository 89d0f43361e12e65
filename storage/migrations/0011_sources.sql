-- Live sources: feeds polled for new articles, and what a document fetched from the web
-- records of its origin. Documents from files keep NULL in the new columns.
ALTER TABLE documents ADD COLUMN url TEXT;        -- canonical: no tracking parameters, no fragment
ALTER TABLE documents ADD COLUMN published TEXT;  -- ISO 8601, UTC
ALTER TABLE documents ADD COLUMN guid TEXT;       -- the feed entry's id, when it had one
-- 1: the page could not be had (404, timeout, no text): the text is the entry's own summary.
ALTER TABLE documents ADD COLUMN excerpt INTEGER NOT NULL DEFAULT 0;
CREATE INDEX documents_url ON documents (url) WHERE url IS NOT NULL;
CREATE INDEX documents_guid ON documents (guid) WHERE guid IS NOT NULL;

CREATE TABLE feeds (
    id            INTEGER PRIMARY KEY,
    url           TEXT NOT NULL UNIQUE,
    name          TEXT,                    -- the outlet its articles are filed under
    added_at      TEXT NOT NULL,
    etag          TEXT,                    -- sent back as If-None-Match
    last_modified TEXT,                    -- sent back as If-Modified-Since
    last_polled   TEXT,
    last_status   TEXT,                    -- ok | not_modified | error
    last_error    TEXT,
    errors        INTEGER NOT NULL DEFAULT 0,  -- failures in a row: the backoff doubles with each
    next_poll     TEXT NOT NULL,           -- due when at or before now
    claimed_at    TEXT                     -- a poll in progress (any process); expires
);
CREATE INDEX feeds_due ON feeds (next_poll);

-- Entries seen in each feed: an entry whose fingerprint is unchanged costs no page fetch.
CREATE TABLE feed_entries (
    feed_id     INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    entry       TEXT NOT NULL,             -- GUID, else canonical link
    fingerprint TEXT NOT NULL,
    document_id INTEGER REFERENCES documents (id) ON DELETE SET NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (feed_id, entry)
);
CREATE INDEX feed_entries_document ON feed_entries (document_id);
