"""PROTOCOL.md §6.6 "Admins", §6.7 "Recalling and deleting" and "Banning"
through python-socketio and requests; and the chat-admin commands (ban, unban,
reset-password, delete-message) against the running server.

Environment (scripts/test-conformance.sh and tests/cluster/run.py set them;
the tests that need one are skipped without it):
  CONFORMANCE_ADMIN, CONFORMANCE_ADMIN_PASSWORD  an account named in the
      server's --admin-users (registered here, or logged in when taken)
  CONFORMANCE_ADMIN2             a second name in --admin-users (same password)
  CONFORMANCE_RECALL_SECONDS     the server's --recall-seconds, when short
  CHAT_ADMIN_BIN, CHAT_DATABASE_URL   the chat-admin binary and the server's
      database (--database-url), for the chat-admin tests
  CHAT_UPLOAD_DIR                the server's --upload-dir (chat-admin delete-message
      removes a deleted image's file there)
"""

import os
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import socketio

from conftest import (
    BASE,
    EVENT_TIMEOUT,
    PNG_1x1,
    QUIET_WINDOW,
    Recorder,
    assert_error,
    new_user,
    rand_alnum,
    rand_name,
    rand_password,
)

ADMIN = os.environ.get("CONFORMANCE_ADMIN", "")
ADMIN2 = os.environ.get("CONFORMANCE_ADMIN2", "")
ADMIN_PASSWORD = os.environ.get("CONFORMANCE_ADMIN_PASSWORD", "")
RECALL_SECONDS = int(os.environ.get("CONFORMANCE_RECALL_SECONDS", "0") or 0)
CHAT_ADMIN_BIN = os.environ.get("CHAT_ADMIN_BIN", "")
CHAT_DATABASE_URL = os.environ.get("CHAT_DATABASE_URL", "")
CHAT_UPLOAD_DIR = os.environ.get("CHAT_UPLOAD_DIR", "")

needs_admin = pytest.mark.skipif(
    not (ADMIN and ADMIN_PASSWORD),
    reason="CONFORMANCE_ADMIN / CONFORMANCE_ADMIN_PASSWORD not set: the suite knows no admin of this server "
    "(scripts/test-conformance.sh names one when it starts the server)",
)
needs_short_window = pytest.mark.skipif(
    not 0 < RECALL_SECONDS <= 10,
    reason="CONFORMANCE_RECALL_SECONDS (the server's --recall-seconds, at most 10) not set: "
    "waiting out the default 120 s window is too slow",
)
needs_chat_admin = pytest.mark.skipif(
    not (CHAT_ADMIN_BIN and os.access(CHAT_ADMIN_BIN, os.X_OK) and CHAT_DATABASE_URL and ADMIN and ADMIN_PASSWORD),
    reason="CHAT_ADMIN_BIN (an executable chat-admin), CHAT_DATABASE_URL (the running server's database) and "
    "CONFORMANCE_ADMIN / CONFORMANCE_ADMIN_PASSWORD are needed to run chat-admin against the server",
)

# a Socket.IO DISCONNECT from the server ("io server disconnect" in the JS client)
SERVER_DISCONNECT = socketio.Client.reason.SERVER_DISCONNECT
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
NOT_FOUND = "消息不存在或已被删除"
NOT_YOURS = "只能撤回自己的消息"
NOT_AN_INTEGER = "消息 id 必须是整数"
MALFORMED = "删除请求格式错误"
# PROTOCOL.md §6.8
BANNED_LOGIN = {"success": False, "error": "该账号已被封禁"}
NOT_ADMIN = "只有管理员可以封禁或解封用户"
NO_SUCH_USER = "用户不存在"
NOT_YOURSELF = "不能封禁自己"
NOT_AN_ADMIN_TARGET = "不能封禁管理员"
BAN_MALFORMED = "请求格式错误"
BAN_NAME = "用户名必须是非空字符串"
# chat-admin's commands reach running servers within 10 s (the brief of the
# commands); the tests wait a little longer before calling it lost.
ADMIN_CMD_DEADLINE = 12.0


