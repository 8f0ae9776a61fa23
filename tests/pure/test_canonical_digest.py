"""Order and record digests, pinned: a stored digest must stay valid across releases.

The hex values below were computed with the code as it stood before the digests moved into
``canonical/digest.py`` (``parse.record_digest``, ``importer.plan.content_digest`` and the
Shopify connector's ``order_content_digest``). Sale orders and bindings keep these digests in
the database: if one changed, every existing order would look edited on its next update (its
lines rewritten, or an exception raised once it shipped). A failure here is a compatibility
break, not a test to update.
"""

import dataclasses
from decimal import Decimal as D

from omni_connector_base.canonical import Order, order_from_dict, refund_from_dict
from omni_connector_base.canonical.digest import (
    LINES,
    UPDATE,
    VOLATILE_ORDER_FIELDS,
    order_digest,
    order_lines_digest,
    order_update_digest,
    record_digest,
)


def full_order():
    """Every part a digest reads, with non-ASCII text (JSON escaping differs between digests)."""
    return order_from_dict({
        "external_id": "5829417091234", "name": "#1042", "currency": "EUR", "taxes_included": True,
        "lines": [
            {"external_id": "14417890001", "sku": "TSHIRT-BLK-M", "name": "Organic T-Shirt - Black / M",
             "quantity": "2", "unit_price": "29.00", "discount_amount": "5.80",
             "tax_lines": [{"rate": "0.19", "amount": "8.33", "title": "DE MwSt"}],
             "product_external_id": "8812000001", "variant_external_id": "45110000011",
             "barcode": "4006381333931"},
            {"external_id": "14417890002", "sku": "TASSE-GRÜN", "name": "Große Tasse „Grün“",
             "quantity": "1", "unit_price": "15.00", "discount_amount": "1.50",
             "tax_lines": [{"rate": "0.19", "amount": "2.16", "title": "DE MwSt"}]},
        ],
        "created_at": "2026-11-20T09:14:03Z", "updated_at": "2026-11-20T09:14:05.250000Z",
        "shipping_lines": [{"external_id": "4946484101420", "code": "DHL Paket", "title": "DHL Paket",
                            "price": "4.90", "discount_amount": "0",
                            "tax_lines": [{"rate": "0.19", "amount": "0.78", "title": "DE MwSt"}]}],
        "fee_lines": [{"external_id": "f1", "name": "Geschenkverpackung", "amount": "0.00", "tax_lines": []}],
        "discounts": [{"code": "WELCOME10", "amount": "7.30", "kind": "percentage", "description": "10 % off"}],
        "customer": {"external_id": "7012345678901", "email": "Jane.Doe@Example.com", "first_name": "Jane",
                     "last_name": "Müller", "phone": "+49 30 1234567"},
        "billing_address": {"first_name": "Jane", "last_name": "Müller", "street": "Hauptstraße 1",
                            "street2": "2. OG", "city": "Berlin", "zip": "10115", "country_code": "DE",
                            "phone": "+49 30 1234567"},
        "shipping_address": {"first_name": "Max", "last_name": "Müller", "street": "Gartenweg 7",
                             "city": "Potsdam", "zip": "14467", "state_code": "BB", "country_code": "DE"},
        "payments": [{"gateway": "shopify_payments", "transaction_id": "7301000001", "amount": "70.60",
                      "currency": "EUR", "kind": "sale", "status": "success", "method": "card",
                      "processed_at": "2026-11-20T09:14:02Z"}],
        "financial_status": "paid", "fulfillment_status": "unfulfilled", "note": "Bitte als Geschenk verpacken",
        "note_attributes": {"gift_message": "Alles Gute!"},
        "total_untaxed": "59.33", "total_tax": "11.27", "total": "70.60",
        "source_name": "web", "tags": ["vip", "gift"], "presentment_currency": "EUR",
    })


