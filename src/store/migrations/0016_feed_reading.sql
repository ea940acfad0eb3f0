-- The reading (`plan::READING`) each feed was last polled with: a feed's first poll after an
-- upgrade that reads documents otherwise updates what changed in place, without marking
-- the entries updated. 0: before this was recorded.
ALTER TABLE feeds ADD COLUMN reading INTEGER NOT NULL DEFAULT 0;
