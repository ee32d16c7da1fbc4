-- An order's events are no longer stored a third time for its order:ID room (issue 6:
-- rows and index entries per order are what bounds the writer). The restaurant room's
-- row of each order event names the order; replaying order:ID reads those rows (by
-- this index), and the rows still stored under order:ID (its chat, and events logged
-- before this version).
ALTER TABLE events ADD COLUMN order_id INTEGER;
CREATE INDEX events_by_order ON events (order_id, seq) WHERE order_id IS NOT NULL;
