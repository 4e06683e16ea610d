"""PROTOCOL.md §1 and §4 through python-socketio (the other reference client)."""

import re
import time

import pytest
import requests
import socketio

from conftest import (
    BASE,
    EVENT_TIMEOUT,
    PNG_1x1,
    QUIET_WINDOW,
    TRANSPORTS,
    Recorder,
    cookie_header,
    new_user,
    rand_alnum,
)

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def assert_online_users(d):
    assert set(d) == {"count", "users"}, d
    assert d["count"] == len(d["users"])
    assert d["users"] == sorted(d["users"]), "sorted"
    assert len(set(d["users"])) == len(d["users"])


def assert_presence(d, username):
    assert set(d) == {"username", "online_count", "timestamp"}, d
    assert d["username"] == username
    assert isinstance(d["online_count"], int)
    assert RFC3339_UTC.match(d["timestamp"]), d["timestamp"]


def assert_message(m, **expect):
    assert set(m) == {"id", "user_id", "username", "content", "message_type", "timestamp"}, m
    assert RFC3339_UTC.match(m["timestamp"]), m["timestamp"]
    for k, v in expect.items():
        assert m[k] == v, (k, m[k], v)


def test_connect_without_session_gets_connect_error_unauthorized():
    r = Recorder(None)
    with pytest.raises(socketio.exceptions.ConnectionError):
        r.connect()
    assert r.wait_for("connect_error") == {"message": "unauthorized"}
    assert not r.connected


def test_connect_with_made_up_cookie_gets_unauthorized():
    r = Recorder("session=" + rand_alnum(30))
    with pytest.raises(socketio.exceptions.ConnectionError):
        r.connect()
    assert r.wait_for("connect_error") == {"message": "unauthorized"}


def test_default_client_upgrades_from_polling_to_websocket(clients):
    if TRANSPORTS is not None:
        pytest.skip("a transport is forced by SIO_TRANSPORTS")
    u = new_user()
    c = clients(u.session)
    ack = c.call("send_message", {"content": "upgrade " + rand_alnum(5)})
    assert ack["success"] is True
    deadline = time.monotonic() + EVENT_TIMEOUT
    while c.sio.transport() != "websocket" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.sio.transport() == "websocket"


def test_simple_client_receives_online_users_first():
    u = new_user()
    with socketio.SimpleClient() as sc:
        sc.connect(BASE, headers={"Cookie": cookie_header(u.session)}, transports=TRANSPORTS, wait_timeout=EVENT_TIMEOUT)
        seen = []
        while True:
            event, *args = sc.receive(timeout=EVENT_TIMEOUT)
            seen.append(event)
            if event == "online_users":
                assert_online_users(args[0])
                assert u.username in args[0]["users"]
                break
            assert event == "user_joined", f"unexpected {event} before online_users"


def test_join_broadcast_second_tab_and_leave(clients):
    a = new_user()
    ca = clients(a.session)
    ca.wait_for("online_users", lambda d: a.username in d["users"])
    b = new_user()
    b1 = clients(b.session)
    joined = ca.wait_for("user_joined", lambda d: d["username"] == b.username)
    assert_presence(joined, b.username)
    lst = ca.wait_for("online_users", lambda d: b.username in d["users"])
    assert_online_users(lst)
    assert joined["online_count"] == lst["count"]
    b1.wait_for("online_users", lambda d: b.username in d["users"])

    b2 = clients(b.session)
    own = b2.wait_for("online_users")
    assert_online_users(own)
    assert own["count"] == lst["count"], "a second tab counts once"
    ca.assert_no("user_joined", lambda d: d["username"] == b.username)

    b1.close()
    ca.assert_no("user_left", lambda d: d["username"] == b.username)
    b2.close()
    left = ca.wait_for("user_left", lambda d: d["username"] == b.username)
    assert_presence(left, b.username)
    after = ca.wait_for("online_users", lambda d: b.username not in d["users"])
    assert_online_users(after)
    assert left["online_count"] == after["count"]


def test_send_message_with_callback_and_broadcast(clients):
    a, b = new_user(), new_user()
    ca, cb = clients(a.session), clients(b.session)
    content = "py hello " + rand_alnum(6)
    ack = ca.call("send_message", {"content": f"  {content}  "})
    assert set(ack) == {"success", "message"}
    assert ack["success"] is True
    m = ack["message"]
    assert_message(m, content=content, message_type="text", username=a.username, user_id=a.id)
    assert cb.wait_for("new_message", lambda x: x["id"] == m["id"]) == m
    assert ca.wait_for("new_message", lambda x: x["id"] == m["id"]) == m
    stored = a.session.get(f"{BASE}/api/messages", params={"after_id": m["id"] - 1}).json()["messages"]
    assert stored[0] == m


def test_send_message_without_callback(clients):
    a, b = new_user(), new_user()
    ca, cb = clients(a.session), clients(b.session)
    content = "py no ack " + rand_alnum(6)
    ca.emit("send_message", {"content": content, "message_type": "emoji"})
    m = cb.wait_for("new_message", lambda x: x["content"] == content)
    assert_message(m, message_type="emoji", username=a.username)


