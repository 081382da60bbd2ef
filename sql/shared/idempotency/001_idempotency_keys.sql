-- Idempotency-Key replay store (common/idem.c): one row per (user, key);
-- status and body are NULL while the first request is still running.
-- Shared by every database whose service takes Idempotency-Key (its
-- `schemas`). IF NOT EXISTS: databases made before this file existed
-- already have the table from their own first migration.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id      bigint      NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer,
    body         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
