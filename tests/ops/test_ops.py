"""Tests of the deployment files that need no container engine: the build
context (.dockerignore) and the Compose file (static checks; the image itself
is built and run by scripts/test-container.sh), the container entrypoint and the daily
cleanup it starts (`chat-cleanup --daily-at`; run for real outside Docker,
with temp folders), the cron line and scripts/install-cron.sh, and the
systemd units (systemd-analyze verify). The schedule's arithmetic (zones,
DST, missed days) is tested in Rust: cargo test -p chat-cleanup.

The parts that need the real binaries use target/debug/chat-server and
target/debug/chat-cleanup (build them: cargo build -p chat-server -p chat-cleanup;
override with CHAT_SERVER_BIN / CHAT_CLEANUP_BIN). They are skipped while the
binaries are missing or placeholders, unless OPS_REQUIRE_BINARIES=1, which
turns those skips into failures. Where only the scripts are under test, the
stubs in tests/ops/stubs stand in for the binaries.

Run: scripts/test-ops.sh   (or .venv/bin/python -m pytest tests/ops)
"""

import datetime as d
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from ops_lib import (
    CLEANUP_BIN, ENTRYPOINT, INSTALL_CRON, NO_BIN_REASON, ROOT, SERVER_BIN, STRICT,
    env, eventually, free_port, gone, grep, http_ok, install_stubs, kill_under, lines,
    real_bin, run, sched_of, start, stop, wait_exit,
)

HAVE_SERVER = real_bin(SERVER_BIN)
HAVE_CLEANUP = real_bin(CLEANUP_BIN)


def need_bins(*which):
    """Skips (fails under OPS_REQUIRE_BINARIES=1) without the real binaries."""
    have = {"server": HAVE_SERVER, "cleanup": HAVE_CLEANUP}
    if all(have[w] for w in which):
        return
    if STRICT:
        pytest.fail(f"skipped: {NO_BIN_REASON}; OPS_REQUIRE_BINARIES=1", pytrace=False)
    pytest.skip(NO_BIN_REASON)


