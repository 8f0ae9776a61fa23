"""WooCommerce order and refund JSON -> canonical records (pure)."""

import copy
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from omni_connector_base.canonical.totals import channel_totals
from omni_connector_woocommerce.lib import mapper
from omni_connector_woocommerce.lib.mapper import ValidationError, map_order, map_refund

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def order(**overrides):
    payload = mapper.load_payload((FIXTURES / "woocommerce" / "order.json").read_bytes())
    payload = copy.deepcopy(payload)
    payload.update(overrides)
    return payload


def test_fixture_727_maps_to_the_canonical_order():
    result = map_order(order())
    assert (result.external_id, result.name, result.currency) == ("727", "727", "USD")
    assert result.taxes_included is False
    hoodie, beanie = result.lines
    assert (hoodie.external_id, hoodie.sku, hoodie.quantity) == ("315", "HOODIE-BLU-L", D(2))
    assert (hoodie.unit_price, hoodie.discount_amount) == (D("45.00"), D("9.00"))
    assert (hoodie.product_external_id, hoodie.variant_external_id) == ("93", "95")
    assert [(t.rate, t.amount) for t in hoodie.tax_lines] == [(D("0.0875"), D("7.09"))]
    assert beanie.variant_external_id is None and beanie.tax_lines[0].amount == D("1.58")
    shipping = result.shipping_lines[0]
    assert (shipping.code, shipping.price, shipping.tax_lines[0].amount) == ("flat_rate", D("8.00"), D("0.70"))
    fee = result.fee_lines[0]
    assert (fee.name, fee.amount, fee.tax_lines[0].amount) == ("Gift wrap", D("3.00"), D("0.26"))
    assert [(d.code, d.amount) for d in result.discounts] == [("winter10", D("11.00"))]
    assert channel_totals(result).total == D("119.63") and result.total_tax == D("9.63")
    payment = result.payments[0]
    assert (payment.gateway, payment.transaction_id, payment.amount) == ("stripe", "ch_3QWooStripe00727", D("119.63"))
    assert result.financial_status == "paid"
    assert result.customer.external_id == "26" and result.customer.email == "john.smith@example.com"
    assert result.shipping_address.street == "969 Market St" and result.note == "Leave at the back door"
    assert result.created_at.isoformat() == "2026-11-21T17:28:02+00:00"


def test_prices_including_tax_are_rebuilt_tax_included():
    payload = order(prices_include_tax=True)
    result = map_order(payload)
    hoodie = result.lines[0]
    # subtotal 90.00 + subtotal_tax 7.88 over 2 units; total 81.00 + 7.09 -> discount 9.79
    assert hoodie.unit_price == D("48.94") and hoodie.discount_amount == D("9.79")
    assert result.shipping_lines[0].price == D("8.70") and result.fee_lines[0].amount == D("3.26")
    assert result.discounts[0].amount == D("11.96")


def test_guest_order_has_no_customer_id_and_a_normalized_email():
    payload = order(customer_id=0)
    payload["billing"]["email"] = "Jane.DOE@Example.com"
    result = map_order(payload)
    assert result.customer.external_id is None and result.customer.email == "jane.doe@example.com"


@pytest.mark.parametrize(("status", "financial", "paid", "cancelled"), [
    ("pending", "pending", False, False),
    ("processing", "paid", True, False),
    ("on-hold", "unpaid", False, False),
    ("completed", "paid", True, False),
    ("cancelled", "voided", False, True),
    ("failed", "voided", False, True),
    ("refunded", "refunded", True, False),
])
def test_status_actions(status, financial, paid, cancelled):
    result = map_order(order(status=status))
    assert result.financial_status == financial
    assert bool(result.payments) is paid
    assert result.cancelled is cancelled


def test_status_map_overrides_and_unknown_status_is_a_quotation():
    assert mapper.status_action("wc-custom-awaiting") == "quotation"
    assert mapper.status_action("on-hold", {"on-hold": "paid"}) == "paid"
    assert mapper.status_action("checkout-draft") == "ignore"


