"""Each pool reads, checks and receives only its own settings (issue 7).

- A pool started with another service's bad setting in its environment
  (SMTP_FROM for the bookings pool) starts; the mailer, whose setting it
  is, refuses to start and names it.
- `flightops-<pool> --settings` lists what the pool reads; the stack gives
  each running pool exactly those variables (plus PATH and the sanitizer
  options), never a secret of another service, and no secret on a
  command line.
"""
import os
import signal
import subprocess
import tempfile
import time
import unittest

import fo

BIN = os.path.join(os.environ.get("FO_BUILD") or os.path.join(fo.ROOT, "build"), "bin")
POOLS = ("users", "flights", "bookings", "payments", "notifications", "mailer")
EXTRA = {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS"}


def settings_of(pool):
    out = subprocess.run([os.path.join(BIN, "flightops-" + pool), "--settings"],
                         capture_output=True, text=True, check=True, timeout=10).stdout
    rows = [line.split("\t") for line in out.splitlines() if line]
    return {r[0]: r for r in rows}


def environ_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        items = [x.decode() for x in f.read().split(b"\0") if x]
    return dict(x.split("=", 1) for x in items)


def database_url(pool):
    s = fo.secrets()
    db = "notifications" if pool == "mailer" else pool
    return "postgresql://flightops:%s@127.0.0.1:%d/flightops_%s" % (s["PG_PASSWORD"], fo.PG_PORT, db)


class OwnSettingsTest(unittest.TestCase):
    def start(self, pool, sock, **env):
        s = fo.secrets()
        base = {"PATH": os.environ["PATH"], "LISTEN": "unix:" + sock, "WORKERS": "1",
                "DATABASE_URL": database_url(pool),
                "REDIS_URL": "redis://:%s@127.0.0.1:%s/0" % (s["REDIS_PASSWORD"],
                                                              os.environ.get("FO_REDIS_PORT", "6380")),
                "SECRET_KEY": s["SECRET_KEY"], "SERVICE_KEY": s["SERVICE_KEY"],
                "MIGRATIONS_DIR": os.path.join(fo.ROOT, "sql", "notifications" if pool == "mailer" else pool),
                "ASAN_OPTIONS": "detect_leaks=0", "SMTP_FROM": "not an address"}
        base.update(env)
        return subprocess.Popen([os.path.join(BIN, "flightops-" + pool)], env=base,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def test_bookings_ignores_a_bad_smtp_from(self):
        with tempfile.TemporaryDirectory() as d:
            sock = os.path.join(d, "bookings.sock")
            p = self.start("bookings", sock)
            try:
                fo.wait_for(lambda: os.path.exists(sock) or p.poll() is not None, 60, 0.1,
                            "the bookings pool's socket")
                if p.poll() is not None:
                    self.fail("bookings exited %d: %s" % (p.returncode, p.stderr.read()))
            finally:
                p.send_signal(signal.SIGTERM)
                out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)

    def test_mailer_refuses_a_bad_smtp_from(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.start("mailer", os.path.join(d, "mailer.sock"))
            out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("SMTP_FROM: must be a bare address", err)

    def test_check_lists_every_problem_at_once(self):
        env = {"PATH": os.environ["PATH"], "SMTP_FROM": "bad", "SMTP_PORT": "0",
               "MAIL_MAX_ATTEMPTS": "x", "SECRET_KEY": "short"}
        p = subprocess.run([os.path.join(BIN, "flightops-mailer"), "--check"], env=env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        for name in ("DATABASE_URL", "SERVICE_KEY", "SMTP_FROM", "SMTP_PORT", "MAIL_MAX_ATTEMPTS"):
            self.assertIn(name + ":", p.stderr)
        # the mailer takes no user tokens: SECRET_KEY is not its setting
        self.assertNotIn("SECRET_KEY", p.stderr)

    def test_each_pool_declares_only_its_settings(self):
        seen = {pool: settings_of(pool) for pool in POOLS}
        self.assertIn("SMTP_FROM", seen["mailer"])
        self.assertIn("SMTP_PASSWORD", seen["mailer"])
        self.assertEqual(seen["mailer"]["SMTP_PASSWORD"][1], "secret")
        self.assertNotIn("SECRET_KEY", seen["mailer"])
        self.assertIn("ADMIN_PASSWORD", seen["users"])
        self.assertIn("BOOKING_HOLD_SECONDS", seen["bookings"])
        self.assertIn("GATEWAY_LATENCY_MS", seen["payments"])
        for pool in POOLS:
            if pool != "mailer":
                self.assertFalse({"SMTP_FROM", "SMTP_PASSWORD"} & set(seen[pool]), pool)
            if pool != "users":
                self.assertFalse({"ADMIN_PASSWORD", "LOGIN_MAX_FAILURES"} & set(seen[pool]), pool)

    def test_running_pools_get_only_their_own(self):
        secrets = fo.secrets()
        for pool in POOLS:
            pid = fo.read_pid(pool)
            env = environ_of(pid)
            allowed = set(settings_of(pool)) | EXTRA
            self.assertLessEqual(set(env), allowed, "%s got settings it does not read" % pool)
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read().decode(errors="replace")
            for key in ("SECRET_KEY", "SERVICE_KEY", "PG_PASSWORD", "REDIS_PASSWORD", "ADMIN_PASSWORD"):
                self.assertNotIn(secrets[key], cmdline, "%s on %s's command line" % (key, pool))
        self.assertNotIn("SECRET_KEY", environ_of(fo.read_pid("mailer")))
        self.assertNotIn("ADMIN_PASSWORD", environ_of(fo.read_pid("bookings")))


if __name__ == "__main__":
    unittest.main()
