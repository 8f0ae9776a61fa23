"""Stripe payouts imported through the official stripe library against the local simulator."""

import base64
import json
import urllib.error
import urllib.request
from dataclasses import fields
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import stripe

from omni_connector_base.canonical.settlement import SettlementData, check_balance, totals_by_kind
from omni_reconciliation.lib.stripe_client import fetch_settlement, list_payouts, make_client
from omni_reconciliation.lib.stripe_mapper import classify, settlement_from_stripe
from tests.simulators.stripe_sim import StripeSimulator, make_balance_transaction

pytestmark = pytest.mark.slow

STRIPE = Path(__file__).resolve().parents[1] / "fixtures" / "stripe"
PAYOUT_ID = "po_1QWooPayout1124"
UTC = timezone.utc

# Sources as Stripe returns them with expand[]=data.source (the fixture has ids only).
SOURCES = [
    {
        "id": "ch_3QWooStripe00727",
        "object": "charge",
        "amount": 11963,
        "amount_captured": 11963,
        "currency": "usd",
        "metadata": {"order_id": "727", "site_url": "https://shop.example"},
        "payment_intent": "pi_3QWooStripe00727",
        "balance_transaction": "txn_1QWoo727",
        "status": "succeeded",
    },
    {
        "id": "re_3QWooRefund702",
        "object": "refund",
        "amount": 2000,
        "currency": "usd",
        "charge": "ch_3QWooStripe00702",
        "metadata": {"order_id": "702"},
        "payment_intent": None,
    },
    {
        "id": "dp_1QWooDispute688",
        "object": "dispute",
        "amount": 4500,
        "currency": "usd",
        "charge": "ch_3QWooStripe00688",
        "metadata": {},
        "payment_intent": "pi_3QWooStripe00688",
        "reason": "fraudulent",
        "status": "lost",
    },
]


@pytest.fixture
def sim():
    simulator = StripeSimulator(api_key="sk_test_recon_4242").start()
    yield simulator
    simulator.stop()


def _client(sim, retries=0):
    return make_client(sim.api_key, sim.base_url, max_network_retries=retries)


def assert_no_float(settlement: SettlementData):
    """Every money field is a Decimal, every datetime is UTC."""
    assert isinstance(settlement.expected_amount, Decimal)
    for line in settlement.lines:
        for name in ("gross", "fee", "net"):
            assert isinstance(getattr(line, name), Decimal), (line.external_id, name)
        for name in ("exchange_rate", "original_amount"):
            assert getattr(line, name) is None or isinstance(getattr(line, name), Decimal)
        assert all(isinstance(v, Decimal) for v in line.fee_breakdown.values())
        assert all(isinstance(v, Decimal) for v in line.components.values())
        for f in fields(line):
            value = getattr(line, f.name)
            assert not isinstance(value, float), f.name
            if isinstance(value, datetime):
                assert value.utcoffset() == timedelta(0)


