-- Handling a report: who resolved it and the note they left (`action_taken_at` says when).
-- Categories are text: Hearth's (`misinformation`, `crisis`, `privacy`, `harassment`, `spam`,
-- `other`) and `violation` (instance rules cited).
ALTER TABLE reports ADD COLUMN action_taken_by_id BIGINT;
ALTER TABLE reports ADD COLUMN resolution_note TEXT;

-- A local account suspended (signed out everywhere, cannot sign in, deleted on other servers)
-- or limited, by a moderator; NULL when not.
ALTER TABLE users ADD COLUMN suspended_at TIMESTAMP;
ALTER TABLE users ADD COLUMN limited_at TIMESTAMP;
