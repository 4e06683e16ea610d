"""Helpers of tests/ops/test_ops.py: running the scripts, waiting, finding the
daily cleanup under a process, telling a real binary from a missing one.

Nothing here decides a test's verdict.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STUBS = Path(__file__).resolve().parent / "stubs"
ENTRYPOINT = ROOT / "scripts" / "docker-entrypoint.sh"
INSTALL_CRON = ROOT / "scripts" / "install-cron.sh"
SERVER_BIN = os.environ.get("CHAT_SERVER_BIN") or str(ROOT / "target" / "debug" / "chat-server")
CLEANUP_BIN = os.environ.get("CHAT_CLEANUP_BIN") or str(ROOT / "target" / "debug" / "chat-cleanup")
# OPS_REQUIRE_BINARIES=1: a missing real binary is a failure, not a skip.
STRICT = os.environ.get("OPS_REQUIRE_BINARIES", "0") == "1"
NO_BIN_REASON = "real binaries not built (cargo build -p chat-server -p chat-cleanup)"

# Settings of the entrypoint and the stubs that must come from the test alone.
_SCRUBBED = (
    "DATABASE_URL", "UPLOAD_DIR", "LOG_DIR", "CLEANUP_AT", "TZ", "HOST", "PORT", "BCRYPT_COST",
    "STUB_OUT", "CLEANUP_OUT", "CLEANUP_RC", "CLEANUP_CHECK_RC",
)


def env(path_first=None, **values):
    """The current environment without the settings above, plus `values`;
    `path_first` goes in front of PATH."""
    e = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    if path_first:
        e["PATH"] = f"{path_first}:{e.get('PATH', '/usr/bin:/bin')}"
    e.update({k: str(v) for k, v in values.items()})
    return e


def run(cmd, env=None, timeout=30, stderr=subprocess.STDOUT, **kw):
    """Runs cmd (cwd ROOT); returns (exit code, output). The output has its
    trailing newlines removed, as $(...) does. A timeout gives exit code 124."""
    try:
        p = subprocess.run(
            [str(c) for c in cmd], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=stderr, timeout=timeout, **kw,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        return 124, out.decode(errors="replace").rstrip("\n")
    return p.returncode, p.stdout.decode(errors="replace").rstrip("\n")


def start(cmd, log_path, env):
    """Starts cmd in the background (cwd ROOT), output to log_path."""
    log = open(log_path, "wb")
    try:
        return subprocess.Popen(
            [str(c) for c in cmd], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def wait_exit(proc, secs):
    """Waits for proc; its exit code, or 124 when it is still running after secs."""
    try:
        return proc.wait(secs)
    except subprocess.TimeoutExpired:
        return 124


def stop(proc):
    """Ends proc (TERM, then KILL) if it still runs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        if wait_exit(proc, 5) == 124:
            proc.kill()
            proc.wait()


def eventually(secs, pred):
    """pred() is true within secs (tried every 0.1 s)."""
    deadline = time.monotonic() + secs
    while True:
        try:
            if pred():
                return True
        except OSError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A zombie is gone too (its parent has not reaped it yet).
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid):
    kids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(p.name))
    return kids


def sched_of(pid):
    """The pid of the daily cleanup (chat-cleanup --daily-at) started by pid, or None."""
    for kid in children(pid):
        if "chat-cleanup --daily-at" in cmdline(kid):
            return kid
    return None


def kill_under(folder):
    """Kills what runs from folder (stubs orphaned by a broken entrypoint)."""
    needle = f"{folder}/"
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and int(p.name) != os.getpid() and needle in cmdline(p.name):
            try:
                os.kill(int(p.name), signal.SIGKILL)
            except OSError:
                pass


def real_bin(path):
    """path is the real binary (not missing, not a placeholder)."""
    if not os.access(path, os.X_OK):
        return False
    return "--database-url" in run([path, "--help"], timeout=10)[1]


def install_stubs(folder):
    """Copies the stub chat-server and chat-cleanup into folder (executable)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("chat-server", "chat-cleanup"):
        shutil.copy(STUBS / name, folder / name)
        os.chmod(folder / name, 0o755)
    return folder


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def lines(path):
    try:
        return Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return []


def grep(pattern, text):
    """Some line of text matches the extended regex pattern (as grep -E)."""
    return any(re.search(pattern, line) for line in text.splitlines())
