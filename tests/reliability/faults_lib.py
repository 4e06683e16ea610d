"""What only the fault suite (test_faults.py) needs: tmpfs mounts, filling a
file system, immutable files, a private PostgreSQL and Redis, message traffic
with acknowledgements, and bounded polls.

Every fault here has an undo that runs even when a test fails: a mount left
behind or an immutable file breaks the clean-up of CI.
"""

import contextlib
import errno
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

import kit

# ------------------------------------------------------------------ checks ----


class Checks:
    """Collects the failed expectations of one test so that one failure does
    not hide the next (and the fault is still undone before the verdict)."""

    def __init__(self):
        self.failures = []

    def check(self, ok, message):
        if not ok:
            self.failures.append(message() if callable(message) else message)
        return bool(ok)

    def verdict(self, server_logs=()):
        if self.failures:
            tails = "".join(f"\n--- log of {s.url} (tail) ---\n{s.log_tail(30)}" for s in server_logs if s)
            raise AssertionError("\n".join(f"- {f}" for f in self.failures) + tails)


def poll(fn, timeout, every=0.25):
    """Calls `fn` until it returns a truthy value or `timeout` seconds pass;
    returns (value, seconds waited). Exceptions count as a falsy answer."""
    start = time.monotonic()
    deadline = start + timeout
    value = None
    while True:
        try:
            value = fn()
        except Exception:  # noqa: BLE001
            value = None
        if value:
            return value, time.monotonic() - start
        if time.monotonic() >= deadline:
            return value, time.monotonic() - start
        time.sleep(every)


def health(url, timeout=8):
    """(status, body text) of GET /healthz; (None, error) when nothing answers."""
    try:
        r = requests.get(url + "/healthz", timeout=timeout)
        return r.status_code, r.text
    except requests.RequestException as e:
        return None, repr(e)


def wait_health(url, want, timeout, every=0.5):
    """Polls /healthz until it answers `want`; (status, body, seconds)."""
    start = time.monotonic()
    last = (None, "")
    while True:
        last = health(url, timeout=min(8, max(1, timeout)))
        if last[0] == want:
            return last[0], last[1], time.monotonic() - start
        if time.monotonic() - start >= timeout:
            return last[0], last[1], time.monotonic() - start
        time.sleep(every)


def log_since(server, offset):
    return server.log_text()[offset:]


def log_offset(server):
    return len(server.log_text())


# ------------------------------------------------------------- file systems ----


@contextlib.contextmanager
def tmpfs(path, size):
    """Mounts a tmpfs of `size` (e.g. "3m") on `path`; always unmounts."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True)
    try:
        if not os.path.ismount(path):
            raise AssertionError(f"the tmpfs on {path} is not mounted")
        yield path
    finally:
        umount(path)


def umount(path):
    if not os.path.ismount(path):
        return
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        # Busy (a server still holds a file): detach it now, freed when released.
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fs_size(path):
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize


def fill(path, leave=0, name=".filler"):
    """Writes a file into `path`'s file system until only `leave` bytes are
    free (0: until the file system says ENOSPC). Returns the file's path."""
    target = Path(path) / name
    chunk = b"\0" * 65536
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            room = free_bytes(path) - leave
            if room <= 0:
                break
            if os.write(fd, chunk[: min(len(chunk), room)]) == 0:
                break
        if leave == 0:
            # Top up to the last byte (pages freed meanwhile, a page's tail).
            while os.write(fd, chunk[:4096]) > 0:
                pass
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return target


# ---------------------------------------------------------- immutable files ----


def chattr(flag, *paths):
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


def is_immutable(path):
    out = subprocess.run(["lsattr", "-d", str(path)], capture_output=True, text=True)
    return out.returncode == 0 and "i" in out.stdout.split()[0]


def undo_immutable(*paths):
    for p in paths:
        if os.path.exists(p):
            subprocess.run(["chattr", "-i", str(p)], capture_output=True)


# ---------------------------------------------------------------- messages ----


def ack_ok(ack):
    return isinstance(ack, dict) and ack.get("success") is True and isinstance(ack.get("message"), dict)


def ack_refused(ack):
    """A clear refusal: {"success": false, "error": <non-empty str>}."""
    return (
        isinstance(ack, dict)
        and ack.get("success") is False
        and isinstance(ack.get("error"), str)
        and ack["error"].strip() != ""
    )


class Sent:
    """One send_message with its answer."""

    def __init__(self, content):
        self.content = content
        self.sent_at = time.monotonic()
        self.answered_at = None
        self.ack = None
        self.error = None  # no answer: exception text

    @property
    def seconds(self):
        return None if self.answered_at is None else self.answered_at - self.sent_at

    @property
    def ok(self):
        return ack_ok(self.ack)

    def __repr__(self):
        took = f"{self.seconds:.2f}s" if self.seconds is not None else "no answer"
        return f"<{self.content!r}: {self.ack if self.ack is not None else self.error} ({took})>"


def send(client, content, timeout=10):
    """send_message with an ack, waited for at most `timeout` seconds."""
    s = Sent(content)
    try:
        s.ack = client.call("send_message", {"content": content, "message_type": "text"}, timeout=timeout)
        s.answered_at = time.monotonic()
    except Exception as e:  # noqa: BLE001 (TimeoutError, BadNamespaceError, ...)
        s.error = repr(e)
    return s


