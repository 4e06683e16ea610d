"""The image, run for real with podman, checked from outside as an operator
would (scripts/test-container.sh builds it first with images.py):

- the image: runs as chat (uid 10001), its HEALTHCHECK is `chat-server
  healthcheck`, no curl, no libpq/libssl, tzdata kept;
- `podman-compose up -d` of docker-compose.yml (port 5000, or CONTAINER_PORT,
  or a free one through an override file when 5000 is taken; named volumes):
  healthy, non-root, the page, /socket.io/socket.io.js, register, login, an
  upload, a Socket.IO round trip, `chat-cleanup --dry-run` and `chat-admin
  users --json` through exec, log
  files in the log volume; `down` then `up` keeps accounts, messages and
  images; SIGTERM stops it with exit 0 within the stop grace period;
- the adoption path: the image on a Flask chat_app.db and uploads folder
  (tests/fixtures/make_flask_db.py) mounted in; an old user logs in; the daily
  cleanup, set a minute ahead in TZ=Europe/Paris, removes the old messages and
  their images;
- docker-compose.cluster.yml: `podman-compose config` accepts it.

Run: scripts/test-container.sh   (needs root, podman, runc, podman-compose)
"""

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
import kit  # noqa: E402

from images import PODMAN, ROOT, TAG, ULIMITS  # noqa: E402

VENV_BIN = Path(sys.executable).parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
GRACE_S = int(str(COMPOSE["services"]["chat"]["stop_grace_period"]).rstrip("s"))
UID = 10001
BOOT_S = 60


def run(*cmd, check=False, timeout=120, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stdout}\n{r.stderr}", pytrace=False)
    return r


def podman(*args, **kw):
    return run(*PODMAN, *args, **kw)


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def eventually(secs, probe, step=0.5):
    deadline = time.monotonic() + secs
    while True:
        got = probe()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


def http_ok(url):
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def healthy(name):
    return podman("healthcheck", "run", name).returncode == 0


def volume_dir(name):
    return Path(podman("volume", "inspect", "--format", "{{.Mountpoint}}", name, check=True).stdout.strip())


def container_logs(name):
    r = podman("logs", name)
    return (r.stdout + r.stderr)[-4000:]


