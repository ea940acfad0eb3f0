-- Story-level deduplication and retention.

-- Near-duplicates: each story's MinHash signature, indexed by its LSH bands, and the other
-- story keys (canonical URLs) that were found to be the same story.
ALTER TABLE stories ADD COLUMN signature BLOB;
-- One B-tree, no rowid: a candidate lookup is one range scan, an insert one write. Rows are
-- deleted by (band, story) when their story goes (the store recomputes the bands).
CREATE TABLE story_bands (
    band      INTEGER NOT NULL,
    published INTEGER NOT NULL,
    story_id  INTEGER NOT NULL,
    PRIMARY KEY (band, published, story_id)
) WITHOUT ROWID;
CREATE TABLE story_aliases (
    story_key TEXT PRIMARY KEY,
    story_id  INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE
);
CREATE INDEX story_aliases_by_story ON story_aliases (story_id);

-- A feed that changes an entry on every poll is not updated more than a few times a day.
ALTER TABLE entries ADD COLUMN updates_day INTEGER NOT NULL DEFAULT 0;   -- unix day of the last update
ALTER TABLE entries ADD COLUMN updates_count INTEGER NOT NULL DEFAULT 0; -- updates on that day

-- Pruned entries that their feed may still list: they must not come back as new.
CREATE TABLE tombstones (
    feed      TEXT NOT NULL REFERENCES feeds (name) ON DELETE CASCADE,
    entry_key TEXT NOT NULL,
    seen_at   INTEGER NOT NULL,   -- last time the feed listed it (or when it was pruned)
    PRIMARY KEY (feed, entry_key)
);

-- The lead image's credit or caption ("File photo: Xinhua"), kept with the image.
ALTER TABLE entries ADD COLUMN image_credit TEXT;
ALTER TABLE stories ADD COLUMN image_credit TEXT;
