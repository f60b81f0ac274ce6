-- A group's default content warning ("self-harm", "graphic images"), given to posts into it
-- that carry none; empty: none.
ALTER TABLE support_groups ADD COLUMN content_warning TEXT NOT NULL DEFAULT '';
