"""The shared order importer: canonical order -> sale order, the same for every channel.

Connectors translate payloads into canonical records and call ``_omni_import_order``,
``_omni_import_refund`` or let cancellations flow through the order itself. Every step is
idempotent: bindings name what was already created, so a replay or a duplicate delivery
changes nothing.

One model, ``omni.order.importer``, in files named by role: this one holds the entry points
and the assembly of a new order (its lines, their bindings, the totals check); the others
extend it with

* ``omni_importer_partners``: customer dedupe and address contacts;
* ``omni_importer_products``: product lookup and the pricelist of the order's currency;
* ``omni_importer_taxes``: channel tax rates -> Odoo taxes;
* ``omni_importer_workflow``: confirm, invoice and the channel's payments;
* ``omni_importer_edits``: channel edits and cancellations;
* ``omni_importer_refunds``: credit notes, returns and refund payments.
"""

from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.tools import float_is_zero

from ..canonical import ValidationError, order_from_dict, order_lines_digest, record_digest, refund_from_dict
from ..canonical.totals import Totals, channel_totals, compare_totals
from ..importer.plan import plan_order_lines, rounding_line_price
from ..pipeline.errors import BusinessError, StaleEvent

ORDER_MODEL = "sale.order"
LINE_MODEL = "sale.order.line"
REFUND_MODEL = "account.move"


