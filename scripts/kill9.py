#!/usr/bin/env python3
"""kill -9 newswire in the middle of polls, many times, and check that the database survives.

Run through scripts/kill9.sh, which builds the release binary first:

    scripts/kill9.sh                 # 200 rounds
    scripts/kill9.sh --rounds 20 --feeds 40 --seed 7

A generator writes RSS and Atom documents into a temporary folder, served by an in-process
HTTP server on 127.0.0.1 (Last-Modified and 304, as http.server does). Every round:

 1. the generator changes the feeds: new items in most feeds, edits to some items (new title
    and text), wire stories that appear in two or three feeds under one link, old items
    leaving the documents (they stay in the database: retention is off);
 2. `newswire poll` starts on the one persistent database and is killed with SIGKILL after a
    random delay within the duration of a poll;
 3. a copy of the database and its WAL, as the kill left them, is checked with SQLite:
    PRAGMA integrity_check, no duplicate entries (feed, identity key) or stories (two story
    rows for one canonical URL), no entry lost that an earlier check saw committed, and every
    feed the killed poll reported as stored really is stored (its items, with their titles);
 4. `newswire poll` runs again on the original files (recovering them by itself) and must
    succeed with no failed feed; its result is checked the same way.

After the last round, one more change and one clean poll, whose result must be complete: every
item every document lists, with its current title. Figures are printed at the end; the exit
status is non-zero if any check failed.
"""
import argparse
import http.server
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import format_datetime
from datetime import datetime, timezone
from xml.sax.saxutils import escape

WORDS = """council budget election minister harbor storm rail union court ruling senate market
shares energy grid drought river bridge festival museum school teachers strike vaccine hospital
wildfire coast airport merger startup chip factory mayor protest treaty border summit talks
ceasefire tariff inflation rates bank housing rent tenants transit subway cyclists police report
audit scandal inquiry verdict appeal jury climate emissions solar wind turbines nuclear plant coal
mine miners farmers harvest wheat coffee prices export import shipping port container league final
season coach transfer record marathon olympic stadium fans ticket concert album premiere film
director novel award prize library archive satellite launch rocket orbit telescope research study
scientists ocean reef species forest wolves birds flood rescue volunteers charity donors software
outage breach hackers privacy regulator antitrust lawsuit data""".split()


class Farm:
    """Feeds that change between rounds; every document is rewritten when its feed changes."""

    def __init__(self, root, n_feeds, window, rng):
        self.root, self.window, self.rng = root, window, rng
        self.feeds = [f"f{i:03d}" for i in range(n_feeds)]
        self.items = {f: [] for f in self.feeds}  # newest first: dicts guid, link, title, body, date
        self.serial = 0
        self.clock = int(time.time()) - 30 * 86400  # Last-Modified: one minute per round
        for f in self.feeds:
            for _ in range(window):
                self.items[f].insert(0, self.new_item(f))
            self.write(f)

    def text(self, n):
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    def new_item(self, feed):
        self.serial += 1
        guid = f"{feed}-{self.serial}"
        return {
            "guid": guid,
            "link": f"https://news.example.org/{feed}/{self.serial}.html",
            "title": f"{self.text(6).capitalize()} {self.serial}",
            "body": "\n".join(f"<p>{self.text(40)}</p>" for _ in range(3)),
            "date": datetime.now(timezone.utc).replace(microsecond=0),
            "version": 0,
        }

    def step(self):
        """One round of news: returns how many items were added and edited."""
        added = edited = 0
        changed = set()
        # wire stories: one link, one guid, in two or three feeds
        for _ in range(self.rng.randint(0, 3)):
            story = self.new_item("wire")
            for f in self.rng.sample(self.feeds, self.rng.randint(2, 3)):
                self.items[f].insert(0, dict(story))
                changed.add(f)
                added += 1
        for f in self.feeds:
            if self.rng.random() < 0.15:
                continue
            for _ in range(self.rng.randint(1, 3)):
                self.items[f].insert(0, self.new_item(f))
                added += 1
            for it in self.rng.sample(self.items[f], self.rng.randint(0, 2)):
                it["version"] += 1
                it["title"] = re.sub(r" \(update \d+\)$", "", it["title"]) + f" (update {it['version']})"
                it["body"] += f"\n<p>Update {it['version']}: {self.text(20)}</p>"
                edited += 1
            changed.add(f)
        self.clock += 60
        for f in changed:
            del self.items[f][self.window:]
            self.write(f)
        return added, edited

    def write(self, feed):
        items = self.items[feed]
        atom = int(feed[1:]) % 5 < 2
        if atom:
            entries = "".join(
                f"<entry><id>urn:newswire-kill9:{it['guid']}</id><title>{escape(it['title'])}</title>"
                f"<link rel=\"alternate\" href=\"{it['link']}\"/>"
                f"<updated>{it['date'].isoformat().replace('+00:00', 'Z')}</updated>"
                f"<content type=\"html\">{escape(it['body'])}</content></entry>"
                for it in items
            )
            doc = (
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">"
                f"<title>Feed {feed}</title><id>urn:newswire-kill9:{feed}</id>"
                f"<updated>{datetime.now(timezone.utc).isoformat()}</updated>{entries}</feed>"
            )
            name = f"{feed}.atom"
        else:
            entries = "".join(
                f"<item><guid isPermaLink=\"false\">urn:newswire-kill9:{it['guid']}</guid>"
                f"<title>{escape(it['title'])}</title><link>{it['link']}</link>"
                f"<pubDate>{format_datetime(it['date'])}</pubDate>"
                f"<description>{escape(it['body'])}</description></item>"
                for it in items
            )
            doc = (
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
                f"<title>Feed {feed}</title><link>https://news.example.org/{feed}/</link>{entries}"
                "</channel></rss>"
            )
            name = f"{feed}.rss"
        path = os.path.join(self.root, name)
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(doc)
        os.utime(path + ".tmp", (self.clock, self.clock))
        os.replace(path + ".tmp", path)

    def path_of(self, feed):
        return f"/{feed}.atom" if int(feed[1:]) % 5 < 2 else f"/{feed}.rss"

    def expected(self, feed):
        """(entry_key, title) of every item the feed's document lists now."""
        return {(f"guid:urn:newswire-kill9:{it['guid']}", it["title"]) for it in self.items[feed]}


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a poll killed in the middle of a response breaks the pipe: expected


