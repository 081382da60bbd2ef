"""Several hosts (issue 11; ctest label "hosts"): network namespaces on this
machine stand for hosts, joined by a bridge, with addresses of their own.

    fo-gw1   10.213.77.2   nginx: the gateway :8080, service ports :8000-8005,
    fo-gw2   10.213.77.3   the live seat map's publisher :8090 (both rendered
                           by `flightops nginx-config` from the same templates)
    fo-app1  10.213.77.11  every pool, LISTEN on TCP :9000-9005 (port order of
    fo-app2  10.213.77.12  POOLS); their <PEER>_URLs: app1 -> gw1, app2 -> gw2
    fo-data  10.213.77.20  PostgreSQL :5432 (runuser postgres, data in the
                           build tree), PgBouncer :6432 (pool_mode
                           transaction, PG_POOL_SIZE server connections per
                           database), Redis :6379, an SMTP sink :2525
    root     10.213.77.1   the bridge fo-hosts-br; the test client

Every pool's upstream lists both app hosts; bookings' LIVE_PUBLISH_URL both
publishers; every pool's DATABASE_URL is PgBouncer (DATABASE_POOLER=transaction),
the mailer's DATABASE_LISTEN_URL PostgreSQL itself (LISTEN needs a session). The tests (in name order) show: a booking journey through each
gateway with requests on both app hosts; PostgreSQL's connections beside the
budget; a subscriber on gw2 seeing a change made through gw1; 500 racers for
one seat over both gateways (one 201); a gateway reload that takes a host
out and back in under load (no failed request); app1 killed (kill -9 of
every process in its namespace) under mixed load: only requests in flight
there fail, no booking lost or sold twice, app1 restarted takes traffic
again without a gateway restart.

Processes are started by pid with explicit environments (each pool gets only
the settings its --settings lists) and stopped by pid; the namespaces, links
and run folder (FO_BUILD/hosts-test, or /var/tmp/flightops-hosts-<hash> when
postgres cannot enter the build folder) are removed after the run, also after a
failure, and a run starts by removing what a killed run left (only the
fo-* names above). Waits are bounded; timings are printed, never asserted
beyond generous bounds. Environment: FO_ROOT, FO_BUILD (the pools' binaries),
FO_HOSTS_SUBNET (three octets, default 10.213.77), FO_HOSTS_WORKERS (4).
"""

import concurrent.futures
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("FO_ROOT") or os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(os.environ.get("FO_BUILD") or os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import fo  # noqa: E402 - the integration helpers (HTTP, names, bodies)



def reachable(path):
    """Whether postgres and nginx's workers (nobody) can enter path."""
    return all(subprocess.run(["runuser", "-u", user, "--", "test", "-x", path], cwd="/",
                              capture_output=True).returncode == 0
               for user in ("postgres", "nobody"))


def run_dir():
    """FO_BUILD/hosts-test, or, when postgres or nobody cannot reach the build
    folder (a private checkout, e.g. under a mktemp folder), one of our own
    under /var/tmp named after it, as ./flightops does for its stacks."""
    if os.geteuid() != 0 or reachable(BUILD):
        return os.path.join(BUILD, "hosts-test")
    return "/var/tmp/flightops-hosts-" + hashlib.sha256(BUILD.encode()).hexdigest()[:12]


RUN = run_dir()
NET = os.environ.get("FO_HOSTS_SUBNET") or "10.213.77"
WORKERS = int(os.environ.get("FO_HOSTS_WORKERS") or 4)
BRIDGE = "fo-hosts-br"
HOSTS = {"gw1": 2, "gw2": 3, "app1": 11, "app2": 12, "data": 20}
GATEWAYS = ("gw1", "gw2")
APPS = ("app1", "app2")
POOLS = ("users", "flights", "bookings", "payments", "notifications", "mailer")
POOL_PORT = 9000     # + index in POOLS, on each app host
SERVICE_PORT = 8000  # + index: each gateway's per-service ports
GATEWAY_PORT, LIVE_PORT, PG_PORT, REDIS_PORT, SMTP_PORT = 8080, 8090, 5432, 6379, 2525
BOUNCER_PORT = 6432
# PgBouncer's server connections per database (default_pool_size): fewer
# than the 2 x WORKERS children that share them, so the bound is real
PG_POOL_SIZE = int(os.environ.get("FO_HOSTS_PG_POOL") or 4)
DATABASES = ("users", "flights", "bookings", "payments", "notifications")
PG_BIN = "/usr/lib/postgresql/15/bin"
IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"
WAIT = 90.0


def addr(host):
    return "%s.%d" % (NET, HOSTS[host])


def ns(host):
    return "fo-" + host


def gw_url(gw):
    return "http://%s:%d" % (addr(gw), GATEWAY_PORT)


def say(*parts):
    print("hosts:", *parts, flush=True)


def run(cmd, check=True, timeout=300, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, cmd)), p.returncode, p.stdout, p.stderr))
    return p


def wait_for(fn, what, timeout=WAIT, interval=0.1):
    """fo.wait_for, with what first and this suite's defaults."""
    return fo.wait_for(fn, timeout, interval, what)


def tcp_open(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- the network

def netns_pids(name):
    p = run([IP, "netns", "pids", name], check=False)
    return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []


def kill_netns(name):
    """kill -9 every process in namespace name (ours: fo-*); wait until gone."""
    pids = netns_pids(name)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: not netns_pids(name), "the processes of %s to die" % name, 30)
    return pids


def teardown_network():
    """Remove what this suite owns: its namespaces (after killing what runs
    in them), its veth ends and bridge. Safe to call when nothing exists."""
    existing = run([IP, "netns", "list"], check=False).stdout
    for host in HOSTS:
        if re.search(r"^%s( |$)" % re.escape(ns(host)), existing, re.M):
            kill_netns(ns(host))
            run([IP, "netns", "del", ns(host)], check=False)
    for link in ["fo-v-" + h for h in HOSTS] + [BRIDGE]:
        run([IP, "link", "del", link], check=False)


