"""chat-cleanup against a live server under traffic.

While users send messages over Socket.IO (traffic.py) and old messages keep
appearing in the server's SQLite file, chat-cleanup runs in a loop. Then:
every new message is stored and served, no old message is left, an image that
a new message shows stays, one only old messages showed is gone, old log files
are gone and other files stay, every cleanup run succeeded, the server logged
no error and still answers.

The Rust tests (cargo test -p chat-cleanup) cover the exact file and message
rules on SQLite and PostgreSQL; this covers the concurrency.

    .venv/bin/python -m pytest tests/cleanup        (or scripts/test-cleanup.sh)

Environment: CHAT_SERVER_BIN and CLEANUP_BIN (or CHAT_CLEANUP_BIN) name the
binaries (default target/debug/*; a missing one is a failure, never a skip);
CLEANUP_TEST_SECONDS the traffic's length (15); CLEANUP_TEST_NO_BUILD=1 skips
the `cargo build -p chat-server -p chat-cleanup` done first; KEEP_TEST_DATA=1
keeps the data folder.

The scenario runs once (the `live` fixture, in order: server, log files,
cleanup loop under traffic, a final run, a second run, /healthz); each test
asserts one of its outcomes, so every test can also run alone.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
sys.path.insert(0, str(HERE))

try:
    import requests
    import socketio  # noqa: F401
except ImportError as e:  # a collection error: the suite fails
    raise ImportError(f"python-socketio missing in {sys.prefix} (run scripts/install-deps.sh): {e}") from e

import kit  # noqa: E402
import traffic  # noqa: E402

CLEANUP_BIN = os.environ.get("CLEANUP_BIN") or os.environ.get("CHAT_CLEANUP_BIN") or str(ROOT / "target" / "debug" / "chat-cleanup")
SECONDS_OF_TRAFFIC = float(os.environ.get("CLEANUP_TEST_SECONDS", "15"))

OLD_LOGS = ["chat-server.log.2020-01-01", "chat-server.log", "app.log.1.gz"]
KEPT_FILES = ["notes.txt", "chat-server.log.today", "archive.log/deep.log"]
SERVER_ERROR = re.compile(r'\bERROR\b|"level":"ERROR"|panicked')


class Live:
    """What the scenario did, for the tests to check."""

    server = None
    started = False
    traffic = None  # traffic.send_traffic's state
    traffic_error = None  # what send_traffic raised, if it did
    logs = None  # the --log-dir folder
    runs = ()  # (i, exit code) of each looped cleanup run
    busy_runs = 0  # looped runs whose output says they deleted messages
    final = None  # CompletedProcess of the run after the traffic
    verify = ()  # traffic.verify_checks's (name, ok, why)
    again = ""  # stdout of the run after that
    health = None  # /healthz status code, or the exception's text


def executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def cleanup_cmd(db, uploads, logs, *extra):
    return [CLEANUP_BIN, "--database-url", str(db), "--upload-dir", str(uploads), "--log-dir", str(logs), *extra]


def make_log_files(logs):
    """Log files of known ages next to files that must stay."""
    old = time.time() - 40 * 86400
    for name, text in [*((f, "old") for f in OLD_LOGS), ("notes.txt", "keep")]:
        (logs / name).write_text(text + "\n")
        os.utime(logs / name, (old, old))
    (logs / "chat-server.log.today").write_text("new\n")
    (logs / "archive.log").mkdir()
    (logs / "archive.log" / "deep.log").write_text("keep\n")
    os.utime(logs / "archive.log" / "deep.log", (old, old))


def cleanup_loop(data, cmd, stop, runs):
    """chat-cleanup in a loop until `stop` is set; each run's exit status is recorded."""
    i = 0
    while not stop.is_set():
        i += 1
        with open(data / f"cleanup-{i}.out", "wb") as out, open(data / f"cleanup-{i}.err", "wb") as err:
            rc = subprocess.run(cmd, stdout=out, stderr=err).returncode
        runs.append((i, rc))
        time.sleep(0.2)


@pytest.fixture(scope="session")
def binaries():
    if not os.environ.get("CLEANUP_TEST_NO_BUILD"):
        r = subprocess.run(["cargo", "build", "-q", "-p", "chat-server", "-p", "chat-cleanup"], cwd=ROOT)
        if r.returncode != 0:
            pytest.fail("build: cargo build -p chat-server -p chat-cleanup failed", pytrace=False)
    for path in (CLEANUP_BIN, kit.SERVER_BIN):
        if not executable(path):
            pytest.fail(f"no {path}", pytrace=False)


