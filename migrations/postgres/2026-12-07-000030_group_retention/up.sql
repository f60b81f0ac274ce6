-- How many days a group keeps its posts; NULL: for ever. Older posts are deleted, here and on
-- the members' servers, by the hourly expiry (service::retention).
ALTER TABLE support_groups ADD COLUMN retention_days INTEGER;
