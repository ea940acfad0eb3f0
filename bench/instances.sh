#!/usr/bin/env bash
# SQLite against PostgreSQL with 1, 2 and 3 instances, on the shared feed farm:
#   bench/instances.sh [N] [INSTANCES...]     defaults: 1000, then "sqlite 1 2 3"
# Each run starts from an empty store; a first poll (everything new) then an unchanged poll
# (everything 304), each timed as a whole: wall for the group, CPU of every newswire process
# plus the PostgreSQL server's, the largest peak RSS of one newswire process. K instances are
# K `newswire poll` processes started together on one database: they share the feeds through
# their leases. Needs ../shared/farm (skips otherwise) and PostgreSQL's server (Debian:
# postgresql); the cluster is a throwaway one (scripts/pg-throwaway), with fsync on.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
farm=${FARM:-$top/../shared/farm}
if [ ! -d "$farm" ]; then
    echo "skipping: no feed farm at $farm"
    exit 0
fi
n=${1:-1000}
shift || true
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(sqlite 1 2 3)
sh "$farm/setup.sh" >/dev/null
cargo build --release --quiet --manifest-path "$top/Cargo.toml"
bin=$top/target/release/newswire
farm_home=${FARM_HOME:-/tmp/newswire-farm}
urls=$(mktemp)
cp "$farm_home/farms/n$n/urls.txt" "$urls"
# the farm's nginx, serving this farm
sh "$farm/farm.sh" stop >/dev/null 2>&1 || true
sh "$farm/farm.sh" start "$farm_home/farms/n$n" >/dev/null
work=$(mktemp -d /tmp/newswire-instances.XXXXXX)
pg_url=$(PG_DURABLE=1 "$top/scripts/pg-throwaway" start "$work/pg")
trap '"$top/scripts/pg-throwaway" stop "$work/pg"; rm -rf "$work" "$urls"' EXIT
postmaster=$(head -1 "$work/pg/data/postmaster.pid")

# utime+stime+cutime+cstime of the PostgreSQL server, in seconds
pg_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$postmaster/stat"
}

config() { # database listen-port
    echo "database = \"$1\""
    echo "listen = \"127.0.0.1:$2\""
    echo
    i=0
    while read -r url; do
        [ -n "$url" ] || continue
        i=$((i + 1))
        printf '[[feed]]\nname = "f%05d"\nurl = "%s"\n\n' "$i" "$url"
    done <"$urls"
}

# one poll by K processes at once: prints "wall cpu peak_rss_mb"
poll_group() { # kind k
    local kind=$1 k=$2 start end pg0 pg1 cpu=0 rss=0
    pg0=$(pg_cpu)
    start=$(date +%s.%N)
    for i in $(seq 1 "$k"); do
        /usr/bin/time -f "%U %S %M" -o "$work/time.$i" "$bin" poll --quiet --config "$work/$kind-$i.toml" >/dev/null 2>"$work/log.$i" &
    done
    wait
    end=$(date +%s.%N)
    pg1=$(pg_cpu)
    for i in $(seq 1 "$k"); do
        read -r u s m <"$work/time.$i"
        cpu=$(echo "$cpu + $u + $s" | bc)
        [ "$m" -gt "$rss" ] && rss=$m
    done
    [ "$kind" = pg ] && cpu=$(echo "$cpu + $pg1 - $pg0" | bc)
    printf '%.1f %.1f %d\n' "$(echo "$end - $start" | bc)" "$cpu" $((rss / 1024))
}

printf '| store | instances | first poll wall s | CPU s | peak RSS MB | unchanged wall s | CPU s | stories |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for run in "${runs[@]}"; do
    if [ "$run" = sqlite ]; then
        kind=sqlite k=1
        rm -f "$work/n.db"*
        config "$work/n.db" 0 >"$work/sqlite-1.toml"
    else
        kind=pg k=$run
        db=$(python3 -c "print('nw_bench_$run')")
        psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
        for i in $(seq 1 "$k"); do
            config "${pg_url/\/postgres?//$db?}" 0 >"$work/pg-$i.toml"
        done
    fi
    first=$(poll_group "$kind" "$k")
    again=$(poll_group "$kind" "$k")
    if [ "$kind" = sqlite ]; then
        stories=$(sqlite3 "$work/n.db" "select count(*) from stories")
    else
        stories=$(psql -At "${pg_url/\/postgres?//$db?}" -c "select count(*) from stories")
    fi
    read -r w1 c1 r1 <<<"$first"
    read -r w2 c2 _ <<<"$again"
    name=$([ "$kind" = sqlite ] && echo SQLite || echo PostgreSQL)
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$k" "$w1" "$c1" "$r1" "$w2" "$c2" "$stories"
done
