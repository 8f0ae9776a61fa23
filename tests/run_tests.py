#!/usr/bin/env python3
"""The suite's one test command: ``python3 tests/run_tests.py``.

1. Pure-Python tests (``tests/pure``, no Odoo) with pytest.
2. At the same time, where ``python3`` can import Odoo 19: a fresh PostgreSQL database, every addon of the
   suite installed into it, their Odoo tests run (``--test-enable --test-tags``), the
   database dropped. Where Odoo cannot be imported, a loud line says how many Odoo test
   modules were NOT run.

Exit status is non-zero on any failure. The last line is ``N passed, N failed`` over both
layers. Options: ``--pure-only``, ``--odoo-only``, ``--keep-db``, ``--tags TAGS`` (Odoo test
tags, default every addon of the suite), ``--require-odoo`` (fail when Odoo is missing; also
``OMNI_REQUIRE_ODOO=1``). Environment: ``ODOO_ADDONS_PATH`` (Odoo's own addons folders,
comma separated; found from the installed Odoo when unset), ``PGHOST``/``PGPORT``/``PGUSER``.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ODOO_RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests")
LOG_LINE_ERROR = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (ERROR|CRITICAL) ")
# Odoo logs "skipped <test> : <reason>"; a tour skipped (no Chromium, no websocket-client) is a failure:
# the back office would go untested while the run looks green.
SKIPPED_TEST = re.compile(r" skipped (\S+) : (.*)$")
TOUR_SKIP_REASON = re.compile(r"chrom|websocket|devtools|browser", re.I)


def is_tour_skip(line):
    """Whether an Odoo log line reports a tour (or any browser test) skipped."""
    skipped = SKIPPED_TEST.search(line)
    return bool(skipped and ("test_tours_" in line or TOUR_SKIP_REASON.search(skipped.group(2))))


PYTEST_SUMMARY = re.compile(r"(?:(\d+) passed)?(?:, )?(?:(\d+) failed)?")


def suite_addons():
    """Every addon folder of this repository (a folder with a manifest), base first."""
    names = sorted(path.parent.name for path in REPO.glob("*/__manifest__.py"))
    return sorted(names, key=lambda name: (name != "omni_connector_base", name))


def odoo_test_modules(addons):
    return sorted(path for addon in addons for path in (REPO / addon / "tests").glob("test_*.py"))


def odoo_importable():
    probe = subprocess.run([sys.executable, "-c", "import odoo.release as r; print(r.version)"],
                           capture_output=True, text=True, check=False)
    return probe.stdout.strip() if probe.returncode == 0 else None


def odoo_addons_path():
    """Odoo's own addons folders: from ODOO_ADDONS_PATH, else found beside the installed package."""
    if os.environ.get("ODOO_ADDONS_PATH"):
        return [path for path in os.environ["ODOO_ADDONS_PATH"].split(",") if path]
    out = subprocess.run([sys.executable, "-c", "import odoo.release as r; print(r.__file__)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    package = Path(out).parent
    candidates = [package / "addons", package.parent / "addons"]
    return [str(path) for path in candidates if (path / "web" / "__manifest__.py").exists()
            or (path / "base" / "__manifest__.py").exists()]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_pure():
    """Start the pure tests in the background; their output is kept for :func:`finish_pure`."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    output = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "tests/pure", "-q", "-p", "no:cacheprovider"],
                            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    return proc, output


def finish_pure(started):
    """Wait for the pure tests, print their output and count them."""
    proc, output = started
    returncode = proc.wait()
    output.seek(0)
    text = output.read()
    output.close()
    print("== Pure-Python tests (no Odoo) ==", flush=True)
    sys.stdout.write(text)
    passed = failed = 0
    for line in text.splitlines()[-3:]:
        for count, word in re.findall(r"(\d+) (passed|failed|errors?)", line):
            if word == "passed":
                passed += int(count)
            else:
                failed += int(count)
    if returncode == 5:
        print("ERROR: pytest collected no pure tests: that is a broken suite, not a pass.")
        return passed, failed + 1
    if returncode != 0 and failed == 0:
        failed = 1  # pytest failed without a countable failure (collection error, crash)
    return passed, failed


def run_odoo(addons, tags, keep_db):
    version = odoo_importable()
    modules = odoo_test_modules(addons)
    if not version:
        print("\n" + "!" * 78)
        print(f"Odoo not importable: {len(modules)} Odoo test modules NOT run")
        print("(install Odoo 19.0 into this python3 to run them; see README 'Running the tests')")
        print("!" * 78 + "\n", flush=True)
        return None
    if not version.startswith("19."):
        print(f"ERROR: python3 imports Odoo {version}; this suite targets Odoo 19.0")
        return 0, 1
    dbname = f"omni_test_{os.getpid()}_{int(time.time())}"
    addons_path = ",".join([*odoo_addons_path(), str(REPO)])
    log_path = REPO / ".test-logs" / f"{dbname}.log"
    log_path.parent.mkdir(exist_ok=True)
    tags = tags or ",".join(f"/{addon}" for addon in addons)
    cmd = [
        sys.executable, "-m", "odoo", "-d", dbname, f"--addons-path={addons_path}",
        "-i", ",".join(addons), "--test-enable", f"--test-tags={tags}", "--stop-after-init",
        "--http-interface=127.0.0.1", f"--http-port={free_port()}", "--log-level=test",
        "--workers=0", "--max-cron-threads=0",
    ]
    print(f"== Odoo {version} tests: {len(modules)} test modules in {', '.join(addons)} ==", flush=True)
    print(f"   database {dbname}; full log: {log_path}", flush=True)
    started = time.time()
    failures_in_log = []
    tours_skipped = []
    result = None
    try:
        with open(log_path, "w") as log, subprocess.Popen(
                cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1")) as proc:
            for line in proc.stdout:
                log.write(line)
                if LOG_LINE_ERROR.match(line) or " FAIL: " in line or " ERROR: " in line:
                    failures_in_log.append(line.rstrip())
                    sys.stdout.write(line)
                elif "odoo.tests.stats" in line or "post-tests in" in line or "Starting post tests" in line:
                    sys.stdout.write(line)
                if is_tour_skip(line):
                    tours_skipped.append(line.rstrip())
                    sys.stdout.write(line)
                match = ODOO_RESULT.search(line)
                if match and "when loading database" in line:
                    result = tuple(int(group) for group in match.groups())
            returncode = proc.wait()
    finally:
        if not keep_db:
            subprocess.run(["dropdb", "--if-exists", dbname], check=False, capture_output=True)
            filestore = Path.home() / ".local" / "share" / "Odoo" / "filestore" / dbname
            shutil.rmtree(filestore, ignore_errors=True)
    print(f"   Odoo run took {time.time() - started:.0f} s, exit code {returncode}", flush=True)
    if result is None:
        print("ERROR: Odoo printed no test result (did the install fail?). See the log above.")
        return 0, 1
    failed_count, error_count, total = result
    failed = failed_count + error_count
    if total == 0:
        print("ERROR: Odoo ran no test at all.")
        return 0, 1
    if failed == 0 and (returncode != 0 or failures_in_log):
        print("ERROR: Odoo reported errors outside the tests:")
        for line in failures_in_log[:30]:
            print("   ", line)
        failed = 1
    if tours_skipped:
        print(f"ERROR: {len(tours_skipped)} browser test(s) (tours) were SKIPPED: install Debian's chromium "
              "package and websocket-client (.ci/run does both). Skipped tours count as failures.")
        failed += len(tours_skipped)
    print(f"   Odoo: {total - failed} passed, {failed} failed", flush=True)
    return total - failed, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pure-only", action="store_true")
    parser.add_argument("--odoo-only", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--tags", default=None)
    parser.add_argument("--require-odoo", action="store_true", default=os.environ.get("OMNI_REQUIRE_ODOO") == "1")
    args = parser.parse_args()

    passed = failed = 0
    # The two layers run side by side (the pure layer's longest tests, the demo and the gateway, mostly
    # wait on servers of their own); the pure layer's output is printed after the Odoo layer's.
    pure = None if args.odoo_only else start_pure()
    if not args.pure_only:
        if pure:
            print("== Pure-Python tests started beside the Odoo tests (their output follows them) ==", flush=True)
        outcome = run_odoo(suite_addons(), args.tags, args.keep_db)
        if outcome is None:
            if args.require_odoo:
                failed += 1
        else:
            passed, failed = passed + outcome[0], failed + outcome[1]
    if pure:
        p, f = finish_pure(pure)
        passed, failed = passed + p, failed + f
    print(f"\n{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
