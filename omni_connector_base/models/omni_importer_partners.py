"""The order importer's customers: dedupe (binding, normalized email, guest address) and
address contacts, through dedupe keys of a table of our own (``omni.partner.key``)."""

from odoo import models
from odoo.tools import SQL

from ..canonical.normalize import address_key, normalize_email
from ..pipeline.errors import TransientError


class OmniOrderImporterPartners(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    def _omni_resolve_partners(self, backend, order, pending_bindings=None):
        """Customer, invoice address and delivery address contacts.

        ``pending_bindings`` (a list): the customer's binding is appended to it instead of being
        written at once, for the caller to write with its own bindings in one statement.
        """
        company = backend.company_id
        # What this order's resolution already read or wrote (dedupe keys, countries), so the
        # second address (usually the same as the first) reads nothing twice. Per call only:
        # nothing is kept across orders or transactions.
        memo = {}
        customer = self._omni_find_or_create_customer(backend, order, memo=memo, pending_bindings=pending_bindings)
        invoice = self._omni_address_contact(company, customer, order.billing_address, "invoice", memo=memo)
        delivery = self._omni_address_contact(company, customer, order.shipping_address, "delivery", memo=memo)
        return customer, invoice, delivery

    def _omni_find_or_create_customer(self, backend, order, memo=None, pending_bindings=None):
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
            partner = self._omni_partner_by_key(company, key, memo)
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
                    partner = Partner.create(self._omni_customer_values(company, order, memo))
                    self._omni_new_partner(company, partner, memo)
                self._omni_register_partner_key(company, key, partner, memo=memo)
        else:
            # Guest without email: the billing (or shipping) address with its recipient identifies them.
            address = order.billing_address or order.shipping_address
            key = f"guest:{address_key(address)}" if address else None
            partner = self._omni_partner_by_key(company, key, memo) if key else None
            if not partner:
                partner = Partner.create(self._omni_customer_values(company, order, memo))
                self._omni_new_partner(company, partner, memo)
                if key:
                    self._omni_register_partner_key(company, key, partner, memo=memo)
        if source and source.external_id:
            if pending_bindings is None:
                Binding._omni_bind(backend, partner, source.external_id)
            else:
                pending_bindings.append((partner, source.external_id))
        return partner

    @staticmethod
    def _omni_new_partner(company, partner, memo):
        """A contact created in this transaction has no dedupe key of its own yet: no one else
        can have registered one for an id that is not committed (the read would find nothing)."""
        if memo is not None:
            memo[("key", company.id, f"own:{partner.id}")] = (None, None)

    def _omni_customer_values(self, company, order, memo=None):
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
            values.update(self._omni_address_values(address, memo))
            if address.company and not (source and source.company):
                values["company_name"] = address.company
        return values

    def _omni_address_values(self, address, memo=None):
        memo = {} if memo is None else memo
        code = (address.country_code or "").upper()
        if ("country", code) not in memo:
            memo[("country", code)] = (
                self.env["res.country"].search([("code", "=", code)], limit=1) if code else self.env["res.country"]
            )
        country = memo[("country", code)]
        state = self.env["res.country.state"]
        if country and address.state_code:
            state_key = ("state", country.id, address.state_code.upper())
            if state_key not in memo:
                memo[state_key] = state.search([("country_id", "=", country.id), ("code", "=", state_key[2])], limit=1)
            state = memo[state_key]
        return {
            "street": address.street or False,
            "street2": address.street2 or False,
            "city": address.city or False,
            "zip": address.zip or False,
            "country_id": country.id or False,
            "state_id": state.id or False,
        }

    def _omni_address_contact(self, company, customer, address, kind, memo=None):
        """The customer itself when the address is its own, else a deduplicated child contact."""
        if not address:
            return customer
        key_text = address_key(address)
        own, own_address = self._omni_partner_key_row(company, f"own:{customer.id}", memo)
        if own is None:
            # First order of this customer: its own address is the one it was created with.
            self._omni_register_partner_key(company, f"own:{customer.id}", customer, extra=key_text, memo=memo)
            if self._omni_same_as_partner(customer, address, memo):
                return customer
        elif own_address == key_text:
            return customer
        key = f"addr:{customer.id}:{key_text}"
        contact = self._omni_partner_by_key(company, key, memo)
        if contact:
            return contact
        values = self._omni_address_values(address, memo)
        values.update(
            parent_id=customer.id,
            type=kind,
            name=address.name or customer.name,
            phone=address.phone or False,
            email=address.email or False,
            company_id=company.id,
        )
        contact = self.env["res.partner"].create(values)
        self._omni_new_partner(company, contact, memo)
        self._omni_register_partner_key(company, key, contact, memo=memo)
        return contact

    def _omni_same_as_partner(self, partner, address, memo=None):
        values = self._omni_address_values(address, memo)
        return all(
            (partner[field].id if hasattr(partner[field], "id") else partner[field] or False) == value
            for field, value in values.items()
        ) and (not address.name or address.name == partner.name)

    def _omni_partner_by_key(self, company, key, memo=None):
        return self._omni_partner_key_row(company, key, memo)[0] if key else None

    def _omni_partner_key_row(self, company, key, memo=None):
        """``(partner, extra)`` registered under a dedupe key, or ``(None, None)``: one indexed read
        of a table of our own (no access rules apply to it); ``memo`` (one order's resolution)
        answers a key this order already read or registered."""
        memo_key = ("key", company.id, key)
        if memo is not None and memo_key in memo:
            return memo[memo_key]
        self.env.cr.execute(
            SQL("SELECT partner_id, extra FROM omni_partner_key WHERE company_id = %s AND key = %s", company.id, key)
        )
        row = self.env.cr.fetchone()
        result = (self.env["res.partner"].browse(row[0]), row[1]) if row else (None, None)
        if memo is not None:
            memo[memo_key] = result
        return result

    def _omni_register_partner_key(self, company, key, partner, extra=None, memo=None):
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
        if memo is not None:
            memo[("key", company.id, key)] = (partner, extra)