def test_fixture_payout_through_the_stripe_library(sim):
    sim.load_fixture(STRIPE / "payout.json", STRIPE / "payout_balance_transactions.json", sources=SOURCES)
    settlement = fetch_settlement(_client(sim), PAYOUT_ID)

    assert settlement.source == "stripe"
    assert settlement.external_id == PAYOUT_ID
    assert settlement.currency == "USD"
    assert settlement.expected_amount == Decimal("87.49")
    assert settlement.status == "paid"
    assert settlement.payout_date == date(2024, 11, 25)
    assert settlement.account_ref == "ba_1QBankAcct"
    balance = check_balance(settlement)
    assert balance.ok, str(balance)
    assert balance.lines_total == Decimal("87.49")
    assert_no_float(settlement)

    by_id = {line.external_id: line for line in settlement.lines}
    assert "txn_1QPayout" not in by_id  # the payout itself is the deposit, not a line
    sale = by_id["txn_1QWoo727"]
    assert (sale.kind, sale.gross, sale.fee, sale.net) == (
        "sale",
        Decimal("119.63"),
        Decimal("3.77"),
        Decimal("115.86"),
    )
    assert sale.transaction_ref == "ch_3QWooStripe00727"
    assert sale.order_ref == "727"
    assert sale.extra_refs == ("pi_3QWooStripe00727",)
    assert sale.fee_breakdown == {"stripe_fee": Decimal("3.77")}
    assert sale.occurred_at == datetime(2024, 11, 21, 17, 28, 8, tzinfo=UTC)
    other_sale = by_id["txn_1QWoo731"]
    assert other_sale.transaction_ref == "ch_3QWooStripe00731" and other_sale.order_ref is None

    refund = by_id["txn_1QWooRefund702"]
    assert (refund.kind, refund.net) == ("refund", Decimal("-20.00"))
    assert refund.refund_ref == "re_3QWooRefund702"
    assert refund.transaction_ref == "ch_3QWooStripe00702"
    assert refund.order_ref == "702"

    chargeback = by_id["txn_1QWooDispute688"]
    assert (chargeback.kind, chargeback.gross, chargeback.fee, chargeback.net) == (
        "chargeback",
        Decimal("-45.00"),
        Decimal("0"),
        Decimal("-45.00"),
    )
    assert chargeback.dispute_ref == "dp_1QWooDispute688"
    assert chargeback.transaction_ref == "ch_3QWooStripe00688"
    dispute_fee = by_id["txn_1QWooDispute688:dispute_fee"]
    assert (dispute_fee.kind, dispute_fee.net) == ("dispute_fee", Decimal("-15.00"))
    assert dispute_fee.dispute_ref == "dp_1QWooDispute688"

    radar = by_id["txn_1QRadarFee"]
    assert (radar.kind, radar.gross, radar.net) == ("fee", Decimal("-0.50"), Decimal("-0.50"))

    assert totals_by_kind(settlement) == {
        "sale": Decimal("167.99"),
        "refund": Decimal("-20.00"),
        "chargeback": Decimal("-45.00"),
        "dispute_fee": Decimal("-15.00"),
        "fee": Decimal("-0.50"),
    }

    # the wire: Bearer auth, the API version header, payout filter and expansion
    listing = [r for r in sim.requests if r.path == "/v1/balance_transactions"]
    assert len(listing) == 1
    assert listing[0].params["payout"] == PAYOUT_ID
    assert listing[0].params["expand"] == ["data.source"]
    assert listing[0].headers["authorization"] == f"Bearer {sim.api_key}"
    assert listing[0].headers["stripe-version"]
    assert sim.count("/v1/payouts/") == 1


def test_fetch_accepts_a_payout_object_from_list_payouts(sim):
    sim.load_fixture(STRIPE / "payout.json", STRIPE / "payout_balance_transactions.json", sources=SOURCES)
    client = _client(sim)
    payouts = list_payouts(client)
    assert [p["id"] for p in payouts] == [PAYOUT_ID]
    settlement = fetch_settlement(client, payouts[0])
    assert check_balance(settlement).ok
    assert sim.count("/v1/payouts/") == 0  # no second retrieve of the payout


def test_mapping_without_expansion_uses_ids_only():
    payout = json.loads((STRIPE / "payout.json").read_text())
    txns = json.loads((STRIPE / "payout_balance_transactions.json").read_text())["data"]
    settlement = settlement_from_stripe(payout, txns)
    assert check_balance(settlement).ok
    by_id = {line.external_id: line for line in settlement.lines}
    assert by_id["txn_1QWooRefund702"].refund_ref == "re_3QWooRefund702"
    assert by_id["txn_1QWooRefund702"].transaction_ref is None  # the refund's charge needs expansion
    assert by_id["txn_1QWooDispute688"].dispute_ref == "dp_1QWooDispute688"
    assert len(settlement.lines) == 6  # 5 transactions, the dispute split in two, no payout line


