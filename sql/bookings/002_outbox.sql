-- The outbox table itself: sql/shared/outbox (the service's schemas).

-- What a notification needs to name the flight, copied when the seat is
-- held (the flights database is not ours to read later).
ALTER TABLE bookings
    ADD COLUMN flight_number  text,
    ADD COLUMN origin         text,
    ADD COLUMN destination    text,
    ADD COLUMN departure_time timestamptz;
