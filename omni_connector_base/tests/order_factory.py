"""Canonical orders for the importer tests, mirroring the shared fixtures to the cent."""

from datetime import datetime, timezone
from decimal import Decimal as D

from ..canonical import (
    Address,
    Customer,
    Discount,
    FeeLine,
    Line,
    Order,
    Payment,
    Refund,
    RefundLine,
    ShippingLine,
    TaxLine,
)

UTC = timezone.utc


def vat19(amount):
    return [TaxLine(D("0.19"), D(amount), "DE MwSt")]


def us_tax(amount):
    return [TaxLine(D("0.0875"), D(amount), "CA State Tax")]


def shopify_1042(**overrides):
    """Shopify order #1042 (tests/fixtures/shopify/orders_create.json): EUR, 19 % included, 70.60."""
    values = {
        "external_id": "5829417091234",
        "name": "#1042",
        "currency": "EUR",
        "taxes_included": True,
        "created_at": datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 20, 9, 14, 5, tzinfo=UTC),
        "lines": [
            Line(
                external_id="14417890001",
                sku="TSHIRT-BLK-M",
                name="Organic T-Shirt - Black / M",
                quantity=D(2),
                unit_price=D("29.00"),
                discount_amount=D("5.80"),
                tax_lines=vat19("8.33"),
                variant_external_id="45110000011",
            ),
            Line(
                external_id="14417890002",
                sku="MUG-CLASSIC",
                name="Classic Mug",
                quantity=D(1),
                unit_price=D("15.00"),
                discount_amount=D("1.50"),
                tax_lines=vat19("2.16"),
                variant_external_id="45110000021",
            ),
        ],
        "shipping_lines": [
            ShippingLine(
                external_id="4946484101420",
                code="DHL Paket",
                title="DHL Paket",
                price=D("4.90"),
                tax_lines=vat19("0.78"),
            )
        ],
        "discounts": [Discount(code="WELCOME10", amount=D("7.30"), kind="percentage")],
        "customer": Customer(
            external_id="7712300001", email="Anna.Schmidt@Example.DE", first_name="Anna", last_name="Schmidt"
        ),
        "billing_address": Address(
            first_name="Anna", last_name="Schmidt", street="Torstraße 12", city="Berlin", zip="10119", country_code="DE"
        ),
        "shipping_address": Address(
            first_name="Anna", last_name="Schmidt", street="Torstraße 12", city="Berlin", zip="10119", country_code="DE"
        ),
        "payments": [
            Payment(gateway="shopify_payments", transaction_id="7301000001", amount=D("70.60"), currency="EUR")
        ],
        "financial_status": "paid",
        "total_untaxed": D("59.33"),
        "total_tax": D("11.27"),
        "total": D("70.60"),
    }
    values.update(overrides)
    return Order(**values)


def refund_1042(**overrides):
    """refunds/create fixture: one T-shirt back on the shelf, 26.10 incl. 4.17 tax."""
    values = {
        "external_id": "930000001",
        "order_external_id": "5829417091234",
        "created_at": datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        "currency": "EUR",
        "lines": [
            RefundLine(
                order_line_external_id="14417890001",
                quantity=D(1),
                restock=True,
                amount=D("26.10"),
                tax_amount=D("4.17"),
            )
        ],
        "amount": D("26.10"),
        "transactions": [
            Payment(
                gateway="shopify_payments",
                transaction_id="7301000002",
                amount=D("26.10"),
                currency="EUR",
                kind="refund",
            )
        ],
    }
    values.update(overrides)
    return Refund(**values)


def woocommerce_727(**overrides):
    """WooCommerce order 727 (tests/fixtures/woocommerce/order.json): USD, 8.75 % excluded, 119.63."""
    values = {
        "external_id": "727",
        "name": "727",
        "currency": "USD",
        "taxes_included": False,
        "created_at": datetime(2026, 11, 21, 17, 27, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 21, 17, 28, 8, tzinfo=UTC),
        "lines": [
            Line(
                external_id="301",
                sku="HOODIE-GRY-L",
                name="Hoodie - Grey / L",
                quantity=D(1),
                unit_price=D("90.00"),
                discount_amount=D("9.00"),
                tax_lines=us_tax("7.09"),
            ),
            Line(
                external_id="302",
                sku="SOCKS-3PK",
                name="Socks 3-pack",
                quantity=D(2),
                unit_price=D("10.00"),
                discount_amount=D("2.00"),
                tax_lines=us_tax("1.58"),
            ),
        ],
        "shipping_lines": [
            ShippingLine(
                external_id="303", code="flat_rate", title="Flat rate", price=D("8.00"), tax_lines=us_tax("0.70")
            )
        ],
        "fee_lines": [FeeLine(external_id="304", name="Gift wrap", amount=D("3.00"), tax_lines=us_tax("0.26"))],
        "discounts": [Discount(code="winter10", amount=D("11.00"), kind="percentage")],
        "customer": Customer(external_id="88", email="jordan.lee@example.com", first_name="Jordan", last_name="Lee"),
        "billing_address": Address(
            first_name="Jordan",
            last_name="Lee",
            street="1 Market St",
            city="San Francisco",
            zip="94105",
            state_code="CA",
            country_code="US",
        ),
        "shipping_address": Address(
            first_name="Jordan",
            last_name="Lee",
            street="1 Market St",
            city="San Francisco",
            zip="94105",
            state_code="CA",
            country_code="US",
        ),
        "payments": [
            Payment(gateway="stripe", transaction_id="ch_3QWooStripe00727", amount=D("119.63"), currency="USD")
        ],
        "financial_status": "paid",
        "total_tax": D("9.63"),
        "total": D("119.63"),
    }
    values.update(overrides)
    return Order(**values)
