"""The custom-channel REST API: custom storefronts, POS and B2B portals post canonical JSON.

``POST /omni/api/v1/<backend_id>/orders`` and ``.../refunds`` check the API key, validate
the body against the canonical model, store it in the event inbox and answer 202; the
event processor imports it later, exactly like a webhook. ``GET .../events/<event_id>``
reports how the import went. The contract is ``static/api/openapi.json``.

Like the webhook intake: every answer is JSON, never a 500 and never a traceback; the key
and the order's personal data are never logged.
"""

import json
import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import http
from odoo.http import request
from odoo.sql_db import Cursor
from odoo.tools import SQL

from ..canonical import FieldError, ValidationError, format_datetime, order_from_dict, refund_from_dict
from ..canonical.money import DECIMAL_PATTERN, MAX_DECIMAL_LENGTH
from ..pipeline.errors import ConcurrentDelivery
from ..pipeline.masking import exception_summary, mask_text

_logger = logging.getLogger(__name__)

API_PREFIX = "/omni/api/v1/<int:backend_id>"
# Request headers kept on the event for tracing. Never Authorization.
TRACE_HEADERS = ("Idempotency-Key", "User-Agent", "X-Request-Id")
# Idempotency-Key: 1 to 255 printable ASCII characters (the OpenAPI document says the same).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")
# External ids become resource and idempotency keys; keep them short enough to stay exact.
MAX_EXTERNAL_ID_LENGTH = 255
# Content types Odoo parses as forms before the route runs: their raw body is gone.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
ERROR_MAX_LENGTH = 1000
# 401 reasons that are not told to the client.
ANONYMOUS_REASONS = ("missing key", "invalid key")
# Where a request keeps what the bucket answered (WSGI environ): Odoo re-runs a request after a
# serialization failure, and the re-run must not take a second token.
BUCKET_ENVIRON_KEY = "omni.api.bucket_take"


@dataclass(frozen=True)
class _Intake:
    """What one POST endpoint accepts and how its events are keyed."""

    topic: str
    resource_model: str  # what the event's handler creates (the processor's stale check looks it up)
    parse: object  # dict -> canonical record, raises ValidationError
    keys: object  # record -> (resource_key, source_ts, derived idempotency key)
    checks: object  # record -> [FieldError] the API adds to the canonical rules
    scope: str = "orders:write"  # the API key scope this endpoint needs

    def event_values(self, record, idempotency_key=None):
        """The inbox keys of a posted record (``idempotency_key``: the client's header, if any)."""
        resource_key, source_ts, derived_key = self.keys(record)
        return {
            "idempotency_key": idempotency_key or derived_key,
            "topic": self.topic,
            "resource_model": self.resource_model,
            "resource_key": resource_key,
            "source_ts": source_ts.replace(tzinfo=None),  # canonical datetimes are UTC
        }


def _order_keys(order):
    # updated_at is the version: a re-post of the same version dedupes, an edit is a new event.
    version = format_datetime(order.updated_at)
    return order.external_id, order.updated_at, f"order:{order.external_id}:{version}"


def _refund_keys(refund):
    # Keyed on the order, so a refund is applied after (never alongside) its order's events.
    # Its resource model stays its own (REFUNDS below): the order's binding must not make the
    # processor skip a refund as stale when a newer order version was applied first.
    return refund.order_external_id, refund.created_at, f"refund:{refund.external_id}"


def _order_checks(order):
    return _id_errors("external_id", order.external_id)


def _refund_checks(refund):
    errors = _id_errors("order_external_id", refund.order_external_id)
    if refund.external_id is None:
        errors.append(FieldError("external_id", "is required"))
    else:
        errors += _id_errors("external_id", refund.external_id)
    return errors


def _id_errors(field, value):
    if isinstance(value, str) and len(value) > MAX_EXTERNAL_ID_LENGTH:
        return [FieldError(field, f"must be at most {MAX_EXTERNAL_ID_LENGTH} characters")]
    return []


ORDERS = _Intake("orders/upsert", "sale.order", order_from_dict, _order_keys, _order_checks, "orders:write")
REFUNDS = _Intake("refunds/create", "account.move", refund_from_dict, _refund_keys, _refund_checks,
                  "refunds:write")
# Both key their events on the channel order id: a done event names that order's sale order.
ORDER_KEYED_MODELS = (ORDERS.resource_model, REFUNDS.resource_model)


