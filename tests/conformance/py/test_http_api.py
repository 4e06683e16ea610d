"""PROTOCOL.md §2-§3 through `requests` (a real cookie jar, like a browser)."""

import re
import time
from datetime import datetime, timezone

import requests

from conftest import BASE, PNG_1x1, assert_error, new_user, rand_name, rand_password

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
LOGIN_401 = {"success": False, "error": "用户名或密码错误"}


def parse_ts(ts):
    assert isinstance(ts, str) and RFC3339_UTC.match(ts), f"RFC 3339 UTC with Z: {ts!r}"
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def assert_user(u, username=None):
    # The Flask room's fields, and is_admin (PROTOCOL §6.6; no admin is named here).
    assert set(u) == {"id", "username", "created_at", "is_admin"}, u
    assert u["is_admin"] is False, u
    assert isinstance(u["id"], int)
    if username is not None:
        assert u["username"] == username
    created = parse_ts(u["created_at"])
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 600


def session_cookie(s):
    for c in s.cookies:
        if c.name == "session":
            return c
    raise AssertionError(f"no session cookie in {list(s.cookies)}")


def test_register_201_logs_the_new_user_in():
    s = requests.Session()
    name = rand_name()
    r = s.post(f"{BASE}/api/register", json={"username": name, "password": rand_password()})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True
    assert_user(body["user"], name)
    me = s.get(f"{BASE}/api/current_user")
    assert me.status_code == 200
    assert me.json() == {"success": True, "user": body["user"]}


def test_session_cookie_is_httponly_samesite_lax_and_lasts_7_days():
    s = requests.Session()
    r = s.post(f"{BASE}/api/register", json={"username": rand_name(), "password": rand_password()})
    assert r.status_code == 201
    c = session_cookie(s)
    rest = {k.lower(): v for k, v in c._rest.items()}
    assert "httponly" in rest, f"HttpOnly missing: {r.headers.get('Set-Cookie')}"
    assert str(rest.get("samesite", "")).lower() == "lax", r.headers.get("Set-Cookie")
    assert c.expires is not None, "the cookie is persistent"
    assert abs(c.expires - time.time() - 7 * 86400) < 3600, "about 7 days"


def test_login_issues_a_fresh_session_id():
    u = new_user()
    s = requests.Session()
    s.cookies.set("session", "planted-" + rand_name(), domain=requests.utils.urlparse(BASE).hostname)
    planted = s.cookies.get("session")
    r = s.post(f"{BASE}/api/login", json={"username": u.username, "password": u.password})
    assert r.status_code == 200, r.text
    assert "session=" in r.headers.get("Set-Cookie", "")
    fresh = [c for c in s.cookies if c.name == "session" and c.value != planted]
    assert fresh, "login must issue a new session id"
    old = requests.get(f"{BASE}/api/current_user", headers={"Cookie": f"session={planted}"})
    assert old.status_code == 401


def test_register_400_for_out_of_bounds_and_409_for_duplicates():
    for body in [
        {},
        {"username": "a", "password": "secret-pw"},
        {"username": "t_" + "x" * 19, "password": "secret-pw"},
        {"username": "  ", "password": "secret-pw"},
        {"username": "bad name", "password": "secret-pw"},
        {"username": "bad!name", "password": "secret-pw"},
        {"username": rand_name(), "password": "12345"},
        {"username": rand_name(), "password": "p" * 73},
        {"username": rand_name(), "password": "密" * 25},
        {"username": 42, "password": "secret-pw"},
        {"username": rand_name(), "password": None},
    ]:
        assert_error(requests.post(f"{BASE}/api/register", json=body), 400)
    u = new_user()
    assert_error(requests.post(f"{BASE}/api/register", json={"username": u.username, "password": "secret-pw"}), 409)
    assert_error(
        requests.post(f"{BASE}/api/register", json={"username": u.username.upper(), "password": "secret-pw"}), 409
    )


def test_register_accepts_unicode_names_and_72_byte_multibyte_passwords():
    name = "测试" + rand_name("_")
    pw = "密" * 24
    s = requests.Session()
    r = s.post(f"{BASE}/api/register", json={"username": name, "password": pw})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["username"] == name
    r = requests.post(f"{BASE}/api/login", json={"username": name, "password": pw})
    assert r.status_code == 200, r.text


def test_login_200_401_and_exact_401_body():
    u = new_user()
    s = requests.Session()
    r = s.post(f"{BASE}/api/login", json={"username": u.username, "password": u.password})
    assert r.status_code == 200
    assert r.json() == {"success": True, "user": u.user}
    bad = requests.post(f"{BASE}/api/login", json={"username": u.username, "password": "wrong-pass"})
    assert bad.status_code == 401
    assert bad.json() == LOGIN_401
    unknown = requests.post(f"{BASE}/api/login", json={"username": rand_name(), "password": "wrong-pass"})
    assert unknown.status_code == 401
    assert unknown.json() == LOGIN_401
    assert_error(requests.post(f"{BASE}/api/login", json={"username": u.username}), 400)
    assert_error(requests.post(f"{BASE}/api/login", data="nope", headers={"Content-Type": "application/json"}), 400)


