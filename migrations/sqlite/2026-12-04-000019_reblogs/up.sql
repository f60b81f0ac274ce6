-- People's boosts (`Announce` of a post by a person, not a group's relay): a local person's
-- boost of any post they may share, or a remote person's boost of a post hosted here.
CREATE TABLE reblogs (
    id INTEGER PRIMARY KEY NOT NULL,
    -- The Announce activity's id: its Undo names it.
    ap_id TEXT NOT NULL UNIQUE,
    actor_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- `public` or `unlisted`: where the boost shows.
    visibility TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX reblogs_pair ON reblogs (actor_id, post_id);
-- A post's boosts (counts, `reblogged_by`), and timelines of boosts by who one follows.
CREATE INDEX reblogs_post ON reblogs (post_id, id);
CREATE INDEX reblogs_actor ON reblogs (actor_id, id);
