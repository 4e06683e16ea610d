"""What every reliability suite shares: one launcher for the real chat-server,
accounts, Socket.IO clients and the process figures (RSS, descriptors, threads).

The suites (fuzz_protocol.py, test_faults.py, soak.py) import it; nothing here
decides a test's verdict.
"""

import base64
import os
import random
import signal
import socket
import sqlite3
import string
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parents[2]
SERVER_BIN = os.environ.get("CHAT_SERVER_BIN", str(ROOT / "target" / "debug" / "chat-server"))
ALNUM = string.ascii_letters + string.digits


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rand_name(prefix="r_", rng=random):
    return prefix + "".join(rng.choice(ALNUM) for _ in range(10))


class Server:
    """One chat-server process on a free port with its own data folder.

    `flags` are extra command-line flags; `database_url` defaults to a SQLite
    file in the data folder; `upload_dir` to a folder beside it.
    """

    def __init__(self, flags=(), env=None, data_dir=None, database_url=None, upload_dir=None, port=None):
        self.data = Path(data_dir or tempfile.mkdtemp(prefix="chat-rel."))
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or str(self.data / "chat_app.db")
        self.upload_dir = Path(upload_dir or self.data / "uploads")
        self.flags = list(flags)
        self.env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), **(env or {}))
        self.log_path = self.data / "server.log"
        self.proc = None

    def start(self, wait=60):
        cmd = [
            SERVER_BIN, "--host", "127.0.0.1", "--port", str(self.port),
            "--database-url", self.database_url, "--upload-dir", str(self.upload_dir),
            "--bcrypt-cost", "4", *self.flags,
        ]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chat-server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"chat-server did not come up on {self.url}:\n{self.log_tail()}")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends `sig` and waits; returns the exit code (negative: killed by a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Account:
    """A registered, logged-in user with its own cookie jar."""

    def __init__(self, url, username=None, password=None, register=True):
        self.url = url
        self.username = username or rand_name()
        self.password = password or "pw-" + rand_name("")
        self.http = requests.Session()
        if register:
            r = self.http.post(f"{url}/api/register", json={"username": self.username, "password": self.password}, timeout=10)
            if r.status_code != 201:
                raise RuntimeError(f"register {self.username}: {r.status_code} {r.text}")

    def login(self):
        r = self.http.post(f"{self.url}/api/login", json={"username": self.username, "password": self.password}, timeout=10)
        return r

    def cookie(self):
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def socket(self, transports=None, connect=True):
        c = Client(self.url, self.cookie(), transports)
        return c.connect() if connect else c

    def history(self, **params):
        return self.http.get(f"{self.url}/api/messages", params=params, timeout=10)


class Client:
    """A python-socketio client that records every event in order."""

    def __init__(self, url, cookie, transports=None):
        self.url = url
        self.headers = {"Cookie": cookie}
        self.transports = transports  # None: polling then upgrade; or ["websocket"] / ["polling"]
        self.sio = socketio.Client(reconnection=False)
        self.events = []
        self.cond = threading.Condition()
        self.sio.on("*", lambda event, *args: self._push(event, args[0] if args else None))
        self.sio.on("disconnect", lambda *a: self._push("disconnect", None))

    def _push(self, event, data):
        with self.cond:
            self.events.append((event, data))
            self.cond.notify_all()

    def connect(self, timeout=10):
        self.sio.connect(self.url, headers=self.headers, transports=self.transports, wait_timeout=timeout)
        return self

    def call(self, event, data, timeout=10):
        return self.sio.call(event, data, timeout=timeout)

    def emit(self, event, data):
        self.sio.emit(event, data)

    def wait_for(self, event, pred=lambda d: True, timeout=10):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e, d in self.events:
                    if e == event and pred(d):
                        return d
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def received(self, event):
        with self.cond:
            return [d for e, d in self.events if e == event]

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001
            pass


def proc_stats(pid):
    """RSS in kB, open descriptors and threads of a live process."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return {"rss_kb": rss, "fds": fds, "threads": threads}


def stored_ids(database_path):
    """Every message id in a SQLite database, read directly (not through the server)."""
    with sqlite3.connect(f"file:{database_path}?mode=ro", uri=True, timeout=30) as db:
        return {row[0] for row in db.execute("SELECT id FROM messages")}


def stored_contents(database_path):
    """Every message's content in a SQLite database, by id."""
    with sqlite3.connect(f"file:{database_path}?mode=ro", uri=True, timeout=30) as db:
        return dict(db.execute("SELECT id, content FROM messages"))


PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
