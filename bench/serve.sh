#!/usr/bin/env bash
# Target 4 of bench/RESULTS.md: latency of GET /feed.atom and a ?tag= view under `wrk -c 8`
# with N articles in the store, while the daemon's first poll of the N=1000 farm runs.
#   bench/serve.sh N [SECONDS]     e.g. bench/serve.sh 10000 15
# Each path gets its own daemon on a fresh copy of the store, so that both are measured
# during a first poll (50,000 new items); the script says how many of the 1000 polls had
# finished when wrk stopped (under 1000: the poll ran through the whole measurement).
# Environment: CARGO_TARGET_DIR (where the release build goes, default ./target), BIN (a
# folder with newswire and fill_store already built: no build), WORK
# (store and logs, default /tmp/newswire-serve), PORT (the daemon's, default 18099),
# POLL=0 (no poll during the run: the feeds point nowhere), FARM, FARM_HOME.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
farm=${FARM:-$top/../shared/farm}
n=${1:?number of articles}
secs=${2:-15}
port=${PORT:-18099}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
work=${WORK:-/tmp/newswire-serve}
if [ -n "${BIN:-}" ]; then
    # BIN=DIR: newswire and fill_store built beforehand (say, one per checkout to compare)
    bin=$BIN
    echo "binary $bin/newswire, built $(date -r "$bin/newswire" -u +%H:%M:%S)"
else
    nice cargo build --release --quiet --manifest-path "$top/Cargo.toml" --bin newswire --example fill_store
    mkdir -p "$work/bin"
    # a copy of what was just built: a target folder shared with other checkouts may get
    # their build of the same binary while this one runs
    for b in newswire examples/fill_store; do
        cp -p "${CARGO_TARGET_DIR:-$top/target}/release/$b" "$work/bin/"
    done
    bin=$work/bin
    echo "binary of $(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet HEAD -- src || echo ' (with changes)'), built $(date -r "$bin/newswire" -u +%H:%M:%S)"
fi
mkdir -p "$work"
db=$work/n$n.db
[ -f "$db" ] || "$bin/fill_store" "$db" "$n" 1000
urls=${FARM_HOME:-/tmp/newswire-farm}/farms/n1000/urls.txt
# POLL=0: no poll during the run (feeds point nowhere)
[ "${POLL:-1}" = 0 ] && urls=/nonexistent
if [ -d "$farm" ] && [ -f "$urls" ]; then
    sh "$farm/farm.sh" start "$(dirname "$urls")" 18080 >/dev/null 2>&1 || true
else
    urls=/dev/null
fi
{
    echo "database = \"run.db\""
    echo "listen = \"127.0.0.1:$port\""
    echo
    # the store's feeds f0..f999, polling the farm's feeds so that a poll runs meanwhile
    awk '{ printf "[[feed]]\nname = \"f%d\"\nurl = \"%s\"\ntags = [\"t%d\"]\n\n", NR - 1, $0, (NR - 1) % 10 }' "$urls"
    if [ "$urls" = /dev/null ]; then
        for i in $(seq 0 999); do printf '[[feed]]\nname = "f%d"\nurl = "http://127.0.0.1:9/%d"\ntags = ["t%d"]\n\n' "$i" "$i" $((i % 10)); done
    fi
} >"$work/newswire.toml"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null || true' EXIT
for path in "/feed.atom" "/feed.atom?tag=t3"; do
    rm -f "$work/run.db-wal" "$work/run.db-shm"
    cp "$db" "$work/run.db"
    "$bin/newswire" run --config "$work/newswire.toml" 2>"$work/log" &
    pid=$!
    until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.2; done
    echo "== GET $path, $n articles, wrk -t2 -c8 -d${secs}s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    wrk -t2 -c8 -d"${secs}s" --latency "http://127.0.0.1:$port$path" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors"
    echo "polls finished when wrk stopped: $(grep -c 'polled' "$work/log" || true) of $(grep -c '^\[\[feed\]\]' "$work/newswire.toml")"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
done
