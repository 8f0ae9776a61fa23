"""eBay's Marketplace Account Deletion endpoint on the common webhook route.

eBay validates the endpoint with ``GET /omni/webhook/<id>?challenge_code=...`` and refuses a
bad notification signature with 412 (not the 401 the other channels get). Everything else is
the base intake: verify over the raw body, store, acknowledge, process later.
"""

import logging

from odoo import http
from odoo.exceptions import MissingError
from odoo.http import request

from odoo.addons.omni_connector_base.controllers.webhook import OmniWebhookController

_logger = logging.getLogger(__name__)


class EbayWebhookController(OmniWebhookController):
    @http.route(
        "/omni/webhook/<int:backend_id>",
        type="http",
        auth="none",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
        readonly=False,
    )
    def omni_webhook(self, backend_id, **kwargs):
        if request.httprequest.method == "GET":
            return self._ebay_challenge(backend_id, request.httprequest.args.get("challenge_code"))
        response = super().omni_webhook(backend_id, **kwargs)
        if response.status_code == 401 and self._ebay_backend(backend_id):
            response.status_code = 412  # eBay's documented answer to a bad signature
        return response

    @staticmethod
    def _ebay_backend(backend_id):
        backend = request.env(su=True)["omni.backend"].browse(backend_id)
        try:
            return backend if backend.active and backend.channel == "ebay" else None
        except MissingError:
            return None

    def _ebay_challenge(self, backend_id, code):
        backend = self._ebay_backend(backend_id)
        if not backend:
            # Only eBay validates the endpoint with a GET: for every other channel (and an unknown
            # id) the route stays POST-only, as base answers without this addon.
            response = request.make_json_response({"error": "method not allowed"}, status=405)
            response.headers["Allow"] = "POST"
            return response
        answer = backend._ebay_challenge_response(code)
        if not answer:
            return request.make_json_response({"error": "challenge_code missing or no verification token"},
                                              status=400)
        _logger.info("eBay backend %s: endpoint challenge answered", backend_id)
        return request.make_json_response(answer, status=200)
