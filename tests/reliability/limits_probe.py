#!/usr/bin/env python3
"""The figures of issue 13's table, measured against one chat-server binary.

Not a test: it decides nothing, it measures. It starts the server with ITS
defaults (only the port and the data folder are set; bcrypt cost 12, the
default, is passed explicitly because kit.Server would otherwise use 4), one
fresh server per row, all from one client address (127.0.0.1), and prints one
line of figures per row, then `LIMITS_PROBE {json}`.

Rows (select with --rows 1,3):
  1  16 clients register new names for 8 s; a real user's login time idle and
     during the flood. Variant 1b: every registration carries a random
     X-Real-IP and the server runs with --behind-proxy (the per-address
     count then does not apply; what keeps the login fast is that
     registrations hold at most half the hashing slots).
  2  one user uploads 40 images of 5 MiB (PNG signature + zeros).
  3  300 connections send an incomplete request head; how many are still
     open after 5, 15 and 30 s.
  4  200 keep-alive connections, one complete request each, then idle; how
     many are still open after 15, 60 and 80 s.
  5  one user opens 100 Socket.IO connections (raw websockets); accepted vs
     refused, server RSS per accepted socket.
  6  the page's response headers (GET /).

    .venv/bin/python tests/reliability/limits_probe.py                    # target/debug/chat-server
    .venv/bin/python tests/reliability/limits_probe.py --server target/old/debug/chat-server --rows 1,2
"""

import argparse
import collections
import json
import os
import random
import re
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import requests
import websocket  # websocket-client, python-socketio's own dependency

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kit  # noqa: E402

# Anything in the caller's environment that would change a default.
SERVER_ENV = [
    "REGISTER_LIMIT", "LOGIN_FAILURES_PER_ADDRESS", "UPLOAD_LIMIT", "UPLOAD_QUOTA_MB",
    "MIN_FREE_MB", "SOCKETS_PER_USER", "HEADER_TIMEOUT_S", "IDLE_TIMEOUT_S", "BCRYPT_COST",
    "BEHIND_PROXY", "CSP", "MAX_UPLOAD_MB", "WORKER_THREADS", "REDIS_URL", "DATABASE_URL",
    "UPLOAD_DIR", "WEB_DIR", "SEND_QUEUE_PACKETS", "ALLOWED_ORIGINS", "DB_POOL_SIZE",
    "SECURE_COOKIES", "SESSION_DAYS", "RETENTION_DAYS", "HOST", "PORT",
]
PAGE_HEADERS = [
    "Content-Security-Policy", "X-Frame-Options", "Referrer-Policy",
    "X-Content-Type-Options", "Permissions-Policy",
]


def log(*a):
    print(*a, flush=True)


def use_bcrypt_cost(cost):
    """kit.Server always passes `--bcrypt-cost 4` (fast tests), and clap refuses
    the flag twice; for this probe's servers the 4 becomes `cost` (the
    server's default is 12). Only commands of kit.SERVER_BIN are touched."""
    popen = kit.subprocess.Popen

    def launch(cmd, *a, **kw):
        if isinstance(cmd, list) and cmd and cmd[0] == kit.SERVER_BIN:
            cmd = list(cmd)
            for i in range(len(cmd) - 1):
                if cmd[i] == "--bcrypt-cost":
                    cmd[i + 1] = str(cost)
        return popen(cmd, *a, **kw)

    kit.subprocess.Popen = launch


class Run:
    """One fresh server (kit.Server) per row; its folder is removed afterwards unless --keep."""

    def __init__(self, args, flags=()):
        self.args = args
        self.server = kit.Server(flags=list(flags))

    def __enter__(self):
        return self.server.start(wait=120)

    def __exit__(self, *exc):
        self.server.stop()
        if not self.args.keep:
            shutil.rmtree(self.server.data, ignore_errors=True)
        else:
            log(f"   (kept {self.server.data})")


