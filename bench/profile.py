#!/usr/bin/env python3
"""bench/profile.py - where one load's CPU goes, per request: the figures
behind the README's "Where the time goes".

    bench/profile.py [--perf] [--top N] -- wrk ARGS...

Runs wrk ARGS once (against a stack already up: ./flightops up, or the
bench's) and prints, per process name (/proc/<pid>/comm: nginx,
bookings:worker, postgres, redis-server, wrk...), the CPU it used during
the run divided by the requests wrk made: microseconds of CPU per request.
A process that exited during the run (a pool's recycled child) is counted
through its parent's cutime/cstime, less what it had used before the run;
not those reaped by PID 1.

With --perf, `perf record -a -g` samples the whole machine during the same
run (software clock: no hardware counters needed), and for each of the N
busiest process names (4) it prints its share of the samples, its kernel
and user parts, and its hottest functions (self time). Loopback traffic
is processed in softirq by whichever process is sending when it runs, so
a process's kernel share includes some of its peers' packets.

Numbers only: nothing here is asserted, and one run on a noisy machine says
little; run it twice, A B A B, for any comparison. Needs wrk (and perf
for --perf), as ./flightops bench does.
"""

import collections
import os
import re
import subprocess
import sys
import tempfile

HZ = os.sysconf("SC_CLK_TCK")


def snapshot():
    """{pid: (comm, ppid, own CPU ticks, reaped children's ticks)}."""
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        procs[int(pid)] = (comm, int(fields[1]), int(fields[11]) + int(fields[12]),
                           int(fields[13]) + int(fields[14]))
    return procs


def cpu_between(before, after):
    """{comm: CPU ticks used between the two snapshots}. A process that
    exited in between is counted through its parent's reaped ticks, less
    what it had used before (so a pool child recycled during the run counts
    its part of the run, not its whole life), under its own name; PID 1
    reaps every orphan of the machine and is left out."""
    used = collections.Counter()
    for pid, (comm, _, own, _) in after.items():
        used[comm] += own - (before[pid][2] if pid in before and before[pid][0] == comm else 0)
    gone = collections.defaultdict(list)
    for pid, (comm, ppid, own, _) in before.items():
        if pid not in after:
            gone[ppid].append((comm, own))
    for pid, (comm, _, _, reaped) in after.items():
        if pid == 1 or pid not in before:
            continue
        extra = reaped - before[pid][3] - sum(own for _, own in gone[pid])
        if extra > 0:
            names = {c for c, _ in gone[pid]}
            if pid == os.getpid():
                used["wrk (the load)"] += extra
            else:
                used[names.pop() if len(names) == 1 else comm + " (children)"] += extra
    return used


def perf_report(data, *args):
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                          "-g", "none", "--percentage", "relative"] + list(args),
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(.*\S)", line)
        if m:
            rows.append((float(m.group(1)), re.sub(r"\s+-\s+-\s*$", "", m.group(2))))
    return rows


def main(argv):
    use_perf, top = False, 4
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--perf":
            use_perf = True
        elif opt == "--top":
            top = int(argv.pop(0))
        else:
            sys.exit(__doc__)
    if not argv or len(argv) < 2:
        sys.exit(__doc__)
    wrk = argv[1:]

    perf, data = None, None
    if use_perf:
        fd, data = tempfile.mkstemp(prefix="fo-profile-", suffix=".data")
        os.close(fd)
        perf = subprocess.Popen(["perf", "record", "-q", "-a", "-g", "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        before = snapshot()
        out = subprocess.run(wrk, capture_output=True, text=True).stdout
        used = cpu_between(before, snapshot())
        if perf:
            perf.send_signal(2)
            perf.wait(30)
        m = re.search(r"(\d+) requests in", out)
        if not m:
            sys.exit("no request count in wrk's output:\n" + out)
        report(out, used, int(m.group(1)), data, top)
    finally:
        if data:
            os.unlink(data)


def report(out, used, n, data, top):
    """wrk's summary, the CPU per request of each process name (of n
    requests), and with a perf file (data), its busiest top names."""
    print("```")
    print("\n".join(line for line in out.splitlines() if "Latency" in line or "Requests/sec" in line
                    or "Non-2xx" in line))
    print("CPU per request (us), by process name:")
    total = 0.0
    for us, comm in sorted(((t / HZ * 1e6 / n, c) for c, t in used.items()), reverse=True):
        if us >= 1.0:
            print("  %-30s %7.1f" % (comm, us))
            total += us
    print("  %-30s %7.1f" % ("(all of the above)", total))
    if data:
        for share, comm in perf_report(data, "--sort", "comm")[:top]:
            syms = perf_report(data, "--comm", comm, "--sort", "symbol")
            kernel = sum(s for s, sym in syms if sym.startswith("[k]"))
            print("%s: %.1f%% of the samples; kernel %.0f%%, user %.0f%%"
                  % (comm, share, kernel, 100 - kernel))
            for s, sym in syms[:8]:
                print("    %5.1f%%  %s" % (s, sym))
    print("```")


if __name__ == "__main__":
    main(sys.argv[1:])
