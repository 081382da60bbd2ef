-- Events for other services, written in the same transaction as the
-- change that causes them (common/outbox.h owns the row; its relay
-- delivers them). `service` names a peer the sending service declared.
-- Shared by every database whose service sends (its `schemas`). IF NOT
-- EXISTS: databases made before this file existed already have it.
CREATE TABLE IF NOT EXISTS outbox (
    id              bigserial   PRIMARY KEY,
    event_id        text        NOT NULL UNIQUE,
    service         text        NOT NULL,
    path            text        NOT NULL,
    payload         text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_status     integer,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