def metrics(url):
    """chat_refusals_total by reason and chat_http_connections_open, when the server has them."""
    out = {"refusals": {}, "http_connections_open": None}
    try:
        text = requests.get(url + "/metrics", timeout=5).text
    except requests.RequestException:
        return out
    for line in text.splitlines():
        m = re.match(r'chat_refusals_total\{reason="([^"]+)"\}\s+([0-9.e+]+)', line)
        if m:
            out["refusals"][m.group(1)] = int(float(m.group(2)))
        m = re.match(r"chat_http_connections_open(?:\{[^}]*\})?\s+([0-9.e+]+)", line)
        if m:
            out["http_connections_open"] = int(float(m.group(1)))
    return out


def fmt_counts(c):
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(c.items(), key=lambda kv: str(kv[0]))) + "}" if c else "none"


# ---------------------------------------------------------------- row 1

def timed_login(account):
    t = time.monotonic()
    r = account.login()
    dt = time.monotonic() - t
    if r.status_code != 200:
        raise RuntimeError(f"login of the real user answered {r.status_code} {r.text[:200]}")
    return dt


def register_flood(args, proxy):
    flags = ["--behind-proxy"] if proxy else []
    with Run(args, flags) as srv:
        user = kit.Account(srv.url)  # the real user (counts 1 against 127.0.0.1)
        idle = [timed_login(user) for _ in range(3)]
        stop = threading.Event()
        statuses = collections.Counter()
        errors = collections.Counter()
        lock = threading.Lock()

        def flooder(i):
            rng = random.Random(i)
            http = requests.Session()
            while not stop.is_set():
                headers = {}
                if proxy:
                    headers["X-Real-IP"] = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                body = {"username": kit.rand_name("f", rng), "password": "pw-" + kit.rand_name("", rng)}
                try:
                    r = http.post(srv.url + "/api/register", json=body, headers=headers, timeout=120)
                    with lock:
                        statuses[r.status_code] += 1
                except requests.RequestException as e:
                    with lock:
                        errors[type(e).__name__] += 1
                # a new session each time: each registration logs its client in
                http.cookies.clear()

        during = []

        def prober():
            time.sleep(1.0)  # let the flood fill the queues first
            while not stop.is_set():
                during.append(timed_login(user))

        threads = [threading.Thread(target=flooder, args=(i,), daemon=True) for i in range(args.flood_clients)]
        login_thread = threading.Thread(target=prober, daemon=True)
        t0 = time.monotonic()
        for t in threads:
            t.start()
        login_thread.start()
        time.sleep(args.flood_seconds)
        stop.set()
        for t in threads:
            t.join(180)
        login_thread.join(60)
        elapsed = time.monotonic() - t0
        # Cross-check the 201s against the users table (the real user aside).
        try:
            import sqlite3
            with sqlite3.connect(f"file:{srv.database_url}?mode=ro", uri=True, timeout=30) as db:
                in_db = db.execute("SELECT COUNT(*) FROM users").fetchone()[0] - 1
        except Exception:  # noqa: BLE001
            in_db = None
        m = metrics(srv.url)
    idle_s = statistics.median(idle)
    during_s = statistics.median(during) if during else None
    refused = {k: v for k, v in statuses.items() if k != 201}
    return {
        "variant": "random X-Real-IP, --behind-proxy" if proxy else "one address",
        "clients": args.flood_clients,
        "seconds": args.flood_seconds,
        "elapsed_s": round(elapsed, 1),
        "accounts_created": statuses.get(201, 0),
        "accounts_in_db": in_db,
        "refused_by_status": refused,
        "client_errors": dict(errors),
        "login_idle_s": round(idle_s, 3),
        "login_during_flood_s": round(during_s, 3) if during_s is not None else None,
        "login_during_flood_max_s": round(max(during), 3) if during else None,
        "logins_during_flood": len(during),
        "login_ratio": round(during_s / idle_s, 1) if during_s else None,
        "refusals_metric": m["refusals"],
    }


def row1(args):
    out = {}
    for key, proxy in (("1", False), ("1b", True)):
        r = register_flood(args, proxy)
        out[key] = r
        log(
            f"row {key} register flood ({r['variant']}, {r['clients']} clients, {r['seconds']} s): "
            f"{r['accounts_created']} accounts created (users table: {r['accounts_in_db']}), "
            f"refused {fmt_counts(r['refused_by_status'])}, client errors {fmt_counts(r['client_errors'])}; "
            f"real user's login {r['login_idle_s']} s idle, {r['login_during_flood_s']} s during the flood "
            f"(median of {r['logins_during_flood']}, max {r['login_during_flood_max_s']} s) = {r['login_ratio']}x"
        )
    return out


