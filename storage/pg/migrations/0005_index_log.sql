-- What a replica's derived search index (search/index.py) follows: passages by increasing id,
-- and these removals in order (a passage whose words change counts as removed, then read
-- again); and the archive's identity, so that an index never follows another database.
CREATE TABLE passage_removals (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    passage_id bigint NOT NULL
);

CREATE FUNCTION log_passage_removal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO passage_removals (passage_id) VALUES (OLD.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER passages_removed AFTER DELETE ON passages
    FOR EACH ROW EXECUTE FUNCTION log_passage_removal();
CREATE TRIGGER passages_rewritten AFTER UPDATE OF surface, stem ON passages
    FOR EACH ROW EXECUTE FUNCTION log_passage_removal();

-- A follower reads past the last id it holds, so ids must become visible in the order they
-- were drawn: transactions that write documents or passages take turns, each taking this lock
-- before its first such write (both tables, so that no two take it in opposite orders).
CREATE FUNCTION archive_writes_in_turn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7355608);
    RETURN NULL;
END;
$$;
CREATE TRIGGER documents_in_turn BEFORE INSERT OR UPDATE OR DELETE ON documents
    FOR EACH STATEMENT EXECUTE FUNCTION archive_writes_in_turn();
CREATE TRIGGER passages_in_turn BEFORE INSERT OR UPDATE OR DELETE ON passages
    FOR EACH STATEMENT EXECUTE FUNCTION archive_writes_in_turn();

INSERT INTO state (key, value) VALUES ('archive_id', md5(random()::text || clock_timestamp()));
