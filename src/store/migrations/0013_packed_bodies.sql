-- Bodies compressed at rest (store/packed.rs): a long entry content is now stored as a zstd
-- frame (a BLOB), so SQL can no longer read its length from the value. `content_len` is the
-- content's length in bytes, set by every write from now on; NULL in rows written before,
-- whose content is text and whose length SQL still reads (`coalesce(content_len,
-- octet_length(content))`), so no row is rewritten.
ALTER TABLE entries ADD COLUMN content_len INTEGER;
