-- Documents, their passages, and an FTS5 index over the analysed passage text.
CREATE TABLE documents (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,      -- file stem, e.g. 000_d5ad7216e4dfa7f1
    source_path TEXT NOT NULL,
    sha256      TEXT NOT NULL,             -- of the raw file bytes
    title       TEXT NOT NULL,
    outlet      TEXT,
    body        TEXT NOT NULL,             -- cleaned article, paragraphs separated by blank lines
    title_terms TEXT NOT NULL,             -- analysed title, space separated
    ingested_at TEXT NOT NULL              -- ISO 8601, UTC
);

CREATE TABLE passages (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL,
    text        TEXT NOT NULL,             -- original passage text
    "offset"    INTEGER NOT NULL,          -- start of the passage in documents.body
    surface     TEXT NOT NULL,             -- normalised tokens, space separated
    stem        TEXT NOT NULL,             -- light stems of the same tokens
    UNIQUE (document_id, ordinal)
);

-- External-content FTS5: the triggers below keep it in step with passages.
CREATE VIRTUAL TABLE passages_fts USING fts5(
    surface, stem,
    content = 'passages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0',
    detail = 'full'
);

CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts (rowid, surface, stem) VALUES (new.id, new.surface, new.stem);
END;

CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts (passages_fts, rowid, surface, stem)
    VALUES ('delete', old.id, old.surface, old.stem);
END;

CREATE TRIGGER passages_au AFTER UPDATE ON passages BEGIN
    INSERT INTO passages_fts (passages_fts, rowid, surface, stem)
    VALUES ('delete', old.id, old.surface, old.stem);
    INSERT INTO passages_fts (rowid, surface, stem) VALUES (new.id, new.surface, new.stem);
END;

CREATE VIRTUAL TABLE passages_vocab USING fts5vocab(passages_fts, 'col');

-- One row per ingest run, for /about and /status.
CREATE TABLE ingest_runs (
    id          INTEGER PRIMARY KEY,
    finished_at TEXT NOT NULL,
    added       INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    failed      INTEGER NOT NULL
);
