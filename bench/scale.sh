#!/usr/bin/env bash
# Target 5 of bench/RESULTS.md: 10,000 feeds x 10 items. Runs the daemon with a one-minute
# schedule through its first poll and three unchanged cycles, and reports the CPU of each,
# the hour-equivalent average at a 15-minute schedule (first poll + 3 cycles over 3600 s),
# peak RSS, and database bytes per article.
#   bench/scale.sh [FEEDS] [ITEMS]     defaults 10000 10; needs ../shared/farm
#   BIN=path/to/newswire bench/scale.sh    a build made beforehand
#   CYCLES=0 bench/scale.sh    the first poll only (its peak varies by +-15 MB run to run:
#                              compare builds over several runs, interleaved)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
farm=${FARM:-$top/../shared/farm}
[ -d "$farm" ] || { echo "skipping: no feed farm at $farm"; exit 0; }
feeds=${1:-10000}
items=${2:-10}
home=${FARM_HOME:-/tmp/newswire-farm}
dir=$home/farms/scale-$feeds-$items
[ -f "$dir/manifest.json" ] || python3 "$farm/gen_farm.py" --feeds "$feeds" --items "$items" --out "$dir" >/dev/null
sh "$farm/farm.sh" stop >/dev/null 2>&1 || true
sh "$farm/farm.sh" start "$dir" 18081 >/dev/null
# BIN=PATH: a newswire built beforehand (say, to compare two builds); else built here
bin=${BIN:-$top/target/release/newswire}
[ -n "${BIN:-}" ] || cargo build --release --quiet --manifest-path "$top/Cargo.toml"
work=$(mktemp -d)
{
    echo 'database = "newswire.db"'
    echo 'listen = "127.0.0.1:0"'
    echo 'schedule = "0 * * * * *"'
    echo
    sed 's/:18080\//:18081\//' "$dir/urls.txt" | awk '{ printf "[[feed]]\nname = \"f%05d\"\nurl = \"%s\"\n\n", NR, $0 }'
} >"$work/newswire.toml"
# unchanged polls are logged at debug: counted here too
RUST_LOG=info,newswire::poll=debug "$bin" run --config "$work/newswire.toml" 2>"$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null; sh "$farm/farm.sh" stop >/dev/null 2>&1 || true' EXIT
tick=$(getconf CLK_TCK)
cpu() { awk -v t="$tick" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat"; }
rss() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
now_rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
polled() { grep -c 'polled\|not modified\|poll failed\|unchanged body\|deferred' "$work/log" || true; }
# the first poll: wait until every feed has been polled once
while [ "$(polled)" -lt "$feeds" ]; do sleep 1; done
first=$(cpu)
echo "first poll done: CPU ${first} s, peak RSS $(rss) MB, RSS $(now_rss) MB"
prev=$first
for cycle in $(seq 1 "${CYCLES:-3}"); do
    target=$((feeds * (cycle + 1)))
    while [ "$(polled)" -lt "$target" ]; do sleep 1; done
    now=$(cpu)
    echo "cycle $cycle (all 304): CPU $(echo "$now - $prev" | bc) s, RSS $(now_rss) MB, peak $(rss) MB"
    prev=$now
done
total=$(cpu)
if [ "${CYCLES:-3}" = 3 ]; then
    echo "hour-equivalent at a 15-minute schedule: $(echo "scale=2; 100 * $total / 3600" | bc)% of one core; peak RSS $(rss) MB"
fi
kill "$pid"; wait "$pid" 2>/dev/null || true
sqlite3 "$work/newswire.db" "select count(*) from entries" | awk -v s="$(stat -c %s "$work/newswire.db")" '{ printf "database: %d bytes for %d entries = %.0f bytes per entry\n", s, $1, s / $1 }'
rm -rf "$work"
