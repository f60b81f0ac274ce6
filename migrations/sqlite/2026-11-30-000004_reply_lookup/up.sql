-- Replies that arrived before the post they answer ("orphans"), found by the parent's id when
-- it arrives. Without this index every incoming post scanned the whole posts table.
CREATE INDEX posts_orphans ON posts (in_reply_to_ap_id)
    WHERE in_reply_to_id IS NULL AND in_reply_to_ap_id IS NOT NULL;
