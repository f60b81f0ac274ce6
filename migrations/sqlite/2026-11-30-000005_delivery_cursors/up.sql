-- The outbox becomes a log that each receiving server reads with its own cursor (Lemmy's
-- design): an activity is written once, naming the servers it goes to, however many they are,
-- instead of once more per server. `hosts`: ' a.example b.example:8443 ', for an exact
-- `LIKE '% host %'`; `inboxes`: the inbox URLs, one per line; `form`: a group's share meant
-- for one kind of reader only (`activity`: FEP-1b12 readers of Announce{Create}; `object`:
-- microblogs), NULL for every server. `body` is last: a server's cursor reads `hosts` of
-- the rows it passes without reading their bodies.
CREATE TABLE outbox_log (
    id INTEGER PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL,
    signer_id INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    form TEXT,
    hosts TEXT NOT NULL,
    inboxes TEXT NOT NULL,
    ap_id TEXT NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO outbox_log (id, created_at, signer_id, form, hosts, inboxes, ap_id, body)
    SELECT o.id, o.created_at, o.signer_id,
        (SELECT max(d.form) FROM deliveries d WHERE d.outbox_id = o.id),
        ' ' || (SELECT group_concat(h.host, ' ')
                FROM (SELECT DISTINCT d.host FROM deliveries d WHERE d.outbox_id = o.id) h) || ' ',
        (SELECT group_concat(d.inbox, char(10)) FROM deliveries d WHERE d.outbox_id = o.id),
        o.ap_id, o.body
    FROM outbox o
    WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = o.id);

-- Each server's place in the log: `delivered_up_to`, its cursor (everything for it up to
-- that outbox id is delivered or given up), and whether anything past it waits for it.
ALTER TABLE servers ADD COLUMN delivered_up_to BIGINT NOT NULL DEFAULT 0;
ALTER TABLE servers ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT 0;
UPDATE servers SET waiting = 1
    WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.host = servers.host);

DROP TABLE deliveries;
DROP TABLE outbox;
ALTER TABLE outbox_log RENAME TO outbox;
