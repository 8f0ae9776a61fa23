"""Mask personal data before it reaches a log line or an error message."""

import re
import traceback

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-])[A-Za-z0-9.-]*\.([A-Za-z]{2,})")
# Only international numbers: bare digit runs are amounts, ids and dates far more often.
_PHONE = re.compile(r"(?<!\w)(\+\d[\d ().-]{6,}\d)(?!\w)")


def mask_email(value):
    """``jane.doe@example.com`` -> ``j***@e***.com``."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}***.{m.group(3)}", value or "")


def mask_text(value, limit=2000):
    """Mask emails and phone numbers in free text and cap its length."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}***.{m.group(3)}", str(value or ""))
    text = _PHONE.sub(lambda m: m.group(1)[:2] + "***" + m.group(1)[-2:], text)
    if len(text) > limit:
        text = text[:limit] + "…"
    return text


def exception_summary(error):
    """What a log line may say about an exception: its type (and database error code), the types of
    the exceptions it was raised from, and the stack. Never its message: a message may quote the
    data being processed (a customer's name, address or email), which mask_text cannot all recognise.
    """
    names, seen, current = [], set(), error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "pgcode", None)
        names.append(type(current).__name__ + (f" (SQLSTATE {code})" if code else ""))
        current = current.__cause__ or current.__context__
    stack = "".join(traceback.format_tb(error.__traceback__))
    return " <- ".join(names) + ("\n" + stack.rstrip() if stack else "")
