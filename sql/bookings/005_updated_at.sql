-- The live seat map's republish (workers/bookings/live.c) reads the seats
-- changed in the last second or two, every second.
CREATE INDEX bookings_updated ON bookings (updated_at);
