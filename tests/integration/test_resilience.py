"""The users pool under trouble: pool-wide metrics, a worker killed with
SIGKILL, SIGHUP re-fork, PostgreSQL down and back, Redis down and back.

These tests stop and start parts of the stack through
`$FO_ROOT/flightops component stop|start NAME`; whatever a test stops is
started again in its cleanup (and in tearDownModule), pass or fail. Run this
file alone: other tests running at the same time would see the outages.
"""

import os
import signal
import unittest

import fo

POOL = "users"
STOPPED = fo.STOPPED  # components stopped and not started again yet
RESPAWN_WAIT = 30.0
RECOVER_WAIT = 90.0
BG_THREADS = 4  # clients sending requests while workers are killed or re-forked
SIGHUP_ROUNDS = 3


def stop_component(name):
    STOPPED.append(name)
    fo.component("stop", name)


def start_component(name):
    fo.component("start", name)
    if name in STOPPED:
        STOPPED.remove(name)


def tearDownModule():
    fo.restore_components()


class ResilienceTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        fo.wait_healthy(fo.USERS, RECOVER_WAIT)
        cls.user, cls.password, cls.token = fo.new_user(fo.USERS)

    def setUp(self):
        self.addCleanup(fo.restore_components)
        fo.wait_healthy(fo.USERS, RECOVER_WAIT)

    # ------------------------------------------------------------ helpers

    def me(self):
        return fo.get(fo.USERS + "/users/me", token=self.token)

    def me_status(self):
        return self.me().status

    def login(self, password=None):
        return fo.login(fo.USERS, self.user["username"], password or self.password)

    def master(self):
        pid = fo.read_pid(POOL)
        self.assertTrue(fo.alive(pid), "%s master %d from %s/run/%s.pid is not running"
                        % (POOL, pid, fo.VAR, POOL))
        return pid

    def workers(self, master):
        kids = fo.children(master)
        self.assertTrue(kids, "%s master %d has no children" % (POOL, master))
        return kids

    def assert_all_ok(self, n=50, what="requests"):
        got = [self.me_status() for _ in range(n)]
        self.assertEqual(got, [200] * n, "%d consecutive %s: %s" % (n, what, got))

    def assert_parallel_ok(self, n=40):
        got = fo.parallel(lambda _: self.me_status(), range(n), workers=8)
        self.assertEqual(got, [200] * n, got)

    def wait_started(self, bg, more=5):
        n = bg.count()
        fo.wait_for(lambda: bg.count() >= n + more, 30, 0.05,
                    "%d more background requests" % more)

    def assertUnhealthy(self, failing, healthy):
        status, body = fo.wait_for(
            lambda: (lambda h: h if h[0] == 503 else None)(fo.health(fo.USERS)),
            30, 0.25, "/health to answer 503 with %s down" % failing)
        self.assertEqual(body.get("status"), "unhealthy", body)
        self.assertEqual(body.get("service"), "user-service", body)
        checks = body.get("checks", {})
        self.assertNotEqual(checks.get(failing), "ok", body)
        self.assertEqual(checks.get(healthy), "ok", body)
        r = fo.get(fo.GATEWAY + "/users/health")
        self.assertEqual(r.status, 503, fo.describe(r))
        self.assertEqual(r.body.get("status"), "unhealthy", fo.describe(r))

    def assertClean(self, r, allowed):
        """r answered one of allowed (a 503 must carry a JSON detail)."""
        self.assertIn(r.status, allowed, fo.describe(r))
        if r.status >= 500:
            self.assertIn("application/json", r.headers.get("Content-Type", ""),
                          fo.describe(r))
            self.assertIsInstance(r.body.get("detail"), str, fo.describe(r))

    # ------------------------------------------------------------ tests

    def test_a_metrics_summed_over_the_pool(self):
        master = self.master()
        if len(self.workers(master)) < 2:
            self.skipTest("the %s pool has one worker: summing cannot be seen" % POOL)
        label = {"method": "GET", "route": "/users/me", "status": "200"}
        before = fo.metric(fo.scrape(), "http_requests_total", **label)
        self.assert_parallel_ok(40)
        # Every scrape, whichever worker answers it, sees the same total.
        totals = [fo.metric(fo.scrape(), "http_requests_total", **label) for _ in range(8)]
        self.assertEqual([t - before for t in totals], [40] * 8, (before, totals))

    def test_b_killed_worker_is_replaced(self):
        master = self.master()
        before = self.workers(master)
        victim = min(before)
        with fo.Background(self.me_status, threads=BG_THREADS) as bg:
            self.wait_started(bg)
            os.kill(victim, signal.SIGKILL)

            def replaced():
                now = fo.children(master)
                return (victim not in now and len(now) == len(before)
                        and bool(now - before) and now)
            now = fo.wait_for(replaced, RESPAWN_WAIT, 0.1,
                              "master %d to replace killed worker %d (had %s)"
                              % (master, victim, sorted(before)))
            self.wait_started(bg, 10)
        self.assertEqual(fo.read_pid(POOL), master)
        self.assertTrue(fo.alive(master))
        self.assertEqual(len(now - before), 1, (sorted(before), sorted(now)))
        failed = [x for x in bg.snapshot() if x != 200]
        # Only the request the killed worker held may be lost, and as a 502.
        self.assertTrue(all(x == 502 for x in failed), failed)
        self.assertLessEqual(len(failed), 2, failed)
        self.assertGreater(len(bg.snapshot()) - len(failed), 0)
        self.assert_all_ok(50, "requests after the respawn")

    def test_c_postgres_down_and_back(self):
        master = self.master()
        login_before = self.login()
        self.assertEqual(login_before.status, 200, fo.describe(login_before))
        stop_component("postgres")
        try:
            self.assertUnhealthy("database", "redis")
            self.assertClean(self.login(), (503,))
            self.assertClean(self.me(), (200, 503))
            r, _ = fo.register(fo.USERS)
            self.assertClean(r, (503,))
        finally:
            start_component("postgres")
        fo.wait_healthy(fo.USERS, RECOVER_WAIT)
        self.assertEqual(fo.read_pid(POOL), master, "the pool was restarted")
        # Every worker must have reconnected: no request fails after recovery.
        self.assert_parallel_ok(40)
        self.assert_all_ok(20, "/users/me after PostgreSQL came back")
        r = self.login()
        self.assertEqual(r.status, 200, fo.describe(r))
        r, _ = fo.register(fo.USERS)
        self.assertEqual(r.status, 201, fo.describe(r))

    def test_d_redis_down_and_back(self):
        master = self.master()
        stop_component("redis")
        try:
            self.assertUnhealthy("redis", "database")
            self.assertClean(self.login(), (200, 503))
            self.assertClean(self.login("wrong-password"), (401, 503))
            self.assertClean(self.me(), (200, 503))
        finally:
            start_component("redis")
        fo.wait_healthy(fo.USERS, RECOVER_WAIT)
        self.assertEqual(fo.read_pid(POOL), master, "the pool was restarted")
        got = [self.login().status for _ in range(8)]
        self.assertEqual(got, [200] * 8, "logins after Redis came back: %s" % got)
        r = self.login("wrong-password")
        self.assertEqual(r.status, 401, fo.describe(r))
        self.assert_parallel_ok(40)

    def test_e_sighup_reforks_workers(self):
        # Several rounds under load: a graceful re-fork loses no request.
        master = self.master()
        before = self.workers(master)
        with fo.Background(self.me_status, threads=BG_THREADS) as bg:
            for round_ in range(SIGHUP_ROUNDS):
                self.wait_started(bg)
                os.kill(master, signal.SIGHUP)

                def reforked():
                    now = fo.children(master)
                    return len(now) == len(before) and now.isdisjoint(before) and now
                before = fo.wait_for(reforked, RESPAWN_WAIT, 0.1,
                                     "master %d to re-fork all of %s after SIGHUP %d"
                                     % (master, sorted(before), round_ + 1))
            self.wait_started(bg, 10)
        self.assertEqual(fo.read_pid(POOL), master)
        self.assertTrue(fo.alive(master))
        results = bg.snapshot()
        failed = [x for x in results if x != 200]
        self.assertEqual(failed, [], "%d of %d requests failed during %d SIGHUP re-forks"
                         % (len(failed), len(results), SIGHUP_ROUNDS))
        self.assert_all_ok(50, "requests after SIGHUP")

if __name__ == "__main__":
    unittest.main()
