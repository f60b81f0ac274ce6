-- A person's data archives, prepared in the background: how far each got, and where the
-- finished ZIP is kept (a file of the media store, served only to its owner). An archive is
-- removed a week after it was requested.
CREATE TABLE exports (
    id BIGINT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    -- preparing, ready or failed
    state TEXT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    file_name TEXT,
    byte_size BIGINT,
    requested_at TIMESTAMP NOT NULL,
    -- when its progress last moved: a preparation that stopped moving was interrupted
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX exports_by_person ON exports (person_id, id);
CREATE INDEX exports_by_time ON exports (requested_at);
