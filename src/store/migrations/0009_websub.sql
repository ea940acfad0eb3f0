-- WebSub: one subscription per feed at the hub it advertises. Not a foreign key to feeds:
-- a removed feed's row stays until its hub confirms the unsubscription (or never answers).
CREATE TABLE websub (
    feed             TEXT PRIMARY KEY,
    feed_url         TEXT NOT NULL,          -- the feed's configured url when subscribed
    token            TEXT NOT NULL UNIQUE,   -- the callback's last path segment (random)
    secret           TEXT NOT NULL,          -- hub.secret (random, per subscription)
    hub              TEXT NOT NULL,
    topic            TEXT NOT NULL,          -- hub.topic: the feed's self URL
    state            TEXT NOT NULL,          -- requested | subscribed | denied | failed | unsubscribing | unsubscribed
    pending_mode     TEXT,                   -- subscribe | unsubscribe: sent, not verified yet
    pending_since    INTEGER,                -- unix seconds
    subscribed_at    INTEGER,
    expires_at       INTEGER,
    last_attempt     INTEGER,
    last_error       TEXT,
    last_push        INTEGER,
    pushes_received  INTEGER NOT NULL DEFAULT 0,
    pushes_rejected  INTEGER NOT NULL DEFAULT 0,
    last_safety_poll INTEGER
);
