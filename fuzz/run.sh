#!/usr/bin/env bash
# Runs every fuzz target for a fixed time, one after the other, and says what each did.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      default: 60 s, every target
#
# Not part of CI (.ci/run does not call it): it needs cargo-fuzz and nightly flags, which a
# stable toolchain accepts under RUSTC_BOOTSTRAP=1. Seeds (checked in) are in
# fuzz/seeds/TARGET/; what libFuzzer adds goes to fuzz/corpus/TARGET/ (scratch, ignored by
# git, kept between runs and minimized after each: delete it to start over). A crash,
# timeout or out-of-memory input is written to fuzz/artifacts/TARGET/ and makes this script
# exit 1.
#
# Environment: FUZZ_SANITIZER (address, or none where ASan is unavailable; default address),
# CARGO_TARGET_DIR (default fuzz/target), FUZZ_TIMEOUT (seconds one input may take; 10).
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(normalize config opml)
sanitizer=${FUZZ_SANITIZER:-address}
per_input=${FUZZ_TIMEOUT:-10}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
# cargo-fuzz passes -Zsanitizer and friends: let the stable compiler take them
export RUSTC_BOOTSTRAP=1

# what libFuzzer reads at most, per target: a feed document, a config file, an OPML file
max_len() {
    case $1 in
        normalize) echo 16384 ;;
        config) echo 4096 ;;
        opml) echo 8192 ;;
        *) echo 4096 ;;
    esac
}
dict() {
    case $1 in
        config) echo "$fuzz/dict/toml.dict" ;;
        *) echo "$fuzz/dict/xml.dict" ;;
    esac
}

echo "== building ${targets[*]} (sanitizer: $sanitizer)"
for t in "${targets[@]}"; do
    cargo fuzz build -s "$sanitizer" "$t"
done

mkdir -p "$fuzz/logs"
failed=0
summary=()
for t in "${targets[@]}"; do
    corpus_dir="$fuzz/corpus/$t"
    artifacts="$fuzz/artifacts/$t"
    mkdir -p "$corpus_dir" "$artifacts"
    before=$(find "$artifacts" -type f | wc -l)
    log="$fuzz/logs/$t.log"
    echo "== fuzzing $t for ${seconds}s (log: $log)"
    status=0
    # the scratch corpus first (libFuzzer writes new inputs there), the seeds read-only
    cargo fuzz run -s "$sanitizer" "$t" "$corpus_dir" "$fuzz/seeds/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
        -timeout="$per_input" -dict="$(dict "$t")" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log")
    rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log")
    found=$(($(find "$artifacts" -type f | wc -l) - before))
    # keep the scratch corpus small: only inputs that add coverage stay
    if [ "$found" -eq 0 ] && [ "$status" -eq 0 ]; then
        cargo fuzz cmin -s "$sanitizer" "$t" "$corpus_dir" -- -rss_limit_mb=2048 \
            -max_len="$(max_len "$t")" -timeout="$per_input" >"$fuzz/logs/$t.cmin.log" 2>&1 ||
            echo "   (corpus minimization failed: see fuzz/logs/$t.cmin.log)"
    fi
    corpus=$(find "$corpus_dir" -type f | wc -l)
    size=$(($(find "$corpus_dir" -type f -exec cat {} + | wc -c) / 1024))
    line=$(printf '%-10s executions %10s  exec/s %6s  corpus %5s files %6s KiB  crashes %s' \
        "$t" "${runs:-?}" "${rate:-?}" "$corpus" "$size" "$found")
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        failed=1
        line="$line  FAILED (exit $status)"
        grep -E '^(==[0-9]+==ERROR|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -5 >&2 || true
        echo "   reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run -s $sanitizer $t fuzz/artifacts/$t/<file>" >&2
        echo "   minimize:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s $sanitizer $t fuzz/artifacts/$t/<file>" >&2
    fi
    echo "$line"
    summary+=("$line")
done

echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
