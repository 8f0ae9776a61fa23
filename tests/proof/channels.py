"""Channels as plug-ins of the proof suites.

A suite never knows a channel's wire format: it asks the channel's plug-in. A plug-in is a
subclass of :class:`Channel` registered with ``@register``; it says

- how to **set up** its backend (``setup_code``: Python run in ``odoo shell`` with ``P`` (its
  :meth:`setup_params`) and ``R`` (a dict to fill: at least ``R["backend_id"]``), once per run;
- how to **seed** its simulator with orders (:meth:`make_orders`, :meth:`seed`: what the
  channel holds, the final version of every order, which its poll reads);
- how to **sign and send** a delivery (:meth:`deliveries` builds the signed requests of one
  order: its create and, for an updated order, its update; :meth:`send` posts one and returns
  the HTTP status, 0 when no answer came; :meth:`send_unread` posts one and hangs up before
  reading the answer);
- how a **lost delivery is repaired** (``repairs_drops``: ``"poll"``, the connector's poll cron,
  which :meth:`repair` triggers and :meth:`repaired` waits for; or ``"resend"``: the sender
  never saw the answer and sends again, as API clients do);
- how to **count** (the base class counts in SQL what every channel has: sale orders bound to
  the backend, their totals, the customers, events and exceptions).

Adding a channel (WooCommerce, Amazon, eBay...): write a subclass beside these two with its
simulator from ``tests/simulators/``, decorate it with ``@register``, and add its addon to
``harness.ADDONS``. Every suite then runs it (``python3 tests/proof/run.py --channels woocommerce``
runs it alone). Pull channels (Amazon, eBay: no webhooks) set ``webhooks = False``: the chaos
suite then seeds the simulator and relies on the poll alone (every order is "dropped").
"""

import copy
import dataclasses
import json
import random
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http import client as http_client
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.odoo_server import REPO

REGISTRY = {}
REQUEST_TIMEOUT = 60


def register(cls):
    REGISTRY[cls.name] = cls
    return cls


@dataclass
class ProofOrder:
    """One order as the channel holds it, and what Odoo must end with."""

    external_id: str  # the sale order binding's external id
    total: Decimal  # the sale order's amount_total, to the cent
    email: str  # the customer (one contact per email, however many orders)
    updated: bool = False  # an update is delivered, before the create
    note: str = ""  # the note Odoo must show (the update's when updated)
    payload: object = None  # channel data (plug-in's own use)


@dataclass
class Delivery:
    channel: str
    kind: str  # "create" or "update"
    order: ProofOrder
    method: str
    path: str
    body: bytes
    headers: dict
    key: str = ""  # the delivery's own id (a re-send carries the same)