@pytest.mark.parametrize(
    "payload",
    [
        "just a string",
        42,
        ["list"],
        None,
        {},
        {"content": None},
        {"content": 7},
        {"content": ""},
        {"content": " \n\t "},
        {"content": "x" * 2001},
        {"content": "😀" * 2001},
        {"content": "ok", "message_type": None},
        {"content": "ok", "message_type": "video"},
        {"content": "/uploads/never-issued.png", "message_type": "image"},
        {"content": "https://example.com/a.png", "message_type": "image"},
        {"content": "/uploads/../../etc/passwd", "message_type": "image"},
    ],
    ids=lambda p: repr(p)[:40],
)
def test_send_message_refusals(clients, payload):
    a, b = new_user(), new_user()
    ca, cb = clients(a.session), clients(b.session)
    ack = ca.call("send_message", payload)
    assert set(ack) == {"success", "error"}, ack
    assert ack["success"] is False and isinstance(ack["error"], str) and ack["error"]
    ca.emit("send_message", payload)
    err = ca.wait_for("error")
    assert set(err) == {"message"} and isinstance(err["message"], str)
    cb.assert_no("new_message", lambda m: m["user_id"] == a.id)
    assert not cb.pending("error"), "the error goes to the sender alone"
    assert ca.connected and cb.connected


def test_send_message_2000_code_points_accepted(clients):
    a = new_user()
    ca = clients(a.session)
    for unit in ("a", "中", "😀"):
        ack = ca.call("send_message", {"content": unit * 2000})
        assert ack["success"] is True, ack
        assert ack["message"]["content"] == unit * 2000


def test_send_message_uploaded_image(clients):
    a = new_user()
    ca = clients(a.session)
    up = a.session.post(f"{BASE}/api/upload", files={"file": ("p.png", PNG_1x1, "image/png")}).json()
    ack = ca.call("send_message", {"content": up["url"], "message_type": "image"})
    assert ack["success"] is True, ack
    assert_message(ack["message"], content=up["url"], message_type="image")


def test_flood_limit_across_two_sockets(clients):
    a, b = new_user(), new_user()
    t1, t2, cb = clients(a.session), clients(a.session), clients(b.session)
    for i in range(20):
        ack = (t1 if i % 2 else t2).call("send_message", {"content": f"py flood {i}"})
        assert ack["success"] is True, (i, ack)
    assert t1.call("send_message", {"content": "py flood 21"})["success"] is False
    assert t2.call("send_message", {"content": "py flood 22"})["success"] is False
    assert cb.call("send_message", {"content": "other user"})["success"] is True


def test_logout_disconnects_only_that_sessions_sockets(clients):
    w = new_user()
    cw = clients(w.session)
    cw.wait_for("online_users", lambda d: w.username in d["users"])
    a = new_user()
    other = requests.Session()
    assert other.post(f"{BASE}/api/login", json={"username": a.username, "password": a.password}).status_code == 200
    s1 = clients(a.session)
    s2 = clients(other)
    assert a.session.post(f"{BASE}/api/logout").status_code == 200
    s1.wait_for("disconnect")
    assert s2.connected
    cw.assert_no("user_left", lambda d: d["username"] == a.username)
    assert other.post(f"{BASE}/api/logout").status_code == 200
    s2.wait_for("disconnect")
    cw.wait_for("user_left", lambda d: d["username"] == a.username)


def test_unknown_events_and_garbage_disconnect_no_one_else(clients):
    a, b, c = new_user(), new_user(), new_user()
    ca, cb, cc = clients(a.session), clients(b.session), clients(c.session)
    ca.emit("no_such_event", {"x": 1})
    ca.emit("send_message")
    ca.sio.eio.send('2["send_message",')  # a malformed Socket.IO packet
    ca.sio.eio.send("2garbage")
    ack = cb.call("send_message", {"content": "bystander " + rand_alnum(4)})
    assert ack["success"] is True
    cc.wait_for("new_message", lambda m: m["id"] == ack["message"]["id"])
    assert cb.connected and cc.connected
    assert requests.get(f"{BASE}/healthz").status_code == 200


def test_over_size_payload_refused_or_closes_only_that_client(clients):
    a, b = new_user(), new_user()
    ca, cb = clients(a.session), clients(b.session)
    try:
        ack = ca.call("send_message", {"content": "z" * 1_100_000})
        assert ack["success"] is False
    except socketio.exceptions.TimeoutError:
        ca.wait_for("disconnect")
    except socketio.exceptions.BadNamespaceError:
        pass  # already disconnected
    ack = cb.call("send_message", {"content": "still fine"})
    assert ack["success"] is True
    assert requests.get(f"{BASE}/healthz").status_code == 200
    cb.assert_no("new_message", lambda m: len(m["content"]) > 2000, QUIET_WINDOW)
