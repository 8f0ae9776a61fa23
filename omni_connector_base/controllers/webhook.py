import json
import logging

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import http
from odoo.exceptions import MissingError
from odoo.http import request

from ..models.omni_backend import dumps_headers
from ..pipeline.errors import ConcurrentDelivery
from ..pipeline.masking import exception_summary

_logger = logging.getLogger(__name__)

# Channel headers worth keeping for tracing. Signatures and credentials are never stored.
TRACE_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-API-Version",
    "X-WC-Webhook-Topic",
    "X-WC-Webhook-Resource",
    "X-WC-Webhook-Event",
    "X-WC-Webhook-ID",
    "X-WC-Webhook-Delivery-ID",
    "X-WC-Webhook-Source",
    "X-Omni-Topic",
    "X-Omni-Event-Id",
    "User-Agent",
)


class OmniWebhookController(http.Controller):
    """``POST /omni/webhook/<backend_id>``: verify, store, acknowledge. Nothing else.

    Business records are never created in the request: the event is stored and the
    processor cron is triggered. Status codes: 200 stored (or duplicate, with no second
    effect), 401 bad/missing signature (nothing stored), 404 unknown or inactive backend,
    413 body over the backend's limit, 503 when the server cannot store right now (the
    channel retries). Never a 500, never a traceback in the response.
    """

    @http.route(
        "/omni/webhook/<int:backend_id>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,
    )
    def omni_webhook(self, backend_id, **_kwargs):
        try:
            return self._omni_webhook(backend_id)
        except Exception as error:  # the channel must get a clean, retryable answer
            # Type and stack only: the message may quote the body (see exception_summary).
            _logger.error("omni webhook for backend %s failed: %s", backend_id, exception_summary(error))
            request.env.cr.rollback()
            return _json(503, {"error": "temporarily unavailable"})

    def _omni_webhook(self, backend_id):
        env = request.env(su=True)
        backend = env["omni.backend"].browse(backend_id)
        try:
            active = backend.active  # one query, instead of exists() and then a read
        except MissingError:
            active = False
        if not active:
            return _json(404, {"error": "unknown backend"})
        if backend.sandbox:  # a neutralized database copy (governance): nothing is stored
            return _json(403, {"error": "sandbox copy: deliveries refused"})
        httprequest = request.httprequest
        headers = httprequest.headers
        remote = httprequest.remote_addr
        topic_hint = headers.get("X-Shopify-Topic") or headers.get("X-WC-Webhook-Topic") or headers.get("X-Omni-Topic")

        limit = backend.webhook_max_bytes
        declared = httprequest.content_length
        if declared is not None and declared > limit:
            env["omni.webhook.rejection"]._omni_log(backend.id, "body too large", 413, remote, topic_hint, declared)
            return _json(413, {"error": "body too large"})
        # A chunked body declares no length: werkzeug stops reading past max_content_length.
        httprequest.max_content_length = limit
        try:
            raw_body = httprequest.get_data(cache=True)
        except RequestEntityTooLarge:
            raw_body = None
        if raw_body is None or len(raw_body) > limit:
            env["omni.webhook.rejection"]._omni_log(
                backend.id, "body too large", 413, remote, topic_hint, len(raw_body or b"") or limit
            )
            return _json(413, {"error": "body too large"})

        verified, reason = backend._omni_verify_webhook(raw_body, headers)
        if not verified:
            if env["omni.webhook.rejection"]._omni_log(backend.id, reason, 401, remote, topic_hint, len(raw_body)):
                # Once per backend, reason and minute; the rest is counted (Rejected Webhooks).
                _logger.warning("omni webhook refused for backend %s: %s", backend.id, reason)
            return _json(401, {"error": "invalid signature"})

        try:
            payload = json.loads(raw_body)
        except (ValueError, RecursionError):
            payload = None  # stored anyway: the processor dead-letters it with the parse error
        values = backend._omni_webhook_event_values(raw_body, headers, payload)
        if not values:
            # The connector recognised a delivery it deliberately ignores (e.g. a ping).
            return _json(200, {"status": "ignored"})
        try:
            event_id, is_new = env["omni.event"]._omni_store_incoming(
                backend, raw_body, values, headers_json=dumps_headers(headers, TRACE_HEADERS)
            )
        except ConcurrentDelivery:
            # The same delivery, sent twice at once, was stored by the other request.
            return _json(200, {"status": "duplicate"})
        return _json(200, {"status": "stored" if is_new else "duplicate", "event_id": event_id})


def _json(status, body):
    return request.make_json_response(body, status=status)
