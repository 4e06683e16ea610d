"""Scale-out suite: three chat-server nodes on one PostgreSQL database and one
Redis behave as one room (crates/chat-server/src/cluster, docs/CLUSTER.md).

    scripts/test-cluster.sh     # after `cargo build` and scripts/install-deps.sh

1. The cluster tests (cluster.test.mjs, node --test): messages, presence,
   sessions, flood limit, lockout, uploads, message deletion, bans and
   chat-admin (against the nodes' database) across nodes; a node killed with
   SIGKILL; Redis stopped and restarted (the last two are destructive and run
   last; the killed node is started again afterwards).
2. The conformance suite (scripts/test-conformance.sh) against each node.
3. The deployment files: docker-compose.cluster.yml parsed and checked,
   deploy/nginx/chat-cluster.conf checked with `nginx -t` and put in front of
   the nodes for a smoke test (nginx.test.mjs; nginx-light is installed when
   missing; CLUSTER_NO_NGINX=1 skips that part).

All nodes share the Redis keys chat:*; this suite deletes them at the start, so
run it alone (scripts/test.sh runs the suites one after another). It stops
Redis for a while and always starts it again on exit. Every step has a time
limit; nodes, nginx, the test database and (unless something failed or
CLUSTER_KEEP is set) the work folder are cleaned up on every exit.
Optional: CLUSTER_SUITES="cluster conformance deploy" chooses the parts.
The last line is "N passed, N failed"; the exit status is non-zero on failure.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "tests" / "cluster"
# The admins of the moderation tests (cluster.test.mjs, and the conformance
# suite's js/moderation.test.mjs and py/test_moderation.py against each node):
# the tests register them (or log in when an earlier part did), and a recall
# window short enough for the conformance suite to wait out (PROTOCOL.md §6.7).
ADMIN, ADMIN2, ADMIN_PASSWORD = "conf_admin", "conf_admin2", "conf-admin-pw-1"
RECALL_SECONDS = "3"
# Every client here is 127.0.0.1: the per-address limits (PROTOCOL.md §6.5)
# are lifted; the per-user ones stay, and a test shows them span the nodes.
NODE_ENV = dict(os.environ, REGISTER_LIMIT="0", LOGIN_FAILURES_PER_ADDRESS="0",
                ADMIN_USERS=f"{ADMIN},{ADMIN2}", RECALL_SECONDS=RECALL_SECONDS)
CHAT_SERVER_BIN = os.environ.get("CHAT_SERVER_BIN", str(ROOT / "target" / "debug" / "chat-server"))
# chat-admin (ban, unban, reset-password, delete-message) run by the tests against the cluster's database
CHAT_ADMIN_BIN = os.environ.get("CHAT_ADMIN_BIN", str(ROOT / "target" / "debug" / "chat-admin"))
REDIS_START = ('redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
               "--dir /var/lib/redis --logfile /var/log/redis/ci.log")
REDIS_URL = "redis://127.0.0.1:6379"
REDIS_CLI = ["redis-cli", "-h", "127.0.0.1", "-p", "6379"]
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt"]
NODE_NAMES = ["A", "B", "C"]
ALLOWED_ORIGIN = "http://allowed.example:8080"
SUITES = os.environ.get("CLUSTER_SUITES", "cluster conformance deploy").split()
TITLE = "docker-compose.cluster.yml and deploy/nginx/chat-cluster.conf: services, settings and shared volumes"
NGINX_SMOKE = "through nginx (chat-cluster.conf): page, login, polling and websocket sockets, 5 MiB upload"

# Time limits (seconds) of the steps that run other programs.
T_CLUSTER_TESTS = 1800   # 13 tests; a few s each, 120 s at most (--test-timeout)
T_CONFORMANCE = 1200     # per node: the JS suite twice and the Python suite
T_NGINX_TESTS = 600
T_SHORT = 60             # psql, redis-cli, nginx -t
T_APT = 600

sys.stdout.reconfigure(line_buffering=True)
passed = 0
failures = []


def log(msg):
    print(f"\033[1;34m==>\033[0m {msg}", file=sys.stderr, flush=True)


def err(text):
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()


def die(msg):
    print(f"\033[1;31merror:\033[0m {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def ok(name):
    global passed
    passed += 1
    print(f"\033[1;32mok\033[0m   {name}")


def fail(name):
    failures.append(name)
    print(f"\033[1;31mFAIL\033[0m {name}")


def check(cond, name):
    ok(name) if cond else fail(name)
    return cond


def finish():
    if failures:
        print("failed: " + "\nfailed: ".join(failures))
    print(f"{passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


def wants(suite):
    return suite in SUITES


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return 200 <= r.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_http(url, secs=30):
    """Until `url` answers 2xx/3xx (as `curl -f`), at most `secs` seconds."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if http_ok(url):
            return True
        time.sleep(0.1)
    return False


