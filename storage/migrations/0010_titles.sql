-- Headlines are searchable: a word that only a headline holds (its text is not a passage)
-- finds the article when no passage answers. Kept in step with documents by triggers.
CREATE VIRTUAL TABLE titles_fts USING fts5(
    title_terms,
    content = 'documents', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO titles_fts (titles_fts) VALUES ('rebuild');

CREATE TRIGGER titles_ai AFTER INSERT ON documents BEGIN
    INSERT INTO titles_fts (rowid, title_terms) VALUES (new.id, new.title_terms);
END;

CREATE TRIGGER titles_ad AFTER DELETE ON documents BEGIN
    INSERT INTO titles_fts (titles_fts, rowid, title_terms)
    VALUES ('delete', old.id, old.title_terms);
END;

CREATE TRIGGER titles_au AFTER UPDATE OF title_terms ON documents BEGIN
    INSERT INTO titles_fts (titles_fts, rowid, title_terms)
    VALUES ('delete', old.id, old.title_terms);
    INSERT INTO titles_fts (rowid, title_terms) VALUES (new.id, new.title_terms);
END;
