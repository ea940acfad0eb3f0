#!/usr/bin/env bash
# End to end: `newswire poll` beside other aggregators on the shared feed farm, one table.
#   bench/run.sh [N] [REPS] [PEERS]    defaults: 1000, 3, newswire,sfeed-etag,newsboat
# Needs ../shared/farm beside the checkout (skips with a message otherwise); installs
# nginx, newsboat and sfeed from Debian through the farm's setup.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
farm=${FARM:-$top/../shared/farm}
if [ ! -d "$farm" ]; then
    echo "skipping: no feed farm at $farm"
    exit 0
fi
n=${1:-1000}
reps=${2:-3}
peers=${3:-newswire,sfeed-etag,newsboat}
sh "$farm/setup.sh" >/dev/null
cargo build --release --quiet --manifest-path "$top/Cargo.toml"
export NEWSWIRE_BIN=$top/target/release/newswire
out=${OUT:-/tmp/newswire-bench-n$n.json}
rm -f "$out"
python3 "$farm/bench.py" --farm "${FARM_HOME:-/tmp/newswire-farm}/farms/n$n" \
    --peers "$peers" --reps "$reps" --polls 2 --out "$out"
python3 "$farm/report.py" "$out"
echo
python3 "$top/bench/ratios.py" "$out"
