-- Mail a traveller waits for ahead of bulk mail: a booking confirmation
-- queued behind 10,000 hold_expired notices must not wait for all of
-- them. Generated from type, so every insert (the notifications pool's,
-- a bulk INSERT ... SELECT) gets it without knowing about it. The mailer
-- claims in (priority, id) order; the partial index is that order over
-- the queued rows only, so a claim reads the head of the queue instead
-- of filtering past every sent row.
ALTER TABLE notifications ADD COLUMN priority smallint NOT NULL
    GENERATED ALWAYS AS (CASE WHEN type IN ('booking_confirmation', 'payment_failed',
                                            'booking_cancellation') THEN 0 ELSE 1 END) STORED;
CREATE INDEX notifications_queue ON notifications (priority, id) WHERE status = 'queued';
