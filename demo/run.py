"""``python3 -m demo``: the living demo, from a source checkout (needs importable Odoo 19 + PostgreSQL).

1. creates the database and installs every addon of the repository (skipped when it exists);
2. starts the channel simulators as local network services (``tests/simulators/serve.py``);
3. configures one channel of each kind against them (``demo/configure.py``);
4. starts Odoo (``--workers 2 --max-cron-threads 1``, on 127.0.0.1);
5. starts the demo traffic (orders, refunds, an unknown SKU, payouts and bank lines);
6. prints the URL and the login, and runs until Ctrl-C (or ``--duration`` seconds).

``--docker`` does steps 1 and 3 only, against the compose file's services, and hands the traffic's
configuration to the ``simulators`` service through a file (see docker-compose.yml).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from .configure import MARKER

REPO = Path(__file__).resolve().parents[1]
LOGIN = PASSWORD = "admin"


def suite_addons():
    names = sorted(path.parent.name for path in REPO.glob("*/__manifest__.py"))
    return sorted(names, key=lambda name: (name != "omni_connector_base", name))


def odoo_addons_path():
    out = subprocess.run([sys.executable, "-c", "import odoo.release as r; print(r.__file__)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    package = Path(out).parent
    paths = [p for p in (package / "addons", package.parent / "addons")
             if (p / "web" / "__manifest__.py").exists() or (p / "base" / "__manifest__.py").exists()]
    return ",".join([*map(str, paths), str(REPO)])


def port_is_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(span=1):
    """A free port with ``span - 1`` free ports after it."""
    for _attempt in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + span < 65000 and all(port_is_free(port + i) for i in range(span)):
            return port
    raise RuntimeError("no free port found")


def pg_env():
    """libpq's environment: in docker, the official image's HOST/USER/PASSWORD variables."""
    env = dict(os.environ)
    for pg_name, name in (("PGHOST", "HOST"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD"), ("PGPORT", "PORT")):
        if os.environ.get(name) and not os.environ.get(pg_name):
            env[pg_name] = os.environ[name]
    return env


def db_installed(dbname, env=None):
    """Whether ``dbname`` exists with the omnichannel base installed."""
    out = subprocess.run(["psql", "-d", dbname, "-Atc",
                          "SELECT 1 FROM ir_module_module WHERE name = 'omni_connector_base' AND state = 'installed'"],
                         capture_output=True, text=True, check=False, env=env)
    return out.stdout.strip() == "1"


def wait_http(url, timeout, proc=None, what="service"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} (see its log)")
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout} s")


def step(text):
    print(f"demo: {text}", flush=True)


class Demo:
    def __init__(self, args):
        self.args = args
        self.procs = []
        self.log_dir = Path(args.log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def odoo_cmd(self, *extra):
        args = self.args
        if args.docker:
            base = ["odoo", "-c", args.odoo_conf]
            for flag, env in (("--db_host", "HOST"), ("--db_user", "USER"), ("--db_password", "PASSWORD")):
                if os.environ.get(env):
                    base += [flag, os.environ[env]]
        else:
            base = [sys.executable, str(REPO / "demo" / "odoo_bin.py"), f"--addons-path={odoo_addons_path()}"]
        return [*base, "-d", args.db, *extra]

    def spawn(self, name, cmd):
        log = open(self.log_dir / f"{name}.log", "a")
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1"))
        self.procs.append((name, proc))
        return proc

    def stop(self):
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                step(f"stopping {name}")
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    # ---------------------------------------------------------------- steps
    def install(self):
        args = self.args
        if args.reset and not args.docker:
            subprocess.run(["dropdb", "--if-exists", args.db], check=False)
            filestore = Path.home() / ".local" / "share" / "Odoo" / "filestore" / args.db
            subprocess.run(["rm", "-rf", str(filestore)], check=False)
        if db_installed(args.db, pg_env() if args.docker else None):
            step(f"database {args.db} is installed: reusing it (--reset starts afresh)")
            return
        step(f"creating database {args.db} and installing {', '.join(suite_addons())} (a few minutes)")
        log = self.log_dir / "install.log"
        with open(log, "w") as handle:
            result = subprocess.run(self.odoo_cmd("-i", ",".join(suite_addons()), "--stop-after-init",
                                                  "--no-http", "--without-demo=True"),
                                    cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"installing the addons failed, see {log}")

    def start_simulators(self):
        args = self.args
        port = args.sim_port or free_port(span=len(self.sim_keys()) + 1)
        self.sims_url = f"http://127.0.0.1:{port}"
        step(f"starting the channel simulators on 127.0.0.1:{port}-{port + len(self.sim_keys())}")
        proc = self.spawn("simulators", [sys.executable, str(REPO / "tests" / "simulators" / "serve.py"),
                                         "--host", "127.0.0.1", "--port", str(port)])
        wait_http(f"{self.sims_url}/health", 30, proc, "the simulators")

    def sim_keys(self):
        sys.path.insert(0, str(REPO / "tests" / "simulators"))
        from serve import SIMULATORS  # noqa: PLC0415

        return list(SIMULATORS)

    def configure(self):
        args = self.args
        step("configuring the demo channels against the simulators")
        cmd = [sys.executable, "-m", "demo.configure", "--db", args.db, "--sims", self.sims_url,
               "--odoo-url", self.odoo_url]
        if args.docker:
            cmd += ["--odoo-conf", args.odoo_conf]
            for flag, env in (("--db-host", "HOST"), ("--db-user", "USER"), ("--db-password", "PASSWORD")):
                if os.environ.get(env):
                    cmd += [flag, os.environ[env]]
        else:
            cmd += ["--addons-path", odoo_addons_path()]
        result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        (self.log_dir / "configure.log").write_text(result.stdout + result.stderr)
        lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
        if result.returncode != 0 or not lines:
            raise RuntimeError(f"configuring the demo failed, see {self.log_dir / 'configure.log'}:\n"
                               + result.stderr[-3000:])
        return json.loads(lines[-1][len(MARKER):])

    def choose_odoo_port(self):
        self.http_port = self.args.http_port or free_port()
        self.odoo_url = f"http://127.0.0.1:{self.http_port}"

    def start_odoo(self):
        args = self.args
        step(f"starting Odoo on {self.odoo_url} (--workers 2 --max-cron-threads 1)")
        proc = self.spawn("odoo", self.odoo_cmd(
            f"--db-filter=^{args.db}$", "--http-interface=127.0.0.1", f"--http-port={self.http_port}",
            f"--gevent-port={free_port()}", "--workers=2", "--max-cron-threads=1", "--limit-time-real=600",
            # the demo's traffic and tests use the external JSON-RPC API; one warning per call otherwise
            "--log-handler=odoo.addons.rpc.controllers.jsonrpc:ERROR"))
        wait_http(f"{self.odoo_url}/web/health", 180, proc, "Odoo")

    def traffic_config(self, configured, odoo_url):
        return {"odoo_url": odoo_url, "db": self.args.db, "login": LOGIN, "password": PASSWORD,
                "pace": self.args.pace, "seed": int(time.time()) % 100000, "channels": configured["channels"]}

    def banner(self, url):
        print("\n" + "=" * 72)
        print(f"  Omnichannel demo running: {url}/odoo/action-omni_connector_base.action_omni_backend")
        print(f"  Login: {LOGIN} / password: {PASSWORD}   (database {self.args.db})")
        print("  Look first at: Sales > Orders (arriving), Omnichannel > Operations > Exceptions (one")
        print("  unknown SKU), > Payouts (posted, matched to the bank), > Events (the inbox).")
        print(f"  Logs: {self.log_dir}/   Stop: Ctrl-C")
        print("=" * 72 + "\n", flush=True)

    # ----------------------------------------------------------------- modes
    def run_source(self):
        self.install()
        self.start_simulators()
        self.choose_odoo_port()  # the channels' webhook URLs are set before Odoo starts
        configured = self.configure()
        self.start_odoo()
        step("starting the demo traffic")
        requests.post(f"{self.sims_url}/traffic", json=self.traffic_config(configured, self.odoo_url),
                      timeout=30).raise_for_status()
        self.banner(self.odoo_url)
        deadline = time.monotonic() + self.args.duration if self.args.duration else None
        while deadline is None or time.monotonic() < deadline:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} stopped (exit code {proc.returncode}); see {self.log_dir}")
            time.sleep(1)

    def run_docker(self):
        args = self.args
        self.sims_url = args.sims
        self.odoo_url = args.odoo_url
        wait_http(f"{self.sims_url}/health", 120, None, "the simulators service")
        self.install()
        configured = self.configure()
        config = self.traffic_config(configured, args.odoo_url)
        Path(args.traffic_file).parent.mkdir(parents=True, exist_ok=True)
        Path(args.traffic_file).write_text(json.dumps(config))
        step(f"traffic configuration handed to the simulators service ({args.traffic_file})")
        self.banner("http://localhost:8069")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="omni_demo", help="database name (default omni_demo)")
    parser.add_argument("--http-port", type=int, default=8069, help="Odoo's port (0: a free one)")
    parser.add_argument("--sim-port", type=int, default=8180, help="simulators' control port (0: a free one)")
    parser.add_argument("--pace", choices=("normal", "fast"), default="normal",
                        help="normal: ~3 orders a minute, a payout every 3 minutes; fast: for tests")
    parser.add_argument("--reset", action="store_true", help="drop the database first")
    parser.add_argument("--duration", type=int, default=0, help="stop after this many seconds (0: Ctrl-C)")
    parser.add_argument("--log-dir", default=str(REPO / ".demo-logs"))
    parser.add_argument("--docker", action="store_true", help="set up the compose services (see module doc)")
    parser.add_argument("--odoo-conf", default="/etc/odoo/odoo.conf")
    parser.add_argument("--sims", default="http://simulators:8180")
    parser.add_argument("--odoo-url", default="http://odoo:8069")
    parser.add_argument("--traffic-file", default="/var/lib/omni-demo/traffic.json")
    args = parser.parse_args(argv)
    demo = Demo(args)

    def _interrupt(*_args):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo.run_docker() if args.docker else demo.run_source()
    except KeyboardInterrupt:
        step("interrupted")
    except RuntimeError as error:
        print(f"demo: ERROR: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        demo.stop()
    return 0
