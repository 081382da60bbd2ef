"""The Debian package, built from the tree under test and run the way a host
would run it (Python 3 stdlib unittest; ctest label "package").

setUpModule builds the .deb with cpack in FO_BUILD (output in
FO_BUILD/package-test) and extracts it into a scratch root under /var/tmp
(nginx's workers, www-data, must reach the sockets there). Then:
- PackageContents: `dpkg-deb -c`/`-I` (layout, modes, conffiles, maintainer
  scripts, dependencies), the generated /etc/flightops files against every
  pool's --settings, `systemd-analyze verify` on the units (their program
  paths moved into the scratch root: systemd is not PID 1 here), `nginx -t`
  on the packaged site and snippets inside a Debian-like nginx.conf, and
  `logrotate -d` on the packaged logrotate file.
- PackageRuns: starts a PostgreSQL (runuser -u postgres), Redis and SMTP
  sink (aiosmtpd) of its own, writes /etc/flightops as an admin would, runs
  flightops-migrate, starts every unit's ExecStart with its Environment= and
  EnvironmentFile= lines the way systemd would (as User=, falling back to
  nobody when the flightops user does not exist here; only the filesystem
  prefix moved into the scratch root), runs the packaged nginx site (its
  ports moved, as an admin would), and drives a booking journey through it:
  register, token, an admin creates a flight, book, pay, the booking
  confirmed and its mail in the sink. Each pool's /proc/PID/environ holds
  only its own settings, its command line no secret; the logrotate file
  truncates a live log that the pool goes on writing.

Ports: FO_PKG_PORT_BASE (default 17000): pools +0..+5, gateway +80, Nchan
publisher +90, Redis
+379, PostgreSQL +433, SMTP +525. Everything started is stopped by pid,
also after a failure (class and module cleanups, SIGTERM, and the pid file
a killed run left). Every wait is bounded; nothing asserts on timing.
"""

import glob
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("FO_ROOT") or os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(os.environ.get("FO_BUILD") or os.path.join(ROOT, "build"))
OUT = os.path.join(BUILD, "package-test")
PIDS = os.path.join(OUT, "pids")
BASE = int(os.environ.get("FO_PKG_PORT_BASE") or 17000)
GATEWAY_PORT, REDIS_PORT, PG_PORT, SMTP_PORT = BASE + 80, BASE + 379, BASE + 433, BASE + 525
PG_BIN = "/usr/lib/postgresql/15/bin"
WAIT = 60.0

# The scratch root's folder for the test's own state (databases, sink).
STATE = "_test"


def log(text):
    sys.stderr.write("[package] %s\n" % text)
    sys.stderr.flush()


def run(cmd, check=True, timeout=300, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, cmd)), p.returncode, p.stdout, p.stderr))
    return p


def wait_for(fn, what, timeout=WAIT):
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
        time.sleep(0.1)


def pools():
    """POOLS of ./flightops, in port order."""
    with open(os.path.join(ROOT, "flightops"), encoding="utf-8") as f:
        m = re.search(r"^POOLS=\(([^)]*)\)", f.read(), re.M)
    return m.group(1).split()


def settings_of(binary):
    """{name: (kind, need, default)} from BINARY --settings."""
    out = {}
    for line in run([binary, "--settings"]).stdout.splitlines():
        name, kind, need, default = line.split("\t")[:4]
        out[name] = (kind, need, default)
    return out


def read_env_file(path):
    """NAME=value lines the way systemd's EnvironmentFile= reads them."""
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;" or "=" not in line:
                continue
            k, v = line.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            env[k.strip()] = v
    return env


def set_conf(path, name, value):
    """Set NAME in an /etc/flightops file as an admin would: the line that
    shows it (commented or not) becomes NAME=value. False when absent."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    pat = re.compile(r"^#?%s=" % re.escape(name))
    for i, line in enumerate(lines):
        if pat.match(line):
            lines[i] = "%s=%s" % (name, value)
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines))
            return True
    return False


# ---------------------------------------------------------------- processes

_started = []  # (name, Popen), in start order


def start_time(pid):
    """The start time of pid (/proc/PID/stat field 22): with the pid, names
    one process, even after its pid is reused. None when gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _record():
    with open(PIDS, "w", encoding="ascii") as f:
        for name, p in _started:
            f.write("%s %d %s\n" % (name, p.pid, start_time(p.pid)))


def spawn(name, cmd, env=None, log_path=None, cwd="/", preexec=None):
    """Start cmd in its own session (its children in its process group),
    output to log_path; recorded so that any later run can stop it."""
    out = open(log_path or os.devnull, "ab")  # noqa: SIM115 - handed to the child
    try:
        p = subprocess.Popen(cmd, env=env if env is not None else {"PATH": os.environ["PATH"]},
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             cwd=cwd, start_new_session=True, preexec_fn=preexec)
    finally:
        out.close()
    _started.append((name, p))
    _record()
    return p


