"""The published contract (order.schema.json, openapi.json) against the model and parser.

The JSON Schema is what custom storefronts code against; the parser is what the server
enforces. These tests keep the two, and the OpenAPI document, from drifting apart.
"""

import copy
import dataclasses
import json
import types
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, Union, get_args, get_origin, get_type_hints

import pytest

from omni_connector_base.canonical import Order, ValidationError, order_from_dict, order_to_dict

BASE = Path(__file__).resolve().parents[2] / "omni_connector_base"
SCHEMA_PATH = BASE / "canonical" / "order.schema.json"
OPENAPI_PATH = BASE / "static" / "api" / "openapi.json"


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema():
    return load(SCHEMA_PATH)


@pytest.fixture(scope="module")
def openapi():
    return load(OPENAPI_PATH)


@pytest.fixture(scope="module")
def validator(schema):
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("rfc3339_validator")  # lets the format checker check date-time
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def woocommerce_order():
    """WooCommerce order 727 in canonical JSON, written the way a storefront would."""
    tax = {"rate": "0.0875", "title": "CA State Tax"}
    address = {"first_name": "John", "last_name": "Smith", "company": "", "street": "969 Market St",
               "street2": "Apt 4", "city": "San Francisco", "zip": "94103", "state_code": "CA",
               "country_code": "US"}
    return {
        "external_id": 727,
        "name": "727",
        "currency": "USD",
        "taxes_included": False,
        "created_at": "2026-11-21T09:28:02-08:00",
        "updated_at": "2026-11-21T17:28:09Z",
        "lines": [
            {"external_id": 315, "sku": "HOODIE-BLU-L", "name": "Hoodie - Blue, L", "quantity": 2,
             "unit_price": "45.00", "discount_amount": "9.00", "tax_lines": [{**tax, "amount": "7.09"}],
             "product_external_id": 93, "variant_external_id": 95},
            {"external_id": 316, "sku": "BEANIE-GRY", "name": "Beanie", "quantity": "1",
             "unit_price": "20.00", "discount_amount": "2.00", "tax_lines": [{**tax, "amount": "1.58"}],
             "product_external_id": 101},
        ],
        "shipping_lines": [{"external_id": 317, "code": "flat_rate", "title": "Flat rate", "price": "8.00",
                            "tax_lines": [{**tax, "amount": "0.70"}]}],
        "fee_lines": [{"external_id": 319, "name": "Gift wrap", "amount": "3.00",
                       "tax_lines": [{**tax, "amount": "0.26"}]}],
        "discounts": [{"code": "winter10", "amount": "11.00", "kind": "fixed"}],
        "customer": {"external_id": 26, "email": "john.smith@example.com", "first_name": "John",
                     "last_name": "Smith", "phone": "(555) 555-5555"},
        "billing_address": {**address, "email": "john.smith@example.com", "phone": "(555) 555-5555"},
        "shipping_address": {**address, "phone": ""},
        "payments": [{"gateway": "stripe", "transaction_id": "ch_3QWooStripe00727", "amount": "119.63",
                      "currency": "USD", "method": "card", "processed_at": "2026-11-21T17:28:08Z"}],
        "financial_status": "paid",
        "note": "Leave at the back door",
        "note_attributes": {"_stripe_fee": "3.77"},
        "total_tax": "9.63",
        "total": "119.63",
        "source_name": "checkout",
    }


# --- openapi.json -----------------------------------------------------------------------


def test_openapi_embeds_exactly_the_order_schema(schema, openapi):
    assert openapi["components"]["schemas"]["Order"] == schema
    body = openapi["paths"]["/omni/api/v1/{backend_id}/orders"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Order"}


def test_schema_has_no_references(schema):
    # Inlined on purpose: a "#/..." reference would resolve differently standalone and
    # inside openapi.json.
    assert "$ref" not in json.dumps(schema)


def test_openapi_document_is_valid(openapi):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi)


def test_openapi_declares_the_api_contract(openapi):
    orders = openapi["paths"]["/omni/api/v1/{backend_id}/orders"]["post"]
    assert {"202", "400", "401", "404", "413", "422"} <= set(orders["responses"])
    assert [p["name"] for p in orders["parameters"]] == ["Idempotency-Key"]
    assert openapi["components"]["securitySchemes"]["apiKey"] == {
        **openapi["components"]["securitySchemes"]["apiKey"], "type": "http", "scheme": "bearer"}
    event = openapi["paths"]["/omni/api/v1/{backend_id}/events/{event_id}"]["get"]
    status = openapi["components"]["schemas"]["EventStatus"]
    assert {"event_id", "state", "sale_order", "error"} <= set(status["required"])
    assert {"200", "401", "404"} <= set(event["responses"])
    states = openapi["components"]["schemas"]["EventState"]["enum"]
    assert states == ["pending", "done", "retry", "blocked", "dead", "skipped"]


def test_openapi_422_example_is_what_the_parser_says(openapi):
    response = openapi["paths"]["/omni/api/v1/{backend_id}/orders"]["post"]["responses"]["422"]
    example = response["content"]["application/json"]["example"]
    data = woocommerce_order()
    data["lines"][0]["quantity"] = "0"
    data["customer"]["email"] = "john.smith(at)example.com"
    with pytest.raises(ValidationError) as info:
        order_from_dict(data)
    assert info.value.as_dict() == example