class Channel:
    name = ""
    label = ""
    repairs_drops = "resend"
    webhooks = True

    def __init__(self, proof, rng):
        self.proof = proof
        self.rng = rng
        self.setup = {}
        self._local = threading.local()

    # ----------------------------------------------------------- life cycle
    def start(self):
        """Start the channel's simulator (if any)."""

    def stop(self):
        """Stop the channel's simulator (if any)."""

    setup_code = "R['backend_id'] = 0\n"

    def setup_params(self):
        return {}

    @property
    def backend_id(self):
        return self.setup["backend_id"]

    # --------------------------------------------------------------- orders
    def make_orders(self, count, customers, tag):
        raise NotImplementedError

    def seed(self, orders):
        """Make the channel hold ``orders`` (final versions), as a poll will read them."""

    def deliveries(self, order):
        raise NotImplementedError

    # -------------------------------------------------------------- sending
    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http_client.HTTPConnection("127.0.0.1", self.proof.server.port, timeout=REQUEST_TIMEOUT)
            self._local.conn = conn
            self._local.port = self.proof.server.port
        elif self._local.port != self.proof.server.port:
            conn.close()
            self._local.conn = None
            return self._connection()
        return conn

    def send(self, delivery):
        """POST one delivery on this thread's kept-alive connection; the HTTP status, 0 if none."""
        conn = self._connection()
        try:
            conn.request(delivery.method, delivery.path, body=delivery.body, headers=delivery.headers)
            response = conn.getresponse()
            response.read()
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
            return response.status
        except (OSError, http_client.HTTPException):
            conn.close()
            self._local.conn = None
            return 0

    def send_unread(self, delivery):
        """POST one delivery and hang up without reading the answer (a lost acknowledgement)."""
        conn = http_client.HTTPConnection("127.0.0.1", self.proof.server.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(delivery.method, delivery.path, body=delivery.body, headers=delivery.headers)
        except OSError:
            pass
        finally:
            conn.close()

    # -------------------------------------------------------------- repairs
    def repair(self):
        """Start what repairs lost deliveries (a poll); nothing for ``resend`` channels."""

    def repaired(self):
        return True

    # ------------------------------------------------------------- counting
    def counts(self, orders):
        """What Odoo holds for this backend, compared with ``orders``: a dict of figures."""
        proof, backend = self.proof, self.backend_id
        rows = proof.sql(
            "SELECT b.external_id, so.amount_total, coalesce(so.note::text, ''), so.state "
            "FROM sale_order so JOIN omni_binding b ON b.res_model = 'sale.order' AND b.res_id = so.id "
            "AND b.backend_id = so.omni_backend_id WHERE so.omni_backend_id = %s", (backend,))
        unbound = proof.scalar(
            "SELECT count(*) FROM sale_order so WHERE so.omni_backend_id = %s AND NOT EXISTS (SELECT 1 FROM "
            "omni_binding b WHERE b.res_model = 'sale.order' AND b.res_id = so.id)", (backend,))
        expected = {order.external_id: order for order in orders}
        by_id = {}
        for external_id, total, note, state in rows:
            by_id.setdefault(external_id, []).append((Decimal(str(total)).quantize(Decimal("0.01")), note, state))
        wrong_total = sum(1 for eid, got in by_id.items()
                          if eid in expected and got[0][0] != expected[eid].total.quantize(Decimal("0.01")))
        wrong_note = sum(1 for eid, got in by_id.items()
                         if eid in expected and expected[eid].note and expected[eid].note not in got[0][1])
        emails = sorted({order.email.lower() for order in orders})
        partner_rows = proof.sql(
            "SELECT email_normalized, count(*) FROM res_partner WHERE parent_id IS NULL "
            "AND email_normalized = ANY(%s) GROUP BY 1", (emails,))
        events = dict(proof.sql("SELECT state, count(*) FROM omni_event WHERE backend_id = %s GROUP BY state",
                                (backend,)))
        exceptions = proof.scalar(
            "SELECT count(*) FROM omni_exception WHERE backend_id = %s AND state NOT IN ('resolved', 'ignored')",
            (backend,))
        expected_total = sum((order.total for order in orders), Decimal(0))
        got_total = sum((got[0][0] for eid, got in by_id.items() if eid in expected), Decimal(0))
        return {
            "unique": len(expected),
            "sale_orders": sum(len(got) for eid, got in by_id.items() if eid in expected),
            "twice": sum(1 for eid, got in by_id.items() if eid in expected and len(got) > 1),
            "missing": len(set(expected) - set(by_id)),
            "foreign": unbound,  # sale orders of the backend without a binding (made by no known delivery)
            "wrong_total": wrong_total,
            "wrong_note": wrong_note,
            "expected_total": expected_total,
            "got_total": got_total,
            "customers": len(emails),
            "customer_contacts": sum(count for _email, count in partner_rows),
            "events": events,
            "open_exceptions": exceptions,
        }


# ---------------------------------------------------------------------------- Shopify
@register
class ShopifyChannel(Channel):
    """Shopify: signed ``orders/create`` and ``orders/updated`` webhooks; the poll cron repairs."""

    name = "shopify"
    label = "Shopify"
    repairs_drops = "poll"
    TOKEN = "shpat_proof_token_0123456789"
    SECRET = "proof-app-client-secret"
    SHOP = "proof-retail.myshopify.com"
    FIXTURE = REPO / "tests" / "fixtures" / "shopify" / "orders_create.json"
    ORDER_BASE, LINE_BASE, CUSTOMER_BASE, TRANSACTION_BASE = 9_500_000_000, 9_600_000_000, 9_700_000_000, 9_800_000_000

    setup_code = r"""
company = env.company
env["res.currency"].with_context(active_test=False).search([("name", "=", "EUR")]).active = True
tax = env["account.tax"].search([("type_tax_use", "=", "sale"), ("amount", "=", 19),
                                 ("price_include_override", "=", "tax_included"), ("company_id", "=", company.id)],
                                limit=1)
if not tax:
    tax = env["account.tax"].create({"name": "MwSt 19% incl. (proof)", "amount": 19, "amount_type": "percent",
                                     "type_tax_use": "sale", "price_include_override": "tax_included",
                                     "company_id": company.id})
Product = env["product.product"]
fixture_products = Product.browse()
for sku, price in (("TSHIRT-BLK-M", 29), ("MUG-CLASSIC", 15)):
    fixture_products |= Product.search([("default_code", "=", sku)], limit=1) or Product.create({
        "name": sku, "default_code": sku, "type": "consu", "is_storable": True, "list_price": price,
        "taxes_id": [Command.clear()]})
warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
backend = env["omni.backend"].create({
    "name": "Proof shop", "channel": "shopify", "company_id": company.id, "warehouse_id": warehouse.id,
    "webhook_secret": P["secret"], "shopify_shop_domain": P["shop"], "shopify_access_token": P["token"],
    "shopify_base_url": P["base_url"], "shopify_poll_enabled": True, "retry_base_delay": 1,
    "shopify_location_ids": [Command.create({"name": "Main warehouse", "shopify_location_id": P["location"],
                                             "warehouse_id": warehouse.id})],
})
backend.shopify_poll_checkpoint = datetime(2020, 1, 1)
backend.shopify_poll_overlap = 0
env["omni.shopify.variant"].create([
    {"backend_id": backend.id, "shopify_variant_id": variant_id, "sku": product.default_code, "product_id": product.id}
    for variant_id, product in zip(("45110000011", "45110000021"), fixture_products)])
backend._omni_clearing_journal("shopify_payments")
env["omni.order.importer"]._omni_pricelist(backend, "EUR")
backend.payment_rule_ids.write({"create_invoice": False, "register_payment": False})
env.ref("omni_connector_shopify.cron_shopify_stock_sync").active = False
# The poll runs when a suite triggers it (after the deliveries), not on its own schedule.
env.ref("omni_connector_shopify.cron_shopify_poll_orders").nextcall = datetime(2099, 1, 1)
R["backend_id"] = backend.id
"""

    def start(self):
        from tests.simulators.shopify_sim import ShopifySimulator  # noqa: PLC0415

        self.sim = ShopifySimulator(access_token=self.TOKEN, api_secret=self.SECRET, shop_domain=self.SHOP)
        self.sim.start()

    def stop(self):
        self.sim.stop()

    def setup_params(self):
        return {"secret": self.SECRET, "shop": self.SHOP, "token": self.TOKEN, "base_url": self.sim.base_url,
                "location": self.sim.default_location}

    def make_orders(self, count, customers, tag):
        template = json.loads(self.FIXTURE.read_text(), parse_float=Decimal)
        orders = []
        offset = int(tag) * 100_000
        for n in range(count):
            rest = copy.deepcopy(template)
            order_id = self.ORDER_BASE + offset + n
            rest.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
                        name=f"#P{offset + n:06d}", order_number=60000 + offset + n)
            for index, line in enumerate(rest["line_items"]):
                line["id"] = self.LINE_BASE + 10 * (offset + n) + index
                line["admin_graphql_api_id"] = f"gid://shopify/LineItem/{line['id']}"
            customer = self.rng.randrange(customers)
            email = f"proof.shopify.c{tag}x{customer}@example.com"
            rest["customer"] = dict(rest["customer"], id=self.CUSTOMER_BASE + offset + customer, email=email)
            rest["email"] = email
            rest["transactions"] = [{"id": self.TRANSACTION_BASE + offset + n, "kind": "sale", "status": "success",
                                     "gateway": "shopify_payments", "amount": "70.60", "currency": "EUR",
                                     "processed_at": rest["processed_at"]}]
            orders.append(ProofOrder(str(order_id), Decimal("70.60"), email, note=rest["note"], payload=rest))
        return orders

    @staticmethod
    def updated_payload(order):
        rest = copy.deepcopy(order.payload)
        rest["updated_at"] = "2026-11-21T08:00:00+01:00"
        rest["note"] = f"proof-updated {order.external_id}"
        return rest

    def mark_updated(self, order):
        order.updated = True
        order.note = f"proof-updated {order.external_id}"

    def seed(self, orders):
        for order in orders:
            rest = self.updated_payload(order) if order.updated else order.payload
            self.sim.add_order_from_rest(json.loads(json.dumps(rest, default=str)))

    def deliveries(self, order):
        from tests.simulators.shopify_sim import WebhookSender  # noqa: PLC0415

        sender = WebhookSender("", self.SECRET, shop_domain=self.SHOP)
        path = f"/omni/webhook/{self.backend_id}"
        out = []
        versions = [("create", "orders/create", order.payload)]
        if order.updated:
            versions.append(("update", "orders/updated", self.updated_payload(order)))
        for kind, topic, version in versions:
            rest = {k: v for k, v in version.items() if k != "transactions"}
            built = sender.build(topic, json.dumps(rest, default=float).encode())
            out.append(Delivery(self.name, kind, order, "POST", path, built.body, built.headers, built.webhook_id))
        sender.close()
        return out

    # ---------------------------------------------------------- faults (suite 3)
    serves_faults = True
    CLIENT_TIMEOUT = 10  # seconds: the Shopify client's; a "delay" fault answers after it

    def set_faults(self, rate, kinds, retry_after=2):
        """From now on, each API request is a fault with probability ``rate`` (kinds drawn evenly)."""
        sim, rng, queued = self.sim, random.Random(self.rng.random()), type(self.sim)._take_fault

        def take_fault(endpoint, search=None):
            fault = queued(sim, endpoint, search)
            if fault or not rate or endpoint != "graphql" or rng.random() >= rate:
                return fault
            sim.faults_served += 1
            return {"kind": rng.choice(kinds), "retry_after": retry_after, "delay": self.CLIENT_TIMEOUT + 1,
                    "endpoint": endpoint, "search": None}

        sim._take_fault = take_fault
        if rate and "429" in kinds:
            sim.inject_fault("429", retry_after=retry_after)  # at least one Retry-After to measure

    def request_mark(self):
        return len(self.sim.requests)

    def requests_since(self, mark):
        return list(self.sim.requests[mark:])

    def push_stock(self):
        """A stock change of a bound, tracked variant: one ``inventory/set`` event; returns its id."""
        item = 63_000_000_000 + self.rng.randrange(1_000_000)
        self.sim.add_variant(f"PROOF-STOCK-{item}", variant_id=item, inventory_item_id=item, quantity=0)
        result = self.proof.shell(r"""
backend = env["omni.backend"].browse(P["backend_id"])
backend.shopify_export_stock = True
product = env["product.product"].create({"name": P["sku"], "default_code": P["sku"], "type": "consu",
                                         "is_storable": True})
env["omni.shopify.variant"].create({"backend_id": backend.id, "shopify_variant_id": str(P["item"]),
    "sku": P["sku"], "inventory_item_id": f"gid://shopify/InventoryItem/{P['item']}", "product_id": product.id,
    "tracked": True})
env.cr.commit()
env["stock.quant"]._update_available_quantity(product, backend.warehouse_id.lot_stock_id, 7)
env.cr.flush()
env.cr.commit()
env.cr.execute("SELECT max(id) FROM omni_event WHERE backend_id = %s AND topic = 'inventory/set'", [backend.id])
_emit({"event": env.cr.fetchone()[0]})
""", {"backend_id": self.backend_id, "sku": f"PROOF-STOCK-{item}", "item": item})
        return result["event"]

    def repair(self):
        self._poll_before = self.proof.scalar(
            "SELECT coalesce(lastcall, '2000-01-01') FROM ir_cron WHERE id = (SELECT res_id FROM ir_model_data "
            "WHERE module = 'omni_connector_shopify' AND name = 'cron_shopify_poll_orders')")
        self.proof.shell("env.ref('omni_connector_shopify.cron_shopify_poll_orders')._trigger()\n"
                         "env.cr.commit()\n_emit({})\n")

    def repaired(self):
        last = self.proof.scalar(
            "SELECT coalesce(lastcall, '2000-01-01') FROM ir_cron WHERE id = (SELECT res_id FROM ir_model_data "
            "WHERE module = 'omni_connector_shopify' AND name = 'cron_shopify_poll_orders')")
        return last > self._poll_before


