-- Several passengers per booking: a booking holds one seat per passenger,
-- a row here each. The judge of a seat moves with it: a seat has at most
-- one live row (its booking pending or confirmed), by the partial unique
-- index booking_seats_live; `live` is set false in the same statement
-- that expires or cancels the booking (store.c), so the index never
-- waits for a sweeper. bookings.seat_number stays: the first passenger's
-- seat (position 1), as the API shows it; bookings.total_cents is the sum
-- of the seats' price_cents.
CREATE TABLE booking_seats (
    booking_id  bigint   NOT NULL REFERENCES bookings (id),
    -- the passenger's place in the request (1 = the booking's seat_number)
    position    smallint NOT NULL CHECK (position BETWEEN 1 AND 9),
    flight_id   bigint   NOT NULL,
    seat_number text     NOT NULL,
    -- NULL: not known (a booking made before passengers existed, or the
    -- users service did not answer when the seed's one-seat body came)
    full_name   text,
    -- NULL: not known (made before this migration)
    cabin       text,
    price_cents bigint   NOT NULL CHECK (price_cents >= 0),
    live        boolean  NOT NULL DEFAULT true,
    PRIMARY KEY (booking_id, position)
);

-- Every existing booking had exactly one seat at its total. An overdue
-- pending hold stays live until it is expired, as the old index had it.
INSERT INTO booking_seats (booking_id, position, flight_id, seat_number, price_cents, live)
SELECT id, 1, flight_id, seat_number, total_cents, status IN ('pending', 'confirmed')
FROM bookings;

DROP INDEX bookings_live_seat;
CREATE UNIQUE INDEX booking_seats_live ON booking_seats (flight_id, seat_number) WHERE live;

-- A booking's row per seat: what the seat map, occupancy and the live
-- republish read (flight_id and seat_number are the seat's).
CREATE VIEW seat_bookings AS
SELECT b.id, b.reference, b.user_id, s.flight_id, s.seat_number, b.status, b.total_cents,
       b.hold_expires_at, b.payment_id, b.created_at, b.updated_at, b.cancelled_at,
       b.lock_token, b.request_id, b.departure_time, s.live, s.position
FROM bookings b JOIN booking_seats s ON s.booking_id = b.id;
