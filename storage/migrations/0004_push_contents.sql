-- One copy of each rendered push that many chats share (an alert on a followed topic):
-- outbox rows point at it instead of repeating the text.
CREATE TABLE push_contents (
    id           INTEGER PRIMARY KEY,
    text         TEXT NOT NULL,
    reply_markup TEXT                            -- JSON
);

ALTER TABLE outbox ADD COLUMN content_id INTEGER REFERENCES push_contents(id);