def stop(pid, grace=20.0, popen=None):
    """SIGTERM the process group pid leads, SIGKILL what is left after grace."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if popen is not None:
                popen.poll()
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def stop_all():
    while _started:
        name, p = _started.pop()
        if name == "postgres":
            run(["runuser", "-u", "postgres", "--", PG_BIN + "/pg_ctl", "stop", "-m", "fast",
                 "-w", "-t", "30", "-D", pgdata()], check=False, cwd="/")
        stop(p.pid, popen=p)
        p.poll()
        _record()


def stop_leftovers():
    """Processes a killed earlier run recorded, still running from its root."""
    try:
        with open(PIDS, encoding="ascii") as f:
            rows = [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        return
    for name, pid, started in rows:
        pid = int(pid)
        if start_time(pid) == started:
            log("stopping %s (pid %d) left by an earlier run" % (name, pid))
            stop(pid, 5.0)


# ---------------------------------------------------------------- the package

SCRATCH = None
DEB = None
PKGROOT = None     # the extracted package: etc/, usr/, ...


def pgdata():
    return os.path.join(SCRATCH, STATE, "pgdata")


def in_root(text):
    """Move absolute filesystem paths (/etc, /usr, /run, /var) under the
    scratch root; nothing else changes."""
    return re.sub(r"(?<![\w/.])/(etc|usr|run|var)/", PKGROOT + r"/\1/", text)


def rewrite(path, fn):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(fn(text))


def build_deb():
    """cpack in the tree under test; the .deb it wrote."""
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    docs = os.path.join(ROOT, "web", "docs", "build.sh")
    if os.path.exists(docs):
        p = run(["bash", docs, os.path.join(BUILD, "packaging", "www", "docs")], check=False,
                timeout=600)
        if p.returncode != 0:
            log("web/docs/build.sh failed (the package is built without /docs):\n" + p.stderr)
    app = os.path.join(ROOT, "web", "app", "build.sh")
    if os.path.exists(app):
        p = run(["bash", app, os.path.join(BUILD, "packaging", "www", "app")], check=False,
                timeout=600)
        if p.returncode != 0:
            log("web/app/build.sh failed (the package is built without the web app):\n" + p.stderr)
    run(["cpack", "-G", "DEB", "-B", OUT, "--config", os.path.join(BUILD, "CPackConfig.cmake")],
        cwd=BUILD, timeout=600)
    debs = glob.glob(os.path.join(OUT, "*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


def setUpModule():
    global SCRATCH, DEB, PKGROOT
    unittest.addModuleCleanup(cleanup)
    os.makedirs(OUT, exist_ok=True)
    stop_leftovers()
    for old in glob.glob("/var/tmp/fo-pkg-*"):
        if os.path.exists(os.path.join(old, STATE, "owner")):
            with open(os.path.join(old, STATE, "owner"), encoding="utf-8") as f:
                if f.read() == BUILD:
                    shutil.rmtree(old, ignore_errors=True)
    DEB = build_deb()
    SCRATCH = tempfile.mkdtemp(prefix="fo-pkg-", dir="/var/tmp")
    os.chmod(SCRATCH, 0o755)
    os.makedirs(os.path.join(SCRATCH, STATE))
    with open(os.path.join(SCRATCH, STATE, "owner"), "w", encoding="utf-8") as f:
        f.write(BUILD)
    PKGROOT = os.path.join(SCRATCH, "root")
    run(["dpkg-deb", "-x", DEB, PKGROOT])
    os.chmod(PKGROOT, 0o755)
    log("built %s, extracted into %s" % (DEB, PKGROOT))


def cleanup():
    """Stop what this run started and remove its scratch root (FO_PKG_KEEP=1
    keeps the root, with the logs, for a look)."""
    stop_all()
    if SCRATCH and os.environ.get("FO_PKG_KEEP") != "1":
        shutil.rmtree(SCRATCH, ignore_errors=True)


def _on_sigterm(signum, frame):
    log("terminated: stopping what this run started")
    cleanup()
    os._exit(1)


signal.signal(signal.SIGTERM, _on_sigterm)


def deb_listing():
    """{path: (mode string, owner/group)} of dpkg-deb -c, paths without './'."""
    out = {}
    for line in run(["dpkg-deb", "-c", DEB]).stdout.splitlines():
        parts = line.split(None, 5)
        path = parts[5].split(" -> ")[0]
        out[path[2:] if path.startswith("./") else path] = (parts[0], parts[1])
    return out


def control(name):
    return run(["dpkg-deb", "-I", DEB, name]).stdout


UNITS = ("flightops@.service", "flightops-mailer.service", "flightops.target")


def unit_for(pool):
    """(unit file in the package, instance name) that runs pool."""
    own = os.path.join(PKGROOT, "usr/lib/systemd/system/flightops-%s.service" % pool)
    if os.path.exists(own):
        return own, None
    return os.path.join(PKGROOT, "usr/lib/systemd/system/flightops@.service"), pool


def parse_unit(path, instance):
    """{key: [values]} of the [Service] section, %i replaced."""
    keys = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                k, v = line.split("=", 1)
                if instance is not None:
                    v = v.replace("%i", instance)
                keys.setdefault(k, []).append(v)
    return keys


class PackageContents(unittest.TestCase):

    def test_file_name_and_control(self):
        with open(os.path.join(BUILD, "CMakeCache.txt"), encoding="utf-8") as f:
            version = re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(.*)$", f.read(), re.M).group(1)
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        self.assertEqual(os.path.basename(DEB), "flightops_%s_%s.deb" % (version, arch))
        info = control("control")
        self.assertRegex(info, r"(?m)^Package: flightops$")
        self.assertRegex(info, r"(?m)^Version: %s$" % re.escape(version))
        depends = re.search(r"(?m)^Depends: (.*)$", info).group(1)
        for lib in ("adduser", "libfcgi0ldbl", "libpq5", "libhiredis0.14", "libjson-c5",
                    "libjwt0", "libcurl4"):
            self.assertIn(lib, depends)
        for script in ("postinst", "prerm", "postrm"):
            text = control(script)
            self.assertTrue(text.startswith("#!/bin/sh"), script)
            with tempfile.NamedTemporaryFile("w", suffix=script) as f:
                f.write(text)
                f.flush()
                run(["sh", "-n", f.name])
        listing = run(["dpkg-deb", "-I", DEB]).stdout
        for script in ("postinst", "prerm", "postrm"):
            self.assertRegex(listing, r"\*\s+%s\s" % script)  # executable

    def test_layout_and_modes(self):
        files = deb_listing()
        want = {"usr/lib/flightops/flightops-pool": "-rwxr-xr-x",
                "usr/sbin/flightops-migrate": "-rwxr-xr-x",
                "usr/share/flightops/www/openapi.json": "-rw-r--r--",
                "etc/nginx/sites-available/flightops": "-rw-r--r--",
                "etc/logrotate.d/flightops": "-rw-r--r--",
                "etc/flightops/flightops.conf": "-rw-r-----"}
        for unit in UNITS:
            want["usr/lib/systemd/system/" + unit] = "-rw-r--r--"
        for pool in pools():
            want["usr/lib/flightops/flightops-" + pool] = "-rwxr-xr-x"
            want["etc/flightops/%s.conf" % pool] = "-rw-r-----"
        # Every migration and shared schema of the tree, under the same path.
        for path in glob.glob(os.path.join(ROOT, "sql", "**", "*.sql"), recursive=True):
            want["usr/share/flightops/sql/" + os.path.relpath(path, os.path.join(ROOT, "sql"))] = \
                "-rw-r--r--"
        for path, mode in sorted(want.items()):
            self.assertTrue(path in files, "%s is not in the package" % path)
            self.assertEqual(files[path][0], mode, path)
        for path, (mode, owner) in files.items():
            self.assertEqual(owner, "root/root", path)
            self.assertFalse(path.startswith(("usr/local", "var/", "run/", "home/")), path)
        # The /docs page, when web/docs/build.sh built it.
        if os.path.exists(os.path.join(BUILD, "packaging", "www", "docs", "index.html")):
            self.assertIn("usr/share/flightops/www/docs/index.html", files)
        # The web app (/), when web/app/build.sh built it: its page and files.
        if os.path.exists(os.path.join(BUILD, "packaging", "www", "app", "index.html")):
            self.assertIn("usr/share/flightops/www/app/index.html", files)
            self.assertTrue(any(p.startswith("usr/share/flightops/www/app/assets/") and
                                p.endswith(".js") for p in files), "no script of the web app")

    def test_conffiles_are_every_file_under_etc(self):
        files = deb_listing()
        etc = sorted("/" + p for p, (mode, _) in files.items()
                     if p.startswith("etc/") and not mode.startswith("d"))
        conffiles = sorted(control("conffiles").split())
        self.assertEqual(conffiles, etc)

    def test_nginx_snippets_included_are_packaged(self):
        files = deb_listing()
        todo, seen = ["etc/nginx/sites-available/flightops"], set()
        while todo:
            path = todo.pop()
            seen.add(path)
            with open(os.path.join(PKGROOT, path), encoding="utf-8") as f:
                text = f.read()
            self.assertNotRegex(text, r"@[A-Z_]+@", path)  # every placeholder rendered
            for inc in re.findall(r"^\s*include\s+(\S+);", text, re.M):
                if inc.startswith("/etc/nginx/snippets/"):
                    self.assertTrue(inc[1:] in files, "%s includes %s, not packaged" % (path, inc))
                    if inc[1:] not in seen:
                        todo.append(inc[1:])
        snippets = {p for p in files if p.startswith("etc/nginx/snippets/") and p.endswith(".conf")}
        self.assertEqual(snippets, seen - {"etc/nginx/sites-available/flightops"},
                         "every packaged snippet is used, every used one packaged")
        for p in snippets:
            self.assertRegex(os.path.basename(p), r"^flightops-")

    def test_generated_configuration_matches_settings(self):
        etc = os.path.join(PKGROOT, "etc", "flightops")
        shared = read_lines(os.path.join(etc, "flightops.conf"))
        for pool in pools():
            s = settings_of(os.path.join(PKGROOT, "usr/lib/flightops/flightops-" + pool))
            own = read_lines(os.path.join(etc, pool + ".conf"))
            named = set(shared) | set(own)
            # The unit sets these (the socket, the migrations folder).
            missing = set(s) - named - {"LISTEN", "MIGRATIONS_DIR"}
            self.assertEqual(missing, set(), "%s: settings not in /etc/flightops" % pool)
            self.assertEqual(own.get("DATABASE_URL"), ("", False),
                             pool + ".conf asks for DATABASE_URL=")
            for name, (value, commented) in own.items():
                self.assertIn(name, s, "%s.conf names a setting %s does not read" % (pool, pool))
                self.assertTrue(commented or value == "", "%s.conf sets %s" % (pool, name))
        all_settings = set()
        for pool in pools():
            all_settings |= set(settings_of(
                os.path.join(PKGROOT, "usr/lib/flightops/flightops-" + pool)))
        for name, (value, commented) in shared.items():
            self.assertIn(name, all_settings)
            self.assertTrue(commented, "flightops.conf sets %s: it would override keys.conf" % name)

    def test_units_verify(self):
        tmp = tempfile.mkdtemp(dir=SCRATCH)
        for unit in UNITS:
            with open(os.path.join(PKGROOT, "usr/lib/systemd/system", unit), encoding="utf-8") as f:
                text = f.read()
            with open(os.path.join(tmp, unit), "w", encoding="utf-8") as f:
                f.write(text.replace("/usr/lib/flightops/", PKGROOT + "/usr/lib/flightops/"))
        names = ["flightops@%s.service" % p for p in pools() if p != "mailer"]
        names += ["flightops-mailer.service", "flightops.target"]
        for name in names:
            p = run(["systemd-analyze", "verify", "--man=no", os.path.join(tmp, name)],
                    check=False, cwd=tmp)
            self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""), name)
        # The hardening, as systemd scores it: at most 3.0 ("OK"; 1.8 when
        # written). --threshold counts tenths.
        for name in ("flightops@users.service", "flightops-mailer.service"):
            p = run(["systemd-analyze", "security", "--offline=yes", "--threshold=30",
                     "--no-pager", os.path.join(tmp, name)], check=False, cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for unit in ("flightops@.service", "flightops-mailer.service"):
            keys = parse_unit(os.path.join(PKGROOT, "usr/lib/systemd/system", unit), "x")
            for k, v in (("User", "flightops"), ("Restart", "on-failure"),
                         ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                         ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                         ("RuntimeDirectory", "flightops")):
                self.assertEqual(keys.get(k), [v], "%s %s" % (unit, k))
            self.assertTrue(all("/etc/flightops/" in f for f in keys["EnvironmentFile"]))

    def test_nginx_t(self):
        root = os.path.join(SCRATCH, "nginx-t")
        conf = write_site_copy(root, ports=False)
        p = run(["nginx", "-t", "-c", conf, "-e", os.path.join(root, "error.log")], check=False)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_logrotate_syntax(self):
        conf = os.path.join(SCRATCH, "logrotate-d.conf")
        with open(os.path.join(PKGROOT, "etc/logrotate.d/flightops"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn("copytruncate", text)
        with open(conf, "w", encoding="utf-8") as f:
            f.write(in_root(text))
        os.makedirs(os.path.join(PKGROOT, "var/log/flightops"), exist_ok=True)
        p = run(["logrotate", "-d", "-s", os.path.join(SCRATCH, "logrotate-d.state"), conf],
                check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("error", (p.stdout + p.stderr).lower())


def read_lines(path):
    """{name: (value, commented)} of the NAME=value lines of a generated file."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$", line.rstrip("\n"))
            if m:
                out[m.group(2)] = (m.group(3), m.group(1) == "#")
    return out


