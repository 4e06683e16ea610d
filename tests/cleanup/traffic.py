#!/usr/bin/env python3
"""Traffic for tests/cleanup/test_cleanup_live.py: a live server gets new
messages over Socket.IO while old messages keep appearing in its SQLite file
(written directly, with old timestamps) and chat-cleanup runs in a loop.

The suite imports `send_traffic` and `verify_checks`; the command line is kept
for running a phase by hand:

  traffic.py run    --url URL --db FILE --state OUT.json [--seconds N] [--users N]
  traffic.py verify --url URL --db FILE --uploads DIR --state OUT.json [--retention-days 7]

`verify` prints one "PASS name" / "FAIL name: why" line per check and exits 1
if any failed.
"""
import argparse
import base64
import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests
import socketio

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAMAAWgmWQ0AAAAASUVORK5CYII="
)
PASSWORD = "secret-pass-1"


def db_time(days_ago, seconds=0):
    t = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=days_ago, seconds=seconds)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def db_connect(path):
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 30000")
    return con


def register(url, name):
    s = requests.Session()
    r = s.post(f"{url}/api/register", json={"username": name, "password": PASSWORD}, timeout=10)
    r.raise_for_status()
    return s, r.json()["user"]


def cookie_of(session):
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def upload(s, url):
    r = s.post(f"{url}/api/upload", files={"file": ("dot.png", PNG, "image/png")}, timeout=10)
    r.raise_for_status()
    return r.json()["url"]


def insert_old(con, user_id, n, tag, image_url=None):
    """n old text messages (8 to 30 days old) in one transaction, plus an old image message."""
    rows = [
        (user_id, f"old {tag} {i}", "text", db_time(8 + (i % 22), seconds=i))
        for i in range(n)
    ]
    if image_url:
        rows.append((user_id, image_url, "image", db_time(10)))
    con.execute("BEGIN IMMEDIATE")
    con.executemany(
        "INSERT INTO messages (user_id, content, message_type, timestamp) VALUES (?, ?, ?, ?)", rows
    )
    con.execute("COMMIT")
    return len(rows)


