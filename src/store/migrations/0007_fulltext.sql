-- Full text: what came of fetching each entry's article page, for the version of the entry
-- (its content_hash) it was fetched for. A new version of the entry is fetched again.
CREATE TABLE fulltext (
    entry_id     INTEGER PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    feed         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    outcome      TEXT NOT NULL,      -- ok | not_needed | no_link | http_error | rate_limited | fetch_failed | too_large | not_html | no_content | bad_selector
    detail       TEXT,               -- what went wrong, for a person
    attempts     INTEGER NOT NULL DEFAULT 1,
    retry_at     INTEGER,            -- a temporary failure is tried again from then on
    at           INTEGER NOT NULL
);
CREATE INDEX fulltext_by_feed ON fulltext (feed, outcome);
