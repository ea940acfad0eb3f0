-- The LSH band index moved to memory (see `Bands` in store/mod.rs): writing 16 rows per
-- story at random places of this table cost the first poll of 1,000 feeds half its time.
-- The signatures it was built from stay in `stories.signature`.
DROP TABLE story_bands;
