"""The Amazon buyer data purge (Amazon's Data Protection Policy).

Amazon allows keeping buyer personal data only as long as needed to fulfil the order and meet
legal obligations (by default here: 30 days after delivery, ``amazon_pii_days``). Daily, for each
Amazon order delivered (or cancelled) that long ago, the buyer's contact data that no invoice needs
is anonymised:

* delivery contacts: name replaced by "Amazon buyer <order>", street, phone and e-mail cleared;
* the customer: e-mail, phone and street cleared; the name stays when an invoice names it, else
  it is replaced too; city, ZIP, state and country stay (they decided the taxes of the invoice);
* the stored order payloads (inbox events) lose their ``buyer`` and ``recipient`` data, and the
  partner bindings keyed by the buyer's (relay) e-mail are removed.

A customer is purged only once every Amazon order of theirs is due. Each run records what it did
in ``omni.amazon.pii.log`` (counts and order numbers, no personal data) and reports its progress.
"""

import json
import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)
BATCH = 200
CLEARED_FIELDS = ("street", "street2", "phone", "email")


class OmniAmazonPiiLog(models.Model):
    _name = "omni.amazon.pii.log"
    _description = "Amazon Buyer Data Purge Log"
    _order = "id desc"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    run_at = fields.Datetime(default=fields.Datetime.now, readonly=True)
    cutoff = fields.Datetime(readonly=True, help="Orders delivered before this moment were purged.")
    order_count = fields.Integer(readonly=True)
    partner_count = fields.Integer(readonly=True)
    event_count = fields.Integer(readonly=True)
    order_refs = fields.Text(string="Orders", readonly=True, help="Amazon order numbers purged in this run.")


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    @api.private
    def _amazon_pii_due_orders(self, cutoff):
        """Amazon sale orders of this account whose buyer data is due for the purge."""
        self.ensure_one()
        candidates = self.env["sale.order"].sudo().search([
            ("omni_backend_id", "=", self.id), ("amazon_pii_purged_at", "=", False),
            "|", ("state", "=", "cancel"), ("picking_ids.date_done", "<=", cutoff)])
        due = self.env["sale.order"]
        for sale in candidates:
            if sale.state == "cancel":
                if sale.write_date <= cutoff:
                    due |= sale
                continue
            deliveries = sale.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing" and p.state != "cancel")
            if deliveries and all(p.state == "done" and p.date_done <= cutoff for p in deliveries):
                due |= sale
        return due

    @api.private
    def _amazon_purge_pii(self, now=None):
        """Anonymise the buyer data of the due orders; returns the log record (or None)."""
        self.ensure_one()
        if not self.amazon_pii_days:
            return None
        cutoff = (now or fields.Datetime.now()) - timedelta(days=self.amazon_pii_days)
        due = self._amazon_pii_due_orders(cutoff)
        if not due:
            return None
        Event = self.env["omni.event"]
        customers = due.partner_id.commercial_partner_id
        # A customer with another Amazon order not due yet keeps their data until that one is due.
        pending = self.env["sale.order"].sudo().search([
            ("omni_backend_id", "=", self.id), ("amazon_pii_purged_at", "=", False),
            ("partner_id.commercial_partner_id", "in", customers.ids), ("id", "not in", due.ids)])
        keep = pending.partner_id.commercial_partner_id
        purged_partners = self.env["res.partner"]
        events = 0
        done = self.env["sale.order"]
        for index in range(0, len(due), BATCH):
            batch = due[index:index + BATCH]
            for sale in batch:
                customer = sale.partner_id.commercial_partner_id
                if customer in keep:
                    continue
                invoiced = bool(sale.invoice_ids.filtered(lambda m: m.state == "posted"))
                contacts = (sale.partner_shipping_id | sale.partner_invoice_id | customer) - purged_partners
                for partner in contacts:
                    values = dict.fromkeys(CLEARED_FIELDS, False)
                    if partner != customer or not invoiced:
                        values["name"] = self.env._("Amazon buyer %s", sale.omni_external_id)
                    partner.sudo().write(values)
                purged_partners |= contacts
                events += self._amazon_scrub_events(sale.omni_external_id)
                sale.amazon_pii_purged_at = fields.Datetime.now()
                sale.message_post(body=self.env._(
                    "Amazon buyer personal data anonymised (Data Protection Policy: %s days after delivery).",
                    self.amazon_pii_days))
                done |= sale
            Event._omni_commit_progress(len(batch), remaining=max(len(due) - index - BATCH, 0))
        if purged_partners:
            self.env["omni.binding"].sudo().search([
                ("backend_id", "=", self.id), ("res_model", "=", "res.partner"),
                ("res_id", "in", purged_partners.ids)]).unlink()
        log = self.env["omni.amazon.pii.log"].sudo().create({
            "backend_id": self.id, "cutoff": cutoff, "order_count": len(done),
            "partner_count": len(purged_partners), "event_count": events,
            "order_refs": ", ".join(done.mapped("omni_external_id"))})
        _logger.info("Amazon backend %s: buyer data of %s orders anonymised", self.id, len(done))
        return log

    @api.private
    def _amazon_scrub_events(self, order_id):
        """Remove buyer and recipient data from the stored payloads of an order's inbox events."""
        Event = self.env["omni.event"].sudo()
        events = Event.search([("backend_id", "=", self.id), ("direction", "=", "in"),
                               ("resource_key", "=", order_id)])
        count = 0
        for event in events:
            try:
                payload = json.loads(event.payload or "null")
            except ValueError:
                continue
            if not isinstance(payload, dict):
                continue
            payload.pop("buyer", None)
            recipient = (payload.get("recipient") or {}).get("deliveryAddress") or {}
            payload["recipient"] = {"deliveryAddress": {k: recipient[k] for k in
                                                        ("city", "stateOrRegion", "postalCode", "countryCode")
                                                        if k in recipient}}
            event.payload = json.dumps(payload, sort_keys=True)
            count += 1
        return count

    @api.model
    def _cron_amazon_purge_pii(self):
        backends = self.sudo().search([("channel", "=", "amazon"), ("amazon_pii_days", ">", 0)])
        Event = self.env["omni.event"]
        Event._omni_commit_progress(remaining=len(backends))
        for backend in backends:
            backend._amazon_purge_pii()
            Event._omni_commit_progress(1)
        return True

    def action_amazon_view_pii_logs(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "omni.amazon.pii.log", "name": self.env._("Purge Log"),
                "view_mode": "list,form", "domain": [("backend_id", "=", self.id)]}