def test_missing_rate_percent_uses_the_backend_mapping_or_names_the_field():
    payload = order()
    del payload["tax_lines"][0]["rate_percent"]
    with pytest.raises(ValidationError) as caught:
        map_order(payload)
    assert "tax_lines[0].rate_percent" in str(caught.value)
    assert map_order(payload, rate_percents={"1": 8.75}).lines[0].tax_lines[0].rate == D("0.0875")


def test_compound_rates_and_multiple_taxes_per_line():
    payload = order()
    payload["tax_lines"].append({"id": 399, "rate_id": 7, "label": "City", "compound": True, "tax_total": "0.10",
                                 "shipping_tax_total": "0.00", "rate_percent": 0.5})
    payload["line_items"][1]["taxes"].append({"id": 7, "total": "0.0979", "subtotal": "0.0979"})
    line = map_order(payload).lines[1]
    assert [(t.rate, t.amount, t.title) for t in line.tax_lines] == [
        (D("0.0875"), D("1.58"), "CA State Tax"), (D("0.005"), D("0.10"), "City")]
    assert mapper.tax_rates(payload)["7"][2] is True


def test_errors_name_every_bad_field_never_the_value():
    payload = order()
    payload["line_items"][0]["quantity"] = "many"
    payload["line_items"][1]["taxes"][0]["id"] = 42
    payload["date_created_gmt"] = None
    with pytest.raises(ValidationError) as caught:
        map_order(payload)
    text = str(caught.value)
    assert "line_items[0].quantity" in text and "line_items[1].taxes[0].id" in text
    assert "date_created_gmt" in text and "many" not in text


REFUND = {
    "id": 901, "date_created_gmt": "2026-11-23T10:00:00", "amount": "48.94", "reason": "Too big",
    "refunded_payment": True,
    "line_items": [{"id": 950, "quantity": -1, "total": "-45.00", "total_tax": "-3.94", "refund_total": 45.0,
                    "taxes": [{"id": 1, "total": "-3.9375"}],
                    "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": "315"}]}],
    "shipping_lines": [],
}


def test_refund_to_canonical_with_restock_and_gateway_transaction():
    payload = order()
    payload["line_items"][0]["meta_data"].append({"id": 9, "key": "_restock_refunded_items", "value": "1"})
    refund = map_refund(json.loads(json.dumps(REFUND)), payload)
    assert (refund.external_id, refund.order_external_id, refund.amount) == ("901", "727", D("48.94"))
    line = refund.lines[0]
    assert (line.order_line_external_id, line.quantity, line.amount, line.tax_amount, line.restock) == (
        "315", D(1), D("45.0"), D("3.94"), True)
    assert refund.adjustment_amount == D("0")
    tx = refund.transactions[0]
    assert (tx.kind, tx.gateway, tx.parent_transaction_id) == ("refund", "stripe", "ch_3QWooStripe00727")


def test_refund_recorded_elsewhere_has_no_transaction_and_no_restock():
    refund = map_refund(dict(REFUND, refunded_payment=False), order())
    assert refund.transactions == [] and refund.lines[0].restock is False


def test_amount_only_refund_is_an_adjustment():
    refund = map_refund(dict(REFUND, line_items=[], amount="5.00"), order())
    assert refund.lines == [] and refund.adjustment_amount == D("5.00")


def test_refunded_shipping_and_fee_items_map_to_shipping_and_the_fee_line():
    refund = dict(REFUND, amount="60.90", shipping_lines=[
        {"id": 960, "method_id": "flat_rate", "total": "-8.00", "total_tax": "-0.70",
         "taxes": [{"id": 1, "total": "-0.7"}], "meta_data": [{"id": 2, "key": "_refunded_item_id", "value": "317"}]},
    ], fee_lines=[
        {"id": 961, "name": "Gift wrap", "total": "-3.00", "total_tax": "-0.26",
         "taxes": [{"id": 1, "total": "-0.2625"}],
         "meta_data": [{"id": 3, "key": "_refunded_item_id", "value": "319"}]},
    ])
    result = map_refund(json.loads(json.dumps(refund)), order())
    assert (result.shipping_amount, result.shipping_tax) == (D("8.00"), D("0.70"))
    fee = result.lines[1]
    assert (fee.order_line_external_id, fee.quantity, fee.amount, fee.tax_amount) == (
        "fee:319", D(0), D("3.00"), D("0.26"))
    assert result.adjustment_amount == D("0"), "48.94 + 8.70 + 3.26: everything explained"


