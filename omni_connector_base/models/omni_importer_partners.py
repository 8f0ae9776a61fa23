"""The order importer's customers: dedupe (binding, normalized email, guest address) and
address contacts, through dedupe keys of a table of our own (``omni.partner.key``)."""

from odoo import models
from odoo.tools import SQL

from ..canonical.normalize import address_key, normalize_email
from ..pipeline.errors import TransientError


class OmniOrderImporterPartners(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

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

        Past the ORM: the record rule on ``omni.partner.key`` (the processor runs as superuser
        anyway) and the ORM's create hooks (the model has no computed or tracked fields).
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
