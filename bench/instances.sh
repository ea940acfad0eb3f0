#!/usr/bin/env bash
# SQLite against PostgreSQL with 1, 2 and 3 `newswire run` instances on the shared feed farm
# (see bench/instances.py for what is measured and how):
#   bench/instances.sh [N] [RUNS...]     defaults: 1000, then "sqlite 1 2 3"
#   FARM_DIR=/tmp/newswire-farm/farms/scale-10000-10 PERIOD=600 bench/instances.sh 10000 sqlite 1
#                                        a farm made beforehand (bench/scale.sh makes this one;
#                                        its URLs name port 18080), ticks every 10 minutes
#   BIN=path/to/newswire                 a build made beforehand
# Needs ../shared/farm (skips otherwise) and PostgreSQL's server (Debian: postgresql); the
# cluster is a throwaway one (scripts/pg-throwaway, with fsync: PG_DURABLE=1).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
farm=${FARM:-$top/../shared/farm}
if [ ! -d "$farm" ]; then
    echo "skipping: no feed farm at $farm"
    exit 0
fi
n=${1:-1000}
shift || true
sh "$farm/setup.sh" >/dev/null
farm_dir=${FARM_DIR:-${FARM_HOME:-/tmp/newswire-farm}/farms/n$n}
sh "$farm/farm.sh" stop >/dev/null 2>&1 || true
sh "$farm/farm.sh" start "$farm_dir" >/dev/null
bin=${BIN:-$top/target/release/newswire}
[ -n "${BIN:-}" ] || cargo build --release --quiet --manifest-path "$top/Cargo.toml"
work=$(mktemp -d /tmp/newswire-instances-pg.XXXXXX)
pg_url=$(PG_DURABLE=1 "$top/scripts/pg-throwaway" start "$work")
trap '"$top/scripts/pg-throwaway" stop "$work"; rm -rf "$work"' EXIT
python3 "$top/bench/instances.py" --farm "$farm_dir" --pg "$pg_url" \
    --postmaster "$(head -1 "$work/data/postmaster.pid")" \
    --period "${PERIOD:-120}" --bin "$bin" "$@"