def parse_ts(ts):
    assert isinstance(ts, str) and RFC3339_UTC.match(ts), f"RFC 3339 UTC with Z: {ts!r}"
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def iso_ms(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def account(username, password):
    """Registers `username`, or logs in when it is taken (the admin of an earlier run)."""
    s = requests.Session()
    r = s.post(f"{BASE}/api/register", json={"username": username, "password": password}, timeout=10)
    if r.status_code == 409:
        r = s.post(f"{BASE}/api/login", json={"username": username, "password": password}, timeout=10)
    assert r.status_code in (200, 201), f"register/login {username}: {r.status_code} {r.text}"
    return s, r.json()["user"]


@pytest.fixture
def admin():
    s, u = account(ADMIN, ADMIN_PASSWORD)
    assert u["is_admin"] is True, f"{ADMIN} is named in --admin-users: {u}"
    return s


def with_cookie(value):
    s = requests.Session()
    s.cookies.set("session", value)
    return s


def say(c, content=None):
    ack = c.call("send_message", {"content": content or "moderation " + rand_alnum(8)})
    assert ack["success"] is True, ack
    return ack["message"]


def deleted_events(c, mid):
    return [d for e, d in c.all() if e == "message_deleted" and isinstance(d, dict) and d.get("id") == mid]


def banned_events(c, username):
    return [d for e, d in c.all() if e == "user_banned" and isinstance(d, dict) and d.get("username") == username]


ROUTINE = {"connect", "online_users", "user_joined", "user_left", "new_message", "_probe"}


def unusual(c, mark):
    return [(e, d) for e, d in c.all()[mark:] if e not in ROUTINE]


def assert_deleted_everywhere(recorders, mid, username, timeout=EVENT_TIMEOUT):
    """message_deleted about `mid` on every recorder: exact fields, same payload, exactly once each."""
    got = []
    deadline = time.monotonic() + timeout
    for c in recorders:
        got.append(c.wait_for("message_deleted", lambda d: d["id"] == mid, max(0.1, deadline - time.monotonic())))
    first = got[0]
    assert set(first) == {"id", "username", "timestamp"}, first
    assert first["id"] == mid
    assert first["username"] == username, first
    assert abs((datetime.now(timezone.utc) - parse_ts(first["timestamp"])).total_seconds()) < 60
    assert all(d == first for d in got), got
    time.sleep(QUIET_WINDOW)
    for i, c in enumerate(recorders):
        assert len(deleted_events(c, mid)) == 1, f"socket {i}: message_deleted for {mid} exactly once: {deleted_events(c, mid)}"
    return first


def history_ids(session, ids):
    r = session.get(f"{BASE}/api/messages", params={"after_id": min(ids) - 1, "limit": 200}, timeout=10)
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["messages"] if m["id"] in ids]


def deleted_since(session, since=None):
    params = {} if since is None else {"since": since}
    r = session.get(f"{BASE}/api/messages/deleted", params=params, timeout=10)
    assert r.status_code == 200, f"{r.status_code} {r.text}"
    body = r.json()
    assert set(body) == {"success", "deleted"} and body["success"] is True, body
    return body["deleted"]


# ------------------------------------------------------------ deleting ----


def test_recall_inside_the_window_reaches_every_socket_once_and_leaves_the_history(clients):
    a, b = new_user(), new_user()
    assert a.user["is_admin"] is False
    a1, a2, b1 = clients(a.session), clients(a.session), clients(b.session)
    before = say(a1)
    m = say(a1, "to be recalled " + rand_alnum(6))
    after = say(b1)
    ids = [before["id"], m["id"], after["id"]]
    assert history_ids(b.session, ids) == ids
    assert a1.call("delete_message", {"id": m["id"]}) == {"success": True}
    assert_deleted_everywhere([a1, a2, b1], m["id"], a.username)
    for s in (a.session, b.session):
        assert history_ids(s, ids) == [before["id"], after["id"]]
        newest = s.get(f"{BASE}/api/messages", params={"limit": 200}, timeout=10).json()["messages"]
        assert m["id"] not in [x["id"] for x in newest]
        older = s.get(f"{BASE}/api/messages", params={"before_id": after["id"] + 1}, timeout=10).json()["messages"]
        assert m["id"] not in [x["id"] for x in older]
    assert a1.connected and a2.connected and b1.connected


