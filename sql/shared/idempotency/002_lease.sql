-- Behind a transaction pooler (DATABASE_POOLER=transaction) no session
-- advisory lock can mark a key's first request as running: its claim
-- carries a lease instead, and a claim left unanswered (its request died)
-- is taken over once the lease has run out (common/idem.c).
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS lease_until timestamptz NOT NULL DEFAULT now();
