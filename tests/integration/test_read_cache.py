"""The gateway's read cache (nginx/site.conf.in, docs/ARCHITECTURE.md, "Read
cache"): anonymous GET /flights/{id}, its seat map and searches of the web
app's form are kept by nginx, and every write that changes what they show purges them
before it is answered, so the writer's next read, through the same gateway,
shows the change. X-Cache (nginx's $upstream_cache_status) tells whether an
answer came from the cache.
"""

import time
import unittest

import fo


def cached(path, **kw):
    """GET path on the gateway until it is a hit (or passed by, or 5 s
    went by): the last answer. nginx keeps a fill as it finishes it, which
    can be just after the caller got its answer."""
    deadline = time.monotonic() + 5
    fo.get(fo.GATEWAY + path, **kw)
    while True:
        r = fo.get(fo.GATEWAY + path, **kw)
        if r.headers.get("X-Cache") in ("HIT", "BYPASS") or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


class ReadCache(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for base in (fo.USERS, fo.FLIGHTS, fo.BOOKINGS):
            fo.wait_healthy(base)
        cls.admin = fo.admin_token(fo.USERS)
        (cls.user, _, cls.token), = fo.new_users(1)

    def flight(self):
        return fo.create_flight(self.admin, fo.FLIGHTS)

    def paths(self, f):
        day = f["departure_time"][:10]
        route = "origin=%s&destination=%s" % (f["origin"], f["destination"])
        return ["/flights/%d" % f["id"], "/flights?" + route, "/flights/search?" + route,
                "/flights?%s&date=%s" % (route, day),
                "/flights/search?%s&departure_date=%s" % (route, day)]

    def seats_left(self, r, flight_id):
        self.assertEqual(r.status, 200, fo.describe(r))
        rows = r.body if isinstance(r.body, list) else [r.body]
        return {x["id"]: x["available_seats"] for x in rows}.get(flight_id)

    def test_anonymous_reads_are_kept_with_a_fresh_request_id(self):
        f = self.flight()
        for path in self.paths(f):
            r = cached(path, headers={"X-Request-ID": "rc-first"})
            self.assertEqual(r.headers.get("X-Cache"), "HIT", path)
            r = fo.get(fo.GATEWAY + path, headers={"X-Request-ID": "rc-second"})
            self.assertEqual(r.headers.get("X-Cache"), "HIT", path)
            self.assertEqual(r.headers.get("X-Request-ID"), "rc-second", path)
            self.assertTrue(r.headers.get("ETag"), path)

    def test_what_is_never_kept(self):
        f = self.flight()
        path = "/flights/%d" % f["id"]
        # a caller with a token, a cross-origin caller, HEAD
        for kw in ({"token": self.token}, {"headers": {"Origin": fo.CORS_ORIGIN}}):
            self.assertEqual(cached(path, **kw).headers.get("X-Cache"), "BYPASS", kw)
        fo.request("HEAD", fo.GATEWAY + path)
        self.assertEqual(fo.request("HEAD", fo.GATEWAY + path).headers.get("X-Cache"), "BYPASS")
        # other spellings of the same questions: entries no purge would name
        route = "origin=%s&destination=%s" % (f["origin"], f["destination"])
        for other in ("/flights/0%d" % f["id"], "/flights/%d?x=1" % f["id"],
                      "/flights?destination=%s&origin=%s" % (f["destination"], f["origin"]),
                      "/flights?origin=%s&destination=%s" % (f["origin"].lower(),
                                                            f["destination"]),
                      "/flights?%s&limit=5" % route, "/flights?%s&cabin=economy" % route):
            r = cached(other)
            self.assertEqual(r.headers.get("X-Cache"), "BYPASS", other)
        # errors are not kept
        for _ in range(3):
            r = fo.get(fo.GATEWAY + "/flights/999999999")
            self.assertEqual((r.status, r.headers.get("X-Cache")), (404, "MISS"))

    def test_a_booking_and_its_cancel_show_at_once(self):
        f = self.flight()
        paths = self.paths(f)
        for path in paths:
            self.assertEqual(self.seats_left(cached(path), f["id"]), 12, path)
        r = fo.book(self.token, f["id"], "1A", base=fo.GATEWAY)
        self.assertEqual(r.status, 201, fo.describe(r))
        for path in paths:
            self.assertEqual(self.seats_left(fo.get(fo.GATEWAY + path), f["id"]), 11, path)
        c = fo.request("PUT", "%s/bookings/%d/cancel" % (fo.GATEWAY, r.body["id"]),
                       token=self.token)
        self.assertEqual(c.status, 200, fo.describe(c))
        for path in paths:
            self.assertEqual(self.seats_left(fo.get(fo.GATEWAY + path), f["id"]), 12, path)

    def test_the_seat_map_is_kept_and_purged(self):
        f = self.flight()
        path = "/flights/%d/seats" % f["id"]
        r = cached(path)
        self.assertEqual((r.status, r.headers.get("X-Cache")), (200, "HIT"), fo.describe(r))
        self.assertEqual({s["status"] for s in r.body}, {"available"})
        b = fo.book(self.token, f["id"], "1B", base=fo.GATEWAY)
        self.assertEqual(b.status, 201, fo.describe(b))
        r = fo.get(fo.GATEWAY + path)
        self.assertEqual(r.headers.get("X-Cache"), "MISS")
        self.assertEqual({s["seat_number"]: s["status"] for s in r.body}["1B"], "held")
        # a new seat layout (more seats) shows at once too
        cached(path)
        u = fo.request("PUT", "%s/flights/%d" % (fo.FLIGHTS, f["id"]), token=self.admin,
                       json={"total_seats": 18})
        self.assertEqual(u.status, 200, fo.describe(u))
        self.assertEqual(len(fo.get(fo.GATEWAY + path).body), 18)
        self.assertEqual(cached(path + "?x=1").headers.get("X-Cache"), "BYPASS")

    def test_four_passengers_show_at_once(self):
        f = self.flight()
        path = "/flights/%d" % f["id"]
        self.assertEqual(self.seats_left(cached(path), f["id"]), 12)
        r = fo.post(fo.GATEWAY + "/bookings", token=self.token, json={
            "flight_id": f["id"],
            "passengers": [{"full_name": "P %d" % i, "seat_number": "2" + s}
                           for i, s in enumerate("ABCD")]})
        self.assertEqual(r.status, 201, fo.describe(r))
        self.assertEqual(self.seats_left(fo.get(fo.GATEWAY + path), f["id"]), 8)

    def test_flight_changes_show_at_once(self):
        f = self.flight()
        old = self.paths(f)
        for path in old:
            cached(path)
        # a new price shows in every kept read of it
        r = fo.request("PUT", "%s/flights/%d" % (fo.FLIGHTS, f["id"]), token=self.admin,
                       json={"price": 123.45})
        self.assertEqual(r.status, 200, fo.describe(r))
        for path in old:
            r = fo.get(fo.GATEWAY + path)
            rows = r.body if isinstance(r.body, list) else [r.body]
            self.assertEqual([x["price"] for x in rows if x["id"] == f["id"]], [123.45], path)
        # moved to another day: gone from that day's search, in the new one's
        day = fo.unique_day()
        r = fo.request("PUT", "%s/flights/%d" % (fo.FLIGHTS, f["id"]), token=self.admin,
                       json={"departure_time": fo.iso(day, "08:00"),
                             "arrival_time": fo.iso(day, "09:00")})
        self.assertEqual(r.status, 200, fo.describe(r))
        self.assertIsNone(self.seats_left(fo.get(fo.GATEWAY + old[3]), f["id"]))
        moved = self.paths(r.body)
        self.assertEqual(self.seats_left(fo.get(fo.GATEWAY + moved[3]), f["id"]), 12)
        # a new flight on a kept search shows at once
        g = fo.create_flight(self.admin, fo.FLIGHTS, origin=f["origin"],
                             destination=f["destination"],
                             departure_time=fo.iso(day, "15:00"),
                             arrival_time=fo.iso(day, "16:00"))
        self.assertEqual(self.seats_left(fo.get(fo.GATEWAY + moved[3]), g["id"]), 12)
        # deleted: 404 at once
        d = fo.request("DELETE", "%s/flights/%d" % (fo.FLIGHTS, g["id"]), token=self.admin)
        self.assertEqual(d.status, 204, fo.describe(d))
        self.assertEqual(fo.get("%s/flights/%d" % (fo.GATEWAY, g["id"])).status, 404)
        self.assertIsNone(self.seats_left(fo.get(fo.GATEWAY + moved[3]), g["id"]))


if __name__ == "__main__":
    unittest.main()
