-- One row per configured feed: what the fetcher needs next time and what `feeds`/`/status` show.
CREATE TABLE feeds (
    name                 TEXT PRIMARY KEY,
    url                  TEXT NOT NULL,
    title                TEXT,
    site_url             TEXT,
    etag                 TEXT,
    last_modified        TEXT,
    last_poll            INTEGER,            -- unix seconds
    last_success         INTEGER,
    last_status          INTEGER,            -- HTTP status of the last response, if any
    last_outcome         TEXT,               -- ok | not_modified | error
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);

-- What the merged feed shows: one row per story, its fields derived from its entries.
CREATE TABLE stories (
    id          INTEGER PRIMARY KEY,
    story_key   TEXT NOT NULL UNIQUE,        -- url:<canonical> or entry:<feed>:<entry key>
    title       TEXT NOT NULL,
    link        TEXT,
    published   INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    summary     TEXT,
    content     TEXT,
    authors     TEXT NOT NULL DEFAULT '[]',  -- JSON array of names
    categories  TEXT NOT NULL DEFAULT '[]',  -- JSON array
    image       TEXT,
    language    TEXT,
    first_seen  INTEGER NOT NULL
);
CREATE INDEX stories_by_published ON stories (published DESC, id DESC);

-- What one feed said about one item, known by (feed, entry_key).
CREATE TABLE entries (
    id            INTEGER PRIMARY KEY,
    feed          TEXT NOT NULL REFERENCES feeds (name) ON DELETE CASCADE,
    entry_key     TEXT NOT NULL,             -- guid:<id> | url:<canonical> | hash:<sha256>
    guid          TEXT,
    story_id      INTEGER NOT NULL REFERENCES stories (id),
    title         TEXT NOT NULL,
    link          TEXT,
    canonical_url TEXT,
    authors       TEXT NOT NULL DEFAULT '[]',
    published     INTEGER NOT NULL,
    published_given INTEGER NOT NULL,        -- 0 when the feed gave no date (published = first_seen)
    updated       INTEGER NOT NULL,
    summary       TEXT,
    content       TEXT,
    categories    TEXT NOT NULL DEFAULT '[]',
    image         TEXT,
    language      TEXT,
    first_seen    INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    UNIQUE (feed, entry_key)
);
CREATE INDEX entries_by_story ON entries (story_id);
CREATE INDEX entries_by_feed_canonical ON entries (feed, canonical_url);
