-- Lookups that read a whole table each time, found by asking the planner about each query.

-- Local people and groups are found by name alone (inbox routes, actor documents, WebFinger,
-- the API), but the only index on names starts with the domain: each such lookup read every
-- actor this instance knows. With 50,000 remote actors that took 39 ms a lookup (measured on
-- SQLite); by this index, microseconds.
CREATE INDEX actors_username ON actors (username, local);

-- A post's like count (shown with every status) and the posts that mention someone (their
-- notifications and timeline): the existing keys start with the other column.
CREATE INDEX likes_post ON likes (post_id);
CREATE INDEX post_mentions_actor ON post_mentions (actor_id, post_id);
