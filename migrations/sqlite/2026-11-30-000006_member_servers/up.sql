-- Forward-only: Hearth never rolls migrations back.
-- A group's members, found by the group: every post shared by a group reads its members'
-- servers. With the follower in the index, the follows themselves are not read.
CREATE INDEX follows_members ON follows (target_id, accepted, follower_id);
-- The new index serves every query the old one did.
DROP INDEX follows_target;