def minimal_order():
    """No totals declared (None in the lines digest), and a hand-set Decimal in exponent form."""
    order = order_from_dict({
        "external_id": 1001, "name": "1001", "currency": "JPY", "taxes_included": False,
        "lines": [{"external_id": 1, "name": "Tea", "quantity": 3, "unit_price": "1000"}],
        "created_at": "2026-11-20T10:00:00+09:00", "updated_at": "2026-11-20T10:00:00+09:00",
    })
    order.lines[0].unit_price = D("1E+3")  # as a connector may build it from JSON numbers
    return order


def refund():
    return refund_from_dict({
        "external_id": 96040001, "order_external_id": "5829417091234", "created_at": "2026-11-24T15:02:11+01:00",
        "currency": "EUR", "amount": "26.10", "note": "Falsche Größe",
        "lines": [{"order_line_external_id": "14417890001", "quantity": "1", "restock": True,
                   "amount": "26.10", "tax_amount": "4.17"}],
    })


def test_record_digest_is_pinned():
    assert record_digest(full_order()) == "ebb4496009a8444c3cfb4ed50972192f085da9c4c0927d42abf46f13d7f64a0b"
    assert record_digest(minimal_order()) == "93e2f1af44a46b3c263f17eeb6ce7e26dc583aed339b67533d859dfedacc878d"
    assert record_digest(refund()) == "823b3c97beaa6c4218c467da2fdea786d8f425b76290f2027a5d5ce415349072"


def test_order_lines_digest_is_pinned():
    assert order_lines_digest(full_order()) == "4ca7dbe5a1978e2b46a0a2f2c2849ac9b6df44e551de74cca00b07702186676b"
    assert order_lines_digest(minimal_order()) == "d4dc8ff08ab483aa9efe3bbb39afc1775e8ab1fa14456a35096931cad738f59b"


def test_order_update_digest_is_pinned():
    assert order_update_digest(full_order()) == "318ab8d1632c1ec8a4ee94c391e057767a6e33e4e14afa55020f7ee484cda158"
    assert order_update_digest(minimal_order()) == "0435b2c3dde62ac1cae6f10b57fd0917f6533a64ecf6f7a27141a1a5905bd083"


def test_the_two_order_digests_are_one_function_over_two_scopes():
    order = full_order()
    assert order_digest(order, LINES) == order_lines_digest(order)
    assert order_digest(order, UPDATE) == order_update_digest(order)


def test_the_update_digest_ignores_the_volatile_fields_only():
    order, base = full_order(), order_update_digest(full_order())
    order.updated_at = order.created_at
    order.fulfillment_status = "fulfilled"
    order.tags, order.payments, order.note_attributes, order.source_name = [], [], {}, "pos"
    order.customer.email = "new.address@example.com"  # the customer's profile, not the order
    assert order_update_digest(order) == base
    order.financial_status = "refunded"
    assert order_update_digest(order) != base


def test_the_lines_digest_ignores_statuses_payments_and_notes():
    order, base = full_order(), order_lines_digest(full_order())
    order.financial_status, order.note, order.payments = "refunded", "", []
    assert order_lines_digest(order) == base
    order.lines[0].quantity = D(3)
    assert order_lines_digest(order) != base


def test_the_volatile_fields_are_canonical_order_fields():
    # Channel-neutral by construction: names of the canonical Order, never of a channel's payload.
    assert set(VOLATILE_ORDER_FIELDS) <= {f.name for f in dataclasses.fields(Order)}


def test_the_two_order_digests_answer_different_questions():
    # A new delivery address changes what applying the update would do, not the order's lines...
    order, lines, update = full_order(), order_lines_digest(full_order()), order_update_digest(full_order())
    order.shipping_address.street = "Am Markt 3"
    assert (order_lines_digest(order), order_update_digest(order) != update) == (lines, True)
    # ...and so does a cancellation; a new total changes both.
    order = full_order()
    order.cancelled_at = order.updated_at
    assert (order_lines_digest(order), order_update_digest(order) != update) == (lines, True)
    order.total = D("70.61")
    assert order_lines_digest(order) != lines