def test_list_payouts_pages_and_filters(sim):
    base = 1_780_000_000
    for number in range(7):
        txns = [
            make_balance_transaction(
                f"txn_c{number}", 1000 + number, fee=59, created=base + number * 86400, source=f"ch_c{number}"
            )
        ]
        status = "paid" if number != 3 else "failed"
        sim.add_payout(
            {"id": f"po_{number}", "created": base + number * 86400 + 3600, "status": status}, txns
        )
    client = _client(sim)
    since = datetime.fromtimestamp(base + 2 * 86400 + 1800, tz=UTC)
    payouts = list_payouts(client, since=since, page_size=2)
    # Newest first, the failed one skipped; po_1 was created a day before ``since`` but arrived
    # (was paid) after it: it is listed, a filter on the creation date would lose it.
    assert [p["id"] for p in payouts] == ["po_6", "po_5", "po_4", "po_2", "po_1"]
    requests = [r for r in sim.requests if r.path == "/v1/payouts"]
    assert len(requests) == 3
    assert requests[0].params["arrival_date"] == {"gte": str(base + 2 * 86400 + 1800)}
    assert requests[0].params["status"] == "paid"
    assert requests[1].params["starting_after"] == "po_5"
    assert [p["id"] for p in list_payouts(client, status=None)][:4] == ["po_6", "po_5", "po_4", "po_3"]


def test_pagination_250_balance_transactions(sim):
    base = 1_780_000_000
    txns = [
        make_balance_transaction(
            f"txn_{n:04d}", 1000 + n, fee=30 + n % 7, created=base + n, source=f"ch_{n:04d}"
        )
        for n in range(250)
    ]
    payout = sim.add_payout({"id": "po_big", "currency": "usd"}, txns)
    settlement = fetch_settlement(_client(sim), "po_big")
    assert len(settlement.lines) == 250
    assert {line.transaction_ref for line in settlement.lines} == {f"ch_{n:04d}" for n in range(250)}
    assert check_balance(settlement).ok
    assert settlement.expected_amount == Decimal(payout["amount"]) / 100
    pages = [r for r in sim.requests if r.path == "/v1/balance_transactions"]
    assert len(pages) == 3  # 100 + 100 + 51 (the payout's own transaction is on the last page)
    assert all(r.params["limit"] == "100" for r in pages)
    assert "starting_after" not in pages[0].params
    assert pages[1].params["starting_after"] and pages[2].params["starting_after"]
    assert all(r.params["expand"] == ["data.source"] for r in pages)


def test_rate_limit_then_success_uses_the_library_retry(sim):
    sim.load_fixture(STRIPE / "payout.json", STRIPE / "payout_balance_transactions.json", sources=SOURCES)
    sim.inject_fault(429, count=1, path_prefix="/v1/balance_transactions")
    settlement = fetch_settlement(_client(sim, retries=2), PAYOUT_ID)
    assert check_balance(settlement).ok
    statuses = [r.status for r in sim.requests if r.path == "/v1/balance_transactions"]
    assert statuses == [429, 200]


def test_server_error_is_retried_too(sim):
    sim.load_fixture(STRIPE / "payout.json", STRIPE / "payout_balance_transactions.json")
    sim.inject_fault(500, count=1)
    settlement = fetch_settlement(_client(sim, retries=1), PAYOUT_ID)
    assert check_balance(settlement).ok
    assert [r.status for r in sim.requests] == [500, 200, 200]


def test_rate_limit_without_retries_raises(sim):
    sim.load_fixture(STRIPE / "payout.json", STRIPE / "payout_balance_transactions.json")
    sim.inject_fault(429, count=1)
    with pytest.raises(stripe.RateLimitError) as info:
        fetch_settlement(_client(sim, retries=0), PAYOUT_ID)
    assert info.value.http_status == 429
    assert info.value.json_body["error"]["code"] == "rate_limit"
    assert sim.count() == 1


