#!/usr/bin/env python3
"""Churn soak: virtual users come and go for N minutes while the server's RSS,
descriptors and threads are sampled; then every acknowledged message is looked
up in the database.

Each virtual user loops over "visits": log in (accounts are registered up
front), open a Socket.IO connection (half of the users polling only, half
websocket only), send a few messages with acknowledgements, upload a small
PNG and send it as an image message, page the history (`limit`, `before_id`,
`after_id`), stay a moment, then leave either by `POST /api/logout` (the
server must then close the socket) or by dropping the connection: the TCP
connections of the visit are aborted (half of them with an RST) with no
Socket.IO or Engine.IO close, as a lost network or a killed browser would.

Verdict (exit 1 on any of them):
- RSS once everyone has left (--settle (35) seconds after the server holds
  no socket: sockets whose network was dropped stay until their ping
  timeout, and the server hands freed memory back at most 30 s after
  sockets go) more than --rss-growth-pct (10) above the baseline: the MAX
  of the samples taken in the first third of the run after the warm-up. The warm-up (--warmup) is the ramp plus pingInterval +
  pingTimeout (45 s), at least 15 s: a dropped polling socket lives in the
  server (with the broadcasts queued for it) until its ping timeout, so only
  then does their number, and the RSS, stop climbing by design. Samples
  before that are shown, not used. With the defaults (2 min): warm-up 55 s,
  baseline = max of the samples in [55 s, 77 s];
- a socket still open --empty-wait (120) seconds after the last user left,
  longer than any ping timeout: a socket that outlived its timeout;
- open descriptors, those of the SQLite pool aside (up to --db-pool-size
  connections, opened under load and kept 10 minutes by r2d2), not back to
  within --fd-margin (5) of the count before the run within --fd-wait (60)
  seconds after the last user left;
- a message whose acknowledgement said success that is absent from the SQLite
  file or has another content there (read directly, kit.stored_contents);
- any HTTP 5xx (API or Engine.IO requests), any refused send other than the
  flood error, or more than --max-errors other client errors (timeouts,
  refused connects, unexpected disconnects, unexpected HTTP statuses,
  malformed answers, a socket left open after logout);
- a panic in the server log, the server dying, or its exit code on SIGTERM
  not 0.

It is one asyncio process (python-socketio AsyncClient on aiohttp), and every
socket receives every broadcast, so its own work grows with users x events.
It scales by pacing, not by sending less per socket: messages over all users
at most --rate a second (default min(30, 1500/users); a message that would
wait more than 2 s is skipped and counted), visits that stay connected
--hold s on average (default max(1.5, users/27): ~900 sockets open with 1000
users), users started over --ramp s, and users that hold back (no new visit,
no message) while the event loop runs more than --max-lag late, so that the
client's own overload never passes for the server's fault. Two settings of
python-engineio's client are set to the browser's: it takes a polling answer
of any number of packets (python-engineio refuses more than 16), and waits
45 s for the server's ping instead of 30 s (the gaps seen are reported).

Clients stay under the limits of PROTOCOL.md: at most 15 messages per user in
any 12 s (the server's flood limit is 20 in 10 s), 15 uploads per user in any
65 s (limit 20 a minute), and a bounded number of dropped sockets per user
that the server may still hold (limit 20 a user). A flood refusal is counted
apart (refused_flood) and is not a failure. Every network call has a timeout,
and the whole run stops by itself: the churn ends at --minutes, stragglers
are cancelled --grace seconds later.

Prints one line per sample, then `SOAK_SUMMARY {json}` and `soak: ok` or
`soak: FAILED (reasons)`.

    .venv/bin/python tests/reliability/soak.py                 # 2 min, 40 users
    .venv/bin/python tests/reliability/soak.py --minutes 30 --users 1000
"""

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import queue
import random
import resource
import shutil
import socket
import struct
import sys
import time
from collections import Counter, deque
from pathlib import Path

import aiohttp
import engineio
import socketio
from engineio import payload as eio_payload

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kit  # noqa: E402

FLOOD_CAP, FLOOD_WINDOW = 15, 12.0  # server: 20 accepted in any 10 s, per user
UPLOAD_CAP, UPLOAD_WINDOW = 15, 65.0  # server: 20 uploads a minute, per user
LINGER_CAP, LINGER_WINDOW = 10, 60.0  # dropped polling sockets live until the ping timeout (45 s)
PING_INTERVAL_S, PING_TIMEOUT_S = 25, 20  # PROTOCOL.md §1: a dropped socket lives this long in the server


def log(msg):
    print(msg, flush=True)


# python-engineio's client refuses a polling answer of more than 16 packets
# ("Too many packets in payload") and drops the connection. Engine.IO sets no
# such bound: the browser's client and the Flask server's python-engineio send
# and take every packet queued since the last poll, and with 40 users talking
# a poll that comes late (this process is busy) easily carries more than 16.
# The soak plays browsers, so it takes them all.
eio_payload.Payload.max_decode_packets = 1_000_000

BAD_PAYLOADS = []  # (raw bytes, error) of polling answers python-engineio could not decode


PING_GAPS = {"max": 0.0, "over_30s": 0}  # between the server's pings, as this client saw them