def write_site_copy(root, ports):
    """A Debian-like nginx.conf under root that includes the packaged site
    through sites-enabled, its paths under the scratch root (and, for a run,
    its ports moved to the test's). The path of that nginx.conf."""
    etc = os.path.join(root, "etc", "nginx")
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(os.path.join(PKGROOT, "etc", "nginx"), etc)
    os.makedirs(os.path.join(etc, "sites-enabled"))
    os.symlink("../sites-available/flightops", os.path.join(etc, "sites-enabled", "flightops"))
    # what Debian's nginx-common ships (the read cache's folder is made in it)
    os.makedirs(os.path.join(PKGROOT, "var", "log", "nginx"), exist_ok=True)
    os.makedirs(os.path.join(PKGROOT, "var", "lib", "nginx"), exist_ok=True)
    pool_list = pools()

    def move(text):
        # The copy's snippets, not the extracted ones: their ports move.
        text = in_root(text).replace(PKGROOT + "/etc/nginx/", etc + "/")
        if ports:
            text = re.sub(r"(?m)^(\s*listen\s+)8080;", r"\g<1>127.0.0.1:%d;" % GATEWAY_PORT, text)
            for i in range(len(pool_list)):
                text = text.replace("listen 127.0.0.1:%d;" % (8000 + i),
                                    "listen 127.0.0.1:%d;" % (BASE + i))
            # the live seat map's publisher (Nchan)
            text = text.replace("listen 127.0.0.1:8090;", "listen 127.0.0.1:%d;" % (BASE + 90))
        return text
    for path in glob.glob(os.path.join(etc, "sites-available", "*")) + \
            glob.glob(os.path.join(etc, "snippets", "*.conf")):
        rewrite(path, move)
    tmp = os.path.join(root, "tmp")
    os.makedirs(tmp)
    conf = os.path.join(etc, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write("""# As Debian's /etc/nginx/nginx.conf, paths in the scratch root.
user www-data;
worker_processes 2;
pid %(root)s/nginx.pid;
include /etc/nginx/modules-enabled/*.conf;
error_log %(root)s/error.log warn;
events { worker_connections 512; }
http {
	sendfile on;
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	access_log %(root)s/access.log;
	client_body_temp_path %(tmp)s/body;
	proxy_temp_path %(tmp)s/proxy;
	fastcgi_temp_path %(tmp)s/fastcgi;
	uwsgi_temp_path %(tmp)s/uwsgi;
	scgi_temp_path %(tmp)s/scgi;
	include %(etc)s/sites-enabled/*;
}
""" % {"root": root, "tmp": tmp, "etc": etc})
    return conf


# ---------------------------------------------------------------- running it

def unix_open(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.settimeout(2)
        s.connect(path)
        return True
    finally:
        s.close()


def port_taken(port):
    try:
        return tcp_open(port)
    except OSError:
        return False


def tcp_open(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return True


class PackageRuns(unittest.TestCase):
    """The extracted package against a PostgreSQL, Redis and SMTP sink of
    the test's own, through the packaged nginx site."""

    pids = {}

    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(stop_all)
        ports = [PG_PORT, REDIS_PORT, SMTP_PORT, GATEWAY_PORT, BASE + 90] + \
            [BASE + i for i in range(len(pools()))]
        taken = [port for port in ports if port_taken(port)]
        if taken:
            raise AssertionError("ports taken by another program: %s (FO_PKG_PORT_BASE moves them)"
                                 % taken)
        cls.state = os.path.join(SCRATCH, STATE)
        cls.pg_password = secrets.token_hex(12)
        cls.redis_password = secrets.token_hex(12)
        cls.admin_password = "admin-" + secrets.token_hex(6)
        cls.smtp_password = "smtp-" + secrets.token_hex(8)
        cls.start_postgres()
        cls.start_redis()
        cls.start_smtp()
        cls.unconfigured = run([cls.migrate(), "--check"], check=False)
        cls.configure()
        cls.migrated = run([cls.migrate()], check=False)
        cls.migrated_again = run([cls.migrate()], check=False)
        if cls.migrated.returncode != 0:
            raise AssertionError("flightops-migrate failed:\n" + cls.migrated.stderr)
        for pool in pools():
            cls.start_unit(pool)
        cls.start_nginx()
        import_fo(cls)

    @classmethod
    def migrate(cls):
        return os.path.join(PKGROOT, "usr/sbin/flightops-migrate")

    # -- the host's services, the test's own

    @classmethod
    def start_postgres(cls):
        data = pgdata()
        os.makedirs(data)
        shutil.chown(data, "postgres", "postgres")
        os.chmod(data, 0o700)
        pg = ["runuser", "-u", "postgres", "--"]
        run(pg + [PG_BIN + "/initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--no-locale",
                  "--auth-local=peer", "--auth-host=scram-sha-256"], cwd="/")
        with open(os.path.join(data, "postgresql.conf"), "a", encoding="utf-8") as f:
            f.write("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                    "max_connections = 100\n" % (PG_PORT, data))
        spawn("postgres", pg + [PG_BIN + "/postgres", "-D", data],
              log_path=os.path.join(cls.state, "postgres.log"))
        wait_for(lambda: run(pg + [PG_BIN + "/pg_isready", "-q", "-h", data, "-p", str(PG_PORT)],
                             check=False, cwd="/").returncode == 0, "PostgreSQL")
        sql = ["-c", "CREATE ROLE flightops LOGIN PASSWORD '%s'" % cls.pg_password]
        for db in sorted(set(pools()) - {"mailer"}):
            sql += ["-c", "CREATE DATABASE flightops_%s OWNER flightops" % db]
        run(pg + [PG_BIN + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", data, "-p",
                  str(PG_PORT), "-d", "postgres"] + sql, cwd="/")

    @classmethod
    def start_redis(cls):
        conf = os.path.join(cls.state, "redis.conf")
        os.makedirs(os.path.join(cls.state, "redis"))
        with open(os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as f:
            f.write("bind 127.0.0.1\nport %d\nrequirepass %s\ndaemonize no\nlogfile \"\"\n"
                    "dir %s\nsave \"\"\nappendonly no\n"
                    % (REDIS_PORT, cls.redis_password, os.path.join(cls.state, "redis")))
        spawn("redis", ["redis-server", conf], log_path=os.path.join(cls.state, "redis.log"))
        wait_for(lambda: tcp_open(REDIS_PORT), "Redis")

    @classmethod
    def start_smtp(cls):
        cls.maildir = os.path.join(cls.state, "sink", "mail")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(cls.maildir, sub))
        spawn("smtp", ["/usr/bin/python3", "-u", "-m", "aiosmtpd", "-n", "-l",
                       "127.0.0.1:%d" % SMTP_PORT, "-c", "aiosmtpd.handlers.Mailbox", cls.maildir],
              log_path=os.path.join(cls.state, "smtp.log"))
        wait_for(lambda: tcp_open(SMTP_PORT), "the SMTP sink")

    # -- the admin's part

    @classmethod
    def configure(cls):
        """/etc/flightops as the README tells an admin: keys.conf as the
        postinst makes it, the databases, Redis, SMTP, the first admin, and
        (ports moved for the test) where the pools reach each other."""
        etc = os.path.join(PKGROOT, "etc", "flightops")
        with open(os.open(os.path.join(etc, "keys.conf"), os.O_WRONLY | os.O_CREAT, 0o640),
                  "w", encoding="utf-8") as f:
            f.write("SECRET_KEY=%s\nSERVICE_KEY=%s\n" % (secrets.token_hex(32),
                                                        secrets.token_hex(32)))
        wanted = {"REDIS_URL": "redis://:%s@127.0.0.1:%d/0" % (cls.redis_password, REDIS_PORT),
                  "WORKERS": "2", "SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(SMTP_PORT),
                  "ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": cls.admin_password,
                  "ADMIN_EMAIL": "admin@example.com", "GATEWAY_LATENCY_MS": "10",
                  "PAYMENT_GATEWAY": "simulator",
                  "LIVE_PUBLISH_URL": "http://127.0.0.1:%d/flights" % (BASE + 90),
                  "CACHE_PURGE_URL": "http://127.0.0.1:%d/flights/cache" % (BASE + 90)}
        for i, pool in enumerate(pools()):
            wanted[pool.upper() + "_URL"] = "http://127.0.0.1:%d" % (BASE + i)
        files = [os.path.join(etc, "flightops.conf")] + \
            [os.path.join(etc, p + ".conf") for p in pools()]
        for name, value in wanted.items():
            hits = [f for f in files if set_conf(f, name, value)]
            if not hits and name != "MAILER_URL":  # no pool calls the mailer
                raise AssertionError("%s is in no /etc/flightops file" % name)
        for pool in pools():
            db = "notifications" if pool == "mailer" else pool
            url = "postgresql://flightops:%s@127.0.0.1:%d/flightops_%s" % (
                cls.pg_password, PG_PORT, db)
            assert set_conf(os.path.join(etc, pool + ".conf"), "DATABASE_URL", url)
        # A secret only the mailer reads: no other pool may see it.
        assert set_conf(os.path.join(etc, "mailer.conf"), "SMTP_PASSWORD", cls.smtp_password)
        for f in glob.glob(os.path.join(etc, "*.conf")):
            os.chmod(f, 0o640)

    # -- what systemd would do

    @classmethod
    def unit_user(cls, keys):
        import pwd
        name = keys.get("User", ["root"])[-1]
        try:
            return pwd.getpwnam(name)
        except KeyError:
            return pwd.getpwnam("nobody")

    @classmethod
    def start_unit(cls, pool):
        path, instance = unit_for(pool)
        keys = parse_unit(path, instance)
        user = cls.unit_user(keys)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8", "INVOCATION_ID": secrets.token_hex(16),
               "HOME": user.pw_dir, "LOGNAME": user.pw_name, "USER": user.pw_name,
               "SHELL": user.pw_shell}
        for d in keys.get("RuntimeDirectory", []):
            path_ = os.path.join(PKGROOT, "run", d)
            os.makedirs(path_, exist_ok=True)
            os.chown(path_, user.pw_uid, user.pw_gid)
            os.chmod(path_, int(keys.get("RuntimeDirectoryMode", ["0755"])[-1], 8))
            env["RUNTIME_DIRECTORY"] = path_
        for d in keys.get("LogsDirectory", []):
            path_ = os.path.join(PKGROOT, "var", "log", d)
            os.makedirs(path_, exist_ok=True)
            os.chown(path_, user.pw_uid, user.pw_gid)
            os.chmod(path_, int(keys.get("LogsDirectoryMode", ["0755"])[-1], 8))
            env["LOGS_DIRECTORY"] = path_
        for line in keys.get("Environment", []):
            for item in shlex.split(line):
                k, v = item.split("=", 1)
                env[k] = in_root(v)
        for f in keys.get("EnvironmentFile", []):
            optional = f.startswith("-")
            f = in_root(f.lstrip("-"))
            if optional and not os.path.exists(f):
                continue
            env.update(read_env_file(f))
        out = keys["StandardOutput"][-1]
        assert out.startswith("append:"), out
        log_path = in_root(out[len("append:"):])
        cmd = [in_root(a) for a in shlex.split(keys["ExecStart"][-1])]
        uid, gid = user.pw_uid, user.pw_gid
        # SupplementaryGroups= as systemd sets it: the pool gives its socket
        # (0660) to nginx's group, which it must be in.
        import grp
        groups = [grp.getgrnam(g).gr_gid for line in keys.get("SupplementaryGroups", [])
                  for g in line.split()]

        def drop():
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
        p = spawn(pool, cmd, env=env, log_path=log_path, preexec=drop)
        cls.pids[pool] = p.pid
        sock = env["LISTEN"][len("unix:"):]

        def up():
            if p.poll() is not None:
                raise AssertionError("%s exited %s; %s:\n%s" % (
                    pool, p.returncode, log_path, tail(log_path)))
            return os.path.exists(sock) and unix_open(sock)
        try:
            wait_for(up, "the %s pool on %s" % (pool, sock))
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, tail(log_path))) from None
        # Only the pool and nginx's group (the unit's SOCKET_GROUP) connect.
        st = os.stat(sock)
        got = (oct(st.st_mode & 0o777), grp.getgrgid(st.st_gid).gr_name)
        if got != (oct(0o660), env.get("SOCKET_GROUP")):
            raise AssertionError("%s: socket mode and group %s, want 0o660 and %s"
                                 % (sock, got, env.get("SOCKET_GROUP")))
        cls.log_paths = getattr(cls, "log_paths", {})
        cls.log_paths[pool] = log_path

    @classmethod
    def start_nginx(cls):
        root = os.path.join(SCRATCH, "nginx")
        conf = write_site_copy(root, ports=True)
        run(["nginx", "-t", "-q", "-c", conf, "-e", os.path.join(root, "error.log")])
        spawn("nginx", ["nginx", "-g", "daemon off;", "-c", conf, "-e",
                        os.path.join(root, "error.log")], log_path=os.path.join(root, "out.log"))

        def answers():
            conn = socket.create_connection(("127.0.0.1", GATEWAY_PORT), timeout=2)
            try:
                conn.sendall(b"GET /users/health HTTP/1.0\r\n\r\n")
                return conn.recv(64).startswith(b"HTTP/1.1 200")
            finally:
                conn.close()
        wait_for(answers, "the packaged site's gateway on %d" % GATEWAY_PORT)

    # -- the tests

    def test_migrate(self):
        self.assertNotEqual(self.unconfigured.returncode, 0)
        self.assertIn("DATABASE_URL: is required", self.unconfigured.stderr)
        for pool in pools():
            self.assertIn("%s: migrate ok" % pool, self.migrated.stderr)
        self.assertIn("migration applied", self.migrated.stderr)
        self.assertEqual(self.migrated_again.returncode, 0, self.migrated_again.stderr)
        self.assertNotIn("migration applied", self.migrated_again.stderr)
        p = run([self.migrate(), "--check"], check=False)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_each_pool_gets_only_its_settings(self):
        for pool, pid in self.pids.items():
            allowed = set(settings_of(os.path.join(PKGROOT, "usr/lib/flightops/flightops-" + pool)))
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if item)
            names = {k.decode() for k in env}
            self.assertLessEqual(names, allowed, "%s sees settings it does not read" % pool)
            self.assertIn("DATABASE_URL", names, pool)
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read().split(b"\0")
            self.assertEqual(cmdline[0], os.path.join(
                PKGROOT, "usr/lib/flightops/flightops-" + pool).encode(), pool)
            self.assertNotIn(self.pg_password.encode(), b" ".join(cmdline))
            # Secrets of one service, or none of its business.
            if pool == "mailer":
                self.assertEqual(env[b"SMTP_PASSWORD"], self.smtp_password.encode())
                self.assertNotIn("SECRET_KEY", names)
            else:
                self.assertNotIn("SMTP_PASSWORD", names, pool)
            self.assertEqual("ADMIN_PASSWORD" in names, pool == "users", pool)
            db = "notifications" if pool == "mailer" else pool
            self.assertTrue(env[b"DATABASE_URL"].endswith(("/flightops_" + db).encode()), pool)

    def test_booking_journey_through_the_packaged_site(self):
        gw = fo.GATEWAY
        r = fo.get(gw + "/openapi.json")
        self.assertEqual(r.status, 200, fo.describe(r))
        self.assertIn("application/json", r.headers.get("Content-Type", ""))
        if os.path.exists(os.path.join(PKGROOT, "usr/share/flightops/www/docs/index.html")):
            r = fo.get(gw + "/docs/")
            self.assertEqual(r.status, 200, fo.describe(r))
            self.assertIn("text/html", r.headers.get("Content-Type", ""))
        if os.path.exists(os.path.join(PKGROOT, "usr/share/flightops/www/app/index.html")):
            r = fo.get(gw + "/")
            self.assertEqual(r.status, 200, fo.describe(r))
            self.assertIn("text/html", r.headers.get("Content-Type", ""))
            self.assertIn("/assets/", r.raw.decode("utf-8", "replace"))
        admin = fo.token_for(gw, "admin", self.admin_password)
        flight = fo.create_flight(admin, gw, price=199.5, total_seats=12)
        user, password, token = fo.new_user(gw)
        r = fo.book(token, flight["id"], "1A", base=gw)
        self.assertEqual(r.status, 201, fo.describe(r))
        booking = r.body
        r = fo.pay(token, booking, base=gw, headers={"X-Request-ID": "pkg-journey-1"})
        self.assertEqual(r.status, 202, fo.describe(r))
        self.assertEqual(r.headers.get("X-Request-ID"), "pkg-journey-1")
        payment = fo.wait_payment(token, r.body["id"], timeout=WAIT, base=gw)
        self.assertEqual(payment["status"], "succeeded", payment)
        fo.wait_booking(token, booking["id"], "confirmed", timeout=WAIT, base=gw)
        self.assertEqual(fo.seat_map(flight["id"], gw)["1A"], "booked")
        n = fo.wait_notification(token, booking["id"], "booking_confirmation", timeout=WAIT,
                                 base=gw)
        mails = fo.wait_mail(n["id"], to=user["email"], timeout=WAIT)
        self.assertGreaterEqual(len(mails), 1)
        self.assertIn(booking["reference"], fo.mail_text(mails[0]))
        # The per-service ports the pools call each other on, and the
        # gateway's refusal of internal routes.
        for i, pool in enumerate(pools()):
            r = fo.get("http://127.0.0.1:%d/health" % (BASE + i))
            self.assertEqual(r.status, 200, "%s: %s" % (pool, fo.describe(r)))
        r = fo.get(gw + "/internal/flights/%d" % flight["id"])
        self.assertEqual(r.status, 404, fo.describe(r))

    def test_logrotate_truncates_a_live_log(self):
        conf = os.path.join(SCRATCH, "logrotate.conf")
        with open(os.path.join(PKGROOT, "etc/logrotate.d/flightops"), encoding="utf-8") as f:
            text = f.read()
        with open(conf, "w", encoding="utf-8") as f:
            f.write(in_root(text))
        users_log = self.log_paths["users"]
        self.assertGreater(os.path.getsize(users_log), 0)
        run(["logrotate", "-f", "-s", os.path.join(SCRATCH, "logrotate.state"), conf])
        self.assertTrue(os.path.exists(users_log + ".1"), os.listdir(os.path.dirname(users_log)))
        marker = "pkg-rotate-" + secrets.token_hex(4)

        def logged():
            fo.get(fo.USERS + "/users/me", headers={"X-Request-ID": marker})
            with open(users_log, "rb") as f:
                data = f.read()
            return data if marker.encode() in data else None
        data = wait_for(logged, "a line with %s in %s after rotation" % (marker, users_log))
        # O_APPEND: the pool writes at the new end, not at its old offset
        # (which would leave a hole of NUL bytes at the start).
        self.assertTrue(data.startswith(b"{"), data[:80])


def tail(path, n=30):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return str(e)


fo = None


def import_fo(cls):
    """tests/integration/fo.py, pointed at this run's gateway, ports and
    sink (it reads them when imported)."""
    global fo
    os.environ.update({"FO_GATEWAY_PORT": str(GATEWAY_PORT), "FO_PORT_BASE": str(BASE),
                       "FO_VAR": os.path.join(cls.state, "sink")})
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import fo as module  # noqa: PLC0415 - needs the environment above
    fo = module


if __name__ == "__main__":
    unittest.main()
