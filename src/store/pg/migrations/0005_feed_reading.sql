-- As SQLite's 0016: the reading (`plan::READING`) each feed was last polled with.
ALTER TABLE feeds ADD COLUMN reading BIGINT NOT NULL DEFAULT 0;
