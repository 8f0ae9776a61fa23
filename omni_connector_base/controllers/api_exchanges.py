"""The custom-channel API's exchanges: ``POST /omni/api/v1/<backend_id>/exchanges`` takes a
canonical exchange (``canonical/exchange.py``), stores it like an order or a refund (202, the
same key, size and validation rules) and the processor applies it (``exchanges/create``)."""

from odoo import http

from ..canonical.exchange import exchange_from_dict
from .api import API_PREFIX, OmniApiController, _id_errors, _Intake


def _exchange_keys(exchange):
    # Keyed on the order (applied after its order's events); resource model the credit note's,
    # as for refunds: a newer order version must not make the exchange look stale.
    return exchange.order_external_id, exchange.created_at, f"exchange:{exchange.external_id}"


def _exchange_checks(exchange):
    return _id_errors("order_external_id", exchange.order_external_id) + _id_errors(
        "external_id", exchange.external_id)


EXCHANGES = _Intake("exchanges/create", "account.move", exchange_from_dict, _exchange_keys, _exchange_checks,
                    "exchanges:write")


class OmniApiExchangesController(OmniApiController):
    @http.route(f"{API_PREFIX}/exchanges", type="http", auth="none", csrf=False, save_session=False,
                readonly=False)
    def omni_api_exchanges(self, backend_id, **_kwargs):
        return self._omni_guard(backend_id, self._omni_post, backend_id, EXCHANGES)