class OmniApiController(http.Controller):
    """Intake and status endpoints of the custom-channel REST API.

    Status codes: 202 stored (or duplicate), 400 not JSON or bad header, 401 missing or
    wrong key, or an expired or rotated one (with the reason), 403 the key lacks the
    endpoint's scope, or a POST to a sandbox backend (neutralized copy), 404
    unknown/inactive/non-custom backend or foreign event, 405 wrong method, 413 body over the
    backend's limit, 422 canonical validation errors (all of them, with field paths), 429 the
    key's rate limit (Retry-After), 503 the server cannot store right now (retry later).
    Nothing is stored on a refusal.
    """

    @http.route(f"{API_PREFIX}/orders", type="http", auth="none", csrf=False, save_session=False,
                readonly=False)
    def omni_api_orders(self, backend_id, **_kwargs):
        return self._omni_guard(backend_id, self._omni_post, backend_id, ORDERS)

    @http.route(f"{API_PREFIX}/refunds", type="http", auth="none", csrf=False, save_session=False,
                readonly=False)
    def omni_api_refunds(self, backend_id, **_kwargs):
        return self._omni_guard(backend_id, self._omni_post, backend_id, REFUNDS)

    @http.route(f"{API_PREFIX}/events/<int:event_id>", type="http", auth="none", csrf=False,
                save_session=False, readonly=False)
    def omni_api_event(self, backend_id, event_id, **_kwargs):
        return self._omni_guard(backend_id, self._omni_event_status, backend_id, event_id)

    # ------------------------------------------------------------------ plumbing

    def _omni_guard(self, backend_id, handler, *args):
        """Run ``handler``; turn any unforeseen failure into a clean, retryable 503."""
        try:
            return handler(*args)
        except ConcurrentDelivery:
            # The same request sent twice at once: the other one stored it; a retry sees it.
            request.env.cr.rollback()
            return _json(503, {"error": "concurrent duplicate, retry"}, [("Retry-After", "1")])
        except Exception as error:  # the client must get a clean, retryable answer
            # Type and stack only: the message of a database error may quote the order's data.
            _logger.error("omni api %s %s for backend %s failed: %s",
                          request.httprequest.method, request.httprequest.path.rsplit("/", 1)[-1], backend_id,
                          exception_summary(error))
            try:
                request.env.cr.rollback()
            except Exception:  # the connection itself may be gone; still answer
                _logger.warning("omni api: rollback failed", exc_info=True)
            return _json(503, {"error": "temporarily unavailable"}, [("Retry-After", "5")])

    def _omni_backend(self, backend_id):
        """The active custom-channel backend, or None (as superuser: the caller is anonymous)."""
        backend = request.env(su=True)["omni.backend"].browse(backend_id).exists()
        if not backend or not backend.active or backend.channel != "custom":
            return None
        return backend

    def _omni_check_key(self, backend, label):
        """The active key of ``backend`` the request presents, or None.

        A refusal is recorded with the rejected webhooks (masked address), so administrators
        see who is knocking; the presented key itself is never logged.
        """
        key, _reason = self._omni_gateway_key(backend, label)
        return key

    def _omni_gateway_key(self, backend, label):
        """``(key, None)`` or ``(None, reason)``: the key presented, if usable (gateway rules)."""
        scheme, _sep, token = (request.httprequest.headers.get("Authorization") or "").strip().partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token:
            key, reason = None, "missing key"
        else:
            key, reason = request.env(su=True)["omni.api.key"]._omni_gateway_authenticate(backend, token)
        if key:
            return key, None
        if request.env(su=True)["omni.webhook.rejection"]._omni_log(
                backend.id, f"API: {reason.split(' on ')[0]}", 401, request.httprequest.remote_addr, label):
            # Once per backend, reason and minute; the rest is counted (Rejected Webhooks).
            _logger.warning("omni api refused for backend %s: %s", backend.id, reason)
        return None, reason

    def _omni_admit(self, backend, label, scope):
        """``(key, None)`` when the request may go on, else ``(None, refusal response)``.

        In this order: 401 (no usable key, with the reason), 429 (the key's token bucket is
        empty, with Retry-After), 403 (the key lacks ``scope``).
        """
        key, reason = self._omni_gateway_key(backend, label)
        if not key:
            # The reason is told only for a key Odoo recognised (expired, rotated): a wrong
            # key learns nothing.
            return None, _unauthorized(None if reason in ANONYMOUS_REASONS else reason)
        allowed, retry_after = self._omni_take_token_committed(key)
        if not allowed:
            return None, _json(429, {"error": "rate limit exceeded",
                                     "detail": f"retry in {retry_after} s; this key allows "
                                               f"{key.rate_limit_per_minute} requests per minute, "
                                               f"bursts of {key.rate_limit_burst}"},
                               [("Retry-After", str(retry_after))])
        missing = key._omni_missing_scope(scope)
        if missing:
            return None, _json(403, {"error": "missing scope", "detail": f"this key lacks the scope {missing}",
                                     "scope": missing})
        key._omni_touch()
        return key, None

    def _omni_take_token_committed(self, key):
        """Take a token from ``key``'s bucket in a transaction of its own, on the request's cursor.

        Commits what the request did so far (it only read the backend and the keys), runs the
        bucket's one statement under READ COMMITTED and commits it: the bucket row is locked
        for that statement only, concurrent requests of the key queue on it for microseconds
        and never fail with a serialization error, and no second connection is opened (see
        ``models/omni_api_key_gateway.py`` for why a second one hung). The token stays spent
        whatever the request does next. Under Odoo's test cursor (one shared transaction) the
        commits are savepoints and the isolation level is the test's.
        """
        taken = request.httprequest.environ.get(BUCKET_ENVIRON_KEY)
        if taken and taken[0] == key.id:
            return taken[1:]  # Odoo re-runs this request after a serialization failure
        cr = request.env.cr
        # The bucket needs a transaction of its own (docstring); no second connection.
        cr.commit()  # pylint: disable=invalid-commit
        if isinstance(cr, Cursor):
            cr.execute(SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"))
        allowed, retry_after = key._omni_take_token()
        cr.commit()  # pylint: disable=invalid-commit
        request.httprequest.environ[BUCKET_ENVIRON_KEY] = (key.id, allowed, retry_after)
        return allowed, retry_after

    # ------------------------------------------------------------------ endpoints

    def _omni_post(self, backend_id, intake):
        if request.httprequest.method != "POST":
            return _method_not_allowed("POST")
        backend = self._omni_backend(backend_id)
        if not backend:
            return _json(404, {"error": "unknown backend"})
        if backend.sandbox:
            # A neutralized database copy (governance): like the webhook intake, nothing is
            # stored and no token is spent. Reading event statuses stays possible.
            return _json(403, {"error": "sandbox copy: writes refused",
                               "detail": "this database is a neutralized copy; its backends take no orders"})
        key, refusal = self._omni_admit(backend, intake.topic, intake.scope)
        if refusal:
            return refusal
        httprequest = request.httprequest

        raw_body = self._omni_read_body(backend, intake)
        if raw_body is None:
            return _json(413, {"error": "payload too large"})
        if httprequest.mimetype in FORM_TYPES:
            return _json(400, {"error": "invalid JSON",
                               "detail": "send the body with Content-Type: application/json"})
        idempotency_key = httprequest.headers.get("Idempotency-Key")
        if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            return _json(400, {"error": "invalid Idempotency-Key",
                               "detail": "1 to 255 printable ASCII characters, no leading or trailing blank"})
        try:
            data = _parse_json(raw_body)
        except (ValueError, RecursionError) as error:
            return _json(400, {"error": "invalid JSON", "detail": _json_error_detail(error)})

        errors = _text_errors(data)
        record = None
        try:
            record = intake.parse(data)
        except ValidationError as error:
            errors += error.errors
        if record is not None:
            errors += intake.checks(record)
        if errors:
            _logger.info("omni api: %s refused for backend %s: %s invalid field(s)", intake.topic, backend.id,
                         len(errors))
            return _json(422, ValidationError(_unique(errors)).as_dict())

        values = intake.event_values(record, idempotency_key)
        Event = request.env(su=True)["omni.event"]
        event_id, is_new = Event._omni_store_incoming(backend, raw_body, values,
                                                      headers_json=_trace_headers(httprequest.headers, key))
        event = Event.browse(event_id)
        if not is_new and idempotency_key and (event.topic != intake.topic
                                               or event._omni_payload_bytes() != raw_body):
            # The client reused its key for another request: acknowledging would lose this one.
            return _json(422, ValidationError([FieldError(
                "Idempotency-Key", "was already used for a different request")]).as_dict())
        _logger.info("omni api: backend %s %s event %s (%s)", backend.id, intake.topic, event_id,
                     "new" if is_new else "duplicate")
        return _json(202, {"event_id": event_id, "state": event.state, "duplicate": not is_new})

    def _omni_read_body(self, backend, intake):
        """The raw body, or None when it exceeds the backend's limit (the refusal is recorded).

        A declared Content-Length is checked before anything is read. A chunked body (no
        length) can only be read whole through Odoo's request wrapper, which caps it at Odoo's
        global request size; it is then measured. Only an authenticated client gets this far.
        """
        httprequest = request.httprequest
        limit = backend.webhook_max_bytes
        size = httprequest.content_length
        raw_body = None
        if size is None or size <= limit:
            try:
                raw_body = httprequest.get_data(cache=True)
                size = len(raw_body)
            except RequestEntityTooLarge:  # chunked, and beyond Odoo's own cap
                size = httprequest.max_content_length
        if raw_body is None or size > limit:
            request.env(su=True)["omni.webhook.rejection"]._omni_log(
                backend.id, "API: body too large", 413, httprequest.remote_addr, intake.topic, size)
            return None
        return raw_body

    def _omni_event_status(self, backend_id, event_id):
        if request.httprequest.method not in ("GET", "HEAD"):
            return _method_not_allowed("GET")
        backend = self._omni_backend(backend_id)
        if not backend:
            return _json(404, {"error": "unknown backend"})
        _key, refusal = self._omni_admit(backend, "events", "events:read")
        if refusal:
            return refusal
        event = request.env(su=True)["omni.event"].browse(event_id).exists()
        if not event or event.backend_id != backend or event.direction != "in":
            return _json(404, {"error": "not found"})
        record = _result_record(event)
        sale_order = None
        if record is not None and record._name == "sale.order":
            sale_order = record.name
        elif event.state == "done" and event.resource_model in ORDER_KEYED_MODELS and event.resource_key:
            # A refund points to its credit note; its sale order is the one bound to the order id.
            order = request.env(su=True)["omni.binding"]._omni_lookup(
                backend, "sale.order", [event.resource_key]).get(event.resource_key)
            sale_order = order.name if order else None
        return _json(200, {
            "event_id": event.id,
            "state": event.state,
            "topic": event.topic,
            "sale_order": sale_order,
            "record": {"model": record._name, "id": record.id, "name": record.display_name}
            if record is not None else None,
            "error": mask_text(event.last_error, ERROR_MAX_LENGTH) if event.last_error else None,
        })


# ---------------------------------------------------------------------- helpers


def _json(status, body, headers=()):
    """A JSON response. ASCII-only text (so Content-Length is right whatever the content) and
    never cached: it may describe a customer's order."""
    data = json.dumps(body, ensure_ascii=True, default=str)
    return request.make_response(data, headers=[("Content-Type", "application/json; charset=utf-8"),
                                                ("Cache-Control", "no-store"), *headers], status=status)


def _trace_headers(headers, key):
    """JSON of the request headers kept for tracing, plus which key (by id) was used."""
    kept = {name: headers.get(name) for name in TRACE_HEADERS if headers.get(name) is not None}
    kept["X-Omni-Api-Key-Id"] = key.id
    return json.dumps(kept)


def _unauthorized(reason=None):
    body = {"error": "unauthorized", "detail": reason} if reason else {"error": "unauthorized"}
    return _json(401, body, [("WWW-Authenticate", 'Bearer realm="omni-api"')])


def _method_not_allowed(allowed):
    return _json(405, {"error": "method not allowed"}, [("Allow", allowed)])


def _parse_json(raw_body):
    """Strict JSON, numbers as exact ``Decimal``s (money is never float).

    The body must be UTF-8 (no BOM) because the event processor reads the stored body the
    same way. ``NaN``/``Infinity`` are not JSON and refused. A number too long for exact
    arithmetic, or in exponent form, becomes an unusable value that the canonical reader
    reports as a field error (422) rather than a silently huge amount.
    """
    text = raw_body.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return json.loads(text, parse_float=_json_decimal, parse_int=_json_int, parse_constant=_json_constant)


class _UnusableNumber:
    """A JSON number the API refuses: every canonical field rejects this type."""

    __slots__ = ()


def _json_decimal(text):
    if len(text) <= MAX_DECIMAL_LENGTH and DECIMAL_PATTERN.fullmatch(text):
        return Decimal(text)
    return _UnusableNumber()


def _json_int(text):
    return int(text) if len(text) <= MAX_DECIMAL_LENGTH else _UnusableNumber()


def _json_constant(name):
    raise ValueError(f"{name} is not a JSON value")


def _json_error_detail(error):
    if isinstance(error, UnicodeDecodeError):
        return "the body is not UTF-8 text"
    if isinstance(error, RecursionError):
        return "the body is nested too deeply"
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    return str(error)[:200]


def _text_errors(data):
    """Strings the database could not store (NUL, lone surrogates), with their paths.

    Iterative on purpose: a deeply nested body must not exhaust the stack.
    """
    errors = []
    stack = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not _storable(value):
                errors.append(FieldError(path or "$", "must not contain NUL characters or invalid Unicode"))
        elif isinstance(value, dict):
            for name, item in value.items():
                child = f"{path}.{name}" if path else name
                if not _storable(name):
                    errors.append(FieldError(path or "$", "has a key with NUL characters or invalid Unicode"))
                    continue
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    errors.reverse()
    return errors


def _storable(text):
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unique(errors):
    seen = set()
    return [error for error in errors if not (error in seen or seen.add(error))]


def _result_record(event):
    """The record the event produced (still existing), or None."""
    if not event.res_model or not event.res_id or event.res_model not in request.env:
        return None
    record = request.env(su=True)[event.res_model].browse(event.res_id).exists()
    return record or None
