-- Alerts per story: each document's bottom-k sketch of its word 3-shingles (storage/nearcopy.py,
-- base64 of the smallest 32-bit shingle hashes). A new document whose sketch is near that of a
-- document alerted to a chat in the last 48 hours is not alerted to it again. Documents filed
-- before this migration have none: they are never taken for a copy.
ALTER TABLE documents ADD COLUMN sketch TEXT;
