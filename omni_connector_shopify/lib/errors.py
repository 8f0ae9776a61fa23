"""The Shopify client's errors, each one of the pipeline's outcome classes.

``ShopifyTransientError`` (network, timeout, 5xx, 429, malformed body; ``retry_after`` in
seconds) is a ``TransientError``: the event retries with backoff. ``ShopifyApiError`` (4xx,
GraphQL errors, ``userErrors``) is a ``BusinessError``: the event is blocked for a person.
Messages never hold secrets or personal data (``mask_text``).
"""

from collections.abc import Mapping

try:
    from odoo.addons.omni_connector_base.pipeline import errors as _pipeline_errors
    from odoo.addons.omni_connector_base.pipeline.masking import mask_text
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.pipeline import errors as _pipeline_errors
    from omni_connector_base.pipeline.masking import mask_text

# --------------------------------------------------------------------------- errors
class ShopifyError(Exception):
    """Base class of the client's errors (``message`` never holds secrets or PII)."""

    def __init__(self, message, *, status=None, errors=None, user_errors=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = list(errors or [])
        self.user_errors = list(user_errors or [])


class ShopifyTransientError(ShopifyError, _pipeline_errors.TransientError):
    """Network failure, timeout, 5xx, 429, malformed body: retry later.

    A subclass of the pipeline's ``TransientError`` so the event processor puts
    the event in ``retry`` with backoff, honouring ``retry_after`` (seconds).
    """

    category = "channel_api"

    def __init__(self, message, retry_after=None, *, status=None, errors=None, user_errors=None):
        super().__init__(message, status=status, errors=errors, user_errors=user_errors)
        self.retry_after = retry_after


class ShopifyThrottled(ShopifyTransientError):
    """The cost bucket (or HTTP 429) kept refusing us after the bounded retries."""

    def __init__(self, retry_after, message=None, *, status=None, errors=None):
        super().__init__(
            message or "Shopify throttled the request (retry after %.1f s)" % (retry_after or 0),
            retry_after=retry_after,
            status=status,
            errors=errors,
        )


class ShopifyApiError(ShopifyError, _pipeline_errors.BusinessError):
    """4xx, GraphQL errors or ``userErrors``: retrying the same request will not help.

    A subclass of the pipeline's ``BusinessError``: the event is ``blocked`` and a
    person sees the exception. ``user_errors`` keeps Shopify's ``{code, field,
    message}`` items so a caller can react to a specific code (e.g.
    ``CHANGE_FROM_QUANTITY_STALE``: re-read the quantity and try again).
    """

    category = "channel_api"


def _error_codes(errors):
    codes = []
    for err in errors or []:
        if isinstance(err, Mapping):
            codes.append(((err.get("extensions") or {}).get("code") or "").upper())
    return codes


def _errors_summary(errors, limit=3):
    if isinstance(errors, str):
        return mask_text(errors, 300)
    parts = []
    for err in (errors or [])[:limit]:
        if isinstance(err, Mapping):
            code = (err.get("extensions") or {}).get("code") or err.get("code")
            msg = err.get("message") or ""
            parts.append(f"{code}: {msg}" if code else str(msg))
        else:
            parts.append(str(err))
    return mask_text("; ".join(parts), 500)
