#!/usr/bin/env bash
# Soak: the daemon polls feeds that change every second while wrk hammers /feed.atom and the
# page; prints the RSS curve and fails on any error.
#   scripts/soak.sh            defaults: 1000 poll cycles, 100000 requests, 20 feeds
#   SOAK_CYCLES=60 SOAK_REQUESTS=10000 scripts/soak.sh     (a quick run)
# Needs python3 and wrk (Debian's `wrk`; installed with apt-get when missing and run as root).
# Everything runs on 127.0.0.1; the state lives in a temporary folder, removed at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cycles=${SOAK_CYCLES:-1000}
requests=${SOAK_REQUESTS:-100000}
feeds=${SOAK_FEEDS:-20}
chunk=${SOAK_CHUNK:-20}   # seconds per wrk run; RSS is sampled between runs
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq wrk >/dev/null
    else
        echo "soak: needs wrk (apt-get install wrk)" >&2
        exit 2
    fi
fi
cargo build --release --quiet --manifest-path "$top/Cargo.toml"
bin=$top/target/release/newswire
work=$(mktemp -d /tmp/newswire-soak.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# feeds that gain an item every second (each feed lists its newest 20), with ETag and 304
cat >"$work/server.py" <<'PY'
import http.server, sys, time, threading
START = time.time()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        try:
            feed = int(self.path.strip("/").split(".")[0])
        except ValueError:
            self.send_error(404); return
        tick = int(time.time() - START)
        etag = f'"{feed}-{tick}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304); self.send_header("ETag", etag)
            self.send_header("Content-Length", "0"); self.end_headers(); return
        items = []
        for n in range(tick, max(tick - 20, -1), -1):
            t = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(START + n))
            words = " ".join(f"w{(feed * 7919 + n * 104729 + k * 13) % 5000}" for k in range(120))
            items.append(f"<item><guid>f{feed}-{n}</guid><title>Feed {feed} story {n}</title>"
                         f"<link>http://127.0.0.1/{feed}/{n}</link><pubDate>{t}</pubDate>"
                         f"<description>&lt;p&gt;{words}&lt;/p&gt;</description></item>")
        body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Soak {feed}</title>'
                f'<link>http://127.0.0.1/{feed}</link>{"".join(items)}</channel></rss>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml"); self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
python3 "$work/server.py" >"$work/port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
fport=$(cat "$work/port")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
    echo "database = \"$work/newswire.db\""
    echo "listen = \"127.0.0.1:$port\""
    echo "schedule = \"* * * * * *\""
    printf '\n[storage]\nmax_per_feed = 100\n\n'
    for i in $(seq "$feeds"); do
        printf '[[feed]]\nname = "f%03d"\nurl = "http://127.0.0.1:%s/%d.rss"\n\n' "$i" "$fport" "$i"
    done
} >"$work/newswire.toml"
"$bin" check --config "$work/newswire.toml" >/dev/null
RUST_LOG=warn "$bin" run --config "$work/newswire.toml" 2>"$work/daemon.log" &
daemon=$!
pids+=("$daemon")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$daemon/status"; }
polls() {
    curl -sf "http://127.0.0.1:$port/metrics" |
        awk '/^newswire_polls_total/ {s += $NF} END {printf "%d", s}'
}
echo "soak: $feeds feeds polled every second, wrk -c 8 on /feed.atom and / in ${chunk}s runs"
printf '%8s %8s %10s %8s %9s %8s\n' elapsed cycles requests rss_MB p99_ms errors
start=$(date +%s)
total=0
errors=0
worst_p99=0
first_rss=""
i=0
while :; do
    path=/feed.atom
    [ $((i % 2)) = 1 ] && path=/
    i=$((i + 1))
    out=$(wrk -c 8 -t 2 -d "${chunk}s" --latency "http://127.0.0.1:$port$path")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    bad=$(echo "$out" | awk '/Non-2xx/ {s += $NF} /Socket errors/ {gsub(/,/, ""); s += $4 + $6 + $8 + $10} END {print s + 0}')
    p99=$(echo "$out" | awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; print v}')
    total=$((total + n))
    errors=$((errors + bad))
    kill -0 "$daemon" 2>/dev/null || { echo "soak: the daemon died"; cat "$work/daemon.log"; exit 1; }
    rss=$(rss_mb)
    [ -n "$first_rss" ] || first_rss=$rss
    c=$(($(polls) / feeds))
    worst_p99=$(python3 -c "print(max($worst_p99, $p99))")
    printf '%8s %8s %10s %8s %9s %8s\n' "$(($(date +%s) - start))s" "$c" "$total" "$rss" "$p99" "$errors"
    if [ "$c" -ge "$cycles" ] && [ "$total" -ge "$requests" ]; then break; fi
done
hz=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
kill -TERM "$daemon"
wait "$daemon" && code=0 || code=$?
integrity=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$work/newswire.db")
panics=$(grep -c -i "panic" "$work/daemon.log" || true)
echo
echo "soak: $total requests, $c poll cycles, $errors errors, worst p99 ${worst_p99} ms;" \
    "RSS ${first_rss} MB after the first run, $(printf %s "$rss") MB at the end;" \
    "healthz $hz, exit $code, integrity $integrity, $panics panics in the log"
[ "$errors" = 0 ] && [ "$hz" = 200 ] && [ "$code" = 0 ] && [ "$integrity" = ok ] && [ "$panics" = 0 ]
