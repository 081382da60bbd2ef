#!/usr/bin/env python3
"""bench/measure.py - every row of the benchmark, against the stack and the
floors bench/run started (it sets the environment below and runs this).

Floors, measured in the same run: nginx `return 200`; nginx -> bare
libfcgi (the "FastCGI floor"); nginx -> libfcgi -> one PK SELECT;
`pgbench -S`; the SMTP sink's own rate with a plain SMTP client
(smtplib, one connection); the password hash's ceiling (cores / time per
hash of the stored yescrypt setting). Then each endpoint with wrk, the
1,000-racer contention case, the mail path, the live seat map (bench/live.py)
and the stack's PSS idle and under load. Writes bench/results/<time>.md,
latest.md, latest.json and latest.png (gnuplot). Timings are reported,
never asserted; every wait is bounded.

Environment (from bench/run): BENCH_DIR, FO_* (the stack), BENCH_FLOOR1..3
and BENCH_USERS_DIRECT (ports of the bench nginx), BENCH_THREADS, BENCH_CONNS, BENCH_DURATION, BENCH_WARMUP,
BENCH_WORKERS, BENCH_SKIP (space-separated row groups to leave out: token,
racers, mail, live).
"""

import asyncio
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # libxcrypt's crypt(3): the same hash the users pool checks
import json
import os
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from email.message import EmailMessage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import fo  # noqa: E402  (the test helpers: tokens, flights, bookings, secrets)

BENCH = os.environ["BENCH_DIR"]
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONNS = int(os.environ.get("BENCH_CONNS", "64"))
DURATION = os.environ.get("BENCH_DURATION", "5s")
WARMUP = os.environ.get("BENCH_WARMUP", "2s")
WORKERS = os.environ.get("BENCH_WORKERS", "?")
SKIP = set(os.environ.get("BENCH_SKIP", "").split())
FLOORS = [int(os.environ["BENCH_FLOOR%d" % i]) for i in (1, 2, 3)]
RESULTS = os.path.join(HERE, "results")
PG_BIN = "/usr/lib/postgresql/15/bin"
RACERS = 1000
MAILS = 10000


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ wrk

LUA_STATUS = r"""
-- counts answers by status (wrk's own summary only counts non-2xx)
local counts = {}
function response(status, headers, body)
	counts[status] = (counts[status] or 0) + 1
end
function done(summary, latency, requests)
end
"""


def _ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return float("nan")
    n, unit = float(m.group(1)), m.group(2)
    return {"us": n / 1000.0, "ms": n, "s": n * 1000.0, "m": n * 60000.0}[unit]


