-- Where each document's file was found and its size and mtime when last read: ingest skips a
-- file whose stat is unchanged without reading it, and re-ingesting a folder removes the
-- documents whose file left it. NULL until a file is next ingested.
ALTER TABLE documents ADD COLUMN root TEXT;         -- resolved folder ingested; NULL: file named
ALTER TABLE documents ADD COLUMN size INTEGER;      -- bytes
ALTER TABLE documents ADD COLUMN mtime_ns INTEGER;  -- modification time, ns since the epoch

-- Ids are never given twice, even after a removal: alert matching remembers the last id.
INSERT INTO state (key, value) SELECT 'last_document_id', coalesce(max(id), 0) FROM documents;