def serve(root):
    handler = lambda *a, **kw: Quiet(*a, directory=root, **kw)  # noqa: E731
    srv = Server(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def wal_tail(path):
    """Frames of the current WAL generation after its last commit frame: what a transaction
    that was still being written when the process died left behind (SQLite ignores them)."""
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return 0
    if len(data) < 32:
        return 0
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    frames = last_commit = 0
    off = 32
    while off + 24 + page_size <= len(data):
        header = data[off:off + 24]
        if header[8:16] != salts:
            break
        frames += 1
        if struct.unpack(">I", header[4:8])[0] != 0:
            last_commit = frames
        off += 24 + page_size
    return frames - last_commit


def snapshot_copy(db, scratch):
    """Copies the database and WAL as they are and returns the copy's path. The checks read
    the copy, never the files newswire uses: the next newswire start must recover them by
    itself. (The -shm is left out: the first connection to the copy rebuilds it from the WAL.)

    Never keep a connection to the live files in this process: copying the file opens and
    closes it, which drops every POSIX lock this process holds on it (SQLite's "How To Corrupt"
    2.2), so newswire would then reset the WAL under that connection, whose next reads see a
    "malformed" database that is in fact fine. A first version of this script did that."""
    for f in os.listdir(scratch):
        os.remove(os.path.join(scratch, f))
    dst = os.path.join(scratch, "copy.db")
    shutil.copyfile(db, dst)
    if os.path.exists(db + "-wal"):
        shutil.copyfile(db + "-wal", dst + "-wal")
    return dst


class Checker:
    def __init__(self):
        self.committed = set()  # every (feed, entry_key) seen committed so far
        self.integrity_failures = self.duplicates = self.lost = self.unacked = 0
        self.problems = []

    def problem(self, msg):
        self.problems.append(msg)
        print("  PROBLEM:", msg, flush=True)

    def check_files(self, db, scratch, label, acked=(), farm=None):
        """Checks a copy of `db` as it is now; on failure the files themselves are kept in
        an evidence folder beside the scratch folder."""
        copy = snapshot_copy(db, scratch)
        conn = sqlite3.connect(copy)
        try:
            ok = self.check(conn, label, acked, farm)
        except sqlite3.DatabaseError as e:
            self.integrity_failures += 1
            self.problem(f"{label}: {e}")
            ok = False
        finally:
            conn.close()
        if not ok:
            evidence = os.path.join(os.path.dirname(scratch), "evidence-" + re.sub(r"\W+", "-", label))
            os.makedirs(evidence, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    shutil.copyfile(db + suffix, os.path.join(evidence, "newswire.db" + suffix))
            print(f"  the database files are kept in {evidence}", flush=True)

    def check(self, conn, label, acked=(), farm=None):
        """Integrity, duplicates, nothing committed lost; `acked` feeds must hold their
        current documents. Returns whether all was well."""
        problems = len(self.problems)
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            self.integrity_failures += 1
            self.problem(f"{label}: integrity_check: {rows[:5]}")
            return False
        dup_queries = {
            "entries with the same (feed, entry_key)":
                "SELECT feed, entry_key, count(*) FROM entries NOT INDEXED GROUP BY 1, 2 HAVING count(*) > 1",
            "entries with the same (feed, guid)":
                "SELECT feed, guid, count(*) FROM entries NOT INDEXED WHERE guid IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1",
            "stories with the same story_key":
                "SELECT story_key, count(*) FROM stories NOT INDEXED GROUP BY 1 HAVING count(*) > 1",
            "canonical URLs in more than one story":
                "SELECT canonical_url, count(DISTINCT story_id) FROM entries WHERE canonical_url IS NOT NULL "
                "GROUP BY 1 HAVING count(DISTINCT story_id) > 1",
            "stories without entries":
                "SELECT id, story_key FROM stories s WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.story_id = s.id)",
            "entries without their story":
                "SELECT id, feed, entry_key FROM entries e WHERE NOT EXISTS (SELECT 1 FROM stories s WHERE s.id = e.story_id)",
        }
        for what, q in dup_queries.items():
            bad = conn.execute(q).fetchall()
            if bad:
                self.duplicates += len(bad)
                self.problem(f"{label}: {len(bad)} {what}: {bad[:3]}")
        now = set(conn.execute("SELECT feed, entry_key FROM entries").fetchall())
        gone = self.committed - now
        if gone:
            self.lost += len(gone)
            self.problem(f"{label}: {len(gone)} committed entries lost: {sorted(gone)[:3]}")
        if farm is not None:
            stored = {}
            for feed, key, title in conn.execute("SELECT feed, entry_key, title FROM entries"):
                stored[(feed, key)] = title
            for feed in acked:
                missing = [(k, t) for k, t in farm.expected(feed) if stored.get((feed, k)) != t]
                if missing:
                    self.unacked += len(missing)
                    self.problem(f"{label}: {feed} was reported stored but {len(missing)} items are "
                                 f"missing or stale, e.g. {missing[0]} (stored {stored.get((feed, missing[0][0]))!r})")
        self.committed |= now
        return len(self.problems) == problems


def run_poll(bin_, config, timeout=300):
    t0 = time.monotonic()
    p = subprocess.run([bin_, "poll", "--config", config], capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, RUST_LOG="warn"))
    return p, time.monotonic() - t0


def summary_counts(stdout):
    m = re.search(r"polled (\d+) feeds in [\d.]+ s: (\d+) ok, (\d+) not modified, (\d+) failed, (\d+) skipped", stdout)
    return tuple(int(x) for x in m.groups()) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the newswire binary")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--feeds", type=int, default=80)
    ap.add_argument("--window", type=int, default=40, help="items per document")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    started = time.monotonic()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="newswire-kill9-")
    feeds_dir, scratch = os.path.join(work, "feeds"), os.path.join(work, "scratch")
    os.makedirs(feeds_dir)
    os.makedirs(scratch)
    print(f"seed {args.seed}, {args.feeds} feeds x {args.window} items, work folder {work}", flush=True)
    farm = Farm(feeds_dir, args.feeds, args.window, rng)
    srv = serve(feeds_dir)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    config = os.path.join(work, "newswire.toml")
    db = os.path.join(work, "newswire.db")
    with open(config, "w") as fh:
        fh.write(
            'database = "newswire.db"\nlisten = "127.0.0.1:0"\n\n'
            '[fetch]\ntimeout = "30s"\nconcurrency = 16\nper_host = 8\nrespect_cache_hints = false\n\n'
            # every edit is followed, and nothing is pruned: a missing entry is a lost one
            '[dedup]\nmax_updates_per_day = 1440\n\n[storage]\nmax_age = "off"\nmax_per_feed = 0\n\n'
        )
        for f in farm.feeds:
            fh.write(f'[[feed]]\nname = "{f}"\nurl = "{base}{farm.path_of(f)}"\n\n')

    checker = Checker()
    recoveries_failed = 0
    kinds = {"finished before the kill": 0, "killed before any feed was stored": 0,
             "killed while storing (some feeds stored, not all)": 0,
             "killed after the last feed was stored (exiting)": 0}
    torn = 0

    # the first poll fills the database; its duration is the first estimate of a poll's
    p, took = run_poll(args.bin, config)
    if p.returncode != 0:
        sys.exit(f"the first poll failed:\n{p.stdout}\n{p.stderr}")
    checker.check_files(db, scratch, "initial poll")
    farm.step()
    p, took = run_poll(args.bin, config)
    checker.check_files(db, scratch, "second poll")
    estimate = took
    print(f"first polls: {summary_counts(p.stdout)}, {took:.2f} s", flush=True)

    for r in range(1, args.rounds + 1):
        if r % 25 == 0:
            # the store grows: measure an uninterrupted poll again (not a round)
            farm.step()
            p, estimate = run_poll(args.bin, config)
            checker.check_files(db, scratch, f"calibration poll before round {r}")
        added, edited = farm.step()
        delay = rng.uniform(0, estimate)
        proc = subprocess.Popen([args.bin, "poll", "--config", config], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, RUST_LOG="off"))
        t0 = time.monotonic()
        try:
            proc.wait(timeout=delay)
            finished = True
            estimate = 0.7 * estimate + 0.3 * (time.monotonic() - t0)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            finished = False
        out = proc.stdout.read()
        # `newswire poll` prints a feed's line once its result is committed
        acked = [m.group(1) for m in re.finditer(r"^(f\d+): ok \(200\)", out, re.M)]
        reported = len(re.findall(r"^f\d+: ", out, re.M))
        if finished:
            kind = "finished before the kill"
        elif reported == 0:
            kind = "killed before any feed was stored"
        elif reported < len(farm.feeds):
            kind = "killed while storing (some feeds stored, not all)"
        else:
            kind = "killed after the last feed was stored (exiting)"
        kinds[kind] += 1
        tail = wal_tail(db + "-wal")
        torn += tail > 0
        checker.check_files(db, scratch, f"round {r} after the kill", acked, farm)
        # the next start recovers by itself: a poll on the files the kill left
        try:
            p, took = run_poll(args.bin, config)
            counts = summary_counts(p.stdout)
            ok = p.returncode == 0 and counts is not None and counts[3] == 0
        except subprocess.TimeoutExpired:
            p, ok = None, False
        if not ok:
            recoveries_failed += 1
            checker.problem(f"round {r}: the poll after the kill failed: "
                            f"{p and p.returncode} {p and p.stdout[-500:]} {p and p.stderr[-2000:]}")
        checker.check_files(db, scratch, f"round {r} after recovery")
        print(f"round {r:3}: +{added} new, {edited} edited; kill after {delay:.2f} s ({kind}; "
              f"{reported} feeds done, {tail} uncommitted WAL frames); recovery poll {took:.2f} s; "
              f"{len(checker.committed)} entries", flush=True)

    # one clean poll over the last change: the result must be complete
    farm.step()
    p, took = run_poll(args.bin, config)
    counts = summary_counts(p.stdout)
    complete_ok = p.returncode == 0 and counts is not None and counts[3] == 0
    if not complete_ok:
        recoveries_failed += 1
        checker.problem(f"final poll failed: {p.returncode} {p.stdout[-500:]} {p.stderr[-2000:]}")
    before = checker.unacked
    checker.check_files(db, scratch, "final poll", farm.feeds, farm)
    incomplete = checker.unacked - before
    srv.shutdown()
    elapsed = time.monotonic() - started

    print()
    print(f"rounds:                      {args.rounds}")
    for k, v in kinds.items():
        print(f"  {k + ':':52}{v}")
    print(f"  {'with uncommitted WAL frames (inside a commit):':52}{torn}")
    print(f"integrity failures:          {checker.integrity_failures}")
    print(f"duplicates:                  {checker.duplicates}")
    print(f"lost articles:               {checker.lost}")
    print(f"reported stored, not stored: {checker.unacked - incomplete}")
    print(f"recoveries failed:           {recoveries_failed}")
    print(f"final poll complete:         {'yes' if complete_ok and incomplete == 0 else f'NO ({incomplete} items missing or stale)'}")
    print(f"entries stored:              {len(checker.committed)}")
    print(f"runtime:                     {elapsed:.0f} s")
    failed = checker.problems or recoveries_failed
    if args.keep or failed:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