def tail(path, n):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def quiet(cmd, timeout=T_SHORT, **kw):
    """Runs `cmd` with its output captured; returns the CompletedProcess (returncode 124 on timeout)."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"timed out after {timeout} s")
    except OSError as e:
        return subprocess.CompletedProcess(cmd, 127, "", str(e))


current = None  # the test program running now (its own process group), stopped on exit


def run_bounded(cmd, timeout, what, stdout=None, **kw):
    """Runs `cmd` in its own process group, killed after `timeout` s; returns its exit status (124: timeout)."""
    global current
    current = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT if stdout else None,
                               start_new_session=True, **kw)
    try:
        return current.wait(timeout)
    except subprocess.TimeoutExpired:
        err(f"{what}: no result after {timeout} s, stopping it")
        stop_group(current)
        return 124
    except BaseException:  # interrupted: stop it before cleaning up
        stop_group(current)
        raise
    finally:
        current = None


def stop_group(proc, grace=10):
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            pass


def redis_up():
    return "PONG" in quiet(REDIS_CLI + ["ping"], timeout=5).stdout


def start_redis():
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    quiet(["sh", "-c", REDIS_START], timeout=30)
    for _ in range(50):
        if redis_up():
            return True
        time.sleep(0.2)
    return False


class Cluster:
    def __init__(self):
        self.work = Path(tempfile.mkdtemp(prefix="chat-cluster."))
        self.work.chmod(0o755)
        self.db = f"chat_cluster_{int(time.time())}_{random.randrange(32768)}"
        self.database_url = f"postgres://postgres@127.0.0.1:5432/{self.db}"
        self.uploads = self.work / "uploads"
        self.uploads.mkdir(parents=True)
        self.ports = [None] * 3
        self.procs = [None] * 3
        self.nginx = None

    def url(self, i):
        return f"http://127.0.0.1:{self.ports[i]}"

    @property
    def urls(self):
        return [self.url(i) for i in range(3)]

    def log_path(self, i):
        return self.work / f"node-{NODE_NAMES[i]}.log"

    def start_node(self, i):
        """(Re)starts node `i` on its port (a free one the first time)."""
        self.ports[i] = self.ports[i] or free_port()
        with open(self.log_path(i), "ab") as out:
            self.procs[i] = subprocess.Popen(
                [CHAT_SERVER_BIN, "--host", "127.0.0.1", "--port", str(self.ports[i]),
                 "--database-url", self.database_url, "--redis-url", REDIS_URL, "--behind-proxy",
                 "--upload-dir", str(self.uploads), "--bcrypt-cost", "4", "--allowed-origins", ALLOWED_ORIGIN],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=NODE_ENV)

    def wait_node(self, i):
        if wait_http(self.url(i) + "/healthz", 60):
            return True
        err(tail(self.log_path(i), 30))
        return False

    def node_logs_tail(self):
        for i, n in enumerate(NODE_NAMES):
            log(f"last lines of node {n}'s log ({self.log_path(i)})")
            err(tail(self.log_path(i), 15))

    def cleanup(self):
        stop_group(current)
        procs = [p for p in [self.nginx, *self.procs] if p is not None]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if not redis_up():
            log("Redis is down: starting it again")
            if not start_redis():
                err(f"error: Redis did not come back; start it with: {REDIS_START}")
        quiet(PG_ADMIN + ["-c", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)"])
        if not failures and not os.environ.get("CLUSTER_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"logs kept in {self.work} (node-A.log ...)")

    def moderation_env(self, prefix):
        """What the moderation tests need: the admins (PREFIX_ADMIN, PREFIX_ADMIN2,
        PREFIX_ADMIN_PASSWORD), chat-admin (when it is built), the nodes' database and upload folder."""
        env = {f"{prefix}_ADMIN": ADMIN, f"{prefix}_ADMIN2": ADMIN2, f"{prefix}_ADMIN_PASSWORD": ADMIN_PASSWORD,
               "CHAT_DATABASE_URL": self.database_url, "CHAT_UPLOAD_DIR": str(self.uploads)}
        if os.access(CHAT_ADMIN_BIN, os.X_OK):
            env["CHAT_ADMIN_BIN"] = CHAT_ADMIN_BIN
        else:
            log(f"{CHAT_ADMIN_BIN} missing (cargo build -p chat-admin): the chat-admin tests are skipped")
        return env

    # ------------------------------------------------------------ phases ----

    def start(self):
        log(f"database {self.db}, uploads {self.uploads}, logs in {self.work}")
        r = quiet(PG_ADMIN + ["-c", f"CREATE DATABASE {self.db}"])
        if r.returncode != 0:
            err(r.stderr)
            die(f"creating database {self.db} failed")
        # Nodes of one run share these keys (presence, limits, node list): start clean.
        keys = quiet(REDIS_CLI + ["--scan", "--pattern", "chat:*"]).stdout.split()
        for k in range(0, len(keys), 500):
            quiet(REDIS_CLI + ["del", *keys[k:k + 500]])
        # One node first, so that the schema is created once.
        self.start_node(0)
        if not self.wait_node(0):
            fail("node A starts")
            finish()
        for i in (1, 2):
            self.start_node(i)
        for i in (1, 2):
            if not self.wait_node(i):
                fail(f"node {NODE_NAMES[i]} starts")
                finish()
        log("nodes: " + ", ".join(f"{NODE_NAMES[i]} {self.url(i)} (pid {self.procs[i].pid})" for i in range(3)))

    def cluster_tests(self):
        log("cluster tests (tests/cluster)")
        tap = self.work / "cluster.tap"
        env = dict(os.environ, CLUSTER_URLS=",".join(self.urls),
                   CLUSTER_PIDS=",".join(str(p.pid) for p in self.procs), REDIS_START=REDIS_START,
                   **self.moderation_env("CLUSTER"))
        run_bounded(["node", "--test", "--test-concurrency=1", "--test-timeout=120000",
                     "--test-reporter=spec", "--test-reporter-destination=stdout",
                     "--test-reporter=tap", f"--test-reporter-destination={tap}", "cluster.test.mjs"],
                    T_CLUSTER_TESTS, "the cluster tests", cwd=HERE, env=env)
        # top-level results of the TAP report, one per test
        try:
            lines = tap.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        results = [line for line in lines if re.match(r"(not )?ok [0-9]+ - ", line)]
        for line in results:
            name = line.split("- ", 1)[1]
            if " # " in name:
                name = name.rsplit(" # ", 1)[0]
            check(line.startswith("ok "), f"cluster: {name}")
        if not results:
            fail("cluster: the test run produced no results")
        if failures:
            self.node_logs_tail()

        # The kill test SIGKILLed node C: it comes back as a new node on its port.
        if self.procs[2].poll() is not None:
            if not (redis_up() or start_redis()):
                die("Redis did not come back")
            with open(self.log_path(2), "a") as f:
                f.write("---- restarted after SIGKILL ----\n")
            self.start_node(2)
            check(self.wait_node(2), "a node killed with SIGKILL starts again on its port and is healthy")
        for i in range(3):
            if not wait_http(self.url(i) + "/healthz", 20):
                fail(f"node {NODE_NAMES[i]} healthy after the cluster tests")

    def conformance(self):
        for i, n in enumerate(NODE_NAMES):
            name = f"conformance suite against node {n} of the cluster"
            log(f"{name} ({self.url(i)})")
            out_path = self.work / f"conformance-{n}.log"
            env = dict(os.environ, CHAT_URL=self.url(i), CHAT_ALLOWED_ORIGIN=ALLOWED_ORIGIN,
                       CONFORMANCE_RECALL_SECONDS=RECALL_SECONDS, **self.moderation_env("CONFORMANCE"))
            with open(out_path, "wb") as out:
                status = run_bounded([str(ROOT / "scripts" / "test-conformance.sh")], T_CONFORMANCE,
                                     name, stdout=out, env=env)
            if status == 0:
                ok(name)
            else:
                fail(name)
                pick = re.compile(r"^(not ok|✖|FAILED|E  )|failed")
                lines = out_path.read_text(errors="replace").splitlines()
                err("\n".join([line for line in lines if pick.search(line)][:40]))
                log(f"full output: {out_path}")

    def deploy(self):
        log("deployment files")
        problems, summary = compose_problems(ROOT / "docker-compose.cluster.yml", ROOT / "deploy/nginx/chat-cluster.conf")
        print("\n".join("  - " + p for p in problems) if problems else summary)
        check(not problems, TITLE)

        no_nginx = bool(os.environ.get("CLUSTER_NO_NGINX"))
        if not no_nginx and not shutil.which("nginx") and os.getuid() == 0:
            log("installing nginx-light (for nginx -t)")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx-light"]
            if quiet(install, T_APT, env=env).returncode != 0:
                if quiet(["apt-get", "update", "-qq"], T_APT, env=env).returncode == 0:
                    quiet(install, T_APT, env=env)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if no_nginx or not os.access(nginx, os.X_OK):
            log("nginx not available: skipping nginx -t and the smoke test through nginx")
            return
        ngx, port = self.nginx_conf()
        t = quiet([nginx, "-t", "-p", str(ngx), "-c", str(ngx / "nginx.conf")])
        (ngx / "nginx-t.log").write_text(t.stdout + t.stderr)
        if t.returncode != 0:
            err(t.stdout + t.stderr)
            fail("nginx -t accepts deploy/nginx/chat-cluster.conf")
            return
        ok("nginx -t accepts deploy/nginx/chat-cluster.conf")
        with open(ngx / "logs" / "stdout.log", "ab") as out:
            self.nginx = subprocess.Popen([nginx, "-p", str(ngx), "-c", str(ngx / "nginx.conf")],
                                          stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        nginx_url = f"http://127.0.0.1:{port}"
        if not wait_http(nginx_url + "/healthz", 15):
            fail("nginx in front of the nodes answers /healthz")
            err(tail(ngx / "logs" / "error.log", 10**6))
            return
        log(f"nginx smoke test through {nginx_url}")
        env = dict(os.environ, CLUSTER_URLS=",".join(self.urls), NGINX_URL=nginx_url)
        status = run_bounded(["node", "--test", "--test-timeout=60000", "--test-reporter=spec", "nginx.test.mjs"],
                             T_NGINX_TESTS, "the nginx smoke test", cwd=HERE, env=env)
        if not check(status == 0, NGINX_SMOKE):
            err(tail(ngx / "logs" / "error.log", 20))

    def nginx_conf(self):
        """The conf as Compose mounts it, with the upstream servers pointed at the
        local nodes and the listen port at a free one; returns (prefix, port)."""
        ngx = self.work / "nginx"
        for d in ("conf.d", "logs", "tmp"):
            (ngx / d).mkdir(parents=True, exist_ok=True)
        port = free_port()
        out, servers_done = [], False
        for line in (ROOT / "deploy/nginx/chat-cluster.conf").read_text().splitlines():
            if re.match(r"\s*server\s+[A-Za-z0-9_.-]+:5000", line):
                if not servers_done:
                    out += [f"    server 127.0.0.1:{p};" for p in self.ports]
                    servers_done = True
                continue
            if re.match(r"\s*listen\s+(\[::\]:)?5000", line):
                if "[::]" in line:
                    continue
                line = re.sub(r"listen\s+5000", f"listen 127.0.0.1:{port}", line, count=1)
            out.append(line)
        (ngx / "conf.d" / "chat-cluster.conf").write_text("\n".join(out) + "\n")
        (ngx / "nginx.conf").write_text(f"""{"user root;" if os.getuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {ngx}/nginx.pid;
error_log {ngx}/logs/error.log info;
events {{ worker_connections 512; }}
http {{
  access_log {ngx}/logs/access.log;
  client_body_temp_path {ngx}/tmp/body;
  proxy_temp_path {ngx}/tmp/proxy;
  fastcgi_temp_path {ngx}/tmp/fastcgi;
  uwsgi_temp_path {ngx}/tmp/uwsgi;
  scgi_temp_path {ngx}/tmp/scgi;
  include {ngx}/conf.d/*.conf;
}}
""")
        return ngx, port


def compose_problems(compose_path, nginx_path):
    """Checks docker-compose.cluster.yml and the nginx conf; returns (problems, summary)."""
    doc = yaml.safe_load(open(compose_path))
    problems = []

    def need(cond, msg):
        if not cond:
            problems.append(msg)

    services = doc.get("services") or {}

    def env(svc):
        e = services.get(svc, {}).get("environment") or {}
        if isinstance(e, list):
            e = dict(x.split("=", 1) if "=" in x else (x, "") for x in e)
        return {k: str(v) for k, v in e.items()}

    def volumes(svc):
        out = []
        for v in services.get(svc, {}).get("volumes") or []:
            if isinstance(v, dict):
                out.append((v.get("source"), v.get("target")))
            else:
                parts = v.split(":")
                out.append((parts[0], parts[1] if len(parts) > 1 else None))
        return out

    def image(s):
        return str(s.get("image", ""))

    apps = [n for n, s in services.items() if s.get("build") is not None or "chat-server" in image(s)]
    need(len(apps) >= 2, f"two app nodes built from the Dockerfile, found {apps}")
    pg = [n for n, s in services.items() if image(s).startswith("postgres:16")]
    rd = [n for n, s in services.items() if image(s).startswith("redis:7")]
    ng = [n for n, s in services.items() if image(s).startswith("nginx")]
    need(len(pg) == 1, "one postgres:16 service")
    need(len(rd) == 1, "one redis:7 service")
    need(len(ng) == 1, "one nginx service")
    named = set((doc.get("volumes") or {}).keys())
    if pg:
        need("healthcheck" in services[pg[0]], "PostgreSQL has a healthcheck")
        need(any(src in named and tgt == "/var/lib/postgresql/data" for src, tgt in volumes(pg[0])),
             "PostgreSQL keeps its data in a named volume at /var/lib/postgresql/data")
    upload_vols, cleanup_on = [], []
    for a in apps:
        s, e = services[a], env(a)
        if s.get("build") is not None:
            b = s["build"]
            ctx = b if isinstance(b, str) else b.get("context", ".")
            df = "Dockerfile" if isinstance(b, str) else b.get("dockerfile", "Dockerfile")
            need(ctx in (".", "./") and df == "Dockerfile", f"{a} builds the repository's Dockerfile")
        need(re.match(r"^(\$\{[^}]*:-)?postgres(ql)?://", e.get("DATABASE_URL", "")) is not None,
             f"{a}: DATABASE_URL is a postgres:// URL: {e.get('DATABASE_URL')!r}")
        need("redis://redis:6379" in e.get("REDIS_URL", ""), f"{a}: REDIS_URL=redis://redis:6379: {e.get('REDIS_URL')!r}")
        need(e.get("UPLOAD_DIR") == "/data/uploads", f"{a}: UPLOAD_DIR=/data/uploads")
        ups = [src for src, tgt in volumes(a) if tgt == "/data/uploads"]
        need(len(ups) == 1 and ups[0] in named, f"{a} mounts a named volume at /data/uploads")
        upload_vols += ups
        if not re.match(r"^(off|disabled)$", e.get("CLEANUP_AT", "02:00")):
            cleanup_on.append(a)
        deps = s.get("depends_on") or {}
        for dep in pg + rd:
            need(dep in deps, f"{a} depends on {dep}")
        need("ports" not in s, f"{a} publishes no port of its own (nginx does)")
    need(len(set(upload_vols)) == 1, f"every node mounts the same uploads volume: {upload_vols}")
    need(len(cleanup_on) == 1, f"exactly one node runs the daily cleanup (CLEANUP_AT=off on the others): {cleanup_on}")
    if ng:
        n = services[ng[0]]
        need(any(str(p).split(":")[-2:] == ["5000", "5000"] or str(p) == "5000:5000" for p in n.get("ports") or []),
             f"nginx publishes port 5000: {n.get('ports')}")
        mounts = " ".join(str(v) for v in n.get("volumes") or [])
        need("deploy/nginx/chat-cluster.conf" in mounts, "nginx mounts deploy/nginx/chat-cluster.conf")
        need(all(a in (n.get("depends_on") or {}) for a in apps), "nginx depends on the app nodes")

    conf = open(nginx_path).read()
    need(re.search(r"upstream\s+\w+\s*\{[^}]*\bip_hash\s*;", conf, re.S), "upstream with ip_hash")
    for a in apps:
        need(re.search(rf"server\s+{re.escape(a)}:5000", conf), f"upstream lists {a}:5000")
    need(re.search(r"location\s+/socket\.io/", conf), "a location for /socket.io/")
    need(re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade", conf), "Upgrade header passed")
    need(re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade", conf)
         and re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade", conf),
         "Connection header from a map of $http_upgrade")
    need(re.search(r"proxy_http_version\s+1\.1", conf), "HTTP/1.1 to the nodes")
    need(re.search(r"client_max_body_size\s+6m", conf), "client_max_body_size 6m")
    for h in ("Host", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto"):
        need(re.search(rf"proxy_set_header\s+{h}\s", conf), f"proxy header {h}")
    need(re.search(r"listen\s+5000", conf), "nginx listens on 5000")
    return problems, f"compose: services {sorted(services)}; app nodes {apps}; cleanup on {cleanup_on}"


def on_signal(signum, _frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(130)


def main():
    try:
        started = subprocess.run([str(ROOT / "scripts" / "start-services.sh")], timeout=T_APT).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        started = False
    if not started:
        die("starting PostgreSQL/Redis failed")
    if not os.access(CHAT_SERVER_BIN, os.X_OK):
        die(f"{CHAT_SERVER_BIN} missing: cargo build -p chat-server")
    if not (HERE / "node_modules" / "socket.io-client").is_dir():
        die("tests/cluster/node_modules missing: run scripts/install-deps.sh")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    cluster = Cluster()
    try:
        if any(wants(s) for s in ("cluster", "conformance", "deploy")):
            cluster.start()
        if wants("cluster"):
            cluster.cluster_tests()
        if wants("conformance"):
            cluster.conformance()
        if wants("deploy"):
            cluster.deploy()
        finish()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.cleanup()


if __name__ == "__main__":
    main()
