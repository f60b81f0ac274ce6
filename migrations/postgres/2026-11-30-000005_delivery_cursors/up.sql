-- The outbox becomes a log that each receiving server reads with its own cursor (Lemmy's
-- design): an activity is written once, naming the servers it goes to, however many they are,
-- instead of once more per server. `hosts`: ' a.example b.example:8443 ', for an exact
-- `LIKE '% host %'`; `inboxes`: the inbox URLs, one per line; `form`: a group's share meant
-- for one kind of reader only (`activity`: FEP-1b12 readers of Announce{Create}; `object`:
-- microblogs), NULL for every server.
ALTER TABLE outbox
    ADD COLUMN form TEXT,
    ADD COLUMN hosts TEXT NOT NULL DEFAULT '',
    ADD COLUMN inboxes TEXT NOT NULL DEFAULT '';
UPDATE outbox o SET form = d.form, hosts = d.hosts, inboxes = d.inboxes
    FROM (SELECT outbox_id, max(form) AS form, ' ' || string_agg(DISTINCT host, ' ') || ' ' AS hosts,
                 string_agg(inbox, E'\n') AS inboxes
          FROM deliveries GROUP BY outbox_id) d
    WHERE d.outbox_id = o.id;
DELETE FROM outbox WHERE hosts = '';
ALTER TABLE outbox ALTER COLUMN hosts DROP DEFAULT, ALTER COLUMN inboxes DROP DEFAULT;

-- Each server's place in the log: `delivered_up_to`, its cursor (everything for it up to
-- that outbox id is delivered or given up), and whether anything past it waits for it.
ALTER TABLE servers
    ADD COLUMN delivered_up_to BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE servers SET waiting = TRUE
    WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.host = servers.host);

-- Outbox ids, taken once the servers' rows are locked: what is queued for one server is then
-- numbered in the order it commits, whichever process queues it.
CREATE SEQUENCE outbox_ids;
SELECT setval('outbox_ids', COALESCE((SELECT MAX(id) FROM outbox), 0) + 1, FALSE);

DROP TABLE deliveries;
