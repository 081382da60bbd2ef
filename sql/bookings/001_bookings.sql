-- Bookings and seat holds. A seat has at most one live booking (pending or
-- confirmed): the partial unique index is the one place that promise is
-- enforced; Redis locks only turn most losers away earlier.
CREATE TABLE bookings (
    id              bigserial   PRIMARY KEY,
    reference       text        NOT NULL UNIQUE,
    user_id         bigint      NOT NULL,
    flight_id       bigint      NOT NULL,
    seat_number     text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'confirmed', 'expired', 'cancelled')),
    total_cents     bigint      NOT NULL CHECK (total_cents >= 0),
    hold_expires_at timestamptz NOT NULL,
    payment_id      bigint,
    lock_token      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    cancelled_at    timestamptz
);

CREATE UNIQUE INDEX bookings_live_seat ON bookings (flight_id, seat_number)
    WHERE status IN ('pending', 'confirmed');
CREATE INDEX bookings_user ON bookings (user_id, id DESC);
CREATE INDEX bookings_flight ON bookings (flight_id, id DESC);
CREATE INDEX bookings_pending_expiry ON bookings (hold_expires_at) WHERE status = 'pending';

-- idempotency_keys: sql/shared/idempotency (the service's schemas).
