-- An entry whose text changed in place gets new index keys (`print`). Each such rewrite takes
-- the next number of `entry_reprints` (under the writers' lock, so in commit order): another
-- instance catches up with the rewrites numbered above the last it read, as it does with new
-- entries by id. Only rewritten entries have a number, so the index on it stays small.
CREATE SEQUENCE entry_reprints;
ALTER TABLE entries ADD COLUMN reprint BIGINT;
CREATE INDEX entries_by_reprint ON entries (reprint) WHERE reprint IS NOT NULL;