def test_refusals_exact_sentences_and_nothing_broadcast(clients):
    a, b = new_user(), new_user()
    a1, b1 = clients(a.session), clients(b.session)
    m = say(a1)
    refusals = [
        (b1, {"id": m["id"]}, NOT_YOURS),
        (a1, {"id": str(m["id"])}, NOT_AN_INTEGER),
        (a1, {"id": "5"}, NOT_AN_INTEGER),
        (a1, {"id": m["id"] + 0.5}, NOT_AN_INTEGER),
        (a1, {"id": None}, NOT_AN_INTEGER),
        (a1, {}, NOT_AN_INTEGER),
        (a1, [m["id"]], MALFORMED),
        (a1, str(m["id"]), MALFORMED),
        (a1, m["id"] + 10**9, MALFORMED),
        (a1, {"id": m["id"] + 10**9}, NOT_FOUND),
    ]
    for who, payload, error in refusals:
        assert who.call("delete_message", payload) == {"success": False, "error": error}, payload
    b1.assert_no("message_deleted")
    assert a1.pending("message_deleted") == []
    assert history_ids(a.session, [m["id"]]) == [m["id"]], "nothing deleted"
    # without a callback: the error event, to the sender alone
    b1.emit("delete_message", {"id": m["id"]})
    assert b1.wait_for("error") == {"message": NOT_YOURS}
    a1.assert_no("error")
    # the author may; then the message is gone for everyone
    assert a1.call("delete_message", {"id": m["id"]}) == {"success": True}
    assert_deleted_everywhere([a1, b1], m["id"], a.username)
    assert a1.call("delete_message", {"id": m["id"]}) == {"success": False, "error": NOT_FOUND}
    b1.assert_no("message_deleted")
    assert a1.connected and b1.connected


