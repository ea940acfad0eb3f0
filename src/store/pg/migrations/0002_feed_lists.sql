-- Each instance's feed list (see the SQLite store's migration 12 and store/lists.rs): a
-- stored feed is removed only when no instance heard of in the last week lists it.
CREATE TABLE feed_lists (
    owner TEXT PRIMARY KEY,
    seen  BIGINT NOT NULL,
    feeds TEXT NOT NULL
);
