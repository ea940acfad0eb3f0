-- Text once, write once (issue 12): a story's body and summary are stored once, in the entry
-- they come from. The story names that entry (`content_entry`: its fullest copy;
-- `summary_entry`: the copy whose summary it shows) instead of holding a copy of the text.
-- No foreign key: a story is derived again in the same transaction as any change to its
-- entries, and a name left dangling meanwhile reads as no body.
ALTER TABLE stories ADD COLUMN content_entry INTEGER;
ALTER TABLE stories ADD COLUMN summary_entry INTEGER;
-- The entry holding the very text the story showed, the fullest first (as stories are
-- derived); a story whose text no entry holds any more (none should) takes its fullest entry.
UPDATE stories SET content_entry = coalesce(
    (SELECT e.id FROM entries e WHERE e.story_id = stories.id AND e.content IS stories.content
     ORDER BY coalesce(length(e.content), 0) DESC, e.published, e.first_seen DESC, e.id DESC LIMIT 1),
    (SELECT e.id FROM entries e WHERE e.story_id = stories.id
     ORDER BY coalesce(length(CAST(e.content AS BLOB)), 0) DESC, e.published, e.first_seen DESC, e.id DESC LIMIT 1));
UPDATE stories SET summary_entry = CASE
    WHEN summary IS NULL THEN NULL
    ELSE coalesce(
        (SELECT e.id FROM entries e WHERE e.id = stories.content_entry AND e.summary IS stories.summary),
        (SELECT e.id FROM entries e WHERE e.story_id = stories.id AND e.summary IS stories.summary
         ORDER BY e.published, e.first_seen, e.id LIMIT 1))
    END;
ALTER TABLE stories DROP COLUMN summary;
ALTER TABLE stories DROP COLUMN content;
