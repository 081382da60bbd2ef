-- Payments. The card number is never stored: only its last four digits,
-- its brand and the token the gateway gave for it.
CREATE TABLE payments (
    id             bigserial   PRIMARY KEY,
    booking_id     bigint      NOT NULL,
    user_id        bigint      NOT NULL,
    amount_cents   bigint      NOT NULL CHECK (amount_cents >= 0),
    payment_method text        NOT NULL CHECK (payment_method IN ('credit_card', 'debit_card')),
    card_last4     text        NOT NULL CHECK (card_last4 ~ '^[0-9]{4}$'),
    card_brand     text        NOT NULL,
    gateway_token  text        NOT NULL,
    status         text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    failure_reason text,
    attempts       integer     NOT NULL DEFAULT 0,
    lease_until    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    processed_at   timestamptz,
    refunded_at    timestamptz
);
-- One payment in progress or paid per booking: paying twice is refused here.
CREATE UNIQUE INDEX payments_live_booking ON payments (booking_id)
    WHERE status IN ('pending', 'succeeded');
CREATE INDEX payments_pending ON payments (id) WHERE status = 'pending';
CREATE INDEX payments_booking ON payments (booking_id, id DESC);
CREATE INDEX payments_user ON payments (user_id, id DESC);

-- idempotency_keys and outbox: sql/shared/ (the service's schemas).

-- The built-in gateway simulator's own ledger: what a real gateway keeps on
-- its side. One charge per idempotency key (the payment id), so a charge
-- retried after a crash is answered, not made again.
CREATE TABLE gateway_charges (
    idempotency_key text        PRIMARY KEY,
    token           text        NOT NULL,
    amount_cents    bigint      NOT NULL,
    approved        boolean     NOT NULL,
    refunded_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
