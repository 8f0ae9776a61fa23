"""Canonical records <-> JSON-able dicts, and validation of records.

Why: the custom-channel REST API receives canonical JSON, the event inbox stores it, and
connectors build records by hand; all three need the same rules, applied the same way.

The dict form uses the dataclass field names as keys. ``*_to_dict`` writes every field
(absent values as ``None``), Decimals as plain decimal strings (``"70.60"``, never an
exponent) and datetimes as ISO 8601 UTC with ``Z``; ``*_from_dict`` reads that back to an
equal record, so the round trip is exact. Readers are strict about types (no float money,
no naive datetimes, no ``null`` where a value is required) and tolerant otherwise:

* unknown keys are ignored, missing optional keys take their defaults;
* money and quantities also accept JSON integers, identifiers (``*external_id``,
  ``transaction_id``...) also accept JSON integers (turned into text);
* datetimes accept ``Z`` or any ``±hh:mm`` offset and are converted to UTC.

Every problem is collected in one pass and raised together as ``ValidationError``, in the
order of the record's fields; each ``FieldError.field`` is a path such as
``lines[0].quantity`` (``$`` for the document itself), and messages never contain the
offending value (it may be personal data).
"""

import dataclasses
import re
import types
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal, Union, get_args, get_origin, get_type_hints

from .model import FieldError, Order, Refund, ValidationError
from .money import to_decimal

ROOT = "$"  # field path of an error about the whole document

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(\d{2}):(\d{2}))?",
    re.ASCII,
)


# --- datetimes --------------------------------------------------------------------------


def parse_datetime(value, field="value"):
    """ISO 8601 / RFC 3339 text (or an aware ``datetime``) -> aware UTC ``datetime``.

    A value without an offset is rejected: guessing the zone of a channel's local time is
    exactly how orders end up a day off. Fractions beyond microseconds are truncated.
    Raises ``ValidationError`` naming ``field``.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError([FieldError(field, "must include a time zone offset (Z or +hh:mm)")])
        return value.astimezone(timezone.utc)
    if not isinstance(value, str):
        raise ValidationError([FieldError(field, "must be an ISO 8601 date-time string")])
    match = _DATETIME.fullmatch(value)
    if not match:
        raise ValidationError([FieldError(field, "is not an ISO 8601 date-time (e.g. 2026-11-20T09:14:03Z)")])
    year, month, day, hour, minute, second, fraction = match.groups()[:7]
    if not match.group("utc") and not match.group("sign"):
        raise ValidationError([FieldError(field, "must include a time zone offset (Z or +hh:mm)")])
    try:
        if match.group("utc"):
            zone = timezone.utc
        else:
            offset_hours, offset_minutes = (int(part) for part in match.groups()[-2:])
            offset = timedelta(hours=offset_hours, minutes=offset_minutes)
            zone = timezone(-offset if match.group("sign") == "-" else offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone)
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValidationError([FieldError(field, "is not a valid date-time")]) from None


def format_datetime(value):
    """Aware ``datetime`` -> ``2026-11-20T09:14:03Z`` (microseconds only when present)."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def format_decimal(value):
    """``Decimal`` -> plain decimal text, exponent-free (``Decimal('1E+2')`` -> ``'100'``)."""
    return format(value, "f")


# --- field introspection ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Spec:
    name: str
    type: object  # the field's type with ``| None`` removed
    optional: bool  # None is an acceptable value
    required: bool  # the field has no default
    check: object  # single-field rule: value -> message | None
    ident: bool  # identifier: JSON integers accepted


_SPECS = {}


def _specs(cls):
    """The field specs of a canonical record class (cached: hints are costly to resolve)."""
    specs = _SPECS.get(cls)
    if specs is None:
        hints = get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):
            tp, optional = _unwrap_optional(hints[f.name])
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            specs.append(
                _Spec(f.name, tp, optional, required, f.metadata.get("check"), f.metadata.get("ident", False))
            )
        specs = _SPECS[cls] = tuple(specs)
    return specs


