-- What the derived search index (search/index.py) follows: passages by increasing id, and
-- these removals in order (a passage whose words change counts as removed, then read again);
-- and the archive's identity, so that an index never follows another database.
CREATE TABLE passage_removals (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    passage_id INTEGER NOT NULL
);

CREATE TRIGGER passages_removed AFTER DELETE ON passages BEGIN
    INSERT INTO passage_removals (passage_id) VALUES (old.id);
END;

CREATE TRIGGER passages_rewritten AFTER UPDATE OF surface, stem ON passages BEGIN
    INSERT INTO passage_removals (passage_id) VALUES (old.id);
END;

INSERT INTO state (key, value) VALUES ('archive_id', lower(hex(randomblob(16))));