@pytest.fixture(scope="session")
def tmp():
    d = Path(tempfile.mkdtemp(prefix="chat-container."))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def path_with_podman(tmp):
    """podman-compose calls `podman`: a wrapper that adds this machine's flags."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    real = shutil.which("podman")
    flags = " ".join(PODMAN[1:])
    ulimits = " ".join(ULIMITS)
    w = bin_dir / "podman"
    w.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        f'  run | create | build) sub=$1; shift; exec {real} {flags} "$sub" {ulimits} "$@" ;;\n'
        "esac\n"
        f'exec {real} {flags} "$@"\n'
    )
    w.chmod(0o755)
    return f"{bin_dir}:{VENV_BIN}:{os.environ['PATH']}"


# ---------------------------------------------------------------- the image --


@pytest.fixture(scope="session")
def image_config():
    r = podman("image", "inspect", TAG)
    if r.returncode != 0:
        pytest.fail(f"no image {TAG}: build it with tests/container/images.py", pytrace=False)
    img = json.loads(r.stdout)[0]
    # podman shows the (docker-format) HEALTHCHECK beside Config, Docker inside it.
    return dict(img["Config"], Healthcheck=img.get("Healthcheck") or img["Config"].get("Healthcheck"))


def test_image_config(image_config):
    c = image_config
    env = dict(e.split("=", 1) for e in c["Env"])
    assert c["User"] == "chat"
    assert c["WorkingDir"] == "/app"
    assert c["Entrypoint"] == ["/usr/local/bin/docker-entrypoint.sh"]
    assert set(c["Volumes"]) == {"/data/db", "/data/uploads", "/data/logs"}
    assert "5000/tcp" in c["ExposedPorts"]
    assert c["Healthcheck"]["Test"] == ["CMD", "chat-server", "healthcheck"]
    assert {k: env.get(k) for k in ("DATABASE_URL", "UPLOAD_DIR", "LOG_DIR", "WEB_DIR", "CLEANUP_AT", "PORT")} == {
        "DATABASE_URL": "/data/db/chat_app.db", "UPLOAD_DIR": "/data/uploads", "LOG_DIR": "/data/logs",
        "WEB_DIR": "/app/web", "CLEANUP_AT": "02:00", "PORT": "5000",
    }


def in_image(script):
    return podman("run", "--rm", *ULIMITS, "--entrypoint", "sh", TAG, "-c", script)


def test_image_contents():
    """uid 10001, no curl, binaries that link neither libpq nor OpenSSL, tzdata, the page."""
    r = in_image(
        "id -u; command -v curl || echo no-curl; ldd /usr/local/bin/chat-server /usr/local/bin/chat-cleanup /usr/local/bin/chat-admin; "
        "ls /usr/lib/*/libpq.so* /usr/lib/*/libssl.so* 2>/dev/null; "
        "test -f /usr/share/zoneinfo/Europe/Paris && echo tzdata; test -f /app/web/index.html && echo page"
    )
    out = r.stdout
    assert r.returncode == 0, r.stderr
    assert out.splitlines()[0] == str(UID)
    assert "no-curl" in out
    assert "libpq" not in out and "libssl" not in out, out
    assert "tzdata" in out and "page" in out


def test_healthcheck_fails_without_a_server():
    r = podman("run", "--rm", *ULIMITS, "--entrypoint", "chat-server", TAG, "healthcheck", timeout=30)
    assert r.returncode != 0
    assert "/healthz" in r.stderr


# ------------------------------------------------------- the adoption path --


def flask_folder(tmp):
    """A Flask chat_app.db and its uploads folder, as the Flask room left them."""
    data = tmp / "flask"
    (data / "db").mkdir(parents=True)
    (data / "uploads").mkdir()
    manifest = data / "manifest.json"
    run(VENV_BIN / "python", ROOT / "tests/fixtures/make_flask_db.py", data / "db/chat_app.db", manifest,
        "--rounds", "4", check=True)
    m = json.loads(manifest.read_text())
    for msg in m["messages"]:
        if msg["message_type"] == "image":
            (data / "uploads" / msg["content"].rsplit("/", 1)[1]).write_bytes(b"img:" + msg["content"].encode())
    for p in [data, *data.rglob("*")]:
        os.chown(p, UID, UID)
    return data, m


@pytest.fixture(scope="session")
def adopted(tmp):
    """The image on a Flask folder; the daily cleanup set a minute or so ahead."""
    data, manifest = flask_folder(tmp)
    tz = "Europe/Paris"
    now = dt.datetime.now(zoneinfo.ZoneInfo(tz))
    # The next whole minute at least 60 s away: time to boot and look first.
    at = (now + dt.timedelta(seconds=120)).replace(second=0, microsecond=0)
    name = f"chat-adopt-{uuid.uuid4().hex[:8]}"
    port = kit.free_port()
    podman("run", "-d", "--init", "--name", name, *ULIMITS, "-p", f"{port}:5000",
           "-v", f"{data / 'db'}:/data/db", "-v", f"{data / 'uploads'}:/data/uploads",
           "-e", f"TZ={tz}", "-e", f"CLEANUP_AT={at:%H:%M}", "-e", "BCRYPT_COST=4", TAG, check=True)
    url = f"http://127.0.0.1:{port}"
    up = eventually(BOOT_S, lambda: http_ok(url + "/healthz"))
    # What the database holds once the server has adopted it, read from the
    # host before CLEANUP_AT (the server never shows messages past retention).
    before = set(kit.stored_contents(data / "db/chat_app.db").values()) if up else set()
    looked_early = dt.datetime.now(at.tzinfo) < at
    yield type("Adopted", (), dict(name=name, url=url, data=data, manifest=manifest, at=at, up=up,
                                   before=before, looked_early=looked_early))
    podman("rm", "-f", "-t", "5", name)


def test_adoption_old_user_logs_in_and_sees_the_old_room(adopted):
    assert adopted.up, container_logs(adopted.name)
    bob = next(u for u in adopted.manifest["users"] if u["username"] == "Bob")
    a = kit.Account(adopted.url, bob["username"], bob["password"], register=False)
    r = a.login()
    assert r.status_code == 200, r.text
    contents = [m["content"] for m in a.history(limit=100).json()["messages"]]
    assert "👍🎉" in contents and "/uploads/0a1b2c_recent.webp" in contents
    img = requests.get(adopted.url + "/uploads/0a1b2c_recent.webp", timeout=5)
    assert img.status_code == 200 and img.content == b"img:/uploads/0a1b2c_recent.webp"


# ------------------------------------------------------------ compose stack --


class Stack:
    def __init__(self, tmp, path):
        self.project = f"chattest{uuid.uuid4().hex[:8]}"
        self.port = int(os.environ.get("CONTAINER_PORT", "5000"))
        self.files = [COMPOSE_FILE]
        if "CONTAINER_PORT" not in os.environ and not port_free(self.port):
            # 5000 is taken on this machine: the same service on another port.
            self.port = kit.free_port()
        if self.port != 5000:
            override = tmp / "port-override.yml"
            override.write_text(f'services:\n  chat:\n    ports: !override ["{self.port}:5000"]\n')
            self.files.append(override)
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, PATH=path, BCRYPT_COST="4")
        self.ctr = f"{self.project}_chat_1"

    def compose(self, *args, check=True, timeout=300):
        files = [a for f in self.files for a in ("-f", f)]
        return run(VENV_BIN / "podman-compose", "-p", self.project, *files, *args,
                   check=check, timeout=timeout, env=self.env, cwd=ROOT)

    def up(self):
        self.compose("up", "-d")
        ok = eventually(BOOT_S, lambda: http_ok(self.url + "/healthz"))
        assert ok, container_logs(self.ctr)

    def volume(self, name):
        return volume_dir(f"{self.project}_{name}")


@pytest.fixture(scope="module")
def stack(tmp, path_with_podman):
    s = Stack(tmp, path_with_podman)
    s.up()
    s.state = {}
    yield s
    s.compose("down", "-v", check=False)


def test_up_is_healthy(stack):
    """The image's health check (chat-server healthcheck) passes in the container."""
    assert eventually(20, lambda: healthy(stack.ctr)), container_logs(stack.ctr)