def test_wrong_key_and_missing_payout_raise_stripe_errors(sim):
    sim.load_fixture(STRIPE / "payout.json", STRIPE / "payout_balance_transactions.json")
    with pytest.raises(stripe.AuthenticationError) as auth:
        fetch_settlement(
            make_client("sk_test_wrongwrongwrong1234", sim.base_url, max_network_retries=0), PAYOUT_ID
        )
    assert auth.value.http_status == 401
    assert "Invalid API Key provided" in auth.value.user_message
    assert "wrongwrongwrong" not in auth.value.user_message  # redacted like Stripe
    with pytest.raises(stripe.InvalidRequestError) as missing:
        fetch_settlement(_client(sim), "po_doesnotexist")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert missing.value.param == "id"


def _raw_get(sim, path, headers):
    request = urllib.request.Request(sim.base_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_simulator_wire_shapes(sim):
    sim.load_fixture(STRIPE / "payout.json", STRIPE / "payout_balance_transactions.json", sources=SOURCES)
    basic = base64.b64encode(f"{sim.api_key}:".encode()).decode()
    status, headers, body = _raw_get(
        sim, f"/v1/payouts/{PAYOUT_ID}", {"Authorization": f"Basic {basic}", "Stripe-Version": "2024-06-20"}
    )
    assert status == 200 and body["object"] == "payout" and body["amount"] == 8749
    assert headers["Stripe-Version"] == "2024-06-20"
    assert headers["Request-Id"].startswith("req_")

    status, _, body = _raw_get(sim, "/v1/payouts", {})
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in body["error"]["message"]

    auth = {"Authorization": f"Bearer {sim.api_key}"}
    status, _, body = _raw_get(sim, "/v1/nothing", auth)
    assert status == 404 and "Unrecognized request URL" in body["error"]["message"]

    status, _, body = _raw_get(sim, "/v1/payouts?limit=101", auth)
    assert status == 400 and body["error"]["param"] == "limit"

    status, _, body = _raw_get(sim, f"/v1/balance_transactions?payout={PAYOUT_ID}&limit=2", auth)
    assert body["object"] == "list" and body["url"] == "/v1/balance_transactions"
    assert body["has_more"] is True and len(body["data"]) == 2
    assert not any(isinstance(t["source"], dict) for t in body["data"])  # not expanded
    first_page_ids = [t["id"] for t in body["data"]]

    _, _, page2 = _raw_get(
        sim,
        f"/v1/balance_transactions?payout={PAYOUT_ID}&limit=2"
        f"&starting_after={first_page_ids[-1]}&expand[]=data.source",
        auth,
    )
    assert any(isinstance(t["source"], dict) for t in page2["data"])  # expanded
    assert not any(isinstance(t["source"], str) and t["source"].startswith("ch_") for t in page2["data"])
    _, _, back = _raw_get(
        sim,
        f"/v1/balance_transactions?payout={PAYOUT_ID}&limit=2&ending_before={page2['data'][0]['id']}",
        auth,
    )
    assert [t["id"] for t in back["data"]] == first_page_ids

    status, _, body = _raw_get(sim, "/v1/balance_transactions?payout=po_nope", auth)
    assert status == 404 and body["error"]["code"] == "resource_missing"
    status, _, body = _raw_get(sim, "/v1/charges/ch_3QWooStripe00727", auth)
    assert status == 200 and body["metadata"]["order_id"] == "727"

    sim.inject_fault(429, count=1, retry_after=2)
    status, headers, body = _raw_get(sim, "/v1/payouts", auth)
    assert status == 429 and body["error"]["code"] == "rate_limit"
    assert headers["Stripe-Should-Retry"] == "true" and headers["Retry-After"] == "2"


def test_zero_and_three_decimal_currencies(sim):
    jpy = [
        make_balance_transaction("txn_jp1", 5000, fee=180, currency="jpy", source="ch_jp1"),
        make_balance_transaction("txn_jp2", -1200, currency="jpy", type_="refund", source="re_jp2"),
    ]
    sim.add_payout({"id": "po_jpy", "currency": "jpy"}, jpy)
    kwd = [make_balance_transaction("txn_kw1", 12345, fee=371, currency="kwd", source="ch_kw1")]
    sim.add_payout({"id": "po_kwd", "currency": "kwd"}, kwd)
    client = _client(sim)

    yen = fetch_settlement(client, "po_jpy")
    assert yen.currency == "JPY"
    assert yen.expected_amount == Decimal("3620")
    assert {line.external_id: line.net for line in yen.lines} == {
        "txn_jp1": Decimal("4820"),
        "txn_jp2": Decimal("-1200"),
    }
    assert check_balance(yen).ok
    dinar = fetch_settlement(client, "po_kwd")
    line = dinar.lines[0]
    assert (line.gross, line.fee, line.net) == (Decimal("12.345"), Decimal("0.371"), Decimal("11.974"))
    assert dinar.expected_amount == Decimal("11.974")
    assert check_balance(dinar).ok


def test_isk_and_ugx_come_with_two_decimals_and_mga_with_none(sim):
    """Stripe sends ISK and UGX with two decimals (zero-decimal in ISO 4217) and MGA with none (two in
    ISO 4217): 5,000 ISK is ``500000`` on the wire, not 500,000 ISK."""
    sim.add_payout({"id": "po_isk", "currency": "isk"}, [
        make_balance_transaction("txn_is1", 500000, fee=15000, currency="isk", source="ch_is1"),
        make_balance_transaction("txn_is2", -100000, currency="isk", type_="refund", source="re_is2"),
    ])
    sim.add_payout({"id": "po_ugx", "currency": "ugx"}, [
        make_balance_transaction("txn_ug1", 3700000, fee=111000, currency="ugx", source="ch_ug1")])
    sim.add_payout({"id": "po_mga", "currency": "mga"}, [
        make_balance_transaction("txn_mg1", 45000, fee=1350, currency="mga", source="ch_mg1")])
    client = _client(sim)

    krona = fetch_settlement(client, "po_isk")
    assert krona.currency == "ISK"
    assert {line.external_id: (line.gross, line.fee, line.net) for line in krona.lines} == {
        "txn_is1": (Decimal("5000.00"), Decimal("150.00"), Decimal("4850.00")),
        "txn_is2": (Decimal("-1000.00"), Decimal("0.00"), Decimal("-1000.00")),
    }
    assert krona.expected_amount == Decimal("3850") and check_balance(krona).ok
    shilling = fetch_settlement(client, "po_ugx")
    assert shilling.lines[0].gross == Decimal("37000") and shilling.expected_amount == Decimal("35890")
    ariary = fetch_settlement(client, "po_mga")
    assert (ariary.lines[0].gross, ariary.lines[0].fee) == (Decimal("45000"), Decimal("1350"))
    assert ariary.expected_amount == Decimal("43650") and check_balance(ariary).ok


def test_stripe_exponents_differ_from_iso_only_where_stripe_says_so():
    from omni_connector_base.canonical.money import currency_exponent  # noqa: PLC0415
    from omni_reconciliation.lib.stripe_mapper import STRIPE_ZERO_DECIMAL, stripe_exponent  # noqa: PLC0415

    assert {code: (currency_exponent(code), stripe_exponent(code)) for code in ("ISK", "UGX", "MGA")} == {
        "ISK": (0, 2), "UGX": (0, 2), "MGA": (2, 0)}
    for code in STRIPE_ZERO_DECIMAL - {"ISK", "UGX", "MGA"}:
        assert stripe_exponent(code.lower()) == currency_exponent(code) == 0
    for code in ("USD", "EUR", "KWD", "BHD", "HUF", "TWD"):
        assert stripe_exponent(code) == currency_exponent(code)


def test_payout_that_does_not_add_up_is_flagged(sim):
    txns = json.loads((STRIPE / "payout_balance_transactions.json").read_text())["data"]
    txns = [t for t in txns if t["type"] != "payout"]
    payout = json.loads((STRIPE / "payout.json").read_text()) | {
        "id": "po_short",
        "amount": 9000,
        "balance_transaction": "txn_short",
    }
    sim.add_payout(payout, txns)
    settlement = fetch_settlement(_client(sim), "po_short")
    result = check_balance(settlement)
    assert not result.ok
    assert result.lines_total == Decimal("87.49")
    assert result.expected == Decimal("90.00")
    assert result.difference == Decimal("-2.51")
    assert "87.49" in str(result) and "90.00" in str(result)


def test_foreign_currency_charge_keeps_rate_and_original_amount(sim):
    txn = make_balance_transaction(
        "txn_fx", 5400, fee=187, currency="usd", source="ch_fx", exchange_rate=1.08
    )
    sim.add_payout(
        {"id": "po_fx", "currency": "usd"},
        [txn],
        sources=[
            {
                "id": "ch_fx",
                "object": "charge",
                "amount": 5000,
                "currency": "eur",
                "metadata": {"order_id": "1042"},
            },
        ],
    )
    line = fetch_settlement(_client(sim), "po_fx").lines[0]
    assert line.exchange_rate == Decimal("1.08")
    assert (line.original_currency, line.original_amount) == ("EUR", Decimal("50.00"))
    assert line.match_amount == ("EUR", Decimal("50.00"))
    assert (line.currency, line.gross) == ("USD", Decimal("54.00"))


@pytest.mark.parametrize(
    ("txn", "kind"),
    [
        ({"type": "charge", "reporting_category": "charge"}, "sale"),
        ({"type": "payment", "reporting_category": "charge"}, "sale"),
        ({"type": "payment_refund", "reporting_category": "refund"}, "refund"),
        ({"type": "adjustment", "reporting_category": "dispute", "amount": -100}, "chargeback"),
        (
            {"type": "adjustment", "reporting_category": "dispute_reversal", "amount": 100},
            "chargeback_reversal",
        ),
        ({"type": "adjustment", "source": "dp_old", "amount": -100}, "chargeback"),
        ({"type": "stripe_fee", "reporting_category": "fee"}, "fee"),
        ({"type": "stripe_fx_fee"}, "fee"),
        ({"type": "refund_failure", "reporting_category": "refund_failure"}, "refund_failure"),
        ({"type": "payout_failure", "reporting_category": "payout_reversal"}, "payout_failure"),
        ({"type": "reserve_transaction"}, "reserve"),
        ({"type": "adjustment", "reporting_category": "other_adjustment"}, "adjustment"),
        ({"type": "transfer", "reporting_category": "transfer"}, "other"),
        ({"type": "payout", "source": "po_this"}, None),
        ({"type": "payout", "source": "po_other"}, "other"),
    ],
)
def test_classify_balance_transaction_types(txn, kind):
    assert classify(txn, payout_id="po_this") == kind


def test_dispute_reversal_with_returned_fee():
    txn = make_balance_transaction(
        "txn_won", 4500, fee=-1500, type_="adjustment", source="dp_1", reporting_category="dispute_reversal"
    )
    payout = {"id": "po_w", "amount": 6000, "currency": "usd", "arrival_date": 1780000000}
    settlement = settlement_from_stripe(
        payout,
        [
            txn
            | {
                "source": {
                    "id": "dp_1",
                    "object": "dispute",
                    "charge": "ch_1",
                    "amount": 4500,
                    "currency": "usd",
                }
            }
        ],
    )
    kinds = {line.kind: line.net for line in settlement.lines}
    assert kinds == {"chargeback_reversal": Decimal("45.00"), "dispute_fee": Decimal("15.00")}
    assert all(line.transaction_ref == "ch_1" for line in settlement.lines)
    assert check_balance(settlement).ok
