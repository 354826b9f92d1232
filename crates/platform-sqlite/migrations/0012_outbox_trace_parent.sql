-- The W3C traceparent of the request that recorded each event (NULL: it came with none).
ALTER TABLE outbox ADD COLUMN trace_parent TEXT;
