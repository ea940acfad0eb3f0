-- `entries_by_feed_canonical` served the first version's URL dedup; no query reads it any
-- more (a story's copies are found by `entries_by_story`, an entry by its feed and key), and
-- every new entry paid for it: a B-tree insert keyed by a long URL, and its pages in the WAL.
DROP INDEX IF EXISTS entries_by_feed_canonical;
