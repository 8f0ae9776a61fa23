"""Shopify variants (with their inventory items) and the stock levels last sent to Shopify."""

import json
import logging
import uuid

from odoo import api, fields, models
from odoo.tools import SQL

from ..lib.sync import OUT_STOCK, plan_stock_changes, shopify_quantity, stock_batch_key, stock_resource_key

_logger = logging.getLogger(__name__)

PRECOMMIT_KEY = "omni_connector_shopify.stock_touched"
MAX_ITEM_ERROR_ROUNDS = 3


class OmniShopifyVariant(models.Model):
    """One variant of the shop, as *Import product mapping* read it.

    Matched variants (with a product) are bound to it in ``omni.binding`` by variant id --
    what the order importer resolves lines by -- and carry the inventory item id the stock
    export needs. Unmatched ones stay listed here until a person picks the product.
    """

    _name = "omni.shopify.variant"
    _description = "Shopify Variant"
    _order = "backend_id, product_title, title, id"
    _rec_name = "sku"
    _check_company_auto = True

    backend_id = fields.Many2one(
        "omni.backend",
        required=True,
        ondelete="cascade",
        index=True,
        help="The Shopify backend (shop) of this variant.",
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True, help="The backend's company.")
    shopify_variant_id = fields.Char(
        string="Variant ID",
        required=True,
        index=True,
        help="The variant's numeric id in Shopify (order lines name it).",
    )
    inventory_item_id = fields.Char(help="The variant's inventory item (gid): whose quantities the stock export sets.")
    sku = fields.Char(
        string="SKU", index=True, help="The variant's SKU in Shopify, matched to the product's internal reference."
    )
    barcode = fields.Char(help="The variant's barcode in Shopify (second matching key).")
    title = fields.Char(string="Variant", help="The variant's title in Shopify (e.g. Black / M).")
    product_title = fields.Char(string="Shopify Product", help="The title of the variant's product in Shopify.")
    tracked = fields.Boolean(help="Whether Shopify tracks the inventory of this variant.")
    product_id = fields.Many2one(
        "product.product",
        string="Odoo Product",
        ondelete="set null",
        index=True,
        check_company=True,
        help="The Odoo product sold as this variant. Setting it binds the variant, so orders and stock use it.",
    )
    matched = fields.Boolean(compute="_compute_matched", store=True, help="Whether an Odoo product is set.")
    stock_export_error = fields.Char(
        readonly=True,
        copy=False,
        help="Why Shopify refused this variant's quantity (e.g. the inventory item no longer exists). The "
        "variant is left out of the stock export until the mapping is imported again or this is cleared.",
    )
    stock_level_ids = fields.One2many(
        "omni.shopify.stock.level",
        "variant_id",
        string="Quantities Sent",
        help="The quantity last sent to each Shopify location.",
    )

    _unique_variant = models.Constraint(
        "UNIQUE(backend_id, shopify_variant_id)", "This Shopify variant is already listed for this backend."
    )

    @api.depends("product_id")
    def _compute_matched(self):
        for variant in self:
            variant.matched = bool(variant.product_id)

    @api.model_create_multi
    def create(self, vals_list):
        variants = super().create(vals_list)
        variants._shopify_bind_products()
        return variants

    def write(self, vals):
        result = super().write(vals)
        if "product_id" in vals:
            self._shopify_bind_products()
            self.stock_level_ids.unlink()  # another product: its quantity was never sent
        return result

    def action_clear_stock_error(self):
        self.write({"stock_export_error": False})
        return True

    def _shopify_bind_products(self):
        """Keep ``omni.binding`` (variant id -> product) in line with ``product_id``."""
        Binding = self.env["omni.binding"].sudo()
        for backend in self.backend_id:
            variants = self.filtered(lambda v, backend=backend: v.backend_id == backend)
            existing = Binding._omni_bindings(backend, "product.product", variants.mapped("shopify_variant_id"))
            to_create = []
            for variant in variants:
                binding = existing.get(variant.shopify_variant_id)
                if variant.product_id:
                    if not binding:
                        to_create.append(
                            {
                                "backend_id": backend.id,
                                "res_model": "product.product",
                                "res_id": variant.product_id.id,
                                "external_id": variant.shopify_variant_id,
                            }
                        )
                    elif binding.res_id != variant.product_id.id:
                        binding.res_id = variant.product_id.id
                elif binding:
                    binding.unlink()
            if to_create:
                Binding.create(to_create)

    # ------------------------------------------------------------ import

    @api.model
    def _shopify_sync_variants(self, backend, variants):
        """Upsert the variants read from Shopify and bind them to products.

        A variant keeps the product it is bound to (a person's choice wins); otherwise it
        is matched by SKU (the product's internal reference), then by barcode, within the
        backend's company. Returns ``{'total', 'bound', 'unmatched': [sku, ...]}``.
        """
        existing = {v.shopify_variant_id: v for v in self.search([("backend_id", "=", backend.id)])}
        ids = [str(data["legacy_id"]) for data in variants]
        bound = self.env["omni.binding"]._omni_lookup(backend, "product.product", ids)
        Product = self.env["product.product"].with_company(backend.company_id)
        company_domain = [("company_id", "in", (backend.company_id.id, False))]
        skus = {data["sku"] for data in variants if data.get("sku")}
        by_sku = {}
        if skus:
            for product in Product.search([("default_code", "in", list(skus)), *company_domain], order="id"):
                by_sku.setdefault(product.default_code, product)
        barcodes = {data["barcode"] for data in variants if data.get("barcode") and data.get("sku") not in by_sku}
        by_barcode = {}
        if barcodes:
            for product in Product.search([("barcode", "in", list(barcodes)), *company_domain], order="id"):
                by_barcode.setdefault(product.barcode, product)
        to_create, unmatched, matched = [], [], 0
        for data in variants:
            variant_id = str(data["legacy_id"])
            record = existing.get(variant_id)
            product = (
                bound.get(variant_id)
                or (record.product_id if record else None)
                or by_sku.get(data.get("sku"))
                or by_barcode.get(data.get("barcode"))
            )
            values = {
                "inventory_item_id": data.get("inventory_item_id") or False,
                "sku": data.get("sku") or False,
                "barcode": data.get("barcode") or False,
                "title": data.get("title") or False,
                "tracked": bool(data.get("tracked")),
                "product_id": product.id if product else False,
            }
            if record:
                if record.inventory_item_id != values["inventory_item_id"]:
                    values["stock_export_error"] = False
                changed = {
                    key: value
                    for key, value in values.items()
                    if (record[key].id if key == "product_id" else record[key]) != value
                }
                if changed:
                    record.write(changed)
            else:
                to_create.append(dict(values, backend_id=backend.id, shopify_variant_id=variant_id))
            if product:
                matched += 1
            else:
                unmatched.append(data.get("sku"))
        if to_create:
            self.create(to_create)
        return {"total": len(variants), "bound": matched, "unmatched": unmatched}

    # ----------------------------------------------------- stock: enqueue

    @api.model
    def _shopify_stock_touched(self, product, location):
        """A quant of ``product`` in ``location`` changed: note it for the end of the transaction.

        The pairs are collected and turned into stock events once, just before commit
        (and at each savepoint): a picking touching a product ten times queues one event.
        """
        if location.usage != "internal" or not product.is_storable:
            return
        precommit = self.env.cr.precommit
        touched = precommit.data.get(PRECOMMIT_KEY)
        if touched is None:
            touched = precommit.data[PRECOMMIT_KEY] = set()
            env = self.env(su=True)
            precommit.add(env["omni.shopify.variant"]._shopify_enqueue_touched)
        touched.add((product.id, location.id))

    @api.model
    def _shopify_enqueue_touched(self):
        """Pre-commit hook: queue the stock events of the touched (product, location) pairs.

        Isolated in a savepoint: a failure here is logged and leaves the stock operation that
        triggered it alone (the hourly stock backstop sends what was missed).
        """
        touched = self.env.cr.precommit.data.pop(PRECOMMIT_KEY, None)
        if not touched:
            return
        try:
            with self.env.cr.savepoint(flush=False):
                self._shopify_enqueue_pairs_touched(touched)
                self.env.flush_all()
        except Exception:  # never break a stock operation for an export
            _logger.exception("Shopify stock export: could not queue %s changed levels", len(touched))
            self.env.invalidate_all(flush=False)

    @api.model
    def _shopify_enqueue_pairs_touched(self, touched):
        maps = self.env["omni.shopify.location"].search(
            [
                ("backend_id.channel", "=", "shopify"),
                ("backend_id.active", "=", True),
                ("backend_id.shopify_export_stock", "=", True),
                ("export_stock", "=", True),
                ("location_id", "!=", False),
            ]
        )
        if not maps:
            return
        products_by_location = {}
        for product_id, location_id in touched:
            products_by_location.setdefault(location_id, set()).add(product_id)
        product_maps = {}
        for location in self.env["stock.location"].browse(list(products_by_location)):
            covering = maps.filtered(
                lambda m, location=location: (
                    location.parent_path and location.parent_path.startswith(m.location_id.parent_path)
                )
            )
            if not covering:
                continue
            for product_id in products_by_location[location.id]:
                product_maps[product_id] = product_maps.get(product_id, maps.browse()) | covering
        if not product_maps:
            return
        variants = self.search(
            [
                ("backend_id", "in", maps.backend_id.ids),
                ("product_id", "in", list(product_maps)),
                ("inventory_item_id", "!=", False),
                ("stock_export_error", "=", False),
            ]
        )
        by_backend = {}
        for variant in variants:
            for mapping in product_maps[variant.product_id.id]:
                if mapping.backend_id == variant.backend_id:
                    by_backend.setdefault(variant.backend_id, []).append((variant, mapping))
        for backend, pairs in by_backend.items():
            self._shopify_enqueue_pairs(backend, pairs)

    @api.model
    def _shopify_enqueue_stock(self, backend, force=False):
        """Queue inventory levels of all bound variants in all exported locations of ``backend``.

        Without ``force`` only levels whose quantity differs from what was last sent (the
        hourly backstop); with ``force`` every level, sent before or not.
        """
        maps = backend.shopify_location_ids.filtered(lambda m: m.export_stock and m.location_id)
        variants = self.search(
            [
                ("backend_id", "=", backend.id),
                ("product_id.is_storable", "=", True),
                ("inventory_item_id", "!=", False),
                ("stock_export_error", "=", False),
            ]
        )
        pairs = [(variant, mapping) for mapping in maps for variant in variants]
        if not pairs or not backend.shopify_export_stock:
            return 0
        if force:
            self.env["omni.shopify.stock.level"].flush_model()
            self.env.cr.execute(SQL("DELETE FROM omni_shopify_stock_level WHERE backend_id = %s", backend.id))
            self.env["omni.shopify.stock.level"].invalidate_model()
        else:
            levels = self._shopify_free_quantities(pairs)
            last = self._shopify_last_sent(pairs)
            pairs = [
                (v, m)
                for v, m in pairs
                if last.get((v.inventory_item_id, m.shopify_location_id)) != levels[(v.id, m.id)]
            ]
        return self._shopify_enqueue_pairs(backend, pairs)

    @api.model
    def _shopify_enqueue_pairs(self, backend, pairs):
        """Queue one outgoing ``inventory/set`` event per inventory level, coalesced.

        The batch form of ``omni.event._omni_enqueue_outgoing(..., coalesce=True)``: a level
        that already has a pending, unclaimed event is not queued again (the handler reads
        the quantity when it pushes, so the queued event will send the latest one); a level
        whose event a worker is pushing right now (locked) gets a new event. Returns the
        number of events created.
        """
        if not pairs:
            return 0
        Event = self.env["omni.event"].sudo()
        keyed = {stock_resource_key(v.inventory_item_id, m.shopify_location_id): (v, m) for v, m in pairs}
        Event.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT resource_key FROM omni_event WHERE backend_id = %s AND direction = 'out' AND topic = %s "
                "AND resource_key IN %s AND state = 'pending' AND attempts = 0 FOR UPDATE SKIP LOCKED",
                backend.id,
                OUT_STOCK,
                tuple(keyed),
            )
        )
        queued = {row[0] for row in self.env.cr.fetchall()}
        now = fields.Datetime.now()
        values = [
            {
                "backend_id": backend.id,
                "direction": "out",
                "topic": OUT_STOCK,
                "resource_model": "product.product",
                "resource_key": key,
                "idempotency_key": f"out:{OUT_STOCK}:{uuid.uuid4().hex}",
                "source_ts": now,
                "payload": json.dumps({"variant_id": variant.id, "location_map_id": mapping.id}, sort_keys=True),
            }
            for key, (variant, mapping) in keyed.items()
            if key not in queued
        ]
        if values:
            Event.create(values)
            Event._omni_trigger_processor()
        return len(values)

    # -------------------------------------------------------- stock: push

    @api.model
    def _shopify_pairs_from_events(self, events):
        """``(variant, location mapping)`` of stock events, deduplicated, existing ones only."""
        refs = []
        for event in events:
            payload = event._omni_payload_json()
            refs.append((payload.get("variant_id"), payload.get("location_map_id")))
        variants = self.browse({ref[0] for ref in refs if ref[0]}).exists()
        maps = self.env["omni.shopify.location"].browse({ref[1] for ref in refs if ref[1]}).exists()
        pairs, seen = [], set()
        for variant_id, map_id in refs:
            if variant_id in variants.ids and map_id in maps.ids and (variant_id, map_id) not in seen:
                seen.add((variant_id, map_id))
                pairs.append((self.browse(variant_id), maps.browse(map_id)))
        return pairs

    @api.model
    def _shopify_free_quantities(self, pairs):
        """``{(variant id, mapping id): quantity to publish}``: the free quantity (on hand minus
        reserved) of the variant's product in the mapping's location and its children."""
        by_map = {}
        for variant, mapping in pairs:
            by_map.setdefault(mapping, self.browse())
            by_map[mapping] |= variant
        result = {}
        Quant = self.env["stock.quant"].sudo()
        for mapping, variants in by_map.items():
            free = {}
            if mapping.location_id and variants.product_id:
                for product, quantity, reserved in Quant._read_group(
                    [
                        ("product_id", "in", variants.product_id.ids),
                        ("location_id", "child_of", mapping.location_id.id),
                    ],
                    ["product_id"],
                    ["quantity:sum", "reserved_quantity:sum"],
                ):
                    free[product.id] = (quantity or 0.0) - (reserved or 0.0)
            for variant in variants:
                result[(variant.id, mapping.id)] = shopify_quantity(free.get(variant.product_id.id, 0.0))
        return result

    @api.model
    def _shopify_last_sent(self, pairs):
        """``{(inventory item, location gid): quantity}`` last sent for these levels."""
        if not pairs:
            return {}
        levels = self.env["omni.shopify.stock.level"].search(
            [
                ("variant_id", "in", list({v.id for v, _m in pairs})),
                ("location_map_id", "in", list({m.id for _v, m in pairs})),
            ]
        )
        return {
            (level.variant_id.inventory_item_id, level.location_map_id.shopify_location_id): level.quantity
            for level in levels
        }

    @api.model
    def _shopify_send_levels(self, backend, pairs, event_ids):
        """Send the levels of ``pairs`` that changed since last sent; return how many were sent.

        Items Shopify refuses one by one (an inventory item or location it does not know)
        are flagged on their variant, reported once in the exception queue, and left out;
        the rest of the batch is sent again without them.
        """
        pairs = [
            (v, m) for v, m in pairs if v.product_id.is_storable and v.inventory_item_id and not v.stock_export_error
        ]
        levels = self._shopify_free_quantities(pairs)
        keyed = {(v.inventory_item_id, m.shopify_location_id): (v, m) for v, m in pairs}
        wanted = {(v.inventory_item_id, m.shopify_location_id): levels[(v.id, m.id)] for v, m in pairs}
        changes = plan_stock_changes(wanted, self._shopify_last_sent(pairs))
        for _round in range(MAX_ITEM_ERROR_ROUNDS):
            if not changes:
                return 0
            key = backend._shopify_idempotency_key(stock_batch_key(backend.id, event_ids, changes))
            refused = backend._shopify_set_quantities(changes, key)
            if not refused:
                self._shopify_record_sent(backend, [(keyed[c[:2]], c[2]) for c in changes])
                return len(changes)
            for index, message in refused.items():
                variant, mapping = keyed[changes[index][:2]]
                variant.stock_export_error = message[:250]
                self.env["omni.exception"]._omni_raise(
                    self.env._(
                        "Shopify refused the quantity of %(sku)s at %(location)s: %(message)s. The variant is left out "
                        "of the stock export; import the product mapping again or fix it in Shopify.",
                        sku=variant.sku or variant.shopify_variant_id,
                        location=mapping.name,
                        message=message,
                    ),
                    backend=backend,
                    category="mapping",
                    record=variant,
                    dedupe_key=f"shopify:stock:{variant.shopify_variant_id}",
                )
            changes = [change for index, change in enumerate(changes) if index not in refused]
        return 0

    @api.model
    def _shopify_record_sent(self, backend, sent):
        """Upsert the quantities just sent: ``[((variant, mapping), quantity), ...]``.

        Past the ORM, in one statement for a whole batch: no access rules (the processor runs as
        superuser) and no create/write hooks (the model has no computed, related or tracked
        fields; ``company_id`` is written from the backend here).
        """
        if not sent:
            return
        self.env["omni.shopify.stock.level"].flush_model()
        now = fields.Datetime.now()
        rows = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                variant.id,
                mapping.id,
                backend.id,
                backend.company_id.id,
                quantity,
                now,
                self.env.uid,
                self.env.uid,
                now,
                now,
            )
            for (variant, mapping), quantity in sent
        )
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO omni_shopify_stock_level (variant_id, location_map_id, backend_id, company_id, quantity,
                                                  sent_at, create_uid, write_uid, create_date, write_date)
            VALUES %s
            ON CONFLICT (variant_id, location_map_id)
            DO UPDATE SET quantity = EXCLUDED.quantity, sent_at = EXCLUDED.sent_at,
                          write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
            """,
                rows,
            )
        )
        self.env["omni.shopify.stock.level"].invalidate_model()


class OmniShopifyStockLevel(models.Model):
    """The quantity last sent to Shopify for one variant at one location (only changes are sent)."""

    _name = "omni.shopify.stock.level"
    _description = "Shopify Inventory Level Sent"
    _order = "sent_at desc, id desc"

    variant_id = fields.Many2one(
        "omni.shopify.variant",
        required=True,
        ondelete="cascade",
        index=True,
        help="The Shopify variant (inventory item) whose quantity was sent.",
    )
    location_map_id = fields.Many2one(
        "omni.shopify.location",
        string="Location",
        required=True,
        ondelete="cascade",
        index=True,
        help="The Shopify location it was sent to.",
    )
    backend_id = fields.Many2one(
        "omni.backend", required=True, ondelete="cascade", index=True, help="The Shopify backend (shop)."
    )
    company_id = fields.Many2one("res.company", required=True, index=True, help="The backend's company.")
    product_id = fields.Many2one(related="variant_id.product_id", help="The Odoo product of the variant.")
    quantity = fields.Integer(help="The available quantity last set in Shopify.")
    sent_at = fields.Datetime(help="When it was sent (UTC).")

    _unique_level = models.Constraint(
        "UNIQUE(variant_id, location_map_id)", "One sent quantity per variant and location."
    )