# ---------------------------------------------------------------- row 2

def row2(args):
    size = 5 * 1024 * 1024
    png = kit.PNG_1x1[:8] + bytes(size - 8)
    with Run(args) as srv:
        user = kit.Account(srv.url)
        statuses = collections.Counter()
        errors = collections.Counter()
        t0 = time.monotonic()
        for i in range(args.uploads):
            try:
                r = user.http.post(srv.url + "/api/upload", files={"file": (f"big{i}.png", png, "image/png")}, timeout=120)
                statuses[r.status_code] += 1
            except requests.RequestException as e:
                errors[type(e).__name__] += 1
        elapsed = time.monotonic() - t0
        files = [p for p in srv.upload_dir.iterdir() if p.is_file() and not p.name.startswith(".")] if srv.upload_dir.exists() else []
        stored_mib = sum(p.stat().st_size for p in files) / 2**20
        m = metrics(srv.url)
    r = {
        "uploads": args.uploads,
        "bytes_each": size,
        "stored": statuses.get(200, 0),
        "files_in_folder": len(files),
        "stored_mib": round(stored_mib, 1),
        "refused_by_status": {k: v for k, v in statuses.items() if k != 200},
        "client_errors": dict(errors),
        "seconds": round(elapsed, 2),
        "refusals_metric": m["refusals"],
    }
    log(
        f"row 2 one user uploads {r['uploads']} x 5 MiB: {r['stored']} stored ({r['files_in_folder']} files, "
        f"{r['stored_mib']} MiB in the folder), refused {fmt_counts(r['refused_by_status'])}, "
        f"client errors {fmt_counts(r['client_errors'])}, in {r['seconds']} s"
    )
    return {"2": r}
    return {"2": r}


# ---------------------------------------------------------------- rows 3 and 4

class RawConn:
    """A raw TCP connection whose closing by the server we watch."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.closed = False
        self.received = b""

    def send(self, data):
        self.s.sendall(data)

    def read_response(self, timeout=10):
        """Reads one complete response with a Content-Length body."""
        self.s.settimeout(timeout)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("closed before the response head")
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        need = int(m.group(1)) if m else 0
        while len(body) < need:
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("closed before the end of the body")
            body += chunk
        return head.split(b"\r\n", 1)[0].decode(errors="replace")

    def is_open(self):
        if self.closed:
            return False
        self.s.setblocking(False)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    self.closed = True
                    break
                self.received += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.closed = True
        if self.closed:
            self.s.close()
        return not self.closed

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def watch(srv, conns, checkpoints, t0):
    """At each checkpoint (seconds after t0): connections still open, the server's descriptors and gauge."""
    seen = {}
    for at in checkpoints:
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        open_now = sum(c.is_open() for c in conns)
        fds = kit.proc_stats(srv.pid)["fds"] if srv.alive() else None
        gauge = metrics(srv.url)["http_connections_open"]
        seen[str(at)] = {"open": open_now, "server_fds": fds, "http_connections_open_gauge": gauge}
    return seen


def row3(args):
    n = args.slow_heads
    with Run(args) as srv:
        fds_before = kit.proc_stats(srv.pid)["fds"]
        conns = []
        for _ in range(n):
            c = RawConn(srv.port)
            c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: limits-probe\r\n")  # no blank line: never finished
            conns.append(c)
        t0 = time.monotonic()
        seen = watch(srv, conns, [5, 15, 30], t0)
        answered = sum(1 for c in conns if c.received)
        first = next((c.received.split(b"\r\n", 1)[0].decode(errors="replace") for c in conns if c.received), None)
        for c in conns:
            c.close()
        m = metrics(srv.url)
    r = {"connections": n, "server_fds_before": fds_before, "after_s": seen,
         "answered_before_close": answered, "first_answer": first, "refusals_metric": m["refusals"]}
    log(
        f"row 3 {n} connections with an unfinished request head: still open "
        + ", ".join(f"{v['open']} after {k} s" for k, v in seen.items())
        + f" (server descriptors {fds_before} before, " + ", ".join(str(v["server_fds"]) for v in seen.values())
        + f"); {answered} got an answer before the close{f' ({first})' if first else ''}"
    )
    return {"3": r}