def send_traffic(url, db, seconds=15, users=4, seed=3000):
    """Sends new messages for `seconds` while old ones keep appearing in `db`.

    Returns the state `verify_checks` reads: acked new messages, errors, the
    two image urls and the first user's cookie.
    """
    args = argparse.Namespace(url=url, db=db, seconds=seconds, users=users, seed=seed)
    run_id = uuid.uuid4().hex[:6]
    users = [register(url, f"u{run_id}{i}") for i in range(args.users)]
    s0, u0 = users[0]
    shared_url = upload(s0, url)  # an old and a new message show it: it must stay
    old_only_url = upload(s0, url)  # only an old message shows it: it must go

    errors = []
    acked = []  # (id, content)

    # A new message shows shared_url first; only then does an old one (the
    # cleanup loop is already running: an image no message shows may go).
    sio = socketio.Client(reconnection=False)
    sio.connect(url, headers={"Cookie": cookie_of(s0)}, wait_timeout=10)
    ack = sio.call("send_message", {"content": shared_url, "message_type": "image"}, timeout=15)
    sio.disconnect()
    if not (isinstance(ack, dict) and ack.get("success")):
        errors.append(f"image message refused: {ack!r}")
    else:
        acked.append((ack["message"]["id"], ack["message"]["content"]))

    con = db_connect(args.db)
    seeded = insert_old(con, u0["id"], args.seed, "seed", image_url=shared_url)
    seeded += insert_old(con, u0["id"], 1, "img", image_url=old_only_url)
    lock = threading.Lock()
    stop = threading.Event()

    def old_writer():
        """Keeps old messages coming, so every cleanup run has work to do."""
        nonlocal seeded
        c = db_connect(args.db)
        k = 0
        while not stop.is_set():
            try:
                seeded += insert_old(c, u0["id"], 200, f"w{k}")
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"seeding old messages: {e!r}")
            k += 1
            stop.wait(0.3)
        c.close()

    def sender(idx, session):
        sio = socketio.Client(reconnection=False)
        cookie = cookie_of(session)
        try:
            sio.connect(url, headers={"Cookie": cookie}, wait_timeout=10)
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append(f"user {idx}: connect failed: {e!r}")
            return
        deadline = time.monotonic() + args.seconds
        n = 0
        try:
            while time.monotonic() < deadline:
                payload = {"content": f"new {run_id} u{idx} #{n}", "message_type": "text"}
                n += 1
                try:
                    ack = sio.call("send_message", payload, timeout=15)
                except Exception as e:  # noqa: BLE001
                    with lock:
                        errors.append(f"user {idx}: send {n} got no answer: {e!r}")
                    continue
                if not (isinstance(ack, dict) and ack.get("success")):
                    with lock:
                        errors.append(f"user {idx}: send {n} refused: {ack!r}")
                    continue
                m = ack["message"]
                with lock:
                    acked.append((m["id"], m["content"]))
                time.sleep(0.55)  # under the flood limit of 20 per 10 s
        finally:
            sio.disconnect()

    writer = threading.Thread(target=old_writer)
    writer.start()
    threads = [threading.Thread(target=sender, args=(i, s)) for i, (s, _) in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    writer.join()

    return {
        "run_id": run_id,
        "acked": sorted(acked),
        "errors": errors,
        "seeded_old": seeded,
        "shared_url": shared_url,
        "old_only_url": old_only_url,
        "cookie": cookie_of(s0),
    }


def traffic_ok(st):
    """What `run` exits 0 on: no error and at least one acknowledged message."""
    return not st["errors"] and bool(st["acked"])


def summary(st):
    lines = [f"sent {len(st['acked'])} new messages ({len(st['errors'])} errors), seeded {st['seeded_old']} old ones"]
    lines += [f"  error: {e}" for e in st["errors"][:20]]
    return "\n".join(lines)


def run(args):
    st = send_traffic(args.url, args.db, args.seconds, args.users, args.seed)
    with open(args.state, "w") as f:
        json.dump(st, f)
    print(summary(st))
    return 0 if traffic_ok(st) else 1


def verify_checks(url, db, uploads, st, retention_days=7):
    """The checks after the traffic, as a list of (name, ok, why).

    "history readable" appears only when the history could not be read.
    """
    args = argparse.Namespace(url=url, db=db, uploads=str(uploads), retention_days=retention_days)
    results = []

    def check(name, ok, why=""):
        results.append((name, bool(ok), why))

    check("traffic without errors", not st["errors"], "; ".join(st["errors"][:5]))
    check("some new messages were sent", len(st["acked"]) >= 20, f"only {len(st['acked'])}")

    # Every acknowledged message is served by the API (the retention window).
    served = {}
    after = 0
    while True:
        r = requests.get(
            f"{args.url}/api/messages",
            params={"after_id": after, "limit": 200},
            headers={"Cookie": st["cookie"]},
            timeout=10,
        )
        if r.status_code != 200:
            check("history readable", False, f"HTTP {r.status_code}: {r.text[:200]}")
            break
        page = r.json()["messages"]
        if not page:
            break
        for m in page:
            served[m["id"]] = m["content"]
        after = page[-1]["id"]
    missing = [(i, c) for i, c in st["acked"] if served.get(i) != c]
    check("every new message is served", not missing, f"{len(missing)} missing, e.g. {missing[:3]}")

    con = db_connect(args.db)
    stored = dict(con.execute("SELECT id, content FROM messages WHERE content LIKE ?", (f"new {st['run_id']} %",)))
    stored_ids = {i for i, _ in st["acked"]}
    lost = [i for i, c in st["acked"] if not c.startswith("/uploads/") and stored.get(i) != c]
    check("every new message is stored", not lost, f"{len(lost)} lost, e.g. {lost[:5]}")
    check("no message was stored twice", set(stored) <= stored_ids, f"{len(set(stored) - stored_ids)} unexpected")

    cutoff = db_time(args.retention_days)
    old = con.execute("SELECT COUNT(*) FROM messages WHERE timestamp < ?", (cutoff,)).fetchone()[0]
    check("no old message is left", old == 0, f"{old} messages older than {args.retention_days} days remain")

    shared = os.path.join(args.uploads, st["shared_url"].rsplit("/", 1)[1])
    old_only = os.path.join(args.uploads, st["old_only_url"].rsplit("/", 1)[1])
    check("an image a new message shows stays", os.path.isfile(shared), shared)
    check("an image only old messages showed is gone", not os.path.exists(old_only), old_only)
    con.close()
    return results


def verify(args):
    with open(args.state) as f:
        st = json.load(f)
    results = verify_checks(args.url, args.db, args.uploads, st, args.retention_days)
    for name, ok, why in results:
        print(f"PASS {name}" if ok else f"FAIL {name}: {why}")
    return 0 if all(ok for _, ok, _ in results) else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--url", required=True)
    r.add_argument("--db", required=True)
    r.add_argument("--state", required=True)
    r.add_argument("--seconds", type=float, default=15)
    r.add_argument("--users", type=int, default=4)
    r.add_argument("--seed", type=int, default=3000)
    v = sub.add_parser("verify")
    v.add_argument("--url", required=True)
    v.add_argument("--db", required=True)
    v.add_argument("--uploads", required=True)
    v.add_argument("--state", required=True)
    v.add_argument("--retention-days", type=int, default=7)
    a = p.parse_args()
    return run(a) if a.cmd == "run" else verify(a)


if __name__ == "__main__":
    sys.exit(main())
