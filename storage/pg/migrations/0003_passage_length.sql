-- Ranking candidates reads each match's index terms and length. At 100,000 documents a
-- passage row is over 2 kB, so PostgreSQL moved its tsvector out of line (TOAST): every match
-- cost extra page reads, and its length was counted by splitting `surface` again.
-- The length is kept beside it, and the terms stay in the row (compressed if need be) while the
-- texts, read only for the few results shown, are the ones moved out.
ALTER TABLE passages ALTER COLUMN terms SET STORAGE MAIN;
ALTER TABLE passages ADD COLUMN length integer
    GENERATED ALWAYS AS (coalesce(array_length(string_to_array(surface, ' '), 1), 0)) STORED;