class CheckedEngineIO(engineio.AsyncClient):
    """python-engineio's client, keeping a copy of every polling answer that
    it cannot decode (it only says "Unexpected packet from server"), and
    waiting for the server's ping as long as a browser does.

    python-engineio gives a connection up when it had nothing to send for
    max(pingInterval, pingTimeout) + 5 s (30 s), i.e. when a ping comes 5 s
    late; the browser's client waits pingInterval + pingTimeout (45 s). The
    soak plays browsers: the pingTimeout it uses is 20 s longer (40 s, so
    max(25, 40) + 5 = 45 s), and the gaps between pings are recorded
    (PING_GAPS) so that late pings still show."""

    @property
    def ping_timeout(self):
        raw = getattr(self, "_raw_ping_timeout", None)
        return None if raw is None else raw + 20

    @ping_timeout.setter
    def ping_timeout(self, value):
        self._raw_ping_timeout = value

    async def _connect_polling(self, *args, **kwargs):
        self._last_ping = time.monotonic()
        return await super()._connect_polling(*args, **kwargs)

    async def _connect_websocket(self, *args, **kwargs):
        if not self.sid:
            self._last_ping = time.monotonic()
        return await super()._connect_websocket(*args, **kwargs)

    async def _receive_packet(self, pkt):
        if pkt.packet_type == engineio.packet.PING:
            now = time.monotonic()
            gap = now - getattr(self, "_last_ping", now)
            self._last_ping = now
            PING_GAPS["max"] = max(PING_GAPS["max"], gap)
            if gap > 30:
                PING_GAPS["over_30s"] += 1
        return await super()._receive_packet(pkt)

    async def _send_request(self, method, url, headers=None, body=None, timeout=None):
        r = await super()._send_request(method, url, headers=headers, body=body, timeout=timeout)
        if method == "GET" and r is not None and not isinstance(r, str) and 200 <= r.status < 300:
            try:
                raw = await r.read()  # aiohttp keeps the body: the library reads the same bytes
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return r
            try:
                eio_payload.Payload(encoded_payload=raw.decode("utf-8"))
            except ValueError as e:
                BAD_PAYLOADS.append((raw, repr(e)))
        return r


class SoakClient(socketio.AsyncClient):
    def _engineio_client_class(self):
        return CheckedEngineIO


class Stats:
    def __init__(self, max_error_samples=30):
        self.c = Counter()  # connects, sent, acked, uploads, logouts, drops, ...
        self.errors = Counter()  # kind -> count
        self.error_samples = []
        self.max_error_samples = max_error_samples
        self.acked = {}  # message id -> content, for every ack that said success
        self.http_5xx = []
        self.open_sockets = 0
        self.notes = []  # what the client libraries said, and odd but allowed answers

    def note(self, text):
        if len(self.notes) < self.max_error_samples:
            self.notes.append(text[:300])

    def error(self, kind, detail=""):
        self.errors[kind] += 1
        if len(self.error_samples) < self.max_error_samples:
            self.error_samples.append(f"{kind}: {detail}"[:300])

    def counted_errors(self):
        """Client errors that count against the run (flood refusals do not)."""
        return sum(self.errors.values())


class Window:
    """At most `cap` events in any `window` seconds (client-side bookkeeping)."""

    def __init__(self, cap, window):
        self.cap, self.window, self.times = cap, window, deque()

    def _trim(self, now):
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()

    def room(self):
        self._trim(time.monotonic())
        return len(self.times) < self.cap

    async def take(self):
        while True:
            now = time.monotonic()
            self._trim(now)
            if len(self.times) < self.cap:
                self.times.append(now)
                return
            await asyncio.sleep(self.times[0] + self.window - now + 0.05)

    def note(self):
        self.times.append(time.monotonic())


class Rate:
    """A shared pace for all users: at most `per_s` messages a second in total.
    A message whose turn would come more than `max_wait` s later is skipped
    (False), so that a crowd of users never queues past the end of the run."""

    def __init__(self, per_s, max_wait=2.0):
        self.gap = 1.0 / per_s if per_s > 0 else 0.0
        self.next = 0.0
        self.max_wait = max_wait

    async def take(self):
        if not self.gap:
            return True
        now = time.monotonic()
        slot = max(now, self.next)
        if slot - now > self.max_wait:
            return False
        self.next = slot + self.gap
        if slot > now:
            await asyncio.sleep(slot - now)
        return True


class LoopLag:
    """How late this process's event loop runs (a smoothed figure, in s). Every
    socket receives every broadcast, so the work of this one Python process
    grows with users x events; when it falls behind, its polls come late and
    the server rightly evicts slow readers. The users then hold back (see
    Soak.breathe) instead of reporting the client's own overload as errors."""

    def __init__(self):
        self.lag = 0.0
        self.worst = 0.0

    async def run(self):
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.1)
            late = max(0.0, loop.time() - t - 0.1)
            self.lag = 0.8 * self.lag + 0.2 * late
            self.worst = max(self.worst, late)


def abort_connections(session, rst):
    """Closes every TCP connection of an aiohttp session at once, sending no
    Engine.IO close packet and no WebSocket close frame. With `rst` the socket
    is closed with SO_LINGER 0, so the peer gets an RST instead of a FIN."""
    conn = session.connector
    protos = set(getattr(conn, "_acquired", ()) or ())
    for entries in (getattr(conn, "_conns", {}) or {}).values():
        for entry in entries:
            protos.add(entry[0])
    n = 0
    for proto in protos:
        tr = getattr(proto, "transport", None)
        if tr is None or tr.is_closing():
            continue
        if rst:
            sock = tr.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (OSError, AttributeError):
                pass
        tr.abort()
        n += 1
    return n


