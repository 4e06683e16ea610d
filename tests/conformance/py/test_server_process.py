"""Rules that need a server of their own (started here from CHAT_SERVER_BIN):

- §3 the session cookie survives a server restart;
- §1 the default port is 5000, bound on 0.0.0.0;
- §2/§3 a database written by the Flask app is adopted: Flask-Bcrypt hashes
  verify, names that differ only in case keep working, naive UTC timestamps
  are read as UTC;
- §3/§5 only messages of the retention window (7 days, configurable) are returned;
- §3 passwords are stored as bcrypt `$2b$` hashes, cost 12 by default.

Skipped when CHAT_SERVER_BIN is not an executable file, or CONFORMANCE_NO_SPAWN=1.
"""

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from conftest import rand_name, rand_password

BIN = os.environ.get("CHAT_SERVER_BIN", "")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

pytestmark = pytest.mark.skipif(
    not (BIN and os.access(BIN, os.X_OK)) or os.environ.get("CONFORMANCE_NO_SPAWN") == "1",
    reason="needs CHAT_SERVER_BIN (the chat-server binary) to start servers of its own",
)

# Flask-Bcrypt (cost 12) hashes of "flask-pass-1" and "flask-pass-2".
FLASK_HASH_1 = "$2b$12$4BEMDiapwQxhw3IpInVrrOx3plKLJYiToBtmGRwHjMoP09fY1/Uma"
FLASK_HASH_2 = "$2b$12$rO1iAQ/ba9Xmp5/iX7ZbZulKdXZ.OnZA1VGInAZrYfvz9gjrlqJ/i"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_is_free(port, host="0.0.0.0"):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Server:
    """chat-server on a data folder; start()/stop() can be repeated."""

    def __init__(self, data_dir, extra=(), port=None, default_address=False, default_cost=False):
        self.default_cost = default_cost
        self.data = data_dir
        self.extra = list(extra)
        self.port = port or free_port()
        self.default_address = default_address
        self.proc = None
        self.log_path = os.path.join(self.data, "server.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        args = [BIN]
        if not self.default_address:
            args += ["--host", "127.0.0.1", "--port", str(self.port)]
        args += [
            "--database-url",
            os.path.join(self.data, "chat_app.db"),
            "--upload-dir",
            os.path.join(self.data, "uploads"),
        ]
        if not self.default_cost:
            args += ["--bcrypt-cost", "4"]
        args += self.extra
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        with open(self.log_path, "rb") as f:
            tail = f.read()[-3000:].decode("utf8", "replace")
        raise AssertionError(f"chat-server did not come up on {self.url}:\n{tail}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def data_dir():
    d = tempfile.mkdtemp(prefix="chat-conformance-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def servers():
    started = []

    def make(*a, **kw):
        s = Server(*a, **kw)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def test_session_survives_a_server_restart(data_dir, servers):
    srv = servers(data_dir).start()
    s = requests.Session()
    name = rand_name()
    r = s.post(srv.url + "/api/register", json={"username": name, "password": rand_password()})
    assert r.status_code == 201, r.text
    cookie = s.cookies.get("session")
    srv.stop()
    srv.start()
    me = requests.get(srv.url + "/api/current_user", headers={"Cookie": f"session={cookie}"})
    assert me.status_code == 200, me.text
    assert me.json()["user"]["username"] == name

    import socketio

    sio = socketio.Client(reconnection=False)
    try:
        sio.connect(srv.url, headers={"Cookie": f"session={cookie}"}, wait_timeout=5)
        assert sio.connected
    finally:
        sio.disconnect()


def test_default_port_5000_bound_on_all_interfaces(data_dir, servers):
    if not port_is_free(5000):
        pytest.skip("port 5000 is in use")
    srv = servers(data_dir, port=5000, default_address=True).start()
    assert requests.get("http://127.0.0.1:5000/healthz", timeout=5).status_code == 200
    # bound on 0.0.0.0, not only on 127.0.0.1: another loopback address answers too
    assert requests.get("http://127.0.0.2:5000/healthz", timeout=5).status_code == 200
    srv.stop()


def naive_utc(dt):
    """How Flask-SQLAlchemy stored datetime.utcnow() in SQLite."""
    return dt.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def make_flask_db(path, now):
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE users (
            id INTEGER NOT NULL PRIMARY KEY,
            username VARCHAR(80) NOT NULL UNIQUE,
            password_hash VARCHAR(128) NOT NULL,
            created_at DATETIME
        );
        CREATE TABLE messages (
            id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users (id),
            content TEXT NOT NULL,
            message_type VARCHAR(20),
            timestamp DATETIME
        );
        """
    )
    con.execute(
        "INSERT INTO users VALUES (1, 'Alice', ?, ?)", (FLASK_HASH_1, naive_utc(now - timedelta(days=30)))
    )
    con.execute(
        "INSERT INTO users VALUES (2, 'alice', ?, ?)", (FLASK_HASH_2, naive_utc(now - timedelta(days=20)))
    )
    rows = [
        (1, 1, "eight days old", "text", naive_utc(now - timedelta(days=8))),
        (2, 2, "six days old", "text", naive_utc(now - timedelta(days=6))),
        (3, 1, "an hour old", "text", naive_utc(now - timedelta(hours=1))),
    ]
    con.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return rows


def parse_ts(ts):
    assert ts.endswith("Z"), ts
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_flask_database_is_adopted(data_dir, servers):
    now = datetime.now(timezone.utc)
    rows = make_flask_db(os.path.join(data_dir, "chat_app.db"), now)
    srv = servers(data_dir).start()

    # Flask-Bcrypt hashes verify unchanged; names differing only in case both work
    upper = requests.Session()
    r = upper.post(srv.url + "/api/login", json={"username": "Alice", "password": "flask-pass-1"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == 1
    created = parse_ts(r.json()["user"]["created_at"])
    assert abs((created - (now - timedelta(days=30))).total_seconds()) < 1, "naive created_at read as UTC"
    lower = requests.Session()
    r = lower.post(srv.url + "/api/login", json={"username": "alice", "password": "flask-pass-2"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == 2
    wrong = requests.post(srv.url + "/api/login", json={"username": "alice", "password": "flask-pass-1"})
    assert wrong.status_code == 401

    # a new name must still differ case-insensitively from both
    r = requests.post(srv.url + "/api/register", json={"username": "ALICE", "password": "secret-pw"})
    assert r.status_code == 409, r.text

    # naive UTC timestamps are read as UTC; the retention window is 7 days
    msgs = upper.get(srv.url + "/api/messages").json()["messages"]
    by_id = {m["id"]: m for m in msgs}
    assert 1 not in by_id, "a message older than 7 days is never returned"
    assert 2 in by_id and 3 in by_id
    for _, _, content, _, ts in rows[1:]:
        m = next(m for m in msgs if m["content"] == content)
        want = datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
        assert abs((parse_ts(m["timestamp"]) - want).total_seconds()) < 0.002, (m["timestamp"], ts)
    assert by_id[3]["username"] == "Alice" and by_id[2]["username"] == "alice"
    after = upper.get(srv.url + "/api/messages", params={"after_id": 0}).json()["messages"]
    assert [m["id"] for m in after][:2] == [2, 3]
    before = upper.get(srv.url + "/api/messages", params={"before_id": 3}).json()["messages"]
    assert [m["id"] for m in before] == [2]


def test_retention_window_is_configurable(data_dir, servers):
    now = datetime.now(timezone.utc)
    make_flask_db(os.path.join(data_dir, "chat_app.db"), now)
    srv = servers(data_dir, extra=["--retention-days", "30"]).start()
    s = requests.Session()
    assert s.post(srv.url + "/api/login", json={"username": "Alice", "password": "flask-pass-1"}).status_code == 200
    ids = [m["id"] for m in s.get(srv.url + "/api/messages").json()["messages"]]
    assert ids[:3] == [1, 2, 3]


def stored_hash(db_path, username):
    con = sqlite3.connect(db_path)
    try:
        return con.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()[0]
    finally:
        con.close()


def test_passwords_are_stored_as_bcrypt_2b_cost_12_by_default(data_dir, servers):
    srv = servers(data_dir, default_cost=True).start()
    name = rand_name()
    r = requests.post(srv.url + "/api/register", json={"username": name, "password": "secret-pw"})
    assert r.status_code == 201, r.text
    h = stored_hash(os.path.join(data_dir, "chat_app.db"), name)
    assert h.startswith("$2b$12$"), f"bcrypt $2b$ with cost 12, not {h[:7]}"
    assert "secret-pw" not in h


def test_bcrypt_cost_flag_applies_to_new_hashes(data_dir, servers):
    srv = servers(data_dir).start()  # --bcrypt-cost 4
    name = rand_name()
    r = requests.post(srv.url + "/api/register", json={"username": name, "password": "secret-pw"})
    assert r.status_code == 201, r.text
    assert stored_hash(os.path.join(data_dir, "chat_app.db"), name).startswith("$2b$04$")
