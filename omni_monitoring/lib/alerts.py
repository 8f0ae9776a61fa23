"""The alert rules' state machine, free of any ``odoo`` import.

A rule's condition is evaluated every minute for each subject (a backend, a payout account). The
condition must hold for ``duration`` before the alert fires; it resolves as soon as it clears.
"""

from __future__ import annotations

from datetime import datetime, timedelta

OPERATORS = {">": lambda value, threshold: value > threshold, ">=": lambda value, threshold: value >= threshold}


def breached(value, operator, threshold):
    """Whether ``value`` crosses ``threshold`` (``>`` or ``>=``); no value never breaches."""
    return value is not None and OPERATORS[operator](value, threshold)


def next_step(is_breached: bool, since: datetime | None, firing: bool, now: datetime, duration_minutes: int) -> str:
    """What to do with one subject of a rule.

    ``start``: begins breaching (remember since when); ``wait``: breaching, not long enough yet;
    ``fire``: open the alert; ``keep``: firing and still breaching; ``resolve``: the condition cleared
    while firing; ``clear``: cleared before firing (forget it); ``idle``: nothing to do.
    """
    if is_breached:
        if since is None:
            return "fire" if duration_minutes <= 0 else "start"
        if firing:
            return "keep"
        return "fire" if now - since >= timedelta(minutes=duration_minutes) else "wait"
    if firing:
        return "resolve"
    return "clear" if since is not None else "idle"
