#!/usr/bin/env bash
# Instructions of one first poll, counted by valgrind (cachegrind, no cache simulation): a
# figure that does not drift with the machine's load, for comparing builds when single
# timed polls move by +-10%. Polls the first FEEDS feeds of the N=1000 farm into an empty
# store with each build given, one after the other, and prints the total.
#   bench/instructions.sh BIN... [FEEDS=200]     e.g. two LTO builds, before and after
# Needs valgrind (Debian's `valgrind`) and the farm up on :18080 (../shared/farm/farm.sh
# start /tmp/newswire-farm/farms/n1000 18080). 200 feeds take about 25 s a build.
# Caveats: under valgrind sha2 takes its portable code (no SHA extensions), about a sixth
# of the count that natively is a few percent; and instructions are not time (zstd and
# SQLite's B-trees run at a higher rate than the text scanners). Report both.
set -euo pipefail
farm_dir=${FARM_DIR:-/tmp/newswire-farm/farms/n1000}
feeds=${FEEDS:-200}
command -v valgrind >/dev/null || { echo "skipping: no valgrind"; exit 0; }
[ -f "$farm_dir/urls.txt" ] || { echo "skipping: no farm at $farm_dir"; exit 0; }
top=$(cd "$(dirname "$0")/.." && pwd)
for bin in "$@"; do
    st=$(mktemp -d)
    head -n "$feeds" "$farm_dir/urls.txt" >"$st/urls"
    NEWSWIRE_BIN=$bin sh "$top/../shared/farm/peers/newswire.sh" setup "$st" "$st/urls"
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$st/cg.out" \
        "$bin" poll --config "$st/newswire.toml" >/dev/null 2>"$st/err"
    total=$(awk '/^summary:/ { print $2 }' "$st/cg.out")
    stories=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from stories").fetchone()[0])' "$st/newswire.db")
    printf '%s\t%.4f G instructions\t%s stories\n' "$bin" "$(echo "$total / 1000000000" | bc -l)" "$stories"
    rm -rf "$st"
done