def test_validation_body_matches_its_schema(openapi):
    jsonschema = pytest.importorskip("jsonschema")
    with pytest.raises(ValidationError) as info:
        order_from_dict({"lines": "x"})
    jsonschema.validate(info.value.as_dict(), openapi["components"]["schemas"]["ValidationProblem"])


# --- order.schema.json mirrors the dataclasses ---------------------------------------------


def _alternatives(prop):
    return [alt.get("type") for alt in prop.get("anyOf", ())]


def _nullable(prop):
    kind = prop.get("type")
    return (isinstance(kind, list) and "null" in kind) or "null" in _alternatives(prop)


def _unwrap(tp):
    if get_origin(tp) in (Union, types.UnionType):
        args = [arg for arg in get_args(tp) if arg is not type(None)]
        return args[0], True
    return tp, False


def _assert_mirrors(cls, node, path):
    fields = dataclasses.fields(cls)
    hints = get_type_hints(cls)
    assert set(node["properties"]) == {f.name for f in fields}, path
    required = {f.name for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    assert set(node.get("required", ())) == required, path
    for f in fields:
        prop = node["properties"][f.name]
        where = f"{path}.{f.name}"
        tp, optional = _unwrap(hints[f.name])
        assert _nullable(prop) == optional, where
        if "default" in prop:
            assert prop["default"] == f.default, where
        kinds = prop.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if get_origin(tp) is list:
            assert kinds == {"array"}, where
            (item,) = get_args(tp)
            if dataclasses.is_dataclass(item):
                _assert_mirrors(item, prop["items"], f"{where}[]")
        elif dataclasses.is_dataclass(tp):
            assert "object" in kinds, where
            _assert_mirrors(tp, prop, where)
        elif get_origin(tp) is Literal:
            assert prop["enum"] == list(get_args(tp)), where
        elif tp is Decimal:
            assert "string" in kinds or "string" in _alternatives(prop), where
        elif tp is bool:
            assert kinds == {"boolean"}, where
        elif tp is datetime:
            assert prop["format"] == "date-time", where
        elif get_origin(tp) is dict:
            assert prop["additionalProperties"] == {"type": "string"}, where
        else:
            assert tp is str and "string" in kinds, where
            ident = f.metadata.get("ident", False)
            assert ("integer" in kinds) == ident, f"{where}: identifiers, and only they, accept integers"


def test_schema_mirrors_the_order_dataclasses(schema):
    _assert_mirrors(Order, schema, "Order")


# --- schema and parser accept and reject the same documents -------------------------------


def test_canonical_output_is_valid_against_the_schema(validator):
    order = order_from_dict(woocommerce_order())
    out = order_to_dict(order)
    validator.validate(out)
    validator.validate(woocommerce_order())
    assert order_from_dict(out) == order


def _variant(path, value):
    data = woocommerce_order()
    node = data
    *parents, last = path
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()

VALID_VARIANTS = [
    (("lines", 0, "quantity"), "1.5"),
    (("lines", 0, "quantity"), 3),
    (("lines", 0, "unit_price"), "4.50"),  # the 9.00 discount is then 100 %
    (("lines", 1, "discount_amount"), "20.00"),
    (("external_id",), "WC-727"),
    (("customer",), None),
    (("customer", "email"), ""),
    (("shipping_address", "country_code"), ""),
    (("shipping_address", "country_code"), None),
    (("total",), None),
    (("payments", 0, "transaction_id"), 123),
    (("created_at",), "2026-11-21T17:28:02.123456+00:00"),
    (("lines", 0, "tax_lines", 0, "rate"), "1"),
    (("fee_lines", 0, "amount"), "-3.00"),
]

INVALID_VARIANTS = [
    (("name",), _DELETE),
    (("lines",), []),
    (("currency",), "usd"),
    (("currency",), "US"),
    (("taxes_included",), "false"),
    (("created_at",), "2026-11-21T09:28:02"),
    (("created_at",), "yesterday"),
    (("financial_status",), "settled"),
    (("lines", 0, "quantity"), 0),
    (("lines", 0, "quantity"), "0"),
    (("lines", 0, "quantity"), "0.000"),
    (("lines", 0, "quantity"), "-1"),
    (("lines", 0, "unit_price"), 45.0),
    (("lines", 0, "unit_price"), "-45.00"),
    (("lines", 0, "unit_price"), "4.5e1"),
    (("lines", 0, "unit_price"), "NaN"),
    (("lines", 0, "name"), " "),
    (("lines", 0, "tax_lines", 0, "rate"), "8.75"),
    (("lines", 0, "tax_lines", 0, "amount"), "-7.09"),
    (("shipping_address", "country_code"), "USA"),
    (("customer", "email"), "john.smith"),
    (("note_attributes",), {"_stripe_fee": 3.77}),
    (("payments", 0, "currency"), "usd"),
    (("payments", 0, "kind"), "charge"),
    (("tags",), "vip"),
    (("total",), "119,63"),
]


@pytest.mark.parametrize(("path", "value"), VALID_VARIANTS)
def test_both_accept(validator, path, value):
    data = _variant(path, copy.deepcopy(value))
    validator.validate(data)
    order_from_dict(data)


@pytest.mark.parametrize(("path", "value"), INVALID_VARIANTS)
def test_both_reject(validator, path, value):
    data = _variant(path, copy.deepcopy(value))
    assert list(validator.iter_errors(data)), "the schema accepts it"
    with pytest.raises(ValidationError):
        order_from_dict(data)
