-- Webhooks both ways (issue 14).

-- Endpoints that chit POSTs events to, signed per Standard Webhooks 1.0. Each has a
-- durable cursor into the event log: every event up to `delivered_seq` that it asked
-- for has been delivered (acknowledged with a 2xx). The secret signs deliveries, so it
-- is kept as it was given out.
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    events          TEXT,                       -- comma-separated kinds; NULL: every stored kind
    restaurant      TEXT,                       -- NULL: every restaurant
    created_at      INTEGER NOT NULL,
    delivered_seq   INTEGER NOT NULL,
    delivered_total INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0, -- failed attempts in a row at the next event
    last_error      TEXT,
    last_attempt_at INTEGER,
    next_attempt_at INTEGER
);

-- Senders whose signed webhooks place orders: each speaks as a pos token of one
-- restaurant (so revoking the token stops the hook). The secret checks signatures.
CREATE TABLE hooks (
    name       TEXT    PRIMARY KEY,
    secret     TEXT    NOT NULL,
    token_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- A random number naming this database, in webhook ids: a database made anew never
-- reuses the ids of another.
INSERT INTO meta (key, value) VALUES ('instance', abs(random() % 9007199254740991));
