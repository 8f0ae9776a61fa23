from odoo import models


class OmniEvent(models.Model):
    _inherit = "omni.event"

    # "Last webhook received" per backend: one probe of this index, however many events are kept.
    # Webhooks are the incoming events stored with their channel headers (polled ones have none).
    _omni_last_webhook_index = models.Index("(backend_id, received_at) WHERE direction = 'in' AND headers IS NOT NULL")
    # The live-state counts of /omni/metrics (omni_events, omni_dead_events): an index-only scan of the
    # live part of the queue, however many finished events the table keeps.
    _omni_live_state_index = models.Index(
        "(backend_id, direction, state) WHERE state IN ('pending', 'retry', 'blocked', 'dead')")

