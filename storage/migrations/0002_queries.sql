-- Queries behind result pages, so that paging buttons carry a short id and survive restarts.
CREATE TABLE queries (
    id        INTEGER PRIMARY KEY,
    text      TEXT NOT NULL UNIQUE,
    last_used TEXT NOT NULL
);
