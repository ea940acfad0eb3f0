-- One story, once, in any order (issue 12).

-- Every copy is indexed for near-duplicates, not only a story's first: its index keys
-- (little-endian u32s: LSH bands, lead shingles, headline; see neardup.rs).
ALTER TABLE entries ADD COLUMN print BLOB;
-- Why the copy is in its story (JSON: {"by": "first" | "same_url" | "near_duplicate" | "split", ...}).
ALTER TABLE entries ADD COLUMN joined TEXT;
-- 1 when the user split the copy out of a story: it stays alone and matches nothing.
ALTER TABLE entries ADD COLUMN split INTEGER NOT NULL DEFAULT 0;
-- Stories no longer carry a signature of their first copy.
UPDATE stories SET signature = NULL;
CREATE INDEX entries_by_published ON entries (published);
