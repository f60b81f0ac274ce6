-- The language a post was written in (an ISO 639 code, as the app or the remote contentMap
-- gave it; NULL when unknown).
ALTER TABLE posts ADD COLUMN language TEXT;

-- An actor's profile fields, a JSON array of {"name", "value"} (value HTML): a local person's
-- as they set them, a remote actor's from the PropertyValues of its document.
ALTER TABLE actors ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';

-- What a local person edits and apps preselect: the bio as typed (before it became HTML),
-- and the visibility, sensitivity and language of new posts.
ALTER TABLE users ADD COLUMN note_source TEXT;
ALTER TABLE users ADD COLUMN default_privacy TEXT NOT NULL DEFAULT 'public';
ALTER TABLE users ADD COLUMN default_sensitive BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN default_language TEXT;