def as_decimal(value):
    """Odoo's float money -> Decimal through its shortest repr (no binary noise)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value or 0)


class OmniOrderImporter(models.AbstractModel):
    _name = "omni.order.importer"
    _description = "Omnichannel Order Importer"

    # ------------------------------------------------------------------ orders

    @api.model
    def _omni_import_order(self, backend, order, event=None):
        """Create or update the sale order of a canonical order; return it.

        ``event`` (the inbox event, if any) is unused: connectors pass it positionally.

        :raises BusinessError: unknown product, missing tax, totals beyond tolerance...
        :raises StaleEvent: test orders when the backend skips them
        """
        if order.is_test and not backend.import_test_orders:
            raise StaleEvent(self.env._("Test order %s skipped (the backend does not import test orders).", order.name))
        digest = record_digest(order)
        binding = self._omni_order_binding(backend, order)
        sale = binding._omni_record() if binding else None
        if sale:
            if binding.payload_digest == digest:
                return sale  # the same version again: nothing to do
            if order.cancelled:
                self._omni_cancel_order(sale, order)
            else:
                self._omni_update_order(backend, sale, order)
            self.env["omni.binding"]._omni_bind(
                backend, sale, order.external_id, external_updated_at=naive_utc(order.updated_at), digest=digest
            )
            return sale
        sale = self._omni_create_order(backend, order, digest)
        if order.cancelled:
            self._omni_cancel_order(sale, order)
        else:
            self._omni_apply_workflow(backend, sale, order)
        return sale

    def _omni_order_binding(self, backend, order):
        """The binding of the channel order, or None. The processor's staleness check has just read
        it for the event being applied (context ``omni_known_binding``: backend, model, external id,
        binding id or 0, read in this transaction before the handler ran); else one read."""
        known = self.env.context.get("omni_known_binding")
        if known and tuple(known[:3]) == (backend.id, ORDER_MODEL, str(order.external_id)):
            return self.env["omni.binding"].sudo().browse(known[3]) if known[3] else None
        return self.env["omni.binding"]._omni_bindings(backend, ORDER_MODEL, [order.external_id]).get(order.external_id)

    def _omni_create_order(self, backend, order, digest=None):
        """Create the sale order and bind it and its lines (one statement for all the bindings)."""
        company = backend.company_id
        pending_bindings = []  # the customer's, written with the order's and its lines' (one statement)
        customer, invoice_address, shipping_address = self._omni_resolve_partners(
            backend, order, pending_bindings=pending_bindings)
        pricelist = self._omni_pricelist(backend, order.currency)
        planned = plan_order_lines(order, backend.discount_mode, self._omni_discount_digits())
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
                    "date_order": naive_utc(order.created_at),
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
        order_binding = (sale, order.external_id, naive_utc(order.updated_at), digest)
        self._omni_bind_lines(backend, sale, [planned_line for planned_line, _v in line_values],
                              also=[*pending_bindings, order_binding])
        self._omni_check_totals(backend, sale, order)
        return sale

    def _omni_discount_digits(self):
        """Decimals Odoo keeps of a line's discount: the plan puts a discount % on a line only
        when that many decimals reproduce the channel's line total (else a discount line)."""
        return self.env["decimal.precision"].precision_get("Discount")

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

    def _omni_check_totals(self, backend, sale, order):
        """Odoo's totals must equal the channel's within the backend's tolerance (minor units of
        the order's currency: one cent, one yen, one fils by default).

        Within tolerance, the difference goes on a rounding line so the invoice equals what the
        customer paid, taxed like the order's lines (see ``_omni_rounding_line``); an existing
        rounding line (an edited order's) is reused, as a confirmed order's line cannot be
        deleted. Beyond it the order is blocked with both totals shown.
        """
        odoo = Totals(
            untaxed=as_decimal(sale.amount_untaxed),
            tax=as_decimal(sale.amount_tax),
            total=as_decimal(sale.amount_total),
        )
        tolerance = backend._omni_total_tolerance(sale.currency_id)
        check = compare_totals(odoo, channel_totals(order), tolerance)
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
        rounding = backend._omni_service_product("rounding")
        line = sale.order_line.filtered(lambda sale_line: sale_line.product_id == rounding)[:1]
        if float_is_zero(float(difference), precision_rounding=sale.currency_id.rounding):
            return
        values, taxed = self._omni_rounding_line(
            sale.order_line, rounding, difference, sale.currency_id, "product_uom_qty"
        )
        command = Command.update(line.id, values) if line else Command.create(values)
        sale.write({"order_line": [command]})
        if taxed and as_decimal(sale.amount_total) != check.declared.total:
            # Odoo taxed it otherwise than planned (a tax with its own rounding): untaxed then.
            line = sale.order_line.filtered(lambda sale_line: sale_line.product_id == rounding)[:1]
            line.write({"price_unit": float(difference), "tax_ids": [Command.clear()]})

    def _omni_rounding_line(self, lines, rounding, difference, currency, quantity_field):
        """Values of the rounding line (``rounding`` product, one unit in ``quantity_field``)
        that adds ``difference`` to a sale order or credit note of ``lines`` (sale or invoice
        lines), and whether it is taxed.

        Taxed like the document's lines: the taxes of the lines carrying the largest amount (the
        channel's rate; as Odoo's cash rounding puts a difference on the biggest tax). The
        customer paid (or got back) the difference like the rest, so it is taxed like it and
        Odoo's untaxed/tax split keeps the channel's rate. Untaxed when those lines are, or
        when no taxed price adds exactly ``difference`` (see ``rounding_line_price``).
        """
        amounts = {}
        for line in lines:
            if line.display_type in ("line_section", "line_subsection", "line_note") or line.product_id == rounding:
                continue
            amounts[line.tax_ids] = amounts.get(line.tax_ids, 0) + abs(as_decimal(line.price_total))
        taxes = max(amounts, key=amounts.get) if amounts else self.env["account.tax"]
        price = None
        if all(tax.amount_type == "percent" for tax in taxes):
            rates = [as_decimal(tax.amount) / 100 for tax in taxes]
            price = rounding_line_price(difference, rates, all(tax.price_include for tax in taxes), currency.name)
        if price is None:
            taxes, price = self.env["account.tax"], difference
        values = {
            "product_id": rounding.id,
            "name": self.env._("Channel rounding"),
            quantity_field: 1,
            "price_unit": float(price),
            "tax_ids": [Command.set(taxes.ids)],
        }
        return values, bool(taxes)

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


def naive_utc(value):
    """Aware datetime -> naive UTC (Odoo's storage form)."""
    if value is None:
        return fields.Datetime.now()
    if value.tzinfo is not None:
        from datetime import timezone  # noqa: PLC0415

        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value