def wrk(name, url, script=None, headers=(), conns=None, duration=None, warm=True, args=()):
    """Run wrk (after a warm-up); a dict rps, p50, p99 (ms), statuses."""
    conns = conns or CONNS
    base = ["wrk", "-t%d" % THREADS, "-c%d" % conns]
    for h in headers:
        base += ["-H", h]
    if script:
        base += ["-s", script]
    if warm:
        subprocess.run(base + ["-d" + WARMUP, url, "--"] + list(args) + ["warmup"],
                       capture_output=True, text=True, timeout=120)
    out = subprocess.run(base + ["-d" + (duration or DURATION), "--latency", url, "--"] +
                         list(args) + ["run"], capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    with open(os.path.join(BENCH, "wrk-%s.txt" % name), "w", encoding="utf-8") as f:
        f.write(" ".join(base) + "\n" + text)
    r = {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "statuses": {}, "errors": 0}
    for line in text.splitlines():
        s = line.split()
        if line.startswith("Requests/sec:"):
            r["rps"] = float(s[1])
        elif s[:1] == ["50%"]:
            r["p50"] = _ms(s[1])
        elif s[:1] == ["99%"]:
            r["p99"] = _ms(s[1])
        elif line.startswith("  Socket errors:"):
            r["errors"] += sum(int(x) for x in re.findall(r"\d+", line))
        elif line.startswith("status "):  # from the scripts' done()
            r["statuses"][s[1]] = int(s[2])
        elif "Non-2xx or 3xx responses:" in line and not r["statuses"]:
            r["non2xx"] = int(s[-1])
    return r


def lua_file(name, text):
    path = os.path.join(BENCH, name + ".lua")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


# The status counting of every script: each thread reports its counts in
# done() through a shared table (wrk's setup/done run in the main state).
LUA_COMMON = r"""
local threads = {}
function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end
counts = {}
function response(status, headers, body)
	counts[status] = (counts[status] or 0) + 1
end
function done(summary, latency, requests)
	local total = {}
	for _, t in ipairs(threads) do
		local c = t:get("counts")
		for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
	end
	for k, v in pairs(total) do io.write(string.format("status %d %d\n", k, v)) end
end
"""


def status_script(name):
    return lua_file(name, LUA_COMMON)


def bookings_script(name, tokens, flights, per_booking):
    """POST /bookings on distinct seats: thread t of THREADS takes its own
    share of flights; each request the next per_booking seats of them.
    The last wrk argument ("warmup" or "run") picks which half of the
    flights, so the warm-up never takes a seat of the measured run."""
    per = len(flights) // (2 * THREADS)
    text = LUA_COMMON + """
local tokens = {%s}
local flights = {%s}
local per_booking = %d
local per = %d
local seats = 853
local letters = {"A", "B", "C", "D", "E", "F"}
local n = 0
local base
function init(args)
	local half = (args[#args] == "run") and 1 or 0
	base = (half * %d + tid) * per
end
local function seat(i)
	return tostring(math.floor(i / 6) + 1) .. letters[i %% 6 + 1]
end
function request()
	local first = n * per_booking
	n = n + 1
	-- past its share a thread starts again (its seats are taken then: 409s)
	local f = flights[base + math.floor(first / (seats - seats %% per_booking)) %% per + 1]
	local s = first %% (seats - seats %% per_booking)
	local body
	if per_booking == 1 then
		body = string.format('{"flight_id":%%d,"seat_number":"%%s"}', f, seat(s))
	else
		local p = {}
		for k = 0, per_booking - 1 do
			p[#p + 1] = string.format('{"full_name":"Bench Passenger %%d","seat_number":"%%s"}',
				k + 1, seat(s + k))
		end
		body = string.format('{"flight_id":%%d,"passengers":[%%s]}', f, table.concat(p, ","))
	end
	local token = tokens[(n %% #tokens) + 1]
	return wrk.format("POST", "/bookings", {["Content-Type"] = "application/json",
		["Authorization"] = "Bearer " .. token}, body)
end
""" % (",".join('"%s"' % t for t in tokens), ",".join(str(f) for f in flights), per_booking,
       per, THREADS)
    return lua_file(name, text)


def token_script(name, username, password):
    body = urllib.parse.urlencode({"username": username, "password": password})
    return lua_file(name, LUA_COMMON + """
wrk.method = "POST"
wrk.body = "%s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
""" % body)


# ------------------------------------------------------------------ PSS

def stack_pids():
    run = os.path.join(fo.VAR, "run")
    roots = set()
    for name in os.listdir(run):
        if name.endswith(".pid"):
            try:
                with open(os.path.join(run, name), encoding="ascii") as f:
                    roots.add(int(f.read().split()[0]))
            except (OSError, ValueError, IndexError):
                pass
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d, encoding="ascii", errors="replace") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    pids = set(p for p in roots if p in parent)
    grew = True
    while grew:
        grew = False
        for p, pp in parent.items():
            if pp in pids and p not in pids:
                pids.add(p)
                grew = True
    return pids


def pss_mib():
    total = 0
    for p in stack_pids():
        try:
            with open("/proc/%d/smaps_rollup" % p, encoding="ascii") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024.0


# ------------------------------------------------------------------ floors

