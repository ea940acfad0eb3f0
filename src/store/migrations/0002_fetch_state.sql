-- Polite fetching: what the servers told us about when to come back, and where feeds went.
ALTER TABLE feeds ADD COLUMN body_hash TEXT;           -- SHA-256 of the last 200 body: an identical body is "unchanged"
ALTER TABLE feeds ADD COLUMN next_attempt INTEGER;     -- no fetch before this (failure backoff, cache hints, Retry-After)
ALTER TABLE feeds ADD COLUMN moved_to TEXT;            -- target of a permanent redirect (301/308), used instead of url
ALTER TABLE feeds ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;  -- 410 Gone: not polled again until its url changes
ALTER TABLE feeds ADD COLUMN ttl_secs INTEGER;         -- the document's <ttl>, kept for polls answered by 304

-- A 429/503 with Retry-After pauses every feed on that host.
CREATE TABLE hosts (
    host         TEXT PRIMARY KEY,
    paused_until INTEGER NOT NULL,
    reason       TEXT NOT NULL
);

-- Store-wide facts; `changed_at` is when what the merged feed shows last changed (its
-- Last-Modified and <updated>), which feed-given dates cannot tell.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
