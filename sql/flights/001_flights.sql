-- Flights: schedule, price (integer cents) and seat count. Seat
-- availability is not stored here: it is computed from the bookings
-- service's live bookings. One flight number flies at most once per UTC
-- departure date.
CREATE TABLE flights (
    id             bigserial   PRIMARY KEY,
    flight_number  text        NOT NULL CHECK (flight_number ~ '^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?$'),
    airline        text        NOT NULL CHECK (length(airline) BETWEEN 1 AND 64),
    origin         text        NOT NULL CHECK (origin ~ '^[A-Z]{3}$'),
    destination    text        NOT NULL CHECK (destination ~ '^[A-Z]{3}$'),
    departure_time timestamptz NOT NULL,
    arrival_time   timestamptz NOT NULL,
    price_cents    bigint      NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),
    total_seats    integer     NOT NULL CHECK (total_seats BETWEEN 1 AND 853),
    is_active      boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (destination <> origin),
    CHECK (arrival_time > departure_time)
);

CREATE UNIQUE INDEX flights_number_date_key
    ON flights (flight_number, ((departure_time AT TIME ZONE 'UTC')::date));
-- The public list: active flights by departure, optionally by route.
CREATE INDEX flights_departure_idx ON flights (departure_time, id) WHERE is_active;
CREATE INDEX flights_route_idx ON flights (origin, destination, departure_time) WHERE is_active;