def test_login_lockout_429_after_5_failures():
    u = new_user()
    for _ in range(5):
        assert requests.post(f"{BASE}/api/login", json={"username": u.username, "password": "wrong-pass"}).status_code == 401
    assert_error(requests.post(f"{BASE}/api/login", json={"username": u.username, "password": u.password}), 429)
    other = new_user()
    r = requests.post(f"{BASE}/api/login", json={"username": other.username, "password": other.password})
    assert r.status_code == 200


def test_logout_destroys_the_session_and_is_200_when_logged_out():
    u = new_user()
    cookie = u.session.cookies.get("session")
    r = u.session.post(f"{BASE}/api/logout")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert_error(u.session.get(f"{BASE}/api/current_user"), 401)
    assert_error(requests.get(f"{BASE}/api/current_user", headers={"Cookie": f"session={cookie}"}), 401)
    r = requests.post(f"{BASE}/api/logout")
    assert r.status_code == 200 and r.json() == {"success": True}


def test_current_user_401_when_not_logged_in():
    assert_error(requests.get(f"{BASE}/api/current_user"), 401)


def test_messages_api_bounds_and_auth():
    u = new_user()
    r = u.session.get(f"{BASE}/api/messages")
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and isinstance(body["messages"], list)
    assert len(body["messages"]) <= 50
    ids = [m["id"] for m in body["messages"]]
    assert ids == sorted(ids), "oldest first"
    for m in body["messages"]:
        assert set(m) == {"id", "user_id", "username", "content", "message_type", "timestamp"}
        parse_ts(m["timestamp"])
    assert len(u.session.get(f"{BASE}/api/messages", params={"limit": 5000}).json()["messages"]) <= 200
    for q in [{"limit": 0}, {"limit": -3}, {"limit": "ten"}, {"before_id": "x"}, {"after_id": "1.5"}]:
        assert_error(u.session.get(f"{BASE}/api/messages", params=q), 400)
    assert_error(requests.get(f"{BASE}/api/messages"), 401)


def test_upload_png_then_get_it_with_content_type_and_nosniff():
    u = new_user()
    r = u.session.post(f"{BASE}/api/upload", files={"file": ("x.png", PNG_1x1, "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert body["url"] == "/uploads/" + body["filename"]
    g = requests.get(BASE + body["url"])
    assert g.status_code == 200
    assert g.headers["Content-Type"].split(";")[0] == "image/png"
    assert g.headers.get("X-Content-Type-Options", "").lower() == "nosniff"
    assert g.content == PNG_1x1


def test_upload_failures_400_401_413():
    u = new_user()
    assert_error(u.session.post(f"{BASE}/api/upload", files={"file": ("x.png", b"not an image", "image/png")}), 400)
    assert_error(u.session.post(f"{BASE}/api/upload", files={"other": ("x.png", PNG_1x1, "image/png")}), 400)
    assert_error(u.session.post(f"{BASE}/api/upload", data={"a": "b"}), 400)
    assert_error(requests.post(f"{BASE}/api/upload", files={"file": ("x.png", PNG_1x1, "image/png")}), 401)
    big = PNG_1x1 + b"\0" * (5 * 1024 * 1024 + 1 - len(PNG_1x1))
    assert_error(u.session.post(f"{BASE}/api/upload", files={"file": ("big.png", big, "image/png")}), 413)
    exact = PNG_1x1 + b"\0" * (5 * 1024 * 1024 - len(PNG_1x1))
    r = u.session.post(f"{BASE}/api/upload", files={"file": ("big.png", exact, "image/png")})
    assert r.status_code == 200, r.text


def test_uploads_404_for_unknown_and_traversal():
    assert requests.get(f"{BASE}/uploads/nothing-{rand_name()}.png").status_code == 404
    # requests keeps percent-escapes as they are
    assert requests.get(f"{BASE}/uploads/..%2f..%2fetc%2fpasswd").status_code == 404


def test_static_index_catch_all_and_api_404():
    root = requests.get(f"{BASE}/")
    assert root.status_code == 200
    assert root.headers["Content-Type"].startswith("text/html")
    other = requests.get(f"{BASE}/some/page")
    assert other.status_code == 200 and other.text == root.text
    assert_error(requests.get(f"{BASE}/api/x"), 404)
    for f in ("socket.io.js", "socket.io.min.js"):
        js = requests.get(f"{BASE}/socket.io/{f}")
        assert js.status_code == 200
        assert "javascript" in js.headers["Content-Type"]
        assert "Socket.IO v4" in js.text[:400]
