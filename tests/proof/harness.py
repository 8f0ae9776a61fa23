"""The proof harness: one fresh ``proof_*`` database, one multi-worker Odoo, the table of figures.

Reuses ``tests/benchmarks/odoo_server.py`` (database creation, ``odoo shell``, the prefork
server as a context manager, plain SQL). A :class:`Proof` holds what every suite needs:

- ``proof.dbname`` and ``proof.server`` (an :class:`OdooServer`, ``--workers 2
  --max-cron-threads 1`` on 127.0.0.1; :meth:`Proof.restart` starts a new one after a kill);
- :meth:`Proof.shell` runs Python in ``odoo shell`` and returns what the code passed to
  ``_emit`` (a JSON dict);
- :meth:`Proof.sql` is one committed SQL statement;
- :meth:`Proof.figure` adds a row to the table: suite, figure, measured value, the claim it
  checks and whether it holds. A row with ``ok=False`` makes the run exit non-zero.
"""

import contextlib
import json
import os
import platform
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.odoo_server import (
    REPO,
    OdooHarnessError,
    OdooServer,
    create_database,
    drop_database,
    odoo_shell,
    odoo_version,
    query,
)

MARK = "PROOF_RESULT="
PRELUDE = r"""
import json, time
from datetime import datetime, timedelta
from odoo import Command, fields
P = json.loads(%r)

def _emit(data):
    print("PROOF_RESULT=" + json.dumps(data, default=str), flush=True)
"""
ADDONS = ("omni_connector_shopify", "omni_connector_woocommerce", "omni_connector_marketplace", "omni_reconciliation",
          "omni_monitoring")  # every omni_* addon: the authorization and fuzz suites cover them all
WORKERS = 2
CRON_THREADS = 1


@dataclass
class Figure:
    suite: str
    figure: str
    value: str
    claim: str
    ok: bool | None  # None: a measurement without a pass/fail claim


class Proof:
    def __init__(self, *, quick, seed, keep_db=False, scale=1.0):
        self.quick = quick
        self.scale = scale
        self.seed = seed
        self.keep_db = keep_db
        self.dbname = f"proof_{os.getpid()}_{int(time.time())}"
        self.server = None
        self.cluster = None  # a PrivateCluster when the run has its own PostgreSQL (suite dbrestart)
        self.figures = []
        self.log_paths = []  # every server log of the run (one per start)
        self.started = time.monotonic()

    def size(self, full, quick):
        """A suite's size: ``quick`` with --quick, else ``full`` times --scale (at least 2)."""
        return quick if self.quick else max(int(full * self.scale), 2)

    # ------------------------------------------------------------------ table
    def figure(self, suite, figure, value, claim="", ok=None):
        self.figures.append(Figure(suite, figure, str(value), claim, ok))
        mark = {True: "ok", False: "FAILED", None: "--"}[ok]
        print(f"  [{mark:>6}] {suite}: {figure} = {value}" + (f"  ({claim})" if claim else ""), flush=True)
        return ok

    @property
    def failed(self):
        return [row for row in self.figures if row.ok is False]

    def table(self):
        lines = ["| suite | figure | measured | claim | holds |", "|---|---|---:|---|:-:|"]
        for row in self.figures:
            holds = {True: "✅", False: "❌", None: "—"}[row.ok]
            lines.append(f"| {row.suite} | {row.figure} | {row.value} | {row.claim} | {holds} |")
        return "\n".join(lines)

    # --------------------------------------------------------------- database
    def create(self):
        began = time.monotonic()
        create_database(self.dbname, ADDONS)
        print(f"database {self.dbname}: {', '.join(ADDONS)} installed in {time.monotonic() - began:.0f} s",
              flush=True)

    def drop(self):
        if self.keep_db:
            print(f"database kept: {self.dbname}")
            return
        drop_database(self.dbname)

    def shell(self, code, params=None, timeout=900):
        output = odoo_shell(self.dbname, (PRELUDE % json.dumps(params or {}, default=str)) + code, timeout=timeout)
        for line in output.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise OdooHarnessError(f"the shell printed no result:\n{output[-3000:]}")

    def sql(self, statement, params=None):
        return query(self.dbname, statement, params)

    def scalar(self, statement, params=None):
        rows = self.sql(statement, params)
        return rows[0][0] if rows else None

    # ----------------------------------------------------------------- server
    def start_server(self):
        # Odoo's request retry says at INFO that it runs a request again after a conflict: without that
        # line the conflict's "bad query" error line could not be told from a failure (see log_problems).
        extra = (*(self.cluster.odoo_args() if self.cluster else ()), "--log-handler=odoo.service.model:INFO")
        self.server = OdooServer(self.dbname, workers=WORKERS, max_cron_threads=CRON_THREADS, start_timeout=240,
                                 extra_args=extra)
        self.server.start()
        self.log_paths.append(self.server.log_path)
        return self.server

    def stop_server(self):
        if self.server is not None:
            self.server.stop()

    def restart(self):
        """A new server after the old one was killed (or stopped): same database, new ports."""
        self.stop_server()
        return self.start_server()

    @property
    def base_url(self):
        return self.server.base_url

    def log_problems(self):
        """Error lines and traceback ends of every server log of this run.

        A query that met a concurrent transaction inside an HTTP request is logged by ``odoo.sql_db``
        as an error, then Odoo's request retry (``odoo.service.model.retrying``) logs that it runs the
        request again: no one sees a failure. Such pairs are counted in ``retried_conflicts``, not here;
        a conflict whose retries ran out ("maximum number of tries reached") stays a problem.
        """
        problems = []
        self.retried_conflicts = 0
        for path in self.log_paths:
            with contextlib.suppress(OSError):
                lines = Path(path).read_text(errors="replace").splitlines()
                retried = retried_conflict_lines(lines)
                self.retried_conflicts += len(retried) // 2
                problems += [line for index, line in enumerate(lines) if index not in retried and _problem(line)]
        return problems

    def log_text(self):
        text = []
        for path in self.log_paths:
            with contextlib.suppress(OSError):
                text.append(Path(path).read_text(errors="replace"))
        return "\n".join(text)

    # ---------------------------------------------------------------- context
    def machine(self):
        cpu_model = "unknown"
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
        pg = self.scalar("SHOW server_version")
        where = " (the run's own cluster)" if self.cluster else ""
        return (f"{os.cpu_count()} vCPU ({cpu_model}), Python {platform.python_version()}, Odoo {odoo_version()}, "
                f"PostgreSQL {pg}{where}")

    @staticmethod
    def load():
        return " ".join(f"{value:.2f}" for value in os.getloadavg())

    @staticmethod
    def command():
        return shlex.join(["python3", *[arg for arg in sys.orig_argv[1:]]])


