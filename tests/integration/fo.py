"""Shared helpers for the FlightOps integration tests (Python 3 stdlib only).

The tests drive a running stack over HTTP. They read:
  FO_ROOT          the repository (default: two folders up from this file)
  FO_VAR           the stack's state folder (default: $FO_ROOT/var)
  FO_GATEWAY_PORT  the public gateway port (default 8080)
  FO_PORT_BASE     users port; flights +1, bookings +2, payments +3,
                   notifications +4 (default 8000)
Secrets come from $FO_VAR/flightops.env. Every request has a timeout and
every wait loop a deadline; nothing here asserts on timing.
"""

import base64
import concurrent.futures
import email.parser
import email.policy
import hashlib
import hmac
import http.client
import itertools
import json as jsonlib
import os
import random
import re
import subprocess
import threading
import time
import urllib.parse

ROOT = os.environ.get("FO_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
VAR = os.environ.get("FO_VAR") or os.path.join(ROOT, "var")
GATEWAY_PORT = int(os.environ.get("FO_GATEWAY_PORT") or 8080)
PORT_BASE = int(os.environ.get("FO_PORT_BASE") or 8000)
HOST = "127.0.0.1"
TIMEOUT = 10.0  # seconds, every request

# Pool order fixes the per-service port: PORT_BASE + index.
SERVICES = ("users", "flights", "bookings", "payments", "notifications")


def service_port(name):
    return PORT_BASE + SERVICES.index(name)


def service_url(name):
    return "http://%s:%d" % (HOST, service_port(name))


GATEWAY = "http://%s:%d" % (HOST, GATEWAY_PORT)
# The browser origin the test stack allows (stack.sh sets CORS_ORIGINS;
# component() passes it too, so a pool a test restarts keeps it). Importing
# this module changes no environment.
CORS_ORIGIN = "https://app.flightops.test"
USERS = service_url("users")

USER_KEYS = {"id", "email", "username", "full_name", "role", "is_active", "created_at"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


# ---------------------------------------------------------------- HTTP

class Response:
    """(status, headers, body), unpackable as a 3-tuple: body is parsed
    JSON when the answer says it is JSON (and parses), else text. headers is
    an http.client.HTTPMessage (headers.get_all(name) lists repeats); .raw
    holds the body bytes and .url "METHOD URL"."""

    __slots__ = ("status", "headers", "body", "raw", "url")

    def __init__(self, status, headers, body, raw=b"", url=""):
        self.status, self.headers, self.body = status, headers, body
        self.raw, self.url = raw, url

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return describe(self)


def _encode_body(body, json, form, headers):
    if json is not None:
        headers.setdefault("Content-Type", "application/json")
        return jsonlib.dumps(json).encode()
    if form is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urllib.parse.urlencode(form).encode()
    if isinstance(body, str):
        return body.encode()
    return body


def _parse(raw, ctype):
    text = raw.decode("utf-8", "replace")
    if "json" in (ctype or "").lower():
        try:
            return jsonlib.loads(text)
        except ValueError:
            return text
    return text


def request(method, url, body=None, json=None, form=None, headers=None, token=None,
            timeout=TIMEOUT):
    """One HTTP request on a new connection. Returns Response
    (status, headers, body). headers is an http.client.HTTPMessage:
    headers.get_all(name) lists repeated headers. Raises on network errors
    and on timeout."""
    u = urllib.parse.urlsplit(url)
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    data = _encode_body(body, json, form, hdrs)
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        try:
            conn.request(method, target, body=data, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (413) and close before reading a big body.
            pass
        resp = conn.getresponse()
        raw = resp.read()
        return Response(resp.status, resp.headers,
                        _parse(raw, resp.headers.get("Content-Type")), raw,
                        method + " " + url)
    finally:
        conn.close()


def get(url, **kw):
    return request("GET", url, **kw)


def post(url, **kw):
    return request("POST", url, **kw)


def describe(r):
    """A short text of a response for assertion messages."""
    return "%s -> %d %s %r" % (r.url, r.status, dict(r.headers.items()), r.raw[:500])


# ---------------------------------------------------------------- secrets

def read_env(path=None):
    """KEY=VALUE lines of $FO_VAR/flightops.env (quotes stripped)."""
    path = path or os.path.join(VAR, "flightops.env")
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            k = k.strip()
            if k.startswith("export "):
                k = k[len("export "):].strip()
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            out[k] = v
    return out


_env_cache = None


def secrets():
    global _env_cache
    if _env_cache is None:
        _env_cache = read_env()
    return _env_cache


# ---------------------------------------------------------------- names

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _b36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        n, d = divmod(n, 36)
        s = digits[d] + s
        if n == 0:
            return s


def unique(prefix="it"):
    """A name no earlier run used: [a-z0-9_], at most 32 characters."""
    with _counter_lock:
        n = next(_counter)
    name = "%s_%s%s%s" % (prefix, _b36(time.time_ns() // 1000), _b36(os.getpid()), _b36(n))
    assert len(name) <= 32, name
    return name


def new_user_body(**over):
    name = unique()
    body = {"email": name + "@example.com", "username": name,
            "full_name": "Test User " + name, "password": "pw-" + name}
    body.update(over)
    return body


# ---------------------------------------------------------------- users

def register(base=USERS, **over):
    """POST /register a fresh user; returns (response, body sent)."""
    body = new_user_body(**over)
    return post(base + "/register", json=body), body


def login(base, username, password):
    """POST /token (form). Returns the response."""
    return post(base + "/token", form={"username": username, "password": password})


def token_for(base, username, password):
    r = login(base, username, password)
    if r.status != 200:
        raise AssertionError("login %r failed: %s" % (username, describe(r)))
    return r.body["access_token"]


def new_user(base=USERS):
    """Register and log in a fresh user: (user dict, password, token)."""
    r, body = register(base)
    if r.status != 201:
        raise AssertionError("register failed: %s" % describe(r))
    return r.body, body["password"], token_for(base, body["username"], body["password"])


def admin_token(base=USERS):
    s = secrets()
    return token_for(base, s["ADMIN_USERNAME"], s["ADMIN_PASSWORD"])


# ---------------------------------------------------------------- JWT

def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def make_jwt(payload, key=None, alg="HS256", header=None):
    """A hand-built JWT. alg HS256/HS384/HS512 sign with key (str or bytes);
    alg "none" leaves the signature empty."""
    hdr = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing_input = b64url(jsonlib.dumps(hdr, separators=(",", ":"))) + "." + \
        b64url(jsonlib.dumps(payload, separators=(",", ":")))
    if alg == "none":
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    if isinstance(key, str):
        key = key.encode()
    sig = hmac.new(key, signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(sig)


def jwt_parts(token):
    h, p, _ = token.split(".")
    return jsonlib.loads(b64url_decode(h)), jsonlib.loads(b64url_decode(p))


# ---------------------------------------------------------------- concurrency

def parallel(fn, items, workers=8):
    """fn(item) for every item on a small thread pool; results in order.
    An exception in fn is returned in place of its result."""
    def safe(item):
        try:
            return fn(item)
        except Exception as e:  # noqa: BLE001 - reported to the caller
            return e
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(safe, items))


class Background:
    """Calls fn() in a loop on `threads` threads until stop(); records each
    result (or exception) in order of completion. Use as a context manager."""

    def __init__(self, fn, threads=1, pause=0.005):
        self.fn = fn
        self.pause = pause
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(threads)]

    def _run(self):
        while not self._stop.is_set():
            try:
                res = self.fn()
            except Exception as e:  # noqa: BLE001 - recorded
                res = e
            with self._lock:
                self.results.append(res)
            self._stop.wait(self.pause)

    def count(self):
        with self._lock:
            return len(self.results)

    def snapshot(self):
        with self._lock:
            return list(self.results)

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(TIMEOUT + 5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- waiting

def wait_for(fn, timeout=30.0, interval=0.2, what="condition"):
    """Poll fn() until it returns a true value (returned) or timeout
    seconds pass (AssertionError naming what and the last value).
    Exceptions from fn count as false."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


def health(base=USERS):
    """(status, body) of GET base/health; (None, exc) on a network error."""
    try:
        r = get(base + "/health")
        return r.status, r.body
    except Exception as e:  # noqa: BLE001
        return None, e


def wait_healthy(base=USERS, timeout=60.0):
    last = [None]

    def ok():
        last[0] = health(base)
        return last[0][0] == 200
    try:
        return wait_for(ok, timeout, 0.25, "%s/health to answer 200" % base)
    except AssertionError as e:
        raise AssertionError("%s; last answer %r" % (e, last[0])) from None


# ---------------------------------------------------------------- processes

def component(action, name, timeout=180, env=None):
    """Run `$FO_ROOT/flightops component ACTION NAME` with the test env,
    plus env (a dict) for what a started pool should see."""
    script = os.path.join(ROOT, "flightops")
    cmd = [script, "component", action, name]
    if not os.access(script, os.X_OK):
        cmd.insert(0, "bash")
    # a pool restarted here allows the test origin as stack.sh's do
    full = dict({"CORS_ORIGINS": CORS_ORIGIN}, **os.environ)
    p = subprocess.run(cmd, env=dict(full, **(env or {})), cwd=ROOT,
                       stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


# Components a test stopped and has not started again (names for
# `component start`): a test appends before it stops one and removes
# after it started it; restore_components, in a module's tearDownModule,
# starts whatever a failed test left stopped.
STOPPED = []


def restore_components():
    errors = []
    for name in list(STOPPED):
        STOPPED.remove(name)  # tried once: a failure is reported, not repeated
        try:
            component("start", name)
        except Exception as e:  # noqa: BLE001 - try every one, then report
            errors.append("%s: %s" % (name, e))
    if errors:
        raise AssertionError("could not start again: " + "; ".join(errors))


def restart_pool(name, base, env=None):
    """Stop pool name and start it again with env (a dict) added to what it
    sees (None: as the stack runs it), then wait until base answers healthy."""
    component("stop", name)
    component("start", name, env=env)
    wait_healthy(base)


class RestartedPool:
    """A TestCase mixin (put it first): the class's tests run with pool
    POOL (its service URL POOL_URL) restarted with POOL_ENV (a dict) added
    to its settings, and the pool is restarted as the stack runs it
    afterwards."""
    POOL = POOL_URL = POOL_ENV = None

    @classmethod
    def setUpClass(cls):
        restart_pool(cls.POOL, cls.POOL_URL, cls.POOL_ENV)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            restart_pool(cls.POOL, cls.POOL_URL)
        finally:
            super().tearDownClass()


def read_pid(name):
    with open(os.path.join(VAR, "run", name + ".pid"), encoding="ascii") as f:
        return int(f.read().split()[0])


def _stat(pid):
    """(state, ppid) from /proc/pid/stat, or None when gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def alive(pid):
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def children(pid):
    """Set of live (non-zombie) child pids of pid. Uses
    /proc/pid/task/*/children when the kernel has it, else scans /proc."""
    kids = set()
    task_dir = "/proc/%d/task" % pid
    found_file = False
    try:
        for tid in os.listdir(task_dir):
            try:
                with open(os.path.join(task_dir, tid, "children"), encoding="ascii") as f:
                    kids.update(int(x) for x in f.read().split())
                found_file = True
            except FileNotFoundError:
                break
    except FileNotFoundError:
        return set()
    if not found_file:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                st = _stat(int(entry))
                if st is not None and st[1] == pid:
                    kids.add(int(entry))
    return {k for k in kids if alive(k)}


# ---------------------------------------------------------------- metrics

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$")


def _parse_labels(s):
    """Parse the inside of {...}: name="value" pairs, escapes \\\\ \\" \\n."""
    labels = {}
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " ,":
            i += 1
        if i >= n:
            break
        j = s.index("=", i)
        name = s[i:j].strip()
        i = j + 1
        while s[i] == " ":
            i += 1
        if s[i] != '"':
            raise ValueError("label %r: value not quoted in %r" % (name, s))
        i += 1
        val = []
        while True:
            c = s[i]
            if c == "\\":
                nxt = s[i + 1]
                val.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                val.append(c)
                i += 1
        labels[name] = "".join(val)
    return labels


def parse_prometheus(text):
    """Prometheus text format 0.0.4 -> list of (name, labels dict, float).
    Raises ValueError on a malformed sample line."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("bad sample line %r" % line)
        name, _, inner, value, _ = m.groups()
        labels = _parse_labels(inner) if inner else {}
        out.append((name, labels, float(value)))
    return out


def metric(samples, name, **labels):
    """Sum of samples named name whose labels include labels (0 if none)."""
    total = 0.0
    for n, lab, v in samples:
        if n == name and all(lab.get(k) == val for k, val in labels.items()):
            total += v
    return total


def scrape(base=USERS):
    r = get(base + "/metrics")
    if r.status != 200:
        raise AssertionError("metrics: %s" % describe(r))
    return parse_prometheus(r.body if isinstance(r.body, str) else r.raw.decode())


# ---------------------------------------------------------------- flights and bookings

FLIGHTS = service_url("flights")
BOOKINGS = service_url("bookings")

FLIGHT_KEYS = {"id", "flight_number", "airline", "origin", "destination", "departure_time",
               "arrival_time", "price", "total_seats", "available_seats", "is_active",
               "created_at", "cabins"}
BOOKING_KEYS = {"id", "reference", "user_id", "flight_id", "seat_number", "status",
                "total_amount", "hold_expires_at", "payment_id", "created_at", "cancelled_at",
                "passengers"}
REFERENCE = re.compile(r"^[A-HJ-NP-Z2-9]{6}$")

# Airports the sample data may use; the tests' own flights never use them.
REAL_AIRPORTS = frozenset(
    "JFK LAX SFO ORD ATL LHR CDG FRA AMS MAD BCN FCO DXB SIN HND NRT SYD YYZ YVR YUL MIA "
    "SEA BOS DFW DEN LAS PHX IAH EWR IAD DCA MSP DTW PHL CLT MCO SAN PDX HNL MUC ZRH VIE "
    "DUB LGW MAN IST DOH AUH HKG ICN PEK PVG CAN BKK KUL CGK MEL BNE AKL GRU GIG EZE SCL "
    "BOG LIM MEX CUN JNB CPT CAI DEL BOM LIS OSL CPH ARN HEL BRU PRG WAW BUD ATH MXP LIN "
    "NCE GVA TPE MNL KIX".split())


def put(url, **kw):
    return request("PUT", url, **kw)


def delete(url, **kw):
    return request("DELETE", url, **kw)


def service_headers():
    """The internal-call credential header."""
    return {"X-Service-Key": secrets()["SERVICE_KEY"]}


def setting(name, default=None):
    """A stack setting: $FO_VAR/flightops.env first, then this process's
    environment, else default (a string from either source)."""
    try:
        env = read_env()
    except OSError:
        env = {}
    if env.get(name):
        return env[name]
    return os.environ.get(name) or default


_rng = random.SystemRandom()
_flight_prefix = "".join(_rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(2))
_flight_counter = itertools.count(_rng.randrange(1000, 9000))
_day_counter = itertools.count(0)
# Tests' flights fly in the 2030s, on days spread from a random start, so
# they never collide with the sample data (the next 30 days) or with an
# earlier run's flights (flight number and date both differ).
_day_base = _rng.randrange(0, 3000)


def random_airport():
    """A 3-letter code that is not a real (sample data) airport."""
    while True:
        code = "".join(_rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
        if code not in REAL_AIRPORTS:
            return code


def random_route():
    o = random_airport()
    while True:
        d = random_airport()
        if d != o:
            return o, d


def unique_flight_number():
    with _counter_lock:
        n = next(_flight_counter)
    if n > 9999:  # stay within 4 digits: one letter suffix per wrap
        n = 1000 + n % 9000
    return "%s%d" % (_flight_prefix, n)


def unique_day():
    """A UTC date 'YYYY-MM-DD' in the 2030s, a different one each call."""
    with _counter_lock:
        n = next(_day_counter)
    t = 1893456000 + ((_day_base + 37 * n) % 3600) * 86400  # 2030-01-01 + days
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def iso(day, hhmm="10:00"):
    return "%sT%s:00Z" % (day, hhmm)


def flight_body(**over):
    """A valid POST /flights body (unique number and date); over replaces keys
    (a value of None removes the key)."""
    day = unique_day()
    body = {"flight_number": unique_flight_number(), "airline": "Test Air",
            "origin": random_airport(), "destination": None,
            "departure_time": iso(day, "10:00"), "arrival_time": iso(day, "13:30"),
            "price": 299.99, "total_seats": 12}
    while body["destination"] in (None, body["origin"]):
        body["destination"] = random_airport()
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def create_flight(token, base=None, **over):
    """POST /flights as token (an admin) and return the created flight.
    Retries with a fresh number when an earlier run took the generated one."""
    base = base or FLIGHTS
    for _ in range(5):
        body = flight_body(**over)
        r = post(base + "/flights", json=body, token=token)
        if r.status == 409 and "flight_number" not in over:
            continue
        if r.status != 201:
            raise AssertionError("create flight %r failed: %s" % (body, describe(r)))
        return r.body
    raise AssertionError("create flight: five generated flight numbers were all taken")


def get_flight(flight_id, base=None):
    r = get("%s/flights/%d" % (base or FLIGHTS, flight_id))
    if r.status != 200:
        raise AssertionError("GET flight %d: %s" % (flight_id, describe(r)))
    return r.body


def seat_names(total):
    """The seat map's names for total seats: 1A..1F, 2A, ..."""
    return ["%d%s" % (i // 6 + 1, "ABCDEF"[i % 6]) for i in range(total)]


def book(token, flight_id, seat, base=None, headers=None, **extra):
    """POST /bookings; returns the response."""
    body = {"flight_id": flight_id, "seat_number": seat}
    body.update(extra)
    return post((base or BOOKINGS) + "/bookings", json=body, token=token, headers=headers)


def confirm_booking(booking_id, payment_id=1):
    """The payments service's call: POST /internal/bookings/{id}/confirm."""
    return post("%s/internal/bookings/%d/confirm" % (BOOKINGS, booking_id),
                json={"payment_id": payment_id}, headers=service_headers())


def seat_map(flight_id, base=None):
    """{seat_number: status} of GET /flights/{id}/seats (asserts 200)."""
    r = get("%s/flights/%d/seats" % (base or BOOKINGS, flight_id))
    if r.status != 200 or not isinstance(r.body, list):
        raise AssertionError("seat map: %s" % describe(r))
    return {s["seat_number"]: s["status"] for s in r.body}


def new_users(n, base=USERS, workers=8):
    """n fresh users on a thread pool (hashing is slow):
    list of (user, password, token)."""
    out = parallel(lambda _: new_user(base), range(n), workers)
    for item in out:
        if isinstance(item, Exception):
            raise item
    return out


# ---------------------------------------------------------------- payments and notifications

PAYMENTS = service_url("payments")
NOTIFICATIONS = service_url("notifications")
MAILER_PORT = PORT_BASE + 5  # the mailer pool: /health and /metrics only
MAILER = "http://%s:%d" % (HOST, MAILER_PORT)
MAILDIR_NEW = os.path.join(VAR, "mail", "new")

PAYMENT_KEYS = {"id", "booking_id", "user_id", "amount", "payment_method", "card_last4",
                "card_brand", "status", "failure_reason", "created_at", "processed_at",
                "refunded_at"}
NOTIFICATION_KEYS = {"id", "user_id", "booking_id", "type", "message", "status", "created_at",
                     "sent_at"}
NOTIFICATION_TYPES = ("booking_confirmation", "booking_cancellation", "payment_failed",
                      "hold_expired", "flight_update", "custom")
FINAL_PAYMENT = ("succeeded", "failed", "refunded")

CARD_VISA = "4242424242424242"
CARD_MASTERCARD = "5555555555554444"
CARD_DECLINED = "4000000000000002"  # the gateway simulator declines it
CARD_README = "4111111111111111"
# Every card number a test sends: none may ever appear in a dump or a log.
TEST_CARDS = (CARD_VISA, CARD_MASTERCARD, CARD_DECLINED, CARD_README, "378282246310005",
              "6011111111111117", "4012888888881881")


def pay(token, booking, card=CARD_VISA, base=None, method="credit_card", headers=None,
        **over):
    """POST /payments for booking (a dict with id and total_amount);
    over replaces body keys (None removes one). Returns the response."""
    body = {"booking_id": booking["id"], "amount": booking["total_amount"],
            "payment_method": method, "card_number": card}
    body.update(over)
    body = {k: v for k, v in body.items() if v is not None}
    return post((base or PAYMENTS) + "/payments", json=body, token=token, headers=headers)


def get_payment(token, payment_id, base=None):
    return get("%s/payments/%d" % (base or PAYMENTS, payment_id), token=token)


def wait_payment(token, payment_id, statuses=FINAL_PAYMENT, timeout=30.0, base=None):
    """Poll GET /payments/{id} until its status is one of statuses; the payment."""
    def done():
        r = get_payment(token, payment_id, base)
        return r.body if r.status == 200 and r.body.get("status") in statuses else None
    return wait_for(done, timeout, 0.1,
                    "payment %d to become %s" % (payment_id, "/".join(statuses)))


def get_booking(token, booking_id, base=None):
    return get("%s/bookings/%d" % (base or BOOKINGS, booking_id), token=token)


def wait_booking(token, booking_id, status, timeout=30.0, base=None):
    """Poll GET /bookings/{id} until its status is status; the booking."""
    def done():
        r = get_booking(token, booking_id, base)
        return r.body if r.status == 200 and r.body.get("status") == status else None
    return wait_for(done, timeout, 0.1, "booking %d to become %s" % (booking_id, status))


def notifications(token, base=None, headers=None, **query):
    """GET /notifications with query (asserts 200): (list, X-Total-Count)."""
    url = (base or NOTIFICATIONS) + "/notifications"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    r = get(url, token=token, headers=headers)
    if r.status != 200 or not isinstance(r.body, list):
        raise AssertionError("notifications: %s" % describe(r))
    return r.body, int(r.headers.get("X-Total-Count", "-1"))


def wait_notification(token, booking_id, type_, timeout=30.0, base=None, status=None):
    """Poll the caller's notifications until one of type_ for booking_id
    exists (with status, when given); that notification."""
    def found():
        rows, _ = notifications(token, base, type=type_, limit=200)
        for n in rows:
            if n.get("booking_id") == booking_id and (status is None or n["status"] == status):
                return n
        return None
    return wait_for(found, timeout, 0.2, "a %s notification%s for booking %s"
                    % (type_, " (%s)" % status if status else "", booking_id))


def message_id_of(notification_id):
    """The Message-ID the mailer gives the email of a notification."""
    return "<notification-%d@flightops.local>" % notification_id


def read_mail(path, headers_only=False):
    """A Maildir file as an email.message.EmailMessage (policy default)."""
    with open(path, "rb") as f:
        return email.parser.BytesParser(policy=email.policy.default).parse(
            f, headersonly=headers_only)


def mail_text(msg):
    """The text/plain body of a message (decoded)."""
    part = msg.get_body(preferencelist=("plain",))
    return (part or msg).get_content()


def maildir(headers_only=True):
    """Every message in $FO_VAR/mail/new: list of (path, message)."""
    out = []
    try:
        names = sorted(os.listdir(MAILDIR_NEW))
    except FileNotFoundError:
        return out
    for name in names:
        path = os.path.join(MAILDIR_NEW, name)
        try:
            out.append((path, read_mail(path, headers_only)))
        except OSError:
            continue
    return out


def mails_for(notification_id, to=None, headers_only=False):
    """Messages in the Maildir whose Message-ID is that of notification_id
    (and sent to the address `to`, when given: ids restart with a fresh
    database, addresses are unique per run)."""
    want = message_id_of(notification_id)
    out = []
    for path, msg in maildir(headers_only=True):
        if (msg.get("Message-ID") or "").strip() != want:
            continue
        if to is not None and to.lower() not in (msg.get("To") or "").lower():
            continue
        out.append(msg if headers_only else read_mail(path))
    return out


def wait_mail(notification_id, to=None, timeout=30.0):
    """Wait until the email of notification_id is in the Maildir; the list
    of its copies (full messages)."""
    return wait_for(lambda: mails_for(notification_id, to), timeout, 0.2,
                    "the email %s in %s" % (message_id_of(notification_id), MAILDIR_NEW))


# ---------------------------------------------------------------- PostgreSQL

PG_PORT = int(os.environ.get("FO_PG_PORT") or 5433)


def _pg_env():
    return dict(os.environ, PGPASSWORD=secrets()["PG_PASSWORD"], PGCONNECT_TIMEOUT="10")


def psql(database, sql, timeout=60):
    """Run sql in database as the flightops role; stdout (unaligned, tuples only)."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-h", HOST, "-p", str(PG_PORT), "-U", "flightops", "-d", database,
                        "-c", sql], env=_pg_env(), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("psql %s %r exited %d: %s"
                             % (database, sql, p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def databases():
    """Names of the stack's flightops_* databases."""
    out = psql("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'flightops%' "
                           "ORDER BY 1")
    return [line.strip() for line in out.splitlines() if line.strip()]


def pg_dump(database, timeout=120):
    """A plain-text pg_dump of database (bytes)."""
    p = subprocess.run(["pg_dump", "-h", HOST, "-p", str(PG_PORT), "-U", "flightops",
                        "--no-password", database], env=_pg_env(), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("pg_dump %s exited %d: %s"
                             % (database, p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout


# ---------------------------------------------------------------- pool children

def comm(pid):
    """/proc/pid/comm (the process name), or None when gone."""
    try:
        with open("/proc/%d/comm" % pid, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def tick_child(pool):
    """The pid of pool's background child ("<pool>:tick"), or None."""
    try:
        master = read_pid(pool)
    except (OSError, ValueError):
        return None
    for kid in children(master):
        if comm(kid) == pool + ":tick":
            return kid
    return None


# ---------------------------------------------------------------- assertions

NOT_AUTHENTICATED = {"detail": "Not authenticated"}


class ApiAsserts:
    """Assertions on the contract's response shapes, for unittest classes."""

    def assertJSON(self, r, status, body=None):
        self.assertEqual(r.status, status, describe(r))
        self.assertIn("application/json", r.headers.get("Content-Type", ""), describe(r))
        if body is not None:
            self.assertEqual(r.body, body, describe(r))

    def assert401(self, r):
        self.assertJSON(r, 401, NOT_AUTHENTICATED)
        self.assertTrue(r.headers.get("WWW-Authenticate", "").startswith("Bearer"),
                        describe(r))

    def assert422(self, r, loc=None):
        """422 with a detail list of {loc, msg, type}; loc, when given, must
        be one item's loc. Returns the list."""
        self.assertJSON(r, 422)
        detail = r.body.get("detail") if isinstance(r.body, dict) else None
        self.assertIsInstance(detail, list, describe(r))
        self.assertTrue(detail, describe(r))
        for item in detail:
            self.assertIsInstance(item.get("loc"), list, describe(r))
            self.assertIsInstance(item.get("msg"), str, describe(r))
            self.assertIsInstance(item.get("type"), str, describe(r))
        if loc is not None:
            self.assertIn(loc, [i["loc"] for i in detail], describe(r))
        return detail