class Soak:
    def __init__(self, args, url):
        self.a = args
        self.url = url
        self.st = Stats()
        self.rate = Rate(args.rate)
        self.lag = LoopLag()
        self.timeout = args.timeout
        self.deadline = None
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_end.append(self._on_request_end)

    async def _on_request_end(self, session, ctx, params):
        status = params.response.status
        if status >= 500:
            self.st.http_5xx.append(f"{params.method} {params.url.path} {status}")
            self.st.error("http_5xx", f"{params.method} {params.url.path} -> {status}")
        elif status >= 400 and params.url.path.startswith("/socket.io"):
            # e.g. a poll racing the server's close after a logout: noted, not an error
            self.st.c["eio_http_4xx"] += 1
            self.st.note(f"eio {params.method} {status} t={self.elapsed():.1f}s")

    def elapsed(self):
        return time.monotonic() - self.t0 if self.deadline else 0.0

    def new_session(self):
        s = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies of 127.0.0.1
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            trace_configs=[self.trace],
        )
        # aiohttp resends a GET whose reused connection broke; after a drop that
        # would be a new poll, i.e. no drop at all. Otherwise no retry is
        # needed: the server closes an idle connection (75 s) with a FIN, which
        # aiohttp sees before it reuses the connection.
        s._retry_connection = False
        return s

    async def http(self, session, method, path, kind, expect=(200,), **kw):
        """One API call; returns (status, json body or None). Counts what is unexpected."""
        try:
            async with session.request(method, self.url + path, **kw) as r:
                status = r.status
                raw = await r.read()
        except asyncio.TimeoutError:
            self.st.error(f"{kind}_timeout", path)
            return None, None
        except aiohttp.ClientError as e:
            self.st.error(f"{kind}_connection", f"{path}: {e!r}")
            return None, None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if status < 500 and status not in expect:  # 5xx is counted by the trace
            self.st.error(f"{kind}_http_{status}", f"{path}: {raw[:200]!r}")
        return status, body

    # ---------------------------------------------------------------- accounts

    async def register_all(self, n):
        sem = asyncio.Semaphore(8)
        accounts = []
        async with self.new_session() as s:

            async def one(i):
                async with sem:
                    name = f"soak{i}_" + "".join(random.choice(kit.ALNUM) for _ in range(6))
                    pw = "pw-" + "".join(random.choice(kit.ALNUM) for _ in range(12))
                    status, body = await self.http(
                        s, "POST", "/api/register", "register", expect=(201,),
                        json={"username": name, "password": pw},
                    )
                    if status != 201:
                        raise RuntimeError(f"register {name}: {status} {body} (is REGISTER_LIMIT lifted?)")
                    s.cookie_jar.clear()
                    return name, pw

            accounts = await asyncio.gather(*(one(i) for i in range(n)))
        return accounts

    # -------------------------------------------------------------- one visit

    async def visit(self, u, session):
        st, rng, T = self.st, u["rng"], self.timeout
        status, body = await self.http(
            session, "POST", "/api/login", "login",
            json={"username": u["name"], "password": u["pw"]},
        )
        if status != 200 or not (body or {}).get("success"):
            return False
        st.c["logins"] += 1

        sio = SoakClient(
            reconnection=False, http_session=session, request_timeout=T,
            handle_sigint=False, logger=False, engineio_logger=False,
        )
        state = {"leaving": False, "gone": asyncio.Event(), "open": False}

        def forget():
            if state["open"]:
                state["open"] = False
                st.open_sockets -= 1

        def on_disconnect(*reason):
            forget()
            state["gone"].set()
            if not state["leaving"]:
                st.error("unexpected_disconnect", f"{u['name']} ({u['mode']}) t={self.elapsed():.1f}s "
                         f"reason={reason[0] if reason else '?'} sid={sio.get_sid()} eio_sid={sio.eio.sid}")

        def on_new_message(_data):
            st.c["broadcasts_received"] += 1

        def on_error(data):
            st.error("error_event", repr(data))

        sio.on("disconnect", on_disconnect)
        sio.on("new_message", on_new_message)
        sio.on("error", on_error)
        try:
            await asyncio.wait_for(
                sio.connect(self.url, transports=[u["mode"]], wait_timeout=T), T + 5)
        except (socketio.exceptions.ConnectionError, asyncio.TimeoutError) as e:
            st.error("connect_failed", f"{u['name']} ({u['mode']}): {e!r}")
            state["leaving"] = True
            try:
                await asyncio.wait_for(sio.disconnect(), T)
            except Exception:  # noqa: BLE001
                pass
            return False
        st.c["connects"] += 1
        st.c[f"connects_{u['mode']}"] += 1
        st.open_sockets += 1
        state["open"] = True
        try:
            await self.connected_visit(u, session, sio, state, forget)
        finally:
            forget()  # also when the visit failed: closing its session then drops the socket
        return True

    async def connected_visit(self, u, session, sio, state, forget):
        st, rng, T = self.st, u["rng"], self.timeout
        acked_here = []

        async def send(content, mtype="text"):
            await self.breathe()
            await u["flood"].take()
            if self.left() <= 0:
                return
            if not await self.rate.take():
                st.c["skipped_rate"] += 1
                return
            st.c["sent"] += 1
            try:
                ack = await sio.call("send_message", {"content": content, "message_type": mtype}, timeout=T)
            except socketio.exceptions.TimeoutError:
                st.error("ack_timeout", f"{u['name']}: {content[:40]!r}")
                return
            except socketio.exceptions.SocketIOError as e:  # disconnected meanwhile
                st.error("send_failed", f"{u['name']}: {e!r}")
                return
            if not isinstance(ack, dict):
                st.error("ack_malformed", repr(ack)[:200])
                return
            if ack.get("success") is True:
                m = ack.get("message") or {}
                mid = m.get("id")
                if not isinstance(mid, int) or m.get("content") != content or m.get("message_type") != mtype \
                        or m.get("username") != u["name"]:
                    st.error("ack_malformed", repr(ack)[:200])
                    return
                st.c["acked"] += 1
                st.acked[mid] = content
                acked_here.append(mid)
                return
            err = str(ack.get("error", ""))
            if any(w in err.lower() for w in ("频繁", "flood", "too many", "too fast")):
                st.c["refused_flood"] += 1
            else:
                st.error("refused_other", f"{content[:40]!r}: {err}")

        # a few messages
        for k in range(rng.randint(2, 4)):
            if self.left() <= 0:
                break
            if rng.random() < 0.15:
                content = rng.choice(["😀", "👍", "🎉", "❤️"]) * rng.randint(1, 3)
                await send(content, "emoji")
            else:
                tail = "".join(rng.choice(kit.ALNUM + " 你好世界") for _ in range(rng.randint(0, 300)))
                await send(f"soak {u['name']} v{u['visits']} m{k} {rng.getrandbits(48):x} {tail}".strip())
            await asyncio.sleep(rng.uniform(0.1, 0.6))

        # an image
        if self.left() <= 0:
            pass
        elif u["uploads"].room():
            u["uploads"].note()
            form = aiohttp.FormData()
            form.add_field("file", kit.PNG_1x1, filename="soak.png", content_type="image/png")
            status, body = await self.http(session, "POST", "/api/upload", "upload", data=form)
            if status == 200 and isinstance(body, dict) and body.get("success") and \
                    str(body.get("url", "")).startswith("/uploads/"):
                st.c["uploads"] += 1
                await send(body["url"], "image")
            elif status == 200:
                st.error("upload_malformed", repr(body)[:200])
        else:
            st.c["uploads_skipped_pacing"] += 1

        # history: the newest page, the one before it, and what followed our first message
        await self.history(session, u, acked_here)

        # stay a while, receiving the others' messages
        hold = self.a.hold * rng.uniform(0.3, 1.7)
        await asyncio.sleep(max(0.0, min(hold, self.left())))

        # leave
        state["leaving"] = True
        drop = rng.random() < self.a.drop_share and u["lingering"].room()
        if drop:
            rst = rng.random() < 0.5
            n = abort_connections(session, rst)
            if n == 0:
                st.error("drop_found_no_connection", u["name"])
            st.c["drops"] += 1
            st.c["drops_rst" if rst else "drops_fin"] += 1
            u["lingering"].note()
            try:  # the client notices its own loss; the server is told nothing
                await asyncio.wait_for(state["gone"].wait(), T)
            except asyncio.TimeoutError:
                st.c["drop_client_slow_to_notice"] += 1
            forget()  # whatever the client thinks, the server was told nothing
        else:
            status, body = await self.http(session, "POST", "/api/logout", "logout")
            if status == 200:
                st.c["logouts"] += 1
                try:  # the server must close this session's socket
                    await asyncio.wait_for(state["gone"].wait(), T)
                except asyncio.TimeoutError:
                    st.error("logout_left_socket_open", f"{u['name']} ({u['mode']})")
                status, _ = await self.http(session, "GET", "/api/current_user", "after_logout", expect=(401,))
            if sio.connected:
                try:
                    await asyncio.wait_for(sio.disconnect(), T)
                except Exception:  # noqa: BLE001
                    pass
            forget()

    async def history(self, session, u, acked_here):
        st = self.st

        def page_ok(body, limit, pred):
            msgs = (body or {}).get("messages") if isinstance(body, dict) else None
            if not (isinstance(body, dict) and body.get("success") is True and isinstance(msgs, list)):
                return None
            ids = [m.get("id") for m in msgs if isinstance(m, dict)]
            if len(ids) != len(msgs) or len(ids) > limit or ids != sorted(ids) or not all(map(pred, ids)):
                return None
            return ids

        status, body = await self.http(session, "GET", "/api/messages?limit=20", "history")
        if status != 200:
            return
        st.c["history_pages"] += 1
        ids = page_ok(body, 20, lambda i: True)
        if ids is None:
            st.error("history_malformed", "limit=20")
            return
        if ids:
            before = ids[0]
            status, body = await self.http(session, "GET", f"/api/messages?limit=20&before_id={before}", "history")
            if status == 200:
                st.c["history_pages"] += 1
                if page_ok(body, 20, lambda i: i < before) is None:
                    st.error("history_malformed", f"before_id={before}")
        if acked_here:
            after = min(acked_here) - 1
            status, body = await self.http(session, "GET", f"/api/messages?limit=200&after_id={after}", "history")
            if status == 200:
                st.c["history_pages"] += 1
                got = page_ok(body, 200, lambda i: i > after)
                if got is None:
                    st.error("history_malformed", f"after_id={after}")
                elif len(got) < 200:
                    missing = set(acked_here) - set(got)
                    if missing:
                        st.error("history_missing_acked", f"after_id={after}: {sorted(missing)}")

    # --------------------------------------------------------------- the user

    def left(self):
        """Seconds until the end of the churn."""
        return self.deadline - time.monotonic()

    async def breathe(self):
        """Waits while this process is overloaded (see LoopLag); before every
        visit and every message, the things that make broadcasts."""
        t = time.monotonic()
        while self.lag.lag > self.a.max_lag and self.left() > 0:
            await asyncio.sleep(0.2 + random.random() * 0.3)
        waited = time.monotonic() - t
        if waited > 0.01:
            self.st.c["throttled_ms"] += int(waited * 1000)

    async def user(self, u):
        await asyncio.sleep(u["rng"].uniform(0, self.a.ramp))
        while self.left() > 0:
            await self.breathe()
            if self.left() <= 0:
                break
            u["visits"] += 1
            self.st.c["visits"] += 1
            session = self.new_session()
            try:
                ok = await self.visit(u, session)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 — a bug of this program or an odd answer
                self.st.error("client_exception", f"{type(e).__name__}: {e}")
                ok = False
            finally:
                await session.close()
            await asyncio.sleep(u["rng"].uniform(0.3, 1.5) if ok else 2.0)


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
              "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def fd_kinds(pid):
    """What a process's descriptors are: files by path, TCP sockets by state."""
    tcp = {}
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                for line in list(f)[1:]:
                    parts = line.split()
                    tcp[parts[9]] = TCP_STATES.get(parts[3], parts[3])
        except OSError:
            pass
    kinds = Counter()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return {}
    for fd in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            kinds["tcp " + tcp.get(target[8:-1], "other socket")] += 1
        elif target.startswith("/"):
            kinds["file " + os.path.basename(target)] += 1
        else:
            kinds[target.split("[")[0].rstrip(":")] += 1
    return dict(sorted(kinds.items()))