def row4(args):
    n = args.idle_conns
    with Run(args) as srv:
        fds_before = kit.proc_stats(srv.pid)["fds"]
        conns, statuses = [], collections.Counter()
        for _ in range(n):
            c = RawConn(srv.port)
            c.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: limits-probe\r\n\r\n")
            statuses[c.read_response()] += 1
            conns.append(c)
        t0 = time.monotonic()
        seen = watch(srv, conns, [15, 60, 80], t0)
        for c in conns:
            c.close()
        m = metrics(srv.url)
    r = {"connections": n, "first_request": dict(statuses), "server_fds_before": fds_before,
         "after_s": seen, "refusals_metric": m["refusals"]}
    log(
        f"row 4 {n} keep-alive connections idle after one request ({fmt_counts(statuses)}): still open "
        + ", ".join(f"{v['open']} after {k} s" for k, v in seen.items())
        + f" (server descriptors {fds_before} before, " + ", ".join(str(v["server_fds"]) for v in seen.values()) + ")"
    )
    return {"4": r}


def rows34(args, rows):
    """Rows 3 and 4 mostly wait: run together when both are asked for (separate servers)."""
    results, errors = {}, []

    def run(fn):
        try:
            results.update(fn(args))
        except Exception as e:  # noqa: BLE001
            errors.append(f"{fn.__name__}: {e!r}")

    threads = [threading.Thread(target=run, args=(fn,)) for fn in (row3, row4) if fn.__name__[-1] in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        log(f"row failed: {e}")
    return results


# ---------------------------------------------------------------- row 5

def open_socket(url, cookie, timeout=10):
    """A raw Engine.IO websocket with a Socket.IO CONNECT to `/`: ('accepted'|'refused'|'error', ws, detail)."""
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    try:
        ws = websocket.create_connection(ws_url, cookie=cookie, timeout=timeout)
    except Exception as e:  # noqa: BLE001
        return "error", None, f"handshake: {e!r}"
    try:
        opened = ws.recv()
        if not str(opened).startswith("0"):
            return "error", ws, f"no open packet: {opened!r}"
        ws.send("40")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = ws.recv()
            if not isinstance(p, str):
                continue
            if p == "2":
                ws.send("3")
            elif p.startswith("40"):
                return "accepted", ws, None
            elif p.startswith("44"):
                return "refused", ws, p
        return "error", ws, "no CONNECT answer"
    except Exception as e:  # noqa: BLE001
        return "error", ws, repr(e)


def row5(args):
    n = args.sockets
    with Run(args) as srv:
        user = kit.Account(srv.url)
        cookie = user.cookie()
        # warm up: one socket opened and closed, so that first-use allocations are not counted
        kind, ws, _ = open_socket(srv.url, cookie)
        if ws:
            ws.close()
        time.sleep(1.5)
        before = kit.proc_stats(srv.pid)
        outcomes, refusal, errors, sockets = collections.Counter(), None, [], []
        t0 = time.monotonic()
        for _ in range(n):
            kind, ws, detail = open_socket(srv.url, cookie)
            outcomes[kind] += 1
            if ws:
                sockets.append(ws)
            if kind == "refused" and refusal is None:
                refusal = detail
            if kind == "error":
                errors.append(detail)
        elapsed = time.monotonic() - t0
        time.sleep(1.5)
        after = kit.proc_stats(srv.pid)
        gauge = None
        try:
            text = requests.get(srv.url + "/metrics", timeout=5).text
            m = re.search(r"^chat_sockets_connected(?:\{[^}]*\})?\s+([0-9.e+]+)", text, re.M)
            gauge = int(float(m.group(1))) if m else None
        except requests.RequestException:
            pass
        m = metrics(srv.url)
        for ws in sockets:
            try:
                ws.close()
            except Exception:  # noqa: BLE001
                pass
    accepted = outcomes.get("accepted", 0)
    delta = after["rss_kb"] - before["rss_kb"]
    r = {
        "attempts": n,
        "accepted": accepted,
        "refused": outcomes.get("refused", 0),
        "errors": outcomes.get("error", 0),
        "first_error": errors[0] if errors else None,
        "refusal": refusal,
        "seconds": round(elapsed, 2),
        "rss_kb_before": before["rss_kb"],
        "rss_kb_after": after["rss_kb"],
        "rss_kb_per_accepted": round(delta / accepted, 1) if accepted else None,
        "fds_before": before["fds"],
        "fds_after": after["fds"],
        "sockets_connected_gauge": gauge,
        "refusals_metric": m["refusals"],
    }
    first_error = f" ({errors[0]})" if errors else ""
    log(
        f"row 5 one user opens {n} Socket.IO connections: {accepted} accepted, {r['refused']} refused, "
        f"{r['errors']} errors{first_error}; server RSS "
        f"{before['rss_kb']} -> {after['rss_kb']} kB = {r['rss_kb_per_accepted']} kB per accepted socket"
        + (f"; refusal {refusal}" if refusal else "")
    )
    return {"5": r}


# ---------------------------------------------------------------- row 6

def row6(args):
    with Run(args) as srv:
        resp = requests.get(srv.url + "/", timeout=10)
    present = {h: resp.headers.get(h) for h in PAGE_HEADERS}
    r = {"status": resp.status_code, "present": [h for h, v in present.items() if v is not None],
         "missing": [h for h, v in present.items() if v is None], "values": {h: v for h, v in present.items() if v is not None}}
    csp = present["Content-Security-Policy"]
    log(
        f"row 6 GET / ({resp.status_code}): present {', '.join(r['present']) or 'none'}; missing {', '.join(r['missing']) or 'none'}"
        + (f"; CSP {'strict' if 'unsafe-inline' not in csp else 'compat'} ({csp[:60]}...)" if csp else "")
    )
    return {"6": r}


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default=kit.SERVER_BIN, help="chat-server binary (default: $CHAT_SERVER_BIN or target/debug/chat-server)")
    p.add_argument("--rows", default="1,2,3,4,5,6", help="comma-separated rows (1 includes its variant 1b)")
    p.add_argument("--bcrypt-cost", type=int, default=12, help="the server's default, 12 (kit.Server alone would pass 4)")
    p.add_argument("--flood-clients", type=int, default=16)
    p.add_argument("--flood-seconds", type=float, default=8.0)
    p.add_argument("--uploads", type=int, default=40)
    p.add_argument("--slow-heads", type=int, default=300)
    p.add_argument("--idle-conns", type=int, default=200)
    p.add_argument("--sockets", type=int, default=100)
    p.add_argument("--keep", action="store_true", help="keep the servers' data folders (server.log)")
    args = p.parse_args()

    kit.SERVER_BIN = str(Path(args.server).resolve())
    use_bcrypt_cost(args.bcrypt_cost)
    for name in SERVER_ENV:
        os.environ.pop(name, None)
    # The page is served from the repository's web/ (the server's default --web-dir is relative).
    os.chdir(kit.ROOT)
    rows = {r.strip() for r in args.rows.split(",") if r.strip()}
    log(f"limits probe: {kit.SERVER_BIN}, rows {','.join(sorted(rows))}, bcrypt cost {args.bcrypt_cost}, "
        f"{os.cpu_count()} cores shared with this load generator")
    started = time.monotonic()
    results = {}
    # Rows 3 and 4 mostly wait (30 and 80 s): they run beside the others, on their own servers.
    waiting = {}
    background = None
    if rows & {"3", "4"}:
        background = threading.Thread(target=lambda: waiting.update(rows34(args, rows)))
        background.start()
    for key, fn in (("1", row1), ("2", row2), ("5", row5), ("6", row6)):
        if key in rows:
            try:
                results.update(fn(args))
            except Exception as e:  # noqa: BLE001
                log(f"row {key} failed: {e!r}")
                results[key] = {"error": repr(e)}
    if background:
        background.join()
        results.update(waiting)
    total = round(time.monotonic() - started, 1)
    log("LIMITS_PROBE " + json.dumps({"server": kit.SERVER_BIN, "cores": os.cpu_count(),
                                      "bcrypt_cost": args.bcrypt_cost, "seconds": total,
                                      "rows": dict(sorted(results.items()))}, ensure_ascii=False, sort_keys=False))


if __name__ == "__main__":
    main()
