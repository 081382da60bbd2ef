"""The security suite: who may call what, forged tokens, hostile input and
secrets, against the integration stack (tests/integration/stack.sh).

Four parts, run in this order (load_tests below):
  AccessTest   every route of every route table (workers/*/service.c) is a
               row of ACCESS; each is called as anonymous, another user, the
               owner, an admin and the service key, on the pool's service
               port and on the gateway, and the status must be the row's.
               A route without a row (or a row without a route) fails.
  JwtTest      forged and malformed bearer tokens: always 401 with
               WWW-Authenticate: Bearer, never 200 or a 5xx.
  HostileTest  malformed, deep, duplicate-key JSON, huge numbers, invalid
               UTF-8, NUL bytes, 70 KB bodies on every POST/PUT route; path
               tricks, CR/LF in header values, odd methods: always a 4xx JSON
               answer, never a 5xx; afterwards no worker died and no
               sanitizer wrote a report.
  SecretsTest  no secret, card number, password or bearer token used here in
               any log file of the stack, nor a secret on the command line
               of any of its processes.
The figures (routes x callers, requests sent, statuses seen) are printed at
the end. Python 3 stdlib; every request has a timeout, every wait a bound;
nothing random (the only choices are fixed lists).
"""

import collections
import glob
import hashlib
import gzip
import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import fo  # noqa: E402 - after the path; it reads FO_* at import

POOLS = ("users", "flights", "bookings", "payments", "notifications", "mailer")
ROUTE_LINE = re.compile(r'\{\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"\s*,\s*\w+\s*,\s*([^}]*)\}')
NOT_FOUND_ID = 2000000000

# ---------------------------------------------------------------- figures

STATS = {"requests": 0, "cells": 0, "routes": 0, "jwt": 0, "hostile": 0, "secrets": 0,
         "statuses": collections.Counter(), "secret_files": 0, "processes": 0,
         "children": 0, "replaced": 0}
# Every bearer token and password this suite used: none may be logged.
USED = {"tokens": set(), "passwords": set()}


def note(status):
    STATS["requests"] += 1
    STATS["statuses"][status] += 1


def call(method, url, body=None, headers=None, token=None, json_body=None, form=None):
    """One request, counted. nginx limits /register and /token per address
    (429 without Retry-After; a locked-out username's 429 has one): such an
    answer is waited out (bounded), so every case reaches the pool."""
    if token:
        USED["tokens"].add(token)
    for _ in range(100):
        r = fo.request(method, url, body=body, json=json_body, form=form, headers=headers,
                       token=token)
        note(r.status)
        if r.status != 429 or r.headers.get("Retry-After") or \
                urllib.parse.urlsplit(url).path.rstrip("/") not in ("/register", "/token"):
            return r
        time.sleep(0.1)
    return r


