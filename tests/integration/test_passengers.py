"""Bookings with several passengers (CONTRACT.md, "Bookings with several
passengers"): POST /bookings with passengers[], all seats held together or
none (PostgreSQL decides in one transaction), prices per cabin summed,
payment, confirmation, expiry and cancellation acting on every seat, the
confirmation e-mail naming every passenger, ?reference=, the hold cap
counting seats, and the live seat map hearing of every seat.

The race rounds check the seat map and the database after each round (once
more with Redis stopped, so PostgreSQL alone decides); the classes that
need a short hold or a small hold cap restart the bookings pool and restore
it afterwards, pass or fail. Nothing asserts on timing.
"""

import threading
import time
import unittest
import urllib.parse

import fo
from test_live import Stream

WAIT = 30.0
HOLD = 3  # BOOKING_HOLD_SECONDS while PassengersShortHold runs
CAP = 4   # MAX_ACTIVE_HOLDS while PassengersSmallCap runs
ROUNDS = 100

# Ten rows: business 1-2, premium economy 3-4, economy 5-10.
CABINS = [{"cabin": "business", "first_row": 1, "last_row": 2, "price": 1299.00},
          {"cabin": "premium_economy", "first_row": 3, "last_row": 4, "price": 649.5},
          {"cabin": "economy", "first_row": 5, "last_row": 10, "price": 299.00}]
PRICE = {"business": 1299.00, "premium_economy": 649.5, "economy": 299.00}


def tearDownModule():
    fo.restore_components()


def people(*seats):
    """passengers[] for seats, with names that need UTF-8."""
    names = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Émilie du Châtelet",
             "Wáng Zhēnyí", "Srinivasa Ramanujan", "Hedy Lamarr", "Kurt Gödel", "Ibn al-Haytham"]
    return [{"full_name": names[i % len(names)], "seat_number": s} for i, s in enumerate(seats)]


def live_seat_rows(flight_id):
    """[(booking_id, seat_number)] of the flight's live seats in PostgreSQL."""
    out = fo.psql("flightops_bookings",
                  "SELECT booking_id, seat_number FROM booking_seats "
                  "WHERE flight_id = %d AND live ORDER BY seat_number" % flight_id)
    return [(int(b), s) for b, s in (line.split("|") for line in out.splitlines() if line)]


class PassengersBase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for base in (fo.USERS, fo.FLIGHTS, fo.BOOKINGS, fo.PAYMENTS, fo.NOTIFICATIONS):
            fo.wait_healthy(base)
        cls.admin = fo.admin_token(fo.USERS)
        (cls.alice, _, cls.token), (cls.bob, _, cls.bob_token) = fo.new_users(2)

    def flight(self, **over):
        body = dict(cabins=CABINS, price=None, total_seats=None)
        body.update(over)
        return fo.create_flight(self.admin, fo.FLIGHTS, **body)

    def hold(self, flight_id, passengers, token=None, headers=None):
        return fo.post(fo.BOOKINGS + "/bookings",
                       json={"flight_id": flight_id, "passengers": passengers},
                       token=token or self.token, headers=headers)

    def held(self, flight_id, passengers, token=None):
        r = self.hold(flight_id, passengers, token)
        self.assertEqual(r.status, 201, fo.describe(r))
        return r.body

    def cancel(self, booking, token=None):
        r = fo.put("%s/bookings/%d/cancel" % (fo.BOOKINGS, booking["id"]),
                   token=token or self.token)
        self.assertEqual(r.status, 200, fo.describe(r))
        return r.body

    def assertInvalid(self, r, loc):
        self.assertEqual(r.status, 422, fo.describe(r))
        locs = [e["loc"] for e in r.body["detail"]]
        self.assertIn(loc, locs, r.body)

    def assertSeats(self, flight_id, status, seats):
        m = fo.seat_map(flight_id)
        self.assertEqual({s: m[s] for s in seats}, {s: status for s in seats})