def setup_network():
    routes = run([IP, "-4", "route", "show"]).stdout
    if re.search(r"^%s\.0/24 " % re.escape(NET), routes, re.M):
        raise AssertionError("%s.0/24 is already routed here: set FO_HOSTS_SUBNET" % NET)
    run([IP, "link", "add", BRIDGE, "type", "bridge"])
    run([IP, "addr", "add", NET + ".1/24", "dev", BRIDGE])
    run([IP, "link", "set", BRIDGE, "up"])
    for host in HOSTS:
        run([IP, "netns", "add", ns(host)])
        run([IP, "link", "add", "fo-v-" + host, "type", "veth", "peer", "name", "eth0",
             "netns", ns(host)])
        run([IP, "link", "set", "fo-v-" + host, "master", BRIDGE, "up"])
        run([IP, "-n", ns(host), "addr", "add", addr(host) + "/24", "dev", "eth0"])
        run([IP, "-n", ns(host), "link", "set", "eth0", "up"])
        run([IP, "-n", ns(host), "link", "set", "lo", "up"])


# ---------------------------------------------------------------- processes

class Proc:
    """A process started in a namespace, its own session, logging to a file."""

    def __init__(self, host, name, argv, env, log):
        self.host, self.name, self.log = host, name, log
        with open(log, "ab") as out:
            self.p = subprocess.Popen([IP, "netns", "exec", ns(host)] + argv, env=env,
                                      stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True,
                                      cwd=RUN)
        self.pid = self.p.pid  # ip netns exec execs the program: this is its pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=None, timeout=20):
        # PostgreSQL: a fast shutdown (SIGTERM would wait for its clients)
        sig = sig or (signal.SIGINT if self.name == "postgres" else signal.SIGTERM)
        if self.p.poll() is not None:
            return
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait(10)


