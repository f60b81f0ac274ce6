-- The ids of received activities are kept to refuse redeliveries only as long as a sender
-- retries; the clean-up removes older ones, oldest first, by this index.
CREATE INDEX received_activities_by_age ON received_activities (received_at);