def test_runs_as_non_root(stack):
    # podman's own descriptors (the image has no ps): host uid, user, command.
    r = podman("top", stack.ctr, "huser", "user", "comm", check=True)
    rows = [line.split() for line in r.stdout.splitlines()[1:] if line.strip()]
    assert rows and all(row[0] == str(UID) and row[1] == "chat" for row in rows), r.stdout
    assert {"chat-server", "chat-cleanup"} <= {row[-1] for row in rows}, r.stdout


def test_serves_page_and_socketio_client(stack):
    page = requests.get(stack.url + "/", timeout=5)
    assert page.status_code == 200 and "<html" in page.text.lower()
    js = requests.get(stack.url + "/socket.io/socket.io.js", timeout=5)
    assert js.status_code == 200 and "io" in js.text and len(js.content) > 1000


def test_register_login_upload_and_socket_round_trip(stack):
    a = kit.Account(stack.url)
    assert a.login().status_code == 200
    up = a.http.post(stack.url + "/api/upload", files={"file": ("p.png", kit.PNG_1x1, "image/png")}, timeout=10)
    assert up.status_code == 200, up.text
    img_url = up.json()["url"]
    assert requests.get(stack.url + img_url, timeout=5).content == kit.PNG_1x1
    b = kit.Account(stack.url)
    sa, sb = a.socket(), b.socket()
    try:
        text = "hello from " + a.username
        ack = sa.call("send_message", {"content": text, "message_type": "text"})
        assert ack and ack.get("success"), ack
        got = sb.wait_for("new_message", lambda d: isinstance(d, dict) and d.get("content") == text)
        assert got, sb.events
        ack2 = sa.call("send_message", {"content": img_url, "message_type": "image"})
        assert ack2 and ack2.get("success"), ack2
    finally:
        sa.close()
        sb.close()
    stack.state.update(account=a, text=text, image=img_url)


