-- How many posts each actor wrote and, for a group, how many are in it (not deleted), and
-- how many accepted followers (members) and follows it has: what every status shows in its
-- `Account`, kept by the database on each write, so that a page of statuses need not count a
-- busy author's thousands of posts.
CREATE TABLE actor_stats (
    actor_id BIGINT PRIMARY KEY NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    posts_count BIGINT NOT NULL DEFAULT 0,
    group_posts_count BIGINT NOT NULL DEFAULT 0,
    followers_count BIGINT NOT NULL DEFAULT 0,
    following_count BIGINT NOT NULL DEFAULT 0
);

INSERT INTO actor_stats (actor_id, posts_count)
    SELECT author_id, count(*) FROM posts WHERE deleted_at IS NULL GROUP BY author_id;
INSERT INTO actor_stats (actor_id, group_posts_count)
    SELECT group_id, count(*) FROM posts
    WHERE deleted_at IS NULL AND group_id IS NOT NULL GROUP BY group_id
    ON CONFLICT (actor_id) DO UPDATE SET group_posts_count = excluded.group_posts_count;

INSERT INTO actor_stats (actor_id, followers_count)
    SELECT target_id, count(*) FROM follows WHERE accepted GROUP BY target_id
    ON CONFLICT (actor_id) DO UPDATE SET followers_count = excluded.followers_count;
INSERT INTO actor_stats (actor_id, following_count)
    SELECT follower_id, count(*) FROM follows WHERE accepted GROUP BY follower_id
    ON CONFLICT (actor_id) DO UPDATE SET following_count = excluded.following_count;

-- A post counts while it is not deleted: added when written (or restored), taken away when
-- deleted (marked or removed).
CREATE FUNCTION count_posts() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        UPDATE actor_stats SET posts_count = posts_count - 1 WHERE actor_id = OLD.author_id;
        UPDATE actor_stats SET group_posts_count = group_posts_count - 1
            WHERE actor_id = OLD.group_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
        INSERT INTO actor_stats (actor_id, posts_count) VALUES (NEW.author_id, 1)
            ON CONFLICT (actor_id) DO UPDATE SET posts_count = actor_stats.posts_count + 1;
        IF NEW.group_id IS NOT NULL THEN
            INSERT INTO actor_stats (actor_id, group_posts_count) VALUES (NEW.group_id, 1)
                ON CONFLICT (actor_id)
                DO UPDATE SET group_posts_count = actor_stats.group_posts_count + 1;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER posts_counted_on_insert AFTER INSERT ON posts
    FOR EACH ROW EXECUTE FUNCTION count_posts();
CREATE TRIGGER posts_counted_on_delete AFTER DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION count_posts();
CREATE TRIGGER posts_counted_on_update AFTER UPDATE OF deleted_at, author_id, group_id ON posts
    FOR EACH ROW
    WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.author_id <> NEW.author_id
        OR OLD.group_id IS DISTINCT FROM NEW.group_id)
    EXECUTE FUNCTION count_posts();

-- A follow counts once accepted, until it is removed.
CREATE FUNCTION count_follows() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.accepted THEN
        UPDATE actor_stats SET followers_count = followers_count - 1
            WHERE actor_id = OLD.target_id;
        UPDATE actor_stats SET following_count = following_count - 1
            WHERE actor_id = OLD.follower_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.accepted THEN
        INSERT INTO actor_stats (actor_id, followers_count) VALUES (NEW.target_id, 1)
            ON CONFLICT (actor_id)
            DO UPDATE SET followers_count = actor_stats.followers_count + 1;
        INSERT INTO actor_stats (actor_id, following_count) VALUES (NEW.follower_id, 1)
            ON CONFLICT (actor_id)
            DO UPDATE SET following_count = actor_stats.following_count + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER follows_counted_on_insert AFTER INSERT ON follows
    FOR EACH ROW EXECUTE FUNCTION count_follows();
CREATE TRIGGER follows_counted_on_delete AFTER DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION count_follows();
CREATE TRIGGER follows_counted_on_update AFTER UPDATE OF accepted, follower_id, target_id
    ON follows FOR EACH ROW
    WHEN (OLD.accepted IS DISTINCT FROM NEW.accepted OR OLD.follower_id <> NEW.follower_id
        OR OLD.target_id <> NEW.target_id)
    EXECUTE FUNCTION count_follows();

-- A person's bookmarks and likes, newest first (their pages walk these in order).
CREATE INDEX bookmarks_actor ON bookmarks (actor_id, id);
CREATE INDEX likes_actor ON likes (actor_id, id);

-- Local public posts, newest first (the public timeline's `local` tab): a few among many.
CREATE INDEX posts_public_local ON posts (id) WHERE visibility = 'public' AND deleted_at IS NULL AND local;
