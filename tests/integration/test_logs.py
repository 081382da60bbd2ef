"""The dev stack's logs stay bounded (./flightops's logrotate component):
with a small cap (FO_LOG_MAX) and a short interval, a pool's log and
nginx's access log written past the cap are copied to NAME.log.1 and
truncated in place; the newest lines are kept (in .1 or the live file),
no more than FO_LOG_KEEP copies exist, and the writers go on at the new
end (they append: no hole of NUL bytes where the old end was). The keeper
is restarted with the stack's defaults afterwards."""

import os
import unittest

import fo

CAP = 16 * 1024
KEEP = 2
WAIT = 60.0


def log_path(name):
    return os.path.join(fo.VAR, "log", name)


def size(name):
    try:
        return os.path.getsize(log_path(name))
    except FileNotFoundError:
        return 0


def read(name):
    try:
        with open(log_path(name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


class BoundedLogsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        fo.wait_healthy(fo.USERS)
        fo.component("stop", "logrotate")
        fo.component("start", "logrotate", env={
            "FO_LOG_MAX": str(CAP), "FO_LOG_KEEP": str(KEEP), "FO_LOG_CHECK_SECONDS": "1"})

    @classmethod
    def tearDownClass(cls):
        fo.component("stop", "logrotate")
        fo.component("start", "logrotate")

    def test_logs_rotate_past_the_cap(self):
        prefix = fo.unique("cap").replace("_", "-")
        last = None
        # about 300 bytes a request in each log: well past the cap
        for i in range(6 * CAP // 250):
            last = "%s-%d" % (prefix, i)
            r = fo.get(fo.USERS + "/health", headers={"X-Request-ID": last})
            self.assertEqual(r.status, 200)
        for name in ("users.log", "nginx-access.log"):
            with self.subTest(log=name):
                fo.wait_for(lambda: size(name) <= CAP and os.path.exists(log_path(name + ".1")),
                            WAIT, 0.25, "%s rotated" % name)
                # nginx buffers its access log (flush=1s) and a rotation may
                # run meanwhile: wait for the newest line, in any kept copy
                fo.wait_for(lambda: last.encode() in b"".join(
                    read(name + s) for s in ("", ".1", ".2")), WAIT, 0.25,
                    "the newest line of %s kept" % name)
                self.assertFalse(os.path.exists(log_path(name + ".%d" % (KEEP + 1))))
        # the writers append at the new end: no NUL hole before their next line
        after = prefix + "-after"
        self.assertEqual(fo.get(fo.USERS + "/health", headers={"X-Request-ID": after}).status, 200)
        for name in ("users.log", "nginx-access.log"):
            with self.subTest(log=name):
                fo.wait_for(lambda: after.encode() in read(name) + read(name + ".1"), WAIT, 0.25,
                            "%s written after the rotation" % name)
                self.assertNotIn(b"\0", read(name))
                self.assertLess(size(name), 4 * CAP)


if __name__ == "__main__":
    unittest.main()