# ------------------------------------------------------------------------ custom API
@register
class CustomApiChannel(Channel):
    """The custom REST API ``/omni/api/v1``: a Bearer key, canonical JSON; clients re-send."""

    name = "api"
    label = "custom API"
    repairs_drops = "resend"

    setup_code = r"""
company = env.company
Tax = env["account.tax"]
tax = Tax.search([("name", "=", "Proof sales tax 10%"), ("company_id", "=", company.id)], limit=1)
if not tax:
    tax = Tax.create({"name": "Proof sales tax 10%", "amount": 10, "amount_type": "percent",
                      "type_tax_use": "sale", "price_include_override": "tax_excluded", "company_id": company.id})
Product = env["product.product"]
existing = {p.default_code for p in Product.search([("default_code", "in", [p[0] for p in P["products"]])])}
Product.create([{"name": name, "default_code": sku, "type": "consu", "list_price": float(price),
                 "taxes_id": [Command.set([tax.id])]} for sku, name, price in P["products"] if sku not in existing])
backend = env["omni.backend"].create({"name": "Proof API", "channel": "custom", "company_id": company.id,
                                      "retry_base_delay": 1})
backend.payment_rule_ids.write({"create_invoice": False, "register_payment": False})
_key, full_key = env["omni.api.key"]._omni_generate(backend, "proof")
# A load run measures the pipeline, not the gateway's per-key limit (its defaults would
# answer 429 to a sustained burst by design): the key gets room for the whole run.
_key.write({"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000})
R.update(backend_id=backend.id, api_key=full_key, currency=company.currency_id.name)
"""

    def setup_params(self):
        from tests.benchmarks.bench_order_import import catalog  # noqa: PLC0415

        return {"products": [(p.sku, p.name, str(p.price)) for p in catalog()]}

    def make_orders(self, count, customers, tag):
        from tests.benchmarks.bench_order_import import make_specs, spec_to_order  # noqa: PLC0415

        specs = make_specs("proof", f"t{tag}", count, self.seed_value())
        orders = []
        for spec in specs:
            customer = self.rng.randrange(customers)
            spec.customer_key = f"proof-api-{tag}-c{customer}"
            spec.email = f"proof.api.c{tag}x{customer}@example.com"
            spec.last_name = f"API {customer}"
            order = spec_to_order(spec, self.setup["currency"])
            orders.append(ProofOrder(spec.external_id, order.total, spec.email, payload=order))
        return orders

    def seed_value(self):
        return self.rng.randrange(1 << 30)

    def mark_updated(self, order):
        order.updated = True
        order.note = f"proof-updated {order.external_id}"

    def deliveries(self, order):
        from tests.benchmarks.bench_order_import import canonical  # noqa: PLC0415

        path = f"/omni/api/v1/{self.backend_id}/orders"
        versions = [("create", order.payload)]
        if order.updated:
            later = order.payload.updated_at + timedelta(hours=3)
            versions.append(("update", dataclasses.replace(order.payload, updated_at=later, note=order.note)))
        out = []
        for kind, canonical_order in versions:
            body = json.dumps(canonical.order_to_dict(canonical_order), separators=(",", ":"), default=str).encode()
            key = str(uuid.uuid4())
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.setup['api_key']}",
                       "Idempotency-Key": key}
            out.append(Delivery(self.name, kind, order, "POST", path, body, headers, key))
        return out


def channels_for(names, proof, seed):
    """Plug-in instances for ``names`` (all registered ones when empty), each with its own RNG."""
    names = names or list(REGISTRY)
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise SystemExit(f"unknown channel(s) {', '.join(unknown)}; registered: {', '.join(REGISTRY)}")
    return [REGISTRY[name](proof, random.Random(f"{seed}-{name}")) for name in names]


def utc_now():
    return datetime.now(timezone.utc)
