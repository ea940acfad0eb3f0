-- The near-duplicate index loads the copies published in its window (`published >= since`).
-- `entries_by_published` was there for that load, but SQLite's planner scanned the whole
-- table instead (the load is ordered by id), and every new entry went to a random place in
-- the index: a first poll (history, dates spread over years) rewrote nearly every page of it
-- at every commit, 17% of the pages written to the WAL. `max(published, first_seen)` is when
-- a copy was first seen for all but one re-dated later, so new entries go to the end of this
-- index, and `published >= since` implies it is `>= since`: the load (`INDEXED BY` it) reads
-- the copies of the window and no others.
DROP INDEX IF EXISTS entries_by_published;
CREATE INDEX entries_by_recent ON entries (max(published, first_seen));