def test_cleanup_dry_run_through_exec(stack):
    r = stack.compose("exec", "-T", "chat", "chat-cleanup", "--dry-run", check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_chat_admin_lists_the_users_through_exec(stack):
    s = stack.state
    assert s, "the round trip test did not run"
    r = stack.compose("exec", "-T", "chat", "chat-admin", "users", "--json", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    names = [u["username"] for u in json.loads(r.stdout)]
    assert s["account"].username in names, r.stdout


def test_log_files_land_in_the_log_volume(stack):
    logs = stack.volume("logs")
    files = [p for p in logs.rglob("*") if p.is_file() and p.stat().st_size > 0]
    assert files, f"nothing in {logs}"
    assert any("listening" in p.read_text(errors="replace") for p in files)


def test_down_then_up_keeps_accounts_messages_and_images(stack):
    s = stack.state
    assert s, "the round trip test did not run"
    stack.compose("down")
    assert podman("container", "exists", stack.ctr).returncode != 0
    stack.up()
    a = kit.Account(stack.url, s["account"].username, s["account"].password, register=False)
    assert a.login().status_code == 200
    contents = [m["content"] for m in a.history(limit=100).json()["messages"]]
    assert s["text"] in contents and s["image"] in contents
    assert requests.get(stack.url + s["image"], timeout=5).content == kit.PNG_1x1


def test_sigterm_stops_with_exit_0_within_the_grace_period(stack):
    assert eventually(20, lambda: healthy(stack.ctr))
    start = time.monotonic()
    r = podman("stop", "-t", GRACE_S, stack.ctr, timeout=GRACE_S + 30)
    took = time.monotonic() - start
    assert r.returncode == 0, r.stderr
    code = podman("inspect", "--format", "{{.State.ExitCode}}", stack.ctr, check=True).stdout.strip()
    assert code == "0", container_logs(stack.ctr)
    assert took < GRACE_S, f"stop took {took:.1f} s (grace {GRACE_S} s): killed, not stopped"
    assert "stopped" in container_logs(stack.ctr)


# ------------------------------------------------------------------ cluster --


def test_cluster_compose_file_is_valid(path_with_podman):
    env = dict(os.environ, PATH=path_with_podman, POSTGRES_PASSWORD="x")
    r = run(VENV_BIN / "podman-compose", "-f", ROOT / "docker-compose.cluster.yml", "config", env=env, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = yaml.safe_load(r.stdout)
    for node in ("chat1", "chat2"):
        assert doc["services"][node]["healthcheck"]["test"] == ["CMD", "chat-server", "healthcheck"]
    assert set(doc["services"]) == {"postgres", "redis", "chat1", "chat2", "nginx"}


# ------------------------------------------ the daily cleanup, adoption path --


def test_daily_cleanup_fires_inside_the_container(adopted):
    """At CLEANUP_AT (TZ=Europe/Paris) the messages past 7 days and their images go."""
    assert adopted.up, container_logs(adopted.name)
    assert adopted.looked_early, "the database was first read after CLEANUP_AT"
    m = adopted.manifest
    written = dt.datetime.strptime(m["written_at"], "%Y-%m-%d %H:%M:%S.%f")
    old = {x["content"] for x in m["messages"]
           if dt.datetime.strptime(x["timestamp"], "%Y-%m-%d %H:%M:%S.%f") < written - dt.timedelta(days=7)}
    assert "/uploads/3f2a1c_old_cat.png" in old and len(old) == 5
    assert old <= adopted.before, "the old messages were gone before CLEANUP_AT"
    db = adopted.data / "db/chat_app.db"

    def stored():
        return set(kit.stored_contents(db).values())

    left = (adopted.at - dt.datetime.now(adopted.at.tzinfo)).total_seconds()
    gone = eventually(max(left, 0) + 60, lambda: not (old & stored()), step=2)
    assert gone, f"still there after CLEANUP_AT {adopted.at:%H:%M}: {old & stored()}\n{container_logs(adopted.name)}"
    assert dt.datetime.now(adopted.at.tzinfo) >= adopted.at, "gone before CLEANUP_AT"
    assert "six days old, still shown" in stored()
    uploads = {p.name for p in (adopted.data / "uploads").iterdir()}
    assert "3f2a1c_old_cat.png" not in uploads and "9b8c7d_old_dog.jpg" not in uploads
    assert "0a1b2c_recent.webp" in uploads
    # The server is still up and alice still logs in.
    alice = next(u for u in m["users"] if u["username"] == "alice")
    assert kit.Account(adopted.url, alice["username"], alice["password"], register=False).login().status_code == 200
