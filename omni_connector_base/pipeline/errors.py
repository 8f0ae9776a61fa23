"""Outcome classes a handler raises to tell the processor what happened.

The processor maps them onto event states:

* :class:`TransientError` -> ``retry`` with exponential backoff (``retry_after``
  from a channel's ``Retry-After`` wins when it is longer);
* :class:`BusinessError` -> ``blocked`` and an ``omni.exception`` for a person;
  resolving the exception replays the event;
* :class:`StaleEvent` -> ``skipped`` (a newer version was already applied);
* :class:`PermanentError` -> ``dead`` at once (nothing a retry could change,
  e.g. a body that is not JSON), with an exception.

Any other exception is treated as transient: an unforeseen failure is retried
until the backend's attempt limit, then dead-lettered, never lost.
"""


class OmniError(Exception):
    """Base class of the pipeline's outcome errors."""

    category = "other"

    def __init__(self, message, *, category=None):
        super().__init__(message)
        self.message = message
        if category:
            self.category = category


class TransientError(OmniError):
    """A failure that a later attempt may not meet (network, 429, 5xx, lock)."""

    category = "channel_api"

    def __init__(self, message, *, retry_after=None, category=None):
        super().__init__(message, category=category)
        self.retry_after = retry_after


class ConcurrentDelivery(TransientError):
    """Another request stored the same delivery at the same moment (it committed after this
    request's snapshot). The delivery is safe; this request just cannot see it yet."""

    def __init__(self, idempotency_key):
        super().__init__("a concurrent request stored this delivery", retry_after=1)
        self.idempotency_key = idempotency_key


class BusinessError(OmniError):
    """A failure that needs a person (unknown SKU, missing tax, total mismatch).

    ``record`` optionally names the Odoo record the person should open, as a
    ``(model, id)`` pair; ``actions`` lists extra exception actions a connector
    offers (e.g. ``'map_product'``), ``data`` carries what those actions need.
    """

    category = "mapping"

    def __init__(self, message, *, category=None, record=None, actions=(), data=None):
        super().__init__(message, category=category)
        self.record = record
        self.actions = tuple(actions)
        self.data = data or {}


class PermanentError(OmniError):
    """A failure no retry can cure: the event goes straight to ``dead``."""

    category = "validation"


class StaleEvent(OmniError):
    """The event describes an older state than the one already applied."""
