-- FTS5 merges a level's segments once this many are there (its default is 4): every poll's
-- commit flushes one small segment, and merging them four at a time was 5% of a first poll's
-- CPU. Searches read a few more segments.
INSERT INTO stories_fts (stories_fts, rank) VALUES ('automerge', 8);
