"""The fault suite: seat truth under crashes, database and Redis outages,
and hostile slow clients.

Each test injects one fault while clients run, stops it, and then checks
the invariants the issue promises (issue 9), printing its figures:
  - 0 double sales (PostgreSQL: at most one live booking per seat);
  - 0 lost acknowledged bookings (every 201 a client saw exists);
  - 0 seats unbookable 2 s after the fault stops (every seat PostgreSQL
    says is free is booked once, then the probe booking is cancelled);
  - available_seats and the seat map equal PostgreSQL within 2 s;
  - every idempotency key answerable (each request retried with its key:
    an acknowledged one returns the same booking, a crashed one returns the
    booking it committed or can be retried at once);
  - every pool at full size (the same children as before the faults);
  - payments final and confirmations mailed (the payments case).

The suite restarts components, so it runs on a stack of its own (the ctest
fixture faults_stack, tests/faults/CMakeLists.txt), never the integration
one. Random choices use fixed seeds; every wait is bounded; nothing asserts
on time (latencies are printed only).
"""

import errno
import os
import random
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import fo  # noqa: E402 - the shared helpers live in tests/integration

SEED = 9
KILL_INTERVAL = 0.3  # seconds between two kill -9 of a bookings worker
KILLS = 20  # kill -9 rounds per worker-kill case
CLIENT_THREADS = 12
CONTENTION_FLIGHTS = 10
CONTENTION_SEATS = 6  # few seats, many users racing for them
RACERS = 40
QUIET_FLIGHTS = 3
SLOT = 0.5  # seconds the racers spend on one contention flight before the next
DISTINCT_SEATS = 240
SETTLE = 2.0  # the promise: Redis never decides for longer than this
HEAL_WATCH = 10.0  # how long an available_seats error is followed (figure only)
RECOVER_WAIT = 90.0
PAID_BOOKINGS = 300
PAY_KILL_WINDOW = 20.0  # seconds the processors are killed while payments are processed
SLOW_CONNECTIONS = 5000
SLOW_ADDRESS = "127.0.0.77"
SLOW_SECONDS = 15.0  # normal traffic measured while the slow clients hold on
POOLS = ("users", "flights", "bookings", "payments", "notifications", "mailer")
FREE, HELD, BOOKED = "available", "held", "booked"
SEAT_TAKEN = "Seat is already locked or booked"

STOPPED = fo.STOPPED  # components stopped and not started again yet
BASELINE = {}  # pool -> sorted list of its children's names at the start


def say(*parts):
    print(" ".join(str(p) for p in parts), file=sys.stderr, flush=True)


def pool_shape(pool):
    """Sorted names of the children of pool's master ("bookings:worker"...)."""
    try:
        master = fo.read_pid(pool)
    except (OSError, ValueError):
        return None
    return sorted(filter(None, (fo.comm(k) for k in fo.children(master))))


def kids_named(pool, name):
    try:
        master = fo.read_pid(pool)
    except (OSError, ValueError):
        return []
    return sorted(k for k in fo.children(master) if fo.comm(k) == name)


def tearDownModule():
    fo.restore_components()


# ---------------------------------------------------------------- PostgreSQL

def pgdata():
    """The data folder ./flightops gave PostgreSQL (FO_VAR or its /var/tmp twin)."""
    import hashlib
    here = os.path.join(fo.VAR, "pgdata")
    if os.path.isfile(os.path.join(here, "PG_VERSION")):
        return here
    digest = hashlib.sha256(os.path.realpath(fo.VAR).encode()).hexdigest()[:12]
    return "/var/tmp/flightops-%s/pgdata" % digest


def pg_bin():
    """The folder of the running postmaster's binary (its pg_ctl matches it)."""
    try:
        return os.path.dirname(os.readlink("/proc/%d/exe" % fo.read_pid("postgres")))
    except (OSError, ValueError):
        pass
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        return out.stdout.strip()
    return "/usr/lib/postgresql/15/bin"


def pg_restart(mode):
    """pg_ctl restart -m MODE as the postgres user, then record the new
    postmaster pid where ./flightops looks for it (so `down` stops it)."""
    data = pgdata()
    with open(os.path.join(fo.VAR, "log", "postgres.log"), "ab") as log:
        # Output to a file: the new postmaster inherits it, a pipe would never close.
        p = subprocess.run(["runuser", "-u", "postgres", "--",
                            os.path.join(pg_bin(), "pg_ctl"), "restart", "-m", mode,
                            "-w", "-t", "120", "-s", "-D", data],
                           cwd="/", stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                           start_new_session=True, timeout=180)
    if p.returncode != 0:
        raise AssertionError("pg_ctl restart -m %s exited %d (see %s/log/postgres.log)"
                             % (mode, p.returncode, fo.VAR))
    with open(os.path.join(data, "postmaster.pid"), encoding="ascii") as f:
        pid = f.readline().strip()
    with open(os.path.join(fo.VAR, "run", "postgres.pid"), "w", encoding="ascii") as f:
        f.write(pid + "\n")


