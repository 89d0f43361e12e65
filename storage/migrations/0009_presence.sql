-- A running bot refreshes its row every few seconds, so that another process opening the same
-- database (`furat chat`) can tell that a bot is using it. A row whose seen_at is old is a bot
-- that died without leaving.
CREATE TABLE IF NOT EXISTS presence (
    holder     TEXT PRIMARY KEY,                 -- host:pid of the bot process
    started_at TEXT NOT NULL,                    -- UTC
    seen_at    TEXT NOT NULL                     -- UTC, refreshed by the heartbeat
);
