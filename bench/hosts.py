#!/usr/bin/env python3
"""bench/hosts.py - one app host against two, on the hosts suite's network
(tests/hosts/test_hosts.py: namespaces fo-gw1, fo-gw2, fo-app1, fo-app2,
fo-data on a bridge; every pool through PgBouncer). Not part of the test
suite and never asserts a timing.

For each read (GET /flights/{id}, anonymous; GET /users/me, bearer) it
measures, with gw1's upstreams first app1 only and then app1 + app2 (the
gateway re-rendered and reloaded between them), wrk's req/s and p99 from
the bridge (the root namespace) to gw1, and the CPU every namespace's
processes used meanwhile (utime + stime from /proc), per request. On a
machine whose cores every namespace shares, a second app host adds no
cores: what it shows is where the CPU of a request goes, and so what one
more core (or host) would add.

Run as root: python3 bench/hosts.py (FO_BUILD: the pools' build, default
build/; BENCH_DURATION, BENCH_CONNS, BENCH_THREADS as for bench/run).
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "hosts"))
import test_hosts as th  # noqa: E402 - the hosts suite's network and stack
fo = th.fo

DURATION = os.environ.get("BENCH_DURATION", "5s")
CONNS = os.environ.get("BENCH_CONNS", "64")
THREADS = os.environ.get("BENCH_THREADS", "2")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(host):
    """utime + stime of every process in host's namespace, and of their
    reaped children (a pool child replaced after MAX_REQUESTS), in ticks."""
    total = 0
    for pid in th.netns_pids(th.ns(host)):
        try:
            with open("/proc/%d/stat" % pid, encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile
    return total


def wrk(url, headers=()):
    cmd = ["wrk", "-t" + THREADS, "-c" + CONNS]
    for h in headers:
        cmd += ["-H", h]
    subprocess.run(cmd + ["-d2s", url], capture_output=True, timeout=120)  # warm-up
    hosts = list(th.HOSTS)
    before = {h: cpu_ticks(h) for h in hosts}
    out = subprocess.run(cmd + ["-d" + DURATION, "--latency", url], capture_output=True,
                         text=True, timeout=300).stdout
    used = {h: cpu_ticks(h) - before[h] for h in hosts}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"\s99%\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = rps * float(DURATION.rstrip("s"))
    per = {h: 1e6 * used[h] / TICK / total for h in hosts if used[h]}
    return rps, p99, int(non2xx.group(1)) if non2xx else 0, per


def use_apps(apps):
    th.STACK.render_gateway("gw1", apps)
    nginx = th.STACK.procs[("gw1", "nginx")]
    kids = lambda: set(th.run(["ps", "-o", "pid=", "--ppid", str(nginx.pid)]).stdout.split())
    before = kids()
    os.kill(nginx.pid, 1)  # SIGHUP: reload
    th.wait_for(lambda: not before & kids(), "gw1's workers to be replaced", 60, 0.2)


def main():
    th.setUpModule()
    rows = []
    try:
        gw = th.gw_url("gw1")
        admin = th.admin_token()
        flight = fo.create_flight(admin, gw, total_seats=60)
        _, token = th.new_user("gw1")
        reads = [("GET /flights/{id}", "%s/flights/%d" % (gw, flight["id"]), ()),
                 ("GET /users/me", gw + "/users/me", ("Authorization: Bearer " + token,))]
        for apps in (("app1",), ("app1", "app2")):
            use_apps(apps)
            for name, url, headers in reads:
                rps, p99, bad, per = wrk(url, headers)
                rows.append((name, "+".join(apps), rps, p99, bad, per))
                th.say("%s via %s: %.0f req/s, p99 %s, non-2xx %d; CPU µs per request: %s"
                       % (name, "+".join(apps), rps, p99, bad,
                          ", ".join("%s %.0f" % kv for kv in per.items())))
    finally:
        th.tearDownModule()
    print("\n| read | app hosts | req/s | p99 | non-2xx | CPU µs/request by host | total |")
    print("| --- | --- | ---: | ---: | ---: | --- | ---: |")
    for name, apps, rps, p99, bad, per in rows:
        print("| %s | %s | %.0f | %s | %d | %s | %.0f |"
              % (name, apps, rps, p99, bad, ", ".join("%s %.0f" % kv for kv in per.items()),
                 sum(per.values())))
    cores = os.cpu_count()
    for name, apps, rps, p99, bad, per in rows:
        if apps == "app1":
            cost = sum(per.values())
            print("%s: %.0f µs of CPU per request in all: %d cores give at most %.0f req/s; "
                  "each added core about %.0f more" % (name, cost, cores, cores * 1e6 / cost,
                                                       1e6 / cost))


if __name__ == "__main__":
    main()
