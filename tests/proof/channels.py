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

The plug-ins: **Shopify** (signed webhooks; lost ones repaired by the poll cron; the only one
that serves API faults, suite ``faults``), the **custom API** (Bearer key; clients re-send),
**WooCommerce** (webhooks signed as a store signs them; WooCommerce never retries, its poll cron
repairs), **Amazon** and **eBay** (pull channels, ``webhooks = False``: no order webhooks, the
simulator holds the orders and the poll cron reads them). Every suite runs every registered one
(``python3 tests/proof/run.py --channels woocommerce`` runs one alone); the ``faults`` suite prints
"skipped" for a plug-in without ``serves_faults``.

Adding a channel: write a subclass beside these with its simulator from ``tests/simulators/``,
decorate it with ``@register``, and add its addon to ``harness.ADDONS`` (every ``omni_*`` addon is
there already). A channel whose poll cron repairs lost deliveries takes :class:`CronPollRepair`
first (``poll_cron``: the cron's xml id; its ``setup_code`` holds the cron back with a far
``nextcall``). Pull channels (no webhooks) set ``webhooks = False`` and return no deliveries: the
chaos suite then seeds the simulator and relies on the poll alone (every order is "dropped"), and
their poll runs as soon as they are seeded (the kill and dbrestart suites meet it).
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


# ------------------------------------------------------------------ poll channels' helpers
class CronPollRepair:
    """A channel whose lost orders the connector's poll cron repairs (``poll_cron``: its xml id).

    :meth:`repair` triggers the cron as Odoo's ``ir.cron._trigger`` does (a row in
    ``ir_cron_trigger`` and ``pg_notify('cron_trigger', <db>)`` on the ``postgres`` database, which
    wakes the cron worker at once); :meth:`repaired` says the poll ran since and left nothing to
    resume (no trigger of the cron left, e.g. one set by a poll held back by a rate limit). The
    suites hold the poll back otherwise (its ``nextcall`` is set far away in ``setup_code``).

    A pull channel (``webhooks = False``) also runs its poll as soon as it is seeded (its scheduled
    run comes while the suite sends the other channels' deliveries): the kill and database-restart
    suites then meet its poll and its imports, not only what follows their last kill or restart."""

    repairs_drops = "poll"
    poll_cron = ""

    def _cron_id(self):
        if not getattr(self, "_poll_cron_id", None):
            module, name = self.poll_cron.split(".")
            self._poll_cron_id = self.proof.scalar(
                "SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s AND model = 'ir.cron'",
                (module, name))
        return self._poll_cron_id

    def _lastcall(self):
        return self.proof.scalar("SELECT coalesce(lastcall, '2000-01-01') FROM ir_cron WHERE id = %s",
                                 (self._cron_id(),))

    def repair(self):
        self._poll_before = self._lastcall()
        self.trigger_poll()

    def trigger_poll(self):
        """Run the poll cron now (what its schedule does every few minutes)."""
        from tests.benchmarks.odoo_server import query  # noqa: PLC0415

        self.proof.sql("INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, write_uid, create_date, write_date) "
                       "VALUES (%s, now() at time zone 'utc', 1, 1, now() at time zone 'utc', "
                       "now() at time zone 'utc')", (self._cron_id(),))
        query("postgres", "SELECT pg_notify('cron_trigger', %s)", (self.proof.dbname,))

    def repaired(self):
        return self._lastcall() > self._poll_before and not self.proof.scalar(
            "SELECT count(*) FROM ir_cron_trigger WHERE cron_id = %s", (self._cron_id(),))


def _gmt(moment):
    """A naive UTC timestamp without microseconds, as WooCommerce's ``*_gmt`` fields."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0).isoformat()


def _zulu(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------ WooCommerce
@register
class WooCommerceChannel(CronPollRepair, Channel):
    """WooCommerce: ``order.created`` / ``order.updated`` webhooks signed as the store signs them
    (``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the body with the webhook's secret, a new
    ``X-WC-Webhook-Delivery-ID`` per delivery); WooCommerce never retries, so lost deliveries are
    repaired by the connector's poll cron (``GET orders?modified_after=...``) against the store
    simulator (OAuth 1.0a signed requests over http)."""

    name = "woocommerce"
    label = "WooCommerce"
    poll_cron = "omni_connector_woocommerce.cron_woocommerce_poll_orders"
    KEY, SECRET = "ck_proof_0123456789abcdef", "cs_proof_fedcba9876543210"
    WEBHOOK_SECRET = "woo-proof-webhook-secret"
    FIXTURE = REPO / "tests" / "fixtures" / "woocommerce" / "order.json"
    ORDER_BASE, CUSTOMER_BASE, LINE_BASE = 7_000_000, 7_500_000, 80_000_000

    setup_code = r"""
