"""omni_monitoring without omni_reconciliation: it installs, its tests pass, the collector serves no
payout family, the payout alert rules are no-ops, the trace stops at the payments.

``TestBaseOnlyInstall`` (in a database where omni_reconciliation is installed, as in the suite's run)
installs omni_monitoring alone into a database of its own with ``odoo-bin`` and runs every
``/omni_monitoring`` test there, ``TestWithoutReconciliation`` included; it checks the run's result and
which addons that database holds. ``TestWithoutReconciliation`` runs only where omni_reconciliation is
not installed (that database); elsewhere it is skipped, TestBaseOnlyInstall standing for it.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import psycopg2
import psycopg2.sql

from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import config

from odoo.addons.omni_connector_base.tests.common import OmniTestMixin

from .common import PAYOUT_METRICS, MetricsScrapeMixin

RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
INSTALL_TIMEOUT = 2400


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connection_args():
    args, dsn = [], {}
    for option, key in (("db_host", "host"), ("db_port", "port"), ("db_user", "user"), ("db_password", "password")):
        if config.get(option):
            args.append(f"--{option}={config[option]}")
            dsn[key] = config[option]
    return args, dsn


def _drop_database(dbname, dsn):
    connection = psycopg2.connect(dbname="postgres", **dsn)
    try:
        connection.autocommit = True
        with connection.cursor() as cr:
            cr.execute(psycopg2.sql.SQL("DROP DATABASE IF EXISTS {}").format(psycopg2.sql.Identifier(dbname)))
    finally:
        connection.close()


def _addons_path():
    path = config["addons_path"]
    return path if isinstance(path, str) else ",".join(str(folder) for folder in path)


@tagged("post_install", "-at_install", "omni")
class TestWithoutReconciliation(MetricsScrapeMixin, OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "omni.settlement" in cls.env:
            raise unittest.SkipTest("omni_reconciliation is installed here: TestBaseOnlyInstall runs this class "
                                    "in a database without it")
        cls.backend = cls._omni_create_backend(cls.env, name="Monitored shop")
        cls._omni_set_token()

    def test_addons_installed(self):
        states = dict(self.env["ir.module.module"].search([("name", "like", "omni_%")]).mapped(
            lambda module: (module.name, module.state)))
        self.assertEqual(states["omni_monitoring"], "installed")
        self.assertNotEqual(states.get("omni_reconciliation"), "installed")
        self.assertNotEqual(states.get("omni_monitoring_reconciliation"), "installed")
        self.assertNotIn("omni.payout.transit.report", self.env)

    def test_collector_without_payout_families(self):
        families = {family["name"] for family in self.env["omni.metrics"]._omni_families()}
        self.assertFalse(families & PAYOUT_METRICS)
        self.assertIn("omni_events", families)
        started, polled_at = self._run_known_scenario()
        samples = self._samples()
        self._check_known_scenario(samples, started, polled_at, self.env.company)
        self.assertFalse({sample.name for sample in samples} & PAYOUT_METRICS)
        self._check_rules_are_served(samples, skip=PAYOUT_METRICS)

    def test_payout_alert_rules_are_no_ops(self):
        for xmlid in ("omni_monitoring.alert_payout_unmatched", "omni_monitoring.alert_payout_silence"):
            rule = self.env.ref(xmlid)
            self.assertTrue(rule.active)
            self.assertEqual(rule._omni_values(rule.create_date), {})
            rule._omni_evaluate()
            self.assertFalse(rule.state_ids)
        self.assertGreaterEqual(self.env["omni.alert.rule"]._cron_evaluate(), 7)

    def test_trace_stops_at_the_payments(self):
        partner = self.env["res.partner"].create({"name": "Base-only buyer"})
        order = self.env["sale.order"].create({"partner_id": partner.id, "omni_backend_id": self.backend.id})
        chain = json.loads(order.omni_trace_json())
        self.assertEqual(chain["start"]["id"], order.id)
        self.assertEqual(chain["settlements"], [])
        self.assertEqual(chain["orders"][0]["settlement_lines"], [])
        view = self.env["omni.trace.view"].browse(order.action_omni_trace()["res_id"])
        self.assertIn(order.name, str(view.trace_html))

    def test_overview_without_payouts(self):
        self.assertNotIn("ov_last_payout", self.env["omni.backend"]._fields)
        arch = self.env["omni.backend"].get_view(
            self.env.ref("omni_monitoring.view_omni_backend_overview_kanban").id, "kanban")["arch"]
        self.assertNotIn("action_ov_payouts", arch)
        self.assertIn("action_ov_queue", arch)
        self.assertFalse(self.env.ref("omni_monitoring_reconciliation.menu_omni_payout_transit_report",
                                      raise_if_not_found=False))


@tagged("post_install", "-at_install", "omni")
class TestBaseOnlyInstall(TransactionCase):
    """Install omni_monitoring alone (odoo-bin, a database of its own) and run its tests there."""

    def test_monitoring_installs_and_passes_without_reconciliation(self):
        if "omni.settlement" not in self.env:
            self.skipTest("omni_reconciliation is not installed here: this is the base-only database itself")
        dbname = f"{self.env.cr.dbname[:40]}_mon_base_only"
        connection_args, dsn = _connection_args()
        log = Path(tempfile.gettempdir()) / f"{dbname}.log"
        cmd = [sys.executable, "-m", "odoo", "-d", dbname, f"--addons-path={_addons_path()}", *connection_args,
               "-i", "omni_monitoring", "--test-enable", "--test-tags=/omni_monitoring", "--stop-after-init",
               "--workers=0", "--max-cron-threads=0", "--http-interface=127.0.0.1", f"--http-port={_free_port()}",
               "--log-level=test", f"--logfile={log}"]
        _drop_database(dbname, dsn)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False,  # noqa: S603 - this python, Odoo's own command line
                                  env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
            output = log.read_text(errors="replace") if log.exists() else proc.stdout + proc.stderr
            tail = "\n".join(output.splitlines()[-40:])
            result = RESULT.search(output)
            self.assertTrue(result, f"no test result in the base-only run (exit {proc.returncode}):\n{tail}")
            failed, errors, total = (int(group) for group in result.groups())
            self.assertEqual((failed, errors), (0, 0), f"the base-only run failed:\n{tail}")
            self.assertEqual(proc.returncode, 0, tail)
            for test in ("test_collector_without_payout_families", "test_payout_alert_rules_are_no_ops",
                         "test_trace_stops_at_the_payments"):
                self.assertIn(f"TestWithoutReconciliation.{test}", output, "the base-only class must run there")
            self.assertGreaterEqual(total, 20)
            with psycopg2.connect(dbname=dbname, **dsn) as connection, connection.cursor() as cr:
                cr.execute("SELECT name, state FROM ir_module_module WHERE name LIKE 'omni\\_%%'")
                states = dict(cr.fetchall())
            connection.close()
            self.assertEqual(states["omni_monitoring"], "installed")
            self.assertEqual(states["omni_connector_base"], "installed")
            self.assertNotEqual(states.get("omni_reconciliation"), "installed")
            self.assertNotEqual(states.get("omni_monitoring_reconciliation"), "installed")
        finally:
            _drop_database(dbname, dsn)
            shutil.rmtree(Path(config.filestore(dbname)), ignore_errors=True)
            log.unlink(missing_ok=True)
