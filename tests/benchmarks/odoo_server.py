"""A small harness for benchmarks that drive a real Odoo 19 over loopback.

- :func:`create_database` — a fresh database with the given addons installed;
- :func:`odoo_shell` — run Python code in ``odoo shell`` against it (commit inside the code);
- :class:`OdooServer` — a multi-worker server bound to 127.0.0.1 on free ports, as a context
  manager that waits for ``/web/health`` and stops the whole process group on exit;
- :func:`query` — plain SQL through psycopg2, for checks too frequent for a shell;
- :func:`drop_database` — drop it again, with its filestore;
- :func:`cpu_snapshot` — CPU seconds used so far by the server's processes (by kind), the
  database's PostgreSQL backends, this process and the whole machine, to attribute a load.

The addons path is Odoo's own addons folders (``ODOO_ADDONS_PATH``, comma separated, or the
folders found beside the installed ``odoo`` package) followed by the repository root. Every
step is bounded in time and raises :class:`OdooHarnessError` with the tail of Odoo's log.
"""

import contextlib
import functools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOG_TAIL_LINES = 40
# A log line at ERROR/CRITICAL level, or the exception line closing a traceback.
LOG_PROBLEM = re.compile(r"^\d{4}-\d\d-\d\d \S+ \d+ (ERROR|CRITICAL) |^(?:\w+\.)*[A-Z]\w+: ")


class OdooHarnessError(RuntimeError):
    """Odoo could not be installed, started or driven as asked."""


