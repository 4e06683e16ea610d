"""Shared fixtures of the Python conformance tests (PROTOCOL.md).

Environment:
  CHAT_URL         the server under test, e.g. http://127.0.0.1:43123
  SIO_TRANSPORTS   optional: "websocket" or "polling" to force one transport;
                   by default python-socketio starts on polling and upgrades
  CHAT_SERVER_BIN  optional: the chat-server binary, for the tests that start
                   their own server (restart, default port, Flask database)
"""

import base64
import os
import random
import string
import threading
import time

import pytest
import requests
import socketio

BASE = os.environ.get("CHAT_URL", "http://127.0.0.1:5000").rstrip("/")
_T = os.environ.get("SIO_TRANSPORTS", "").strip()
TRANSPORTS = [_T] if _T else None  # None: polling first, then upgrade to websocket

EVENT_TIMEOUT = 5.0
QUIET_WINDOW = 0.5

ALNUM = string.ascii_letters + string.digits


def rand_alnum(n):
    return "".join(random.choice(ALNUM) for _ in range(n))


def rand_name(prefix="t_"):
    return prefix + rand_alnum(8)


def rand_password():
    return "pw-" + rand_alnum(12)


def cookie_header(session):
    """The Cookie header a browser would send, from a requests.Session jar."""
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


class User:
    def __init__(self, username, password, session, user):
        self.username = username
        self.password = password
        self.session = session
        self.user = user

    @property
    def id(self):
        return self.user["id"]


def new_user(prefix="t_"):
    s = requests.Session()
    username, password = rand_name(prefix), rand_password()
    r = s.post(f"{BASE}/api/register", json={"username": username, "password": password}, timeout=10)
    assert r.status_code == 201, f"register {username}: {r.status_code} {r.text}"
    assert s.cookies.get("session"), "register sets the session cookie"
    return User(username, password, s, r.json()["user"])


def assert_error(r, status):
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:300]}"
    body = r.json()
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert set(body) == {"success", "error"}, body


class Recorder:
    """A socketio.Client that records every event, in order."""

    def __init__(self, session=None, headers=None, transports=TRANSPORTS):
        self.sio = socketio.Client(reconnection=False)
        self.events = []  # [event, data, seen]
        self.cond = threading.Condition()
        self.transports = transports
        self.headers = dict(headers or {})
        if session is not None and "Cookie" not in self.headers:
            self.headers["Cookie"] = cookie_header(session) if isinstance(session, requests.Session) else session
        self.sio.on("*", self._any)
        self.sio.on("connect", lambda: self._push("connect", None))
        self.sio.on("connect_error", lambda data=None: self._push("connect_error", data))
        self.sio.on("disconnect", lambda *a: self._push("disconnect", a[0] if a else None))

    def _any(self, event, *args):
        self._push(event, args[0] if args else None)

    def _push(self, event, data):
        with self.cond:
            self.events.append([event, data, False])
            self.cond.notify_all()

    def connect(self):
        self.sio.connect(BASE, headers=self.headers, transports=self.transports, wait_timeout=EVENT_TIMEOUT)
        return self

    @property
    def connected(self):
        return self.sio.connected

    def wait_for(self, event, pred=lambda d: True, timeout=EVENT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for rec in self.events:
                    if not rec[2] and rec[0] == event:
                        try:
                            ok = pred(rec[1])
                        except Exception:  # noqa: BLE001
                            ok = False
                        if ok:
                            rec[2] = True
                            return rec[1]
                left = deadline - time.monotonic()
                if left <= 0:
                    got = ", ".join(e[0] for e in self.events)
                    raise AssertionError(f'no "{event}" within {timeout} s (received: {got or "nothing"})')
                self.cond.wait(left)

    def pending(self, event, pred=lambda d: True):
        with self.cond:
            out = []
            for e, d, seen in self.events:
                if not seen and e == event:
                    try:
                        if pred(d):
                            out.append(d)
                    except Exception:  # noqa: BLE001
                        pass
            return out

    def assert_no(self, event, pred=lambda d: True, window=QUIET_WINDOW):
        start = len(self.events)
        time.sleep(window)
        with self.cond:
            bad = [d for e, d, _ in self.events[start:] if e == event and _safe(pred, d)]
        assert not bad, f'unexpected "{event}": {bad}'

    def all(self):
        with self.cond:
            return [(e, d) for e, d, _ in self.events]

    def call(self, event, *data):
        if data:
            return self.sio.call(event, data[0], timeout=EVENT_TIMEOUT)
        return self.sio.call(event, timeout=EVENT_TIMEOUT)

    def emit(self, event, *data):
        if data:
            self.sio.emit(event, data[0])
        else:
            self.sio.emit(event)

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


def _safe(pred, d):
    try:
        return pred(d)
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def clients():
    """clients(session) → a connected Recorder; all are closed after the test."""
    opened = []

    def make(session=None, connect=True, **kw):
        r = Recorder(session, **kw)
        opened.append(r)
        return r.connect() if connect else r

    yield make
    for r in opened:
        try:
            r.close()
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture
def user():
    return new_user()


PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