def not_final(ids):
    """[id, status] of the payments of ids (a comma list) not final yet."""
    return [r for r in rows("flightops_payments",
                            "SELECT id, status FROM payments WHERE id IN (%s)" % ids)
            if r[1] not in fo.FINAL_PAYMENT]


def rows(database, sql):
    return [line.split("|") for line in fo.psql(database, sql).splitlines() if line.strip()]


def live_bookings(flight_ids):
    """{(flight_id, seat): [(booking_id, user_id, status), ...]} of the
    pending and confirmed bookings of flight_ids, from PostgreSQL: every
    seat of each (booking_seats, a row per passenger)."""
    out = {}
    ids = ",".join(str(i) for i in flight_ids)
    for bid, uid, fid, seat, status in rows(
            "flightops_bookings",
            "SELECT b.id, b.user_id, s.flight_id, s.seat_number, b.status "
            "FROM bookings b JOIN booking_seats s ON s.booking_id = b.id "
            "WHERE s.flight_id IN (%s) AND b.status IN ('pending', 'confirmed')" % ids):
        out.setdefault((int(fid), seat), []).append((int(bid), int(uid), status))
    return out


def bookings_by_id(ids):
    if not ids:
        return {}
    out = {}
    for chunk in range(0, len(ids), 500):
        part = ",".join(str(i) for i in ids[chunk:chunk + 500])
        for bid, uid, fid, seat, status in rows(
                "flightops_bookings",
                "SELECT id, user_id, flight_id, seat_number, status FROM bookings "
                "WHERE id IN (%s)" % part):
            out[int(bid)] = (int(uid), int(fid), seat, status)
    return out


# ---------------------------------------------------------------- clients

class Attempt:
    """One POST /bookings a client sent, with its key and what it saw."""

    __slots__ = ("user", "flight", "seat", "key", "status", "body", "error")

    def __init__(self, user, flight, seat, key):
        self.user, self.flight, self.seat, self.key = user, flight, seat, key
        self.status = self.body = self.error = None

    def send(self):
        try:
            r = fo.book(self.user[2], self.flight, self.seat,
                        headers={"Idempotency-Key": self.key})
            self.status, self.body = r.status, r.body
        except Exception as e:  # noqa: BLE001 - a crash the client saw
            self.error = "%s: %s" % (type(e).__name__, e)
        return self

    @property
    def acked(self):
        return self.status == 201 and isinstance(self.body, dict)

    @property
    def crashed(self):
        """No clear answer: the request may or may not have committed."""
        return self.error is not None or (self.status or 0) >= 500


def statuses(attempts):
    counts = {}
    for a in attempts:
        k = a.status if a.error is None else "neterr"
        counts[k] = counts.get(k, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: str(kv[0])))


class Racers:
    """Threads sending POST /bookings until stopped. pick(rng) -> (user,
    flight, seat) or None (nothing left). Every attempt is recorded."""

    def __init__(self, pick, threads=CLIENT_THREADS, seed=SEED, pause=0.0, browse=True):
        self.pick, self.pause, self.browse = pick, pause, browse
        self.attempts = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(random.Random(seed * 1000 + i),),
                                          daemon=True) for i in range(threads)]

    def _run(self, rng):
        while not self._stop.is_set():
            choice = self.pick(rng)
            if choice is None:
                return
            user, flight, seat = choice
            if self.browse and rng.random() < 0.2:
                # Clients look before they book: the seat counts and the
                # seat map get cached (in Redis) while the fault runs.
                try:
                    fo.get("%s/flights/%d" % (fo.FLIGHTS, flight))
                    fo.get("%s/flights/%d/seats" % (fo.BOOKINGS, flight))
                except Exception:  # noqa: BLE001 - only the bookings are judged
                    pass
            a = Attempt(user, flight, seat, "faults-%s-%d" % (fo.unique("k"), rng.randrange(1 << 30)))
            a.send()
            with self._lock:
                self.attempts.append(a)
            if self.pause:
                self._stop.wait(self.pause)

    def count(self):
        with self._lock:
            return len(self.attempts)

    def __enter__(self):
        for t in self._threads:
            t.start()
        # Faults start once the clients are really sending.
        fo.wait_for(lambda: self.count() >= 20, 60, 0.02, "the first 20 bookings requests")
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(fo.TIMEOUT * 3)