class Passengers(PassengersBase):

    def test_validation(self):
        f = self.flight()
        fid = f["id"]
        r = fo.post(fo.BOOKINGS + "/bookings", token=self.token,
                    json={"flight_id": fid, "seat_number": "5A", "passengers": people("5B")})
        self.assertInvalid(r, ["body", "passengers"])
        self.assertIn("not both", r.body["detail"][0]["msg"])
        r = fo.post(fo.BOOKINGS + "/bookings", token=self.token, json={"flight_id": fid})
        self.assertInvalid(r, ["body", "seat_number"])
        self.assertInvalid(r, ["body", "passengers"])
        self.assertInvalid(self.hold(fid, []), ["body", "passengers"])
        self.assertInvalid(self.hold(fid, people(*["5A", "5B", "5C", "5D", "5E", "5F", "6A",
                                                   "6B", "6C", "6D"])),
                           ["body", "passengers"])
        self.assertInvalid(self.hold(fid, "5A"), ["body", "passengers"])
        self.assertInvalid(self.hold(fid, ["5A"]), ["body", "passengers", 0, "full_name"])
        bad_names = ["", "x" * 129, "two\nlines", 7, None]
        for name in bad_names:
            p = people("5A", "5B")
            p[1]["full_name"] = name
            if name is None:
                del p[1]["full_name"]
            self.assertInvalid(self.hold(fid, p), ["body", "passengers", 1, "full_name"])
        # distinct seats, compared as the seat map names them
        r = self.hold(fid, people("5A", "6c", "6C"))
        self.assertInvalid(r, ["body", "passengers", 2, "seat_number"])
        self.assertIn("6C", r.body["detail"][0]["msg"])
        # seats of the flight, each told by its place
        r = self.hold(fid, people("5A", "11A", "5G"))
        self.assertInvalid(r, ["body", "passengers", 1, "seat_number"])
        self.assertInvalid(r, ["body", "passengers", 2, "seat_number"])
        p = people("5A", "5B")
        del p[0]["seat_number"]
        self.assertInvalid(self.hold(fid, p), ["body", "passengers", 0, "seat_number"])
        # nothing of it held anything
        self.assertEqual(set(fo.seat_map(fid).values()), {"available"})
        self.assertEqual(live_seat_rows(fid), [])
        # 128 characters of two bytes each is a name
        b = self.held(fid, [{"full_name": "é" * 128, "seat_number": "5a"}])
        self.assertEqual(b["passengers"][0]["full_name"], "é" * 128)
        self.assertEqual(b["seat_number"], "5A")

    def test_prices_per_cabin_summed_and_every_reader_shows_passengers(self):
        f = self.flight()
        fid = f["id"]
        sent = people("3b", "1A", "9F")
        key = fo.unique("key")
        r = self.hold(fid, sent, headers={"Idempotency-Key": key})
        self.assertEqual(r.status, 201, fo.describe(r))
        b = r.body
        want = [{"full_name": "Ada Lovelace", "seat_number": "3B", "cabin": "premium_economy",
                 "price": 649.5},
                {"full_name": "Alan Turing", "seat_number": "1A", "cabin": "business",
                 "price": 1299.0},
                {"full_name": "Grace Hopper", "seat_number": "9F", "cabin": "economy",
                 "price": 299.0}]
        self.assertEqual(b["passengers"], want)
        self.assertEqual(b["seat_number"], "3B")  # the first passenger's
        self.assertEqual(b["total_amount"], 2247.5)
        self.assertEqual(b["status"], "pending")
        # the replay, GET one, the list, the payments pool's look-up
        again = self.hold(fid, sent, headers={"Idempotency-Key": key})
        self.assertEqual((again.status, again.body), (201, b))
        one = fo.get_booking(self.token, b["id"])
        self.assertEqual(one.body["passengers"], want, fo.describe(one))
        r = fo.get("%s/bookings?flight_id=%d" % (fo.BOOKINGS, fid), token=self.token)
        self.assertEqual([x["passengers"] for x in r.body], [want], fo.describe(r))
        r = fo.get("%s/internal/bookings/%d" % (fo.BOOKINGS, b["id"]),
                   headers=fo.service_headers())
        self.assertEqual((r.body["passengers"], r.body["total_amount"]), (want, 2247.5))
        # every seat held, each counted in its cabin
        self.assertSeats(fid, "held", ["3B", "1A", "9F"])
        self.assertEqual(sum(1 for s in fo.seat_map(fid).values() if s != "available"), 3)
        r = fo.get("%s/internal/occupancy?flight_ids=%d" % (fo.BOOKINGS, fid),
                   headers=fo.service_headers())
        self.assertEqual(r.body[str(fid)], 3, fo.describe(r))
        self.assertEqual(sorted(r.body["rows"][str(fid)].split(",")), ["1:1", "3:1", "9:1"])
        fo.wait_for(lambda: [c["available_seats"] for c in fo.get_flight(fid)["cabins"]]
                    == [11, 11, 35], WAIT, 0.2, "each cabin to count its held seat")
        self.assertEqual(fo.get_flight(fid)["available_seats"], 57)

    def test_seed_body_is_one_passenger_named_after_the_account(self):
        f = self.flight()
        r = fo.book(self.token, f["id"], "2c")
        self.assertEqual(r.status, 201, fo.describe(r))
        self.assertEqual(r.body["passengers"],
                         [{"full_name": self.alice["full_name"], "seat_number": "2C",
                           "cabin": "business", "price": 1299.0}])
        self.assertEqual((r.body["seat_number"], r.body["total_amount"]), ("2C", 1299.0))
        # its seat taken answers in the seed's words
        r = fo.book(self.bob_token, f["id"], "2C")
        self.assertEqual((r.status, r.body), (409, {"detail": "Seat is already locked or booked"}))
        # an admin booking for alice: alice's name, not the admin's
        r = fo.book(self.admin, f["id"], "2D", user_id=self.alice["id"])
        self.assertEqual(r.status, 201, fo.describe(r))
        self.assertEqual(r.body["passengers"][0]["full_name"], self.alice["full_name"])

    def test_conflict_names_the_taken_seats_and_holds_nothing(self):
        f = self.flight()
        fid = f["id"]
        mine = self.held(fid, people("6A", "6B"))
        r = self.hold(fid, people("6C", "6B", "6A", "6D"), self.bob_token)
        self.assertEqual(r.status, 409, fo.describe(r))
        detail = r.body["detail"]
        self.assertTrue(detail.startswith("Seats already taken: "), detail)
        self.assertEqual(sorted(detail.split(": ", 1)[1].split(", ")), ["6A", "6B"])
        self.assertSeats(fid, "available", ["6C", "6D"])
        self.assertEqual({b for b, _ in live_seat_rows(fid)}, {mine["id"]})
        r = fo.get(fo.BOOKINGS + "/bookings?flight_id=%d" % fid, token=self.bob_token)
        self.assertEqual(r.body, [], "bob holds nothing")
        # once freed, the same request wins every seat
        self.cancel(mine)
        self.held(fid, people("6C", "6B", "6A", "6D"), self.bob_token)

    def race(self, rounds, what):
        """Two 3-seat holds that share 7C, sent at once by two users, rounds
        times: exactly one wins, and the loser holds none of its seats (the
        seat map and PostgreSQL checked after each round)."""
        f = self.flight()
        fid = f["id"]
        want = {"alice": ["7A", "7B", "7C"], "bob": ["7C", "7D", "7E"]}
        tokens = {"alice": self.token, "bob": self.bob_token}
        wins = {"alice": 0, "bob": 0}
        for n in range(rounds):
            barrier = threading.Barrier(2)
            got = {}

            def send(who):
                barrier.wait(WAIT)
                got[who] = self.hold(fid, people(*want[who]), tokens[who])

            threads = [threading.Thread(target=send, args=(w,)) for w in want]
            for t in threads:
                t.start()
            for t in threads:
                t.join(WAIT)
            statuses = sorted(r.status for r in got.values())
            self.assertEqual(statuses, [201, 409], "round %d: %r" % (
                n, {w: fo.describe(r) for w, r in got.items()}))
            winner = next(w for w, r in got.items() if r.status == 201)
            loser = next(w for w in want if w != winner)
            self.assertEqual(got[loser].body, {"detail": "Seats already taken: 7C"})
            wins[winner] += 1
            booking = got[winner].body
            m = fo.seat_map(fid)
            held = sorted(s for s, st in m.items() if st != "available")
            self.assertEqual(held, want[winner], "round %d: the seat map" % n)
            self.assertEqual(live_seat_rows(fid), [(booking["id"], s) for s in want[winner]],
                             "round %d: the database" % n)
            self.cancel(booking, tokens[winner])
        print("passengers race %s: alice won %d, bob %d rounds"
              % (what, wins["alice"], wins["bob"]))
        self.assertEqual(live_seat_rows(fid), [])

    def test_overlapping_holds_raced(self):
        self.race(ROUNDS, "with Redis")

    def test_overlapping_holds_raced_without_redis(self):
        """Without Redis no lock turns the loser away early: PostgreSQL's
        index decides every round, and the seat order keeps the two
        transactions from deadlocking."""
        fo.STOPPED.append("redis")
        fo.component("stop", "redis")
        try:
            self.race(30, "without Redis")
        finally:
            fo.component("start", "redis")
            fo.STOPPED.remove("redis")

    def test_pay_confirm_then_cancel_every_seat(self):
        f = self.flight()
        fid = f["id"]
        b = self.held(fid, people("8A", "2B", "8C"))
        self.assertEqual(b["total_amount"], 1897.0)
        r = fo.pay(self.token, b)
        self.assertEqual(r.status, 202, fo.describe(r))
        p = fo.wait_payment(self.token, r.body["id"], timeout=WAIT)
        self.assertEqual((p["status"], p["amount"]), ("succeeded", 1897.0))
        fo.wait_booking(self.token, b["id"], "confirmed", WAIT)
        self.assertSeats(fid, "booked", ["8A", "2B", "8C"])
        # the e-mail names every passenger, seat and cabin
        n = fo.wait_notification(self.token, b["id"], "booking_confirmation", WAIT)
        for part in ("Ada Lovelace, seat 8A (economy)", "Alan Turing, seat 2B (business)",
                     "Grace Hopper, seat 8C (economy)", "1897.00", b["reference"]):
            self.assertIn(part, n["message"])
        mails = fo.wait_mail(n["id"], self.alice["email"], WAIT)
        text = fo.mail_text(mails[0])
        for part in ("Ada Lovelace", "8A", "Alan Turing", "2B", "business", "Grace Hopper",
                     "8C", b["reference"]):
            self.assertIn(part, text, "the confirmation e-mail lacks %r:\n%s" % (part, text))
        # cancelling frees every seat, and refunds the sum
        c = self.cancel(b)
        self.assertEqual(c["status"], "cancelled")
        self.assertSeats(fid, "available", ["8A", "2B", "8C"])
        self.assertEqual(live_seat_rows(fid), [])
        n = fo.wait_notification(self.token, b["id"], "booking_cancellation", WAIT)
        self.assertIn("8A, 2B, 8C", n["message"])
        fo.wait_payment(self.token, p["id"], ("refunded",), WAIT)

    def test_reference(self):
        f = self.flight()
        b = self.held(f["id"], people("10A", "10B"))
        other = self.held(f["id"], people("10C"), self.bob_token)

        def find(ref, token):
            r = fo.get("%s/bookings?%s" % (fo.BOOKINGS, urllib.parse.urlencode(
                {"reference": ref})), token=token)
            return r

        r = find(b["reference"], self.token)
        self.assertEqual((r.status, [x["id"] for x in r.body]), (200, [b["id"]]))
        self.assertEqual(r.headers.get("X-Total-Count"), "1")
        self.assertEqual([x["id"] for x in find(b["reference"].lower(), self.token).body],
                         [b["id"]])
        # someone else's: not there for bob; any for an admin
        r = find(b["reference"], self.bob_token)
        self.assertEqual((r.status, r.body, r.headers.get("X-Total-Count")), (200, [], "0"))
        self.assertEqual([x["id"] for x in find(other["reference"], self.admin).body],
                         [other["id"]])
        self.assertEqual([x["id"] for x in find(b["reference"], self.admin).body], [b["id"]])
        # a well-formed reference nobody has: an empty list; a malformed one: 422
        unused = "ZZZZZZ" if b["reference"] != "ZZZZZZ" else "YYYYYY"
        self.assertEqual(find(unused, self.token).body, [])
        for bad in ("ABC", "K7QX2M9", "K7QX2O", "K7-X2M"):
            r = find(bad, self.token)
            self.assertInvalid(r, ["query", "reference"])

    def test_live_map_hears_every_seat(self):
        f = self.flight()
        s = Stream(f["id"])
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        seats = ["4A", "4B", "4C"]
        b = self.held(f["id"], people(*seats))
        for seat in seats:
            s.wait(seat, "held")
        mark = s.count()
        self.cancel(b)
        for seat in seats:
            s.wait(seat, "available", since=mark)