@pytest.fixture(scope="session")
def tmp():
    folder = Path(tempfile.mkdtemp(prefix="chat-ops."))
    yield folder
    kill_under(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def stubs(tmp):
    return install_stubs(tmp / "stub-bin")


def started(path):
    return lambda: Path(path).stat().st_size > 0


# ===========================================================================
# Scripts
# ===========================================================================
SCRIPTS = ["scripts/docker-entrypoint.sh", "scripts/install-cron.sh", "scripts/test-ops.sh"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_executable(script):
    p = ROOT / script
    assert p.is_file() and p.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"


def test_entrypoint_is_valid_posix_sh():
    rc, out = run(["dash", "-n", ENTRYPOINT])
    assert rc == 0, out


def test_install_cron_is_valid_bash():
    rc, out = run(["bash", "-n", INSTALL_CRON])
    assert rc == 0, out


def test_shell_scheduler_is_gone():
    """chat-cleanup --daily-at replaced scripts/cleanup-scheduler.sh."""
    assert not (ROOT / "scripts/cleanup-scheduler.sh").exists()


def test_shellcheck():
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck not installed")
    rc, out = run(["shellcheck", "-x", "-S", "warning", *SCRIPTS])
    assert rc == 0, out


# ===========================================================================
# Dockerfile: built and run for real by scripts/test-container.sh
# (tests/container); here only the build context and the lint.
# ===========================================================================
DOCKERIGNORE = (ROOT / ".dockerignore").read_text().splitlines()
ENTRY_TEXT = ENTRYPOINT.read_text()


def test_entrypoint_execs_chat_server():
    assert grep(r'^exec chat-server "\$@"$', ENTRY_TEXT)


def test_entrypoint_starts_daily_cleanup_watching_its_own_pid():
    assert grep(r'^ +chat-cleanup --daily-at "\$at" --watch-pid \$\$ </dev/null &$', ENTRY_TEXT)


@pytest.mark.parametrize("pat", ["target", "node_modules", ".venv", ".git", "data"])
def test_dockerignore_excludes(pat):
    assert any(re.fullmatch(rf"(\*\*/)?{re.escape(pat)}", p) for p in DOCKERIGNORE)


def test_hadolint():
    if not shutil.which("hadolint"):
        pytest.skip("hadolint not installed")
    rc, out = run(["hadolint", "--ignore", "DL3008", "Dockerfile"])
    assert rc == 0, out


# ===========================================================================
# docker-compose.yml
# ===========================================================================
COMPOSE = ROOT / "docker-compose.yml"


def test_compose_has_the_chat_service_as_specified():
    yaml = pytest.importorskip("yaml", reason="python has no yaml module")
    doc = yaml.safe_load(COMPOSE.read_text())
    errors = []

    def expect(cond, what):
        if not cond:
            errors.append(what)

    svc = doc.get("services", {}).get("chat")
    expect(svc is not None, "service chat")
    svc = svc or {}
    b = svc.get("build")
    expect(b == "." or (isinstance(b, dict) and b.get("context", ".") == "."), "build from the Dockerfile in .")
    expect("5000:5000" in [str(p) for p in svc.get("ports", [])], 'port "5000:5000"')
    vols = svc.get("volumes", [])
    for name, path in (("db", "/data/db"), ("uploads", "/data/uploads"), ("logs", "/data/logs")):
        expect(f"{name}:{path}" in vols, f"volume {name}:{path}")
        expect(name in (doc.get("volumes") or {}), f"named volume {name} declared")
    expect(svc.get("restart") == "unless-stopped", "restart: unless-stopped")
    hc = svc.get("healthcheck", {})
    expect(hc.get("test") == ["CMD", "chat-server", "healthcheck"], "healthcheck: chat-server healthcheck (/healthz)")
    expect("stop_grace_period" in svc, "stop_grace_period")
    environ = svc.get("environment", {})
    for k in ("DATABASE_URL", "UPLOAD_DIR", "LOG_DIR", "RETENTION_DAYS"):
        expect(k in environ, f"environment {k}")
    expect(str(environ.get("UPLOAD_DIR")) == "/data/uploads", "UPLOAD_DIR inside the uploads volume")
    expect(str(environ.get("LOG_DIR")) == "/data/logs", "LOG_DIR inside the logs volume")
    expect("/data/db/" in str(environ.get("DATABASE_URL")), "DATABASE_URL inside the db volume")
    assert not errors, "missing or wrong: " + "; ".join(errors)


def test_compose_tells_how_to_run_the_cleanup_ad_hoc():
    assert "docker compose exec chat chat-cleanup --dry-run" in COMPOSE.read_text()


# ===========================================================================
# Entrypoint (outside Docker, stub server and cleanup)
# ===========================================================================
@pytest.fixture(scope="module")
def stub_entry(tmp, stubs):
    """The entrypoint with the stubs, CLEANUP_AT=03:30, then SIGTERM."""
    e = tmp / "entry"
    e.mkdir()
    r = SimpleNamespace(dir=e, out=e / "server.out", cleanup=e / "cleanup.out", log=e / "entry.log", sched=None)
    r.env_seen = f"db={e}/data/db/chat_app.db up={e}/data/uploads tz=Europe/Paris"
    proc = start(
        [ENTRYPOINT, "--port", "1234", "--bcrypt-cost", "4"], r.log,
        env(stubs, STUB_OUT=r.out, DATABASE_URL=e / "data/db/chat_app.db", UPLOAD_DIR=e / "data/uploads",
            LOG_DIR=e / "data/logs", CLEANUP_AT="03:30", TZ="Europe/Paris", CLEANUP_OUT=r.cleanup),
    )
    r.pid = proc.pid
    r.started = eventually(5, started(r.out))
    if r.started:
        eventually(5, lambda: sched_of(proc.pid))
        r.sched = sched_of(proc.pid)
        r.children = run(["ps", "-f", "--ppid", proc.pid])[1]
        r.watch_line = f"args=--daily-at 03:30 --watch-pid {proc.pid} {r.env_seen}"
        r.watch_seen = eventually(5, lambda: r.watch_line in lines(r.cleanup))
        proc.send_signal(signal.SIGTERM)
        r.rc = wait_exit(proc, 5)
        if r.sched:
            run(["kill", "-TERM", r.sched])  # the stub does not watch the server
    r.server_out = lines(r.out)
    r.cleanup_out = lines(r.cleanup)
    r.log_text = r.log.read_text(errors="replace")
    stop(proc)
    return r


def assert_started(r):
    assert r.started, f"the server did not start:\n{r.log_text}"


def test_entrypoint_server_started(stub_entry):
    assert_started(stub_entry)


@pytest.mark.parametrize("sub", ["db", "uploads", "logs"])
def test_entrypoint_created_data_folder(stub_entry, sub):
    assert_started(stub_entry)
    assert (stub_entry.dir / "data" / sub).is_dir()


def test_entrypoint_execs_the_server_same_pid(stub_entry):
    """No wrapper shell left: the server has the entrypoint's pid."""
    assert_started(stub_entry)
    assert f"pid={stub_entry.pid}" in stub_entry.server_out, stub_entry.server_out


def test_entrypoint_passes_the_arguments(stub_entry):
    assert_started(stub_entry)
    assert "args=--port 1234 --bcrypt-cost 4" in stub_entry.server_out, stub_entry.server_out


def test_entrypoint_checks_cleanup_at_first(stub_entry):
    """chat-cleanup --daily-at 03:30 --next-run runs before the scheduler."""
    assert_started(stub_entry)
    want = f"args=--daily-at 03:30 --next-run {stub_entry.env_seen}"
    assert stub_entry.cleanup_out[:1] == [want], stub_entry.cleanup_out


def test_entrypoint_daily_cleanup_runs_under_the_server(stub_entry):
    assert_started(stub_entry)
    assert stub_entry.sched, f"no chat-cleanup --daily-at under the server:\n{stub_entry.children}"


def test_entrypoint_daily_cleanup_watches_the_server_with_its_env(stub_entry):
    """It runs as 'chat-cleanup --daily-at 03:30 --watch-pid <server pid>'."""
    assert_started(stub_entry)
    assert stub_entry.watch_seen, f"no {stub_entry.watch_line!r} in {stub_entry.cleanup_out}"


def test_entrypoint_sigterm_exit_0(stub_entry):
    assert_started(stub_entry)
    assert stub_entry.rc == 0, f"SIGTERM: exit {stub_entry.rc}\n{stub_entry.log_text}"


def test_entrypoint_server_handles_sigterm_itself(stub_entry):
    assert_started(stub_entry)
    assert "stopped" in stub_entry.server_out, stub_entry.server_out


def test_entrypoint_failed_schedule_check_stops_it_before_the_server(tmp, stubs):
    e = tmp / "entry-check"
    e.mkdir()
    out_file = e / "server.out"
    rc, out = run([ENTRYPOINT], env(stubs, STUB_OUT=out_file, DATABASE_URL=e / "d2/chat.db",
                                    UPLOAD_DIR=e / "d2/up", CLEANUP_CHECK_RC=2), timeout=5)
    assert rc != 0, f"exit {rc}\n{out}"
    assert not out_file.exists(), "the server started"
    assert "stub: invalid CLEANUP_AT" in out, out


@pytest.fixture(scope="module")
def entry_off(tmp, stubs):
    """The entrypoint with CLEANUP_AT=off and no LOG_DIR."""
    e = tmp / "entry-off"
    e.mkdir()
    r = SimpleNamespace(dir=e, out=e / "server.out", log=e / "d3.log", cleanup=e / "d3.cleanup")
    proc = start([ENTRYPOINT], r.log, env(stubs, STUB_OUT=r.out, DATABASE_URL=e / "d3/chat.db",
                                          UPLOAD_DIR=e / "d3/up", CLEANUP_AT="off", CLEANUP_OUT=r.cleanup))
    r.started = eventually(5, started(r.out))
    r.sched = sched_of(proc.pid) if r.started else None
    r.cleanup_ran = r.cleanup.exists()
    r.logs_made = (e / "d3/logs").exists()
    proc.send_signal(signal.SIGTERM)
    wait_exit(proc, 5)
    stop(proc)
    r.log_text = r.log.read_text(errors="replace")
    return r


def test_cleanup_at_off_server_runs_without_a_scheduler(entry_off):
    assert_started(entry_off)
    assert entry_off.sched is None


def test_cleanup_at_off_chat_cleanup_is_not_even_run(entry_off):
    assert_started(entry_off)
    assert not entry_off.cleanup_ran


def test_cleanup_at_off_it_says_so(entry_off):
    assert_started(entry_off)
    assert "scheduled cleanup disabled" in entry_off.log_text, entry_off.log_text


def test_log_dir_unset_no_log_folder_made(entry_off):
    assert_started(entry_off)
    assert not entry_off.logs_made


@pytest.fixture(scope="module")
def entry_other(tmp, stubs):
    """The entrypoint running another command, with a postgres:// URL."""
    e = tmp / "entry-other"
    e.mkdir()
    rc, out = run([ENTRYPOINT, "sh", "-c", 'echo "other $0"', "cmd"],
                  env(stubs, DATABASE_URL="postgres://u:p@localhost/chat", UPLOAD_DIR=e / "d4/up"))
    return SimpleNamespace(dir=e, rc=rc, out=out)


def test_entrypoint_runs_another_command_as_is(entry_other):
    """No server, no scheduler."""
    assert entry_other.out == "other cmd"


def test_postgres_url_no_folder_made_for_it(entry_other):
    assert not (ROOT / "postgres:").exists()


def test_postgres_url_uploads_folder_still_made(entry_other):
    assert (entry_other.dir / "d4/up").is_dir()


def test_entrypoint_uncreatable_folder_stops_it_with_a_clear_message(tmp, stubs):
    e = tmp / "entry-afile"
    e.mkdir()
    (e / "afile").write_text("")
    rc, out = run([ENTRYPOINT], env(stubs, DATABASE_URL=e / "d5/chat.db", UPLOAD_DIR=e / "afile/uploads"))
    assert rc == 1, f"exit {rc}\n{out}"
    assert f"cannot create folder {e}/afile/uploads" in out, out


# ===========================================================================
# Entrypoint with the real chat-server and chat-cleanup
# (the scheduled run itself is tested by cargo test -p chat-cleanup, tests/daily.rs)
# ===========================================================================
@pytest.fixture(scope="module")
def real_entry(tmp):
    """The real server through the entrypoint, CLEANUP_AT=03:30 in UTC+8, then SIGTERM."""
    need_bins("server", "cleanup")
    d = tmp / "real"
    (d / "bin").mkdir(parents=True)
    (d / "bin/chat-server").symlink_to(SERVER_BIN)
    (d / "bin/chat-cleanup").symlink_to(CLEANUP_BIN)
    port = free_port()
    # UTC+8 all year: Asia/Shanghai, or the same as a POSIX rule without tzdata.
    tz = "Asia/Shanghai" if Path("/usr/share/zoneinfo/Asia/Shanghai").is_file() else "<+08>-8"
    r = SimpleNamespace(dir=d, tz=tz, log=d / "entry.log", url=f"http://127.0.0.1:{port}/healthz", sched=None)
    proc = start([ENTRYPOINT], r.log, env(
        d / "bin", HOST="127.0.0.1", PORT=port, BCRYPT_COST=4, DATABASE_URL=d / "data/db/chat_app.db",
        UPLOAD_DIR=d / "data/uploads", LOG_DIR=d / "data/logs", CLEANUP_AT="03:30", TZ=tz))
    r.pid = proc.pid
    r.healthy = eventually(30, lambda: http_ok(r.url))
    if r.healthy:
        r.db_made = (d / "data/db/chat_app.db").is_file() and (d / "data/db/chat_app.db").stat().st_size > 0
        sched_re = rf"daily cleanup scheduled at=03:30 zone=TZ={re.escape(tz)} next=[0-9-]+T03:30:00\+08:00 "
        r.scheduled = eventually(5, lambda: grep(sched_re, r.log.read_text(errors="replace")))
        r.sched = sched_of(proc.pid)
        proc.send_signal(signal.SIGTERM)
        r.rc = wait_exit(proc, 15)
        r.port_open = http_ok(r.url)
        r.sched_gone = bool(r.sched) and eventually(3, lambda: gone(r.sched))
    r.log_text = r.log.read_text(errors="replace")
    stop(proc)
    yield r
    if r.sched and not gone(r.sched):
        run(["kill", "-KILL", r.sched])


def assert_healthy(r):
    assert r.healthy, f"GET /healthz did not answer 200:\n{tail(r.log_text, 30)}"


def tail(text, n=20):
    return "\n".join(text.splitlines()[-n:])


def test_real_entrypoint_healthz_answers_200(real_entry):
    assert_healthy(real_entry)


def test_real_entrypoint_created_the_sqlite_database(real_entry):
    assert_healthy(real_entry)
    assert real_entry.db_made


def test_real_entrypoint_daily_cleanup_scheduled_at_0330_in_tz(real_entry):
    assert_healthy(real_entry)
    assert real_entry.scheduled, f"TZ={real_entry.tz}\n{tail(real_entry.log_text)}"


def test_real_entrypoint_daily_cleanup_runs_under_the_server(real_entry):
    assert_healthy(real_entry)
    assert real_entry.sched


def test_real_entrypoint_sigterm_exit_0(real_entry):
    assert_healthy(real_entry)
    assert real_entry.rc == 0, f"exit {real_entry.rc}\n{tail(real_entry.log_text)}"


def test_real_entrypoint_port_closed_afterwards(real_entry):
    assert_healthy(real_entry)
    assert not real_entry.port_open


def test_real_entrypoint_daily_cleanup_exits_after_the_server(real_entry):
    assert_healthy(real_entry)
    assert real_entry.sched and real_entry.sched_gone


def test_real_entrypoint_daily_cleanup_says_why(real_entry):
    assert_healthy(real_entry)
    assert f"process {real_entry.pid} is gone; stopping" in real_entry.log_text, tail(real_entry.log_text)


@pytest.mark.parametrize("bad", ["25:00", "2:5", "02:00:00", "noon"])
def test_real_cleanup_refuses_bad_cleanup_at_before_the_server_starts(tmp, stubs, bad):
    """A bad CLEANUP_AT, checked by the real chat-cleanup (stub server)."""
    need_bins("server", "cleanup")
    d = Path(tempfile.mkdtemp(prefix="mixed.", dir=tmp))
    (d / "bin").mkdir()
    (d / "bin/chat-server").symlink_to(stubs / "chat-server")
    (d / "bin/chat-cleanup").symlink_to(CLEANUP_BIN)
    rc, out = run([ENTRYPOINT], env(d / "bin", STUB_OUT=d / "stub.out", DATABASE_URL=d / "d2/chat.db",
                                    UPLOAD_DIR=d / "d2/up", CLEANUP_AT=bad), timeout=5)
    assert rc != 0, f"exit {rc}\n{out}"
    assert not (d / "stub.out").exists(), "the server started"
    assert re.search(rf"invalid value '{re.escape(bad)}'.*HH:MM", out, re.S), out


# ===========================================================================
# The real chat-cleanup, as cron, systemd and the entrypoint run it
# ===========================================================================
@pytest.fixture(scope="module")
def clean_dir(tmp):
    need_bins("cleanup")
    k = tmp / "clean"
    (k / "uploads").mkdir(parents=True)
    (k / "logs").mkdir()
    (k / "chat_app.db").write_text("")  # an empty SQLite file, as a fresh server leaves it
    return k


def test_cleanup_dry_run_with_the_cron_flags_exits_0(clean_dir):
    k = clean_dir
    rc, out = run([CLEANUP_BIN, "--dry-run", "--database-url", k / "chat_app.db",
                   "--upload-dir", k / "uploads", "--log-dir", k / "logs"], env())
    assert rc == 0, out


def test_cleanup_with_cleanup_at_in_env_alone_runs_once(clean_dir):
    """As docker exec runs it: one run, exit 0."""
    k = clean_dir
    rc, out = run([CLEANUP_BIN], env(CLEANUP_AT="02:00", DATABASE_URL=k / "chat_app.db",
                                     UPLOAD_DIR=k / "uploads", LOG_DIR=k / "logs"), timeout=20)
    assert rc == 0, out


def test_cleanup_fails_with_a_message_on_a_missing_folder(clean_dir):
    k = clean_dir
    rc, out = run([CLEANUP_BIN, "--database-url", k / "chat_app.db", "--upload-dir", k / "nope",
                   "--log-dir", k / "logs"], env())
    assert rc != 0 and out, f"exit {rc}\n{out}"


def test_cleanup_daily_at_without_a_value_takes_cleanup_at(clean_dir):
    rc, out = run([CLEANUP_BIN, "--daily-at", "--next-run"], env(TZ="UTC", CLEANUP_AT="04:15"))
    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T04:15:00\+00:00", out), out


@pytest.mark.parametrize("bad", ["24:00", "2:5", "12:60", "abc", "", "02:00:00"])
def test_cleanup_daily_at_bad_value_is_a_usage_error(clean_dir, bad):
    rc, out = run([CLEANUP_BIN, "--daily-at", bad, "--next-run"], env())
    assert rc == 2 and "HH:MM" in out, f"exit {rc}\n{out}"


def test_cleanup_daily_at_sigterm_while_asleep_exits_0_at_once(clean_dir):
    k = clean_dir
    log = k / "daily.log"
    proc = start([CLEANUP_BIN, "--daily-at", "02:00"], log,
                 env(DATABASE_URL=k / "chat_app.db", UPLOAD_DIR=k / "uploads"))
    try:
        assert eventually(5, lambda: "daily cleanup scheduled" in log.read_text()), \
            f"--daily-at did not start:\n{log.read_text()}"
        proc.send_signal(signal.SIGTERM)
        rc = wait_exit(proc, 3)
        assert rc == 0, f"exit {rc}\n{log.read_text()}"
    finally:
        stop(proc)


# ===========================================================================
# Cron line and install-cron.sh
# ===========================================================================
@pytest.fixture(scope="module")
def cron_bin(stubs):
    """The real chat-cleanup when built, else the stub (no skip here)."""
    return CLEANUP_BIN if HAVE_CLEANUP else str(stubs / "chat-cleanup")


@pytest.fixture(scope="module")
def cron_dir(tmp):
    c = tmp / "cron"
    c.mkdir()
    return c


@pytest.fixture(scope="module")
def cron(cron_bin, cron_dir):
    """install-cron.sh --dry-run, and its job line split as cron and /bin/sh will."""
    c = cron_dir
    rc, out = run([INSTALL_CRON, "--bin", cron_bin, "--database-url", c / "db dir/chat_app.db",
                   "--upload-dir", c / "uploads", "--log-dir", c / "logs", "--user", "nobody", "--dry-run"])
    jobs = [ln for ln in out.splitlines() if not re.search(r"^[ \t]*(#|$)|^[A-Za-z_]+=", ln)]
    job = jobs[0] if jobs else ""
    fields = job.split()
    # The command, split as /bin/sh will split it (after cron turns \% into %).
    parts = job.split(" ", 6)
    cmd = parts[6].replace("\\%", "%") if len(parts) > 6 else ""
    argv = shlex.split(cmd.split(" 2>&1")[0])
    return SimpleNamespace(dir=c, rc=rc, out=out, jobs=jobs, fields=fields, argv=argv)


def has_pair(argv, flag, value):
    return any(a == flag and b == value for a, b in zip(argv, argv[1:]))


def test_cron_dry_run_prints_the_cron_file(cron):
    assert cron.rc == 0, f"exit {cron.rc}\n{cron.out}"


def test_cron_no_placeholder_left(cron):
    assert not re.search(r"@[A-Z_]*@", cron.out), cron.out


def test_cron_exactly_one_job_line(cron):
    assert len(cron.jobs) == 1, cron.jobs


def test_cron_time_fields_every_day_at_0200(cron):
    assert cron.fields[:5] == ["0", "2", "*", "*", "*"], cron.fields


def test_cron_job_runs_as_the_given_user(cron):
    assert cron.fields[5:6] == ["nobody"], cron.fields


def test_cron_command_is_the_binary_given_to_bin(cron, cron_bin):
    assert cron.argv[:1] == [cron_bin], cron.argv


def test_cron_binary_exists_and_runs_help(cron):
    assert cron.argv, "no command"
    rc, out = run([cron.argv[0], "--help"])
    assert rc == 0, out


def test_cron_database_url_is_passed_path_with_space_survives(cron):
    assert has_pair(cron.argv, "--database-url", f"{cron.dir}/db dir/chat_app.db"), cron.argv


def test_cron_upload_dir_is_passed(cron):
    assert has_pair(cron.argv, "--upload-dir", f"{cron.dir}/uploads"), cron.argv


def test_cron_log_dir_is_passed(cron):
    assert has_pair(cron.argv, "--log-dir", f"{cron.dir}/logs"), cron.argv


def test_cron_file_sets_shell_and_path(cron):
    ls = cron.out.splitlines()
    assert "SHELL=/bin/sh" in ls, cron.out
    assert any(re.match(r"PATH=.*/usr/bin", ln) for ln in ls), cron.out


def test_cron_croniter_schedule_fires_at_0200_every_day(cron):
    croniter = pytest.importorskip(
        "croniter", reason="croniter not in the venv (scripts/install-deps.sh installs tests/ops/requirements.txt)"
    ).croniter
    expr = " ".join(cron.fields[:5])
    assert croniter.is_valid(expr), expr
    it = croniter(expr, d.datetime(2026, 3, 1, 1, 0))
    got = [it.get_next(d.datetime) for _ in range(3)]
    assert got == [d.datetime(2026, 3, n, 2, 0) for n in (1, 2, 3)], got


def test_cron_percent_in_a_value_is_escaped(cron_bin):
    _, out = run([INSTALL_CRON, "--bin", cron_bin, "--database-url", "postgres://u:50%off@h/db",
                  "--user", "nobody", "--dry-run"], stderr=subprocess.DEVNULL)
    assert "'postgres://u:50\\%off@h/db'" in out, out


@pytest.fixture(scope="module")
def cron_target(cron_bin, cron_dir):
    target = cron_dir / "cron.d/chat-cleanup"
    run([INSTALL_CRON, "--bin", cron_bin, "--user", "nobody", "--target", target])
    return target


def test_cron_target_writes_the_file(cron_target):
    assert cron_target.is_file() and cron_target.stat().st_size > 0


def test_cron_written_file_is_mode_600(cron_target):
    """cron.d: not group/other-writable."""
    assert cron_target.exists() and oct(cron_target.stat().st_mode & 0o7777) == "0o600"


def test_cron_written_file_equals_the_dry_run_output(cron_target, cron_bin):
    dry = subprocess.run([str(INSTALL_CRON), "--bin", cron_bin, "--user", "nobody", "--dry-run"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    assert cron_target.exists() and cron_target.read_bytes() == dry


def test_install_cron_refuses_a_missing_binary(cron_dir):
    """Nothing written."""
    rc, out = run([INSTALL_CRON, "--bin", cron_dir / "missing/chat-cleanup", "--user", "nobody",
                   "--target", cron_dir / "t1"])
    assert rc != 0 and not (cron_dir / "t1").exists() and "not found" in out, f"exit {rc}\n{out}"


def test_install_cron_refuses_a_non_executable_binary(cron_dir):
    (cron_dir / "not-exec").write_text("")
    rc, out = run([INSTALL_CRON, "--bin", cron_dir / "not-exec", "--user", "nobody", "--target", cron_dir / "t2"])
    assert rc != 0, f"it succeeded:\n{out}"


def test_install_cron_refuses_a_relative_bin():
    rc, out = run([INSTALL_CRON, "--bin", "chat-cleanup", "--user", "nobody", "--dry-run"])
    assert rc != 0, f"it succeeded:\n{out}"


def test_install_cron_refuses_a_binary_whose_help_fails():
    rc, out = run([INSTALL_CRON, "--bin", "/bin/false", "--user", "nobody", "--dry-run"])
    assert rc != 0, f"it succeeded:\n{out}"


def test_install_cron_refuses_an_unknown_user(cron_bin, cron_dir):
    """Nothing written."""
    rc, out = run([INSTALL_CRON, "--bin", cron_bin, "--user", "no-such-user-xyz", "--target", cron_dir / "t3"])
    assert rc != 0 and not (cron_dir / "t3").exists(), f"exit {rc}\n{out}"


def test_install_cron_refuses_an_unknown_option(cron_bin):
    rc, out = run([INSTALL_CRON, "--bin", cron_bin, "--frobnicate"])
    assert rc != 0, f"it succeeded:\n{out}"


def test_install_cron_help_works():
    rc, out = run([INSTALL_CRON, "--help"])
    assert rc == 0, out


# ===========================================================================
# systemd units
# ===========================================================================
UNITS = ROOT / "deploy/systemd"
SERVICES = ["chat-server.service", "chat-cleanup.service"]


def unit_lines(name):
    return (UNITS / name).read_text().splitlines()


@pytest.mark.parametrize("name", [*SERVICES, "chat-cleanup.timer"])
def test_unit_exists(name):
    assert (UNITS / name).is_file()


def test_timer_on_calendar_0200():
    assert "OnCalendar=*-*-* 02:00:00" in unit_lines("chat-cleanup.timer")


def test_timer_persistent():
    assert "Persistent=true" in unit_lines("chat-cleanup.timer")


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_file(name):
    assert any(re.fullmatch(r"EnvironmentFile=-?/etc/chat-server.env", ln) for ln in unit_lines(name))


@pytest.mark.parametrize("name", SERVICES)
def test_service_dedicated_user_chat(name):
    assert "User=chat" in unit_lines(name)


@pytest.mark.parametrize("name", SERVICES)
def test_service_data_paths_inside_the_writable_folders(name):
    """Under ProtectSystem=strict only StateDirectory/LogsDirectory are
    writable: every default data path must lie inside them."""
    ls = unit_lines(name)
    if not any(ln.startswith("ProtectSystem=strict") for ln in ls):
        return

    def setting(key):
        return next((ln[len(key) + 1:] for ln in ls if ln.startswith(key + "=")), "")

    state = "/var/lib/" + setting("StateDirectory")
    logs = "/var/log/" + setting("LogsDirectory")
    for k in ("DATABASE_URL", "UPLOAD_DIR", "LOG_DIR"):
        values = [m.group(1) for ln in ls if (m := re.match(rf"Environment=.*{k}=([^ ]*)", ln))]
        assert values, f"no default {k}"
        for v in values:
            assert v.startswith(state + "/") or v == logs or v.startswith(logs + "/"), f"{k}={v} is not writable"


def test_server_service_execstart_is_the_installed_server():
    assert "ExecStart=/usr/local/bin/chat-server" in unit_lines("chat-server.service")


def test_cleanup_service_is_oneshot_running_the_installed_chat_cleanup():
    ls = unit_lines("chat-cleanup.service")
    assert "Type=oneshot" in ls and "ExecStart=/usr/local/bin/chat-cleanup" in ls


def need_systemd_analyze():
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")


def test_systemd_analyze_verify_no_errors_no_warnings(tmp, stubs):
    need_systemd_analyze()
    # verify wants the ExecStart binaries to exist: point them at local ones.
    v = tmp / "units"
    v.mkdir()
    srv = SERVER_BIN if HAVE_SERVER else str(stubs / "chat-server")
    cln = CLEANUP_BIN if HAVE_CLEANUP else str(stubs / "chat-cleanup")
    names = [*SERVICES, "chat-cleanup.timer"]
    for name in names:
        text = (UNITS / name).read_text()
        text = text.replace("/usr/local/bin/chat-server", srv).replace("/usr/local/bin/chat-cleanup", cln)
        (v / name).write_text(text)
    p = subprocess.run(["systemd-analyze", "verify", *[f"./{n}" for n in names]], cwd=v,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0 and not out.strip(), f"exit {p.returncode}\n{out}"


def test_systemd_analyze_calendar_accepts_the_timer_schedule():
    need_systemd_analyze()
    rc, out = run(["systemd-analyze", "calendar", "*-*-* 02:00:00"])
    assert rc == 0, out
