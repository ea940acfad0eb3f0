#!/usr/bin/env bash
# Article extraction (issue 14): F1, precision, recall and time per page of
# `newswire extract` on the 88 pages of ../shared/corpus/article-extraction, scored by its
# score.py (whole process per page, release build), then the peak RSS of each page's process.
#   bench/fulltext.sh            needs python3; skips with a message without the corpus
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$top/../shared/corpus/article-extraction}
if [ ! -f "$corpus/score.py" ]; then
    echo "skipping: no article-extraction corpus at $corpus"
    exit 0
fi
cargo build --release --quiet --manifest-path "$top/Cargo.toml"
bin=$top/target/release/newswire
echo "== score.py (F1, precision, recall, time per page)"
python3 "$corpus/score.py" --cmd "$bin extract --url {url} {file}" --show 5
echo "== peak RSS per page (ru_maxrss of each whole process)"
python3 - "$bin" "$corpus" <<'PY'
import gzip, json, os, subprocess, sys, tempfile
bin, corpus = sys.argv[1], sys.argv[2]
truth = json.load(open(os.path.join(corpus, "ground-truth.json")))
peaks = []
with tempfile.TemporaryDirectory() as tmp:
    for key, page in sorted(truth.items()):
        path = os.path.join(tmp, key + ".html")
        with gzip.open(os.path.join(corpus, "html", key + ".html.gz")) as src, open(path, "wb") as dst:
            dst.write(src.read())
        p = subprocess.Popen([bin, "extract", "--url", page["url"], path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(p.pid, 0)
        peaks.append(usage.ru_maxrss / 1024)  # KiB -> MiB
peaks.sort()
print(f"peak RSS per page: median {peaks[len(peaks) // 2]:.1f} MiB, max {peaks[-1]:.1f} MiB ({len(peaks)} pages)")
PY
