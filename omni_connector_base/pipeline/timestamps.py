"""Channel timestamps -> naive UTC datetimes, the form Odoo stores."""

from datetime import datetime, timezone


def parse_utc(value):
    """ISO 8601 text (``Z`` or an offset) -> naive UTC ``datetime``; None when absent or unusable.

    A timestamp without an offset is taken as UTC: channels that omit it (WooCommerce's
    ``*_gmt`` fields) send UTC.
    """
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed
