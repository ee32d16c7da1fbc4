-- chit's first schema. Migrations are append-only: add 0002_*.sql, never edit this.
-- Times are Unix milliseconds (UTC); money is integer minor units.

CREATE TABLE orders (
    id               INTEGER PRIMARY KEY,
    number           INTEGER NOT NULL,
    restaurant       TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    customer_name    TEXT    NOT NULL,
    customer_phone   TEXT    NOT NULL,
    customer_address TEXT,
    note             TEXT,
    fulfilment       TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    rider            TEXT,
    total            INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    ready_at         INTEGER
);
CREATE INDEX orders_by_restaurant ON orders (restaurant, created_at);
CREATE INDEX orders_by_status ON orders (status, restaurant);
CREATE INDEX orders_by_customer ON orders (customer_id);
CREATE INDEX orders_by_rider ON orders (rider) WHERE rider IS NOT NULL;

CREATE TABLE order_items (
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    pos        INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    qty        INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    note       TEXT,
    PRIMARY KEY (order_id, pos)
) WITHOUT ROWID;

-- The event log: one row per (event, room); seq is global and only grows.
CREATE TABLE events (
    seq  INTEGER PRIMARY KEY,
    room TEXT    NOT NULL,
    kind TEXT    NOT NULL,
    at   INTEGER NOT NULL,
    data TEXT    NOT NULL
);
CREATE INDEX events_by_room ON events (room, seq);

CREATE TABLE idempotency_keys (
    restaurant TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    order_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (restaurant, key)
) WITHOUT ROWID;

-- Per restaurant and local day: the short number the kitchen calls out.
CREATE TABLE order_numbers (
    restaurant TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    last       INTEGER NOT NULL,
    PRIMARY KEY (restaurant, day)
) WITHOUT ROWID;

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    hash       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    restaurant TEXT,
    rider      TEXT,
    customer   TEXT,
    label      TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE chat_messages (
    id     INTEGER PRIMARY KEY,
    room   TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    author TEXT    NOT NULL,
    role   TEXT    NOT NULL,
    text   TEXT    NOT NULL,
    at     INTEGER NOT NULL
);
CREATE INDEX chat_by_room ON chat_messages (room, seq);

-- Small facts: pruned_through (the newest seq removed by retention).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
