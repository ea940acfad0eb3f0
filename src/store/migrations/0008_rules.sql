-- What `[[rule]]`s decided about entries, by the entry's identity in its feed (so that a
-- mark can be written before its entry, and outlives it: a dropped entry is never stored).
--   drop: not stored, and not stored again when the feed lists it later (edited or not);
--   hide: stored, left out of every output; tag: the story carries `value` as a tag.
CREATE TABLE rule_marks (
    feed      TEXT NOT NULL REFERENCES feeds (name) ON DELETE CASCADE,
    entry_key TEXT NOT NULL,
    action    TEXT NOT NULL,             -- drop | hide | tag
    value     TEXT NOT NULL DEFAULT '',  -- the tag, for tag
    rule      TEXT NOT NULL,             -- the rule that decided, or "(no keep rule)"
    at        INTEGER NOT NULL,          -- unix seconds
    PRIMARY KEY (feed, entry_key, action, value)
) WITHOUT ROWID;
CREATE INDEX rule_marks_by_tag ON rule_marks (action, value);
