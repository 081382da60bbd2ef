-- The Idempotency-Key (and request hash) a hold was made under, written
-- with the hold itself: even if the key's answer in idempotency_keys were
-- lost, a retry with that key finds its booking here instead of a seat
-- taken by its own hold.
ALTER TABLE bookings
    ADD COLUMN idempotency_key text,
    ADD COLUMN request_hash    text;
CREATE INDEX bookings_idempotency_key ON bookings (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
