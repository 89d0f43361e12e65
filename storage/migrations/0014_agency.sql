-- The news agency an article's dateline names ("الرياض - واس", "باريس (أ ف ب)"), by its
-- canonical name; NULL when none is named. It is not the outlet: a newspaper carries wire copy.
ALTER TABLE documents ADD COLUMN agency TEXT;