def is_db_file(kind, db):
    """A descriptor of the SQLite database (its file, -wal, -shm, -journal)."""
    if not kind.startswith("file "):
        return False
    name = kind[5:]
    base = os.path.basename(str(db)) if db else None
    if base and (name == base or name.startswith(base + "-")):
        return True
    return name.endswith((".db", ".db-wal", ".db-shm", ".db-journal", ".sqlite", ".sqlite3"))


def split_fds(kinds, db):
    """(descriptors of the database pool, all the others)."""
    pool = sum(n for k, n in kinds.items() if is_db_file(k, db))
    return pool, sum(kinds.values()) - pool


def stats_of(pid):
    try:
        return kit.proc_stats(pid)
    except (OSError, ValueError):
        return None


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def record_library_warnings():
    """What python-socketio / python-engineio complain about, counted by kind."""
    lib_warnings = Counter()

    class Recorder(logging.Handler):
        def emit(self, record):
            text = record.getMessage()
            lib_warnings[f"{record.name}: " + text.split(" http")[0][:70]] += 1

    for name in ("engineio.client", "socketio.client"):
        lg = logging.getLogger(name)
        lg.setLevel(logging.WARNING)  # not NOTSET: the library then adds no handler of its own
        lg.propagate = False
        lg.handlers[:] = [Recorder()]
    return lib_warnings