@pytest.fixture(scope="session")
def live(binaries):
    live = Live()
    server = live.server = kit.Server()
    try:
        server.start()
        live.started = server.alive()
        data, db, uploads = server.data, server.database_url, server.upload_dir
        logs = data / "cleanup-logs"
        uploads.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        make_log_files(logs)

        stop, runs = threading.Event(), []
        loop_cmd = cleanup_cmd(db, uploads, logs, "--batch-size", "100", "--batch-pause-ms", "10")
        loop = threading.Thread(target=cleanup_loop, args=(data, loop_cmd, stop, runs))
        loop.start()
        try:
            live.traffic = traffic.send_traffic(server.url, db, seconds=SECONDS_OF_TRAFFIC)
            print(traffic.summary(live.traffic))
        except Exception as e:  # noqa: BLE001 - a check fails; the others still run
            live.traffic_error = repr(e)
        finally:
            stop.set()
            loop.join()
        live.runs = list(runs)
        live.busy_runs = sum(
            1
            for i, _ in runs
            if re.search(r"^messages: [1-9]", (data / f"cleanup-{i}.out").read_text(errors="replace"), re.M)
        )

        # One last run after the traffic: what the old-message writer added last.
        live.final = subprocess.run(cleanup_cmd(db, uploads, logs), capture_output=True, text=True)
        if live.traffic is not None:
            live.verify = traffic.verify_checks(server.url, db, uploads, live.traffic)
        live.logs = logs
        # A second real run now removes nothing (checked from its output).
        live.again = subprocess.run(cleanup_cmd(db, uploads, logs), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        try:
            live.health = requests.get(server.url + "/healthz", timeout=10).status_code
        except requests.RequestException as e:
            live.health = repr(e)
        yield live
    finally:
        server.stop()
        if not os.environ.get("KEEP_TEST_DATA"):
            shutil.rmtree(server.data, ignore_errors=True)
        else:
            print(f"data kept in {server.data}")


def verified(live, name):
    assert live.traffic is not None, f"traffic failed: {live.traffic_error}"
    for n, ok, why in live.verify:
        if n == name:
            return ok, why
    raise AssertionError(f"traffic.verify_checks made no check named {name!r}")


def test_chat_server_started(live):
    assert live.started, f"chat-server did not start on {live.server.url}"


def test_traffic_sent_while_cleaning(live):
    assert live.traffic is not None, f"traffic failed: {live.traffic_error}"
    assert traffic.traffic_ok(live.traffic), traffic.summary(live.traffic)


def test_concurrent_cleanup_runs_all_succeeded(live):
    bad = [i for i, rc in live.runs if rc != 0]
    tails = "\n".join(
        "\n".join((live.server.data / f"cleanup-{i}.err").read_text(errors="replace").splitlines()[-5:]) for i in bad[:3]
    )
    assert len(live.runs) >= 3 and not bad, f"concurrent cleanup runs: {len(live.runs)} runs, {len(bad)} failed\n{tails}"


def test_runs_deleted_messages_while_the_server_took_new_ones(live):
    assert live.busy_runs >= 2, f"only {live.busy_runs} runs had old messages to delete"


def test_final_cleanup_run(live):
    tail = "\n".join(live.final.stderr.splitlines()[-3:])
    assert live.final.returncode == 0, f"final cleanup run: {tail}"


@pytest.mark.parametrize(
    "name",
    [
        "traffic without errors",
        "some new messages were sent",
        "every new message is served",
        "every new message is stored",
        "no message was stored twice",
        "no old message is left",
        "an image a new message shows stays",
        "an image only old messages showed is gone",
    ],
)
def test_after_traffic(live, name):
    if name == "every new message is served":
        history = [why for n, ok, why in live.verify if n == "history readable" and not ok]
        assert not history, f"history readable: {history[0]}"
    ok, why = verified(live, name)
    assert ok, f"{name}: {why}"


def test_old_log_files_removed_other_files_kept(live):
    gone = sum(not (live.logs / f).exists() for f in OLD_LOGS)
    kept = sum((live.logs / f).exists() for f in KEPT_FILES)
    assert gone == 3 and kept == 3, f"log folder: {gone} of 3 old logs removed, {kept} of 3 other files kept"


def test_running_it_again_removes_nothing(live):
    out = live.again
    assert all(re.search(p, out, re.M) for p in (r"^messages: 0 ", r"^images: 0 ", r"^log files: 0 ")), f"running it again: {out}"


def test_server_still_healthy(live):
    assert isinstance(live.health, int) and live.health < 400, f"server no longer answers /healthz: {live.health}"


def test_server_logged_no_error(live):
    errors = [line for line in live.server.log_text().splitlines() if SERVER_ERROR.search(line)]
    assert not errors, "server logged errors: " + "\n".join(errors[:3])
