from odoo import api, fields, models
from odoo.tools import SQL


class OmniBinding(models.Model):
    """Links an object of a channel (external id) to the Odoo record it became.

    One row per (backend, Odoo model, external id). Lookups go both ways and in batch:
    connectors resolve hundreds of SKUs or order ids in one query, never one per line.
    """

    _name = "omni.binding"
    _description = "Omnichannel Binding"
    _order = "id desc"
    _rec_name = "external_id"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    channel = fields.Selection(related="backend_id.channel")
    res_model = fields.Char(string="Odoo Model", required=True)
    res_id = fields.Many2oneReference(string="Odoo Record ID", model_field="res_model", required=True)
    external_id = fields.Char(string="External ID", required=True, help="The object's id on the channel.")
    external_updated_at = fields.Datetime(
        help="Channel-side modification time of the newest version applied. Older events for "
        "the same object are skipped as stale.",
    )
    payload_digest = fields.Char(help="Digest of the last applied payload; an identical one changes nothing.")
    record_name = fields.Char(compute="_compute_record_name", string="Odoo Record")

    _unique_external = models.Constraint(
        "UNIQUE(backend_id, res_model, external_id)",
        "This channel object is already bound to an Odoo record.",
    )
    _record_index = models.Index("(res_model, res_id, backend_id)")

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        for binding in self:
            record = binding._omni_record()
            binding.record_name = record.display_name if record else False

    def _omni_record(self):
        self.ensure_one()
        if not self.res_model or self.res_model not in self.env:
            return None
        return self.env[self.res_model].browse(self.res_id).exists()

    def action_open_record(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "target": "current",
        }

    # ------------------------------------------------------------------ API

    @api.model
    def _omni_bind(self, backend, record, external_id, external_updated_at=None, digest=None):
        """Create or refresh the binding of ``record`` to ``external_id``; return the binding.

        ``external_updated_at`` only moves forward, so replaying an old event never makes a
        newer state look stale.
        """
        record.ensure_one()
        return self._omni_bind_many(backend, [(record, external_id, external_updated_at, digest)])

    @api.model
    def _omni_bind_many(self, backend, entries):
        """Create or refresh many bindings of one backend in one statement; return them.

        ``entries``: ``(record, external id)`` or ``(record, external id, external_updated_at,
        digest)`` tuples. An ``INSERT ... ON CONFLICT`` rather than search-then-create: one round
        trip for all the lines of an order, and two workers binding the same new object both
        succeed (the later one wins) instead of one failing on the unique constraint.

        Past the ORM: no access rules (callers run as the processor's superuser), no
        ``mail.thread`` tracking (bindings have none), and the stored ``company_id`` is written
        from the backend here instead of by its related field; no other module computes
        anything from bindings.
        """
        rows = {}
        for entry in entries:
            record, external_id, updated_at, digest = (*entry, None, None)[:4]
            record.ensure_one()
            # A key twice in one statement is refused by PostgreSQL: the last entry wins.
            rows[(record._name, str(external_id))] = (record.id, updated_at or None, digest or None)
        if not rows:
            return self.browse()
        self.flush_model()
        values = [
            SQL(
                "(%s, %s, %s, %s, %s, %s::timestamp, %s, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')",
                backend.id, backend.company_id.id or None, res_model, res_id, external_id, updated_at, digest,
                self.env.uid, self.env.uid,
            )
            for (res_model, external_id), (res_id, updated_at, digest) in rows.items()
        ]
        self.env.cr.execute(SQL(
            """
            INSERT INTO omni_binding AS b (backend_id, company_id, res_model, res_id, external_id,
                                           external_updated_at, payload_digest, create_uid, write_uid,
                                           create_date, write_date)
            VALUES %s
            ON CONFLICT (backend_id, res_model, external_id) DO UPDATE SET
                res_id = EXCLUDED.res_id,
                external_updated_at = GREATEST(b.external_updated_at, EXCLUDED.external_updated_at),
                payload_digest = COALESCE(EXCLUDED.payload_digest, b.payload_digest),
                write_uid = EXCLUDED.write_uid,
                write_date = EXCLUDED.write_date
            RETURNING b.id
            """,
            SQL(", ").join(values),
        ))
        bindings = self.browse([row[0] for row in self.env.cr.fetchall()])
        bindings.invalidate_recordset()
        return bindings.sudo()

    @api.model
    def _omni_lookup(self, backend, res_model, external_ids):
        """Map external ids to their bound records in one query.

        :return: ``{external_id: record}`` for the ids that are bound (records still existing)
        """
        external_ids = [str(external_id) for external_id in external_ids if external_id]
        if not external_ids:
            return {}
        bindings = self.sudo().search_read(
            [("backend_id", "=", backend.id), ("res_model", "=", res_model), ("external_id", "in", external_ids)],
            ["external_id", "res_id"],
        )
        records = self.env[res_model].browse([row["res_id"] for row in bindings]).exists()
        alive = set(records.ids)
        Model = self.env[res_model]
        return {row["external_id"]: Model.browse(row["res_id"]) for row in bindings if row["res_id"] in alive}

    @api.model
    def _omni_bindings(self, backend, res_model, external_ids):
        """Binding rows (not the records) for external ids, keyed by external id."""
        external_ids = [str(external_id) for external_id in external_ids if external_id]
        if not external_ids:
            return {}
        bindings = self.sudo().search(
            [("backend_id", "=", backend.id), ("res_model", "=", res_model), ("external_id", "in", external_ids)]
        )
        return {binding.external_id: binding for binding in bindings}

    @api.model
    def _omni_external_ids(self, backend, records):
        """Reverse lookup: ``{record_id: external_id}`` for records of one model."""
        if not records:
            return {}
        rows = self.sudo().search_read(
            [("backend_id", "=", backend.id), ("res_model", "=", records._name), ("res_id", "in", records.ids)],
            ["res_id", "external_id"],
        )
        return {row["res_id"]: row["external_id"] for row in rows}

    @api.model
    def _omni_unbind(self, backend, res_model, external_ids):
        """Forget bindings (e.g. a product deleted on the channel); return how many were removed."""
        bindings = self.sudo().search(
            [
                ("backend_id", "=", backend.id),
                ("res_model", "=", res_model),
                ("external_id", "in", [str(external_id) for external_id in external_ids]),
            ]
        )
        count = len(bindings)
        bindings.unlink()
        return count