class PassengersShortHold(fo.RestartedPool, PassengersBase):
    """A short hold (the pool restarted for it)."""

    POOL, POOL_URL = "bookings", fo.BOOKINGS
    POOL_ENV = {"BOOKING_HOLD_SECONDS": str(HOLD)}

    def test_expiry_frees_every_seat(self):
        f = self.flight()
        fid = f["id"]
        s = Stream(fid)
        self.addCleanup(s.close)
        seats = ["5D", "5E", "1F"]
        b = self.held(fid, people(*seats))
        self.assertSeats(fid, "held", seats)
        mark = s.count()
        fo.wait_booking(self.token, b["id"], "expired", HOLD + WAIT)
        self.assertSeats(fid, "available", seats)
        for seat in seats:
            s.wait(seat, "available", since=mark, timeout=HOLD + WAIT)
        # the sweeper took every seat out of the index too
        fo.wait_for(lambda: live_seat_rows(fid) == [], WAIT, 0.2, "the seats to be let go")
        n = fo.wait_notification(self.token, b["id"], "hold_expired", WAIT)
        self.assertIn("5D, 5E, 1F", n["message"])
        # and someone else may have them all
        self.held(fid, people(*seats), self.bob_token)

class PassengersSmallCap(fo.RestartedPool, PassengersBase):
    """A small hold cap and the usual hold (the pool restarted for it)."""

    POOL, POOL_URL = "bookings", fo.BOOKINGS
    POOL_ENV = {"MAX_ACTIVE_HOLDS": str(CAP)}

    def test_hold_cap_counts_seats(self):
        f = self.flight()
        fid = f["id"]
        r = self.hold(fid, people("6A", "6B", "6C", "6D", "6E"))
        self.assertEqual(r.status, 409, fo.describe(r))
        self.assertIn("Too many active holds", r.body["detail"])
        first = self.held(fid, people("6A", "6B", "6C"))
        r = self.hold(fid, people("7A", "7B"))
        self.assertEqual(r.status, 409, fo.describe(r))
        self.assertIn("Too many active holds", r.body["detail"])
        self.assertSeats(fid, "available", ["7A", "7B"])
        self.held(fid, people("7A"))  # the fourth seat: at the cap
        r = fo.book(self.token, fid, "7B")
        self.assertEqual(r.status, 409, fo.describe(r))
        self.cancel(first)
        self.held(fid, people("8A", "8B", "8C"))


if __name__ == "__main__":
    unittest.main()
