-- How many seats a booking holds (its rows in booking_seats), written
-- with it, so that counting a user's held seats reads bookings alone (an
-- index, below), not a row of booking_seats per hold. NULL: made before
-- this migration; booking_hold counts its booking_seats then.
ALTER TABLE bookings ADD COLUMN seat_count smallint;
-- The user's live holds, which booking_hold counts on every hold: without
-- it the count read every pending hold of every user (bookings_pending_expiry
-- AND bookings_user, the plan of a table not yet analysed), so a hold cost
-- more the more holds there were.
CREATE INDEX bookings_user_pending ON bookings (user_id, hold_expires_at) INCLUDE (seat_count)
    WHERE status = 'pending';

-- A hold in one round trip: store_booking_create (workers/bookings/store.c)
-- calls this once instead of the nine statements it used to send (lock,
-- expire, count, savepoint, insert, insert seats, read back, begin and
-- commit), which were most of a booking's time. Each statement here is
-- a statement of the caller's transaction, as those were (read committed:
-- each sees what committed before it began).
--
-- In order: the user's creates are serialised (advisory lock on
-- 'holds:<user>', till the transaction ends), so the count of the
-- user's live held seats is true; over max_holds with these seats:
-- 'too_many', nothing written. Then the booking's row under the first
-- of refs that is free (a reference clash takes the next), then its seats
-- in seat order (the `i` of each, so two overlapping holds wait for each
-- other in the same order and never deadlock), judged by the partial
-- unique index booking_seats_live. All or none: when a seat was taken,
-- the row and the seats inserted are undone (the inner block), and the
-- answer is 'taken' with the taken seats in the passengers' order
-- ("12A, 12C"), or 'overdue' when a hold past its expiry still holds one
-- of them: then the caller expires the overdue holds on the seats (with
-- their e-mails, which store.c writes) and calls this again, in one
-- transaction. 'ok' gives the new row and its passengers as
-- store.c's PASSENGERS_JSON does; 'error' when every ref clashed.
--
-- seats: [{"o": position, "s": seat, "n": name, "c": cabin, "p": cents,
-- "i": seat index}, ...], one per passenger.
CREATE FUNCTION booking_hold(p_user bigint, p_flight bigint, p_max_holds int,
                             p_hold_seconds int, p_refs text[], p_seat_number text,
                             p_total_cents bigint, p_lock_token text, p_flight_number text,
                             p_origin text, p_destination text, p_departure text,
                             p_request_id text, p_idempotency_key text, p_request_hash text,
                             p_seats json)
RETURNS TABLE (outcome text, taken text, booking bookings, passengers json)
LANGUAGE plpgsql
-- Its statements' plans are kept, not made again for every call: with
-- the default (auto) most of them were planned anew each time, a fifth
-- of the call (perf); none of them gains from a plan for its values.
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_held   bigint;
    v_wanted int := json_array_length(p_seats);
    v_ref    text;
    v_row    bookings;
    v_got    int;
    v_seats  text[];
    v_pass   json;
    v_taken  text;
    v_overdue boolean;
    v_mine   bookings;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('holds:' || p_user, 0));
    -- an overdue hold is not counted: its expiry changes nothing here
    SELECT coalesce(sum(coalesce(b.seat_count, (SELECT count(*) FROM booking_seats s
                                                 WHERE s.booking_id = b.id))), 0)
    INTO v_held
    FROM bookings b
    WHERE b.user_id = p_user AND b.status = 'pending' AND b.hold_expires_at > now();
    IF v_held + v_wanted > p_max_holds THEN
        RETURN QUERY SELECT 'too_many'::text, NULL::text, NULL::bookings, NULL::json;
        RETURN;
    END IF;
    BEGIN
        FOREACH v_ref IN ARRAY p_refs LOOP
            INSERT INTO bookings (reference, user_id, flight_id, seat_number, total_cents,
                                  hold_expires_at, lock_token,
                                  flight_number, origin, destination, departure_time,
                                  request_id, idempotency_key, request_hash, seat_count)
            VALUES (v_ref, p_user, p_flight, p_seat_number, p_total_cents,
                    now() + make_interval(secs => p_hold_seconds), p_lock_token,
                    p_flight_number, p_origin, p_destination,
                    NULLIF(p_departure, '')::timestamptz, NULLIF(p_request_id, ''),
                    NULLIF(p_idempotency_key, ''), NULLIF(p_request_hash, ''), v_wanted)
            ON CONFLICT (reference) DO NOTHING
            RETURNING * INTO v_row;
            EXIT WHEN FOUND;
        END LOOP;
        IF v_row.id IS NULL THEN
            RETURN QUERY SELECT 'error'::text, NULL::text, NULL::bookings, NULL::json;
            RETURN;
        END IF;
        WITH ins AS (
            INSERT INTO booking_seats (booking_id, position, flight_id, seat_number,
                                       full_name, cabin, price_cents)
            SELECT v_row.id, p.o, p_flight, p.s, p.n, p.c, p.p
            FROM json_to_recordset(p_seats) AS p(o smallint, s text, n text, c text,
                                                 p bigint, i int)
            ORDER BY p.i
            ON CONFLICT (flight_id, seat_number) WHERE live DO NOTHING
            RETURNING position, seat_number, full_name, cabin, price_cents)
        SELECT count(*), array_agg(seat_number),
               json_agg(json_build_object('n', full_name, 's', seat_number,
                                          'c', cabin, 'p', price_cents) ORDER BY position)
        INTO v_got, v_seats, v_pass
        FROM ins;
        IF v_got < v_wanted THEN
            SELECT string_agg(p.s, ', ' ORDER BY p.o), array_agg(p.s)
            INTO v_taken, v_seats
            FROM json_to_recordset(p_seats) AS p(o smallint, s text)
            WHERE p.s <> ALL (coalesce(v_seats, '{}'));
            -- taken by this very request: its first try committed and the
            -- answer was lost with the connection, and db.c sent the
            -- statement again (a lost autocommit statement is retried once)
            SELECT b.* INTO v_mine FROM bookings b
            WHERE b.id = (SELECT s.booking_id FROM booking_seats s
                          WHERE s.flight_id = p_flight AND s.seat_number = v_seats[1] AND s.live)
              AND b.lock_token = p_lock_token AND b.user_id = p_user;
            SELECT EXISTS (
                SELECT 1 FROM booking_seats s JOIN bookings b ON b.id = s.booking_id
                WHERE s.flight_id = p_flight AND s.seat_number = ANY (v_seats) AND s.live
                  AND b.status = 'pending' AND b.hold_expires_at <= now())
            INTO v_overdue;
            -- undo the row and the seats that went in (variables keep their values)
            RAISE EXCEPTION USING ERRCODE = 'FOB01';
        END IF;
    EXCEPTION WHEN SQLSTATE 'FOB01' THEN
        IF v_mine.id IS NOT NULL THEN
            RETURN QUERY
                SELECT 'ok'::text, NULL::text, v_mine,
                       json_agg(json_build_object('n', s.full_name, 's', s.seat_number,
                                                  'c', s.cabin, 'p', s.price_cents)
                                ORDER BY s.position)
                FROM booking_seats s WHERE s.booking_id = v_mine.id;
            RETURN;
        END IF;
        RETURN QUERY SELECT CASE WHEN v_overdue THEN 'overdue' ELSE 'taken' END,
                            v_taken, NULL::bookings, NULL::json;
        RETURN;
    END;
    RETURN QUERY SELECT 'ok'::text, NULL::text, v_row, v_pass;
END
$$;