def contention_picker(users, flights):
    """Many users racing few seats: all clients on one small flight for
    SLOT seconds, then the next (round robin)."""
    start = time.monotonic()

    def pick(rng):
        f = flights[int((time.monotonic() - start) / SLOT) % len(flights)]
        return rng.choice(users), f["id"], rng.choice(fo.seat_names(f["total_seats"]))
    return pick


def distinct_picker(users, flights):
    """Every seat asked for once, seat i by user i % len(users)."""
    seats = [(f["id"], s) for f in flights for s in fo.seat_names(f["total_seats"])]
    counter = iter(range(len(seats)))
    lock = threading.Lock()

    def pick(rng):
        with lock:
            i = next(counter, None)
        if i is None:
            return None
        return (users[i % len(users)],) + seats[i]
    return pick


def kill_workers(pool, kills, interval, name=None):
    """kill -9 a random request child of pool every interval seconds,
    kills times; the number of processes killed."""
    rng = random.Random(SEED)
    name = name or pool + ":worker"
    done = 0
    for _ in range(kills):
        victims = kids_named(pool, name)
        if victims:
            try:
                os.kill(rng.choice(victims), signal.SIGKILL)
                done += 1
            except ProcessLookupError:
                pass
        time.sleep(interval)
    return done


# ---------------------------------------------------------------- the tests

class FaultsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        raise_nofile()
        for pool in POOLS:
            fo.wait_healthy(fo.service_url(pool) if pool != "mailer" else fo.MAILER, RECOVER_WAIT)
        for pool in POOLS:
            BASELINE[pool] = fo.wait_for(lambda p=pool: pool_shape(p), 30, 0.2,
                                         "the %s pool's children" % pool)
        cls.admin = fo.admin_token()
        cls.probers = new_users(2)
        cls.summary = []

    @classmethod
    def tearDownClass(cls):
        say("\n==== fault suite summary")
        for line in cls.summary:
            say(line)

    def setUp(self):
        self.addCleanup(fo.restore_components)
        fo.wait_healthy(fo.BOOKINGS, RECOVER_WAIT)

    # ------------------------------------------------------------ helpers

    def flights(self, n, seats):
        return [fo.create_flight(self.admin, total_seats=seats, price=100.0) for _ in range(n)]

    def run_contention(self, fault, users=None):
        """Racers on fresh small flights while fault() runs; (flights,
        attempts, fault's figure)."""
        flights = self.flights(CONTENTION_FLIGHTS, CONTENTION_SEATS)
        # Fresh racers for each fault: the seats they won before would count
        # against their MAX_ACTIVE_HOLDS.
        users = users or new_users(RACERS)
        # Quiet flights: partly booked and counted before the fault (their
        # seat counts are in Redis), then left alone until the checks, so
        # nothing but a repair can make their counts right again.
        quiet = self.flights(QUIET_FLIGHTS, CONTENTION_SEATS)
        before = [Attempt(users[i], f["id"], seat, "quiet-%s" % fo.unique("k")).send()
                  for f in quiet for i, seat in enumerate(fo.seat_names(CONTENTION_SEATS)[:3])]
        for f in quiet:
            fo.get_flight(f["id"])
            fo.seat_map(f["id"])
        lock = threading.Lock()

        def book_quiet(seat):
            """One more booking on every quiet flight (while the fault
            lasts, and once after it: a write to a set Redis lost)."""
            got = [Attempt(users[10 + i], f["id"], seat, "quiet-%s" % fo.unique("k")).send()
                   for i, f in enumerate(quiet)]
            with lock:
                before.extend(got)

        def during():
            t = threading.Thread(target=book_quiet, args=("1D",), daemon=True)
            t.start()
            threads.append(t)
        threads = []
        with Racers(contention_picker(users, flights)) as racers:
            figure = fault(during)
            time.sleep(0.5)  # a few requests after the fault, still racing
        for t in threads:
            t.join(fo.TIMEOUT * len(quiet) + 5)
        book_quiet("1E")
        return flights + quiet, before + racers.attempts, figure

    def settle(self):
        """The fault is over: wait until the pools are whole and healthy,
        then the promised SETTLE seconds. Returns the pool shapes' errors."""
        for pool in POOLS:
            fo.wait_healthy(fo.service_url(pool) if pool != "mailer" else fo.MAILER, RECOVER_WAIT)
        bad = {}
        for pool in POOLS:
            try:
                fo.wait_for(lambda p=pool: pool_shape(p) == BASELINE[p], 30, 0.1,
                            "the %s pool at full size %s" % (pool, BASELINE[pool]))
            except AssertionError:
                bad[pool] = (BASELINE[pool], pool_shape(pool))
        time.sleep(SETTLE)
        return bad

    def check(self, name, flights, attempts, extra=None):
        """Every invariant after a fault; prints the figures, then fails
        with the list of broken ones."""
        bad_pools = self.settle()
        fids = [f["id"] for f in flights]
        totals = {f["id"]: f["total_seats"] for f in flights}
        failures = []
        fig = {"requests": len(attempts), "statuses": statuses(attempts)}
        if extra:
            fig.update(extra)

        # 1. double sales
        live = live_bookings(fids)
        doubles = {k: v for k, v in live.items() if len(v) > 1}
        fig["double_sales"] = len(doubles)
        if doubles:
            failures.append("double sales: %s" % sorted(doubles.items())[:5])

        # 2. lost acknowledged bookings
        acked = [a for a in attempts if a.acked]
        found = bookings_by_id([a.body["id"] for a in acked])
        lost = [a.body["id"] for a in acked
                if found.get(a.body["id"], (None,))[:3] != (a.user[0]["id"], a.flight, a.seat)]
        fig["acknowledged"] = len(acked)
        fig["lost_acknowledged"] = len(lost)
        if lost:
            failures.append("acknowledged bookings missing from PostgreSQL: %s" % lost[:10])

        # 3. available_seats and the seat map against PostgreSQL, within SETTLE
        #    of the fault's end (already waited); followed a little longer for the figure.
        def errors_now():
            live_now = live_bookings(fids)
            count_err, map_err = {}, 0
            for f in fids:
                want = totals[f] - sum(1 for (ff, _), v in live_now.items() if ff == f and v)
                got = fo.get_flight(f)["available_seats"]
                if got != want:
                    count_err[f] = got - want
                smap = fo.seat_map(f)
                for seat in fo.seat_names(totals[f]):
                    v = live_now.get((f, seat))
                    want_s = FREE if not v else (BOOKED if v[0][2] == "confirmed" else HELD)
                    if smap.get(seat) != want_s:
                        map_err += 1
            return count_err, map_err
        count_err, map_err = errors_now()
        fig["available_seats_error"] = sum(abs(v) for v in count_err.values())
        fig["available_seats_wrong_flights"] = len(count_err)
        fig["seat_map_wrong_seats"] = map_err
        if count_err or map_err:
            failures.append("%d s after the fault: available_seats off by %s, %d seats "
                            "wrong on the seat map" % (SETTLE, count_err, map_err))
            deadline = time.monotonic() + HEAL_WATCH
            healed = None
            while time.monotonic() < deadline:
                time.sleep(1)
                if errors_now() == ({}, 0):
                    healed = HEAL_WATCH - (deadline - time.monotonic())
                    break
            fig["error_healed_after_s"] = ("%.0f more" % healed if healed is not None
                                           else "not within %.0f more" % HEAL_WATCH)

        # 4. every seat PostgreSQL says is free can be booked (then freed again)
        live = live_bookings(fids)
        free = [(f, s) for f in fids for s in fo.seat_names(totals[f]) if not live.get((f, s))]
        # (figure only) 409s during the fault for seats nobody holds now:
        # clients turned away while the fault lasted.
        free_set = set(free)
        fig["refused_seats_free_after"] = len({(a.flight, a.seat) for a in attempts
                                               if a.status == 409 and (a.flight, a.seat) in free_set})
        unbookable = []
        for i, (f, seat) in enumerate(free):
            prober = self.probers[i % len(self.probers)]
            r = None
            for _ in range(4):  # a 5xx is retried; a 409 is the fault we look for
                r = fo.book(prober[2], f, seat)
                if r.status < 500:
                    break
                time.sleep(0.5)
            if r.status == 201:
                c = fo.put("%s/bookings/%d/cancel" % (fo.BOOKINGS, r.body["id"]), token=prober[2])
                self.assertEqual(c.status, 200, fo.describe(c))
            else:
                unbookable.append((f, seat, r.status, r.body))
        fig["free_seats_probed"] = len(free)
        fig["unbookable_seats"] = len(unbookable)
        if unbookable:
            failures.append("free seats that cannot be booked: %s" % unbookable[:5])

        # 5. every idempotency key answerable
        live = live_bookings(fids)
        mine = {}  # (user id, flight, seat) -> live booking id
        for (f, seat), v in live.items():
            for bid, uid, _ in v:
                mine[(uid, f, seat)] = bid
        acked_ids = {a.body["id"] for a in acked}
        wrong_ack, still_running, orphaned, crashed_retried = [], [], [], 0
        for a in attempts:
            if not (a.acked or a.crashed):
                continue
            again = Attempt(a.user, a.flight, a.seat, a.key).send()
            if a.acked:
                if not (again.acked and again.body["id"] == a.body["id"]):
                    wrong_ack.append((a.key, a.body["id"], again.status, again.body, again.error))
                continue
            crashed_retried += 1
            if again.status == 409 and isinstance(again.body, dict) and \
                    "still being processed" in str(again.body.get("detail")):
                still_running.append((a.key, again.body))
            committed = mine.get((a.user[0]["id"], a.flight, a.seat))
            if committed in acked_ids:
                committed = None  # the user won that seat with another request
            if committed is not None and not (again.acked and again.body["id"] == committed):
                orphaned.append((a.key, committed, again.status, again.body, again.error))
        fig["acknowledged_keys_retried"] = len(acked)
        fig["acknowledged_keys_wrong"] = len(wrong_ack)
        fig["crashed_keys_retried"] = crashed_retried
        fig["crashed_keys_still_processing"] = len(still_running)
        fig["crashed_keys_unrecoverable"] = len(orphaned)
        if wrong_ack:
            failures.append("acknowledged keys answering otherwise: %s" % wrong_ack[:5])
        if still_running:
            failures.append("crashed keys still 'being processed' after the fault: %s"
                            % still_running[:5])
        if orphaned:
            failures.append("committed bookings their key cannot get back: %s" % orphaned[:5])

        # 6. every pool at full size
        fig["pools_not_full"] = len(bad_pools)
        if bad_pools:
            failures.append("pools not at full size (want, got): %s" % bad_pools)

        line = "FAULT %-28s %s" % (name, " ".join("%s=%s" % kv for kv in fig.items()))
        say("\n" + line)
        self.summary.append(line + ("  FAILED: %d invariants" % len(failures) if failures else "  ok"))
        self.assertEqual(failures, [], "%s: %d invariants broken" % (name, len(failures)))

    # ------------------------------------------------------------ bookings workers

    def test_a_kill_workers_contention(self):
        def fault(during):
            during()
            return kill_workers("bookings", KILLS, KILL_INTERVAL)
        flights, attempts, kills = self.run_contention(fault)
        self.check("kill -9 workers (contention)", flights, attempts, {"kills": kills})

    def test_b_kill_workers_distinct_seats(self):
        flights = self.flights(2, DISTINCT_SEATS)
        # 480 seats over 60 users: 8 holds each, under MAX_ACTIVE_HOLDS; a
        # paced load so that the seats last as long as the kills.
        users = new_users(60)
        with Racers(distinct_picker(users, flights), threads=4, pause=0.05) as racers:
            kills = kill_workers("bookings", KILLS, KILL_INTERVAL)
        self.check("kill -9 workers (distinct)", flights, racers.attempts, {"kills": kills})

    # ------------------------------------------------------------ PostgreSQL

    def test_c_postgres_restart_fast(self):
        flights, attempts, _ = self.run_contention(
            lambda during: (time.sleep(1), during(), pg_restart("fast")))
        self.check("postgres restart -m fast", flights, attempts)

    def test_d_postgres_restart_immediate(self):
        flights, attempts, _ = self.run_contention(
            lambda during: (time.sleep(1), during(), pg_restart("immediate")))
        self.check("postgres restart -m immediate", flights, attempts)

    # ------------------------------------------------------------ Redis

    def test_e_redis_stop(self):
        def fault(during):
            STOPPED.append("redis")
            fo.component("stop", "redis")
            during()
            time.sleep(3)
            fo.component("start", "redis")
            STOPPED.remove("redis")
        flights, attempts, _ = self.run_contention(fault)
        self.check("redis stopped 3 s", flights, attempts)

    def test_f_redis_restart(self):
        def fault(during):
            time.sleep(1)
            STOPPED.append("redis")
            fo.component("stop", "redis")
            fo.component("start", "redis")
            STOPPED.remove("redis")
            during()
            time.sleep(1)
        flights, attempts, _ = self.run_contention(fault)
        self.check("redis restart", flights, attempts)

    def test_g_redis_sigstop(self):
        def fault(during):
            time.sleep(1)
            pid = fo.read_pid("redis")
            os.kill(pid, signal.SIGSTOP)
            try:
                during()
                time.sleep(8)
            finally:
                os.kill(pid, signal.SIGCONT)
        flights, attempts, _ = self.run_contention(fault)
        self.check("redis SIGSTOP 8 s", flights, attempts)

    # ------------------------------------------------------------ payments and mail

    def test_h_processors_killed_while_paying(self):
        flight = self.flights(1, PAID_BOOKINGS)[0]
        users = new_users(50)  # 6 bookings each
        seats = fo.seat_names(PAID_BOOKINGS)
        attempts = [Attempt(users[i % len(users)], flight["id"], seat, "pay-%s" % fo.unique("k"))
                    for i, seat in enumerate(seats)]
        fo.parallel(lambda a: a.send(), attempts, workers=8)
        held = [a for a in attempts if a.acked]
        self.assertEqual(len(held), PAID_BOOKINGS, statuses(attempts))

        stop = threading.Event()
        kills = {"payments:tick": 0, "bookings:tick": 0, "mailer:tick": 0, "mailer:worker": 0}

        def killer():
            rng = random.Random(SEED)
            names = sorted(kills)
            while not stop.is_set():
                name = rng.choice(names)
                victims = kids_named(name.split(":")[0], name)
                if victims:
                    try:
                        os.kill(victims[0], signal.SIGKILL)
                        kills[name] += 1
                    except ProcessLookupError:
                        pass
                stop.wait(0.3)
        t = threading.Thread(target=killer, daemon=True)
        t.start()
        try:
            paid = fo.parallel(lambda a: fo.pay(a.user[2], a.body,
                                                headers={"Idempotency-Key": "p" + a.key}),
                               held, workers=8)
            payment_ids = [r.body["id"] for r in paid
                           if isinstance(r, fo.Response) and r.status == 202]
            ids = ",".join(str(i) for i in payment_ids) or "0"
            # Keep killing while the processor works through them (bounded:
            # a processor that cannot finish under kills is seen below).
            try:
                fo.wait_for(lambda: not not_final(ids), PAY_KILL_WINDOW, 0.5,
                            "payments final while their processors are killed")
            except AssertionError:
                pass
        finally:
            stop.set()
            t.join(10)
        pay_status = {}
        for r in paid:
            k = r.status if isinstance(r, fo.Response) else "neterr"
            pay_status[k] = pay_status.get(k, 0) + 1
        bad_pools = self.settle()
        failures = []
        fig = {"kills": sum(kills.values()), "kills_by_child": kills,
               "payments_sent": len(paid), "payment_statuses": pay_status}
        if len(payment_ids) != len(held):
            failures.append("POST /payments not all 202: %s" % pay_status)

        try:
            fo.wait_for(lambda: not not_final(ids), 180, 0.5, "every payment final")
        except AssertionError:
            pass
        pending = not_final(ids)
        fig["payments_not_final"] = len(pending)
        if pending:
            failures.append("payments not final: %s" % pending[:10])

        bids = [a.body["id"] for a in held]
        try:
            fo.wait_for(lambda: all(v[3] == "confirmed" for v in bookings_by_id(bids).values()),
                        120, 0.5, "every paid booking confirmed")
        except AssertionError:
            pass
        unconfirmed = [b for b, v in bookings_by_id(bids).items() if v[3] != "confirmed"]
        fig["bookings_not_confirmed"] = len(unconfirmed)
        if unconfirmed:
            failures.append("paid bookings not confirmed: %s" % unconfirmed[:10])

        bl = ",".join(str(b) for b in bids)

        def confirmations():
            return {int(r[1]): (int(r[0]), r[2]) for r in rows(
                "flightops_notifications",
                "SELECT id, booking_id, status FROM notifications WHERE "
                "type = 'booking_confirmation' AND booking_id IN (%s)" % bl)}
        try:
            fo.wait_for(lambda: len(confirmations()) == len(bids)
                        and all(s == "sent" for _, s in confirmations().values()),
                        180, 1.0, "every confirmation sent")
        except AssertionError:
            pass
        conf = confirmations()
        fig["confirmations_missing"] = len(set(bids) - set(conf))
        fig["confirmations_not_sent"] = sum(1 for _, s in conf.values() if s != "sent")
        mailed = {}
        for _, msg in fo.maildir(headers_only=True):
            mid = (msg.get("Message-ID") or "").strip()
            mailed[mid] = mailed.get(mid, 0) + 1
        unmailed = [n for n, _ in conf.values() if not mailed.get(fo.message_id_of(n))]
        fig["confirmations_not_mailed"] = len(unmailed)
        fig["confirmations_mailed_twice"] = sum(1 for n, _ in conf.values()
                                                if mailed.get(fo.message_id_of(n), 0) > 1)
        if fig["confirmations_missing"] or fig["confirmations_not_sent"] or unmailed:
            failures.append("confirmations: %d missing, %d not sent, %d not in the Maildir"
                            % (fig["confirmations_missing"], fig["confirmations_not_sent"],
                               len(unmailed)))
        # Every payment's key answers its payment again.
        by_booking = {a.body["id"]: a for a in held}
        wrong_keys = []
        for r in paid:
            if not (isinstance(r, fo.Response) and r.status == 202):
                continue
            a = by_booking[r.body["booking_id"]]
            again = fo.pay(a.user[2], a.body, headers={"Idempotency-Key": "p" + a.key})
            if again.status != 202 or again.body.get("id") != r.body["id"]:
                wrong_keys.append((r.body["id"], again.status, again.body))
        fig["payment_keys_wrong"] = len(wrong_keys)
        if wrong_keys:
            failures.append("payment keys answering otherwise: %s" % wrong_keys[:5])
        fig["pools_not_full"] = len(bad_pools)
        if bad_pools:
            failures.append("pools not at full size (want, got): %s" % bad_pools)
        line = "FAULT %-28s %s" % ("processors killed, 300 paid",
                                   " ".join("%s=%s" % kv for kv in fig.items()))
        say("\n" + line)
        self.summary.append(line + ("  FAILED: %d invariants" % len(failures) if failures else "  ok"))
        self.assertEqual(failures, [], "processors killed: %d invariants broken" % len(failures))

    # ------------------------------------------------------------ slow clients

    def test_i_slow_clients(self):
        flight = self.flights(1, 12)[0]
        url = "%s/flights/%d" % (fo.GATEWAY, flight["id"])
        fo.wait_for(lambda: fo.get(url).status == 200, 30, 0.2, "the gateway to answer")
        slow = SlowClients(SLOW_ADDRESS, fo.HOST, fo.GATEWAY_PORT, SLOW_CONNECTIONS)
        slow.start()
        results = []
        lock = threading.Lock()
        try:
            try:  # a gateway that refuses some of them is fine: the figure says how many
                fo.wait_for(lambda: slow.ramped, 30, 0.2,
                            "%d slow connections opened" % SLOW_CONNECTIONS)
            except AssertionError:
                pass
            stop = threading.Event()

            def normal():
                while not stop.is_set():
                    t0 = time.monotonic()
                    try:
                        status = fo.get(url, timeout=10).status
                    except Exception as e:  # noqa: BLE001 - a failure the client saw
                        status = type(e).__name__
                    with lock:
                        results.append((status, time.monotonic() - t0))
                    stop.wait(0.02)
            threads = [threading.Thread(target=normal, daemon=True) for _ in range(4)]
            for t in threads:
                t.start()
            stop.wait(SLOW_SECONDS)
            stop.set()
            for t in threads:
                t.join(15)
        finally:
            slow.stop()
        bad_pools = self.settle()
        ok = sorted(d for s, d in results if s == 200)
        failed = [s for s, _ in results if s != 200]
        codes = {}
        for s in failed:
            codes[s] = codes.get(s, 0) + 1

        def pct(p):
            all_d = sorted(d for _, d in results)
            return "%.0f ms" % (1000 * all_d[min(len(all_d) - 1, int(p * len(all_d)))]) \
                if all_d else "-"
        rate = len(ok) / len(results) if results else 0.0
        fig = {"slow_peak_open": slow.peak_open, "slow_opened": slow.opened,
               "slow_closed_by_server": slow.closed_by_server,
               "slow_connect_failed": slow.connect_failed,
               "normal_requests": len(results), "normal_ok": len(ok),
               "normal_failed": dict(sorted(codes.items(), key=lambda kv: str(kv[0]))),
               "success_rate": "%.3f" % rate, "p50": pct(0.50), "p99": pct(0.99),
               "pools_not_full": len(bad_pools)}
        line = "FAULT %-28s %s" % ("%d slow connections" % SLOW_CONNECTIONS,
                                   " ".join("%s=%s" % kv for kv in fig.items()))
        say("\n" + line)
        failures = []
        # The gateway is meant to hold (per-address limits, short timeouts):
        # normal clients from another address keep being served.
        if not results or rate < 0.99:
            failures.append("normal requests under slow clients: %d of %d ok (%s)"
                            % (len(ok), len(results), codes))
        if bad_pools:
            failures.append("pools not at full size (want, got): %s" % bad_pools)
        r = fo.get(url)
        if r.status != 200:
            failures.append("after the slow clients left: %s" % fo.describe(r))
        self.summary.append(line + ("  FAILED: %d invariants" % len(failures) if failures else "  ok"))
        self.assertEqual(failures, [], "slow clients: %d invariants broken" % len(failures))