def raw_request(port, data, timeout=10.0):
    """Send bytes as they are (http.client refuses CR/LF in a header value);
    (status, header text, body bytes); status 0 when the server closed
    without an answer."""
    with socket.create_connection((fo.HOST, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except (ConnectionResetError, socket.timeout):
            pass
    resp = b"".join(chunks)
    head, _, body = resp.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    status = int(m.group(1)) if m else 0
    note(status)
    return status, head.decode("latin-1"), body


def route_tables():
    """{(METHOD, pattern): (pool, flags text)} of every workers/*/service.c."""
    out = {}
    for src in sorted(glob.glob(os.path.join(fo.ROOT, "workers", "*", "service.c"))):
        pool = os.path.basename(os.path.dirname(src))
        with open(src, encoding="utf-8") as f:
            for line in f:
                m = ROUTE_LINE.search(line)
                if m:
                    out[(m.group(1), m.group(2))] = (pool, m.group(3).strip())
    return out


# ---------------------------------------------------------------- fixtures

class Fixtures:
    """Two users (A owns everything, B is the other user), an admin, a
    flight, A's bookings in each state, a succeeded payment and a
    notification of A. Made once, by the first test class that needs it."""

    _made = None

    @classmethod
    def get(cls):
        if cls._made is None:
            cls._made = cls()
        return cls._made

    def __init__(self):
        for svc in fo.SERVICES:
            fo.wait_healthy(fo.service_url(svc))
        self.admin = fo.admin_token()
        USED["tokens"].add(self.admin)
        USED["passwords"].add(fo.secrets()["ADMIN_PASSWORD"])
        (self.a, pa, self.ta), (self.b, pb, self.tb) = fo.new_users(2)
        USED["passwords"].update((pa, pb))
        USED["tokens"].update((self.ta, self.tb))
        self.a_login = (self.a["username"], pa)
        self.flight = fo.create_flight(self.admin, total_seats=240)
        self.spare_flight = fo.create_flight(self.admin, total_seats=6)
        self._seats = iter(fo.seat_names(240))
        # A's booking paid and confirmed, with its payment
        self.booking = self.new_booking()
        p = fo.pay(self.ta, self.booking, card=fo.CARD_VISA)
        assert p.status == 202, fo.describe(p)
        self.payment = fo.wait_payment(self.ta, p.body["id"], ("succeeded",))
        fo.wait_booking(self.ta, self.booking["id"], "confirmed")
        # A's pending booking (no payment) and a cancelled one
        self.pending = self.new_booking()
        self.cancelled = self.new_booking()
        r = fo.put("%s/bookings/%d/cancel" % (fo.BOOKINGS, self.cancelled["id"]), token=self.ta)
        assert r.status == 200, fo.describe(r)
        r = fo.post(fo.NOTIFICATIONS + "/notifications", token=self.ta,
                    json={"user_id": self.a["id"], "type": "custom",
                          "message": "security suite fixture"})
        assert r.status == 201, fo.describe(r)
        self.notification = r.body

    def seat(self):
        return next(self._seats)

    def new_booking(self, token=None):
        r = fo.book(token or self.ta, self.flight["id"], self.seat())
        assert r.status == 201, fo.describe(r)
        return r.body

    def release(self, booking, token=None):
        """Cancel a pending booking made by a test (A's hold cap is 9)."""
        fo.put("%s/bookings/%d/cancel" % (fo.BOOKINGS, booking["id"]), token=token or self.ta)

    def succeeded_payment(self):
        b = self.new_booking()
        p = fo.pay(self.ta, b, card=fo.CARD_MASTERCARD)
        assert p.status == 202, fo.describe(p)
        fo.wait_payment(self.ta, p.body["id"], ("succeeded",))
        return p.body


# ---------------------------------------------------------------- the access table

CALLERS = ("anon", "other", "owner", "admin", "service")
ANY = "any"  # a public route: every caller gets the same 2xx


def row(method, pattern, expect, make, after=None, what=""):
    """One case of a route. expect: {caller: status or tuple of statuses}
    on the pool's service port (the gateway's are derived: /internal/* is
    404 for all, and the service key is dropped, so its caller is anon).
    make(fx, caller) -> (path, kwargs of call()); after(fx, caller, response)
    tidies up (a hold that counts against A's cap)."""
    return {"method": method, "pattern": pattern, "expect": expect, "make": make,
            "after": after, "what": what}


def E(anon, other, owner, admin, service):
    return dict(zip(CALLERS, (anon, other, owner, admin, service)))


def fixed(path, **kw):
    return lambda fx, caller: (path(fx) if callable(path) else path, kw)


def flight_for(caller_ok):
    """A fresh flight for the caller that may change it, else the spare one."""
    def make(fx, caller):
        if caller in caller_ok:
            return "/flights/%d" % fo.create_flight(fx.admin, total_seats=6)["id"], {}
        return "/flights/%d" % fx.spare_flight["id"], {}
    return make


def booking_for(ok, suffix="", **kw):
    """A fresh pending booking of A for the callers in ok, else A's
    confirmed one (which a refused caller must not touch)."""
    def make(fx, caller):
        b = fx.new_booking() if caller in ok else fx.booking
        return "/bookings/%d%s" % (b["id"], suffix), dict(kw)
    return make


def release_booking(fx, caller, r):
    if r.status == 201 and isinstance(r.body, dict) and "id" in r.body:
        fx.release(r.body, fx.admin)


def register_body(fx, caller):
    body = fo.new_user_body()
    USED["passwords"].add(body["password"])
    return "/register", {"json_body": body}


def book_body(user_id=None):
    def make(fx, caller):
        body = {"flight_id": fx.flight["id"], "seat_number": fx.seat()}
        if user_id:
            body["user_id"] = user_id(fx)
        return "/bookings", {"json_body": body}
    return make


def pay_body(fx, caller):
    b = fx.new_booking() if caller in ("owner", "admin") else fx.pending
    return "/payments", {"json_body": {"booking_id": b["id"], "amount": b["total_amount"],
                                       "payment_method": "credit_card",
                                       "card_number": fo.CARD_VISA}}


def refund_path(fx, caller):
    p = fx.succeeded_payment() if caller == "admin" else fx.payment
    return "/payments/%d/refund" % p["id"], {}


def confirm_path(fx, caller):
    b = fx.new_booking() if caller == "service" else fx.pending
    return "/internal/bookings/%d/confirm" % b["id"], {"json_body": {"payment_id": 999999}}


def notify(type_, to="a"):
    def make(fx, caller):
        uid = (fx.a if to == "a" else fx.b)["id"]
        return "/notifications", {"json_body": {"user_id": uid, "type": type_,
                                                "message": "security suite: access table"}}
    return make


ACCESS = [
    # users
    row("POST", "/register", E(*(201,) * 5), register_body),
    row("POST", "/token", E(*(200,) * 5),
        lambda fx, c: ("/token", {"form": dict(zip(("username", "password"), fx.a_login))})),
    row("GET", "/users/me", E(401, 200, 200, 200, 401), fixed("/users/me")),
    row("GET", "/users/:id", E(401, 403, 403, 200, 200),
        fixed(lambda fx: "/users/%d" % fx.a["id"])),
    row("GET", "/internal/users/:id", E(401, 403, 403, 403, 200),
        fixed(lambda fx: "/internal/users/%d" % fx.a["id"])),
    # flights
    row("GET", "/flights", E(*(200,) * 5), fixed("/flights?limit=5")),
    row("GET", "/flights/search", E(*(200,) * 5),
        fixed(lambda fx: "/flights/search?origin=%s&destination=%s"
              % (fx.flight["origin"], fx.flight["destination"]))),
    row("GET", "/flights/:id", E(*(200,) * 5),
        fixed(lambda fx: "/flights/%d" % fx.flight["id"])),
    row("POST", "/flights", E(401, 403, 403, 201, 401),
        lambda fx, c: ("/flights", {"json_body": fo.flight_body(total_seats=6)})),
    row("PUT", "/flights/:id", E(401, 403, 403, 200, 401),
        lambda fx, c: (flight_for(("admin",))(fx, c)[0], {"json_body": {"price": 123.45}})),
    row("DELETE", "/flights/:id", E(401, 403, 403, 204, 401), flight_for(("admin",))),
    row("GET", "/internal/flights/:id", E(401, 403, 403, 403, 200),
        fixed(lambda fx: "/internal/flights/%d" % fx.flight["id"])),
    # bookings
    row("POST", "/bookings", E(401, 201, 201, 201, 401), book_body(), release_booking),
    row("POST", "/bookings", E(401, 403, 201, 201, 401), book_body(lambda fx: fx.a["id"]),
        release_booking, "user_id of A"),
    row("GET", "/bookings", E(401, 200, 200, 200, 401), fixed("/bookings")),
    row("GET", "/bookings", E(401, 403, 200, 200, 401),
        fixed(lambda fx: "/bookings?user_id=%d" % fx.a["id"]), what="?user_id=A"),
    row("GET", "/bookings/:id", E(401, 404, 200, 200, 401),
        fixed(lambda fx: "/bookings/%d" % fx.booking["id"])),
    row("GET", "/bookings/:id/status", E(401, 404, 200, 200, 401),
        fixed(lambda fx: "/bookings/%d/status" % fx.booking["id"])),
    row("PUT", "/bookings/:id/cancel", E(401, 404, 200, 200, 401),
        booking_for(("owner", "admin"), "/cancel")),
    row("GET", "/flights/:id/seats", E(*(200,) * 5),
        fixed(lambda fx: "/flights/%d/seats" % fx.flight["id"])),
    row("GET", "/internal/occupancy", E(401, 403, 403, 403, 200),
        fixed(lambda fx: "/internal/occupancy?flight_ids=%d" % fx.flight["id"])),
    row("GET", "/internal/bookings/:id", E(401, 403, 403, 403, 200),
        fixed(lambda fx: "/internal/bookings/%d" % fx.booking["id"])),
    row("POST", "/internal/bookings/:id/confirm", E(401, 403, 403, 403, 200), confirm_path),
    # payments
    row("POST", "/payments", E(401, 404, 202, 202, 401), pay_body),
    row("GET", "/payments", E(401, 200, 200, 200, 401), fixed("/payments")),
    row("GET", "/payments/:id", E(401, 404, 200, 200, 401),
        fixed(lambda fx: "/payments/%d" % fx.payment["id"])),
    row("POST", "/payments/:id/refund", E(401, 403, 403, 200, 401), refund_path),
    row("POST", "/internal/payments/refund", E(401, 403, 403, 403, 200),
        lambda fx, c: ("/internal/payments/refund",
                       {"json_body": {"booking_id": fx.pending["id"]}})),
    # notifications
    row("POST", "/notifications", E(401, 403, 201, 201, 201), notify("custom")),
    row("POST", "/notifications", E(401, 201, 403, 201, 201), notify("custom", "b"),
        what="custom to B"),
    # issue 9: a user may not send a system notification, even to themself
    row("POST", "/notifications", E(401, 403, (403, 422), (201, 403, 422), (201, 422)),
        notify("booking_confirmation"), what="system type with a user's text"),
    row("GET", "/notifications", E(401, 200, 200, 200, 200), fixed("/notifications")),
    row("GET", "/notifications", E(401, 403, 200, 200, 200),
        fixed(lambda fx: "/notifications?user_id=%d" % fx.a["id"]), what="?user_id=A"),
    row("GET", "/notifications/:id", E(401, 404, 200, 200, 200),
        fixed(lambda fx: "/notifications/%d" % fx.notification["id"])),
]


def as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


class AccessTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixtures.get()
        cls.routes = route_tables()

    def headers_of(self, caller):
        if caller == "service":
            return {"X-Service-Key": fo.secrets()["SERVICE_KEY"]}, None
        if caller == "badkey":
            return {"X-Service-Key": "not-the-service-key-" + "x" * 24}, None
        return {}, {"anon": None, "other": self.fx.tb, "owner": self.fx.ta,
                    "admin": self.fx.admin}[caller]

    def check_shape(self, r, status):
        """A 4xx is JSON {"detail": ...}; a 401 names the Bearer scheme."""
        if 400 <= status < 500:
            self.assertIn("application/json", r.headers.get("Content-Type", ""), fo.describe(r))
            self.assertIsInstance(r.body, dict, fo.describe(r))
            self.assertIn("detail", r.body, fo.describe(r))
        if status == 401:
            self.assertTrue(r.headers.get("WWW-Authenticate", "").startswith("Bearer"),
                            fo.describe(r))

    def test_every_route_has_a_row(self):
        rows = {(x["method"], x["pattern"]) for x in ACCESS}
        self.assertTrue(self.routes, "no route tables found under workers/")
        missing = sorted(set(self.routes) - rows)
        stale = sorted(rows - set(self.routes))
        self.assertFalse(missing, "routes with no row in ACCESS: %s" % missing)
        self.assertFalse(stale, "rows of ACCESS for routes no table has: %s" % stale)

    def test_access_table(self):
        failures = []
        routes = set()
        for x in ACCESS:
            key = (x["method"], x["pattern"])
            if key not in self.routes:
                continue  # reported by test_every_route_has_a_row
            routes.add(key)
            pool = self.routes[key][0]
            internal = x["pattern"].startswith("/internal/")
            takes_key = "ROUTE_SERVICE" in self.routes[key][1]
            for base_name, base in (("service", fo.service_url(pool)), ("gateway", fo.GATEWAY)):
                # badkey: a wrong X-Service-Key, refused where a key is
                # taken and ignored elsewhere (derived, not a column)
                for caller in CALLERS + ("badkey",):
                    if base_name == "gateway" and internal:
                        want = (404,)
                    elif caller in ("service", "badkey") and base_name == "gateway":
                        want = as_tuple(x["expect"]["anon"])  # the gateway drops the key
                    elif caller == "badkey":
                        want = (401,) if takes_key else as_tuple(x["expect"]["anon"])
                    else:
                        want = as_tuple(x["expect"][caller])
                    path, kw = x["make"](self.fx, caller)
                    headers, token = self.headers_of(caller)
                    r = call(x["method"], base + path, headers=headers, token=token, **kw)
                    STATS["cells"] += 1
                    label = "%s %s%s as %s on the %s port" % (
                        x["method"], x["pattern"], " (%s)" % x["what"] if x["what"] else "",
                        caller, base_name)
                    if r.status not in want:
                        failures.append("%s: want %s, got %s" % (label, "/".join(map(str, want)),
                                                                 fo.describe(r)))
                    else:
                        try:
                            self.check_shape(r, r.status)
                        except AssertionError as e:
                            failures.append("%s: %s" % (label, e))
                    if x["after"]:
                        x["after"](self.fx, caller, r)
        STATS["routes"] = len(routes)
        self.assertFalse(failures, "\n".join(["%d of %d cells wrong:" % (len(failures),
                                                                        STATS["cells"])]
                                             + failures))

    def test_builtin_routes(self):
        # /health and /metrics are every pool's own (serve.c), on its port only
        failures = []
        for i, pool in enumerate(POOLS):
            for path in ("/health", "/metrics"):
                r = call("GET", "http://%s:%d%s" % (fo.HOST, fo.PORT_BASE + i, path))
                STATS["cells"] += 1
                if r.status != 200:
                    failures.append(fo.describe(r))
        r = call("GET", fo.GATEWAY + "/metrics")
        if r.status != 404:
            failures.append("the gateway must not serve /metrics: " + fo.describe(r))
        self.assertFalse(failures, "\n".join(failures))


# ---------------------------------------------------------------- JWT forgeries

class JwtTest(unittest.TestCase):
    """Every token here is refused: 401, WWW-Authenticate: Bearer, on a user
    route of each pool and on an admin route, on service ports and gateway."""

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixtures.get()
        cls.key = fo.secrets()["SECRET_KEY"]

    def targets(self):
        fx = self.fx
        paths = [("GET", "users", "/users/me"), ("GET", "bookings", "/bookings"),
                 ("GET", "payments", "/payments"), ("GET", "notifications", "/notifications"),
                 ("GET", "bookings", "/bookings/%d" % fx.booking["id"]),
                 ("GET", "users", "/users/%d" % fx.a["id"]),
                 ("DELETE", "flights", "/flights/%d" % fx.spare_flight["id"])]
        for method, pool, path in paths:
            yield method, fo.service_url(pool) + path
            yield method, fo.GATEWAY + path

    def claims(self, user=None, admin=False, **over):
        user = user or self.fx.a
        now = int(time.time())
        c = {"sub": user["username"], "uid": user["id"], "role": "admin" if admin else "user",
             "iat": now, "exp": now + 600}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def forgeries(self):
        """(name, Authorization header value)."""
        key, c = self.key, self.claims()
        good = fo.make_jwt(c, key)
        h, p, s = good.split(".")
        out = []
        for alg in ("none", "None", "NONE", "nOnE"):
            hdr = {"alg": alg, "typ": "JWT"}
            out.append(("alg %s, no signature" % alg, fo.make_jwt(c, alg="none", header=hdr)))
            out.append(("alg %s, admin" % alg,
                        fo.make_jwt(self.claims(admin=True), alg="none", header=hdr)))
            out.append(("alg %s with the real signature" % alg,
                        fo.make_jwt(c, alg="none", header=hdr) + s))
        out.append(("HS384 with the real key", fo.make_jwt(c, key, alg="HS384")))
        out.append(("HS512 with the real key", fo.make_jwt(c, key, alg="HS512")))
        for alg in ("RS256", "ES256", "PS256", "EdDSA"):
            # key confusion: an asymmetric alg "verified" with the HMAC key
            out.append(("%s header, HMAC signature" % alg,
                        fo.make_jwt(c, key, header={"alg": alg, "typ": "JWT"})))
            out.append(("%s header, junk signature" % alg,
                        fo.make_jwt(c, alg="none", header={"alg": alg}) + fo.b64url(b"x" * 256)))
        out.append(("wrong key", fo.make_jwt(c, "a-completely-different-key-of-40-bytes!!")))
        out.append(("empty key", fo.make_jwt(c, b"")))
        out.append(("key with one byte changed", fo.make_jwt(c, key[:-1] + chr(ord(key[-1]) ^ 1))))
        forged = fo.make_jwt(self.claims(admin=True), key).split(".")[1]
        out.append(("forged admin role, A's signature", "%s.%s.%s" % (h, forged, s)))
        out.append(("forged admin role, wrong key",
                    fo.make_jwt(self.claims(admin=True), "x" * 40)))
        other = fo.make_jwt(self.claims(self.fx.b), key).split(".")[1]
        out.append(("payload of B, signature of A", "%s.%s.%s" % (h, other, s)))
        out.append(("signature cut", "%s.%s.%s" % (h, p, s[:-4])))
        out.append(("signature empty", "%s.%s." % (h, p)))
        out.append(("two parts", "%s.%s" % (h, p)))
        out.append(("four parts", good + "." + s))
        now = int(time.time())
        out.append(("expired", fo.make_jwt(self.claims(iat=now - 3600, exp=now - 1800), key)))
        out.append(("expires now", fo.make_jwt(self.claims(iat=now - 60, exp=now), key)))
        out.append(("issued in the future", fo.make_jwt(
            self.claims(iat=now + 86400, exp=now + 90000), key)))
        for claim in ("sub", "uid", "role", "iat", "exp"):
            out.append(("no %s claim" % claim, fo.make_jwt(self.claims(**{claim: None}), key)))
        for claim, value in (("uid", str(self.fx.a["id"])), ("uid", 0), ("uid", -1),
                             ("uid", 2 ** 64), ("uid", 1.5), ("role", "superuser"),
                             ("role", "Admin"), ("role", ["admin"]), ("sub", ""),
                             ("exp", "9999999999"), ("exp", 2 ** 70),
                             ("sub", "x" * 300)):
            out.append(("%s = %r" % (claim, value)[:60],
                        fo.make_jwt(self.claims(**{claim: value}), key)))
        out.append(("header not JSON", fo.b64url(b"{alg") + "." + p + "." + s))
        out.append(("payload an array", h + "." + fo.b64url(b"[1,2]") + "." + s))
        out.append(("kid path trick, empty key", fo.make_jwt(
            c, b"", header={"alg": "HS256", "kid": "../../../../dev/null"})))
        out.append(("not base64", "%s.%s!!.%s" % (h, p, s)))
        out.append(("garbage", "garbage"))
        out.append(("dots", "...."))
        out.append(("4 KB of x", "x" * 4097))
        # issue 9: a token is refused once its user is gone
        out.append(("user that does not exist", fo.make_jwt(self.claims(
            {"username": "h7_nobody", "id": NOT_FOUND_ID}), key)))
        return [(name, "Bearer " + tok) for name, tok in out] + [
            ("Basic scheme", "Basic " + fo.b64url(b"admin:admin")),
            ("Bearer with no token", "Bearer"),
            ("Bearer and spaces", "Bearer    "),
            ("token without scheme", good),
            ("scheme twice", "Bearer Bearer " + good.replace(".", "", 1)),
        ]

    def test_token_of_a_deactivated_user_refused(self):
        # issue 9: a token stops working once its user is deactivated (a
        # pool may cache the user's state briefly: hence a bounded wait)
        user, pw, token = fo.new_user()
        USED["passwords"].add(pw)
        USED["tokens"].add(token)
        urls = [fo.USERS + "/users/me", fo.BOOKINGS + "/bookings", fo.PAYMENTS + "/payments",
                fo.NOTIFICATIONS + "/notifications", fo.GATEWAY + "/bookings"]
        for url in urls:
            r = call("GET", url, token=token)
            self.assertEqual(r.status, 200, fo.describe(r))
        fo.psql("flightops_users", "UPDATE users SET is_active = false WHERE id = %d" % user["id"])
        refused = {}

        def all_refused():
            for url in urls:
                if url not in refused:
                    r = call("GET", url, token=token)
                    STATS["jwt"] += 1
                    if r.status == 401:
                        refused[url] = r
                    elif r.status != 200:
                        raise AssertionError(fo.describe(r))
            return len(refused) == len(urls)
        try:
            fo.wait_for(all_refused, 30, 0.5, "a deactivated user's token to be refused")
        except AssertionError as e:
            raise AssertionError("%s; still accepted by %s"
                                 % (e, sorted(set(urls) - set(refused)))) from None
        for r in refused.values():
            self.assertTrue(r.headers.get("WWW-Authenticate", "").startswith("Bearer"),
                            fo.describe(r))

    def test_forgeries_refused(self):
        # A control: the same claims signed properly are accepted, so each
        # refusal below is the forgery's doing.
        r = call("GET", fo.USERS + "/users/me", token=fo.make_jwt(self.claims(), self.key))
        self.assertEqual(r.status, 200, fo.describe(r))
        failures = []
        for name, auth in self.forgeries():
            USED["tokens"].add(auth.split(" ", 1)[-1])
            for method, url in self.targets():
                r = call(method, url, headers={"Authorization": auth})
                STATS["jwt"] += 1
                ok = r.status == 401 and r.headers.get("WWW-Authenticate", "").startswith(
                    "Bearer") and isinstance(r.body, dict) and "detail" in r.body
                if not ok:
                    failures.append("%s: %s" % (name, fo.describe(r)))
        self.assertFalse(failures, "%d forgeries not refused:\n%s"
                         % (len(failures), "\n".join(failures)))


# ---------------------------------------------------------------- hostile input

HUGE_NUMBERS = ("1e400", "-1e400", "9223372036854775808", "-9223372036854775809",
                "18446744073709551616", "1e30", "123456789012345678901234567890.5",
                "4.9e-324", "NaN", "Infinity", "0x10", "01")
ODD_VALUES = HUGE_NUMBERS + ('"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udfff\\ud800"',
                             '[]', '{"$ne": null}', 'true', '"' + "\u00e9" * 3000 + '"')
GENERIC_BODIES = [
    ("empty", b""), ("open brace", b"{"), ("cut", b'{"a":'), ("cut array", b"[1,2"),
    ("single quotes", b"{'a': 1}"), ("bare word", b"nul"), ("extra brace", b'{"a":1}}'),
    ("trailing garbage", b'{"a":1} x'), ("comment", b'{"a":1 /* x */}'),
    ("trailing comma", b'{"a":1,}'), ("null", b"null"), ("array", b"[]"), ("string", b'"x"'),
    ("number", b"123"), ("huge number", b"1e400"), ("bool", b"true"),
    ("deep arrays", b"[" * 20000 + b"]" * 20000),
    ("deep objects", b'{"a":' * 8000 + b"1" + b"}" * 8000),
    ("duplicate keys", b'{"x":1,"x":2}'),
    ("invalid UTF-8", b'{"a":"\xff\xfe"}'), ("overlong UTF-8", b'{"a":"\xc0\xaf"}'),
    ("UTF-8 surrogate", b'{"a":"\xed\xa0\x80"}'), ("invalid UTF-8 key", b'{"\xff":1}'),
    ("raw NUL", b'{"a":"x\x00y"}'), ("NUL alone", b"\x00"), ("NUL after object", b"{}\x00"),
    ("BOM", b"\xef\xbb\xbf{}"), ("UTF-16", '{"a":1}'.encode("utf-16")),
    ("70 KB string", b'{"a":"' + b"x" * (70 * 1024) + b'"}'),
    ("70 KB of spaces", b"{" + b" " * (70 * 1024) + b"}"),
]


def body_text(fields):
    """A JSON object from (key, value text) pairs, duplicates kept."""
    return ("{" + ", ".join('"%s": %s' % (k, v) for k, v in fields) + "}").encode()


def template_bodies(template):
    """(name, bytes): each field of a valid body given an odd value, or
    repeated with one; the whole body with a NUL or garbage after it."""
    fields = [(k, json.dumps(v)) for k, v in template.items()]
    out = []
    for i, (k, _) in enumerate(fields):
        for v in ODD_VALUES:
            out.append(("%s = %s" % (k, v[:24]), body_text(fields[:i] + [(k, v)] + fields[i + 1:])))
        out.append(("%s repeated, odd last" % k, body_text(fields + [(k, '{"$gt": ""}')])))
        out.append(("%s repeated, odd first" % k,
                    body_text(fields[:i] + [(k, '{"$gt": ""}')] + fields[i:])))
    valid = body_text(fields)
    out += [("valid body, NUL, more JSON", valid + b'\x00{"x":1}'),
            ("valid body, NUL", valid + b"\x00"),
            ("valid body twice", valid + valid),
            ("valid body, garbage", valid + b"x"),
            ("valid body in an array", b"[" + valid + b"]"),
            ("valid body padded to 70 KB", valid[:-1] + b" " * (70 * 1024) + b"}")]
    return out


class HostileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fx = Fixtures.get()
        cls.routes = route_tables()
        cls.deaths_before = cls.worker_deaths()
        cls.kids_before = {p: fo.children(fo.read_pid(p)) for p in POOLS}
        cls.sizes_before = {p: len(k) for p, k in cls.kids_before.items()}

    @staticmethod
    def worker_deaths():
        """Every "worker died" line a pool master logged so far."""
        lines = set()
        for path in glob.glob(os.path.join(fo.VAR, "log", "*.log*")):
            with open(path, "rb") as f:
                lines.update(x for x in f if b'"worker died"' in x)
        return lines

    def auth_for(self, flags):
        if "ROUTE_USER" in flags:
            return {}, self.fx.ta
        if "ROUTE_ADMIN" in flags:
            return {}, self.fx.admin
        if "ROUTE_SERVICE" in flags:
            return {"X-Service-Key": fo.secrets()["SERVICE_KEY"]}, None
        return {}, None

    def templates(self):
        """{(METHOD, pattern): (path, valid-looking body that the odd values spoil)};
        the ids name resources the route refuses to change again (a
        cancelled booking, an unknown payment) so a body read wrongly as
        valid changes nothing."""
        fx = self.fx
        probe = "h7_probe_%s" % fo.unique("p")[-8:]
        return {
            ("POST", "/register"): ("/register", fo.new_user_body()),
            ("POST", "/token"): ("/token", {"username": probe, "password": "not-the-password"}),
            ("POST", "/flights"): ("/flights", fo.flight_body()),
            ("PUT", "/flights/:id"): ("/flights/%d" % fx.spare_flight["id"],
                                      {"price": 99.5, "total_seats": 6}),
            ("POST", "/bookings"): ("/bookings", {"flight_id": fx.spare_flight["id"],
                                                  "seat_number": "1A"}),
            ("PUT", "/bookings/:id/cancel"): ("/bookings/%d/cancel" % fx.cancelled["id"],
                                              {"reason": "x"}),
            ("POST", "/internal/bookings/:id/confirm"): (
                "/internal/bookings/%d/confirm" % fx.cancelled["id"], {"payment_id": 1}),
            ("POST", "/payments"): ("/payments", {
                "booking_id": fx.cancelled["id"], "amount": fx.cancelled["total_amount"],
                "payment_method": "credit_card", "card_number": fo.CARD_README}),
            ("POST", "/payments/:id/refund"): ("/payments/%d/refund" % NOT_FOUND_ID,
                                               {"reason": "x"}),
            ("POST", "/internal/payments/refund"): ("/internal/payments/refund",
                                                    {"booking_id": NOT_FOUND_ID}),
            ("POST", "/notifications"): ("/notifications", {
                "user_id": fx.a["id"], "type": "custom", "message": "hostile"}),
        }

    def send_all(self, method, url, cases, headers, token, allow_2xx=()):
        bad = []
        for name, body in cases:
            h = dict(headers, **{"Content-Type": "application/json"})
            r = call(method, url, body=body, headers=h, token=token)
            STATS["hostile"] += 1
            ok = 400 <= r.status < 500 or (r.status < 300 and name in allow_2xx)
            if ok and r.status >= 400:
                ok = "application/json" in r.headers.get("Content-Type", "") and \
                    isinstance(r.body, dict) and "detail" in r.body
            if not ok:
                bad.append("%s: %s" % (name, fo.describe(r)))
        return bad

    def test_1_bodies_on_every_post_and_put(self):
        templates = self.templates()
        writes = sorted(k for k in self.routes if k[0] in ("POST", "PUT"))
        missing = [k for k in writes if k not in templates]
        self.assertFalse(missing, "POST/PUT routes with no hostile-input template: %s" % missing)
        failures = []
        for key in writes:
            pool, flags = self.routes[key]
            path, template = templates[key]
            headers, token = self.auth_for(flags)
            cases = GENERIC_BODIES + template_bodies(template)
            # a null for an optional field is only absent: a 2xx is right
            allow = {n for n, _ in cases if n.endswith("= null")}
            bases = [fo.service_url(pool)]
            if not key[1].startswith("/internal/"):
                bases.append(fo.GATEWAY)
            for i, base in enumerate(bases):
                # the gateway gets the generic bodies only (the same pool answers)
                failures += ["%s %s: %s" % (key[0], key[1], f) for f in self.send_all(
                    key[0], base + path, cases if i == 0 else GENERIC_BODIES, headers, token,
                    allow)]
        self.assertFalse(failures, "%d hostile bodies not answered with a 4xx:\n%s"
                         % (len(failures), "\n".join(failures)))

    def test_0_forms_on_token(self):
        cases = [b"username=%zz&password=%", b"username=%00&password=x",
                 b"username=h7_probe%00admin&password=x", b"username=%ff%fe&password=x",
                 b"username=a&username=b&password=x", b"&&&==&", b"=", b"%",
                 b"username=" + b"a" * (70 * 1024) + b"&password=x",
                 b"username=h7_probe&password=" + b"%C0%AF" * 50, b"username=\xff&password=\xfe",
                 b"username=h7\x00probe&password=x"]
        failures = []
        for base in (fo.USERS, fo.GATEWAY):
            for body in cases:
                r = call("POST", base + "/token", body=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
                STATS["hostile"] += 1
                if not 400 <= r.status < 500:
                    failures.append("%r: %s" % (body[:60], fo.describe(r)))
        self.assertFalse(failures, "\n".join(failures))

    def test_3_path_tricks(self):
        fx = self.fx
        key = fo.secrets()["SERVICE_KEY"]
        tricks = ["/bookings/../internal/users/%d", "/%%2e%%2e/internal/users/%d",
                  "/bookings/%%2e%%2e/internal/users/%d", "//internal/users/%d",
                  "/./internal/users/%d", "/internal%%2fusers%%2f%d", "/INTERNAL/users/%d",
                  "/users/%d/../../internal/users/%d", "/internal/users/%d%%00",
                  "/flights/1%%2f..%%2f..%%2finternal%%2fflights%%2f%d",
                  "/%%69nternal/users/%d", "/users/..%%2finternal/users/%d",
                  "/internal/users/%d/", "/internal/users/%d;x", "/internal/users/%d?x=1"]
        failures = []
        uid = fx.a["id"]
        # the gateway never reaches an /internal/ route, however it is spelled
        for t in tricks:
            path = t % ((uid,) * t.count("%d"))
            for headers in ({}, {"X-Service-Key": key}):
                r = call("GET", fo.GATEWAY + path, headers=headers)
                STATS["hostile"] += 1
                if r.status not in (400, 404) or fx.a["email"].encode() in r.raw:
                    failures.append("gateway %s: %s" % (path, fo.describe(r)))
        odd = ["/users/me%00", "/bookings/1%00", "/bookings/%00", "/bookings/%ff%fe",
               "/bookings/%c0%af", "/flights/%d%%00" % fx.flight["id"],
               "/flights/%d%%0d%%0aX-Injected:%%201" % fx.flight["id"],
               "/flights?origin=%0d%0aX-Injected:%201", "/bookings/" + "9" * 400,
               "/bookings/-1", "/bookings/0x10", "/bookings/1e3", "/" + "a/" * 2000,
               "/bookings/%d/../%d" % (fx.booking["id"], fx.booking["id"]),
               "/users/me/..", "/users//me", "/flights/" + "%41" * 300]
        for path in odd:
            for base in (fo.GATEWAY, fo.BOOKINGS, fo.USERS, fo.FLIGHTS):
                r = call("GET", base + path, token=fx.tb)
                STATS["hostile"] += 1
                if r.status >= 500 or "X-Injected" in r.headers:
                    failures.append("%s: %s" % (path, fo.describe(r)))
                elif r.status >= 400 and "application/json" not in r.headers.get(
                        "Content-Type", ""):
                    failures.append("%s: not JSON: %s" % (path, fo.describe(r)))
        self.assertFalse(failures, "\n".join(failures))

    def test_4_crlf_in_headers(self):
        cases = [b"X-Request-ID: abc\rX-Injected: 1", b"X-Request-ID: abc\nX-Injected: 1",
                 b"Idempotency-Key: k\rX-Injected: 1", b"Authorization: Bearer a\rb",
                 b"X-Request-ID: a\x00b", b"X-Request-ID: \xff\xfe",
                 b"X-Request-ID: x\r\n X-Injected: 1", b"Origin: https://app.flightops.test\rX: y",
                 b"Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 5",
                 b"Transfer-Encoding: chunked\r\nContent-Length: 3",
                 b"Host: a\r\nHost: b", b"X-Forwarded-For: 1.2.3.4\rX-Injected: 1"]
        failures = []
        for port in (fo.GATEWAY_PORT, fo.service_port("users"), fo.service_port("bookings")):
            for extra in cases:
                path = b"/bookings" if port != fo.service_port("users") else b"/users/me"
                data = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
                        b"\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
                if b"Content-Length: 2\r\nContent-Length: 5" in extra or \
                        b"Transfer-Encoding" in extra:
                    data = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
                            b"\r\nConnection: close\r\n\r\n{}")
                status, head, body = raw_request(port, data)
                STATS["hostile"] += 1
                injected = re.search(r"(?im)^X-Injected:", head)
                if not 400 <= status < 500 or injected:
                    failures.append("port %d %r: %d %r" % (port, extra, status, head[:300]))
        self.assertFalse(failures, "\n".join(failures))

    ODD_METHODS = ("PATCH", "TRACE", "SECPROBEA", "PROPFIND", "get", "CONNECT", "M-SEARCH",
                   "X" * 40)

    def test_5_odd_methods(self):
        failures = []
        paths = sorted({p for _, p in self.routes})
        for pattern in paths:
            path = pattern.replace(":id", str(self.fx.booking["id"]))
            pool = next(v[0] for k, v in self.routes.items() if k[1] == pattern)
            for base in (fo.service_url(pool), fo.GATEWAY):
                for method in self.ODD_METHODS:
                    r = call(method, base + path, token=self.fx.ta)
                    STATS["hostile"] += 1
                    if not 400 <= r.status < 500:
                        failures.append("%s %s: %s" % (method, base + path, fo.describe(r)))
        # an unknown method is not a metric series of its own (issue 9)
        for i, pool in enumerate(POOLS):
            text = fo.get("http://%s:%d/metrics" % (fo.HOST, fo.PORT_BASE + i)).raw.decode()
            for m in ("SECPROBEA", "PROPFIND", "M-SEARCH", "X" * 40, 'method="get"'):
                if m in text:
                    failures.append("%s /metrics has a series for %s" % (pool, m))
        self.assertFalse(failures, "\n".join(failures))

    def test_9_no_worker_died_and_no_sanitizer_report(self):
        new = self.worker_deaths() - self.deaths_before
        self.assertFalse(new, "workers died during the hostile input:\n%s"
                         % b"".join(sorted(new)).decode(errors="replace"))
        reports = glob.glob(os.path.join(fo.VAR, "log", "asan.*")) + \
            glob.glob(os.path.join(fo.VAR, "log", "ubsan.*"))
        self.assertFalse(reports, "sanitizer reports: %s" % reports)
        # every pool still has its children (a bounded wait: a respawn takes a moment)
        for pool in POOLS:
            fo.wait_for(lambda: len(fo.children(fo.read_pid(pool))) >= self.sizes_before[pool],
                        30, 0.2, "%s to have %d children" % (pool, self.sizes_before[pool]))
            # a child replaced after MAX_REQUESTS is not a death: a figure only
            STATS["replaced"] += len(self.kids_before[pool] - fo.children(fo.read_pid(pool)))
        STATS["children"] = sum(self.sizes_before.values())


# ---------------------------------------------------------------- secrets

class SecretsTest(unittest.TestCase):
    """Runs last: what every earlier request may have written is there."""

    def secrets(self):
        s = fo.secrets()
        out = {k: s[k] for k in ("SECRET_KEY", "SERVICE_KEY", "PG_PASSWORD", "REDIS_PASSWORD",
                                 "ADMIN_PASSWORD", "SECRET_KEY_ACCEPTED",
                                 "SERVICE_KEY_ACCEPTED") if s.get(k)}
        for card in fo.TEST_CARDS:
            out["card " + card] = card
        return out

    def test_no_secret_in_any_log(self):
        Fixtures.get()
        needles = {name: v.encode() for name, v in self.secrets().items()}
        for i, t in enumerate(sorted(USED["tokens"])):
            if len(t) >= 20:
                needles["bearer token %d" % i] = t.encode()
        for i, p in enumerate(sorted(USED["passwords"])):
            needles["password %d" % i] = p.encode()
        # the card numbers as some writers format them, too
        for card in fo.TEST_CARDS:
            needles["card %s in groups" % card] = " ".join(
                card[i:i + 4] for i in range(0, len(card), 4)).encode()
        found = []
        files = [p for p in glob.glob(os.path.join(fo.VAR, "log", "**"), recursive=True)
                 if os.path.isfile(p)]
        self.assertTrue(files, "no log files under %s" % fo.VAR)
        for path in files:
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            STATS["secret_files"] += 1
            for name, needle in needles.items():
                STATS["secrets"] += 1
                if needle in data:
                    found.append("%s in %s" % (name, path))
        self.assertFalse(found, "secrets in logs:\n" + "\n".join(found))

    def stack_pids(self):
        """The pids of every component (var/run/*.pid) and their descendants."""
        roots = set()
        for path in glob.glob(os.path.join(fo.VAR, "run", "*.pid")):
            try:
                with open(path, encoding="ascii") as f:
                    roots.add(int(f.read().split()[0]))
            except (OSError, ValueError, IndexError):
                continue
        seen, todo = set(), list(roots)
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            todo.extend(fo.children(pid))
        # PostgreSQL's postmaster writes its own pid file in its data folder
        for path in glob.glob(os.path.join(fo.VAR, "**", "postmaster.pid"), recursive=True):
            try:
                with open(path, encoding="ascii") as f:
                    pm = int(f.readline())
                seen.add(pm)
                seen.update(fo.children(pm))
            except (OSError, ValueError):
                continue
        return seen

    def test_no_secret_on_a_command_line(self):
        needles = {name: v.encode() for name, v in self.secrets().items()
                   if not name.startswith("card")}
        pids = self.stack_pids()
        self.assertGreaterEqual(len(pids), len(POOLS), "stack processes: %s" % sorted(pids))
        found = []
        for pid in sorted(pids):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            STATS["processes"] += 1
            for name, needle in needles.items():
                if needle in cmdline:
                    found.append("%s on the command line of pid %d (%s)"
                                 % (name, pid, fo.comm(pid)))
        self.assertFalse(found, "\n".join(found))


    def test_each_pool_gets_only_its_own_secrets(self):
        # a secret reaches a pool only under a name its binary declares a
        # secret (flightops-<svc> --settings): the mailer never holds
        # SECRET_KEY, only users holds ADMIN_PASSWORD
        values = {k: v.encode() for k, v in self.secrets().items() if not k.startswith("card")}
        found = []
        for pool in POOLS:
            binary = os.path.join(os.environ.get("FO_BUILD") or os.path.join(fo.ROOT, "build"),
                                  "bin", "flightops-" + pool)
            out = subprocess.run([binary, "--settings"], capture_output=True, timeout=30,
                                 stdin=subprocess.DEVNULL).stdout.decode()
            declared = {line.split("\t")[0] for line in out.splitlines()
                        if len(line.split("\t")) > 1 and line.split("\t")[1] == "secret"}
            self.assertTrue(declared, "%s --settings lists no secret: %r" % (binary, out[:300]))
            pid = fo.read_pid(pool)
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = [e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e]
            for name, value in env:
                for secret, v in values.items():
                    if v in value and name.decode() not in declared:
                        found.append("%s holds %s in %s" % (pool, secret, name.decode()))
        self.assertFalse(found, "\n".join(found))

    def test_secret_files_and_sockets_private(self):
        # files holding a secret are the owner's only; the FastCGI sockets
        # are not open to every local user (0660, nginx's group)
        values = [v.encode() for k, v in self.secrets().items() if not k.startswith("card")]
        rundir = "/var/tmp/flightops-" + hashlib.sha256(fo.VAR.encode()).hexdigest()[:12]
        loose, sockets = [], 0
        for root in (fo.VAR, rundir):
            for d, dirs, files in os.walk(root):
                dirs[:] = [x for x in dirs if x not in ("pgdata", "log", "mail")]
                for name in files:
                    path = os.path.join(d, name)
                    try:
                        st = os.lstat(path)
                    except OSError:
                        continue
                    if stat.S_ISSOCK(st.st_mode):
                        sockets += 1
                        if st.st_mode & 0o007:
                            loose.append("socket %s mode %o" % (path, st.st_mode & 0o777))
                        continue
                    if not stat.S_ISREG(st.st_mode) or st.st_size > 10 << 20:
                        continue
                    with open(path, "rb") as f:
                        data = f.read()
                    if st.st_mode & 0o077 and any(v in data for v in values):
                        loose.append("%s holds a secret, mode %o" % (path, st.st_mode & 0o777))
        self.assertGreaterEqual(sockets, len(POOLS), "pool sockets under %s or %s"
                                % (fo.VAR, rundir))
        self.assertFalse(loose, "\n".join(loose))


# ---------------------------------------------------------------- order and figures

def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    for cls in (AccessTest, JwtTest, HostileTest, SecretsTest):
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


def tearDownModule():
    s = STATS
    print("\nsecurity figures: %d routes x %d callers (+ a wrong service key) x 2 ports: "
          "%d access cells; %d forged-token requests; %d hostile requests; %d requests in "
          "all; statuses %s; %d pool children watched, %d replaced, 0 deaths allowed; "
          "%d needles x %d log files searched; %d command lines read"
          % (s["routes"], len(CALLERS), s["cells"], s["jwt"], s["hostile"], s["requests"],
             dict(sorted(s["statuses"].items())), s["children"], s["replaced"],
             s["secrets"] // max(s["secret_files"], 1), s["secret_files"], s["processes"]),
          file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
