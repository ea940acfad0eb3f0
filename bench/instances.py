#!/usr/bin/env python3
"""SQLite against PostgreSQL with 1, 2 and 3 `newswire run` instances, on the shared feed farm.

    python3 bench/instances.py --farm /tmp/newswire-farm/farms/n1000 --pg URL [sqlite 1 2 3]

(bench/instances.sh sets it all up: release build, farm, a throwaway PostgreSQL with fsync.)

Each configuration starts from an empty store, K daemons started together on it, with a
schedule that ticks every two minutes, started just after a tick: the polls at start are the
first poll (every feed new; the instances share the feeds through their leases), and the next
tick is the unchanged poll (every feed 304). Each phase is timed from its start until every
feed's last_poll says it was polled (read from the database every 0.2 s), with the CPU of every
newswire process and of the PostgreSQL server (its processes, and its reaped children) over
the phase, and the largest peak RSS (VmHWM) of one newswire process.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

HZ = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid, children=False):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # after ')': state is field 3; utime 14, stime 15, cutime 16, cstime 17 (1-based overall)
    t = int(f[11]) + int(f[12])
    if children:
        t += int(f[13]) + int(f[14])
    return t / HZ


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(d))
    return out


def pg_cpu(postmaster):
    if not postmaster:
        return 0.0
    return proc_cpu(postmaster, children=True) + sum(proc_cpu(c) for c in children_of(postmaster))


def hwm_mb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def count_polled(kind, db, since):
    if kind == "sqlite":
        q = f"select count(*) from feeds where last_poll >= {since}"
        r = subprocess.run(["sqlite3", db, q], capture_output=True, text=True)
    else:
        q = f"select count(*) from feeds where last_poll >= {since}"
        r = subprocess.run(["psql", "-At", db, "-c", q], capture_output=True, text=True)
    try:
        return int(r.stdout.strip() or 0)
    except ValueError:
        return 0


def count_stories(kind, db):
    q = "select count(*) from stories"
    if kind == "sqlite":
        r = subprocess.run(["sqlite3", db, q], capture_output=True, text=True)
    else:
        r = subprocess.run(["psql", "-At", db, "-c", q], capture_output=True, text=True)
    return r.stdout.strip()


def wait_polled(kind, db, since, feeds, limit=900):
    deadline = time.time() + limit
    while time.time() < deadline:
        if count_polled(kind, db, since) >= feeds:
            return time.time()
        time.sleep(0.2)
    raise SystemExit(f"not every feed was polled within {limit} s")


def run(bin_, urls, kind, k, db, work, postmaster, period):
    feeds = len(urls)
    procs = []
    # just after a tick: the next one is a whole period away
    while int(time.time()) % period > 2:
        time.sleep(0.2)
    for i in range(k):
        cfg = os.path.join(work, f"{kind}-{k}-{i}.toml")
        with open(cfg, "w") as f:
            # cache hints (the farm's <ttl>s) would keep feeds from the next tick's poll
            f.write(f'database = "{db}"\nlisten = "127.0.0.1:0"\nschedule = "0 */{period // 60} * * * *"\n\n'
                    '[fetch]\nrespect_cache_hints = false\n\n')
            for n, u in enumerate(urls):
                f.write(f'[[feed]]\nname = "f{n:05d}"\nurl = "{u}"\n\n')
    cpu0, pg0 = 0.0, pg_cpu(postmaster)
    start = time.time()
    for i in range(k):
        cfg = os.path.join(work, f"{kind}-{k}-{i}.toml")
        log = open(os.path.join(work, f"{kind}-{k}-{i}.log"), "w")
        procs.append(subprocess.Popen([bin_, "-q", "run", "--config", cfg],
                                      stdout=subprocess.DEVNULL, stderr=log))
    done = wait_polled(kind, db, int(start) - 1, feeds, max(900, 2 * period))
    first = (done - start, sum(proc_cpu(p.pid) for p in procs) - cpu0 + pg_cpu(postmaster) - pg0)
    cpu1, pg1 = sum(proc_cpu(p.pid) for p in procs), pg_cpu(postmaster)
    tick = (int(time.time()) // period + 1) * period
    while time.time() < tick:
        time.sleep(0.05)
    done = wait_polled(kind, db, tick, feeds, max(900, 2 * period))
    again = (done - tick, sum(proc_cpu(p.pid) for p in procs) - cpu1 + pg_cpu(postmaster) - pg1)
    rss = max(hwm_mb(p.pid) for p in procs)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=60)
    return first, again, rss, count_stories(kind, db)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--farm", required=True)
    ap.add_argument("--pg", required=True, help="URL of the server's postgres database")
    ap.add_argument("--postmaster", type=int, default=0)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--period", type=int, default=120,
                    help="seconds between ticks, a whole number of minutes dividing an hour "
                         "(longer than a first poll: 600 for 10,000 feeds)")
    ap.add_argument("runs", nargs="*", default=["sqlite", "1", "2", "3"])
    a = ap.parse_args()
    urls = [u.strip() for u in open(os.path.join(a.farm, "urls.txt")) if u.strip()]
    work = tempfile.mkdtemp(prefix="newswire-instances.")
    print("| store | instances | first poll wall s | CPU s (all processes) | peak RSS MB (one instance) "
          "| unchanged poll wall s | CPU s | stories |")
    print("|---|---|---|---|---|---|---|---|")
    for r in a.runs:
        if r == "sqlite":
            kind, k, db = "sqlite", 1, os.path.join(work, "n.db")
        else:
            kind, k = "pg", int(r)
            name = f"nw_bench_{k}"
            subprocess.run(["psql", "-q", a.pg, "-c", f"DROP DATABASE IF EXISTS {name}",
                            "-c", f"CREATE DATABASE {name}"], check=True)
            db = a.pg.replace("/postgres?", f"/{name}?")
        first, again, rss, stories = run(a.bin, urls, kind, k, db, work,
                                         a.postmaster if kind == "pg" else 0, a.period)
        print(f"| {'SQLite' if kind == 'sqlite' else 'PostgreSQL'} | {k} | {first[0]:.1f} | {first[1]:.1f} "
              f"| {rss:.0f} | {again[0]:.1f} | {again[1]:.1f} | {stories} |", flush=True)


if __name__ == "__main__":
    main()