def send_all(clients_contents, timeout=10):
    """Sends one message on each (client, content) at once; the Sent, in order."""
    out = [None] * len(clients_contents)

    def one(i, c, text):
        out[i] = send(c, text, timeout)

    threads = [threading.Thread(target=one, args=(i, c, t), daemon=True) for i, (c, t) in enumerate(clients_contents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return out


class Traffic:
    """Each client sends `per_client` messages, one every `interval` seconds,
    with an ack callback, WITHOUT waiting for the previous ack (so that many
    are in flight at once, as from a busy room). Everything is recorded."""

    def __init__(self, clients, tag, per_client=19, interval=0.1):
        self.clients = clients
        self.tag = tag
        self.per_client = per_client
        self.interval = interval
        self.lock = threading.Lock()
        self.sent = []
        self.stop_event = threading.Event()
        self.threads = []

    def _run(self, i, client):
        for seq in range(self.per_client):
            if self.stop_event.is_set():
                return
            s = Sent(f"{self.tag}-{i}-{seq}-{kit.rand_name('')}")
            with self.lock:
                self.sent.append(s)

            def answered(*args, s=s):
                s.answered_at = time.monotonic()
                s.ack = args[0] if args else None

            try:
                client.sio.emit("send_message", {"content": s.content, "message_type": "text"}, callback=answered)
            except Exception as e:  # noqa: BLE001 (the server is gone)
                s.error = repr(e)
                return
            time.sleep(self.interval)

    def start(self):
        for i, c in enumerate(self.clients):
            t = threading.Thread(target=self._run, args=(i, c), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self, wait=10):
        self.stop_event.set()
        for t in self.threads:
            t.join(wait)

    def join(self, wait=30):
        for t in self.threads:
            t.join(wait)

    def snapshot(self):
        with self.lock:
            return list(self.sent)

    def acked(self):
        return [s for s in self.snapshot() if s.ok]

    def wait_acked(self, n, timeout):
        """Waits until `n` sends were acked with success; the count reached."""
        got, _ = poll(lambda: len(self.acked()) >= n, timeout, every=0.02)
        return len(self.acked())


def stored_via_http(account, limit=200, max_pages=200):
    """{id: content} of every message the server shows, by paging after_id."""
    out = {}
    after = 0
    for _ in range(max_pages):
        r = account.history(after_id=after, limit=limit)
        r.raise_for_status()
        page = r.json()["messages"]
        for m in page:
            out[m["id"]] = m["content"]
        if len(page) < limit:
            return out
        after = page[-1]["id"]
    return out


def lost(acked, stored):
    """The acked sends whose message is not stored under its id with its content."""
    return [s for s in acked if stored.get(s.ack["message"]["id"]) != s.content]


def connected_clients(server, n, prefix="f_"):
    """`n` fresh accounts, each with one connected socket."""
    accounts = [kit.Account(server.url, kit.rand_name(prefix)) for _ in range(n)]
    return accounts, [a.socket() for a in accounts]


def close_all(clients):
    for c in clients:
        c.close()


# --------------------------------------------------------------- processes ----


def port_open(port, host="127.0.0.1"):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise AssertionError(f"no {name} under /usr/lib/postgresql/*/bin (install postgresql)")
    return found[-1]


class PgInstance:
    """A private PostgreSQL: its own cluster (initdb) in a temp folder, its own
    free port on 127.0.0.1, run as the `postgres` OS user, trust auth."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="chat-faults-pg."))
        self.data = self.dir / "data"
        self.port = kit.free_port()
        self.log = self.dir / "postgres.log"
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_pg([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                     "-E", "UTF8", "--no-sync", "--no-instructions"], timeout=120)

    def _as_pg(self, cmd, timeout=60, check=True):
        out = subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True,
                             timeout=timeout, cwd=str(self.dir))
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {out.returncode}\n{out.stdout}\n{out.stderr}")
        return out

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self):
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._as_pg([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start"],
                    timeout=90)
        got, _ = poll(lambda: port_open(self.port), 30)
        if not got:
            raise RuntimeError(f"PostgreSQL did not listen on {self.port}:\n{self.log_tail()}")

    def stop(self, mode="fast"):
        return self._as_pg([pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"],
                           timeout=90, check=False)

    def running(self):
        out = self._as_pg([pg_bin("pg_ctl"), "-D", str(self.data), "status"], timeout=30, check=False)
        return out.returncode == 0

    def psql(self, sql, database="postgres"):
        out = subprocess.run(
            [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
             "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {out.stderr}")
        return out.stdout

    def create_database(self, name):
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def contents(self, database="postgres"):
        """{id: content} of every message row, read with psql."""
        text = self.psql("COPY (SELECT id, content FROM messages) TO STDOUT", database)
        out = {}
        for line in text.splitlines():
            ident, content = line.split("\t", 1)
            out[int(ident)] = content
        return out

    def log_tail(self, n=30):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def destroy(self):
        try:
            if self.running():
                self.stop("immediate")
        finally:
            pidfile = self.data / "postmaster.pid"
            if pidfile.exists():
                try:
                    pid = int(pidfile.read_text().split()[0])
                    os.kill(pid, signal.SIGKILL)
                except (OSError, ValueError, IndexError):
                    pass
            shutil.rmtree(self.dir, ignore_errors=True)


class RedisInstance:
    """A private redis-server on its own free port, no persistence."""

    def __init__(self):
        self.bin = shutil.which("redis-server")
        if not self.bin:
            raise AssertionError("redis-server is not installed")
        self.dir = Path(tempfile.mkdtemp(prefix="chat-faults-redis."))
        self.port = kit.free_port()
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [self.bin, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--daemonize", "no", "--protected-mode", "no"],
            stdout=self.log, stderr=subprocess.STDOUT)
        got, _ = poll(lambda: self.ping(), 20, every=0.1)
        if not got:
            raise RuntimeError(f"redis-server did not answer on {self.port}")

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def destroy(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