def test_refund_payload_says_api_refund_explicitly():
    body = mapper.refund_payload([{"id": "315", "quantity": D(1), "refund_total": D("45.00"),
                                   "refund_tax": {"1": D("3.94")}}], D("48.94"), api_refund=False, api_restock=True)
    assert body["api_refund"] is False and body["api_restock"] is True
    assert body["line_items"] == [{"id": 315, "quantity": 1, "refund_total": "45.00",
                                   "refund_tax": [{"id": 1, "refund_total": "3.94"}]}]


def test_refund_payload_names_shipping_and_fee_items_in_line_items():
    # WooCommerce's refund API reads every refunded item, shipping and fees too, from line_items.
    body = mapper.refund_payload([
        {"id": "315", "quantity": D(1), "refund_total": D("40.50"), "refund_tax": {"1": D("3.54")}},
        {"id": "317", "quantity": D(0), "refund_total": D("8.00"), "refund_tax": {"1": D("0.70")}},
        {"id": "319", "quantity": D(0), "refund_total": D("3.00"), "refund_tax": {"1": D("0.26")}},
    ], D("56.00"), api_refund=True, api_restock=False)
    assert [(item["id"], item["quantity"], item["refund_total"]) for item in body["line_items"]] == [
        (315, 1, "40.50"), (317, 0, "8.00"), (319, 0, "3.00")]
    assert body["amount"] == "56.00" and body["api_refund"] is True


def test_stock_batches_at_most_100_and_variations_by_parent():
    levels = [(i, None, i % 7) for i in range(1, 251)] + [(500, 600 + i, 3) for i in range(120)]
    calls = mapper.stock_batches(levels)
    assert [len(updates) for _parent, updates in calls] == [100, 100, 50, 100, 20]
    assert [parent for parent, _u in calls] == [None, None, None, 500, 500]
    assert calls[0][1][0] == {"id": 1, "manage_stock": True, "stock_quantity": 1}
    # the same product twice is coalesced to its last quantity
    assert mapper.stock_batches([(1, None, 5), (1, None, 6)]) == [(None, [{"id": 1, "manage_stock": True,
                                                                            "stock_quantity": 6}])]


def test_shipment_note_and_tracking_item():
    from datetime import datetime, timezone  # noqa: PLC0415

    assert mapper.shipment_note("UPS", "1Z999", partial=True) == \
        "Part of your order has shipped with UPS. Tracking number: 1Z999."
    item = mapper.tracking_item("UPS", "1Z999", None, datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert item["custom_tracking_provider"] == "UPS" and item["date_shipped"] == "1795392000"


def _with_meta(key, value):
    payload = order()
    payload["meta_data"] = [*payload["meta_data"], {"id": 13107, "key": key, "value": value}]
    return payload


def test_fraud_plugin_meta_becomes_the_risk_level_under_the_backends_key():
    assert map_order(_with_meta("_fraud_risk_level", "HIGH"), risk_meta_key="_fraud_risk_level").risk_level == "high"
    # a score 0-100 (WooCommerce Anti-Fraud's "_wc_af_score"), as text or a number
    assert map_order(_with_meta("_wc_af_score", "45"), risk_meta_key="_wc_af_score").risk_level == "medium"
    assert map_order(_with_meta("_wc_af_score", 85), risk_meta_key="_wc_af_score").risk_level == "high"
    assert map_order(_with_meta("_wc_af_score", 5), risk_meta_key=" _wc_af_score ").risk_level == "low"


def test_no_risk_without_the_key_or_with_an_unreadable_value():
    risky = _with_meta("_fraud_risk_level", "high")
    assert map_order(risky).risk_level is None, "no key configured: no assessment"
    assert map_order(risky, risk_meta_key="_other_plugin").risk_level is None
    assert map_order(_with_meta("_fraud_risk_level", "pending"), risk_meta_key="_fraud_risk_level").risk_level is None
    assert map_order(_with_meta("_fraud_risk_level", {"x": 1}), risk_meta_key="_fraud_risk_level").risk_level is None
