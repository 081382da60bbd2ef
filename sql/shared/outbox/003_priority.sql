-- Events that can wait (bulk: a hold's expiry notice) carry priority 1;
-- everything else (a confirmation, a refund, a cancellation) 0 and goes
-- first: a wave of expiries must not hold back a confirmation's mail.
-- The relay claims by (priority, id).
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS priority smallint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (priority, id) WHERE delivered_at IS NULL;
