"""Personal data out of a stored channel payload, keeping what trace, idempotency and digests need.

Pure (no ``odoo`` import). One generic rule for every channel shape (Shopify REST and GraphQL,
WooCommerce, Amazon, eBay, the canonical JSON of custom channels), by key name, compared without
case, ``_`` or ``-`` (``shipping_address``, ``shippingAddress`` and ``ShippingAddress`` are one key):

* **containers of a person** (:data:`PERSON_CONTAINERS`: the customer, the billing and shipping
  addresses, the buyer, the recipient...) keep only their ids and the country and region codes
  (what the allocation rules and the reports read), everything else goes;
* **personal fields anywhere** (:data:`PERSONAL_FIELDS`: e-mails, phones, names of people, street
  lines, postcodes, notes, IP addresses, browser details...) go wherever they appear;
* everything else stays: ids, order names and numbers, totals, prices, taxes, SKUs, quantities,
  product names, statuses, timestamps, currencies, gateways and transaction ids.

A removed value becomes ``None`` (the shape stays readable), so a stripped payload still shows
what the event was about, and ``strip_payload`` is idempotent.
"""

import json
from collections.abc import Mapping


def _norm(key):
    return str(key).replace("_", "").replace("-", "").lower()


# Objects that describe a person: only their ids and where (country, region) are kept.
PERSON_CONTAINERS = frozenset(_norm(key) for key in (
    "customer", "billing_address", "shipping_address", "billing", "shipping", "default_address", "addresses",
    "buyer", "buyer_info", "recipient", "delivery_address", "ship_to", "contact", "client_details",
    "customer_details", "sold_to", "fulfillment_start_instructions_ship_to", "destination", "origin_address",
))
# Inside a person container, what stays.
KEPT_IN_CONTAINERS = frozenset(_norm(key) for key in (
    "id", "external_id", "admin_graphql_api_id", "legacy_resource_id", "customer_id", "buyer_id", "country",
    "country_code",
    "province_code", "state_code", "state", "state_or_region", "state_or_province", "country_iso",
    "country_code_v2", "created_at", "updated_at",
))
# Personal fields wherever they appear.
PERSONAL_FIELDS = frozenset(_norm(key) for key in (
    "email", "contact_email", "customer_email", "buyer_email", "billing_email", "phone", "phone_number",
    "mobile", "sms_marketing_phone", "first_name", "last_name", "firstname", "lastname", "full_name",
    "full_name_kana", "buyer_name", "customer_name", "recipient_name", "username", "user_name",
    "address1", "address2", "address_1", "address_2", "address_line1", "address_line2", "address_line3",
    "street", "street1", "street2", "zip", "postcode", "postal_code", "latitude", "longitude",
    "company", "company_name", "vat_number", "tax_id", "national_id", "birth_date", "date_of_birth",
    "note", "customer_note", "note_attributes", "gift_message", "browser_ip", "customer_ip_address",
    "ip_address", "ip", "user_agent", "customer_user_agent", "accept_language", "landing_site", "referring_site",
    "token", "cart_token", "checkout_token", "device_id",
))


def strip_personal(value):
    """``value`` (parsed JSON) without personal data; returns ``(new value, fields removed)``."""
    removed = [0]
    return _strip(value, removed, inside_person=False), removed[0]


def _strip(value, removed, inside_person):
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            name = _norm(key)
            if name in PERSONAL_FIELDS or (inside_person and name not in KEPT_IN_CONTAINERS
                                           and not isinstance(item, (Mapping, list))):
                if item not in (None, "", [], {}):
                    removed[0] += 1
                result[key] = None
            elif name in PERSON_CONTAINERS:
                result[key] = _strip(item, removed, inside_person=True)
            else:
                result[key] = _strip(item, removed, inside_person)
        return result
    if isinstance(value, list):
        return [_strip(item, removed, inside_person) for item in value]
    return value


def strip_payload(text):
    """A stored payload (JSON text) without personal data: ``(new text, fields removed)``.

    A body that is not JSON (or not text) cannot be told apart: nothing of it is kept (``""``).
    Idempotent: a stripped payload comes back unchanged, with 0 fields removed.
    """
    if not text:
        return text or "", 0
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return "", 1
    stripped, removed = strip_personal(data)
    if not removed:
        return text, 0
    return json.dumps(stripped, sort_keys=True, separators=(",", ":"), ensure_ascii=False), removed
