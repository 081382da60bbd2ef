-- The id of the request that started the flow an event belongs to: the
-- relay logs under it and sends it on as X-Request-ID, so one id follows
-- a payment from its POST to the e-mail. NULL for events written before.
-- IF NOT EXISTS: a database may have the column from a hand-applied copy.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS request_id text;
