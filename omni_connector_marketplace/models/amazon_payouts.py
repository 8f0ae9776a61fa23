"""Amazon settlements for reconciliation: ``_omni_fetch_settlements`` over the settlement reports.

Amazon publishes a ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`` report when a settlement closes
(about every 14 days per marketplace); it cannot be requested and is kept 90 days. Reports are
listed with ``getReports`` and downloaded with ``getReportDocument`` (its URL expires after 5
minutes: downloaded at once; the document may be gzip). Each becomes a canonical payout through
omni_reconciliation's Amazon V2 parser (``lib/amazon_settlement.parse_settlement_v2``), with the
marketplace's number format (``95,00`` on the continental EU marketplaces) and, for marketplaces
that exclude collected tax from their orders, the facilitator tax netted out of the sale lines.
Each report is imported once: a report already imported (``omni.amazon.report``) costs no further
request. The reconciliation addon's daily payout cron asks for them.

The report's Refund transactions are what Amazon refunded to buyers: each refund (``adjustment-id``)
is stored in the inbox as a ``refunds/settlement`` event (key ``refund:<adjustment-id>``, in the
import's transaction) and becomes a credit note against its order (``amazon_inbound.py``).
"""

import json
from datetime import timedelta

from odoo import api, fields, models

from odoo.addons.omni_reconciliation.lib.amazon_settlement import parse_settlement_v2

from ..lib.amazon_mapper import settlement_refunds
from ..lib.collected_tax import TREATMENT_EXCLUDE
from .amazon_backend import IN_REFUND

REPORT_RETENTION_DAYS = 90
# A settlement report is published after its period closes: look this far before ``since``.
LOOK_BACK_DAYS = 20


class OmniAmazonReport(models.Model):
    _name = "omni.amazon.report"
    _description = "Amazon Settlement Report Imported"
    _order = "id desc"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    report_ref = fields.Char(string="Report ID", required=True, readonly=True)
    settlement_ref = fields.Char(string="Settlement ID", readonly=True)
    created_at = fields.Datetime(string="Published", readonly=True)
    row_count = fields.Integer(readonly=True)

    _uniq_report = models.Constraint("UNIQUE(backend_id, report_ref)", "A report is imported once.")


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _omni_can_fetch_settlements(self):
        if self.channel != "amazon":
            return super()._omni_can_fetch_settlements()
        return bool(self.has_amazon_credentials)

    def _omni_fetch_settlements(self, since=None):
        """Settlement reports published since ``since`` minus :data:`LOOK_BACK_DAYS` (at most the 90 days
        Amazon keeps them) and not imported yet, oldest first, as ``[(report id, loader)]``."""
        if self.channel != "amazon":
            return super()._omni_fetch_settlements(since)
        self.ensure_one()
        now = fields.Datetime.now()
        oldest = now - timedelta(days=REPORT_RETENTION_DAYS - 1)
        start = max(since - timedelta(days=LOOK_BACK_DAYS), oldest) if since else oldest
        client = self._amazon_client()
        reports = client.list_settlement_reports(start.replace(microsecond=0).isoformat() + "Z")
        known = set(self.env["omni.amazon.report"].sudo().search(
            [("backend_id", "=", self.id), ("report_ref", "in", [r.get("reportId") for r in reports])]
        ).mapped("report_ref"))
        return [(report["reportId"], (lambda report=report: self._amazon_load_settlement(report)))
                for report in reports if report.get("reportId") not in known and report.get("reportDocumentId")]

    @api.private
    def _amazon_load_settlement(self, report):
        """Download and parse one settlement report; records it as imported (in the caller's savepoint)."""
        self.ensure_one()
        text = self._amazon_client().get_report_document(report["reportDocumentId"])
        head = parse_settlement_v2(text)
        marketplace = self._amazon_report_marketplace(head.account_ref, head.currency)
        data = head
        if marketplace and marketplace.collected_tax_treatment == TREATMENT_EXCLUDE:
            data = parse_settlement_v2(text, net_facilitator_tax=True)
        self._amazon_queue_refunds(settlement_refunds(head.lines), report)
        created = report.get("createdTime")
        self.env["omni.amazon.report"].sudo().create({
            "backend_id": self.id, "report_ref": report["reportId"], "settlement_ref": data.external_id,
            "created_at": fields.Datetime.to_datetime(created.replace("T", " ").rstrip("Z")[:19]) if created else False,
            "row_count": (data.raw or {}).get("row_count", 0)})
        return data

    @api.private
    def _amazon_queue_refunds(self, refunds, report):
        """Store each refund of a report in the inbox (once per adjustment); returns how many were new."""
        Event = self.env["omni.event"].sudo()
        headers = json.dumps({"X-Omni-Source": "amazon-settlement", "X-Omni-Report": report.get("reportId") or ""})
        stored = 0
        for refund in refunds:
            posted = refund.get("postedAt")
            posted = fields.Datetime.to_datetime(posted.replace("T", " ").rstrip("Z")[:19]) if posted else False
            body = json.dumps(refund, sort_keys=True).encode()
            _id, is_new = Event._omni_store_incoming(self, body, {
                "idempotency_key": f"refund:{refund['adjustmentId']}", "topic": IN_REFUND,
                "resource_model": "account.move", "resource_key": refund["orderId"],
                "source_ts": posted,
            }, headers_json=headers)
            stored += int(is_new)
        return stored

    @api.private
    def _amazon_report_marketplace(self, marketplace_name, currency):
        self.ensure_one()
        name = (marketplace_name or "").strip().casefold()
        return (self.marketplace_ids.filtered(lambda m: (m.name or "").strip().casefold() == name)[:1]
                or self.marketplace_ids.filtered(lambda m: m.currency_id.name == currency)[:1])
