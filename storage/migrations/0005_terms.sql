-- Passages per term and column, kept by ingest in the same transaction as the passages:
-- reading it is a table scan, where the fts5vocab table walks the whole index.
CREATE TABLE terms (
    col  TEXT NOT NULL,                          -- surface | stem
    term TEXT NOT NULL,
    df   INTEGER NOT NULL,                       -- passages holding the term in that column
    PRIMARY KEY (col, term)
) WITHOUT ROWID;
INSERT INTO terms (col, term, df) SELECT col, term, doc FROM passages_vocab;

-- Totals for bm25's length normalisation, kept the same way.
INSERT INTO state (key, value) SELECT 'passages', count(*) FROM passages;
INSERT INTO state (key, value)
SELECT 'surface_tokens', coalesce(sum(length(surface) - length(replace(surface, ' ', '')) + 1), 0)
FROM passages;