class PrivateCluster:
    """A PostgreSQL cluster of the run's own: ``initdb`` into a temporary folder, ``pg_ctl`` on a
    port of its own (127.0.0.1 only), trust authentication, superuser ``root``.

    The database-restart suite restarts *this* cluster (``pg_ctl restart -m fast``, what
    ``pg_ctlcluster <version> <name> restart`` does for a packaged cluster): the machine's main
    cluster is never touched. :meth:`activate` points every client of the run at it: ``PGHOST`` and
    ``PGPORT`` for libpq (``createdb``/``dropdb``, psycopg2, ``odoo shell``), ``--db_host``/``--db_port``
    for the server. PostgreSQL refuses to run as root: the cluster's processes run as ``postgres``.
    """

    BIN = Path(os.environ.get("PROOF_PG_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self, port, root=None):
        import tempfile  # noqa: PLC0415

        self.port = port
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix=f"proof-pg-{port}-"))
        self.data = self.root / "data"
        self.log = self.root / "postgresql.log"
        self.restarts = []  # seconds each restart took (pg_ctl -w: until it accepts connections)

    def _as_postgres(self, *args, timeout=120):
        import subprocess  # noqa: PLC0415

        command = [str(self.BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise OdooHarnessError(f"{' '.join(args[:2])} failed: {result.stderr[-2000:]}{result.stdout[-2000:]}")
        return result.stdout

    def start(self):
        import shutil  # noqa: PLC0415

        if (self.data / "PG_VERSION").exists():  # a cluster kept by --keep-db: start it if it is down
            import subprocess  # noqa: PLC0415

            if subprocess.run([str(self.BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                              check=False).returncode != 0:
                self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
            return self
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-U", "root", "--auth=trust", "-E", "UTF8",
                          "--locale=C.UTF-8", "-N")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\n"
                       "max_connections = 200\nfsync = on\nlog_line_prefix = '%m [%p] '\n")
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        return self

    def activate(self):
        os.environ["PGHOST"] = "127.0.0.1"
        os.environ["PGPORT"] = str(self.port)

    def odoo_args(self):
        return ["--db_host=127.0.0.1", f"--db_port={self.port}"]

    def restart(self):
        began = time.monotonic()
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60",
                          "restart")
        self.restarts.append(time.monotonic() - began)
        return self.restarts[-1]

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, remove=True):
        import shutil  # noqa: PLC0415

        with contextlib.suppress(OdooHarnessError):
            self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


_LOG_HEAD = re.compile(r"^\d{4}-\d\d-\d\d \S+ (\d+) (\w+) ")
_CONFLICT_ERROR = re.compile(r"^ERROR:  ?(could not serialize access|deadlock detected|could not obtain lock)")
_REQUEST_RETRY = re.compile(r" odoo\.service\.model: (SERIALIZATION_FAILURE|DEADLOCK_DETECTED|LOCK_NOT_AVAILABLE), "
                            r"\d+ tries left")


def retried_conflict_lines(lines):
    """Indexes of the "bad query" line and its "ERROR: could not serialize access" line of each conflict
    that the same process then retried (its next log line is Odoo's request retry)."""
    retried = set()
    for index, line in enumerate(lines):
        head = _LOG_HEAD.match(line)
        if not (head and head.group(2) == "ERROR" and " odoo.sql_db: bad query: " in line):
            continue
        error_at = next((i for i in range(index + 1, min(index + 60, len(lines)))
                         if _CONFLICT_ERROR.match(lines[i]) or _LOG_HEAD.match(lines[i])), None)
        if error_at is None or not _CONFLICT_ERROR.match(lines[error_at]):
            continue
        next_own = next((lines[i] for i in range(error_at + 1, min(error_at + 400, len(lines)))
                         if (other := _LOG_HEAD.match(lines[i])) and other.group(1) == head.group(1)), "")
        if _REQUEST_RETRY.search(next_own):
            retried.update((index, error_at))
    return retried


def _problem(line):
    from tests.benchmarks.odoo_server import LOG_PROBLEM  # noqa: PLC0415

    return bool(LOG_PROBLEM.search(line))


def wait_until(predicate, timeout, interval=0.5):
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` seconds pass; return the last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


__all__ = ["REPO", "OdooHarnessError", "PrivateCluster", "Proof", "wait_until"]