company = env.company
env["res.currency"].with_context(active_test=False).search([("name", "=", "USD")]).active = True
tax = env["account.tax"].search([("type_tax_use", "=", "sale"), ("amount", "=", 8.75),
                                 ("price_include_override", "=", "tax_excluded"), ("company_id", "=", company.id)],
                                limit=1)
if not tax:
    tax = env["account.tax"].create({"name": "CA 8.75% (proof)", "amount": 8.75, "amount_type": "percent",
                                     "type_tax_use": "sale", "price_include_override": "tax_excluded",
                                     "company_id": company.id})
Product = env["product.product"]
for sku, price in (("HOODIE-BLU-L", 45), ("BEANIE-GRY", 20)):
    Product.search([("default_code", "=", sku)], limit=1) or Product.create({
        "name": sku, "default_code": sku, "type": "consu", "is_storable": True, "list_price": price,
        "taxes_id": [Command.clear()]})
warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
backend = env["omni.backend"].create({
    "name": "Proof store", "channel": "woocommerce", "company_id": company.id, "warehouse_id": warehouse.id,
    "webhook_secret": P["webhook_secret"], "woocommerce_store_url": P["base_url"],
    "woocommerce_consumer_key": P["key"], "woocommerce_consumer_secret": P["secret"],
    "woocommerce_poll_enabled": True, "retry_base_delay": 1,
})
backend._omni_checkpoint_set("woocommerce_orders", checkpoint=fields.Datetime.now() - timedelta(days=1))
backend._omni_clearing_journal("stripe")
env["omni.order.importer"]._omni_pricelist(backend, "USD")
backend.payment_rule_ids.write({"create_invoice": False, "register_payment": False})
env.ref("omni_connector_woocommerce.cron_woocommerce_stock_sync").active = False
# The poll runs when a suite triggers it (after the deliveries), not on its own schedule.
env.ref("omni_connector_woocommerce.cron_woocommerce_poll_orders").nextcall = datetime(2099, 1, 1)
R.update(backend_id=backend.id, webhook_url=backend.webhook_url)
"""

    def start(self):
        from tests.simulators.woocommerce_sim import WooCommerceSimulator  # noqa: PLC0415

        self.sim = WooCommerceSimulator(self.KEY, self.SECRET).start()
        self.hooks = {}

    def stop(self):
        self.sim.stop()

    def setup_params(self):
        return {"webhook_secret": self.WEBHOOK_SECRET, "base_url": self.sim.base_url, "key": self.KEY,
                "secret": self.SECRET}

    def _subscribe(self):
        """The store's webhooks of the backend (the poll checks they exist and are active)."""
        if not self.hooks:
            from tests.simulators.woocommerce_sim import WEBHOOK_TOPICS  # noqa: PLC0415

            for topic in WEBHOOK_TOPICS:
                self.hooks[topic] = self.sim.add_webhook(topic, self.setup["webhook_url"], self.WEBHOOK_SECRET)
            self.sim.pending.clear()  # the creation pings: answered 200 by design (the connector's tests)

    def make_orders(self, count, customers, tag):
        self._subscribe()
        template = json.loads(self.FIXTURE.read_text())
        offset = int(tag) * 100_000
        created = utc_now() - timedelta(minutes=5)
        orders = []
        for n in range(count):
            order = copy.deepcopy(template)
            order_id = self.ORDER_BASE + offset + n
            customer = self.rng.randrange(customers)
            email = f"proof.woo.c{tag}x{customer}@example.com"
            order.update(id=order_id, number=str(order_id), order_key=f"wc_order_proof{order_id}",
                         customer_id=self.CUSTOMER_BASE + offset + customer, transaction_id=f"ch_proof_{order_id}",
                         date_created_gmt=_gmt(created), date_modified_gmt=_gmt(created), date_paid_gmt=_gmt(created),
                         date_created=_gmt(created), date_modified=_gmt(created), date_paid=_gmt(created))
            order["billing"] = dict(order["billing"], email=email, last_name=f"Woo {customer}")
            order["shipping"] = dict(order["shipping"], last_name=f"Woo {customer}")
            for group in ("line_items", "shipping_lines", "fee_lines", "coupon_lines", "tax_lines"):
                for index, line in enumerate(order.get(group) or []):
                    line["id"] = self.LINE_BASE + 10 * (offset + n) + index + 5 * (group == "fee_lines")
            orders.append(ProofOrder(str(order_id), Decimal(order["total"]), email, note=order["customer_note"],
                                     payload=order))
        return orders

    def mark_updated(self, order):
        order.updated = True
        order.note = f"proof-updated {order.external_id}"

    @staticmethod
    def updated_payload(order):
        later = _gmt(datetime.fromisoformat(order.payload["date_modified_gmt"]).replace(tzinfo=timezone.utc)
                     + timedelta(seconds=30))
        return dict(copy.deepcopy(order.payload), date_modified_gmt=later, date_modified=later,
                    customer_note=order.note)

    def seed(self, orders):
        for order in orders:
            self.sim.add_order(self.updated_payload(order) if order.updated else order.payload, notify=False)

    def deliveries(self, order):
        from tests.simulators.woocommerce_sim import sign_webhook  # noqa: PLC0415

        path = f"/omni/webhook/{self.backend_id}"
        versions = [("create", "order.created", order.payload)]
        if order.updated:
            versions.append(("update", "order.updated", self.updated_payload(order)))
        out = []
        for kind, topic, version in versions:
            body = json.dumps(version).encode()
            delivery_id = str(self.sim.next_id())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)",
                "X-WC-Webhook-Source": self.sim.base_url + "/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": "order",
                "X-WC-Webhook-Event": topic.split(".")[1],
                "X-WC-Webhook-Signature": sign_webhook(body, self.WEBHOOK_SECRET),
                "X-WC-Webhook-ID": str(self.hooks[topic]["id"]),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            out.append(Delivery(self.name, kind, order, "POST", path, body, headers, delivery_id))
        return out


