-- Full-text search over stories (views' `query`, `?q=`): title and the text of the body.
-- Contentless: the text lives in `stories`; the index only answers MATCH with rowid = story id.
CREATE VIRTUAL TABLE stories_fts USING fts5(
    title,
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO stories_fts (rowid, title, body)
    SELECT id, title, coalesce(summary, '') FROM stories;