def psql(db, sql):
    env = dict(os.environ, PGPASSWORD=fo.secrets()["PG_PASSWORD"])
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", os.environ["FO_PG_PORT"], "-U",
                          "flightops", "-d", db, "-X", "-q", "-t", "-A", "-c", sql],
                         capture_output=True, text=True, env=env, timeout=300)
    if out.returncode:
        raise SystemExit("psql %s: %s" % (db, out.stderr))
    return out.stdout.strip()


def pgbench():
    env = dict(os.environ, PGPASSWORD=fo.secrets()["PG_PASSWORD"])
    conn = ["-h", "127.0.0.1", "-p", os.environ["FO_PG_PORT"], "-U", "flightops"]
    # the bench stack's own throwaway database (the role may not create one)
    db = "flightops_users"
    subprocess.run(["pgbench", "-i", "-q", "-s", "10"] + conn + [db], capture_output=True,
                   env=env, check=True, timeout=300)
    secs = int(_ms(DURATION) / 1000) or 5
    out = subprocess.run(["pgbench", "-S", "-n", "-c", str(CONNS), "-j", str(THREADS), "-T",
                          str(secs)] + conn + [db], capture_output=True, text=True, env=env,
                         timeout=120).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    return {"rps": tps, "p50": float("nan"), "p99": float("nan"),
            "note": "avg latency %s ms" % (lat.group(1) if lat else "?"), "statuses": {}}


# One durable INSERT of a booking row, as bookings' own table has it (every
# index), by as many clients as the bookings pool has children: what
# PostgreSQL alone does on this machine with synchronous_commit on, the
# floor under POST /bookings (which also inserts its seats, counts the
# user's holds and runs nginx, the pool and Redis on the same cores).
INSERT_SCRIPT = r"""\set u random(1, 1000000)
INSERT INTO bench_bookings (reference, user_id, flight_id, seat_number, total_cents,
  hold_expires_at, lock_token, seat_count)
VALUES (upper(substr(md5(random()::text), 1, 6)), :u, 5, '1A', 100,
  now() + interval '10 min', md5(random()::text), 1) ON CONFLICT (reference) DO NOTHING;
"""