def test_recalled_image_url_answers_404_unless_another_message_shows_it(clients):
    a, b = new_user(), new_user()
    a1, b1 = clients(a.session), clients(b.session)

    def upload():
        r = a.session.post(f"{BASE}/api/upload", files={"file": ("p.png", PNG_1x1, "image/png")}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["url"]

    url = upload()
    img = a1.call("send_message", {"content": url, "message_type": "image"})
    assert img["success"] is True, img
    assert requests.get(BASE + url, timeout=10).status_code == 200
    assert a1.call("delete_message", {"id": img["message"]["id"]}) == {"success": True}
    assert_deleted_everywhere([a1, b1], img["message"]["id"], a.username)
    gone = requests.get(BASE + url, timeout=10)
    assert gone.status_code == 404, gone.status_code
    assert gone.json() == {"success": False, "error": "文件不存在"}

    shared = upload()
    first = a1.call("send_message", {"content": shared, "message_type": "image"})
    second = b1.call("send_message", {"content": shared, "message_type": "image"})
    assert first["success"] and second["success"], (first, second)
    assert a1.call("delete_message", {"id": first["message"]["id"]}) == {"success": True}
    assert_deleted_everywhere([a1, b1], first["message"]["id"], a.username)
    assert requests.get(BASE + shared, timeout=10).status_code == 200, "another message still shows it"
    assert b1.call("delete_message", {"id": second["message"]["id"]}) == {"success": True}
    assert_deleted_everywhere([a1, b1], second["message"]["id"], b.username)
    assert requests.get(BASE + shared, timeout=10).status_code == 404


def test_offline_client_catches_up_through_api_messages_deleted(clients):
    a, o = new_user(), new_user()
    a1, o1 = clients(a.session), clients(o.session)
    m = say(a1)
    since = o1.wait_for("new_message", lambda d: d["id"] == m["id"])["timestamp"]
    o1.close()
    assert a1.call("delete_message", {"id": m["id"]}) == {"success": True}
    notice = assert_deleted_everywhere([a1], m["id"], a.username)
    assert deleted_events(o1, m["id"]) == []
    o2 = clients(o.session)
    o2.assert_no("message_deleted", lambda d: d["id"] == m["id"])

    def mine(lst):
        return [d for d in lst if d["id"] == m["id"]]

    listed = deleted_since(o.session, since)
    assert mine(listed) == [notice]
    stamps = [parse_ts(d["timestamp"]) for d in listed]
    assert stamps == sorted(stamps), "oldest deletion first"
    assert all(t >= parse_ts(since) for t in stamps)
    plus8 = parse_ts(since).astimezone(timezone(timedelta(hours=8))).isoformat(timespec="milliseconds")
    assert plus8.endswith("+08:00")
    assert mine(deleted_since(o.session, plus8)) == [notice], f"since={plus8}"
    assert mine(deleted_since(o.session, notice["timestamp"])) == [notice], "at the deletion's own time"
    assert mine(deleted_since(o.session)) == [notice], "without since"
    later = iso_ms(parse_ts(notice["timestamp"]) + timedelta(milliseconds=1))
    assert mine(deleted_since(o.session, later)) == [], f"since={later}"
    for bad in ("yesterday", "2025-06-26", "2025-06-26 08:00:00", "1719390000"):
        r = o.session.get(f"{BASE}/api/messages/deleted", params={"since": bad}, timeout=10)
        assert_error(r, 400)
        assert r.json()["error"] == "since 必须是 RFC 3339 时间"
    assert_error(requests.get(f"{BASE}/api/messages/deleted", timeout=10), 401)


@needs_short_window
def test_recall_after_the_window_is_refused_and_an_admin_still_deletes(clients):
    a, b = new_user(), new_user()
    a1, b1 = clients(a.session), clients(b.session)
    late = say(a1, "too late " + rand_alnum(6))
    edge = parse_ts(late["timestamp"]) + timedelta(seconds=RECALL_SECONDS)
    time.sleep(max(0.0, (edge - datetime.now(timezone.utc)).total_seconds()) + 1.5)
    assert a1.call("delete_message", {"id": late["id"]}) == {
        "success": False,
        "error": f"消息发送已超过 {RECALL_SECONDS} 秒，无法撤回",
    }
    b1.assert_no("message_deleted")
    assert history_ids(a.session, [late["id"]]) == [late["id"]]
    if not (ADMIN and ADMIN_PASSWORD):
        return
    s, _ = account(ADMIN, ADMIN_PASSWORD)
    ac = clients(s)
    assert ac.call("delete_message", {"id": late["id"]}) == {"success": True}
    assert_deleted_everywhere([a1, b1, ac], late["id"], ADMIN)


@needs_admin
def test_admin_deletes_anyones_message(clients, admin):
    me = admin.get(f"{BASE}/api/current_user", timeout=10).json()
    assert me["user"]["is_admin"] is True, me
    a = new_user()
    a1, ac = clients(a.session), clients(admin)
    m = say(a1)
    assert ac.call("delete_message", {"id": m["id"]}) == {"success": True}
    assert_deleted_everywhere([a1, ac], m["id"], ADMIN)
    assert [d["username"] for d in deleted_since(a.session, m["timestamp"]) if d["id"] == m["id"]] == [ADMIN]


# ------------------------------------------------------------- banning ----


def assert_banned(u, cookies=()):
    r = requests.post(f"{BASE}/api/login", json={"username": u.username, "password": u.password}, timeout=10)
    assert_error(r, 403)
    assert r.json() == BANNED_LOGIN, r.text
    assert "session" not in r.cookies or not r.cookies["session"], "a refused login sets no session"
    r = requests.post(f"{BASE}/api/login", json={"username": u.username, "password": u.password + "x"}, timeout=10)
    assert_error(r, 401)
    for cookie in cookies:
        assert_error(with_cookie(cookie).get(f"{BASE}/api/current_user", timeout=10), 401)


def login_status(username, password):
    return requests.post(f"{BASE}/api/login", json={"username": username, "password": password}, timeout=10).status_code


@needs_admin
def test_ban_disconnects_ends_sessions_and_announces_then_unban_lifts_it(clients, admin):
    ac = clients(admin)
    w = new_user()
    wc = clients(w.session)
    v = new_user()
    second = requests.Session()
    assert second.post(f"{BASE}/api/login", json={"username": v.username, "password": v.password}, timeout=10).status_code == 200
    cookies = [v.session.cookies["session"], second.cookies["session"]]
    v1, v2 = clients(v.session), clients(second)
    wc.wait_for("online_users", lambda d: v.username in d["users"])

    started = time.monotonic()
    assert ac.call("ban_user", {"username": v.username}) == {"success": True}
    for s in (v1, v2):
        reason = s.wait_for("disconnect", timeout=max(0.1, 5.0 - (time.monotonic() - started)))
        assert reason == SERVER_DISCONNECT, reason
        assert not s.connected
        # Told why first, so that a page does not take it for a logout elsewhere.
        assert s.wait_for("error", timeout=0.1) == {"message": "你的账号已被封禁"}
    notice = wc.wait_for("user_banned", lambda d: d["username"] == v.username)
    assert set(notice) == {"username", "by", "timestamp"}, notice
    assert notice["by"] == ADMIN
    assert abs((datetime.now(timezone.utc) - parse_ts(notice["timestamp"])).total_seconds()) < 60
    assert ac.wait_for("user_banned", lambda d: d["username"] == v.username) == notice
    wc.wait_for("user_left", lambda d: d["username"] == v.username)
    time.sleep(QUIET_WINDOW)
    assert len(banned_events(wc, v.username)) == 1
    assert len(banned_events(ac, v.username)) == 1
    assert banned_events(v1, v.username) == [] and banned_events(v2, v.username) == [], "user_banned goes to everyone else"
    assert wc.connected and ac.connected

    assert_banned(v, cookies)
    r = requests.post(f"{BASE}/api/register", json={"username": v.username, "password": rand_password()}, timeout=10)
    assert_error(r, 409)
    for cookie in cookies:
        c = Recorder(f"session={cookie}")
        with pytest.raises(socketio.exceptions.ConnectionError):
            c.connect()
        assert c.wait_for("connect_error") == {"message": "unauthorized"}
        c.close()

    wmark, amark = len(wc.all()), len(ac.all())
    assert ac.call("unban_user", {"username": v.username}) == {"success": True}
    time.sleep(QUIET_WINDOW)
    assert unusual(wc, wmark) == [] and unusual(ac, amark) == [], "unban broadcasts nothing"
    back = requests.Session()
    r = back.post(f"{BASE}/api/login", json={"username": v.username, "password": v.password}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["is_admin"] is False
    vc = clients(back)
    m = say(vc, "back again")
    wc.wait_for("new_message", lambda d: d["id"] == m["id"])
    for cookie in cookies:
        assert_error(with_cookie(cookie).get(f"{BASE}/api/current_user", timeout=10), 401)


@needs_admin
def test_ban_refusals_and_idempotence(clients, admin):
    ac = clients(admin)
    n, v = new_user(), new_user()
    nc, vc = clients(n.session), clients(v.session)
    marks = {id(c): len(c.all()) for c in (ac, nc, vc)}

    def refused(c, event, payload, error):
        assert c.call(event, payload) == {"success": False, "error": error}, (event, payload)

    refused(nc, "ban_user", {"username": v.username}, NOT_ADMIN)
    refused(nc, "unban_user", {"username": v.username}, NOT_ADMIN)
    refused(ac, "ban_user", {"username": rand_name("nobody_")}, NO_SUCH_USER)
    refused(ac, "unban_user", {"username": rand_name("nobody_")}, NO_SUCH_USER)
    refused(ac, "ban_user", {"username": ADMIN}, NOT_YOURSELF)
    if ADMIN2:
        account(ADMIN2, ADMIN_PASSWORD)
        refused(ac, "ban_user", {"username": ADMIN2}, NOT_AN_ADMIN_TARGET)
        assert login_status(ADMIN2, ADMIN_PASSWORD) == 200
    refused(ac, "ban_user", {"username": 5}, BAN_NAME)
    refused(ac, "ban_user", {}, BAN_NAME)
    refused(ac, "unban_user", {"username": ""}, BAN_NAME)
    refused(ac, "ban_user", v.username, BAN_MALFORMED)
    refused(ac, "ban_user", [v.username], BAN_MALFORMED)
    time.sleep(QUIET_WINDOW)
    for c in (ac, nc, vc):
        assert unusual(c, marks[id(c)]) == [], "nothing broadcast, nobody disconnected"
        assert c.connected
    assert login_status(v.username, v.password) == 200
    assert login_status(ADMIN, ADMIN_PASSWORD) == 200

    # ban twice: one announcement; unban twice: fine
    assert ac.call("ban_user", {"username": v.username}) == {"success": True}
    vc.wait_for("disconnect")
    nc.wait_for("user_banned", lambda d: d["username"] == v.username)
    mark = len(nc.all())
    assert ac.call("ban_user", {"username": v.username}) == {"success": True}
    time.sleep(QUIET_WINDOW)
    assert unusual(nc, mark) == [], "no second user_banned"
    refused(nc, "unban_user", {"username": v.username}, NOT_ADMIN)
    assert_banned(v)
    assert ac.call("unban_user", {"username": v.username}) == {"success": True}
    assert ac.call("unban_user", {"username": v.username}) == {"success": True}
    assert login_status(v.username, v.password) == 200
    # unban of a user never banned changes nothing for them
    assert ac.call("unban_user", {"username": n.username}) == {"success": True}
    time.sleep(QUIET_WINDOW)
    assert nc.connected
    assert n.session.get(f"{BASE}/api/current_user", timeout=10).status_code == 200


# ---------------------------------------------------------- chat-admin ----


def chat_admin(*args, stdin=None):
    env = dict(os.environ, DATABASE_URL=CHAT_DATABASE_URL, ADMIN_USERS=",".join(x for x in (ADMIN, ADMIN2) if x))
    if CHAT_UPLOAD_DIR:
        env["UPLOAD_DIR"] = CHAT_UPLOAD_DIR
    env.pop("RUST_LOG", None)
    return subprocess.run([CHAT_ADMIN_BIN, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env)


def assert_ok(p, what):
    assert p.returncode == 0, f"chat-admin {what}: exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"chat-admin {what} prints one sentence: {p.stdout!r}"


def assert_fails(p, what):
    assert p.returncode == 1, f"chat-admin {what} must exit 1: exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"


@needs_chat_admin
def test_chat_admin_ban_and_unban_reach_the_running_server(clients, admin):
    w, v = new_user(), new_user()
    wc, vc = clients(w.session), clients(v.session)
    cookie = v.session.cookies["session"]
    p = chat_admin("ban", v.username)
    assert_ok(p, f"ban {v.username}")
    reason = vc.wait_for("disconnect", timeout=ADMIN_CMD_DEADLINE)
    assert reason == SERVER_DISCONNECT, reason
    notice = wc.wait_for("user_banned", lambda d: d["username"] == v.username, ADMIN_CMD_DEADLINE)
    assert set(notice) == {"username", "by", "timestamp"}, notice
    assert isinstance(notice["by"], str)
    time.sleep(QUIET_WINDOW)
    assert len(banned_events(wc, v.username)) == 1, banned_events(wc, v.username)
    assert_banned(v, [cookie])

    assert_fails(chat_admin("ban", rand_name("nobody_")), "ban of an unknown name")
    assert_fails(chat_admin("unban", rand_name("nobody_")), "unban of an unknown name")

    mark = len(wc.all())
    assert_ok(chat_admin("unban", v.username), f"unban {v.username}")
    r = requests.post(f"{BASE}/api/login", json={"username": v.username, "password": v.password}, timeout=10)
    assert r.status_code == 200, f"login right after chat-admin unban: {r.status_code} {r.text}"
    time.sleep(QUIET_WINDOW)
    assert unusual(wc, mark) == [], "unban broadcasts nothing"


@needs_chat_admin
def test_chat_admin_reset_password_ends_sessions_and_closes_sockets(clients, admin):
    v = new_user()
    second = requests.Session()
    assert second.post(f"{BASE}/api/login", json={"username": v.username, "password": v.password}, timeout=10).status_code == 200
    cookies = [v.session.cookies["session"], second.cookies["session"]]
    v1, v2 = clients(v.session), clients(second)
    new_password = "reset-" + rand_alnum(10)
    p = chat_admin("reset-password", v.username, stdin=new_password + "\n")
    assert_ok(p, f"reset-password {v.username}")
    assert new_password not in p.stdout + p.stderr, "the new password is not echoed"
    for s in (v1, v2):
        reason = s.wait_for("disconnect", timeout=ADMIN_CMD_DEADLINE)
        assert reason == SERVER_DISCONNECT, reason
    for cookie in cookies:
        assert_error(with_cookie(cookie).get(f"{BASE}/api/current_user", timeout=10), 401)
    assert login_status(v.username, v.password) == 401, "the old password"
    s = requests.Session()
    r = s.post(f"{BASE}/api/login", json={"username": v.username, "password": new_password}, timeout=10)
    assert r.status_code == 200, r.text
    clients(s)  # the new session connects
    assert_fails(chat_admin("reset-password", rand_name("nobody_"), stdin="whatever-123\n"), "reset-password of an unknown name")


@needs_chat_admin
def test_chat_admin_delete_message_broadcasts_message_deleted(clients, admin):
    a, w = new_user(), new_user()
    a1, wc = clients(a.session), clients(w.session)
    m1, m2 = say(a1), say(a1)
    assert_ok(chat_admin("delete-message", str(m1["id"])), f"delete-message {m1['id']}")
    assert_deleted_everywhere([a1, wc], m1["id"], ADMIN, ADMIN_CMD_DEADLINE)
    assert history_ids(a.session, [m1["id"], m2["id"]]) == [m2["id"]]

    assert_ok(chat_admin("delete-message", str(m2["id"]), "--by", w.username), f"delete-message {m2['id']} --by")
    assert_deleted_everywhere([a1, wc], m2["id"], w.username, ADMIN_CMD_DEADLINE)
    assert history_ids(a.session, [m1["id"], m2["id"]]) == []

    # an image: its file goes with its only message (chat-admin removes it from --upload-dir)
    if not CHAT_UPLOAD_DIR:
        pytest.skip("CHAT_UPLOAD_DIR (the server's --upload-dir) not set: the image part is skipped")
    up = a.session.post(f"{BASE}/api/upload", files={"file": ("p.png", PNG_1x1, "image/png")}, timeout=10)
    assert up.status_code == 200, up.text
    url = up.json()["url"]
    img = a1.call("send_message", {"content": url, "message_type": "image"})
    assert img["success"] is True, img
    assert_ok(chat_admin("delete-message", str(img["message"]["id"])), "delete-message of an image")
    assert_deleted_everywhere([a1, wc], img["message"]["id"], ADMIN, ADMIN_CMD_DEADLINE)
    gone = requests.get(BASE + url, timeout=10)
    assert gone.status_code == 404, f"GET {url} after chat-admin delete-message: {gone.status_code}"


@needs_chat_admin
def test_chat_admin_delete_message_refusals_change_nothing(clients, admin):
    a, w = new_user(), new_user()
    a1, wc = clients(a.session), clients(w.session)
    m1 = say(a1)
    assert a1.call("delete_message", {"id": m1["id"]}) == {"success": True}
    assert_deleted_everywhere([a1, wc], m1["id"], a.username)
    m3 = say(a1)
    assert_fails(chat_admin("delete-message", str(m3["id"] + 10**9)), "delete-message of an id never issued")
    assert_fails(chat_admin("delete-message", str(m1["id"])), "delete-message of a deleted message")
    assert_fails(chat_admin("delete-message", str(m3["id"]), "--by", rand_name("nobody_")), "delete-message --by an unknown name")
    time.sleep(QUIET_WINDOW)
    assert history_ids(a.session, [m3["id"]]) == [m3["id"]], "a failed delete-message changes nothing"
    assert deleted_events(wc, m3["id"]) == []
