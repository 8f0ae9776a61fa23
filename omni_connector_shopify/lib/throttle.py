"""Shopify's GraphQL cost bucket, as the client sees it (a mixin of ``ShopifyClient``).

Shopify prices each query in points drawn from a leaky bucket (``throttleStatus`` in every
answer's ``extensions.cost``). The client keeps its last view of the bucket, reserves a
request's estimated cost before sending it, and waits only as long as ``max_wait`` (2 s by
default: the client runs in Odoo workers); beyond that it raises ``ShopifyThrottled`` (a
``TransientError`` whose ``retry_after`` is the time until the bucket holds enough points) so the
event is retried later instead of parking a worker.
"""

import hashlib
import logging
import re
from collections.abc import Mapping

from .errors import ShopifyThrottled

_logger = logging.getLogger(__name__)

DEFAULT_COST_ESTIMATE = 50  # points assumed for a query whose cost we never saw
# The longest the client sleeps in-process for the cost bucket or a 429/THROTTLED answer. It runs
# in Odoo workers (cron, HTTP): a longer wait raises ``ShopifyThrottled`` (a ``TransientError``
# whose ``retry_after`` is the time until enough points are restored) and the event queue retries
# later, instead of parking the worker.
DEFAULT_MAX_WAIT = 2.0
_OP_RE = re.compile(r"^\s*(query|mutation)\s+(\w+)")


class CostThrottle:
    """Needs ``self._lock``, ``self._bucket``, ``self._clock``, ``self._sleep``, ``self.max_wait``
    and ``self.shop`` (set by ``ShopifyClient.__init__``)."""

    # ------------------------------------------------------------ cost bucket
    @property
    def throttle_status(self):
        """Last known ``(maximumAvailable, currentlyAvailable, restoreRate)`` or None."""
        with self._lock:
            return None if self._bucket is None else self._bucket[:3]

    def _update_bucket(self, cost):
        status = (cost or {}).get("throttleStatus") if isinstance(cost, Mapping) else None
        if not isinstance(status, Mapping):
            return
        try:
            maximum = float(status["maximumAvailable"])
            available = float(status["currentlyAvailable"])
            rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            self._bucket = (maximum, available, rate, self._clock())

    def _reserve_budget(self, requested, max_wait=None):
        """Block until the bucket can pay ``requested`` points, then reserve them.

        Never sends a request the server would throttle according to our view of the
        bucket; a wait longer than ``max_wait`` raises :class:`ShopifyThrottled` so a
        cron worker is not parked for minutes (the event is retried later instead).
        """
        while True:
            with self._lock:
                if self._bucket is None or not requested:
                    return
                maximum, available, rate, seen = self._bucket
                if requested > maximum or rate <= 0:
                    return  # can never be paid for: let Shopify answer with its error
                now = self._clock()
                projected = min(maximum, available + max(0.0, now - seen) * rate)
                if projected >= requested:
                    self._bucket = (maximum, projected - requested, rate, now)
                    return
                # one point of margin against rounding on either side
                wait = (requested - projected + 1) / rate
            if wait > (self.max_wait if max_wait is None else max_wait):
                raise ShopifyThrottled(wait)
            _logger.debug("Shopify %s: waiting %.2fs for %s cost points", self.shop, wait, requested)
            self._sleep(wait)

    def _throttled_wait(self, cost, requested):
        status = (cost or {}).get("throttleStatus") or {}
        try:
            available = float(status.get("currentlyAvailable", 0))
            rate = float(status.get("restoreRate") or 0)
        except (TypeError, ValueError):
            return 1.0
        need = float((cost or {}).get("requestedQueryCost") or requested or DEFAULT_COST_ESTIMATE)
        if rate <= 0:
            return 1.0
        return max((need - available + 1) / rate, 0.05)

    @staticmethod
    def _cost_key(query, variables):
        match = _OP_RE.match(query or "")
        name = match.group(2) if match else hashlib.sha256((query or "").encode()).hexdigest()[:16]
        ints = tuple(
            sorted(
                (k, v) for k, v in (variables or {}).items() if isinstance(v, int) and not isinstance(v, bool)
            )
        )
        return name, ints
