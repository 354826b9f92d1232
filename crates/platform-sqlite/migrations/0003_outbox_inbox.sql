-- Transactional outbox: events are inserted in the same transaction as the aggregate
-- that recorded them, then delivered by the relay and deleted once every handler
-- succeeded. Nothing is lost if the process dies between commit and delivery.
CREATE TABLE outbox (
    -- Delivery order.
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id BLOB NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- Failed deliveries so far, and when the next one may be tried (unix milliseconds).
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    -- Set when the relay gave up; a parked message waits for an operator.
    dead_at TEXT
) STRICT;

-- Events of one aggregate are delivered in order: the relay looks for each
-- aggregate's oldest pending event.
CREATE INDEX outbox_by_aggregate ON outbox (aggregate_type, aggregate_id, sequence) WHERE dead_at IS NULL;

-- Inbox: which consumer already handled which event. A handler inserts its mark in the
-- same transaction as its effect, so a redelivered event has no second effect.
CREATE TABLE inbox (
    consumer TEXT NOT NULL,
    event_id BLOB NOT NULL,
    handled_at TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
) STRICT, WITHOUT ROWID;
