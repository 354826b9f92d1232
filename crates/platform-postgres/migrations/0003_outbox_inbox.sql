-- Transactional outbox: events are inserted in the same transaction as the aggregate
-- that recorded them, then delivered by a relay and deleted once every handler
-- succeeded. Every instance runs a relay: a relay claims rows for a lease, so the
-- others skip them, and a relay that dies loses its claim when the lease expires.
CREATE TABLE outbox (
    -- Delivery order.
    sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    event_type text NOT NULL,
    aggregate_type text NOT NULL,
    aggregate_id text NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload jsonb NOT NULL,
    -- Failed deliveries so far, and when the next one may be tried.
    attempts integer NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT '-infinity',
    last_error text,
    -- A relay's claim: until when the row is reserved for it.
    locked_until timestamptz,
    -- Set when the relay gave up; a parked message waits for an operator.
    dead_at timestamptz
);

-- Events of one aggregate are delivered in order: a relay only claims each
-- aggregate's oldest live event.
CREATE INDEX outbox_by_aggregate ON outbox (aggregate_type, aggregate_id, sequence) WHERE dead_at IS NULL;

-- Inbox: which consumer already handled which event. A handler inserts its mark in the
-- same transaction as its effect, so a redelivered event has no second effect.
CREATE TABLE inbox (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    handled_at timestamptz NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
