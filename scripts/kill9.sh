#!/usr/bin/env bash
# Crash safety: builds the release binary, then kills `newswire poll` with SIGKILL at a random
# moment of a poll, 200 times, on one database, checking it with SQLite after every kill
# (integrity, duplicates, lost articles) and that the next start recovers by itself.
#   scripts/kill9.sh [--rounds N] [--feeds N] [--window N] [--seed S] [--keep]
# Needs python3 (with its sqlite3 module); serves its own changing feeds on 127.0.0.1.
# Prints the figures at the end; exits non-zero if any check failed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
target=$(realpath -m "${CARGO_TARGET_DIR:-$top/target}")
cargo build --release --quiet --manifest-path "$top/Cargo.toml"
exec python3 "$top/scripts/kill9.py" --bin "$target/release/newswire" "$@"
