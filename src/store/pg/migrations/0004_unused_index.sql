-- As SQLite's 0014: no query reads `entries_by_feed_canonical`, and every new entry paid for it.
DROP INDEX IF EXISTS entries_by_feed_canonical;