def pgbench_insert():
    env = dict(os.environ, PGPASSWORD=fo.secrets()["PG_PASSWORD"])
    conn = ["-h", "127.0.0.1", "-p", os.environ["FO_PG_PORT"], "-U", "flightops"]
    db = "flightops_bookings"
    psql(db, "DROP TABLE IF EXISTS bench_bookings; "
             "CREATE TABLE bench_bookings (LIKE bookings INCLUDING ALL)")
    script = os.path.join(BENCH, "insert.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(INSERT_SCRIPT)
    secs = int(_ms(DURATION) / 1000) or 5
    clients = int(os.environ.get("FO_WORKERS") or 4)
    try:
        out = subprocess.run(["pgbench", "-n", "-f", script, "-c", str(clients), "-j",
                              str(THREADS), "-T", str(secs)] + conn + [db],
                             capture_output=True, text=True, env=env, timeout=120).stdout
    finally:
        psql(db, "DROP TABLE IF EXISTS bench_bookings")
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    return {"rps": tps, "p50": float("nan"), "p99": float("nan"),
            "note": "%d clients, avg latency %s ms" % (clients, lat.group(1) if lat else "?"),
            "statuses": {}}


def sink_rate(n=2000):
    """The SMTP sink's own rate: n messages over one smtplib connection."""
    msg = EmailMessage()
    msg["From"] = "bench@flightops.test"
    msg["To"] = "sink@flightops.test"
    msg["Subject"] = "sink floor"
    msg.set_content("x" * 600)
    with smtplib.SMTP(fo.HOST, int(os.environ["FO_SMTP_PORT"]), timeout=30) as s:
        t0 = time.monotonic()
        for _ in range(n):
            s.send_message(msg)
        dt = time.monotonic() - t0
    return {"rps": n / dt, "p50": dt / n * 1000.0, "p99": float("nan"), "statuses": {},
            "note": "%d messages, one connection" % n}


def hash_ceiling(username, password):
    stored = psql("flightops_users",
                  "SELECT password_hash FROM users WHERE username = '%s'" % username)
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 3.0 or n < 5:
        if crypt.crypt(password, stored) != stored:
            raise SystemExit("hash_ceiling: the stored hash does not match")
        n += 1
    per = (time.monotonic() - t0) / n
    cores = os.cpu_count() or 1
    return {"rps": cores / per, "p50": per * 1000.0, "p99": float("nan"), "statuses": {},
            "note": "%d cores / %.1f ms per hash (%s)" % (cores, per * 1000.0,
                                                         stored.split("$")[1] if "$" in stored
                                                         else "?")}


# ------------------------------------------------------------------ racers

async def _race(flight_id, seat, tokens, n):
    loop = asyncio.get_running_loop()
    conns = []
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        # 125 a source address: below the gateway's 256 per address
        s.bind(("127.0.0.%d" % (20 + i // 125), 0))
        await loop.sock_connect(s, (fo.HOST, fo.GATEWAY_PORT))
        conns.append(s)
    body = json.dumps({"flight_id": flight_id, "seat_number": seat}).encode()
    reqs = [("POST /bookings HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Authorization: Bearer %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
             % (fo.HOST, tokens[i % len(tokens)], len(body))).encode() + body
            for i in range(n)]
    statuses = {}
    last = [0.0]

    async def one(s, req):
        await loop.sock_sendall(s, req)
        data = b""
        while b"\r\n" not in data:
            chunk = await loop.sock_recv(s, 4096)
            if not chunk:
                break
            data += chunk
        last[0] = max(last[0], time.monotonic())
        code = data.split(b" ", 2)[1].decode() if data.count(b" ") >= 2 else "none"
        statuses[code] = statuses.get(code, 0) + 1
        s.close()
    t0 = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(one(s, r) for s, r in zip(conns, reqs))), 60)
    return last[0] - t0, statuses


def racers(admin, tokens):
    f = fo.create_flight(admin, fo.FLIGHTS, total_seats=6)
    dt, statuses = asyncio.run(_race(f["id"], "1A", tokens, RACERS))
    return {"rps": RACERS / dt, "p50": float("nan"), "p99": dt * 1000.0, "statuses": statuses,
            "note": "%d attempts on one seat resolved in %.0f ms" % (RACERS, dt * 1000.0)}


# ------------------------------------------------------------------ mail

def mail(user_id, token, admin):
    """10,000 bulk hold_expired rows queued at once and, right behind them,
    a real booking confirmation (a booking paid through the API): how fast
    the mailer delivers the bulk, and how long the confirmation waits."""
    def sent(tag):
        return int(psql("flightops_notifications",
                        "SELECT count(*) FROM notifications WHERE event_id LIKE 'bench:%s:%%' "
                        "AND status = 'sent'" % tag))
    tag = "m%d" % int(time.time())
    f = fo.create_flight(admin, fo.FLIGHTS, total_seats=6)
    b = fo.book(token, f["id"], "1A", base=fo.GATEWAY)
    assert b.status == 201, fo.describe(b)
    t0 = time.monotonic()
    psql("flightops_notifications",
         "INSERT INTO notifications (user_id, type, message, event_id) "
         "SELECT %d, 'hold_expired', 'bench bulk mail ' || g, 'bench:%s:' || g "
         "FROM generate_series(1, %d) g; NOTIFY mail_queued" % (user_id, tag, MAILS))
    p = fo.pay(token, b.body, base=fo.GATEWAY)
    if p.status not in (201, 202):
        raise SystemExit("mail: payment %s" % fo.describe(p))
    paid = time.monotonic()
    confirm_s = bulk_s = float("nan")
    deadline = t0 + 400
    # both in one loop, each timed when it is seen (±0.2 s)
    while time.monotonic() < deadline and (confirm_s != confirm_s or bulk_s != bulk_s):
        if confirm_s != confirm_s and psql(
                "flightops_notifications",
                "SELECT status FROM notifications WHERE booking_id = %d "
                "AND type = 'booking_confirmation'" % b.body["id"]) == "sent":
            confirm_s = time.monotonic() - paid
        if bulk_s != bulk_s and sent(tag) >= MAILS:
            bulk_s = time.monotonic() - t0
        time.sleep(0.2)
    done = sent(tag)
    dt = bulk_s if bulk_s == bulk_s else time.monotonic() - t0
    bulk = {"rps": done / dt, "p50": float("nan"), "p99": float("nan"), "statuses": {},
            "note": "%d of %d delivered in %.1f s" % (done, MAILS, dt)}
    behind = {"rps": float("nan"), "p50": float("nan"), "p99": confirm_s * 1000.0,
              "statuses": {}, "note": "sent %.1f s after the payment, queued behind %d bulk "
              "mails (±0.2 s: polled)" % (confirm_s, MAILS)}
    return bulk, behind


# ------------------------------------------------------------------ report

def fmt(v, digits=0):
    if v is None or v != v:  # NaN
        return "-"
    return "{:,.{d}f}".format(v, d=digits)


def report(rows, meta):
    os.makedirs(RESULTS, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime())
    lines = ["# FlightOps benchmark, %s" % meta["when"], "",
             "%s; %s. `./flightops bench`, loopback only; each row beside its floor measured "
             "in the same run; timings are never asserted." % (meta["machine"], meta["settings"]),
             "",
             "| row | req/s | p50 ms | p99 ms | answers | floor | × floor | target | note |",
             "| --- | ---: | ---: | ---: | --- | --- | ---: | --- | --- |"]
    for r in rows:
        floor = next((x for x in rows if x["name"] == r.get("floor")), None)
        ratio = r["rps"] / floor["rps"] if floor and floor["rps"] and r["rps"] == r["rps"] \
            else float("nan")
        r["ratio"] = ratio
        answers = ", ".join("%s×%s" % (v, k) for k, v in sorted(r.get("statuses", {}).items()))
        if any(not k.startswith("2") for k in r.get("statuses", {})) and "racers" not in r["name"]:
            answers += " (not all 2xx: × floor counts them all)"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["name"], fmt(r["rps"]), fmt(r["p50"], 2), fmt(r["p99"], 2), answers or "-",
            r.get("floor") or "-", fmt(ratio, 2), r.get("target", ""), r.get("note", "")))
    lines += ["", "Stack PSS: idle %.0f MiB, under load %.0f MiB (target idle ≤ 150 MiB)."
              % (meta["pss_idle"], meta["pss_load"]), ""]
    if meta.get("live"):
        lines += ["## Live seat map", "", meta["live"].strip(), ""]
    text = "\n".join(lines) + "\n"
    for name in (stamp + ".md", "latest.md"):
        with open(os.path.join(RESULTS, name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(RESULTS, "latest.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1, default=str)
    chart(rows)
    print(text)


def chart(rows):
    data = os.path.join(BENCH, "chart.dat")
    # rows whose answers were not all 2xx measure something else: left out
    shown = [r for r in rows if r.get("ratio") == r.get("ratio") and r.get("ratio") is not None
             and all(k.startswith("2") for k in r.get("statuses", {}))]
    with open(data, "w", encoding="utf-8") as f:
        for r in shown:
            f.write('"%s" %.4f\n' % (r["name"].replace('"', "'").replace("`", ""), r["ratio"]))
    png = os.path.join(RESULTS, "latest.png")
    script = """set terminal pngcairo size 1200,700 font ",10" noenhanced
set output "%s"
set style fill solid 0.8
set boxwidth 0.7
set yrange [0:*]
set ylabel "req/s ÷ its floor (same run)"
set xtics rotate by -35 left
set grid ytics
set title "FlightOps: each row beside its floor"
plot "%s" using 0:2:xtic(1) with boxes notitle
""" % (png, data)
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60,
                       capture_output=True)
    except (OSError, subprocess.SubprocessError) as e:
        log("no chart (gnuplot: %s)" % e)


# ------------------------------------------------------------------ main

def main():
    gw = fo.GATEWAY
    admin = fo.admin_token(fo.USERS)
    log("setting up: flights, 80 users")
    seat_flight = fo.create_flight(admin, fo.FLIGHTS, total_seats=300)
    day = fo.unique_day()
    for i in range(30):
        fo.create_flight(admin, fo.FLIGHTS, origin="JFK", destination="LAX",
                         departure_time=fo.iso(day, "%02d:%02d" % (6 + i // 4, (i % 4) * 15)),
                         arrival_time=fo.iso(day, "%02d:%02d" % (12 + i // 4, (i % 4) * 15)))
    users = fo.new_users(80)
    # 40 book one seat at a time, the other 40 four (each holds up to
    # MAX_ACTIVE_HOLDS seats: bench/run raises it to 1000)
    tokens = [u[2] for u in users[:40]]
    tokens4 = [u[2] for u in users[40:]]
    me_id = users[0][0]["id"]
    one = fo.book(tokens[0], seat_flight["id"], "1A", base=gw)
    assert one.status == 201, fo.describe(one)
    booking_id = one.body["id"]

    rows = []

    def add(name, r, floor=None, target="", note=None):
        r = dict(r, name=name, floor=floor, target=target)
        if note:
            r["note"] = note
        rows.append(r)
        log("%-40s %8.0f req/s  p99 %s ms" % (name, r["rps"], fmt(r["p99"], 2)))

    F1, F2, F3 = "nginx return 200", "FastCGI floor", "FastCGI + PK SELECT"
    st = status_script("status")
    pss_idle = pss_mib()
    # the same status-counting script on every row, floors too
    add(F1, wrk("floor1", "http://127.0.0.1:%d/" % FLOORS[0], st))
    add(F2, wrk("floor2", "http://127.0.0.1:%d/" % FLOORS[1], st), F1)
    add(F3, wrk("floor3", "http://127.0.0.1:%d/" % FLOORS[2], st), F2)
    add("pgbench -S", pgbench())
    F4 = "pgbench: one durable INSERT into bookings"
    add(F4, pgbench_insert())

    # PSS under load: sampled in the middle of a gateway run
    sample = {}

    def sampler():
        time.sleep(max(1.0, _ms(DURATION) / 2000.0) + _ms(WARMUP) / 1000.0)
        sample["pss"] = pss_mib()
    t = threading.Thread(target=sampler)
    t.start()
    auth = "Authorization: Bearer " + tokens[0]
    # A token takes a read past the gateway's cache to the flights pool
    # (nginx/site.conf.in): the pool's own speed; anonymous, the cache's.
    add("GET /flights/{id}", wrk("flight", "%s/flights/%d" % (gw, seat_flight["id"]), st,
                                 headers=[auth]), F2, "≥ 0.6")
    t.join()
    add("GET /flights/{id}, anonymous: the gateway's cache",
        wrk("flight-cached", "%s/flights/%d" % (gw, seat_flight["id"]), st), F1, "≥ 0.3")
    me = wrk("users-me", gw + "/users/me", st, headers=[auth])
    add("GET /users/me", me, F2, "≥ 0.6")
    add("GET /bookings/{id}", wrk("booking", "%s/bookings/%d" % (gw, booking_id), st,
                                  headers=[auth]), F2, "≥ 0.6")
    add("GET /flights?origin=JFK&destination=LAX", wrk(
        "search", gw + "/flights?origin=JFK&destination=LAX", st, headers=[auth]), F2, "≥ 0.4")
    add("the same search, anonymous: the gateway's cache", wrk(
        "search-cached", gw + "/flights?origin=JFK&destination=LAX", st), F1, "≥ 0.3")
    add("GET /flights/{id}/seats (300)", wrk(
        "seats", "%s/flights/%d/seats" % (gw, seat_flight["id"]), st, headers=[auth]), F2,
        "≥ 0.4")
    add("the same seat map, anonymous: the gateway's cache", wrk(
        "seats-cached", "%s/flights/%d/seats" % (gw, seat_flight["id"]), st), F1)

    need = 2 * THREADS * 24
    flights = [fo.create_flight(admin, fo.FLIGHTS, total_seats=853)["id"] for _ in range(need)]
    add("POST /bookings (distinct seats, 40 users)", wrk(
        "book1", gw + "/bookings", bookings_script("book1", tokens, flights, 1)), F2,
        "≥ 0.15, p99 ≤ 50 ms, no 5xx")
    floor4 = next(x for x in rows if x["name"] == F4)
    rows[-1]["note"] = "%.2f× %s" % (rows[-1]["rps"] / floor4["rps"], F4) if floor4["rps"] else ""
    flights4 = [fo.create_flight(admin, fo.FLIGHTS, total_seats=853)["id"] for _ in range(need)]
    r4 = wrk("book4", gw + "/bookings", bookings_script("book4", tokens4, flights4, 4))
    add("POST /bookings (4 passengers)", r4, F2, "≥ 0.08")

    if "racers" not in SKIP:
        add("1,000 racers on one seat", racers(admin, tokens), None, "one 201, < 1 s")

    if "token" not in SKIP:
        u = users[1][0]
        password = users[1][1]
        add("password hash ceiling", hash_ceiling(u["username"], password))
        tok = token_script("token", u["username"], password)
        # the users pool's login lane (where the gateway sends /token)
        # through the bench nginx: the gateway limits /token per address,
        # and wrk has one address
        users_port = "http://127.0.0.1:%s/token" % os.environ["BENCH_USERS_DIRECT"]
        add("POST /token (users pool, no per-address limit)",
            wrk("token", users_port, tok, conns=16), "password hash ceiling", "≥ 0.9")
        # a login flood beside /users/me: its p99 against the quiet one
        flood = subprocess.Popen(["wrk", "-t1", "-c16", "-d" + DURATION, "-s", tok,
                                  users_port], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        busy = wrk("users-me-flood", gw + "/users/me", st, headers=[auth], warm=False)
        flood.wait(120)
        add("GET /users/me during a login flood", busy, F2, "p99 ≤ 2× quiet",
            "p99 %.2f ms vs %.2f quiet: %.1f×" % (busy["p99"], me["p99"],
                                                  busy["p99"] / me["p99"]))

    if "mail" not in SKIP:
        add("SMTP sink (smtplib)", sink_rate())
        bulk, behind = mail(me_id, tokens[0], admin)
        add("mail: 10,000 queued", bulk, "SMTP sink (smtplib)", "≥ 0.5")
        add("mail: a confirmation behind 10,000", behind, None, "sent ≤ 2 s")

    live = None
    if "live" not in SKIP:
        log("live seat map: 5,000 subscribers (bench/live.py)")
        out = subprocess.run([sys.executable, os.path.join(HERE, "live.py"), "5000", "5"],
                             capture_output=True, text=True, timeout=600)
        live = out.stdout if out.returncode == 0 else "bench/live.py failed:\n" + out.stderr

    meta = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": "%d cores, %s, %s" % (os.cpu_count(), platform_name(),
                                               "load average before: %s" % LOAD_BEFORE),
            "settings": "wrk -t%d -c%d -d%s after a %s warm-up, %s children per pool"
            % (THREADS, CONNS, DURATION, WARMUP, WORKERS),
            "pss_idle": pss_idle, "pss_load": sample.get("pss", float("nan")), "live": live}
    report(rows, meta)


def platform_name():
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            return dict(line.rstrip().split("=", 1) for line in f if "=" in line).get(
                "PRETTY_NAME", "?").strip('"')
    except OSError:
        return "?"


LOAD_BEFORE = open("/proc/loadavg", encoding="ascii").read().split()[0]

if __name__ == "__main__":
    main()
