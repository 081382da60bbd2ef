-- Notifications and their delivery state. The notifications pool inserts
-- rows as 'queued' (and NOTIFY mail_queued in the same statement); the
-- mailer claims due rows with FOR UPDATE SKIP LOCKED and a lease, sends
-- them and marks each 'sent', or schedules a retry, or gives up ('failed').
CREATE TABLE notifications (
    id              bigserial   PRIMARY KEY,
    user_id         bigint      NOT NULL CHECK (user_id > 0),
    booking_id      bigint      CHECK (booking_id > 0),
    type            text        NOT NULL
                    CHECK (type IN ('booking_confirmation', 'booking_cancellation',
                                    'payment_failed', 'hold_expired', 'flight_update',
                                    'custom')),
    message         text        NOT NULL,
    status          text        NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sent', 'failed')),
    -- the caller's idempotency key, scoped by caller ("svc:..." or "user:<id>:...")
    event_id        text        UNIQUE,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text,
    message_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
