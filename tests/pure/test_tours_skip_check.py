"""The test command counts a skipped tour (no Chromium, no websocket-client) as a failure."""

import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("omni_run_tests", Path(__file__).resolve().parents[1] / "run_tests.py")
run_tests = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(run_tests)

PREFIX = "2026-12-03 16:00:00,000 4242 INFO omni_test_1 "


_is_tour_skip = run_tests.is_tour_skip


def test_a_tour_skipped_for_want_of_chromium_is_caught():
    line = (PREFIX + "odoo.addons.omni_connector_shopify.tests.test_tours_connect: skipped "
            "TestToursConnect.test_connect_shopify_through_the_wizard : Chrome executable not found")
    assert _is_tour_skip(line)


def test_a_tour_skipped_for_want_of_websocket_client_is_caught():
    line = (PREFIX + "odoo.addons.omni_reconciliation.tests.test_tours_payout: skipped "
            "TestToursPayout.test_reconcile : websocket-client module is not installed")
    assert _is_tour_skip(line)


def test_any_test_skipped_because_of_the_browser_is_caught():
    line = PREFIX + "odoo.addons.x.tests.test_ui: skipped TestUi.test_x : Error during Chrome headless connection"
    assert _is_tour_skip(line)


def test_other_skips_are_left_alone():
    line = PREFIX + "odoo.addons.x.tests.test_api: skipped TestApi.test_y : jsonschema is not installed"
    assert not _is_tour_skip(line)