@functools.lru_cache(maxsize=1)
def odoo_package_dir():
    """Folder of the ``odoo`` package that ``python3`` imports (found without importing it here)."""
    out = subprocess.run([sys.executable, "-c", "import odoo.release as r; print(r.__file__)"],
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    return Path(out).parent


@functools.lru_cache(maxsize=1)
def odoo_version():
    out = subprocess.run([sys.executable, "-c", "import odoo.release as r; print(r.version)"],
                         capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()


def addons_path():
    """Odoo's own addons folders followed by this repository, comma separated."""
    if os.environ.get("ODOO_ADDONS_PATH"):
        folders = [path for path in os.environ["ODOO_ADDONS_PATH"].split(",") if path]
    else:
        package = odoo_package_dir()
        candidates = (package / "addons", package.parent / "addons")
        folders = [str(path) for path in candidates
                   if any((path / addon / "__manifest__.py").exists() for addon in ("base", "web"))]
    return ",".join([*folders, str(REPO)])


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@functools.lru_cache(maxsize=1)
def server_entry_point():
    """How to start a multi-worker server: ``[script]`` run by ``python3``.

    Not ``-m odoo``: the prefork master re-runs ``sys.argv[0]`` to start its gevent (websocket)
    worker, and ``.../odoo/__main__.py`` run as a file fails ("attempted relative import"), which
    the master then retries on every beat. ``odoo-bin`` beside the package does it right; without
    one, an equivalent two-line launcher is written to a temporary folder.
    """
    odoo_bin = odoo_package_dir().parent / "odoo-bin"
    if odoo_bin.is_file():
        return [str(odoo_bin)]
    launcher = Path(tempfile.mkdtemp(prefix="odoo-launcher-")) / "odoo-launcher.py"
    launcher.write_text("import odoo.cli\n\nodoo.cli.main()\n")
    return [str(launcher)]


def _env():
    return dict(os.environ, PYTHONDONTWRITEBYTECODE="1")


def _tail(text_or_path, lines=LOG_TAIL_LINES):
    if isinstance(text_or_path, Path):
        try:
            text_or_path = text_or_path.read_text(errors="replace")
        except OSError:
            return ""
    return "\n".join((text_or_path or "").splitlines()[-lines:])


def _run_odoo(args, timeout, stdin_text=None, what="odoo"):
    cmd = [sys.executable, "-m", "odoo", *args]
    try:
        proc = subprocess.run(cmd, input=stdin_text, capture_output=True, text=True, cwd=REPO, env=_env(),
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        output = _tail(error.stderr or "")
        raise OdooHarnessError(f"{what} did not finish within {timeout} s\n{output}") from error
    if proc.returncode != 0:
        raise OdooHarnessError(f"{what} failed with exit code {proc.returncode}:\n{_tail(proc.stderr)}")
    return proc


def query(dbname, sql, params=None):
    """Rows of one SQL statement run in its own committed transaction."""
    import psycopg2  # noqa: PLC0415 - installed with Odoo; not needed to import this module

    with contextlib.closing(psycopg2.connect(dbname=dbname)) as conn, conn, conn.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall() if cr.description else []


def create_database(dbname, addons, timeout=1800):
    """Create ``dbname`` with ``addons`` (names) installed, without demo data; fail loudly otherwise."""
    addons = list(addons)
    _run_odoo([
        "-d", dbname, f"--addons-path={addons_path()}", "-i", ",".join(addons), "--stop-after-init",
        "--workers=0", "--max-cron-threads=0", "--http-interface=127.0.0.1", f"--http-port={free_port()}",
        "--log-level=warn",
    ], timeout=timeout, what=f"installing {', '.join(addons)} into {dbname}")
    states = dict(query(dbname, "SELECT name, state FROM ir_module_module WHERE name IN %s",
                        (tuple(addons),)))
    missing = [name for name in addons if states.get(name) != "installed"]
    if missing:
        raise OdooHarnessError(f"not installed in {dbname}: {', '.join(missing)} ({states})")


def odoo_shell(dbname, python_code, timeout=600):
    """Run ``python_code`` in ``odoo shell`` on ``dbname`` (``env`` is bound); return its stdout.

    The shell rolls back at the end: commit inside the code (``env.cr.commit()``).
    """
    args = ["shell", "-d", dbname, f"--addons-path={addons_path()}", "--no-http", "--log-level=warn"]
    proc = _run_odoo(args, timeout=timeout, stdin_text=python_code, what=f"odoo shell on {dbname}")
    return proc.stdout


def drop_database(dbname, timeout=120):
    """Drop ``dbname`` (closing its remaining connections) and its filestore; quiet if absent."""
    subprocess.run(["dropdb", "--if-exists", "--force", dbname], capture_output=True, check=False,
                   timeout=timeout)
    filestore = Path.home() / ".local" / "share" / "Odoo" / "filestore" / dbname
    if filestore.is_dir():
        import shutil  # noqa: PLC0415

        shutil.rmtree(filestore, ignore_errors=True)


class OdooServer:
    """``with OdooServer(db, workers=4) as server: ... server.base_url ...``

    Starts Odoo (see :func:`server_entry_point`) in prefork mode on 127.0.0.1 only, in its own
    process group, with the log in a temporary file (``log_path``). Entering waits (bounded) until
    ``GET /web/health`` answers 200; leaving sends SIGTERM to the master (a graceful stop)
    and SIGKILL to the whole group after ``stop_timeout`` seconds.
    """

    def __init__(self, dbname, workers=4, max_cron_threads=1, port=None, *, extra_args=(), start_timeout=180,
                 stop_timeout=30, log_level="warn"):
        self.dbname = dbname
        self.workers = workers
        self.max_cron_threads = max_cron_threads
        self.port = port or free_port()
        self.gevent_port = free_port()
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_level = log_level
        self.process = None
        self.log_path = None
        self._log_file = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self):
        return [
            sys.executable, *server_entry_point(), "-d", self.dbname, f"--db-filter=^{self.dbname}$",
            f"--addons-path={addons_path()}", f"--workers={self.workers}", "--http-interface=127.0.0.1",
            f"--http-port={self.port}", f"--gevent-port={self.gevent_port}",
            f"--max-cron-threads={self.max_cron_threads}", "--limit-time-real=600",
            f"--log-level={self.log_level}", *self.extra_args,
        ]

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_exc):
        self.stop()

    def start(self):
        handle, path = tempfile.mkstemp(prefix=f"odoo-{self.dbname}-", suffix=".log")
        self.log_path = Path(path)
        self._log_file = os.fdopen(handle, "w")
        self.process = subprocess.Popen(
            self.command, cwd=REPO, env=_env(), stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._close_log()
                raise OdooHarnessError(f"Odoo exited with code {self.process.returncode} while starting:\n"
                                       f"{_tail(self.log_path)}")
            if self._healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise OdooHarnessError(f"Odoo did not answer /web/health within {self.start_timeout} s:\n"
                               f"{_tail(self.log_path)}")

    def _healthy(self):
        try:
            with urllib.request.urlopen(f"{self.base_url}/web/health", timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def stop(self):
        """Graceful stop, then SIGKILL for the whole process group; never waits unbounded."""
        if self.process is None:
            return
        group = self.process.pid  # start_new_session: the master leads its own group
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
                self.process.wait(timeout=30)
        # Workers notice their master is gone within a second or so; stragglers are killed.
        deadline = time.monotonic() + 5
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _group_alive(group):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self._close_log()

    def log_problems(self):
        """Lines of the server log at level ERROR or CRITICAL, and the exception lines ending tracebacks."""
        if not self.log_path:
            return []
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if LOG_PROBLEM.search(line)]

    def log_tail(self, lines=LOG_TAIL_LINES):
        return _tail(self.log_path, lines) if self.log_path else ""

    def _close_log(self):
        if self._log_file and not self._log_file.closed:
            self._log_file.close()


def _group_alive(group):
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid):
    """``(process group, nice, cpu seconds)`` of a live process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, ..., utime, stime
    return int(fields[2]), int(fields[16]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _machine_busy_seconds():
    """CPU seconds the whole machine spent busy (all CPUs, everything but idle and iowait)."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


PROCESS_KINDS = ("odoo http", "odoo cron", "odoo master", "postgres")


def cpu_snapshot(server=None, dbname=None):
    """CPU seconds used so far, by kind: ``odoo http``/``odoo cron``/``odoo master`` (the server's
    process group; Odoo's cron workers run 10 nicer than the rest), ``postgres`` (backends
    connected to ``dbname``), ``client`` (this process, all threads) and ``machine`` (everything).
    Give two snapshots to :func:`cpu_delta` for the CPU a load used.
    """
    totals = dict.fromkeys(PROCESS_KINDS, 0.0)
    by_pid = {}
    group = server.process.pid if server and server.process else None
    master = _proc_stat(group) if group is not None else None
    base_nice = master[1] if master else 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(entry.name)
        if stat is None:
            continue
        pgrp, nice, seconds = stat
        kind = None
        if group is not None and pgrp == group:
            if int(entry.name) == group:
                kind = "odoo master"
            else:
                kind = "odoo cron" if nice > base_nice else "odoo http"
        elif dbname:
            title = _cmdline(entry.name)
            if title.startswith("postgres:") and f" {dbname} " in title:
                kind = "postgres"
        if kind:
            totals[kind] += seconds
            by_pid[int(entry.name)] = (kind, seconds)
    totals["client"] = time.process_time()
    totals["machine"] = _machine_busy_seconds()
    totals["_by_pid"] = by_pid
    return totals


def cpu_delta(before, after):
    """CPU seconds used between two snapshots, by kind (a process that ended in between is not counted;
    one that started is counted whole)."""
    delta = dict.fromkeys(PROCESS_KINDS, 0.0)
    earlier = before.get("_by_pid", {})
    for pid, (kind, seconds) in after.get("_by_pid", {}).items():
        delta[kind] += seconds - earlier.get(pid, (kind, 0.0))[1]
    delta["client"] = after["client"] - before["client"]
    delta["machine"] = after["machine"] - before["machine"]
    return delta