# ------------------------------------------------------------------------------ Amazon
@register
class AmazonChannel(CronPollRepair, Channel):
    """Amazon (SP-API): no webhooks (ORDER_CHANGE notifications go only to SQS/EventBridge): the
    simulator holds the orders and the connector's poll cron reads them (``searchOrders``, at
    Amazon's usage plan: a burst of 20 pages, then one every 3 minutes) through the real
    ``python-amazon-sp-api`` client, LWA tokens included."""

    name = "amazon"
    label = "Amazon"
    webhooks = False
    poll_cron = "omni_connector_marketplace.cron_amazon_poll_orders"
    SKUS = (("PROOF-AMZ-MUG", "15.00"), ("PROOF-AMZ-TEE", "29.00"))
    SHIPPING = "4.99"

    setup_code = r"""
company = env.company
usd = env["res.currency"].with_context(active_test=False).search([("name", "=", "USD")])
usd.active = True
Product = env["product.product"]
for sku, price in P["skus"]:
    Product.search([("default_code", "=", sku)], limit=1) or Product.create({
        "name": sku, "default_code": sku, "type": "consu", "is_storable": True, "list_price": float(price),
        "taxes_id": [Command.clear()]})
warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
backend = env["omni.backend"].create({
    "name": "Proof Amazon", "channel": "amazon", "company_id": company.id, "warehouse_id": warehouse.id,
    "amazon_lwa_client_id": P["client_id"], "amazon_lwa_client_secret": P["client_secret"],
    "amazon_refresh_token": P["refresh_token"], "amazon_seller_id": P["seller_id"], "amazon_region": "na",
    "amazon_endpoint": P["base_url"], "amazon_token_url": P["token_url"], "amazon_timeout": 10,
    "amazon_poll_enabled": True, "amazon_export_stock": False, "amazon_sync_fba_inventory": False,
    "amazon_pii_days": 0, "retry_base_delay": 1,
})
env["omni.marketplace"].create({"backend_id": backend.id, "name": "Amazon.com", "marketplace_ref": "ATVPDKIKX0DER",
                                "currency_id": usd.id})
backend._omni_checkpoint_set("amazon_orders", checkpoint=fields.Datetime.now() - timedelta(days=1))
env["omni.order.importer"]._omni_pricelist(backend, "USD")
backend.payment_rule_ids.write({"create_invoice": False, "register_payment": False})
for xmlid in ("cron_amazon_stock_feed", "cron_amazon_fba_inventory"):
    env.ref("omni_connector_marketplace." + xmlid).active = False
env.ref("omni_connector_marketplace.cron_amazon_poll_orders").nextcall = datetime(2099, 1, 1)
R["backend_id"] = backend.id
"""

    def start(self):
        from tests.simulators.amazon_sim import AmazonSimulator  # noqa: PLC0415

        self.sim = AmazonSimulator().start()

    def stop(self):
        self.sim.stop()

    def setup_params(self):
        from tests.simulators import amazon_sim  # noqa: PLC0415

        return {"client_id": amazon_sim.CLIENT_ID, "client_secret": amazon_sim.CLIENT_SECRET,
                "refresh_token": amazon_sim.REFRESH_TOKEN, "seller_id": amazon_sim.SELLER_ID,
                "base_url": self.sim.base_url, "token_url": self.sim.token_url,
                "skus": [list(sku) for sku in self.SKUS]}

    def make_orders(self, count, customers, tag):
        # Amazon answers up to two minutes ago (the poll reads until now - 2.5 min): the orders
        # were updated before that, after the last poll's window.
        updated = _zulu(utc_now() - timedelta(minutes=3))
        orders = []
        for n in range(count):
            customer = self.rng.randrange(customers)
            email = f"proof.amazon.c{tag}x{customer}@marketplace.amazon.com"
            sku, price = self.SKUS[n % len(self.SKUS)]
            order_id = f"{900 + int(tag)}-{n:07d}-{customer:07d}"
            values = {"sku": sku, "unit_price": price, "quantity": 1, "updated": updated, "created": updated,
                      "buyer_email": email, "item_id": f"{tag}{n:013d}"}
            orders.append(ProofOrder(order_id, self._total(values), email, payload=values))
        return orders

    def _total(self, values):
        return Decimal(values["unit_price"]) * values["quantity"] + Decimal(self.SHIPPING)

    def mark_updated(self, order):
        """The buyer's order changed before the poll read it (a second unit): the poll reads the final version."""
        order.updated = True
        order.payload = dict(order.payload, quantity=2)
        order.total = self._total(order.payload)

    def seed(self, orders):
        from tests.simulators.amazon_sim import make_order  # noqa: PLC0415

        for order in orders:
            self.sim.add_order(make_order(order.external_id, shipping=self.SHIPPING, **order.payload))
        self.trigger_poll()

    def deliveries(self, order):
        return []  # no webhooks: the poll is the only path