def _unwrap_optional(tp):
    if get_origin(tp) in (Union, types.UnionType):
        args = [arg for arg in get_args(tp) if arg is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _join(path, name):
    return f"{path}.{name}" if path else name


# --- dict -> record ---------------------------------------------------------------------


class _Reader:
    """Turns dicts into records, collecting conversion errors instead of stopping."""

    def __init__(self):
        self.errors = []
        self.failed = []  # paths whose value could not be read (their rules are not re-checked)
        self.visited = {}  # path -> position in the document, to report errors in that order

    def fail(self, path, message):
        self.errors.append(FieldError(path, message))
        self.failed.append(path)

    def record(self, cls, data, path):
        if not isinstance(data, Mapping):
            self.fail(path or ROOT, "must be an object")
            return None
        values = {}
        for spec in _specs(cls):
            field_path = _join(path, spec.name)
            self.visited.setdefault(field_path, len(self.visited))
            if spec.name not in data:
                if spec.required:
                    self.fail(field_path, "is required")
                    values[spec.name] = None
                continue
            raw = data[spec.name]
            if raw is None:
                if not spec.optional:
                    self.fail(field_path, "must not be null")
                values[spec.name] = None
                continue
            values[spec.name] = self.value(spec.type, raw, field_path, spec.ident)
        return cls(**values)

    def value(self, tp, raw, path, ident=False):
        origin = get_origin(tp)
        try:
            if tp is Decimal:
                return to_decimal(raw, path)
            if tp is datetime:
                return parse_datetime(raw, path)
        except ValidationError as error:
            self.errors.extend(error.errors)
            self.failed.append(path)
            return None
        if tp is str or origin is Literal:
            if isinstance(raw, str):
                return raw
            if ident and isinstance(raw, int) and not isinstance(raw, bool):
                return str(raw)
            self.fail(path, "must be a string or an integer" if ident else "must be a string")
            return None
        if tp is bool:
            if isinstance(raw, bool):
                return raw
            self.fail(path, "must be true or false")
            return None
        if origin is list:
            if not isinstance(raw, list):
                self.fail(path, "must be a list")
                return []
            (item_type,) = get_args(tp)
            items = []
            for index, item in enumerate(raw):
                item_path = f"{path}[{index}]"
                self.visited.setdefault(item_path, len(self.visited))
                items.append(self.value(item_type, item, item_path))
            return items
        if origin is dict:
            return self.text_map(raw, path)
        if dataclasses.is_dataclass(tp):
            return self.record(tp, raw, path)
        raise TypeError(f"unsupported field type {tp!r}")  # a model bug, not a data problem

    def text_map(self, raw, path):
        if not isinstance(raw, Mapping):
            self.fail(path, "must be an object")
            return {}
        result = {}
        for key, item in raw.items():
            self.visited.setdefault(f"{path}.{key}", len(self.visited))
            if isinstance(item, str):
                result[key] = item
            else:
                self.fail(f"{path}.{key}", "must be a string")
        return result


def _from_dict(cls, data):
    reader = _Reader()
    if not isinstance(data, Mapping):
        raise ValidationError([FieldError(ROOT, "must be a JSON object")])
    record = reader.record(cls, data, "")
    failed = set(reader.failed)
    errors = list(reader.errors)
    for error in validation_errors(record):
        if failed.isdisjoint(_self_and_ancestors(error.field)):
            errors.append(error)
    if errors:
        last = len(reader.visited)
        errors.sort(key=lambda error: reader.visited.get(error.field, last))  # stable: keeps ties in order
        raise ValidationError(errors)
    return record


def _self_and_ancestors(field):
    """``'lines[0].sku'`` -> ``'lines'``, ``'lines[0]'``, ``'lines[0].sku'``: the paths whose
    failure already explains an error on ``field`` (a set lookup each, so a body with
    thousands of bad lines is still checked in linear time)."""
    for index, char in enumerate(field):
        if char in ".[":
            yield field[:index]
    yield field


def order_from_dict(data):
    """Canonical JSON object -> validated ``Order``; raises ``ValidationError``."""
    return _from_dict(Order, data)


def refund_from_dict(data):
    """Canonical JSON object -> validated ``Refund``; raises ``ValidationError``."""
    return _from_dict(Refund, data)


# --- validation of records --------------------------------------------------------------


def validation_errors(record):
    """Every problem of a canonical record (types, single-field rules, cross-field rules)."""
    errors = []
    _check_record(record, "", errors)
    return errors


def validate(record):
    """Raise ``ValidationError`` unless ``record`` is valid; connectors call it on what they
    built by hand (the ``*_from_dict`` readers already do)."""
    errors = validation_errors(record)
    if errors:
        raise ValidationError(errors)
    return record


def _check_record(record, path, errors):
    for spec in _specs(type(record)):
        field_path = _join(path, spec.name)
        value = getattr(record, spec.name)
        if value is None:
            if not spec.optional:
                errors.append(FieldError(field_path, "is required"))
            continue
        if _check_value(spec.type, value, field_path, errors) and spec.check:
            message = spec.check(value)
            if message:
                errors.append(FieldError(field_path, message))
    cross_checks = getattr(record, "_cross_checks", None)
    if cross_checks:
        errors.extend(FieldError(_join(path, name), message) for name, message in cross_checks())


def _check_value(tp, value, path, errors):
    """Check ``value`` against type ``tp`` (recursively); return whether its type is right."""
    origin = get_origin(tp)
    message = None
    if tp is Decimal:
        if isinstance(value, float):
            message = "must be a Decimal, not a float"
        elif not isinstance(value, Decimal):
            message = "must be a Decimal"
        elif not value.is_finite():
            message = "must be a finite number"
    elif tp is datetime:
        if not isinstance(value, datetime):
            message = "must be a datetime"
        elif value.utcoffset() is None:
            message = "must be timezone-aware"
    elif tp is str:
        if not isinstance(value, str):
            message = "must be a string"
    elif tp is bool:
        if not isinstance(value, bool):
            message = "must be true or false"
    elif origin is Literal:
        if value not in get_args(tp):
            message = "must be one of: " + ", ".join(get_args(tp))
    elif origin is list:
        if not isinstance(value, list):
            message = "must be a list"
        else:
            (item_type,) = get_args(tp)
            for index, item in enumerate(value):
                item_path = f"{path}[{index}]"
                if item is None:
                    errors.append(FieldError(item_path, "must not be null"))
                else:
                    _check_value(item_type, item, item_path, errors)
    elif origin is dict:
        if not isinstance(value, dict):
            message = "must be a mapping"
        else:
            for key, item in value.items():
                if not isinstance(key, str) or not isinstance(item, str):
                    errors.append(FieldError(f"{path}.{key}", "must be a string"))
    elif dataclasses.is_dataclass(tp):
        if not isinstance(value, tp):
            message = f"must be a {tp.__name__}"
        else:
            _check_record(value, path, errors)
    if message:
        errors.append(FieldError(path, message))
        return False
    return True


# --- record -> dict ---------------------------------------------------------------------


def to_dict(record):
    """Any canonical record -> JSON-able dict (see the module docstring for the format).

    Raises ``TypeError`` for a value of the wrong type (a float where a Decimal belongs) and
    ``ValueError`` for a naive datetime: such a record must not be stored or sent.
    """
    return _dump_record(record, "")


def _dump_record(record, path):
    return {
        spec.name: _dump(spec.type, getattr(record, spec.name), _join(path, spec.name))
        for spec in _specs(type(record))
    }


def _dump(tp, value, path):
    if value is None:
        return None
    origin = get_origin(tp)
    if tp is Decimal:
        if not isinstance(value, Decimal):
            raise TypeError(f"{path}: Decimal expected, got {type(value).__name__}")
        return format_decimal(value)
    if tp is datetime:
        try:
            return format_datetime(value)
        except ValueError:
            raise ValueError(f"{path}: a timezone-aware datetime is required") from None
    if origin is list:
        (item_type,) = get_args(tp)
        return [_dump(item_type, item, f"{path}[{index}]") for index, item in enumerate(value)]
    if origin is dict:
        if not all(isinstance(key, str) and isinstance(item, str) for key, item in value.items()):
            raise TypeError(f"{path}: keys and values must be strings")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, tp):
            raise TypeError(f"{path}: {tp.__name__} expected, got {type(value).__name__}")
        return _dump_record(value, path)
    expected = bool if tp is bool else str
    if not isinstance(value, expected):
        raise TypeError(f"{path}: {expected.__name__} expected, got {type(value).__name__}")
    return value


def order_to_dict(order):
    """``Order`` -> JSON-able dict; ``order_from_dict`` reads it back to an equal Order."""
    return to_dict(order)


def refund_to_dict(refund):
    """``Refund`` -> JSON-able dict."""
    return to_dict(refund)

