#!/usr/bin/env bash
# Target 4 of bench/RESULTS.md: latency of GET /feed.atom and a ?tag= view under `wrk -c 8`
# with N articles in the store, while the daemon's first poll of the N=1000 farm runs.
#   bench/serve.sh N [SECONDS]     e.g. bench/serve.sh 1000000 15
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
farm=${FARM:-$top/../shared/farm}
n=${1:?number of articles}
secs=${2:-15}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 1; }
cargo build --release --quiet --manifest-path "$top/Cargo.toml" --bin newswire --example fill_store
work=${WORK:-/tmp/newswire-serve}
mkdir -p "$work"
db=$work/n$n.db
[ -f "$db" ] || "$top/target/release/examples/fill_store" "$db" "$n" 1000
cp "$db" "$work/run.db"
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
    echo 'listen = "127.0.0.1:18099"'
    echo
    # the store's feeds f0..f999, polling the farm's feeds so that a poll runs meanwhile
    awk '{ printf "[[feed]]\nname = \"f%d\"\nurl = \"%s\"\ntags = [\"t%d\"]\n\n", NR - 1, $0, (NR - 1) % 10 }' "$urls"
    if [ "$urls" = /dev/null ]; then
        for i in $(seq 0 999); do printf '[[feed]]\nname = "f%d"\nurl = "http://127.0.0.1:9/%d"\ntags = ["t%d"]\n\n' "$i" "$i" $((i % 10)); done
    fi
} >"$work/newswire.toml"
"$top/target/release/newswire" run --config "$work/newswire.toml" 2>"$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -s -o /dev/null http://127.0.0.1:18099/healthz; do sleep 0.2; done
for path in "/feed.atom" "/feed.atom?tag=t3"; do
    echo "== GET $path, $n articles, wrk -t2 -c8 -d${secs}s"
    wrk -t2 -c8 -d"${secs}s" --latency "http://127.0.0.1:18099$path" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors"
done
echo "polls during the run: $(grep -c 'polled' "$work/log" || true)"
