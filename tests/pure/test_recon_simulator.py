"""The Stripe simulator's reset: one long-lived simulator, a clean Stripe account per test."""

import pytest

from omni_reconciliation.lib.stripe_client import fetch_settlement, list_payouts, make_client
from tests.simulators.stripe_sim import StripeSimulator, make_balance_transaction

pytestmark = pytest.mark.slow


def test_reset_forgets_payouts_faults_and_requests():
    with StripeSimulator(api_key="sk_test_reset_4242") as sim:
        client = make_client(sim.api_key, sim.base_url, max_network_retries=0)
        sim.add_payout({"id": "po_a"}, [make_balance_transaction("txn_a", 1000, fee=59, source="ch_a")])
        assert [p["id"] for p in list_payouts(client)] == ["po_a"]
        sim.inject_fault(500, count=5)
        sim.reset()
        assert sim.count() == 0
        assert list_payouts(client) == []  # no fault left either
        sim.add_payout({"id": "po_b"}, [make_balance_transaction("txn_b", 2000, source="ch_b")])
        settlement = fetch_settlement(client, "po_b")
        assert [line.transaction_ref for line in settlement.lines] == ["ch_b"]
        sim.inject_fault(500, count=5)
        sim.clear_faults()
        assert [p["id"] for p in list_payouts(client)] == ["po_b"]
