from odoo import models


class OmniSettlementAccount(models.Model):
    _inherit = "omni.settlement.account"

    def _omni_import_settlement(self, data):
        """Import one payout, and count the source's API calls made so far (Stripe's listing and this
        payout's balance transactions) in the payout's own transaction."""
        settlement = super()._omni_import_settlement(data)
        self._omni_flush_call_metrics()
        return settlement

    def _omni_import_from_source(self):
        done = self.env["omni.settlement"]
        for account in self:
            done |= super(OmniSettlementAccount, account)._omni_import_from_source()
            account._omni_flush_call_metrics()  # listing calls of an account with no new payout
        return done

    def _omni_flush_call_metrics(self):
        self.ensure_one()
        Minute = self.env["omni.metric.minute"]
        if self.backend_id:
            Minute._omni_flush_calls(self.backend_id, channel=self.source)
        else:
            Minute._omni_flush_calls(channel=self.source, company=self.company_id, source=self.name)
