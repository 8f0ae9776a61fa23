"""Channel fraud signals -> the canonical risk level of an order (pure).

Channels grade risk differently: Shopify's order risk assessment says ``NONE``/``LOW``/
``MEDIUM``/``HIGH`` (and ``PENDING`` while it is being computed), fraud plugins of WooCommerce
store a level or a score 0-100 in order meta, marketplaces flag orders of their own. The
canonical ``Order.risk_level`` is one of :data:`LEVELS` (or ``None``: no assessment), and the
backend's risk policy acts on it the same way for every channel.
"""

from decimal import Decimal, InvalidOperation

LEVELS = ("low", "medium", "high")
RISK_LEVELS = [("low", "Low"), ("medium", "Medium"), ("high", "High")]
_RANK = {level: rank for rank, level in enumerate(LEVELS)}

# Words channels and plugins use, folded to the canonical level.
_WORDS = {
    "none": "low",
    "low": "low",
    "accept": "low",
    "safe": "low",
    "medium": "medium",
    "moderate": "medium",
    "investigate": "medium",
    "review": "medium",
    "elevated": "medium",
    "high": "high",
    "cancel": "high",
    "fraud": "high",
    "critical": "high",
    "very_high": "high",
}
# Scores 0-100 (WooCommerce anti-fraud plugins): below 30 low, below 70 medium, else high.
MEDIUM_SCORE = Decimal(30)
HIGH_SCORE = Decimal(70)


def normalize_risk_level(value):
    """A channel's risk value -> ``"low"``/``"medium"``/``"high"``, or None when unknown/pending.

    Accepts the words above in any case (``"HIGH"``, ``"Investigate"``), and numbers or numeric
    text read as a score 0-100. Never raises.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return _from_score(Decimal(str(value)))
    text = str(value).strip().casefold().replace(" ", "_").replace("-", "_")
    if not text:
        return None
    if text in _WORDS:
        return _WORDS[text]
    try:
        return _from_score(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def _from_score(score):
    if not score.is_finite() or score < 0:
        return None
    if score >= HIGH_SCORE:
        return "high"
    if score >= MEDIUM_SCORE:
        return "medium"
    return "low"


def highest_risk(levels):
    """The highest canonical level of ``levels`` (channel values are normalized), or None."""
    found = [level for level in (normalize_risk_level(value) for value in levels) if level]
    return max(found, key=_RANK.__getitem__) if found else None


def risk_at_least(level, minimum):
    """Whether canonical ``level`` is at or above ``minimum`` (None is never)."""
    if level not in _RANK or minimum not in _RANK:
        return False
    return _RANK[level] >= _RANK[minimum]
