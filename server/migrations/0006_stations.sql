-- Kitchen stations, orders placed for later, and items run out of (issue 16).

-- Where an order came from, how urgent it is (NULL: normal), when it is due, when the
-- server fires it into the kitchen and when it did. All NULL for an order placed for
-- now, so placing one writes nothing more than before.
ALTER TABLE orders ADD COLUMN source   TEXT;
ALTER TABLE orders ADD COLUMN priority TEXT;
ALTER TABLE orders ADD COLUMN due_at   INTEGER;
ALTER TABLE orders ADD COLUMN fire_at  INTEGER;
ALTER TABLE orders ADD COLUMN fired_at INTEGER;

-- Orders held until their fire time: a row from placing until the server fires the
-- order (in the same transaction as its order_fired event, so each fires once) or the
-- order is cancelled or rejected.
CREATE TABLE fire_schedule (
    order_id INTEGER PRIMARY KEY,
    fire_at  INTEGER NOT NULL
);
CREATE INDEX fire_schedule_by_time ON fire_schedule (fire_at);

-- Items now carry a state. Those of orders placed before read as whole tickets: done
-- once the order was ready, queued before that (or when it was cancelled unmade).
UPDATE orders SET items = (
    SELECT json_group_array(json_set(value, '$.state',
        CASE WHEN orders.status IN ('ready', 'picked_up', 'delivered')
             THEN 'done' ELSE 'queued' END))
    FROM (SELECT value FROM json_each(orders.items) ORDER BY key)
)
WHERE items NOT LIKE '%"state":%';

-- Each restaurant's menu as the server uses it (chit_protocol::Menu as JSON): written
-- only by the server's writer, which routes orders by it.
CREATE TABLE menus (
    restaurant TEXT    PRIMARY KEY,
    menu       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    loaded_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Menus loaded by `chit-server menu load`, which runs beside the server as a process
-- of its own: the running server takes each up (into `menus`, with a menu_update event
-- and its seq, in one transaction of its writer) and deletes the row.
CREATE TABLE menu_loads (
    restaurant TEXT    PRIMARY KEY,
    menu       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    loaded_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Items a restaurant has run out of ("86"), by name as compared (case folded, spaces
-- trimmed), until a time or until made available again.
CREATE TABLE unavailable (
    restaurant TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    item       TEXT    NOT NULL,
    until      INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    by         TEXT,
    PRIMARY KEY (restaurant, key)
) WITHOUT ROWID;
CREATE INDEX unavailable_by_until ON unavailable (until);
