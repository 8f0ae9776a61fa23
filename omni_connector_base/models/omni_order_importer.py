"""The shared order importer: canonical order -> sale order, the same for every channel.

Connectors translate payloads into canonical records and call ``_omni_import_order``,
``_omni_import_refund`` or let cancellations flow through the order itself. Every step is
idempotent: bindings name what was already created, so a replay or a duplicate delivery
changes nothing.
"""

import logging
from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import MissingError
from odoo.tools import SQL, float_is_zero, ormcache

from ..canonical import ValidationError, order_from_dict, order_lines_digest, record_digest, refund_from_dict
from ..canonical.normalize import address_key, normalize_email
from ..canonical.totals import Totals, channel_totals, compare_totals
from ..importer.plan import plan_order_lines
from ..pipeline.errors import BusinessError, StaleEvent, TransientError

_logger = logging.getLogger(__name__)

ORDER_MODEL = "sale.order"
LINE_MODEL = "sale.order.line"
REFUND_MODEL = "account.move"


def _decimal(value):
    """Odoo's float money -> Decimal through its shortest repr (no binary noise)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value or 0)


class OmniOrderImporter(models.AbstractModel):
    _name = "omni.order.importer"
    _description = "Omnichannel Order Importer"

    # ------------------------------------------------------------------ orders

    @api.model
    def _omni_import_order(self, backend, order, event=None):
        """Create or update the sale order of a canonical order; return it.

        :raises BusinessError: unknown product, missing tax, totals beyond tolerance...
        :raises StaleEvent: test orders when the backend skips them
        """
        if order.is_test and not backend.import_test_orders:
            raise StaleEvent(self.env._("Test order %s skipped (the backend does not import test orders).", order.name))
        digest = record_digest(order)
        binding = (
            self.env["omni.binding"]._omni_bindings(backend, ORDER_MODEL, [order.external_id]).get(order.external_id)
        )
        sale = binding._omni_record() if binding else None
        if sale:
            if binding.payload_digest == digest:
                return sale  # the same version again: nothing to do
            if order.cancelled:
                self._omni_cancel_order(backend, sale, order)
            else:
                self._omni_update_order(backend, sale, order)
            self.env["omni.binding"]._omni_bind(
                backend, sale, order.external_id, external_updated_at=_naive(order.updated_at), digest=digest
            )
            return sale
        sale = self._omni_create_order(backend, order, digest)
        if order.cancelled:
            self._omni_cancel_order(backend, sale, order)
        else:
            self._omni_apply_workflow(backend, sale, order)
        return sale

    def _omni_create_order(self, backend, order, digest=None):
        """Create the sale order and bind it and its lines (one statement for all the bindings)."""
        company = backend.company_id
        customer, invoice_address, shipping_address = self._omni_resolve_partners(backend, order)
        pricelist = self._omni_pricelist(backend, order.currency)
        planned = plan_order_lines(order, backend.discount_mode)
        line_values = self._omni_line_values(backend, order, planned)
        sale = (
            self.env["sale.order"]
            .with_company(company)
            .create(
                {
                    "partner_id": customer.id,
                    "partner_invoice_id": invoice_address.id,
                    "partner_shipping_id": shipping_address.id,
                    "pricelist_id": pricelist.id,
                    "company_id": company.id,
                    **({"warehouse_id": backend.warehouse_id.id} if backend.warehouse_id else {}),
                    **({"team_id": backend.team_id.id} if backend.team_id else {}),
                    "client_order_ref": order.name,
                    "origin": f"{backend.name}: {order.name}",
                    "date_order": _naive(order.created_at),
                    "note": order.note or False,
                    "omni_backend_id": backend.id,
                    "omni_external_id": order.external_id,
                    "omni_channel_order_name": order.name,
                    "omni_financial_status": order.financial_status,
                    "omni_payment_gateway": self._omni_gateway(order) or False,
                    "omni_content_digest": order_lines_digest(order),
                    "order_line": [Command.create(values) for _planned, values in line_values],
                }
            )
        )
        order_binding = (sale, order.external_id, _naive(order.updated_at), digest)
        self._omni_bind_lines(backend, sale, [planned_line for planned_line, _v in line_values], also=[order_binding])
        self._omni_check_totals(backend, sale, order)
        return sale

    def _omni_line_values(self, backend, order, planned):
        """Resolve products and taxes of planned lines (one query per kind, not per line)."""
        products = self._omni_resolve_products(backend, order, [p for p in planned if p.kind == "product"])
        taxes = self._omni_resolve_taxes(backend, order, planned)
        result = []
        for line in planned:
            if line.kind == "product":
                product = products[line.external_id]
            elif line.kind == "shipping":
                product = backend._omni_shipping_product(line.shipping_code or line.name)
            elif line.kind == "fee":
                product = backend._omni_service_product("fee")
            else:
                product = backend._omni_service_product("discount")
            result.append(
                (
                    line,
                    {
                        "product_id": product.id,
                        "name": line.name,
                        "product_uom_qty": float(line.quantity),
                        "price_unit": float(line.price_unit),
                        "discount": float(line.discount_percent),
                        "tax_ids": [Command.set([taxes[key].id for key in line.tax_keys])],
                    },
                )
            )
        return result

    def _omni_bind_lines(self, backend, sale, planned_lines, sale_lines=None, also=()):
        """Bind sale lines (all of them by default, in creation order) to the channel's line ids,
        with the ``also`` bindings in the same statement."""
        sale_lines = sale.order_line.sorted("id") if sale_lines is None else sale_lines
        self.env["omni.binding"]._omni_bind_many(backend, [
            *also,
            *((sale_line, f"{sale.omni_external_id}/{planned_line.external_id}")
              for planned_line, sale_line in zip(planned_lines, sale_lines, strict=False)),
        ])

    def _omni_resolve_products(self, backend, order, planned_products):
        """Binding (variant id), then SKU (internal reference), then barcode; else blocked."""
        Product = self.env["product.product"].with_company(backend.company_id)
        Binding = self.env["omni.binding"]
        by_variant = Binding._omni_lookup(backend, "product.product", [p.variant_external_id for p in planned_products])
        resolved, missing = {}, []
        for planned_line in planned_products:
            product = by_variant.get(planned_line.variant_external_id or "")
            if product:
                resolved[planned_line.external_id] = product
            else:
                missing.append(planned_line)
        # SKUs a person mapped by hand (the product's own reference differs)
        by_mapped_sku = Binding._omni_lookup(backend, "product.product", [f"sku:{p.sku}" for p in missing if p.sku])
        still_missing = []
        for planned_line in missing:
            product = by_mapped_sku.get(f"sku:{planned_line.sku}")
            if product:
                resolved[planned_line.external_id] = product
            else:
                still_missing.append(planned_line)
        missing = still_missing
        skus = {p.sku for p in missing if p.sku}
        by_sku = {}
        if skus:
            for product in Product.search([("default_code", "in", list(skus))]):
                by_sku.setdefault(product.default_code, product)
        barcodes = {p.barcode for p in missing if p.barcode and p.sku not in by_sku}
        by_barcode = {}
        if barcodes:
            by_barcode = {product.barcode: product for product in Product.search([("barcode", "in", list(barcodes))])}
        unknown, new_bindings = [], []
        for planned_line in missing:
            product = by_sku.get(planned_line.sku) or by_barcode.get(planned_line.barcode or "")
            if not product:
                unknown.append(planned_line)
                continue
            resolved[planned_line.external_id] = product
            if planned_line.variant_external_id:
                new_bindings.append((product, planned_line.variant_external_id))
        Binding._omni_bind_many(backend, new_bindings)
        if unknown:
            first = unknown[0]
            label = first.sku or first.barcode or first.variant_external_id or first.name
            message = self.env._(
                "Unknown SKU %(sku)s on order %(order)s (%(name)s). Map it to a product or create the "
                "product, then retry.",
                sku=label,
                order=order.name,
                name=first.name,
            )
            if unknown[1:]:
                message += "\n" + self.env._("Also unknown: %s", ", ".join(p.sku or p.name for p in unknown[1:]))
            raise BusinessError(
                message,
                category="mapping",
                actions=("map_product", "create_product"),
                data={
                    "lines": [
                        {
                            "sku": p.sku,
                            "barcode": p.barcode,
                            "variant_external_id": p.variant_external_id,
                            "name": p.name,
                            "price": str(p.price_unit),
                        }
                        for p in unknown
                    ],
                    "order": order.name,
                },
            )
        return resolved

    def _omni_resolve_taxes(self, backend, order, planned):
        keys = {key for line in planned for key in line.tax_keys}
        taxes, missing = {}, []
        for key in keys:
            tax = backend._omni_tax_for(key.percent, key.included)
            if tax:
                taxes[key] = tax
            else:
                missing.append(key)
        if missing:
            described = ", ".join(
                f"{key.percent} % {self.env._('included') if key.included else self.env._('excluded')}"
                for key in sorted(missing, key=lambda k: (k.percent, k.included))
            )
            raise BusinessError(
                self.env._(
                    "No sale tax for %(taxes)s in %(company)s (order %(order)s). Create the tax or map the rate "
                    "on the backend, then retry.",
                    taxes=described,
                    company=backend.company_id.name,
                    order=order.name,
                ),
                category="mapping",
            )
        return taxes

    def _omni_check_totals(self, backend, sale, order):
        """Odoo's totals must equal the channel's within the backend's tolerance.

        Within tolerance, the difference goes on a rounding line so the invoice equals what the
        customer paid; beyond it the order is blocked with both totals shown.
        """
        odoo = Totals(
            untaxed=_decimal(sale.amount_untaxed),
            tax=_decimal(sale.amount_tax),
            total=_decimal(sale.amount_total),
        )
        check = compare_totals(odoo, channel_totals(order), _decimal(backend.total_tolerance))
        if not check.ok:
            raise BusinessError(
                self.env._(
                    "Totals of order %(order)s do not match the channel beyond the tolerance. %(details)s",
                    order=order.name,
                    details=check.describe_sides(order.currency, "Odoo", "channel"),
                ),
                category="validation",
            )
        difference = check.total_gap
        if not float_is_zero(float(difference), precision_rounding=sale.currency_id.rounding):
            rounding = backend._omni_service_product("rounding")
            sale.write(
                {
                    "order_line": [
                        Command.create(
                            {
                                "product_id": rounding.id,
                                "name": self.env._("Channel rounding"),
                                "product_uom_qty": 1,
                                "price_unit": float(difference),
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ]
                }
            )

    # ---------------------------------------------------------------- partners

    def _omni_resolve_partners(self, backend, order):
        """Customer, invoice address and delivery address contacts."""
        company = backend.company_id
        customer = self._omni_find_or_create_customer(backend, order)
        invoice = self._omni_address_contact(company, customer, order.billing_address, "invoice")
        delivery = self._omni_address_contact(company, customer, order.shipping_address, "delivery")
        return customer, invoice, delivery

    def _omni_find_or_create_customer(self, backend, order):
        """Binding (channel customer id), then normalized email within the company, else create."""
        company = backend.company_id
        Partner = self.env["res.partner"].with_company(company)
        Binding = self.env["omni.binding"]
        source = order.customer
        if source and source.external_id:
            bound = Binding._omni_lookup(backend, "res.partner", [source.external_id]).get(source.external_id)
            if bound:
                return bound
        email = normalize_email(
            (source.email if source else None) or (order.billing_address.email if order.billing_address else None)
        )
        partner = None
        if email:
            key = f"email:{email}"
            partner = self._omni_partner_by_key(company, key)
            if not partner:
                partner = Partner.search(
                    [
                        ("email_normalized", "=", email),
                        ("parent_id", "=", False),
                        ("company_id", "in", (company.id, False)),
                    ],
                    limit=1,
                    order="id",
                )
                if not partner:
                    partner = Partner.create(self._omni_customer_values(company, order))
                self._omni_register_partner_key(company, key, partner)
        else:
            # Guest without email: the billing (or shipping) address with its recipient identifies them.
            address = order.billing_address or order.shipping_address
            key = f"guest:{address_key(address)}" if address else None
            partner = self._omni_partner_by_key(company, key) if key else None
            if not partner:
                partner = Partner.create(self._omni_customer_values(company, order))
                if key:
                    self._omni_register_partner_key(company, key, partner)
        if source and source.external_id:
            Binding._omni_bind(backend, partner, source.external_id)
        return partner

    def _omni_customer_values(self, company, order):
        source = order.customer
        address = order.billing_address or order.shipping_address
        name = (
            (source.name if source else "")
            or (address.name if address else "")
            or (source.email if source and source.email else "")
            or self.env._("Channel customer")
        )
        values = {
            "name": name,
            "company_id": company.id,
            "customer_rank": 1,
            "email": (source.email if source else None) or (address.email if address else None) or False,
            "phone": (source.phone if source else None) or (address.phone if address else None) or False,
        }
        if source and source.vat:
            values["vat"] = source.vat
        if address:
            values.update(self._omni_address_values(address))
            if address.company and not (source and source.company):
                values["company_name"] = address.company
        return values

    def _omni_address_values(self, address):
        country = (
            self.env["res.country"].search([("code", "=", (address.country_code or "").upper())], limit=1)
            if address.country_code
            else self.env["res.country"]
        )
        state = self.env["res.country.state"]
        if country and address.state_code:
            state = state.search([("country_id", "=", country.id), ("code", "=", address.state_code.upper())], limit=1)
        return {
            "street": address.street or False,
            "street2": address.street2 or False,
            "city": address.city or False,
            "zip": address.zip or False,
            "country_id": country.id or False,
            "state_id": state.id or False,
        }

    def _omni_address_contact(self, company, customer, address, kind):
        """The customer itself when the address is its own, else a deduplicated child contact."""
        if not address:
            return customer
        key_text = address_key(address)
        own, own_address = self._omni_partner_key_row(company, f"own:{customer.id}")
        if own is None:
            # First order of this customer: its own address is the one it was created with.
            self._omni_register_partner_key(company, f"own:{customer.id}", customer, extra=key_text)
            if self._omni_same_as_partner(customer, address):
                return customer
        elif own_address == key_text:
            return customer
        key = f"addr:{customer.id}:{key_text}"
        contact = self._omni_partner_by_key(company, key)
        if contact:
            return contact
        values = self._omni_address_values(address)
        values.update(
            parent_id=customer.id,
            type=kind,
            name=address.name or customer.name,
            phone=address.phone or False,
            email=address.email or False,
            company_id=company.id,
        )
        contact = self.env["res.partner"].create(values)
        self._omni_register_partner_key(company, key, contact)
        return contact

    def _omni_same_as_partner(self, partner, address):
        values = self._omni_address_values(address)
        return all(
            (partner[field].id if hasattr(partner[field], "id") else partner[field] or False) == value
            for field, value in values.items()
        ) and (not address.name or address.name == partner.name)

    def _omni_partner_by_key(self, company, key):
        return self._omni_partner_key_row(company, key)[0] if key else None

    def _omni_partner_key_row(self, company, key):
        """``(partner, extra)`` registered under a dedupe key, or ``(None, None)``: one indexed read
        of a table of our own (no access rules apply to it)."""
        self.env.cr.execute(
            SQL("SELECT partner_id, extra FROM omni_partner_key WHERE company_id = %s AND key = %s", company.id, key)
        )
        row = self.env.cr.fetchone()
        if not row:
            return None, None
        return self.env["res.partner"].browse(row[0]), row[1]

    def _omni_register_partner_key(self, company, key, partner, extra=None):
        """Insert a dedupe key; a concurrent insert of the same key makes this event retry.

        The conflicting worker created the same contact a moment earlier: the retry (a new
        transaction) finds it through the key, so one contact results, never two.
        """
        self.env["omni.partner.key"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO omni_partner_key (company_id, key, partner_id, extra,
                                              create_uid, write_uid, create_date, write_date)
                VALUES (%(company)s, %(key)s, %(partner)s, %(extra)s, %(uid)s, %(uid)s,
                        now() at time zone 'UTC', now() at time zone 'UTC')
                ON CONFLICT (company_id, key) DO NOTHING
                RETURNING id
                """,
                company=company.id,
                key=key,
                partner=partner.id,
                extra=extra,
                uid=self.env.uid,
            )
        )
        if not self.env.cr.fetchone():
            raise TransientError(self.env._("Another worker is creating the same contact; retrying."), retry_after=1)

    # ---------------------------------------------------------------- currency

    def _omni_pricelist(self, backend, currency_code):
        """A pricelist in the order's currency: the backend's, a mapped one, or one made for it.

        Found once per process and currency (every order needs it); one archived or changed since
        is looked up again."""
        cached = self.env["product.pricelist"].browse(self._omni_pricelist_id(backend.id, currency_code))
        try:
            usable = bool(cached) and cached.active and cached.currency_id.name == currency_code \
                and cached.currency_id.active
        except MissingError:  # deleted since it was cached
            usable = False
        if usable:
            return cached
        pricelist = self._omni_find_or_make_pricelist(backend, currency_code)
        if pricelist != cached:
            self.env.registry.clear_cache()  # the cached answer is outdated
        return pricelist

    @ormcache("backend_id", "currency_code")
    def _omni_pricelist_id(self, backend_id, currency_code):
        """Id of an existing pricelist for the (active) currency, 0 when one must be made or activated."""
        backend = self.env["omni.backend"].browse(backend_id)
        currency = self.env["res.currency"].search([("name", "=", currency_code)], limit=1)
        return self._omni_existing_pricelist(backend, currency).id if currency else 0

    def _omni_existing_pricelist(self, backend, currency):
        """The backend's pricelist when in ``currency``, else the company's (or a shared) one in it."""
        if backend.pricelist_id and backend.pricelist_id.currency_id == currency:
            return backend.pricelist_id
        return self.env["product.pricelist"].with_company(backend.company_id).search(
            [("currency_id", "=", currency.id), ("company_id", "in", (backend.company_id.id, False))], limit=1
        )

    def _omni_find_or_make_pricelist(self, backend, currency_code):
        currency = (
            self.env["res.currency"].with_context(active_test=False).search([("name", "=", currency_code)], limit=1)
        )
        if not currency:
            raise BusinessError(self.env._("Unknown currency %s.", currency_code), category="validation")
        if not currency.active:
            if backend.currency_policy == "block":
                raise BusinessError(self.env._("Currency %s is not active in Odoo.", currency_code), category="mapping")
            currency.sudo().active = True
        pricelist = self._omni_existing_pricelist(backend, currency)
        if pricelist:
            return pricelist
        if backend.currency_policy == "block":
            raise BusinessError(
                self.env._("No pricelist in %s: create one or allow the backend to create it.", currency_code),
                category="mapping",
            )
        return self.env["product.pricelist"].with_company(backend.company_id).create(
            {"name": f"{backend.name} {currency.name}", "currency_id": currency.id, "company_id": backend.company_id.id}
        )

    # ---------------------------------------------------------------- workflow

    @staticmethod
    def _omni_gateway(order):
        """The gateway that collected the money (a gift card only when nothing else did)."""
        collected = [p for p in order.payments if p.collected]
        preferred = [p for p in collected if not p.is_gift_card] or collected or order.payments
        return preferred[0].gateway if preferred else None

    def _omni_apply_workflow(self, backend, sale, order):
        """Confirm, invoice and register the payment as the first matching rule says.

        Idempotent, and applied again after every channel update: an order imported as
        authorized and later captured gets its invoice and payment then, exactly once.
        """
        rule = backend._omni_payment_rule(self._omni_gateway(order) or "", order.financial_status)
        if not rule or not rule.confirm_order or sale.state == "cancel":
            return
        if sale.state in ("draft", "sent"):
            sale.action_confirm()  # keeps the channel's order date (see sale.order._prepare_confirmation_values)
        invoice = sale.invoice_ids.filtered(lambda move: move.move_type == "out_invoice" and move.state == "posted")
        if rule.create_invoice and not invoice and sale.invoice_status == "to invoice":
            invoice = sale._create_invoices()
            invoice.action_post()
        if rule.register_payment:
            self._omni_register_payments(backend, sale, order, rule, invoice=invoice[:1] or None)

    def _omni_register_payments(self, backend, sale, order, rule, invoice):
        """One payment per collected channel transaction, memo = the channel transaction id.

        Gift-card payments go to the gift-card rule's journal when one exists; the payout
        matching finds order-time payments by that memo.
        """
        Binding = self.env["omni.binding"]
        payments = self.env["account.payment"]
        for transaction in order.payments:
            if not transaction.collected or transaction.currency != order.currency:
                continue
            reference = transaction.transaction_id or f"{order.name}:{transaction.gateway}"
            if Binding._omni_lookup(backend, "account.payment", [reference]):
                continue
            journal = rule.journal_id or backend._omni_clearing_journal(transaction.gateway)
            if transaction.is_gift_card:
                gift_rule = backend._omni_payment_rule(transaction.gateway, order.financial_status)
                journal = (gift_rule.journal_id if gift_rule else None) or journal
            payments |= self._omni_channel_payment(
                backend, sale, transaction, reference, journal, "inbound", order.created_at
            )
        if invoice and payments:
            self._omni_reconcile_payments(payments, invoice)
        sale.omni_payment_ids |= payments
        return payments

    # ------------------------------------------------------------ edits, cancels

    def _omni_update_order(self, backend, sale, order):
        """Apply a channel edit: allowed until something shipped or got invoiced."""
        if sale.state == "cancel":
            raise BusinessError(
                self.env._("Order %s was cancelled in Odoo but changed on the channel.", order.name),
                category="validation",
                record=(sale._name, sale.id),
            )
        if sale.omni_content_digest == order_lines_digest(order):
            # Only statuses, payments or notes moved (paid, fulfilled...): no line to touch.
            sale.write({"omni_financial_status": order.financial_status})
            self._omni_apply_workflow(backend, sale, order)
            return
        shipped = any(line.qty_delivered for line in sale.order_line)
        invoiced = sale.invoice_ids.filtered(lambda move: move.state == "posted")
        if shipped or invoiced:
            raise BusinessError(
                self.env._(
                    "Order %s changed on the channel after it was shipped or invoiced in Odoo; review it by hand.",
                    order.name,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        planned = plan_order_lines(order, backend.discount_mode)
        line_values = self._omni_line_values(backend, order, planned)
        Binding = self.env["omni.binding"]
        external_ids = [f"{sale.omni_external_id}/{p.external_id}" for p, _v in line_values]
        existing = Binding._omni_lookup(backend, LINE_MODEL, external_ids)
        commands, new_planned = [], []
        kept = self.env["sale.order.line"]
        for (planned_line, values), external_id in zip(line_values, external_ids, strict=True):
            line = existing.get(external_id)
            if line:
                kept |= line
                commands.append(
                    Command.update(
                        line.id,
                        {k: v for k, v in values.items() if k != "product_id"}
                        if line.product_id.id == values["product_id"]
                        else values,
                    )
                )
            else:
                commands.append(Command.create(values))
                new_planned.append(planned_line)
        rounding = backend._omni_service_product("rounding")
        for line in sale.order_line - kept:
            if line.product_id == rounding or sale.state in ("draft", "sent"):
                commands.append(Command.unlink(line.id))
            else:
                commands.append(Command.update(line.id, {"product_uom_qty": 0}))
        before = set(sale.order_line.ids)
        sale.write(
            {"order_line": commands, "omni_financial_status": order.financial_status, "note": order.note or sale.note}
        )
        added = sale.order_line.filtered(lambda line: line.id not in before).sorted("id")
        self._omni_bind_lines(backend, sale, new_planned, added)
        self._omni_check_totals(backend, sale, order)
        sale.omni_content_digest = order_lines_digest(order)
        sale.message_post(body=self.env._("Updated from the channel (order edited before shipping)."))
        self._omni_apply_workflow(backend, sale, order)

    def _omni_cancel_order(self, backend, sale, order):
        """Cancel the sale order and its pickings when nothing has shipped; else a person decides."""
        if sale.state == "cancel":
            return
        shipped = any(
            picking.state == "done" and picking.picking_type_code == "outgoing" for picking in sale.picking_ids
        )
        posted = sale.invoice_ids.filtered(lambda move: move.state == "posted" and move.move_type == "out_invoice")
        if shipped:
            raise BusinessError(
                self.env._(
                    "Order %s was cancelled on the channel but has already shipped: arrange the return and "
                    "refund by hand.",
                    order.name,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        if posted:
            raise BusinessError(
                self.env._(
                    "Order %s was cancelled on the channel but is invoiced: the channel's refund will credit it; "
                    "cancel the order once refunded.",
                    order.name,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        sale.with_context(disable_cancel_warning=True)._action_cancel()
        sale.message_post(
            body=self.env._("Cancelled on the channel (%s).", order.cancel_reason or self.env._("no reason given"))
        )

    # ----------------------------------------------------------------- refunds

    @api.model
    def _omni_import_refund(self, backend, refund, event=None):
        """Credit note for the refunded lines, shipping and adjustments; return for restocked
        quantities; refund payment in the clearing journal. Idempotent by refund id."""
        Binding = self.env["omni.binding"]
        refund_key = refund.external_id or record_digest(refund)
        existing = Binding._omni_lookup(backend, REFUND_MODEL, [refund_key]).get(refund_key)
        if existing:
            return existing
        sale = Binding._omni_lookup(backend, ORDER_MODEL, [refund.order_external_id]).get(refund.order_external_id)
        if not sale:
            raise TransientError(
                self.env._("Order %s of this refund is not imported yet.", refund.order_external_id), retry_after=60
            )
        line_ids = [f"{sale.omni_external_id}/{line.order_line_external_id}" for line in refund.lines]
        sale_lines = Binding._omni_lookup(backend, LINE_MODEL, line_ids)
        invoice_lines = []
        restock = []
        for refund_line, key in zip(refund.lines, line_ids, strict=True):
            sale_line = sale_lines.get(key)
            if not sale_line:
                raise BusinessError(
                    self.env._(
                        "Refund %(refund)s names an order line %(line)s that Odoo does not know.",
                        refund=refund.external_id,
                        line=refund_line.order_line_external_id,
                    ),
                    category="validation",
                    record=(sale._name, sale.id),
                )
            if refund_line.quantity:
                invoice_lines.append((sale_line, refund_line.quantity, refund_line.amount))
            elif refund_line.amount:
                invoice_lines.append((sale_line, None, refund_line.amount))
            if refund_line.restock and refund_line.quantity:
                restock.append((sale_line, refund_line.quantity))
        credit_note = self._omni_create_credit_note(backend, sale, refund, invoice_lines)
        Binding._omni_bind(backend, credit_note, refund_key)
        if restock:
            self._omni_return_goods(sale, restock)
        self._omni_register_refund_payments(backend, sale, refund, credit_note)
        sale.message_post(
            body=self.env._(
                "Refund %(refund)s of %(amount)s %(currency)s imported from the channel.",
                refund=refund.external_id,
                amount=refund.amount,
                currency=refund.currency,
            )
        )
        return credit_note

    def _omni_create_credit_note(self, backend, sale, refund, invoice_lines):
        """Lines priced so the credit note equals what the channel refunded, taxes included."""
        move_lines = []
        for sale_line, quantity, amount in invoice_lines:
            qty = float(quantity) if quantity else 1.0
            price_unit = float(Decimal(amount) / Decimal(str(qty)))
            move_lines.append(
                Command.create(
                    {
                        "product_id": sale_line.product_id.id,
                        "name": sale_line.name,
                        "quantity": qty,
                        "price_unit": price_unit,
                        "tax_ids": [Command.set(sale_line.tax_ids.ids)],
                        "sale_line_ids": [Command.link(sale_line.id)],
                    }
                )
            )
        if refund.shipping_amount:
            shipping_line = sale.order_line.filtered(
                lambda line: (
                    line.product_id == backend._omni_shipping_product(None)
                    or line.product_id in backend.shipping_map_ids.product_id
                )
            )[:1]
            move_lines.append(
                Command.create(
                    {
                        "product_id": (shipping_line.product_id or backend._omni_shipping_product(None)).id,
                        "name": self.env._("Shipping refund"),
                        "quantity": 1,
                        "price_unit": float(refund.shipping_amount),
                        "tax_ids": [Command.set(shipping_line.tax_ids.ids)],
                    }
                )
            )
        if refund.adjustment_amount:
            move_lines.append(
                Command.create(
                    {
                        "product_id": backend._omni_service_product("rounding").id,
                        "name": self.env._("Refund adjustment"),
                        "quantity": 1,
                        "price_unit": float(refund.adjustment_amount),
                        "tax_ids": [Command.clear()],
                    }
                )
            )
        credit_note = (
            self.env["account.move"]
            .with_company(backend.company_id)
            .create(
                {
                    "move_type": "out_refund",
                    "partner_id": sale.partner_invoice_id.id,
                    "currency_id": sale.currency_id.id,
                    "invoice_origin": sale.name,
                    "ref": self.env._("Refund %s", refund.external_id or ""),
                    "invoice_date": _naive(refund.created_at).date(),
                    "omni_backend_id": backend.id,
                    "omni_external_id": refund.external_id or False,
                    "invoice_line_ids": move_lines,
                }
            )
        )
        difference = refund.amount - _decimal(credit_note.amount_total)
        tolerance = _decimal(backend.total_tolerance)
        if abs(difference) > tolerance:
            raise BusinessError(
                self.env._(
                    "Credit note for refund %(refund)s comes to %(odoo)s but the channel refunded %(channel)s %(cur)s.",
                    refund=refund.external_id,
                    odoo=credit_note.amount_total,
                    channel=refund.amount,
                    cur=refund.currency,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        if difference:
            credit_note.write(
                {
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": backend._omni_service_product("rounding").id,
                                "name": self.env._("Channel rounding"),
                                "quantity": 1,
                                "price_unit": float(difference),
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ]
                }
            )
        credit_note.action_post()
        return credit_note

    def _omni_return_goods(self, sale, restock):
        """Return picking for restocked quantities of delivered goods (validated: the channel
        says they are back on the shelf). Undelivered quantities just lower the delivery."""
        done_pickings = sale.picking_ids.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing")
        to_return = {}
        for sale_line, quantity in restock:
            delivered = _decimal(sale_line.qty_delivered)
            returned = min(delivered, quantity)
            if returned:
                to_return[sale_line.product_id] = to_return.get(sale_line.product_id, Decimal(0)) + returned
        if not to_return or not done_pickings:
            return self.env["stock.picking"]
        picking = done_pickings.sorted("id")[-1]
        wizard = (
            self.env["stock.return.picking"]
            .with_context(active_id=picking.id, active_model="stock.picking")
            .create({"picking_id": picking.id})
        )
        for return_line in wizard.product_return_moves:
            return_line.quantity = float(to_return.get(return_line.product_id, 0))
        returned = wizard._create_return()
        for move in returned.move_ids:
            move.quantity = move.product_uom_qty
        returned.button_validate()
        return returned

    def _omni_register_refund_payments(self, backend, sale, refund, credit_note):
        Binding = self.env["omni.binding"]
        rule = backend._omni_payment_rule(self._omni_refund_gateway(refund), "refunded")
        payments = self.env["account.payment"]
        for transaction in refund.transactions:
            if transaction.status != "success" or transaction.kind != "refund":
                continue
            reference = transaction.transaction_id or f"{refund.external_id}:{transaction.gateway}"
            if Binding._omni_lookup(backend, "account.payment", [reference]):
                continue
            journal = (rule.journal_id if rule else None) or backend._omni_clearing_journal(transaction.gateway)
            payments |= self._omni_channel_payment(
                backend, sale, transaction, reference, journal, "outbound", refund.created_at
            )
        if payments:
            self._omni_reconcile_payments(payments, credit_note)
        return payments

    def _omni_channel_payment(self, backend, sale, transaction, reference, journal, payment_type, fallback_time):
        """Post the payment (``inbound``) or refund (``outbound``) of one channel transaction into
        ``journal`` and bind it to ``reference``, which is also its memo: the payout matching of
        the reconciliation finds order-time payments by it."""
        payment = (
            self.env["account.payment"]
            .with_company(backend.company_id)
            .create(
                {
                    "payment_type": payment_type,
                    "partner_type": "customer",
                    "partner_id": sale.partner_invoice_id.commercial_partner_id.id,
                    "amount": float(transaction.amount),
                    "currency_id": sale.currency_id.id,
                    "journal_id": journal.id,
                    "date": _naive(transaction.processed_at or fallback_time).date(),
                    "memo": reference,
                    "payment_reference": reference,
                    "omni_backend_id": backend.id,
                    "omni_gateway": transaction.gateway,
                    "omni_transaction_id": transaction.transaction_id or False,
                }
            )
        )
        payment.action_post()
        self.env["omni.binding"]._omni_bind(backend, payment, reference)
        return payment

    @staticmethod
    def _omni_reconcile_payments(payments, move):
        """Reconcile payments with the open receivable (payment term) lines of an invoice or credit note."""
        account = move.line_ids.filtered(lambda line: line.display_type == "payment_term").account_id[:1]
        (payments.move_id.line_ids | move.line_ids).filtered(
            lambda line: line.account_id == account and not line.reconciled
        ).reconcile()

    @staticmethod
    def _omni_refund_gateway(refund):
        return refund.transactions[0].gateway if refund.transactions else ""

    # ------------------------------------------------------ event entry points

    @api.model
    def _omni_handle_canonical_event(self, backend, event):
        """Topics of the canonical JSON format (custom channel API and webhooks)."""
        payload = event._omni_payload_json()
        try:
            if event.topic in ("orders/upsert", "orders/create", "orders/updated", "orders/cancelled"):
                return self._omni_import_order(backend, order_from_dict(payload), event)
            if event.topic in ("refunds/create",):
                return self._omni_import_refund(backend, refund_from_dict(payload), event)
        except ValidationError as error:
            raise BusinessError(
                self.env._("The payload is not a valid canonical record: %s", error), category="validation"
            ) from error
        raise BusinessError(self.env._("Unknown topic %s for a custom channel.", event.topic), category="validation")


def _naive(value):
    """Aware datetime -> naive UTC (Odoo's storage form)."""
    if value is None:
        return fields.Datetime.now()
    if value.tzinfo is not None:
        from datetime import timezone  # noqa: PLC0415

        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value
