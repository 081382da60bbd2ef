-- The id of the request that last changed the booking (its hold, its
-- confirmation by a payment, its cancellation): the events of that change
-- carry it on, and the expiry sweeper logs under the hold's.
ALTER TABLE bookings ADD COLUMN request_id text;