def make_users(accounts, seed, indices):
    """The virtual users of `indices`: the same ones whichever process runs them."""
    users = []
    for i in indices:
        name, pw = accounts[i]
        users.append({
            "name": name, "pw": pw, "rng": random.Random(seed * 100003 + i),
            "mode": "polling" if i % 2 == 0 else "websocket", "visits": 0,
            "flood": Window(FLOOD_CAP, FLOOD_WINDOW), "uploads": Window(UPLOAD_CAP, UPLOAD_WINDOW),
            "lingering": Window(LINGER_CAP, LINGER_WINDOW),
        })
    return users


async def churn(soak, users, grace):
    """Every user's visits until the deadline; (users still busy after the grace)."""
    lag_task = asyncio.create_task(soak.lag.run())
    tasks = [asyncio.create_task(soak.user(u)) for u in users]
    _done, pending = await asyncio.wait(tasks, timeout=max(0.0, soak.deadline - time.monotonic()) + grace)
    for t in pending:
        t.cancel()
    if pending:
        soak.st.error("user_cancelled_at_grace", f"{len(pending)} users still busy {grace:g} s after the end")
        await asyncio.wait(pending, timeout=10)
    lag_task.cancel()


def worker_main(args, url, accounts, indices, t0, deadline, live, results):
    """One of --workers processes: its share of the users on an event loop of
    its own (one Python process saturates one core at about 500 sockets).
    `live` carries its open sockets, connects, acks and errors to the parent's
    samples; the totals go back through `results` at the end."""
    for name in ("aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    random.seed(args.seed * 7919 + indices[0])

    async def run():
        lib_warnings = record_library_warnings()
        soak = Soak(args, url)
        soak.t0, soak.deadline = t0, deadline
        st = soak.st

        async def publish():
            while True:
                live[:] = [st.open_sockets, st.c["connects"], st.c["acked"], st.counted_errors()]
                await asyncio.sleep(0.5)

        pub = asyncio.create_task(publish())
        await churn(soak, make_users(accounts, args.seed, indices), args.grace)
        pub.cancel()
        live[:] = [st.open_sockets, st.c["connects"], st.c["acked"], st.counted_errors()]
        return {
            "c": dict(st.c), "errors": dict(st.errors), "error_samples": st.error_samples,
            "acked": st.acked, "http_5xx": st.http_5xx, "notes": st.notes,
            "lib_warnings": dict(lib_warnings), "ping_gaps": dict(PING_GAPS),
            "lag_worst": soak.lag.worst, "bad_payloads": BAD_PAYLOADS[:5],
        }

    results.put(asyncio.run(run()))


async def churn_in_workers(soak, accounts, lib_warnings, live_of):
    """The churn over --workers processes, their totals merged into `soak`."""
    a, st = soak.a, soak.st
    ctx = multiprocessing.get_context("spawn")  # no copy of this process's event loop
    share = argparse.Namespace(**vars(a))
    share.rate = a.rate / a.workers  # the cap is over all users
    results = ctx.Queue()
    procs, lives = [], []
    for w in range(min(a.workers, len(accounts))):  # no worker without users
        live = ctx.Array("q", 4)
        indices = list(range(w, len(accounts), a.workers))
        proc = ctx.Process(target=worker_main, daemon=True,
                           args=(share, soak.url, accounts, indices, soak.t0, soak.deadline, live, results))
        proc.start()
        procs.append(proc)
        lives.append(live)
    live_of.extend(lives)
    merged = []
    limit = soak.deadline + a.grace + 60
    while len(merged) < len(procs) and time.monotonic() < limit:
        try:
            merged.append(await asyncio.to_thread(results.get, True, 1.0))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and results.empty():
                break
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
    if len(merged) < len(procs):
        st.error("worker_lost", f"{len(procs) - len(merged)} of {len(procs)} worker processes gave no result")
    for r in merged:
        st.c.update(r["c"])
        st.errors.update(r["errors"])
        st.error_samples.extend(r["error_samples"][: max(0, st.max_error_samples - len(st.error_samples))])
        st.acked.update(r["acked"])
        st.http_5xx.extend(r["http_5xx"])
        st.notes.extend(r["notes"][: max(0, st.max_error_samples - len(st.notes))])
        lib_warnings.update(r["lib_warnings"])
        PING_GAPS["max"] = max(PING_GAPS["max"], r["ping_gaps"]["max"])
        PING_GAPS["over_30s"] += r["ping_gaps"]["over_30s"]
        soak.lag.worst = max(soak.lag.worst, r["lag_worst"])
        BAD_PAYLOADS.extend(r["bad_payloads"])
    live_of.clear()
    st.open_sockets = sum(live[0] for live in lives)


async def sockets_connected(url):
    """The server's chat_sockets_connected, or None when /metrics has none."""
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{url}/metrics", timeout=aiohttp.ClientTimeout(total=5)) as r:
                text = await r.text()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None
    for line in text.splitlines():
        if line.startswith("chat_sockets_connected "):
            return float(line.split()[1])
    return None


async def wait_for_no_socket(url, limit):
    """Seconds until the server holds no socket (at most `limit`), and the
    sockets it still held then (None when it does not say)."""
    t0 = time.monotonic()
    while True:
        n = await sockets_connected(url)
        if n is None or n <= 0 or time.monotonic() - t0 >= limit:
            return time.monotonic() - t0, n
        await asyncio.sleep(1)


async def main_async(args):
    server = None
    pid, db = args.pid, args.db
    if args.url:
        url = args.url.rstrip("/")
    else:
        env = {"REGISTER_LIMIT": "0"}  # all accounts come from 127.0.0.1 up front
        server = kit.Server(env=env)
        server.start()
        url, pid, db = server.url, server.pid, server.database_url
        log(f"soak: server pid {pid} on {url}, data in {server.data}")

    soak = Soak(args, url)
    st = soak.st
    lib_warnings = record_library_warnings()
    samples = []
    live_of = []  # with --workers: each worker's (sockets, connects, acked, errors)
    t_start = time.monotonic()

    cpu_prev = {}

    def cpu_pct(key, secs):
        """CPU % (of one core) since the previous sample."""
        now = time.monotonic()
        prev = cpu_prev.get(key)
        cpu_prev[key] = (now, secs)
        if secs is None or prev is None or prev[1] is None or now - prev[0] < 0.5:
            return "-"
        return round(100 * (secs - prev[1]) / (now - prev[0]))

    def sample(tag):
        s = stats_of(pid) if pid else None
        t = time.monotonic() - (soak.t0 if soak.deadline else t_start)
        own = os.times()
        if live_of:  # the workers' figures so far
            sockets, connects, acked, errors = (sum(live[k] for live in live_of) for k in range(4))
        else:
            sockets, connects, acked, errors = st.open_sockets, st.c["connects"], st.c["acked"], st.counted_errors()
        row = {"t": round(t, 1), "phase": tag, **(s or {}), "sockets": sockets,
               "connects": connects, "acked": acked, "errors": errors,
               "server_cpu_pct": cpu_pct("server", cpu_seconds(pid) if pid else None),
               "client_cpu_pct": cpu_pct("client", own.user + own.system)}
        samples.append(row)
        log("sample t={t:>7.1f}s {phase:<7} rss={rss} kB fds={fds} threads={thr} cpu={scpu}% | client "
            "sockets={sk} connects={cn} acked={ak} errors={er} cpu={ccpu}% lag={lag}ms".format(
                t=row["t"], phase=tag, rss=row.get("rss_kb", "-"), fds=row.get("fds", "-"),
                thr=row.get("threads", "-"), scpu=row["server_cpu_pct"], sk=row["sockets"], cn=row["connects"],
                ak=row["acked"], er=row["errors"], ccpu=row["client_cpu_pct"], lag=round(soak.lag.lag * 1000)))
        return row

    try:
        log(f"soak: registering {args.users} accounts")
        accounts = await soak.register_all(args.users)
        await asyncio.sleep(2)  # the registration connections close
        before = sample("before")
        fds_kinds_before = fd_kinds(pid) if pid else {}
        if pid:
            log(f"soak: descriptors before: {fds_kinds_before}")

        run_s = args.minutes * 60
        soak.t0 = time.monotonic()
        soak.deadline = soak.t0 + run_s
        log(f"soak: {args.users} users ({(args.users + 1) // 2} polling, {args.users // 2} websocket) "
            f"for {args.minutes:g} min; a sample every {args.interval:g} s"
            + (f"; {min(args.workers, args.users)} client processes" if args.workers > 1 else ""))

        async def sampler():
            k = 1
            while True:
                await asyncio.sleep(max(0.0, soak.t0 + k * args.interval - time.monotonic()))
                sample("churn" if time.monotonic() < soak.deadline else "leaving")
                k += 1

        sampler_task = asyncio.create_task(sampler())
        if args.workers > 1:
            await churn_in_workers(soak, accounts, lib_warnings, live_of)
        else:
            await churn(soak, make_users(accounts, args.seed, range(len(accounts))), args.grace)
        churn_s = time.monotonic() - soak.t0
        sampler_task.cancel()
        end = sample("end")

        # descriptors must come back once everyone has left
        # (the database pool's descriptors are left out: r2d2 opens up to
        # --db-pool-size connections under load and keeps them 10 minutes)
        pool_before, other_before = split_fds(fds_kinds_before, db)
        other_after, fd_wait = None, 0.0
        if pid and fds_kinds_before:
            t_left = time.monotonic()
            next_print = t_left + args.interval
            while True:
                kinds = fd_kinds(pid)
                if not kinds:
                    break
                other_after = split_fds(kinds, db)[1]
                if other_after <= other_before + args.fd_margin or time.monotonic() - t_left >= args.fd_wait:
                    break
                if time.monotonic() >= next_print:
                    sample("settle")
                    next_print += args.interval
                await asyncio.sleep(1)
            fd_wait = time.monotonic() - t_left
        # Sockets whose network was dropped stay in the server until their
        # ping timeout (pingInterval + pingTimeout, 45 s), with what was
        # queued for them: "after" is once the server holds none.
        empty_s, sockets_left = await wait_for_no_socket(url, args.empty_wait)
        await asyncio.sleep(args.settle)
        after = sample("after")
        fds_kinds_after = fd_kinds(pid) if pid else {}
        if pid:
            log(f"soak: descriptors after: {fds_kinds_after}")
    except BaseException:
        if server:
            server.stop()
            log(f"soak: aborted; server log in {server.log_path}:\n{server.log_tail()}")
        raise

    # ------------------------------------------------------------- verdict
    reasons = []
    server_alive = server.alive() if server else True
    if not server_alive:
        reasons.append("the server died")

    churn_rows = [r for r in samples if r["phase"] in ("churn", "leaving", "end") and "rss_kb" in r]
    # the baseline: the first third of the run once warmed up
    third = args.warmup + max(0.0, run_s - args.warmup) / 3
    base_rows = [r for r in churn_rows if args.warmup <= r["t"] <= third]
    base_desc = f"max of {len(base_rows)} samples in [{args.warmup:g} s, {third:.0f} s]"
    if not base_rows:  # a very short run: the first sample after the warm-up
        base_rows = [r for r in churn_rows if r["t"] >= args.warmup][:1] or churn_rows[:1]
        base_desc = (f"run too short for a warm-up of {args.warmup:g} s: the sample at "
                     f"{base_rows[0]['t']:g} s" if base_rows else "no sample")
    rss_start = max(r["rss_kb"] for r in base_rows) if base_rows else None
    rss_end = end.get("rss_kb")
    rss_after = after.get("rss_kb")
    growth = round(100.0 * (rss_after - rss_start) / rss_start, 1) if rss_start and rss_after else None
    if growth is not None and growth > args.rss_growth_pct:
        reasons.append(f"RSS grew {growth}% (> {args.rss_growth_pct:g}%) from {rss_start} kB to {rss_after} kB "
                       f"{args.settle:g} s after the server held no socket ({rss_end} kB as they left)")

    if sockets_left:  # None when /metrics does not say
        reasons.append(f"{sockets_left:g} sockets still open {empty_s:.0f} s after the last user left "
                       f"(--empty-wait {args.empty_wait:g}; a ping timeout is 45 s)")

    fds_before = before.get("fds")
    fds_after = after.get("fds")
    fds_peak = max((r["fds"] for r in samples if "fds" in r), default=None)
    pool_after = split_fds(fds_kinds_after, db)[0]
    if other_after is not None and other_after > other_before + args.fd_margin:
        reasons.append(f"descriptors did not come back: {other_after} besides the database pool's "
                       f"{fd_wait:.0f} s after the end, {other_before} before (margin {args.fd_margin})")

    missing, wrong = [], []
    if db:
        stored = kit.stored_contents(db)
        for mid, content in st.acked.items():
            if mid not in stored:
                missing.append(mid)
            elif stored[mid] != content:
                wrong.append(mid)
        if missing or wrong:
            reasons.append(f"{len(missing)} acked messages missing from the database, {len(wrong)} with another content")

    panics = 0
    if server:
        text = server.log_text()
        panics = text.count("panicked at")
        if panics:
            reasons.append(f"{panics} panics in the server log")

    if BAD_PAYLOADS:
        dump_dir = Path(server.data if server else "/tmp")
        for i, (raw, err) in enumerate(BAD_PAYLOADS):
            st.error("eio_undecodable_payload", f"{len(raw)} bytes, {err}")
            if i < 5:
                (dump_dir / f"bad_payload_{i}.bin").write_bytes(raw)
        raw, err = BAD_PAYLOADS[0]
        log(f"soak: {len(BAD_PAYLOADS)} polling answers could not be decoded, first: {len(raw)} bytes, {err}; "
            f"head {raw[:120]!r} tail {raw[-120:]!r}; saved as {dump_dir}/bad_payload_*.bin")

    if st.errors["http_5xx"]:
        reasons.append(f"{st.errors['http_5xx']} HTTP 5xx answers")
    if st.errors["refused_other"]:
        reasons.append(f"{st.errors['refused_other']} sends refused with another error than the flood limit")
    other = st.counted_errors() - st.errors["http_5xx"] - st.errors["refused_other"]
    if other > args.max_errors:
        reasons.append(f"{other} client errors (> {args.max_errors}): " +
                       ", ".join(f"{k}={v}" for k, v in sorted(st.errors.items())))

    server_exit = server.stop() if server else None
    if server and server_exit not in (0, None):
        reasons.append(f"the server exited with {server_exit} on SIGTERM")

    thr = [r["threads"] for r in samples if "threads" in r]
    # sockets this client held open while churning, once warmed up
    held = [r["sockets"] for r in samples if r["phase"] == "churn" and r["t"] >= args.warmup]
    summary = {
        "minutes": args.minutes, "users": args.users, "samples": len(samples),
        "run_s": round(churn_s, 1),
        "rss_start_kb": rss_start, "rss_baseline": base_desc,
        "rss_end_kb": rss_end, "rss_peak_kb": max((r["rss_kb"] for r in samples if "rss_kb" in r), default=None),
        "rss_after_kb": rss_after, "empty_s": round(empty_s, 1), "sockets_left": sockets_left, "settle_s": args.settle, "growth_pct": growth,
        "sockets_open": {"mean": round(sum(held) / len(held)) if held else None, "peak": max(held, default=None)},
        "fds_before": fds_before, "fds_peak": fds_peak, "fds_after": fds_after, "fd_settle_s": round(fd_wait, 1),
        "fds_db_pool": {"before": pool_before, "after": pool_after},
        "fds_besides_db_pool": {"before": other_before, "after": other_after},
        "threads": {"before": before.get("threads"), "peak": max(thr, default=None), "after": after.get("threads")},
        "visits": st.c["visits"], "logins": st.c["logins"],
        "connects": st.c["connects"], "connects_polling": st.c["connects_polling"],
        "connects_websocket": st.c["connects_websocket"],
        "sent": st.c["sent"], "acked": st.c["acked"], "missing": len(missing), "wrong_content": len(wrong),
        "refused_flood": st.c["refused_flood"], "uploads": st.c["uploads"],
        "logouts": st.c["logouts"], "drops": st.c["drops"], "drops_rst": st.c["drops_rst"],
        "history_pages": st.c["history_pages"], "broadcasts_received": st.c["broadcasts_received"],
        "client": {"rate_per_s": round(args.rate, 2), "hold_s": round(args.hold, 1), "ramp_s": round(args.ramp, 1),
                   "warmup_s": round(args.warmup, 1), "skipped_rate": st.c["skipped_rate"],
                   "throttled_s": round(st.c["throttled_ms"] / 1000, 1),
                   "loop_lag_worst_ms": round(soak.lag.worst * 1000)},
        "http_5xx": st.errors["http_5xx"], "errors": st.counted_errors(), "error_kinds": dict(st.errors),
        "notes": {k: st.c[k] for k in ("eio_http_4xx", "drop_client_slow_to_notice", "uploads_skipped_pacing") if st.c[k]},
        "client_lib_warnings": dict(lib_warnings),
        "server_ping_gap_max_s": round(PING_GAPS["max"], 1), "server_pings_over_30s": PING_GAPS["over_30s"],
        "panics": panics, "server_exit": server_exit,
    }
    if st.error_samples:
        log("soak: first errors:\n  " + "\n  ".join(st.error_samples))
    if st.notes:
        log("soak: first notes (not errors):\n  " + "\n  ".join(st.notes))
    if server and reasons:
        log(f"soak: server log kept in {server.log_path}")
    log("SOAK_SUMMARY " + json.dumps(summary, ensure_ascii=False))
    if reasons:
        log("soak: FAILED (" + "; ".join(reasons) + ")")
        return 1
    log("soak: ok")
    if server and not args.keep:
        shutil.rmtree(server.data, ignore_errors=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=2.0, help="length of the churn (default 2; the bench runs 30)")
    p.add_argument("--users", type=int, default=40, help="concurrent virtual users, half polling, half websocket (default 40)")
    p.add_argument("--interval", type=float, default=15.0, help="seconds between samples (default 15)")
    p.add_argument("--warmup", type=float, default=None,
                   help="samples before this many seconds are not in the RSS baseline (default: the ramp + 45 s, "
                        "when the dropped polling sockets that the server keeps until their ping timeout reach "
                        "their steady number; at least 15)")
    p.add_argument("--empty-wait", type=float, default=120.0,
                   help="seconds to wait, after the last user left, for the server to hold no socket "
                        "(dropped ones go at their ping timeout, 45 s; default 120)")
    p.add_argument("--settle", type=float, default=35.0,
                   help="seconds after that at which RSS is judged (default 35: the server hands "
                        "freed memory back at most 30 s after sockets go)")
    p.add_argument("--rss-growth-pct", type=float, default=10.0, help="allowed RSS growth from the baseline to the end (default 10)")
    p.add_argument("--fd-margin", type=int, default=5, help="descriptors allowed above the pre-run count after everyone left (default 5)")
    p.add_argument("--fd-wait", type=float, default=60.0, help="seconds the descriptors have to come back (default 60)")
    p.add_argument("--max-errors", type=int, default=0, help="client errors tolerated besides 5xx and refusals (default 0)")
    p.add_argument("--rate", type=float, default=None,
                   help="messages per second over all users at most (default min(30, 1500/users): every socket "
                        "receives every message; 0: no cap)")
    p.add_argument("--hold", type=float, default=None,
                   help="mean seconds a visit stays connected after its messages (default max(1.5, users/27), "
                        "so that about users x hold/(hold+4) sockets are open at once: ~900 with 1000 users)")
    p.add_argument("--max-lag", type=float, default=0.25,
                   help="users hold back while this process's event loop runs later than this many s (default 0.25)")
    p.add_argument("--drop-share", type=float, default=0.5, help="share of visits that end with a drop instead of a logout (default 0.5)")
    p.add_argument("--ramp", type=float, default=None, help="users start spread over this many seconds (default min(run/6, max(10, users/10)))")
    p.add_argument("--grace", type=float, default=60.0, help="seconds after the end before busy users are cancelled (default 60)")
    p.add_argument("--timeout", type=float, default=20.0, help="timeout of every request, connect and ack (default 20)")
    p.add_argument("--workers", type=int, default=1,
                   help="client processes the users are spread over (default 1; one saturates a core at ~500 sockets)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the server's data folder after a run that passed (kept after a failure)")
    p.add_argument("--url", help="soak a server already running (started with REGISTER_LIMIT=0) instead of starting one")
    p.add_argument("--pid", type=int, help="with --url: its process id, for RSS, descriptors and threads")
    p.add_argument("--db", help="with --url: its SQLite file, to look up every acked message")
    args = p.parse_args()
    if args.ramp is None:
        args.ramp = min(args.minutes * 60 / 6, max(10.0, args.users / 10))
    if args.rate is None:
        args.rate = min(30.0, 1500.0 / max(1, args.users))
    if args.hold is None:
        args.hold = max(1.5, args.users / 27)
    if args.warmup is None:
        args.warmup = max(15.0, args.ramp + PING_INTERVAL_S + PING_TIMEOUT_S)
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        p.error("--url must be a server on this machine (127.0.0.1)")

    # room for ~3 connections per user, in this process and in the server it starts
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.users + 1024))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    for name in ("aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    random.seed(args.seed)
    t = time.monotonic()
    rc = asyncio.run(main_async(args))
    log(f"soak: took {time.monotonic() - t:.0f} s")
    sys.exit(rc)


if __name__ == "__main__":
    main()
