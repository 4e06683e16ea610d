"""Injected faults against the real chat-server binary.

Each test first checks that its fault really took effect (and fails, never
skips, when it did not), then what the server answers while it lasts, then
that it recovers WITHOUT a restart, and that no message whose ack said
success was lost. Every fault is undone in a finally (mounts, immutable
files, stopped PostgreSQL or Redis), even when the test fails.

Needs root (mount, chattr), PostgreSQL's initdb/pg_ctl under
/usr/lib/postgresql/*/bin and redis-server. Run:

    .venv/bin/python -m pytest tests/reliability/test_faults.py

CHAT_SERVER_BIN names the binary (default target/debug/chat-server).
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import kit
from faults_lib import (
    Checks,
    PgInstance,
    RedisInstance,
    Traffic,
    ack_refused,
    chattr,
    close_all,
    connected_clients,
    fill,
    free_bytes,
    fs_size,
    is_immutable,
    log_offset,
    log_since,
    lost,
    poll,
    port_open,
    send,
    send_all,
    stored_via_http,
    tmpfs,
    undo_immutable,
    wait_health,
)

# The contract's bounds.
HEALTH_WITHIN = 10.0  # /healthz turns 503 (and back to 200) within this
PG_ANSWER_WITHIN = 6.0  # a send while PostgreSQL is down is answered within this
SIGTERM_GRACE = 12.0  # the server's 10 s grace, and room for a debug binary
CROSS_NODE_WITHIN = 30.0  # after Redis is back, messages cross nodes again within this
LOCAL_ANSWER_WITHIN = 6.0  # with Redis down, a node answers its own sockets' sends within this


# ----------------------------------------------------------------- fixtures ----


class Stage:
    """One test's world: a temp folder, its servers, sockets and the undo of
    every fault, run in reverse order whatever happens."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="chat-faults."))
        self.servers = []
        self.clients = []
        self.undos = []

    def server(self, name="data", **kw):
        s = kit.Server(data_dir=kw.pop("data_dir", self.dir / name), **kw)
        self.servers.append(s)
        return s

    def undo(self, fn):
        self.undos.append(fn)

    def mount_tmpfs(self, path, size):
        cm = tmpfs(path, size)
        cm.__enter__()
        self.undo(lambda: cm.__exit__(None, None, None))
        return Path(path)

    def close(self):
        close_all(self.clients)
        for s in self.servers:
            if s.proc is not None:
                s.stop(signal.SIGKILL, timeout=10)
        errors = []
        for fn in reversed(self.undos):
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
        if os.environ.get("KEEP_FAULT_DATA"):
            print(f"fault data kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise RuntimeError(f"undoing a fault failed: {errors}")


@pytest.fixture
def stage():
    s = Stage()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def pg():
    """A private PostgreSQL for the module (tests 6 and 7), never the machine's."""
    inst = PgInstance()
    try:
        inst.start()
        yield inst
    finally:
        inst.destroy()


def ensure_pg_running(pg):
    if not pg.running() or not port_open(pg.port):
        pg.start()


def refused_not_stored(sends, stored):
    """Refused sends whose content was stored anyway (a refusal stores nothing)."""
    contents = set(stored.values())
    return [s for s in sends if not s.ok and s.content in contents]


def png(size):
    """A valid PNG followed by random padding, `size` bytes in all."""
    return kit.PNG_1x1 + os.urandom(size - len(kit.PNG_1x1))


def upload(account, data):
    try:
        return account.http.post(
            f"{account.url}/api/upload", files={"file": ("photo.png", data, "image/png")}, timeout=60
        )
    except Exception as e:  # noqa: BLE001
        return e


def json_of(r):
    try:
        return r.json()
    except Exception:  # noqa: BLE001
        return None


# ------------------------------------------------- 1, 2: killed mid-traffic ----


def _traffic_then(stage, sig):
    """Sixteen sockets send with acks, each without waiting for the last ack
    (about 300 a second, many in flight); `sig` arrives once 100 are acked.
    Returns (server, accounts, traffic, signalled_at, exit seconds)."""
    srv = stage.server().start()
    accounts, clients = connected_clients(srv, 16)
    stage.clients += clients
    traffic = Traffic(clients, f"t{int(sig)}", per_client=19, interval=0.05).start()
    acked = traffic.wait_acked(100, timeout=30)
    assert acked >= 100, f"traffic did not flow: {acked} acked before the signal\n{srv.log_tail()}"
    signalled_at = time.monotonic()
    srv.proc.send_signal(sig)
    try:
        srv.proc.wait(SIGTERM_GRACE + 3)
    except subprocess.TimeoutExpired:
        pass
    exit_seconds = time.monotonic() - signalled_at
    time.sleep(0.3)  # the clients go on sending into the fault
    traffic.stop(wait=10)
    time.sleep(0.5)  # acks already on their way
    return srv, accounts, traffic, signalled_at, exit_seconds


def _check_mid_traffic(traffic, signalled_at):
    sent = traffic.snapshot()
    acked = [s for s in sent if s.ok]
    last_ack = max(s.answered_at for s in acked)
    # The fault hit a busy server: acks were flowing right up to it, and sends
    # were still being made when it came.
    assert signalled_at - last_ack < 0.5 or last_ack > signalled_at, (
        f"no ack in the 0.5 s before the signal: the traffic had stopped ({signalled_at - last_ack:.2f} s)"
    )
    busy = [s for s in sent if s.sent_at >= signalled_at or s.answered_at is None or s.answered_at > signalled_at]
    assert busy, "every send had been answered before the signal: the traffic had ended"
    return acked


def test_kill9_under_traffic_loses_no_acked_message(stage):
    checks = Checks()
    srv, accounts, traffic, killed_at, _ = _traffic_then(stage, signal.SIGKILL)
    # The fault: the process is gone, killed by SIGKILL.
    assert srv.proc.returncode == -signal.SIGKILL, f"the server was not killed by SIGKILL: {srv.proc.returncode}"
    acked = _check_mid_traffic(traffic, killed_at)
    in_flight = [s for s in traffic.snapshot() if s.ack is None and s.sent_at < killed_at]

    ids = [s.ack["message"]["id"] for s in acked]
    checks.check(len(ids) == len(set(ids)), "two acks carry the same message id")
    stored = kit.stored_contents(srv.data / "chat_app.db")
    missing = lost(acked, stored)
    checks.check(not missing, lambda: f"{len(missing)} of {len(acked)} acked messages are not in the database: {missing[:5]}")

    # Restart on the same data: the history over HTTP has every acked message.
    again = stage.server(data_dir=srv.data).start()
    for a in accounts:
        a.url = again.url
    via_http = stored_via_http(accounts[0])
    missing = lost(acked, via_http)
    checks.check(not missing, lambda: f"{len(missing)} acked messages missing from GET /api/messages after the restart: {missing[:5]}")
    client = accounts[1].socket()
    stage.clients.append(client)
    after = send(client, "after the restart " + kit.rand_name(""))
    checks.check(after.ok, f"a send after the restart failed: {after}")
    print(f"kill -9: {len(acked)} acked, {len(in_flight)} in flight at the kill, {len(stored)} rows stored")
    checks.verdict([srv, again])


def test_sigterm_mid_traffic_exits_0_and_keeps_acked(stage):
    checks = Checks()
    srv, accounts, traffic, signalled_at, seconds = _traffic_then(stage, signal.SIGTERM)
    # The fault: SIGTERM made it exit (not still running, not killed by us).
    assert srv.proc.poll() is not None, f"the server was still running {seconds:.1f} s after SIGTERM"
    checks.check(srv.proc.returncode == 0, f"exit code {srv.proc.returncode} after SIGTERM, want 0")
    checks.check(seconds <= SIGTERM_GRACE, f"exited {seconds:.1f} s after SIGTERM, want within {SIGTERM_GRACE} s")
    acked = _check_mid_traffic(traffic, signalled_at)
    stored = kit.stored_contents(srv.data / "chat_app.db")
    missing = lost(acked, stored)
    checks.check(not missing, lambda: f"{len(missing)} of {len(acked)} acked messages are not in the database: {missing[:5]}")
    print(f"SIGTERM: exit {srv.proc.returncode} after {seconds:.2f} s, {len(acked)} acked, {len(stored)} stored")
    checks.verdict([srv])


# ---------------------------------------------------- 3: upload disk full ----


def test_upload_folder_full_answers_507_and_keeps_no_partial_file(stage):
    checks = Checks()
    uploads = stage.mount_tmpfs(stage.dir / "data" / "uploads", "6m")
    # MIN_FREE_MB=0: the free-space guard (100 MB by default) would refuse
    # every upload on a 6 MB file system before writing; the fault under test
    # is the write that runs out of space.
    srv = stage.server(upload_dir=uploads, env={"MIN_FREE_MB": "0"}).start()
    account = kit.Account(srv.url)

    def upload_ok(data, what):
        r = upload(account, data)
        if not checks.check(not isinstance(r, Exception) and r.status_code == 200,
                            lambda: f"{what}: upload answered {getattr(r, 'status_code', r)} {getattr(r, 'text', '')[:200]}"):
            return None
        name = r.json()["filename"]
        got = account.http.get(f"{srv.url}/uploads/{name}", timeout=30)
        checks.check(got.status_code == 200 and got.content == data,
                      lambda: f"{what}: GET /uploads/{name} is {got.status_code}, {len(got.content)} bytes, not the {len(data)} sent")
        return name

    kept = set()
    name = upload_ok(png(300_000), "before the fault")
    kept.add(name)

    filler = fill(uploads, leave=256 * 1024)
    free = free_bytes(uploads)
    # The fault: the upload folder is a small tmpfs with less room than any upload below.
    assert fs_size(uploads) <= 8 * 1024 * 1024, f"{uploads} is not the small tmpfs ({fs_size(uploads)} bytes)"
    assert free < 1_000_000, f"the upload folder still has {free} bytes free"
    offset = log_offset(srv)

    def strays():
        return sorted(set(os.listdir(uploads)) - kept - {filler.name})

    for size in (1_000_000, 2_000_000, 4_000_000):
        data = png(size)
        r = upload(account, data)
        what = f"{size} byte upload on a full disk ({free} bytes free)"
        if isinstance(r, Exception):
            checks.check(False, f"{what}: no answer ({r!r})")
        elif r.status_code == 200:
            name = r.json().get("filename")
            got = account.http.get(f"{srv.url}/uploads/{name}", timeout=30)
            checks.check(got.content == data,
                         f"{what}: answered 200 but /uploads/{name} holds {len(got.content)} of {len(data)} bytes (truncated)")
            kept.add(name)
        else:
            body = json_of(r)
            checks.check(r.status_code == 507, f"{what}: answered {r.status_code}, want 507: {r.text[:200]}")
            checks.check(isinstance(body, dict) and body.get("success") is False
                         and isinstance(body.get("error"), str) and body["error"].strip(),
                         f"{what}: the answer is not {{\"success\": false, \"error\": str}}: {r.text[:200]}")
        left, _ = poll(lambda: not strays(), 2)
        checks.check(left, lambda: f"{what}: files left in the upload folder: {strays()}")
    checks.check(srv.alive(), "the server died on a full upload disk")
    log = log_since(srv, offset)
    checks.check(any(w in log for w in ("No space left on device", "os error 28", "ENOSPC", "disk full", "disk is full")),
                 "the server's log does not name the cause (no space left on device)")

    # Undo the fault: the next upload works, byte for byte, without a restart.
    os.remove(filler)
    name = upload_ok(png(4_000_000), "after freeing space")
    if name:
        kept.add(name)
    checks.check(not strays(), lambda: f"files left in the upload folder: {strays()}")
    checks.verdict([srv])


# ------------------------------------- 4, 5: the SQLite database fails writes ----


def _health_reason(checks, body, when):
    try:
        report = json.loads(body)
    except ValueError:
        report = None
    db = report.get("database") if isinstance(report, dict) else None
    checks.check(isinstance(db, str) and db.strip() and db != "ok",
                 f"{when}: /healthz does not say what is wrong with the database: {body[:300]}")


def _expect_refused(checks, sends, what, within=10.0):
    for s in sends:
        if s.ack is None:
            checks.check(False, f"{what}: no answer to a send ({s.error})")
        else:
            checks.check(ack_refused(s.ack) or s.ok, f"{what}: the answer is not a clear refusal: {s.ack}")
            checks.check(s.seconds <= within, f"{what}: answered after {s.seconds:.1f} s")


def _recover(checks, srv, clients, what):
    """After the fault is undone: 200 within 10 s, then sends accepted."""
    status, body, took = wait_health(srv.url, 200, HEALTH_WITHIN)
    checks.check(status == 200, f"{what}: /healthz still {status} {took:.1f} s after the fault was undone: {body[:300]}")
    sends = send_all([(c, f"recovered-{i}-{kit.rand_name('')}") for i, c in enumerate(clients)])
    checks.check(all(s.ok for s in sends), lambda: f"{what}: sends after recovery: {sends}")
    return sends


def test_database_disk_full_refuses_then_recovers(stage):
    checks = Checks()
    dbdir = stage.mount_tmpfs(stage.dir / "db", "16m")
    db = dbdir / "chat_app.db"
    srv = stage.server(database_url=str(db)).start()
    accounts, clients = connected_clients(srv, 6)
    stage.clients += clients
    before = send_all([(c, f"before-{i}-{kit.rand_name('')}") for i, c in enumerate(clients[:3])])
    assert all(s.ok for s in before), f"sends before the fault failed: {before}"

    filler = fill(dbdir, leave=0)
    # The fault: the database's file system has no byte left.
    assert free_bytes(dbdir) == 0, f"{dbdir} still has {free_bytes(dbdir)} bytes free"
    # Sends until the first refusal (SQLite may fit one in room its files
    # already hold); then every one while the disk stays full is refused.
    during = []
    big = "满" * 2000
    for i in range(20):
        s = send(clients[i % 3], f"full-{i}-{kit.rand_name('')}-{big}"[:2000], timeout=15)
        during.append(s)
        if not s.ok:
            break
    first_refusal = next((s for s in during if not s.ok), None)
    assert first_refusal is not None, f"20 sends were all stored on a full disk: the fault did not take effect"
    more = send_all([(c, f"still-full-{i}-{kit.rand_name('')}") for i, c in enumerate(clients[:3])], timeout=15)
    during += more
    _expect_refused(checks, during, "database disk full")
    checks.check(all(not s.ok for s in more), lambda: f"sends accepted while the disk is still full: {more}")
    status, body, took = wait_health(srv.url, 503, HEALTH_WITHIN)
    checks.check(status == 503, f"/healthz answered {status} for {took:.1f} s with the database disk full: {body[:300]}")
    if status == 503:
        _health_reason(checks, body, "database disk full")
    checks.check(srv.alive(), "the server died on a full database disk")

    os.remove(filler)
    after = _recover(checks, srv, clients[3:], "after freeing the database disk")
    stored = kit.stored_contents(db)
    acked = [s for s in before + during + after if s.ok]
    missing = lost(acked, stored)
    checks.check(not missing, lambda: f"acked messages not in the database: {missing[:5]}")
    wrongly = refused_not_stored(during, stored)
    checks.check(not wrongly, lambda: f"refused sends stored anyway: {wrongly[:5]}")
    print(f"database disk full: {sum(s.ok for s in during)} of {len(during)} sends stored during the fault, "
          f"/healthz {status} after {took:.1f} s; {len(acked)} acked, {len(stored)} stored")
    checks.verdict([srv])


def test_sqlite_immutable_refuses_then_recovers(stage):
    checks = Checks()
    srv = stage.server().start()
    db = srv.data / "chat_app.db"
    wal = Path(str(db) + "-wal")
    accounts, clients = connected_clients(srv, 6)
    stage.clients += clients
    before = send_all([(c, f"before-{i}-{kit.rand_name('')}") for i, c in enumerate(clients[:3])])
    assert all(s.ok for s in before), f"sends before the fault failed: {before}"
    assert wal.exists(), f"no {wal.name}: the database is not in WAL mode"

    # Never on -shm: SQLite maps it and would die of SIGBUS.
    stage.undo(lambda: undo_immutable(db, wal))
    try:
        chattr("+i", db, wal)
        # The fault: both files are immutable, even root cannot open them for writing.
        assert is_immutable(db) and is_immutable(wal), "chattr +i did not take"
        for p in (db, wal):
            try:
                fd = os.open(p, os.O_WRONLY)
            except PermissionError:
                pass
            else:
                os.close(fd)
                raise AssertionError(f"{p} still opens for writing after chattr +i")

        # An idle server notices too.
        status, body, took = wait_health(srv.url, 503, HEALTH_WITHIN)
        checks.check(status == 503, f"/healthz answered {status} for {took:.1f} s with the database unwritable (idle): {body[:300]}")
        if status == 503:
            _health_reason(checks, body, "database unwritable")
        during = send_all([(c, f"frozen-{i}-{kit.rand_name('')}") for i, c in enumerate(clients[:3])], timeout=15)
        _expect_refused(checks, during, "database unwritable")
        checks.check(all(not s.ok for s in during), lambda: f"sends accepted while the database is immutable: {during}")
        checks.check(srv.alive(), "the server died with an unwritable database")
    finally:
        undo_immutable(db, wal)
    assert not is_immutable(db) and not is_immutable(wal), "chattr -i did not take"

    after = _recover(checks, srv, clients[3:], "after chattr -i")
    stored = kit.stored_contents(db)
    acked = [s for s in before + during + after if s.ok]
    missing = lost(acked, stored)
    checks.check(not missing, lambda: f"acked messages not in the database: {missing[:5]}")
    wrongly = refused_not_stored(during, stored)
    checks.check(not wrongly, lambda: f"refused sends stored anyway: {wrongly[:5]}")
    print(f"database immutable: /healthz {status} after {took:.1f} s (idle); answers {during}")
    checks.verdict([srv])


# ------------------------------------------------ 6: PostgreSQL goes away ----


def test_postgres_stopped_and_started(stage, pg):
    checks = Checks()
    ensure_pg_running(pg)
    srv = stage.server(database_url=pg.url("postgres")).start()
    accounts, clients = connected_clients(srv, 6)
    stage.clients += clients
    before = send_all([(c, f"before-{i}-{kit.rand_name('')}") for i, c in enumerate(clients[:3])])
    assert all(s.ok for s in before), f"sends before the fault failed: {before}"

    offset = log_offset(srv)
    stage.undo(lambda: ensure_pg_running(pg))
    out = pg.stop("fast")
    # The fault: nothing listens on PostgreSQL's port any more.
    assert out.returncode == 0, f"pg_ctl stop failed: {out.stderr}"
    assert not port_open(pg.port), f"PostgreSQL still listens on {pg.port}"

    during = send_all([(c, f"pg-down-{i}-{kit.rand_name('')}") for i, c in enumerate(clients[:3])], timeout=15)
    during += [send(clients[i], f"pg-down-again-{i}-{kit.rand_name('')}", timeout=15) for i in range(2)]
    _expect_refused(checks, during, "PostgreSQL stopped", within=PG_ANSWER_WITHIN)
    checks.check(all(not s.ok for s in during), lambda: f"sends accepted while PostgreSQL is stopped: {during}")
    status, body, took = wait_health(srv.url, 503, HEALTH_WITHIN)
    checks.check(status == 503, f"/healthz answered {status} for {took:.1f} s with PostgreSQL stopped: {body[:300]}")
    if status == 503:
        _health_reason(checks, body, "PostgreSQL stopped")
    log = log_since(srv, offset)
    checks.check("Invalid connection url for multiconnection" not in log,
                 "the log says 'Invalid connection url for multiconnection' instead of what happened")
    checks.check("refused" in log.lower() and str(pg.port) in log and ("127.0.0.1" in log or "localhost" in log),
                 lambda: f"the log does not name the refused connection to 127.0.0.1:{pg.port}; it says:\n"
                         + "\n".join(log.splitlines()[-8:]))
    checks.check(srv.alive(), "the server died with PostgreSQL stopped")

    pg.start()
    started = time.monotonic()
    # Sends work again without restarting chat-server.
    first = None
    while time.monotonic() - started < 20:
        s = send(clients[3], f"pg-back-{kit.rand_name('')}", timeout=10)
        during.append(s)
        if s.ok:
            first = s
            break
        time.sleep(0.5)
    checks.check(first is not None, lambda: f"no send accepted within 20 s of PostgreSQL's restart: {during[-3:]}")
    after = _recover(checks, srv, clients[4:], "after PostgreSQL started again")
    stored = pg.contents("postgres")
    acked = [s for s in before + during + after if s.ok]
    missing = lost(acked, stored)
    checks.check(not missing, lambda: f"acked messages not in PostgreSQL: {missing[:5]}")
    wrongly = refused_not_stored(during, stored)
    checks.check(not wrongly, lambda: f"refused sends stored anyway: {wrongly[:5]}")
    print(f"PostgreSQL stopped: answers in {[round(s.seconds, 2) for s in during if s.seconds is not None]} s; "
          f"first send accepted {first.seconds if first else None} s after it started again")
    checks.verdict([srv])


# ------------------------------------------------------ 7: Redis goes away ----


def _live(stage, client, account):
    """The client if still connected, else a new socket for the same account."""
    if client.sio.connected:
        return client, False
    fresh = account.socket()
    stage.clients.append(fresh)
    return fresh, True


def _crosses(sender, receiver, tag, wait=8.0):
    """A send on one node whose new_message reaches a socket on another."""
    s = send(sender, f"{tag}-{kit.rand_name('')}", timeout=10)
    if not s.ok:
        return s, False
    mid = s.ack["message"]["id"]
    return s, receiver.wait_for("new_message", lambda d: isinstance(d, dict) and d.get("id") == mid, timeout=wait) is not None


def test_redis_stopped_and_started_under_a_cluster(stage, pg):
    checks = Checks()
    ensure_pg_running(pg)
    database = "faults_" + kit.rand_name("").lower()
    url = pg.create_database(database)
    redis = RedisInstance()
    stage.undo(redis.destroy)
    redis.start()
    a = stage.server("node-a", database_url=url, flags=["--redis-url", redis.url]).start()
    b = stage.server("node-b", database_url=url, flags=["--redis-url", redis.url]).start()
    alice, carol, bob = kit.Account(a.url), kit.Account(a.url), kit.Account(b.url)
    on_a, on_a2, on_b = alice.socket(), carol.socket(), bob.socket()
    stage.clients += [on_a, on_a2, on_b]
    sends = []

    s, crossed = _crosses(on_a, on_b, "base")
    sends.append(s)
    assert s.ok and crossed, f"before the fault a message sent on A did not reach B: {s}\n{a.log_tail()}\n{b.log_tail()}"

    redis.stop()
    # The fault: Redis answers no more.
    assert not redis.ping() and not port_open(redis.port), f"Redis still answers on {redis.port}"
    for name, node in (("A", a), ("B", b)):
        status, body, took = wait_health(node.url, 503, HEALTH_WITHIN)
        checks.check(status == 503, f"node {name}: /healthz answered {status} for {took:.1f} s with Redis stopped: {body[:300]}")
        checks.check("redis" in body.lower(), f"node {name}: /healthz does not name Redis: {body[:300]}")

    # A node keeps serving its own sockets.
    on_a, re_a = _live(stage, on_a, alice)
    on_a2, re_a2 = _live(stage, on_a2, carol)
    s = send(on_a, f"alone-{kit.rand_name('')}", timeout=10)
    sends.append(s)
    checks.check(s.ok, f"node A refused a send while Redis is down: {s}")
    checks.check(s.seconds is not None and s.seconds <= LOCAL_ANSWER_WITHIN, f"node A answered a send after {s.seconds} s with Redis down")
    if s.ok:
        mid = s.ack["message"]["id"]
        got = on_a2.wait_for("new_message", lambda d: isinstance(d, dict) and d.get("id") == mid, timeout=8)
        checks.check(got is not None, "a message sent on A did not reach another socket on A while Redis is down")
    checks.check(a.alive() and b.alive(), "a node died while Redis is down")

    redis.start()
    started = time.monotonic()
    on_a, _ = _live(stage, on_a, alice)
    on_b, reconnected_b = _live(stage, on_b, bob)
    # Within a bounded time messages cross again, both ways...
    directions = {"A to B": (on_a, on_b), "B to A": (on_b, on_a)}
    crossed = dict.fromkeys(directions, False)
    transition = []  # acked after the restart, yet not seen on the other node
    while not all(crossed.values()) and time.monotonic() - started < CROSS_NODE_WITHIN:
        for way, (sender, receiver) in directions.items():
            if not crossed[way]:
                s, crossed[way] = _crosses(sender, receiver, "back", wait=2.0)
                sends.append(s)
                if s.ok and not crossed[way]:
                    transition.append((way, s))
    took = time.monotonic() - started
    for way, ok in crossed.items():
        checks.check(ok, f"messages sent {way} did not cross within {CROSS_NODE_WITHIN} s of Redis's restart: {sends[-3:]}")
    # ...and from then on every one does.
    if all(crossed.values()):
        for way, (sender, receiver) in directions.items():
            for _ in range(3):
                s, ok = _crosses(sender, receiver, "steady")
                sends.append(s)
                checks.check(ok, f"once Redis was back, a message sent {way} did not cross: {s}")
    for name, node in (("A", a), ("B", b)):
        status, body, t = wait_health(node.url, 200, HEALTH_WITHIN)
        checks.check(status == 200, f"node {name}: /healthz still {status} after Redis is back: {body[:300]}")

    stored = pg.contents(database)
    missing = lost([s for s in sends if s.ok], stored)
    checks.check(not missing, lambda: f"acked messages not in PostgreSQL: {missing[:5]}")
    late = [(way, s.ack["message"]["id"]) for way, s in transition
            if not (on_b if way == "A to B" else on_a).received("new_message") or all(
                d.get("id") != s.ack["message"]["id"] for d in (on_b if way == "A to B" else on_a).received("new_message"))]
    print(f"Redis: both ways crossed again {took:.1f} s after its restart; sockets reconnected: "
          f"A {re_a or re_a2}, B {reconnected_b}; acked after the restart but never delivered across: {late}")
    checks.verdict([a, b])