class Stack:
    def __init__(self):
        self.procs = {}  # (host, name) -> Proc
        self.keys = {"SECRET_KEY": secrets.token_hex(32), "SERVICE_KEY": secrets.token_hex(32),
                     "ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": secrets.token_hex(12),
                     "ADMIN_EMAIL": "admin@example.com"}
        self.pg_password = secrets.token_hex(16)
        self.redis_password = secrets.token_hex(16)
        self.nginx_dir = {}
        self.settings = {p: run([os.path.join(BUILD, "bin", "flightops-" + p), "--settings"])
                         .stdout.split("\n") for p in POOLS}
        self.settings = {p: [line.split("\t")[0] for line in lines if line.strip()]
                         for p, lines in self.settings.items()}

    def start(self, host, name, argv, env=None, log=None):
        env = dict(env or {})
        env.setdefault("PATH", os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
        proc = Proc(host, name, argv, env, log or os.path.join(RUN, "log", "%s-%s.log" % (host, name)))
        self.procs[(host, name)] = proc
        return proc

    # ---- data host
    def psql(self, database, sql):
        return run(["runuser", "-u", "postgres", "--", PG_BIN + "/psql", "-X", "-q", "-At",
                    "-v", "ON_ERROR_STOP=1", "-h", self.pgdata, "-p", str(PG_PORT),
                    "-d", database, "-c", sql], cwd="/").stdout

    def start_data(self):
        self.pgdata = os.path.join(RUN, "pgdata")
        os.makedirs(self.pgdata)
        shutil.chown(self.pgdata, "postgres", "postgres")
        os.chmod(self.pgdata, 0o700)
        run(["runuser", "-u", "postgres", "--", PG_BIN + "/initdb", "-D", self.pgdata, "-U",
             "postgres", "-E", "UTF8", "--no-locale", "--auth-local=peer",
             "--auth-host=scram-sha-256"], cwd="/")
        with open(os.path.join(self.pgdata, "postgresql.conf"), "a", encoding="utf-8") as f:
            f.write("listen_addresses = '%s'\nport = %d\nunix_socket_directories = '%s'\n"
                    "max_connections = 200\nfsync = off\n" % (addr("data"), PG_PORT, self.pgdata))
        with open(os.path.join(self.pgdata, "pg_hba.conf"), "a", encoding="utf-8") as f:
            f.write("host all all %s.0/24 scram-sha-256\n" % NET)
        self.start("data", "postgres", ["runuser", "-u", "postgres", "--",
                                        PG_BIN + "/postgres", "-D", self.pgdata])
        wait_for(lambda: run([PG_BIN + "/pg_isready", "-q", "-h", addr("data"), "-p",
                              str(PG_PORT)], check=False).returncode == 0, "PostgreSQL")
        self.psql("postgres", "CREATE ROLE flightops LOGIN PASSWORD '%s'" % self.pg_password)
        # behind a transaction pooler the pools send no startup options:
        # the statement timeout is the role's
        self.psql("postgres", "ALTER ROLE flightops SET statement_timeout = '5s'")
        for db in DATABASES:
            self.psql("postgres", "CREATE DATABASE flightops_%s OWNER flightops" % db)
        self.start_bouncer()
        conf = os.path.join(RUN, "redis.conf")
        with open(os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as f:
            f.write('bind %s\nport %d\nrequirepass %s\ndaemonize no\nlogfile ""\ndir "%s"\n'
                    'save ""\nappendonly no\n' % (addr("data"), REDIS_PORT, self.redis_password, RUN))
        self.start("data", "redis", ["redis-server", conf])
        os.makedirs(os.path.join(RUN, "mail"))
        self.start("data", "smtp", ["/usr/bin/python3", "-u", "-m", "aiosmtpd", "-n", "-l",
                                    "%s:%d" % (addr("data"), SMTP_PORT), "-c",
                                    "aiosmtpd.handlers.Mailbox", os.path.join(RUN, "mail")])
        wait_for(lambda: tcp_open(addr("data"), REDIS_PORT), "Redis")
        wait_for(lambda: tcp_open(addr("data"), SMTP_PORT), "the SMTP sink")

    def start_bouncer(self):
        """PgBouncer on the data host, in transaction mode: the pools' server
        connections are PG_POOL_SIZE per database, however many hosts."""
        d = os.path.join(RUN, "pgbouncer")
        os.makedirs(d)
        users = os.path.join(d, "userlist.txt")
        with open(os.open(users, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as f:
            f.write('"flightops" "%s"\n' % self.pg_password)
        ini = os.path.join(d, "pgbouncer.ini")
        with open(os.open(ini, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as f:
            f.write("[databases]\n")
            for db in DATABASES:
                f.write("flightops_%s = host=%s port=%d dbname=flightops_%s\n"
                        % (db, addr("data"), PG_PORT, db))
            f.write("[pgbouncer]\nlisten_addr = %s\nlisten_port = %d\nunix_socket_dir =\n"
                    "auth_type = scram-sha-256\nauth_file = %s\npool_mode = transaction\n"
                    "default_pool_size = %d\nmin_pool_size = 0\nreserve_pool_size = 0\n"
                    "max_client_conn = 1000\nquery_wait_timeout = 30\n"
                    "server_check_delay = 10\nlog_connections = 0\nlog_disconnections = 0\n"
                    % (addr("data"), BOUNCER_PORT, users, PG_POOL_SIZE))
        for path in (d, users, ini):
            shutil.chown(path, "postgres", "postgres")
        # PgBouncer will not run as root
        self.start("data", "pgbouncer", ["runuser", "-u", "postgres", "--",
                                         "/usr/sbin/pgbouncer", ini])
        wait_for(lambda: tcp_open(addr("data"), BOUNCER_PORT), "PgBouncer")

    # ---- app hosts
    def pool_env(self, app, pool):
        db = "notifications" if pool == "mailer" else pool
        gw = GATEWAYS[APPS.index(app)]  # app1 calls its peers through gw1, app2 through gw2
        ours = dict(self.keys)
        ours.update({
            "LISTEN": "%s:%d" % (addr(app), POOL_PORT + POOLS.index(pool)),
            "WORKERS": str(WORKERS),
            "DATABASE_URL": "postgresql://flightops:%s@%s:%d/flightops_%s"
                            % (self.pg_password, addr("data"), BOUNCER_PORT, db),
            "DATABASE_POOLER": "transaction",
            "DATABASE_LISTEN_URL": "postgresql://flightops:%s@%s:%d/flightops_%s"
                                   % (self.pg_password, addr("data"), PG_PORT, db),
            "REDIS_URL": "redis://:%s@%s:%d/0" % (self.redis_password, addr("data"), REDIS_PORT),
            "MIGRATIONS_DIR": os.path.join(ROOT, "sql", db),
            "SMTP_SERVER": addr("data"), "SMTP_PORT": str(SMTP_PORT),
            "LIVE_PUBLISH_URL": " ".join("http://%s:%d/flights" % (addr(g), LIVE_PORT)
                                         for g in GATEWAYS),
            "CACHE_PURGE_URL": " ".join("http://%s:%d/flights/cache" % (addr(g), LIVE_PORT)
                                        for g in GATEWAYS),
            "PAYMENT_GATEWAY": "simulator",
        })
        for i, peer in enumerate(POOLS):
            ours[peer.upper() + "_URL"] = "http://%s:%d" % (addr(gw), SERVICE_PORT + i)
        env = {k: v for k, v in ours.items() if k in self.settings[pool]}
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1:log_path=%s/log/asan" % RUN
        env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1:log_path=%s/log/ubsan" % RUN
        return env

    def start_app(self, app):
        """Every pool on app, one after the other (each master applies its
        migrations first; the first host's run them, the second finds them)."""
        for i, pool in enumerate(POOLS):
            self.start(app, pool, [os.path.join(BUILD, "bin", "flightops-" + pool)],
                       self.pool_env(app, pool))
            proc = self.procs[(app, pool)]
            wait_for(lambda: tcp_open(addr(app), POOL_PORT + i) or not proc.alive(),
                     "%s on %s" % (pool, app))
            if not proc.alive():
                raise AssertionError("%s on %s exited: %s" % (pool, app, tail(proc.log)))

    # ---- gateways
    def render_gateway(self, gw, apps=APPS):
        """`flightops nginx-config` for gw with every pool on apps; returns
        the rendered nginx.conf."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
               "FO_VAR": os.path.join(RUN, gw), "FO_BUILD": BUILD, "FO_LISTEN_HOST": addr(gw),
               "FO_GATEWAY_PORT": str(GATEWAY_PORT), "FO_PORT_BASE": str(SERVICE_PORT),
               "FO_LIVE_PORT": str(LIVE_PORT)}
        for i, pool in enumerate(POOLS):
            env["FO_%s_ADDRS" % pool.upper()] = " ".join(
                "%s:%d" % (addr(a), POOL_PORT + i) for a in apps)
        out = run(["bash", os.path.join(ROOT, "flightops"), "nginx-config"], env=env).stdout
        m = re.search(r"rendered (\S+)/nginx\.conf", out)
        assert m, out
        self.nginx_dir[gw] = m.group(1)
        return os.path.join(m.group(1), "nginx.conf")

    def start_gateway(self, gw):
        conf = self.render_gateway(gw)
        log = os.path.join(RUN, gw, "log", "nginx.log")
        proc = self.start(gw, "nginx", ["nginx", "-g", "daemon off;", "-e", log, "-c", conf])
        wait_for(lambda: tcp_open(addr(gw), GATEWAY_PORT) and tcp_open(addr(gw), LIVE_PORT)
                 or not proc.alive(), "nginx on " + gw)
        if not proc.alive():
            raise AssertionError("nginx on %s exited: %s" % (gw, tail(log)))

    def access_log(self, gw):
        return os.path.join(RUN, gw, "log", "nginx-access.log")

    def stop_all(self):
        for proc in reversed(list(self.procs.values())):
            try:
                proc.stop()
            except Exception as e:  # noqa: BLE001 - the namespaces' kill follows
                say("stopping %s on %s: %s" % (proc.name, proc.host, e))


def tail(path, n=20):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return str(e)


def log_entries(path, start=0):
    """The JSON lines of an nginx access log from byte offset start."""
    out = []
    try:
        with open(path, "rb") as f:
            f.seek(start)
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def answered_by(entry):
    """The app host that answered a request of an access log entry, or None:
    the last of its upstreams ('a, b' when nginx passed it on), if that one
    answered (a 502 or 504 there is a host that failed)."""
    ups = [u.strip() for u in entry.get("upstream", "").split(",")]
    codes = [c.strip() for c in str(entry.get("upstream_status", "")).split(",")]
    if not ups or codes[-1] in ("", "502", "504"):
        return None
    for app in APPS:
        if ups[-1].split(":")[0] == addr(app):
            return app
    return None


STACK = None
# One run per machine: the namespaces' names are fixed, and a run starts by
# removing what another left. Held until this process exits (kill -9 too).
LOCK = "/run/lock/flightops-hosts-test.lock"
_lock_fd = None


def take_lock():
    global _lock_fd
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    _lock_fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)

    def locked():
        try:
            fcntl.flock(_lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
    if not locked():
        say("another hosts run holds %s: waiting for it" % LOCK)
        wait_for(locked, "the other hosts run to end (%s)" % LOCK, 300, 1.0)


def setUpModule():
    global STACK
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (network namespaces, runuser)")
    take_lock()
    teardown_network()
    shutil.rmtree(RUN, ignore_errors=True)
    try:
        os.makedirs(os.path.join(RUN, "log"))
        for d in (BUILD, RUN, os.path.join(RUN, "log")) if RUN.startswith(BUILD) else \
                (RUN, os.path.join(RUN, "log")):
            os.chmod(d, os.stat(d).st_mode | 0o755)  # nginx's workers (nobody) read their files
        t0 = time.monotonic()
        setup_network()
        STACK = Stack()
        STACK.start_data()
        for gw in GATEWAYS:
            STACK.start_gateway(gw)
        for app in APPS:
            STACK.start_app(app)
        for gw in GATEWAYS:
            wait_for(lambda g=gw: all(fo.get("%s/%s/health" % (gw_url(g), p)).status == 200
                                      for p in POOLS if p != "mailer"),
                     "every pool healthy through " + gw)
        say("network and stack up in %.1f s: %s" % (time.monotonic() - t0, ", ".join(
            "%s %s" % (h, addr(h)) for h in HOSTS)))
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if STACK is not None:
        STACK.stop_all()
    teardown_network()
    if STACK is not None:
        for d in STACK.nginx_dir.values():  # a /var/tmp/flightops-* fallback of flightops
            if not d.startswith(RUN):
                shutil.rmtree(os.path.dirname(d) if d.endswith("/nginx") else d, ignore_errors=True)
    if os.environ.get("FO_HOSTS_KEEP") != "yes":
        shutil.rmtree(RUN, ignore_errors=True)


# ---------------------------------------------------------------- clients

def admin_token(gw="gw1"):
    return fo.token_for(gw_url(gw), STACK.keys["ADMIN_USERNAME"], STACK.keys["ADMIN_PASSWORD"])


def new_user(gw):
    r, body = fo.register(gw_url(gw))
    assert r.status == 201, fo.describe(r)
    return r.body, fo.token_for(gw_url(gw), body["username"], body["password"])


def seats_read(flight_id, gw="gw1", token=None):
    """GET the seat map through gw (asserts 200): anonymous, it may come from
    gw's read cache; with a token, always from a pool (what the stores hold
    now)."""
    r = fo.get("%s/flights/%d/seats" % (gw_url(gw), flight_id), token=token)
    assert r.status == 200, fo.describe(r)
    return r


def seats_of(flight_id, gw="gw1", token=None):
    """The seat map's seats (seats_read)."""
    return seats_read(flight_id, gw, token).body


# A kept read that a fill stored just after a change's purge is purged
# again by the bookings tick 1.5 to 2.5 s later (docs/ARCHITECTURE.md,
# "Read cache"); the entry's own 10 s bounds it in any case.
CACHE_CONVERGES = 12.0


def kept_map_shows(flight_id, gw, taken_seats):
    """The seats of taken_seats that gw's anonymous (cacheable) seat map
    still shows available CACHE_CONVERGES seconds from now ([] as soon as it
    shows none), and what it took: the seconds waited and the X-Cache of
    each read that showed one of them available."""
    t0 = time.monotonic()
    stale = []
    while True:
        r = seats_read(flight_id, gw)
        m = {s["seat_number"]: s["status"] for s in r.body}
        free = [s for s in taken_seats if m[s] == "available"]
        waited = time.monotonic() - t0
        if free:
            stale.append((r.headers.get("X-Cache"), free))
        if not free or waited >= CACHE_CONVERGES:
            if stale:
                say("%s's kept seat map showed %s available for %.2f s (X-Cache: %s)"
                    % (gw, ", ".join(stale[0][1]), waited, " ".join(str(c) for c, _ in stale[:8])))
            return free
        time.sleep(0.2)


def live_rows_twice():
    """(flight, seat) with more than one live booking, from PostgreSQL: the
    bookings table and, when it exists, booking_seats."""
    out = STACK.psql("flightops_bookings",
                     "SELECT flight_id, seat_number, count(*) FROM bookings WHERE status IN "
                     "('pending', 'confirmed') GROUP BY 1, 2 HAVING count(*) > 1").split()
    if STACK.psql("flightops_bookings", "SELECT to_regclass('booking_seats') IS NOT NULL").strip() == "t":
        out += STACK.psql("flightops_bookings",
                          "SELECT flight_id, seat_number, count(*) FROM booking_seats WHERE live "
                          "GROUP BY 1, 2 HAVING count(*) > 1").split()
    return out


class Load:
    """Mixed steady load over both gateways: readers (GET a flight, its seat
    map) and bookers (POST /bookings of distinct seats, with an
    Idempotency-Key). Every request is recorded: (t, kind, gw, status or
    error text, booking)."""

    def __init__(self, flight, seats, users, readers=3, bookers=3):
        self.flight, self.users = flight, users
        self.seats = list(seats)
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.records = []
        self.threads = [threading.Thread(target=self.read, args=(i,), daemon=True)
                        for i in range(readers)]
        self.threads += [threading.Thread(target=self.book, args=(i,), daemon=True)
                         for i in range(bookers)]
        self.n = len(self.threads)

    def note(self, kind, gw, status, booking=None):
        with self.lock:
            self.records.append((time.monotonic(), kind, gw, status, booking))

    def read(self, i):
        k = i
        while not self.stop_ev.is_set():
            gw = GATEWAYS[k % 2]
            k += 1
            path = ("/flights/%d" if k % 2 else "/flights/%d/seats") % self.flight
            try:
                self.note("read", gw, fo.get(gw_url(gw) + path).status)
            except Exception as e:  # noqa: BLE001 - counted as a failure
                self.note("read", gw, "%s: %s" % (type(e).__name__, e))
            self.stop_ev.wait(0.01)

    def book(self, i):
        k = i
        while not self.stop_ev.is_set():
            with self.lock:
                if not self.seats:
                    return
                seat = self.seats.pop()
            gw = GATEWAYS[k % 2]
            user, token = self.users[k % len(self.users)]
            k += 1
            try:
                r = fo.book(token, self.flight, seat, base=gw_url(gw),
                            headers={"Idempotency-Key": fo.unique("hk")})
                self.note("book", gw, r.status, (r.body.get("id"), seat, token)
                          if r.status == 201 and isinstance(r.body, dict) else (None, seat, token))
            except Exception as e:  # noqa: BLE001 - counted as a failure
                self.note("book", gw, "%s: %s" % (type(e).__name__, e), (None, seat, token))
            self.stop_ev.wait(0.1)

    def count(self):
        with self.lock:
            return len(self.records)

    def __enter__(self):
        for t in self.threads:
            t.start()
        wait_for(lambda: self.count() >= 20, "the load's first 20 requests", 60)
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join(fo.TIMEOUT * 3)

    def failures(self, since=0.0):
        with self.lock:
            return [r for r in self.records if r[0] >= since
                    and not (isinstance(r[3], int) and r[3] < 500)]

    def summary(self):
        with self.lock:
            out = {}
            for _, kind, _, status, _ in self.records:
                key = "%s %s" % (kind, status if isinstance(status, int) else "neterr")
                out[key] = out.get(key, 0) + 1
            return dict(sorted(out.items()))


class Hosts(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.admin = admin_token("gw1")
        # The loads' bookers: 30 users each x MAX_ACTIVE_HOLDS (9) holds.
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            cls.users = list(ex.map(lambda i: new_user(GATEWAYS[i % 2]), range(60)))

    def flight(self, seats=30, gw="gw1"):
        return fo.create_flight(self.admin, gw_url(gw), total_seats=seats)

    def upstreams(self, gw, start=0, want=None):
        """{app: requests} the access log of gw sent from byte offset start
        (waits out nginx's 1 s log buffer until want(counts) holds)."""
        def counts():
            c = {a: 0 for a in APPS}
            for e in log_entries(STACK.access_log(gw), start):
                app = answered_by(e)
                if app:
                    c[app] += 1
            return c
        if want is None:
            return counts()
        return wait_for(lambda: (lambda c: c if want(c) else None)(counts()),
                        "the access log of %s to show requests on both app hosts" % gw, 30, 0.3)

    def test_a_journey_through_each_gateway(self):
        for gw in GATEWAYS:
            start = os.path.getsize(STACK.access_log(gw)) if os.path.exists(
                STACK.access_log(gw)) else 0
            base = gw_url(gw)
            f = self.flight(gw=gw)
            _, token = new_user(gw)
            seat = seats_of(f["id"], gw)[0]["seat_number"]
            r = fo.book(token, f["id"], seat, base=base)
            self.assertEqual(r.status, 201, fo.describe(r))
            booking = r.body
            r = fo.pay(token, booking, base=base)
            self.assertEqual(r.status, 202, fo.describe(r))
            fo.wait_payment(token, r.body["id"], ("succeeded",), 60, base=base)
            wait_for(lambda: fo.get_booking(token, booking["id"], base).body.get("status")
                     == "confirmed", "booking %d confirmed (%s)" % (booking["id"], gw), 60)
            for _ in range(6):  # a few reads more: round robin spreads them
                self.assertEqual(fo.get("%s/flights/%d" % (base, f["id"])).status, 200)
            # the journey's own requests and the pools' calls to each other
            c = self.upstreams(gw, start, lambda c: all(c.values()) and sum(c.values()) >= 12)
            say("journey through %s: booking %d confirmed; the gateway sent %s"
                % (gw, booking["id"], ", ".join("%d requests to %s" % (n, a) for a, n in c.items())))
        # The pools' own logs: request lines on both hosts.
        for app in APPS:
            lines = sum(tail(STACK.procs[(app, p)].log, 10 ** 6).count('"request"') for p in POOLS)
            say("%s: %d request lines in its pools' logs" % (app, lines))
            self.assertGreater(lines, 0, app)

    def test_b_postgres_connections_within_budget(self):
        # Bring every child to its connection: concurrent requests on every
        # pool's service port of both gateways (each lands on a free child),
        # and bookings through both (transactions, which hold a server
        # connection each while they run).
        f = self.flight(seats=60)
        users = [new_user(GATEWAYS[i % 2])[1] for i in range(8)]
        seats = [s["seat_number"] for s in seats_of(f["id"])][:len(users)]
        jobs = [(gw, i) for gw in GATEWAYS for i in range(len(POOLS)) for _ in range(4 * WORKERS)]
        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            booked = ex.map(lambda j: fo.book(users[j], f["id"], seats[j],
                                              base=gw_url(GATEWAYS[j % 2])).status,
                            range(len(users)))
            list(ex.map(lambda j: fo.get("http://%s:%d/health" % (addr(j[0]), SERVICE_PORT + j[1])),
                        jobs))
            self.assertEqual(sorted(set(booked)), [201])
        # What the pools would hold without PgBouncer: one connection per
        # child (request children and the tick child of bookings, payments
        # and the mailer), and one more for the mailer's tick, which waits
        # on its own LISTEN mail_queued connection; masters hold none.
        per_host, shape = {}, {}
        for app in APPS:
            kids = 0
            for pool in POOLS:
                n = len(run(["ps", "-o", "pid=", "--ppid", str(STACK.procs[(app, pool)].pid)],
                            check=False).stdout.split())
                shape[pool] = n + (1 if pool == "mailer" else 0)
                kids += shape[pool]
            per_host[app] = kids
        clients = len(run([IP, "netns", "exec", ns("data"), "ss", "-Htn", "state", "established",
                           "( sport = :%d )" % BOUNCER_PORT], check=False).stdout.splitlines())
        # With it: PG_POOL_SIZE server connections per database, whatever
        # the hosts, and per host only the mailer's LISTEN connection.
        budget = PG_POOL_SIZE * len(DATABASES) + len(APPS)
        rows = STACK.psql("postgres", "SELECT client_addr, datname, count(*) FROM "
                          "pg_stat_activity WHERE backend_type = 'client backend' AND "
                          "client_addr IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2").split()
        used = {}
        for row in rows:
            a, db, n = row.split("|")
            used.setdefault(a, {})[db] = int(n)
        total = sum(sum(v.values()) for v in used.values())
        say("without a pooler each host would hold %s = %d PostgreSQL connections"
            % (" + ".join("%s %d" % kv for kv in shape.items()), per_host["app1"]))
        say("PgBouncer: %d client connections from the pools; PostgreSQL connections: "
            "from PgBouncer %s, from app1 %s, from app2 %s"
            % (clients, used.get(addr("data"), {}), used.get(addr("app1"), {}),
               used.get(addr("app2"), {})))
        say("PostgreSQL connections: %d of a budget of %d (%d per database x %d + the mailer's "
            "LISTEN per host x %d), instead of %d direct"
            % (total, budget, PG_POOL_SIZE, len(DATABASES), len(APPS), sum(per_host.values())))
        self.assertGreater(clients, PG_POOL_SIZE * len(DATABASES))
        self.assertLessEqual(total, budget)
        for db, n in used.get(addr("data"), {}).items():
            self.assertLessEqual(n, PG_POOL_SIZE, db)
        for app in APPS:
            self.assertLessEqual(sum(used.get(addr(app), {}).values()), 1, app)

    def test_c_live_seat_map_across_gateways(self):
        f = self.flight()
        seat = seats_of(f["id"])[1]["seat_number"]
        _, token = new_user("gw1")
        s = socket.create_connection((addr("gw2"), GATEWAY_PORT), timeout=fo.TIMEOUT)
        try:
            s.sendall(("GET /flights/%d/seats/live HTTP/1.1\r\nHost: gw2\r\n"
                       "Accept: text/event-stream\r\n\r\n" % f["id"]).encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = s.recv(65536)
                self.assertTrue(data, "the stream closed before its header")
                buf += data
            self.assertIn(b" 200 ", buf.split(b"\r\n")[0])
            t0 = time.monotonic()
            r = fo.book(token, f["id"], seat, base=gw_url("gw1"))
            self.assertEqual(r.status, 201, fo.describe(r))
            want = ('"%s"' % seat).encode()
            deadline = time.monotonic() + 10
            s.settimeout(1)
            while not re.search(rb"data:[^\n]*" + re.escape(want), buf):
                self.assertLess(time.monotonic(), deadline, "no event for %s on gw2: %r" % (seat, buf))
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                self.assertTrue(data, "the stream closed: %r" % buf)
                buf += data
            latency = time.monotonic() - t0
        finally:
            s.close()
        say("live: %s booked through gw1 reached a subscriber on gw2 %.0f ms after the "
            "request was sent" % (seat, latency * 1000))

    def test_c_read_cache_purged_on_every_gateway(self):
        """A booking through gw1 purges gw2's kept reads of the flight too
        (CACHE_PURGE_URL lists both): gw2's next anonymous read shows it."""
        f = self.flight()
        seat = seats_of(f["id"])[2]["seat_number"]
        _, token = new_user("gw1")
        url = "%s/flights/%d" % (gw_url("gw2"), f["id"])
        # kept as nginx finishes the fill, which can be just after the answer
        r = wait_for(lambda: (lambda r: r if r.headers.get("X-Cache") == "HIT" else None)(
            fo.get(url)), "gw2 to keep the flight", 5, 0.05)
        self.assertEqual(r.status, 200, fo.describe(r))
        left = r.body["available_seats"]
        b = fo.book(token, f["id"], seat, base=gw_url("gw1"))
        self.assertEqual(b.status, 201, fo.describe(b))
        r = fo.get(url)
        self.assertEqual((r.status, r.headers.get("X-Cache")), (200, "MISS"), fo.describe(r))
        self.assertEqual(r.body["available_seats"], left - 1)

    def test_d_500_racers_one_seat(self):
        f = self.flight(seats=6)
        seat = seats_of(f["id"])[0]["seat_number"]
        users = self.users
        starts = {gw: os.path.getsize(STACK.access_log(gw)) for gw in GATEWAYS}
        gate = threading.Barrier(50)

        def race(i):
            if i < 50:
                gate.wait(30)
            r = fo.book(users[i % len(users)][1], f["id"], seat, base=gw_url(GATEWAYS[i % 2]))
            return r.status, GATEWAYS[i % 2], r.body

        with concurrent.futures.ThreadPoolExecutor(50) as ex:
            results = list(ex.map(race, range(500)))
        counts = {}
        for status, gw, _ in results:
            counts["%s %d" % (gw, status)] = counts.get("%s %d" % (gw, status), 0) + 1
        posts = {gw: {a: 0 for a in APPS} for gw in GATEWAYS}

        def spread():
            for gw in GATEWAYS:
                posts[gw] = {a: 0 for a in APPS}
                for e in log_entries(STACK.access_log(gw), starts[gw]):
                    if e.get("method") == "POST" and e.get("uri") == "/bookings":
                        app = answered_by(e)
                        if app:
                            posts[gw][app] += 1
            return sum(sum(v.values()) for v in posts.values()) >= 500
        wait_for(spread, "500 POST /bookings in the gateways' logs", 30, 0.3)
        say("500 racers for %s: %s; POST /bookings per gateway and app host: %s"
            % (seat, dict(sorted(counts.items())), posts))
        statuses = [s for s, _, _ in results]
        self.assertEqual(statuses.count(201), 1, counts)
        self.assertEqual(statuses.count(409), 499, counts)
        for gw in GATEWAYS:
            for app in APPS:
                self.assertGreater(posts[gw][app], 0, (gw, app, posts))
        self.assertEqual(live_rows_twice(), [])
        token = self.users[0][1]
        self.assertNotEqual({s["seat_number"]: s["status"]
                             for s in seats_of(f["id"], "gw2", token)}[seat], "available")
        self.assertEqual(kept_map_shows(f["id"], "gw2", [seat]), [])

    def reload_gw1(self):
        """Reload gw1 (its configuration already rendered) and wait until
        its old workers are gone; the master stays."""
        nginx = STACK.procs[("gw1", "nginx")]
        kids = lambda: set(run(["ps", "-o", "pid=", "--ppid", str(nginx.pid)]).stdout.split())
        before = kids()
        run([IP, "netns", "exec", ns("gw1"), "nginx", "-t", "-q", "-c",
             os.path.join(STACK.nginx_dir["gw1"], "nginx.conf"),
             "-e", os.path.join(RUN, "gw1", "log", "nginx.log")])
        os.kill(nginx.pid, signal.SIGHUP)
        # New workers serve once the reload is done; the old ones finish theirs.
        wait_for(lambda: not before & kids(), "gw1's workers to be replaced", 60, 0.2)

    def test_e_retries_only_what_may_repeat(self):
        """A host that takes the request and drops it (a worker killed
        mid-request, as nginx sees it) is in flights' upstream of gw1 beside
        app2, never marked down (max_fails=0, edited into the rendered
        pools.conf as an admin would): a GET it drops is passed on to app2
        (200), a POST or PUT is not (502, and only that host in the log)."""
        hole = socket.socket()
        hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hole.bind((NET + ".1", 9101))
        hole.listen(64)
        got = []

        def serve():
            while True:
                try:
                    c, _ = hole.accept()
                except OSError:
                    return
                with c:
                    c.settimeout(5)
                    try:
                        data = c.recv(65536)
                    except OSError:
                        data = b""
                    got.append(len(data))
        threading.Thread(target=serve, daemon=True).start()
        f = self.flight()
        try:
            conf = STACK.render_gateway("gw1")
            pools = os.path.join(os.path.dirname(conf), "pools.conf")
            with open(pools, encoding="utf-8") as fh:
                text = fh.read()
            old = "\tserver %s:%d max_fails=1 fail_timeout=5s;\n" % (addr("app1"), POOL_PORT + 1)
            self.assertIn(old, text)
            with open(pools, "w", encoding="utf-8") as fh:
                fh.write(text.replace(old, "\tserver %s.1:9101 max_fails=0;\n" % NET))
            self.reload_gw1()
            start = os.path.getsize(STACK.access_log("gw1"))
            base = gw_url("gw1")
            sent = {"GET": [], "PUT": [], "POST": []}

            # (not the read cache's purges, on gw1's publisher port)
            def logged():
                return [e for e in log_entries(STACK.access_log("gw1"), start)
                        if e.get("uri", "").startswith("/flights")
                        and not e["uri"].startswith("/flights/cache/")]
            # Round robin sends about every other request to the dropping
            # host: go on until each method met it twice (bounded).
            for i in range(100):
                # with a token: past the gateway's read cache, to a host
                sent["GET"].append(fo.get("%s/flights/%d" % (base, f["id"]),
                                          token=self.admin).status)
                sent["PUT"].append(fo.put("%s/flights/%d" % (base, f["id"]), token=self.admin,
                                          json={"price": 100 + i}).status)
                sent["POST"].append(fo.post(base + "/flights", token=self.admin,
                                            json=fo.flight_body()).status)
                if (i >= 9 and sent["PUT"].count(502) >= 2 and sent["POST"].count(502) >= 2
                        and sum(1 for e in logged() if "," in e["upstream"]) >= 2):
                    break
            want = sum(len(v) for v in sent.values())
            entries = wait_for(lambda: (lambda e: e if len(e) >= want else None)(logged()),
                               "gw1's log of the requests", 30, 0.3)
        finally:
            hole.close()
            STACK.render_gateway("gw1")
            self.reload_gw1()
        hole_addr = "%s.1:9101" % NET
        # The log's method of a 502 is GET (nginx's error page redirect):
        # a request is told by its answer, its path of hosts by the log.
        seen = {}
        for e in entries:
            ups = [u.strip() for u in e["upstream"].split(",")]
            key = "%s via %s" % (e["status"], " then ".join(
                "dropper" if u == hole_addr else "app2" if u.startswith(addr("app2") + ":")
                else u for u in ups))
            seen[key] = seen.get(key, 0) + 1
        answers = {m: dict(sorted((str(c), v.count(c)) for c in set(v))) for m, v in sent.items()}
        say("retries through gw1 (flights on a host that drops what it reads, and app2): "
            "answers %s; gw1's log %s; the dropping host read %d requests"
            % (answers, dict(sorted(seen.items())), len([n for n in got if n])))
        self.assertEqual(set(sent["GET"]), {200}, answers)
        self.assertEqual(set(sent["PUT"]), {200, 502}, answers)
        self.assertEqual(set(sent["POST"]), {201, 502}, answers)
        # A retried request went to the dropping host, then app2, and is a
        # GET answered 200; every 502 went to the dropping host alone.
        for e in entries:
            ups = [u.strip() for u in e["upstream"].split(",")]
            if len(ups) > 1:
                self.assertEqual((e["method"], e["status"], ups[0]), ("GET", 200, hole_addr), e)
            if e["status"] == 502:
                self.assertEqual(ups, [hole_addr], e)
        self.assertEqual(seen.get("502 via dropper", 0), sent["PUT"].count(502) + sent["POST"].count(502))
        self.assertGreater(seen.get("200 via dropper then app2", 0), 0, seen)

    def test_f_reload_under_load_takes_a_host_out_and_in(self):
        f = self.flight(seats=300)
        seats = [s["seat_number"] for s in seats_of(f["id"])]
        users = self.users[:30]
        nginx = STACK.procs[("gw1", "nginx")]
        with Load(f["id"], seats, users) as load:
            t0 = time.monotonic()
            for apps in (("app1",), APPS):
                STACK.render_gateway("gw1", apps)
                self.reload_gw1()
                mark = os.path.getsize(STACK.access_log("gw1"))
                n0 = load.count()
                wait_for(lambda n=n0: load.count() >= n + 30, "30 requests after the reload", 60)
                c = self.upstreams("gw1", mark, lambda c: sum(c.values()) >= 10)
                say("gw1 reloaded with %s: next requests went to %s" % ("+".join(apps), c))
                if apps == ("app1",):
                    self.assertEqual(c["app2"], 0, c)
            self.upstreams("gw1", mark, lambda c: all(c.values()))
            elapsed = time.monotonic() - t0
        fails = load.failures()
        say("reloads under load: %d requests in %.1f s, %s, failed: %d %s"
            % (load.count(), elapsed, load.summary(), len(fails), fails[:5]))
        self.assertEqual(fails, [])
        self.assertEqual(nginx.alive(), True)

    def test_g_app1_killed_under_load_then_back(self):
        f = self.flight(seats=400)
        seats = [s["seat_number"] for s in seats_of(f["id"])]
        users = self.users[30:]
        masters = {gw: STACK.procs[(gw, "nginx")].pid for gw in GATEWAYS}
        with Load(f["id"], seats, users) as load:
            wait_for(lambda: load.count() >= 100, "100 requests before the kill", 60)
            t_kill = time.monotonic()
            killed = kill_netns(ns("app1"))
            t_dead = time.monotonic()
            n0 = load.count()
            wait_for(lambda: load.count() >= n0 + 150, "150 requests with app1 gone", 90)
            after_kill = [r for r in load.records[n0:] if r[1] == "read"]
            reads_ok = sum(1 for r in after_kill if r[3] == 200)
            # app1 back: the same pools, the same environment; the gateways
            # probe it again once fail_timeout (5 s) has passed.
            for pool in POOLS:
                STACK.procs.pop(("app1", pool)).p.wait(10)
            t_start = time.monotonic()
            marks = {gw: os.path.getsize(STACK.access_log(gw)) for gw in GATEWAYS}
            logs = [os.path.join(RUN, "log", "app1-%s.log" % p) for p in POOLS]
            lines_before = sum(tail(p, 10 ** 7).count('"request"') for p in logs)
            STACK.start_app("app1")
            t_up = time.monotonic()
            for gw in GATEWAYS:
                c = self.upstreams(gw, marks[gw], lambda c: c["app1"] >= 5)
                say("%s after app1 came back: %s" % (gw, c))
            t_back = time.monotonic()
            # and app1's own pools logged them
            lines_after = wait_for(lambda: (lambda n: n if n > lines_before else None)(
                sum(tail(p, 10 ** 7).count('"request"') for p in logs)), "app1's request logs", 30)
            say("app1's pools logged %d requests since their restart"
                % (lines_after - lines_before))
        fails = load.failures(t_kill)
        early = load.failures(0.0)
        say("app1 killed (%d processes, kill -9) under %d client threads: %d requests, %s"
            % (len(killed), load.n, load.count(), load.summary()))
        say("failed after the kill: %d (reads %d, bookings %d): %s"
            % (len(fails), sum(1 for r in fails if r[1] == "read"),
               sum(1 for r in fails if r[1] == "book"), [(round(r[0] - t_kill, 2), r[1], r[2], r[3])
                                                         for r in fails]))
        say("reads with app1 gone: %d of %d answered 200; app1 dead in %.2f s, restarted in "
            "%.1f s, taking traffic again %.1f s after its pools were up"
            % (reads_ok, len(after_kill), t_dead - t_kill, t_up - t_start, t_back - t_up))
        self.assertEqual(len(early), len(fails), "failures before the kill: %r" % early)
        self.assertLessEqual(len(fails), load.n, fails)
        self.assertGreater(reads_ok, 0)
        self.assertEqual({gw: STACK.procs[(gw, "nginx")].pid for gw in GATEWAYS}, masters)
        self.assertTrue(all(STACK.procs[(gw, "nginx")].alive() for gw in GATEWAYS))
        # No booking lost or sold twice: every 201 is there, with its seat,
        # and no seat has two live bookings.
        acked = [r[4] for r in load.records if r[1] == "book" and r[3] == 201]
        self.assertGreater(len(acked), 0)
        for bid, seat, token in acked:
            r = fo.get_booking(token, bid, gw_url("gw2"))
            self.assertEqual((r.status, r.body.get("seat_number")), (200, seat), fo.describe(r))
        taken = {s["seat_number"]: s["status"] for s in seats_of(f["id"], "gw2", acked[0][2])}
        self.assertEqual([s for _, s, _ in acked if taken[s] == "available"], [])
        self.assertEqual(kept_map_shows(f["id"], "gw2", [s for _, s, _ in acked]), [])
        self.assertEqual(live_rows_twice(), [])
        say("%d bookings acknowledged, every one in place; no seat held twice" % len(acked))

    def test_z_no_sanitizer_reports(self):
        # A sanitizer build's pools write reports here (ASAN_OPTIONS above).
        reports = [n for n in os.listdir(os.path.join(RUN, "log"))
                   if n.startswith(("asan", "ubsan"))]
        self.assertEqual(reports, [], "\n".join(tail(os.path.join(RUN, "log", n), 40)
                                                for n in reports))


if __name__ == "__main__":
    unittest.main()
