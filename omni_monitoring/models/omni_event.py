from odoo import models
from odoo.tools import SQL

DUE_STATISTICS = "omni_event_due_stats"
# An incoming event that came as a delivery (a webhook, an API call), not from a poll: the predicate of
# the index below, which every "last webhook" query repeats so that the planner uses it.
WEBHOOK_DELIVERY = "direction = 'in' AND headers IS NOT NULL AND strpos(headers, '\"X-Omni-Source\"') = 0"


class OmniEvent(models.Model):
    _inherit = "omni.event"

    # "Last webhook received" per backend: one probe of this index, however many events are kept.
    # Webhooks are the incoming events stored with their delivery's headers; what a poll stores carries
    # only the connector's own marker header (X-Omni-Source) and is no sign that webhooks still arrive.
    _omni_last_delivery_index = models.Index(f"(backend_id, received_at) WHERE {WEBHOOK_DELIVERY}")
    # Dead events per backend (omni_dead_events, alert rules, the Overview): an index of their own.
    # Pending, retrying and blocked events are counted through base's resource index. An index
    # whose predicate covered the queue's states too was picked by the planner, under stale
    # statistics, for the processor's claim and ordering probes (a scan of the whole backlog per
    # claim; base's TestClaimUnderStaleStatistics), so none is defined here.
    _omni_dead_index = models.Index("(backend_id, direction) WHERE state = 'dead'")

    def init(self):
        result = super().init()
        # Statistics on the due moment (the claim index's expression): without them the planner guesses a
        # third of the queue for "due after now" and reads the whole backlog through the state index for
        # /omni/metrics' ready queue; with them it reads the claim index's range past now (the retries
        # backing off), a few rows. Refreshed by ANALYZE with the table's own statistics.
        self.env.cr.execute(SQL("CREATE STATISTICS IF NOT EXISTS %s ON (COALESCE(next_attempt_at, received_at)) "
                                "FROM omni_event", SQL.identifier(DUE_STATISTICS)))
        return result
