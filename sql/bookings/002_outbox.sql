-- Events for other services, written in the same transaction as the
-- change that causes them (common/outbox.c delivers them).
CREATE TABLE outbox (
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
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- What a notification needs to name the flight, copied when the seat is
-- held (the flights database is not ours to read later).
ALTER TABLE bookings
    ADD COLUMN flight_number  text,
    ADD COLUMN origin         text,
    ADD COLUMN destination    text,
    ADD COLUMN departure_time timestamptz;