# ---------------------------------------------------------------- helpers

def raise_nofile():
    """5,000 slow sockets plus the clients need more than a default 1,024 fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 20000) if hard != resource.RLIM_INFINITY else 20000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def new_users(n):
    """n fresh users; a 429 (a /register limit per address) is waited out."""
    def one(_):
        for attempt in range(60):
            r, body = fo.register()
            if r.status == 201:
                return r.body, body["password"], fo.token_for(fo.USERS, body["username"],
                                                               body["password"])
            if r.status != 429:
                raise AssertionError("register: %s" % fo.describe(r))
            time.sleep(min(5.0, 0.2 * (attempt + 1)))
        raise AssertionError("register: still 429 after 60 tries")
    out = fo.parallel(one, range(n), workers=4)
    for item in out:
        if isinstance(item, Exception):
            raise item
    return out


class SlowClients:
    """count connections from source address src to host:port, half of them
    sending a header one byte at a time that never ends, half a complete
    POST header and then its body one byte at a time. A connection the
    server closes is opened again (a hostile client keeps up the pressure).
    One thread, non-blocking sockets."""

    HEADER = (b"GET /flights HTTP/1.1\r\nHost: gateway\r\nUser-Agent: slow\r\nX-Pad: "
              + b"a" * 4000)
    POST = (b"POST /bookings HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n")

    RATE = 2000  # new connections a second, at most

    def __init__(self, src, host, port, count):
        self.src, self.addr, self.count = src, (host, port), count
        self.opened = self.closed_by_server = self.connect_failed = 0
        self.peak_open = 0
        self.ramped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(60)

    def _open(self, sel, i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((self.src, 0))
            err = s.connect_ex(self.addr)
        except OSError:
            s.close()
            self.connect_failed += 1
            return
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.connect_failed += 1
            return
        # state: [kind, bytes sent of the preamble, connected?, since]
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE,
                     [i % 2, 0, False, time.monotonic()])
        self.opened += 1

    def _run(self):
        sel = selectors.DefaultSelector()
        rng = random.Random(SEED)
        next_drip = last = time.monotonic()
        budget = 0.0
        try:
            while not self._stop.is_set():
                # Keep count open; new connections at most RATE a second (a
                # refused one is tried again, but not as a flood of SYNs).
                now = time.monotonic()
                budget = min(self.RATE, budget + (now - last) * self.RATE)
                last = now
                n = len(sel.get_map())
                for i in range(min(int(budget), self.count - n)):
                    self._open(sel, rng.randrange(2))
                    budget -= 1
                n = len(sel.get_map())
                self.peak_open = max(self.peak_open, n)
                if n >= self.count or self.opened >= self.count:
                    self.ramped = True
                drip = time.monotonic() >= next_drip
                if drip:
                    next_drip = time.monotonic() + 1.0
                for key, ev in sel.select(timeout=0.05):
                    s, st = key.fileobj, key.data
                    if ev & selectors.EVENT_READ:
                        try:
                            data = s.recv(4096)
                        except OSError:
                            data = b""
                        if not data:  # the server gave up on us: good for it
                            sel.unregister(s)
                            s.close()
                            self.closed_by_server += 1
                            continue
                    if ev & selectors.EVENT_WRITE and not st[2]:
                        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                            sel.unregister(s)
                            s.close()
                            self.connect_failed += 1
                            continue
                        st[2] = True
                        sel.modify(s, selectors.EVENT_READ, st)
                if drip:
                    self._drip(sel)
        finally:
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            sel.close()

    def _drip(self, sel):
        """One more byte on every connected socket (a full POST header first)."""
        for key in list(sel.get_map().values()):
            s, st = key.fileobj, key.data
            if not st[2]:
                continue
            pre = self.HEADER if st[0] == 0 else self.POST
            try:
                if st[0] == 1 and st[1] == 0:
                    s.send(pre)
                    st[1] = len(pre)
                elif st[0] == 0 and st[1] < len(pre):
                    st[1] += s.send(pre[st[1]:st[1] + 1])
                else:
                    s.send(b"a" if st[0] == 0 else b"1")
            except OSError:
                sel.unregister(s)
                s.close()
                self.closed_by_server += 1


if __name__ == "__main__":
    unittest.main()
