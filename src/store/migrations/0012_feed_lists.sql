-- Each instance's feed list (a config on a host, see store/lists.rs): a stored feed is removed
-- only when no instance heard of in the last week lists it. `feeds` is a line `name<TAB>url`
-- a feed; `seen` the instance's last heartbeat (unix seconds).
CREATE TABLE feed_lists (
    owner TEXT PRIMARY KEY,
    seen  INTEGER NOT NULL,
    feeds TEXT NOT NULL
);
