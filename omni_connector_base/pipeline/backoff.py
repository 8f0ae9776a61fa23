"""Retry scheduling: exponential backoff with jitter, honouring Retry-After."""

import random

MAX_DELAY_SECONDS = 6 * 3600
JITTER = 0.2


def retry_delay(attempt, base_delay, retry_after=None, rng=random.random, max_delay=MAX_DELAY_SECONDS):
    """Seconds to wait before attempt number ``attempt + 1``.

    ``attempt`` counts the attempts already made (1 after the first failure).
    The delay doubles per attempt from ``base_delay``, capped at ``max_delay``,
    and is spread by +/-20 % so that events failing together (a channel outage)
    do not retry in lockstep. A channel's ``Retry-After`` is a floor: we never
    come back sooner than the channel asked.
    """
    attempt = max(int(attempt), 1)
    exponential = min(float(base_delay) * (2 ** (attempt - 1)), float(max_delay))
    jittered = exponential * (1 - JITTER + 2 * JITTER * rng())
    if retry_after is not None:
        jittered = max(jittered, float(retry_after))
    return jittered


def parse_retry_after(value):
    """Seconds from a ``Retry-After`` header (delta-seconds form); None if unusable."""
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
