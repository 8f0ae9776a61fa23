"""Digests of canonical records: the one place that decides what a change is.

Three questions, three digests (SHA-256 hex, 64 characters), all stored in the database:

* :func:`record_digest` -- *is this exactly the version already applied?* The binding's
  "payload digest": every field of the record, so an unchanged re-delivery is recognised
  and costs nothing;
* :func:`order_lines_digest` -- *must the sale order's lines be rewritten?* What the sale
  order is made of (lines, shipping, fees, taxes, totals, currency), kept on the sale order;
* :func:`order_update_digest` -- *would applying this version change anything?* The whole
  order except the fields channels rewrite on every update without changing what was sold
  (:data:`VOLATILE_ORDER_FIELDS`), so a connector can skip the import altogether.

The two order digests are one function, :func:`order_digest`, over two scopes. Their JSON
spellings differ (separators, ASCII escaping) because digests already stored must stay
valid: ``tests/pure/test_canonical_digest.py`` pins their values.
"""

import hashlib
import json
from dataclasses import dataclass

from .parse import to_dict

# Canonical ``Order`` fields a channel rewrites on every update without changing what was
# sold: the version stamp, shipping progress, labels, payment details (a webhook body infers
# them while a polled order lists the transactions), free-form attributes, the sales channel.
# The channel location too: it decides the warehouse once, at creation, and one channel may name it
# in one shape (a webhook's ``location_id``) and not in another (a polled node).
VOLATILE_ORDER_FIELDS = ("updated_at", "fulfillment_status", "tags", "payments", "note_attributes", "source_name",
                         "location_external_id")

# Optional fields added to the canonical records after digests were first stored: left out of
# the digests while they are None, so the digests of every record that does not use them stay
# what they were (an upgrade re-imports nothing); a value counts like any other field.
LATER_OPTIONAL_FIELDS = ("risk_level", "location_external_id")

_COMPACT = (",", ":")
_SPACED = (", ", ": ")  # json.dumps' default, kept for the lines digests already stored


def _sha256_json(data, separators=_COMPACT, ensure_ascii=False):
    text = json.dumps(data, sort_keys=True, separators=separators, ensure_ascii=ensure_ascii)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_digest(record):
    """SHA-256 hex of the record's canonical JSON: the binding's "payload digest".

    The same content gives the same digest whatever the key order or time zone of the
    channel's payload, so an unchanged re-delivery is recognised cheaply. Decimals are
    compared as written: ``70.6`` and ``70.60`` digest differently.
    """
    return _sha256_json(_without_unset_later_fields(to_dict(record)))


def _without_unset_later_fields(data):
    for name in LATER_OPTIONAL_FIELDS:
        if name in data and data[name] is None:
            del data[name]
    return data


def _taxes(tax_lines):
    return [(str(tax.rate), str(tax.amount)) for tax in tax_lines]


def _lines_content(order):
    """What the sale order is made of. Statuses, payments, notes and timestamps are left out:
    a channel update that changes only those (paid, fulfilled) must not rewrite the order's
    lines, even after it shipped."""
    return {
        "currency": order.currency,
        "taxes_included": order.taxes_included,
        "lines": [
            [line.external_id, line.sku, str(line.quantity), str(line.unit_price), str(line.discount_amount),
             _taxes(line.tax_lines)]
            for line in order.lines
        ],
        "shipping": [
            [s.external_id, s.code, str(s.price), str(s.discount_amount), _taxes(s.tax_lines)]
            for s in order.shipping_lines
        ],
        "fees": [[f.external_id, str(f.amount), _taxes(f.tax_lines)] for f in order.fee_lines],
        "totals": [str(order.total_untaxed), str(order.total_tax), str(order.total)],
    }


def _update_content(order):
    """The order without :data:`VOLATILE_ORDER_FIELDS`; the customer by its id only (its
    current profile is not part of the order)."""
    data = _without_unset_later_fields(to_dict(order))
    for name in VOLATILE_ORDER_FIELDS:
        data.pop(name, None)
    customer = data.get("customer")
    if isinstance(customer, dict):
        data["customer"] = {"external_id": customer.get("external_id")}
    return data


@dataclass(frozen=True)
class DigestScope:
    """What an order digest covers (``content``: order -> JSON-able data) and how that data
    is spelled (``separators``, ``ensure_ascii``, as ``json.dumps`` takes them)."""

    content: object
    separators: tuple = _COMPACT
    ensure_ascii: bool = False


LINES = DigestScope(_lines_content, separators=_SPACED, ensure_ascii=True)
UPDATE = DigestScope(_update_content)


def order_digest(order, scope):
    """SHA-256 hex of what ``scope`` (:data:`LINES` or :data:`UPDATE`) covers of ``order``."""
    return _sha256_json(scope.content(order), separators=scope.separators, ensure_ascii=scope.ensure_ascii)


def order_lines_digest(order):
    """Digest of what the sale order is made of (lines, shipping, fees, taxes, totals,
    currency): equal digests mean the order's lines need no rewrite."""
    return order_digest(order, LINES)


def order_update_digest(order):
    """Digest of a canonical order without the fields channels change on every update.

    Two versions with the same digest sell the same thing to the same addresses at the same
    prices, with the same financial status and cancellation: applying the second would
    change nothing in Odoo.
    """
    return order_digest(order, UPDATE)
