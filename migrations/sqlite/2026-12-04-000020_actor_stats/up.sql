-- How many posts each actor wrote and, for a group, how many are in it (not deleted), and
-- how many accepted followers (members) and follows it has: what every status shows in its
-- `Account`, kept by the database on each write, so that a page of statuses need not count a
-- busy author's thousands of posts.
CREATE TABLE actor_stats (
    actor_id INTEGER PRIMARY KEY NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    posts_count INTEGER NOT NULL DEFAULT 0,
    group_posts_count INTEGER NOT NULL DEFAULT 0,
    followers_count INTEGER NOT NULL DEFAULT 0,
    following_count INTEGER NOT NULL DEFAULT 0
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
CREATE TRIGGER posts_count_added AFTER INSERT ON posts WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO actor_stats (actor_id, posts_count) VALUES (NEW.author_id, 1)
        ON CONFLICT (actor_id) DO UPDATE SET posts_count = posts_count + 1;
    INSERT INTO actor_stats (actor_id, group_posts_count)
        SELECT NEW.group_id, 1 WHERE NEW.group_id IS NOT NULL
        ON CONFLICT (actor_id) DO UPDATE SET group_posts_count = group_posts_count + 1;
END;

CREATE TRIGGER posts_count_removed AFTER DELETE ON posts WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE actor_stats SET posts_count = posts_count - 1 WHERE actor_id = OLD.author_id;
    UPDATE actor_stats SET group_posts_count = group_posts_count - 1 WHERE actor_id = OLD.group_id;
END;

CREATE TRIGGER posts_count_changed AFTER UPDATE OF deleted_at, author_id, group_id ON posts
    WHEN OLD.deleted_at IS NOT NEW.deleted_at OR OLD.author_id IS NOT NEW.author_id
        OR OLD.group_id IS NOT NEW.group_id
BEGIN
    UPDATE actor_stats SET posts_count = posts_count - 1
        WHERE OLD.deleted_at IS NULL AND actor_id = OLD.author_id;
    UPDATE actor_stats SET group_posts_count = group_posts_count - 1
        WHERE OLD.deleted_at IS NULL AND actor_id = OLD.group_id;
    INSERT INTO actor_stats (actor_id, posts_count)
        SELECT NEW.author_id, 1 WHERE NEW.deleted_at IS NULL
        ON CONFLICT (actor_id) DO UPDATE SET posts_count = posts_count + 1;
    INSERT INTO actor_stats (actor_id, group_posts_count)
        SELECT NEW.group_id, 1 WHERE NEW.deleted_at IS NULL AND NEW.group_id IS NOT NULL
        ON CONFLICT (actor_id) DO UPDATE SET group_posts_count = group_posts_count + 1;
END;

-- A follow counts once accepted, until it is removed.
CREATE TRIGGER follows_count_added AFTER INSERT ON follows WHEN NEW.accepted
BEGIN
    INSERT INTO actor_stats (actor_id, followers_count) VALUES (NEW.target_id, 1)
        ON CONFLICT (actor_id) DO UPDATE SET followers_count = followers_count + 1;
    INSERT INTO actor_stats (actor_id, following_count) VALUES (NEW.follower_id, 1)
        ON CONFLICT (actor_id) DO UPDATE SET following_count = following_count + 1;
END;

CREATE TRIGGER follows_count_removed AFTER DELETE ON follows WHEN OLD.accepted
BEGIN
    UPDATE actor_stats SET followers_count = followers_count - 1 WHERE actor_id = OLD.target_id;
    UPDATE actor_stats SET following_count = following_count - 1 WHERE actor_id = OLD.follower_id;
END;

CREATE TRIGGER follows_count_changed AFTER UPDATE OF accepted, follower_id, target_id ON follows
    WHEN OLD.accepted IS NOT NEW.accepted OR OLD.follower_id IS NOT NEW.follower_id
        OR OLD.target_id IS NOT NEW.target_id
BEGIN
    UPDATE actor_stats SET followers_count = followers_count - 1
        WHERE OLD.accepted AND actor_id = OLD.target_id;
    UPDATE actor_stats SET following_count = following_count - 1
        WHERE OLD.accepted AND actor_id = OLD.follower_id;
    INSERT INTO actor_stats (actor_id, followers_count)
        SELECT NEW.target_id, 1 WHERE NEW.accepted
        ON CONFLICT (actor_id) DO UPDATE SET followers_count = followers_count + 1;
    INSERT INTO actor_stats (actor_id, following_count)
        SELECT NEW.follower_id, 1 WHERE NEW.accepted
        ON CONFLICT (actor_id) DO UPDATE SET following_count = following_count + 1;
END;

-- A person's bookmarks and likes, newest first (their pages walk these in order).
CREATE INDEX bookmarks_actor ON bookmarks (actor_id, id);
CREATE INDEX likes_actor ON likes (actor_id, id);

-- Local public posts, newest first (the public timeline's `local` tab): a few among many.
CREATE INDEX posts_public_local ON posts (id) WHERE visibility = 'public' AND deleted_at IS NULL AND local;