# -------------------------------------------------------------------------------- eBay
@register
class EbayChannel(CronPollRepair, Channel):
    """eBay (REST): no order notifications for REST applications: the simulator holds the orders
    and the connector's poll cron reads them (``getOrders``, ``lastmodifieddate`` window, OAuth
    refresh token); every version it reads goes through the same intake as a webhook."""

    name = "ebay"
    label = "eBay"
    webhooks = False
    poll_cron = "omni_connector_marketplace.cron_ebay_poll_orders"
    SKUS = (("PROOF-EBAY-MUG", "15.00"), ("PROOF-EBAY-TEE", "29.00"))
    SHIPPING = "4.99"

    setup_code = r"""
company = env.company
Product = env["product.product"]
for sku, price in P["skus"]:
    Product.search([("default_code", "=", sku)], limit=1) or Product.create({
        "name": sku, "default_code": sku, "type": "consu", "is_storable": True, "list_price": float(price),
        "invoice_policy": "order", "taxes_id": [Command.clear()]})
warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
backend = env["omni.backend"].create({
    "name": "Proof eBay", "channel": "ebay", "company_id": company.id, "warehouse_id": warehouse.id,
    "ebay_app_id": P["app_id"], "ebay_cert_id": P["cert_id"], "ebay_refresh_token": P["refresh_token"],
    "ebay_api_base_url": P["base_url"], "ebay_finances_base_url": P["base_url"], "ebay_token_url": P["token_url"],
    "ebay_signing_key": P["signing_key"], "ebay_signing_jwe": P["signing_jwe"],
    "ebay_verification_token": "proof-verification-token-0123456789abcdef",
    "ebay_poll_enabled": True, "ebay_export_stock": False, "retry_base_delay": 1,
})
env["omni.marketplace"].create({"backend_id": backend.id, "name": "eBay US", "marketplace_ref": "EBAY_US",
                                "currency_id": company.currency_id.id})
backend._omni_checkpoint_set("ebay_orders", checkpoint=fields.Datetime.now() - timedelta(days=1))
env["omni.order.importer"]._omni_pricelist(backend, company.currency_id.name)
backend.payment_rule_ids.write({"create_invoice": False, "register_payment": False})
env.ref("omni_connector_marketplace.cron_ebay_poll_orders").nextcall = datetime(2099, 1, 1)
R.update(backend_id=backend.id, currency=company.currency_id.name)
"""

    def start(self):
        from tests.simulators.ebay_sim import EbaySimulator  # noqa: PLC0415

        self.sim = EbaySimulator().start()

    def stop(self):
        self.sim.stop()

    def setup_params(self):
        sim = self.sim
        return {"app_id": sim.app_id, "cert_id": sim.cert_id, "refresh_token": sim.refresh_token,
                "base_url": sim.base_url, "token_url": sim.token_url, "signing_key": sim.signing_private_pem,
                "signing_jwe": sim.signing_jwe, "skus": [list(sku) for sku in self.SKUS]}

    def make_orders(self, count, customers, tag):
        modified = utc_now() - timedelta(minutes=1)
        orders = []
        for n in range(count):
            customer = self.rng.randrange(customers)
            buyer = f"proof_ebay_c{tag}x{customer}"
            order_id = f"{10 + int(tag):02d}-{n:05d}-{customer:05d}"
            lines = [[*self.SKUS[n % len(self.SKUS)], 1]]
            values = {"modified": modified, "buyer": buyer, "lines": lines}
            orders.append(ProofOrder(order_id, self._total(values), f"{buyer}@members.ebay.com", payload=values))
        return orders

    def _total(self, values):
        return sum((Decimal(price) * qty for _sku, price, qty in values["lines"]), Decimal(0)) + Decimal(self.SHIPPING)

    def mark_updated(self, order):
        """The buyer added an item before the poll read the order: the poll reads the final version."""
        order.updated = True
        sku, price = self.SKUS[(self.SKUS.index(tuple(order.payload["lines"][0][:2])) + 1) % len(self.SKUS)]
        order.payload = dict(order.payload, modified=order.payload["modified"] + timedelta(seconds=30),
                             lines=[*order.payload["lines"], [sku, price, 1]])
        order.total = self._total(order.payload)

    def seed(self, orders):
        from tests.simulators.ebay_sim import make_order  # noqa: PLC0415

        for order in orders:
            values = order.payload
            skus = [(sku, qty, f"{Decimal(price) * qty:.2f}") for sku, price, qty in values["lines"]]
            self.sim.add_order(make_order(order.external_id, values["modified"], skus=skus, buyer=values["buyer"],
                                          currency=self.setup["currency"], shipping=self.SHIPPING))
        self.trigger_poll()

    def deliveries(self, order):
        return []  # no order notifications: the poll is the only path


def channels_for(names, proof, seed):
    """Plug-in instances for ``names`` (all registered ones when empty), each with its own RNG."""
    names = names or list(REGISTRY)
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise SystemExit(f"unknown channel(s) {', '.join(unknown)}; registered: {', '.join(REGISTRY)}")
    return [REGISTRY[name](proof, random.Random(f"{seed}-{name}")) for name in names]


def utc_now():
    return datetime.now(timezone.utc)
