"""Flights API over HTTP, on the flights port (:PORT_BASE+1) and the gateway.

Every test makes its own flights: flight numbers with a random prefix, dates
in the 2030s spread from a random start, and made-up airport codes (never a
real one), so filters see only the test's own flights and the file can run
again and again against the same database. Bookings that touch flights
(available_seats, delete with live bookings) are in test_bookings.py.
"""

import datetime
import re
import unittest

import fo

NOT_AUTH = {"detail": "Not authenticated"}
FORBIDDEN = {"detail": "Not enough permissions"}
NOT_FOUND = {"detail": "Flight not found"}
DUPLICATE = {"detail": "Flight number already exists on that date"}
REQUIRED = ("flight_number", "origin", "destination", "departure_time", "arrival_time",
            "price", "total_seats")
PRICE_TEXT = re.compile(rb'"price"\s*:\s*([-+0-9.eE]+)')


def day_after(day, n=1):
    d = datetime.date.fromisoformat(day) + datetime.timedelta(days=n)
    return d.isoformat()


class FlightsChecks:
    """The checks; mixed into one TestCase per address (BASE)."""

    BASE = None

    @classmethod
    def setUpClass(cls):
        fo.wait_healthy(fo.USERS)
        fo.wait_healthy(fo.FLIGHTS)
        cls.admin = fo.admin_token(fo.USERS)
        cls.user, _, cls.user_token = fo.new_user(fo.USERS)

    # ------------------------------------------------------------ helpers

    def url(self, path):
        return self.BASE + path

    def create(self, **over):
        return fo.create_flight(self.admin, self.BASE, **over)

    def post_flight(self, body, token="admin"):
        if token == "admin":
            token = self.admin
        return fo.post(self.url("/flights"), json=body, token=token)

    def list(self, query=""):
        r = fo.get(self.url("/flights" + ("?" + query if query else "")))
        self.assertJSON(r, 200)
        self.assertIsInstance(r.body, list, fo.describe(r))
        total = r.headers.get("X-Total-Count")
        self.assertIsNotNone(total, "no X-Total-Count: %s" % fo.describe(r))
        self.assertTrue(total.isdigit(), fo.describe(r))
        return r.body, int(total)

    def ids(self, flights):
        return [f["id"] for f in flights]

    def assertJSON(self, r, status, body=None):
        self.assertEqual(r.status, status, fo.describe(r))
        self.assertIn("application/json", r.headers.get("Content-Type", ""), fo.describe(r))
        if body is not None:
            self.assertEqual(r.body, body, fo.describe(r))

    def assert401(self, r):
        self.assertJSON(r, 401, NOT_AUTH)
        self.assertTrue(r.headers.get("WWW-Authenticate", "").startswith("Bearer"),
                        fo.describe(r))

    def assert422(self, r, loc=None):
        """422 with a detail list of {loc, msg, type}; loc, when given (a
        list such as ["body", "price"], or a tuple of allowed lists), must be
        one item's loc."""
        self.assertJSON(r, 422)
        detail = r.body.get("detail") if isinstance(r.body, dict) else None
        self.assertIsInstance(detail, list, fo.describe(r))
        self.assertTrue(detail, fo.describe(r))
        for item in detail:
            self.assertIsInstance(item, dict, fo.describe(r))
            self.assertIsInstance(item.get("loc"), list, fo.describe(r))
            self.assertIn(item["loc"][:1], (["body"], ["query"]), fo.describe(r))
            self.assertIsInstance(item.get("msg"), str, fo.describe(r))
            self.assertIsInstance(item.get("type"), str, fo.describe(r))
        if loc is not None:
            allowed = loc if isinstance(loc, tuple) else (loc,)
            locs = [i["loc"] for i in detail]
            self.assertTrue(any(a in locs for a in allowed),
                            "none of %r in %r: %s" % (allowed, locs, fo.describe(r)))

    def assertPriceText(self, r, expected):
        """The price is printed as a JSON number with exactly two decimals."""
        m = PRICE_TEXT.search(r.raw)
        self.assertIsNotNone(m, fo.describe(r))
        self.assertRegex(m.group(1).decode(), r"^\d+\.\d\d$", fo.describe(r))
        self.assertEqual(m.group(1).decode(), expected, fo.describe(r))

    def assertFlight(self, got, sent=None):
        self.assertIsInstance(got, dict)
        self.assertEqual(set(got), fo.FLIGHT_KEYS, got)
        for key in ("id", "total_seats", "available_seats"):
            self.assertIsInstance(got[key], int, got)
            self.assertNotIsInstance(got[key], bool, got)
        self.assertGreater(got["id"], 0)
        self.assertIsInstance(got["price"], (int, float), got)
        self.assertIs(got["is_active"], True, got)
        for key in ("departure_time", "arrival_time", "created_at"):
            self.assertRegex(got[key], fo.ISO_UTC, got)
        self.assertRegex(got["origin"], r"^[A-Z]{3}$")
        self.assertRegex(got["destination"], r"^[A-Z]{3}$")
        self.assertGreaterEqual(got["available_seats"], 0, got)
        self.assertLessEqual(got["available_seats"], got["total_seats"], got)
        if sent is not None:
            self.assertEqual(got["flight_number"], sent["flight_number"].upper())
            self.assertEqual(got["origin"], sent["origin"].upper())
            self.assertEqual(got["destination"], sent["destination"].upper())
            self.assertEqual(got["departure_time"], sent["departure_time"])
            self.assertEqual(got["arrival_time"], sent["arrival_time"])
            self.assertEqual(got["price"], sent["price"])
            self.assertEqual(got["total_seats"], sent["total_seats"])
            self.assertEqual(got["available_seats"], sent["total_seats"])
            if "airline" in sent:
                self.assertEqual(got["airline"], sent["airline"])

    def fresh_airport(self, avoid=()):
        """A made-up airport code no active flight uses yet (codes are few
        enough that a random one may have served an earlier run)."""
        for _ in range(50):
            code = fo.random_airport()
            if code in avoid:
                continue
            if self.list("origin=" + code)[1] == 0 and \
                    self.list("destination=" + code)[1] == 0:
                return code
        self.fail("50 random airport codes were all in use")

    def route_flights(self, n, day=None, fresh=False, **over):
        """n flights on one new route, on n consecutive days from day."""
        if fresh:
            origin = self.fresh_airport()
            destination = self.fresh_airport((origin,))
        else:
            origin, destination = fo.random_route()
        day = day or fo.unique_day()
        out = []
        for i in range(n):
            d = day_after(day, i)
            out.append(self.create(origin=origin, destination=destination,
                                   departure_time=fo.iso(d, "09:00"),
                                   arrival_time=fo.iso(d, "11:00"), **over))
        return origin, destination, out

    # ------------------------------------------------------------ cabins

    LONG_HAUL = [{"cabin": "business", "first_row": 1, "last_row": 4, "price": 1299.00},
                 {"cabin": "premium_economy", "first_row": 5, "last_row": 8, "price": 649.5},
                 {"cabin": "economy", "first_row": 9, "last_row": 30, "price": 299.00}]

    def cabin_body(self, cabins, **over):
        body = fo.flight_body(cabins=cabins, price=None, total_seats=None)
        body.update(over)
        return body

    def assertCabins(self, got, cabins, available=None):
        """got's cabins are cabins (as sent) with available_seats each."""
        want = [dict(c, available_seats=(available[i] if available else
                                         (c["last_row"] - c["first_row"] + 1) * 6))
                for i, c in enumerate(cabins)]
        self.assertEqual(got["cabins"], want, got)

    def test_cabins_prices_and_seats(self):
        r = self.post_flight(self.cabin_body(self.LONG_HAUL))
        self.assertJSON(r, 201)
        f = r.body
        self.assertEqual(set(f), fo.FLIGHT_KEYS, f)
        self.assertEqual(f["price"], 299.00)  # the lowest cabin price
        self.assertEqual(f["total_seats"], 180)  # 30 rows of 6
        self.assertEqual(f["available_seats"], 180)
        self.assertCabins(f, self.LONG_HAUL)
        self.assertIn(b'"price":1299.00', r.raw.replace(b" ", b""))
        got = fo.get(self.url("/flights/%d" % f["id"]))
        self.assertJSON(got, 200, f)
        # the flight's own price and seats may be sent when they agree
        r = self.post_flight(self.cabin_body(self.LONG_HAUL, price=299, total_seats=180))
        self.assertJSON(r, 201)
        # new cabins replace the old; price follows
        r = self.put(f["id"], {"cabins": [dict(self.LONG_HAUL[0], price=99),
                                          dict(self.LONG_HAUL[2], first_row=5)]})
        self.assertJSON(r, 200)
        self.assertEqual((r.body["price"], r.body["total_seats"]), (99, 180), r.body)
        self.assertEqual([c["cabin"] for c in r.body["cabins"]], ["business", "economy"])
        # while cabins set the price, a price of its own is refused
        self.assert422(self.put(f["id"], {"price": 10}), ["body", "price"])

    def test_without_cabins_one_economy_cabin(self):
        r = self.post_flight(fo.flight_body(price=199.99, total_seats=20))
        self.assertJSON(r, 201)
        self.assertCabins(r.body, [{"cabin": "economy", "first_row": 1, "last_row": 4,
                                    "price": 199.99}], [20])
        # the flight's price is the cabin's
        r = self.put(r.body["id"], {"price": 150})
        self.assertJSON(r, 200)
        self.assertEqual(r.body["cabins"][0]["price"], 150, r.body)

    def test_cabins_validation(self):
        biz, eco = self.LONG_HAUL[0], self.LONG_HAUL[2]
        cases = [
            ([], ["body", "cabins"]),
            ({"cabin": "economy"}, ["body", "cabins"]),
            ([biz, biz, biz, biz, biz], ["body", "cabins"]),
            ([dict(biz, cabin="coach")], ["body", "cabins", 0, "cabin"]),
            ([dict(biz, first_row=0)], ["body", "cabins", 0, "first_row"]),
            ([dict(biz, first_row=2)], ["body", "cabins", 0, "first_row"]),  # not from row 1
            ([dict(biz, last_row="4")], ["body", "cabins", 0, "last_row"]),
            ([dict(biz, last_row=143)], ["body", "cabins", 0, "last_row"]),  # > 853 seats
            ([dict(biz, price=-1)], ["body", "cabins", 0, "price"]),
            ([{k: v for k, v in biz.items() if k != "price"}], ["body", "cabins", 0, "price"]),
            ([biz, 7], ["body", "cabins", 1]),
            ([biz, dict(eco, first_row=6)], ["body", "cabins", 1, "first_row"]),  # gap
            ([biz, dict(eco, first_row=4)], ["body", "cabins", 1, "first_row"]),  # overlap
            ([dict(eco, first_row=1, last_row=4), dict(biz, first_row=5, last_row=9)],
             ["body", "cabins", 1, "cabin"]),  # economy before business
            ([biz, dict(biz, first_row=5, last_row=9)], ["body", "cabins", 1, "cabin"]),
            ([dict(biz, first_row=1, last_row=0)], ["body", "cabins", 0, "last_row"]),
        ]
        for cabins, loc in cases:
            with self.subTest(cabins=cabins):
                self.assert422(self.post_flight(self.cabin_body(cabins)), loc)
        with self.subTest("price and seats that disagree"):
            r = self.post_flight(self.cabin_body(self.LONG_HAUL, price=300, total_seats=181))
            self.assert422(r, ["body", "price"])
            self.assert422(r, ["body", "total_seats"])

    def test_search_by_cabin(self):
        origin = self.fresh_airport()
        destination = self.fresh_airport((origin,))
        day = fo.unique_day()
        route = dict(origin=origin, destination=destination)
        long_haul = self.post_flight(self.cabin_body(
            self.LONG_HAUL, departure_time=fo.iso(day, "08:00"),
            arrival_time=fo.iso(day, "18:00"), **route))
        self.assertJSON(long_haul, 201)
        plain = self.create(departure_time=fo.iso(day, "09:00"),
                            arrival_time=fo.iso(day, "11:00"), **route)
        q = "origin=%s&destination=%s" % (origin, destination)
        for cabin, want in (("business", [long_haul.body["id"]]),
                            ("premium_economy", [long_haul.body["id"]]),
                            ("economy", [long_haul.body["id"], plain["id"]]),
                            ("first", [])):
            with self.subTest(cabin=cabin):
                flights, total = self.list(q + "&cabin=" + cabin)
                self.assertEqual(self.ids(flights), want)
                self.assertEqual(total, len(want))
                r = fo.get(self.url("/flights/search?%s&departure_date=%s&cabin=%s"
                                    % (q, day, cabin)))
                self.assertJSON(r, 200)
                self.assertEqual(self.ids(r.body), want)
        self.assert422(fo.get(self.url("/flights?cabin=coach")), ["query", "cabin"])

    # ------------------------------------------------------------ create

    def test_create_returns_the_flight(self):
        body = fo.flight_body(price=199.5, total_seats=180, airline="Sky Test Lines")
        r = self.post_flight(body)
        self.assertJSON(r, 201)
        self.assertFlight(r.body, body)
        self.assertPriceText(r, "199.50")
        self.assertEqual(r.body["airline"], "Sky Test Lines")
        self.assertEqual(r.body["available_seats"], 180)

    def test_create_readme_body_without_airline_ignores_available_seats(self):
        # The seed README's body: no airline, an available_seats of its own.
        body = fo.flight_body(airline=None, total_seats=180, available_seats=37,
                              price=299.99)
        self.assertNotIn("airline", body)
        r = self.post_flight(body)
        self.assertJSON(r, 201)
        self.assertFlight(r.body, body)
        self.assertEqual(r.body["airline"], body["flight_number"][:2])
        self.assertEqual(r.body["available_seats"], 180)
        self.assertPriceText(r, "299.99")
        got = fo.get(self.url("/flights/%d" % r.body["id"]))
        self.assertJSON(got, 200, r.body)

    def test_create_ignores_is_active_in_body(self):
        body = fo.flight_body(is_active=False)
        r = self.post_flight(body)
        self.assertJSON(r, 201)
        self.assertIs(r.body["is_active"], True)

    def test_create_normalises_case_zone_and_money(self):
        day = fo.unique_day()
        origin, destination = fo.random_route()
        body = fo.flight_body(flight_number=fo.unique_flight_number().lower(),
                              origin=origin.lower(), destination=destination.lower(),
                              departure_time=day + "T12:00:00+02:00",
                              arrival_time=day + "T15:45:00", price=250)
        r = self.post_flight(body)
        self.assertJSON(r, 201)
        f = r.body
        self.assertEqual(f["flight_number"], body["flight_number"].upper())
        self.assertEqual(f["origin"], origin)
        self.assertEqual(f["destination"], destination)
        self.assertEqual(f["departure_time"], fo.iso(day, "10:00"))
        self.assertEqual(f["arrival_time"], fo.iso(day, "15:45"))
        self.assertEqual(f["price"], 250)
        self.assertPriceText(r, "250.00")
        self.assertEqual(f["airline"], body["airline"])

    def test_create_boundaries_accepted(self):
        cases = [
            {"total_seats": 1}, {"total_seats": 853}, {"price": 0}, {"price": 0.01},
            {"price": 1000000.00}, {"price": 12.3},
            {"airline": "A"}, {"airline": "x" * 64},
            {"flight_number": "ZZ1"}, {"flight_number": "9Z12"},
            {"flight_number": fo.unique_flight_number() + "Q"},
        ]
        for over in cases:
            with self.subTest(**{k: str(v)[:20] for k, v in over.items()}):
                body = fo.flight_body(**over)
                r = self.post_flight(body)
                self.assertJSON(r, 201)
                self.assertFlight(r.body, body)
        r = self.post_flight(fo.flight_body(price=12.3))
        self.assertPriceText(r, "12.30")

    def test_create_past_departure_accepted(self):
        # The seed README's example dates may be in the past.
        body = fo.flight_body(departure_time="2024-01-15T10:00:00Z",
                              arrival_time="2024-01-15T13:00:00Z")
        r = self.post_flight(body)
        if r.status == 409:  # an earlier run used this number on that date
            body["flight_number"] = fo.unique_flight_number()
            r = self.post_flight(body)
        self.assertJSON(r, 201)
        self.assertFlight(r.body, body)

    def test_create_without_token_401(self):
        body = fo.flight_body()
        self.assert401(self.post_flight(body, token=None))
        r = self.post_flight(body, token="garbage")
        self.assertJSON(r, 401)

    def test_create_as_user_403(self):
        body = fo.flight_body()
        r = self.post_flight(body, token=self.user_token)
        self.assertJSON(r, 403, FORBIDDEN)
        # ... and nothing was created.
        flights, total = self.list("origin=%s&destination=%s"
                                   % (body["origin"], body["destination"]))
        self.assertEqual((flights, total), ([], 0))

    def test_create_422_invalid_fields(self):
        day = fo.unique_day()
        cases = [
            ("origin", "JF"), ("origin", "JFKX"), ("origin", "J1K"), ("origin", ""),
            ("origin", "J K"), ("origin", 123), ("origin", None),
            ("destination", "LA"), ("destination", "L@X"),
            ("flight_number", "A"), ("flight_number", "AA12345"), ("flight_number", "AA"),
            ("flight_number", "A-123"), ("flight_number", ""), ("flight_number", "AA12B3"),
            ("flight_number", "AA123BC"), ("flight_number", 123),
            ("departure_time", "not a date"), ("departure_time", "2031-13-01T10:00:00Z"),
            ("departure_time", ""), ("departure_time", 1234567890),
            ("arrival_time", "2031-02-30T10:00:00Z"),
            ("total_seats", 0), ("total_seats", 854), ("total_seats", -1),
            ("total_seats", 1.5), ("total_seats", "100"), ("total_seats", True),
            ("price", -1), ("price", -0.01), ("price", 1.234), ("price", 0.001),
            ("price", 1000000.01), ("price", "free"), ("price", None),
            ("airline", ""), ("airline", "x" * 65), ("airline", 7),
        ]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                body = fo.flight_body(departure_time=fo.iso(day, "08:00"),
                                      arrival_time=fo.iso(day, "09:00"))
                body[field] = value
                r = self.post_flight(body)
                self.assert422(r, ["body", field])

    def test_create_422_same_origin_and_destination(self):
        for dest in ("same", "lower"):
            with self.subTest(destination=dest):
                body = fo.flight_body()
                body["destination"] = body["origin"] if dest == "same" \
                    else body["origin"].lower()
                self.assert422(self.post_flight(body), ["body", "destination"])

    def test_create_422_arrival_not_after_departure(self):
        day = fo.unique_day()
        for arrival in (fo.iso(day, "09:59"), fo.iso(day, "10:00"),
                        fo.iso(day_after(day, -1), "12:00")):
            with self.subTest(arrival=arrival):
                body = fo.flight_body(departure_time=fo.iso(day, "10:00"),
                                      arrival_time=arrival)
                self.assert422(self.post_flight(body), ["body", "arrival_time"])

    def test_create_422_missing_each_field(self):
        for field in REQUIRED:
            with self.subTest(missing=field):
                body = fo.flight_body()
                del body[field]
                self.assert422(self.post_flight(body), ["body", field])

    def test_create_422_empty_object_names_every_field(self):
        r = self.post_flight({})
        self.assert422(r)
        locs = [i["loc"] for i in r.body["detail"]]
        for field in REQUIRED:
            self.assertIn(["body", field], locs)

    def test_create_400_or_422_bad_bodies_never_500(self):
        for raw in ('{"flight_number": ', "not json", '{"a":1,}'):
            with self.subTest(body=raw):
                r = fo.post(self.url("/flights"), body=raw, token=self.admin,
                            headers={"Content-Type": "application/json"})
                self.assertJSON(r, 400)
        for raw in ("[]", "42", "null", '"text"'):
            with self.subTest(body=raw):
                r = fo.post(self.url("/flights"), body=raw, token=self.admin,
                            headers={"Content-Type": "application/json"})
                self.assert422(r)

    def test_duplicate_number_same_utc_date_409(self):
        first = self.create()
        day = first["departure_time"][:10]
        number = first["flight_number"]
        for label, over in (
                ("same time", {}),
                ("other time", {"departure_time": fo.iso(day, "20:00"),
                                "arrival_time": fo.iso(day, "22:00")}),
                ("lower case", {"flight_number": number.lower()}),
                ("other route", {"origin": fo.random_airport()}),
        ):
            with self.subTest(label):
                body = fo.flight_body(flight_number=number,
                                      departure_time=first["departure_time"],
                                      arrival_time=first["arrival_time"])
                body.update(over)
                if body["origin"] == body["destination"]:
                    body["destination"] = fo.random_airport()
                self.assertJSON(self.post_flight(body), 409, DUPLICATE)
        # Same number on the next UTC day is another flight.
        nxt = day_after(day)
        body = fo.flight_body(flight_number=number, departure_time=fo.iso(nxt, "10:00"),
                              arrival_time=fo.iso(nxt, "12:00"))
        r = self.post_flight(body)
        self.assertJSON(r, 201)
        # A departure at 23:30 -05:00 is the next UTC date: also taken now.
        body = fo.flight_body(flight_number=number, departure_time=day + "T23:30:00-05:00",
                              arrival_time=nxt + "T12:00:00Z")
        self.assertJSON(self.post_flight(body), 409, DUPLICATE)

    # ------------------------------------------------------------ read

    def test_get_by_id(self):
        f = self.create()
        r = fo.get(self.url("/flights/%d" % f["id"]))
        self.assertJSON(r, 200, f)
        self.assertFlight(r.body)
        self.assertPriceText(r, "299.99")

    def test_get_unknown_404(self):
        for path in ("/flights/2000000000", "/flights/abc", "/flights/0", "/flights/-1",
                     "/flights/1x"):
            with self.subTest(path=path):
                self.assertJSON(fo.get(self.url(path)), 404, NOT_FOUND)

    def test_list_shape_and_total_count(self):
        f = self.create()
        flights, total = self.list()
        self.assertGreaterEqual(total, len(flights))
        self.assertGreater(len(flights), 0)
        self.assertLessEqual(len(flights), 50)  # default limit
        for item in flights:
            self.assertFlight(item)
        keys = [(x["departure_time"], x["id"]) for x in flights]
        self.assertEqual(keys, sorted(keys), "not ordered by departure_time, id")
        flights, total = self.list("origin=%s&destination=%s"
                                   % (f["origin"], f["destination"]))
        self.assertEqual(flights, [f])
        self.assertEqual(total, 1)

    def test_list_filters(self):
        origin, destination, route = self.route_flights(3, fresh=True)
        days = [f["departure_time"][:10] for f in route]
        # The same route back, and another route from the same airport.
        back = self.create(origin=destination, destination=origin,
                           departure_time=fo.iso(days[0], "18:00"),
                           arrival_time=fo.iso(days[0], "20:00"))
        other_dest = self.fresh_airport((origin, destination))
        other = self.create(origin=origin, destination=other_dest,
                            departure_time=fo.iso(days[1], "07:00"),
                            arrival_time=fo.iso(days[1], "08:00"))
        cases = [
            ("origin=%s&destination=%s" % (origin, destination), route),
            ("origin=%s&destination=%s" % (origin.lower(), destination.lower()), route),
            ("origin=%s" % origin, [route[0], other, route[1], route[2]]),
            ("destination=%s" % destination, route),
            ("destination=%s" % origin, [back]),
            ("origin=%s&date=%s" % (origin, days[1]), [other, route[1]]),
            ("origin=%s&destination=%s&date=%s" % (origin, destination, days[2]), [route[2]]),
            ("origin=%s&destination=%s&date=%s" % (origin, destination,
                                                    day_after(days[2])), []),
            ("origin=%s&destination=%s" % (destination, origin), [back]),
        ]
        for query, expected in cases:
            with self.subTest(query=query):
                flights, total = self.list(query)
                self.assertEqual(self.ids(flights), self.ids(expected))
                self.assertEqual(total, len(expected))

    def test_list_date_is_the_utc_departure_date(self):
        day = fo.unique_day()
        nxt = day_after(day)
        origin, destination = fo.random_route()
        f = self.create(origin=origin, destination=destination,
                        departure_time=day + "T22:30:00-05:00",
                        arrival_time=nxt + "T09:00:00Z")
        self.assertEqual(f["departure_time"], fo.iso(nxt, "03:30"))
        q = "origin=%s&destination=%s&date=" % (origin, destination)
        self.assertEqual(self.ids(self.list(q + nxt)[0]), [f["id"]])
        self.assertEqual(self.list(q + day), ([], 0))

    def test_list_paging(self):
        origin, destination, route = self.route_flights(5)
        q = "origin=%s&destination=%s" % (origin, destination)
        ids = self.ids(route)
        cases = [
            ("", ids), ("&limit=2", ids[:2]), ("&limit=2&offset=2", ids[2:4]),
            ("&limit=2&skip=2", ids[2:4]), ("&offset=4", ids[4:]), ("&skip=3", ids[3:]),
            ("&limit=200", ids), ("&limit=1&offset=4", ids[4:]), ("&offset=5", []),
            ("&offset=1000", []), ("&limit=3&offset=0", ids[:3]),
        ]
        for extra, expected in cases:
            with self.subTest(query=extra):
                flights, total = self.list(q + extra)
                self.assertEqual(self.ids(flights), expected)
                self.assertEqual(total, 5)

    def test_search_alias(self):
        origin, destination, route = self.route_flights(2)
        days = [f["departure_time"][:10] for f in route]
        cases = [
            ("origin=%s&destination=%s" % (origin, destination), route),
            ("origin=%s&destination=%s&departure_date=%s" % (origin, destination, days[1]),
             route[1:]),
            ("origin=%s&destination=%s&departure_date=%s" % (origin.lower(),
                                                              destination.lower(), days[0]),
             route[:1]),
            ("origin=%s&departure_date=%s" % (origin, days[0]), route[:1]),
            ("origin=%s&destination=%s&limit=1&offset=1" % (origin, destination), route[1:]),
        ]
        for query, expected in cases:
            with self.subTest(query=query):
                r = fo.get(self.url("/flights/search?" + query))
                self.assertJSON(r, 200, expected)
                self.assertEqual(r.headers.get("X-Total-Count"),
                                 str(2 if "limit" in query else len(expected)),
                                 fo.describe(r))

    def test_list_422_bad_query(self):
        cases = [
            ("/flights", "date", "2031-13-01"), ("/flights", "date", "yesterday"),
            ("/flights", "date", "2031-02-30"), ("/flights", "date", "31-01-2031"),
            ("/flights", "date", "2031-1-5"), ("/flights", "date", "2031-01-05T00:00:00Z"),
            ("/flights", "origin", "JF"), ("/flights", "origin", "J1K"),
            ("/flights", "origin", "JFKX"), ("/flights", "destination", "L"),
            ("/flights", "limit", "0"), ("/flights", "limit", "201"),
            ("/flights", "limit", "abc"), ("/flights", "limit", "-5"),
            ("/flights", "offset", "-1"), ("/flights", "offset", "x"),
            ("/flights/search", "departure_date", "2031-13-01"),
            ("/flights/search", "departure_date", "tomorrow"),
            ("/flights/search", "origin", "J%27K"),
        ]
        for path, name, value in cases:
            with self.subTest(path=path, name=name, value=value):
                r = fo.get(self.url("%s?%s=%s" % (path, name, value)))
                self.assert422(r, ["query", name])
        r = fo.get(self.url("/flights?skip=-1"))
        self.assert422(r, (["query", "skip"], ["query", "offset"]))
        r = fo.get(self.url("/flights?origin=" + "%27%3B%20DROP%20TABLE%20flights%3B--"))
        self.assert422(r, ["query", "origin"])

    # ------------------------------------------------------------ update

    def put(self, flight_id, body, token="admin"):
        if token == "admin":
            token = self.admin
        return fo.put(self.url("/flights/%d" % flight_id), json=body, token=token)

    def test_update_then_get_sees_the_change(self):
        f = self.create(price=100)
        # Reads fill the cache; every update must be seen by the next read.
        self.assertJSON(fo.get(self.url("/flights/%d" % f["id"])), 200, f)
        route = "origin=%s&destination=%s" % (f["origin"], f["destination"])
        self.assertEqual(self.list(route)[0], [f])  # the list cache holds the old price
        for i, price in enumerate((350.5, 99.99, 0, 1234.56, 100.01)):
            with self.subTest(round=i, price=price):
                r = self.put(f["id"], {"price": price})
                self.assertJSON(r, 200)
                self.assertEqual(r.body["price"], price)
                got = fo.get(self.url("/flights/%d" % f["id"]))
                self.assertJSON(got, 200, r.body)
                # also through the other address and in the list
                other = fo.FLIGHTS if self.BASE != fo.FLIGHTS else fo.GATEWAY
                self.assertJSON(fo.get("%s/flights/%d" % (other, f["id"])), 200, r.body)
                self.assertEqual(self.list(route)[0], [r.body])
        got = fo.get(self.url("/flights/%d" % f["id"]))
        self.assertPriceText(got, "100.01")
        # The internal form (the bookings pool's view) follows too.
        r = fo.get("%s/internal/flights/%d" % (fo.FLIGHTS, f["id"]),
                   headers=fo.service_headers())
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("price_cents"), 10001, fo.describe(r))

    def test_update_is_partial(self):
        f = self.create(total_seats=30)
        day = f["departure_time"][:10]
        changes = [
            {"airline": "Renamed Air"},
            {"total_seats": 60},
            {"departure_time": fo.iso(day, "06:00"), "arrival_time": fo.iso(day, "08:15")},
            {"arrival_time": fo.iso(day, "09:00")},
            {"flight_number": fo.unique_flight_number()},
            {"origin": fo.random_airport().lower()},
        ]
        expected = dict(f)
        for change in changes:
            with self.subTest(change=change):
                r = self.put(f["id"], change)
                if change.get("origin", "").upper() == expected["destination"]:
                    continue
                self.assertJSON(r, 200)
                for k, v in change.items():
                    expected[k] = v.upper() if k in ("origin", "flight_number") else v
                if "total_seats" in change:
                    expected["available_seats"] = change["total_seats"]
                    # without cabins, one economy cabin over every row
                    expected["cabins"] = [dict(expected["cabins"][0],
                                               last_row=-(-change["total_seats"] // 6),
                                               available_seats=change["total_seats"])]
                self.assertEqual(r.body, expected)
                self.assertJSON(fo.get(self.url("/flights/%d" % f["id"])), 200, expected)

    def test_update_ignores_available_seats(self):
        f = self.create(total_seats=40)
        r = self.put(f["id"], {"available_seats": 3, "price": 10})
        self.assertJSON(r, 200)
        self.assertEqual(r.body["available_seats"], 40)
        self.assertEqual(r.body["price"], 10)

    def test_update_validates_the_merged_flight(self):
        f = self.create()
        day = f["departure_time"][:10]
        cases = [
            ({"arrival_time": fo.iso(day, "09:00")}, "arrival_time"),
            ({"departure_time": fo.iso(day, "14:00")}, "arrival_time"),
            ({"destination": f["origin"]}, "destination"),
            ({"origin": f["destination"].lower()}, "destination"),
            ({"total_seats": 0}, "total_seats"), ({"total_seats": 854}, "total_seats"),
            ({"price": -5}, "price"), ({"price": 9.999}, "price"),
            ({"flight_number": "bad!"}, "flight_number"), ({"origin": "AB"}, "origin"),
            ({"is_active": "yes"}, "is_active"), ({"airline": ""}, "airline"),
        ]
        for change, field in cases:
            with self.subTest(change=change):
                self.assert422(self.put(f["id"], change), ["body", field])
        # Nothing of that stuck.
        self.assertJSON(fo.get(self.url("/flights/%d" % f["id"])), 200, f)

    def test_update_to_a_taken_number_and_date_409(self):
        a = self.create()
        day = fo.unique_day()
        b = self.create(departure_time=fo.iso(day, "10:00"), arrival_time=fo.iso(day, "11:00"))
        r = self.put(b["id"], {"flight_number": a["flight_number"],
                               "departure_time": a["departure_time"],
                               "arrival_time": a["arrival_time"]})
        self.assertJSON(r, 409, DUPLICATE)
        self.assertJSON(fo.get(self.url("/flights/%d" % b["id"])), 200, b)

    def test_update_auth_and_unknown(self):
        f = self.create()
        self.assert401(self.put(f["id"], {"price": 1}, token=None))
        self.assertJSON(self.put(f["id"], {"price": 1}, token=self.user_token), 403, FORBIDDEN)
        self.assertJSON(self.put(2000000000, {"price": 1}), 404, NOT_FOUND)
        self.assertJSON(fo.get(self.url("/flights/%d" % f["id"])), 200, f)

    def test_update_is_active_hides_from_list(self):
        f = self.create()
        q = "origin=%s&destination=%s" % (f["origin"], f["destination"])
        r = self.put(f["id"], {"is_active": False})
        self.assertJSON(r, 200)
        self.assertIs(r.body["is_active"], False)
        self.assertEqual(self.list(q), ([], 0))
        r = self.put(f["id"], {"is_active": True})
        self.assertJSON(r, 200)
        self.assertEqual(self.list(q), ([r.body], 1))

    # ------------------------------------------------------------ delete

    def test_delete_then_404(self):
        f = self.create()
        q = "origin=%s&destination=%s" % (f["origin"], f["destination"])
        self.assertEqual(self.list(q)[1], 1)
        path = self.url("/flights/%d" % f["id"])
        self.assert401(fo.delete(path))
        self.assertJSON(fo.delete(path, token=self.user_token), 403, FORBIDDEN)
        self.assertJSON(fo.get(path), 200, f)
        r = fo.delete(path, token=self.admin)
        self.assertEqual(r.status, 204, fo.describe(r))
        self.assertEqual(r.raw, b"", fo.describe(r))
        self.assertJSON(fo.get(path), 404, NOT_FOUND)
        self.assertEqual(self.list(q), ([], 0))
        self.assertJSON(fo.delete(path, token=self.admin), 404, NOT_FOUND)
        self.assertJSON(self.put(f["id"], {"price": 1}), 404, NOT_FOUND)
        # The number and date are free again.
        body = fo.flight_body(flight_number=f["flight_number"],
                              departure_time=f["departure_time"],
                              arrival_time=f["arrival_time"])
        self.assertJSON(self.post_flight(body), 201)

    def test_delete_unknown_404(self):
        for path in ("/flights/2000000000", "/flights/abc"):
            with self.subTest(path=path):
                r = fo.delete(self.url(path), token=self.admin)
                self.assertJSON(r, 404)


class FlightsPortTest(FlightsChecks, unittest.TestCase):
    BASE = fo.FLIGHTS

    def test_sample_long_haul_flights_have_cabins(self):
        # The stack is started with the sample data (real airports, which
        # the tests' own flights never use).
        flights, total = self.list("origin=SIN&destination=LHR")
        self.assertGreater(total, 0, "no sample SQ322 flights: was seed.sql loaded?")
        for f in flights:
            self.assertEqual([c["cabin"] for c in f["cabins"]],
                             ["first", "business", "premium_economy", "economy"], f)
            self.assertEqual(f["price"], min(c["price"] for c in f["cabins"]), f)
            self.assertEqual(f["total_seats"], f["cabins"][-1]["last_row"] * 6, f)
        # short-haul ones are all economy at their price
        flights, total = self.list("origin=AMS&destination=LHR")
        self.assertGreater(total, 0)
        self.assertEqual([(c["cabin"], c["price"]) for c in flights[0]["cabins"]],
                         [("economy", flights[0]["price"])], flights[0])

    def test_health(self):
        r = fo.get(self.url("/health"))
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("status"), "healthy", fo.describe(r))
        self.assertEqual(r.body.get("service"), "flight-service", fo.describe(r))

    def test_sample_data_present(self):
        # ./flightops loads sql/flights/seed.sql: dozens of flights between
        # real airports over the next 30 days.
        now = datetime.datetime.now(datetime.timezone.utc)
        horizon = now + datetime.timedelta(days=32)
        seen = {}
        offset, total = 0, None
        while total is None or offset < total:
            flights, total = self.list("limit=200&offset=%d" % offset)
            if not flights:
                break
            for f in flights:
                if f["origin"] in fo.REAL_AIRPORTS and f["destination"] in fo.REAL_AIRPORTS:
                    dep = datetime.datetime.strptime(f["departure_time"][:19],
                                                     "%Y-%m-%dT%H:%M:%S").replace(
                        tzinfo=datetime.timezone.utc)
                    if now < dep <= horizon:
                        seen[f["id"]] = f
            offset += len(flights)
            if offset > 20000:
                break
        self.assertGreaterEqual(
            len(seen), 24,
            "expected dozens of sample flights between real airports over the next 30 days "
            "(does `./flightops start` load sql/flights/seed.sql?); found %d" % len(seen))
        for f in seen.values():
            self.assertFlight(f)
            self.assertRegex(f["flight_number"], r"^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?$")
        routes = {(f["origin"], f["destination"]) for f in seen.values()}
        self.assertGreater(len(routes), 3, routes)
        # The seed README's search works on one of them.
        f = next(iter(seen.values()))
        r = fo.get(self.url("/flights/search?origin=%s&destination=%s&departure_date=%s"
                            % (f["origin"], f["destination"], f["departure_time"][:10])))
        self.assertJSON(r, 200)
        self.assertIn(f["id"], self.ids(r.body))

    def test_internal_flight_with_service_key(self):
        f = self.create(price=123.45, total_seats=50)
        path = self.url("/internal/flights/%d" % f["id"])
        r = fo.get(path, headers=fo.service_headers())
        self.assertJSON(r, 200)
        # no cabins given: the internal form has none (readers default them)
        expected_keys = (fo.FLIGHT_KEYS - {"available_seats", "cabins"}) | {"price_cents"}
        self.assertEqual(set(r.body), expected_keys, fo.describe(r))
        self.assertEqual(r.body["price_cents"], 12345)
        self.assertEqual(r.body["total_seats"], 50)
        self.assertEqual(r.body["id"], f["id"])
        # Inactive flights are still there for the services.
        self.assertJSON(self.put(f["id"], {"is_active": False}), 200)
        r = fo.get(path, headers=fo.service_headers())
        self.assertJSON(r, 200)
        self.assertIs(r.body["is_active"], False)
        r = fo.get(self.url("/internal/flights/2000000000"), headers=fo.service_headers())
        self.assertJSON(r, 404)

    def test_internal_flight_refuses_user_tokens(self):
        f = self.create()
        path = self.url("/internal/flights/%d" % f["id"])
        for who, tok in (("user", self.user_token), ("admin", self.admin), ("nobody", None)):
            with self.subTest(caller=who):
                r = fo.get(path, token=tok)
                self.assertIn(r.status, (401, 403), fo.describe(r))
        r = fo.get(path, headers={"X-Service-Key": "x" * 40})
        self.assertIn(r.status, (401, 403), fo.describe(r))


class GatewayFlightsTest(FlightsChecks, unittest.TestCase):
    BASE = fo.GATEWAY

    def test_health(self):
        r = fo.get(self.url("/flights/health"))
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("service"), "flight-service", fo.describe(r))

    def test_internal_not_routed(self):
        f = self.create()
        r = fo.get(self.url("/internal/flights/%d" % f["id"]), headers=fo.service_headers())
        self.assertJSON(r, 404)


if __name__ == "__main__":
    unittest.main()
