"""The WooCommerce client's errors, each one of the pipeline's outcome classes.

``WooTransientError`` (network failure, timeout, 429, 5xx, an unreadable body; ``retry_after``
in seconds, from ``Retry-After`` when the store or its proxy sends one) is a
``TransientError``: the event retries with backoff. ``WooApiError`` (the other 4xx, with
WooCommerce's ``code`` such as ``woocommerce_rest_batch_items_limit``) is a
``BusinessError``: the event is blocked for a person. Messages never hold secrets.
"""

try:
    from odoo.addons.omni_connector_base.pipeline import errors as _pipeline_errors
    from odoo.addons.omni_connector_base.pipeline.masking import mask_text
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.pipeline import errors as _pipeline_errors
    from omni_connector_base.pipeline.masking import mask_text


class WooError(Exception):
    """Base class of the client's errors (``message`` never holds secrets or personal data)."""

    def __init__(self, message, *, status=None, code=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class WooTransientError(WooError, _pipeline_errors.TransientError):
    """Retry later (``retry_after`` seconds when the store said so)."""

    category = "channel_api"

    def __init__(self, message, retry_after=None, *, status=None, code=None):
        WooError.__init__(self, message, status=status, code=code)
        self.retry_after = retry_after


class WooApiError(WooError, _pipeline_errors.BusinessError):
    """The store refused the request (4xx other than 429): a person must look."""

    def __init__(self, message, *, status=None, code=None):
        WooError.__init__(self, message, status=status, code=code)
        self.category = "channel_api"
        self.record = None
        self.actions = ()
        self.data = {}


__all__ = ["WooApiError", "WooError", "WooTransientError", "mask_text"]
