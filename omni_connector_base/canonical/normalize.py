"""Normalized forms of contact data, for finding the same customer or address again.

Why: the importer dedupes customers by email and delivery contacts by address; channels
write the same person as ``Jane.Doe@Example.com `` one day and ``jane.doe@example.com`` the
next, and the same street as ``Hauptstraße 1`` or ``Hauptstrasse 1``. These functions map
such variants onto one key. They never validate (that is ``parse.validate``'s job) and
never raise on odd input: unusable values give None or an empty part.
"""

import hashlib
import re
import unicodedata

_BLANKS = re.compile(r"\s+")
_PHONE_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d+\s*$", re.IGNORECASE)
_TRUNK_ZERO = re.compile(r"\(0\)")
# Letters that Unicode decomposition leaves alone but people type without the mark.
_PLAIN_LETTERS = str.maketrans({
    "ø": "o", "đ": "d", "ð": "d", "ł": "l", "æ": "ae", "œ": "oe", "þ": "th", "\u0131": "i", "ħ": "h",
})
# Lower-case words that start a family name ("Ludwig van Beethoven", "Maria de la Cruz").
NAME_PARTICLES = frozenset({
    "al", "bin", "da", "das", "de", "degli", "dei", "del", "della", "der", "di", "do", "dos", "du",
    "el", "la", "le", "lo", "st", "st.", "ten", "ter", "van", "vom", "von", "zu", "zum", "zur",
})


def normalize_email(value):
    """Stripped, lower-cased email; None for None or blank.

    Lower-casing the local part is technically lossy, but no shop treats two spellings of
    one mailbox as two customers.
    """
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def normalize_phone(value):
    """Phone number reduced to digits, with a leading ``+`` when international.

    ``+49 (0)30 123-4567`` -> ``+49301234567``, ``0049 30 1234567`` -> ``+49301234567``,
    ``(555) 555-5555 ext. 12`` -> ``5555555555``. Not an E.164 conversion (a national
    number stays national: that needs the country's dialling rules); a stable form to
    compare numbers. None when there are no digits.
    """
    if not value:
        return None
    text = _PHONE_EXTENSION.sub("", value.strip())
    international = text.startswith("+") or text.startswith("00")
    if international:
        text = _TRUNK_ZERO.sub("", text)  # "+49 (0)30": the 0 is dialled nationally only
    digits = "".join(char for char in text if char.isdigit() and char.isascii())
    if international and digits.startswith("00") and not text.startswith("+"):
        digits = digits[2:]
    if not digits:
        return None
    return f"+{digits}" if international else digits


def fold_text(value):
    """Case-, accent- and punctuation-insensitive form of a text (``'Straße 1a, 2.OG'`` ->
    ``'strasse 1a 2 og'``): casefold, strip accents, punctuation and symbols become blanks,
    blank runs become one blank."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    kept = []
    for char in decomposed.translate(_PLAIN_LETTERS):
        category = unicodedata.category(char)
        if category.startswith("M"):
            continue  # combining accent
        kept.append(" " if category[0] in "PSZC" else char)
    return _BLANKS.sub(" ", "".join(kept)).strip()


def address_key_parts(address):
    """The folded parts ``address_key`` hashes: recipient, company, street (with street2),
    city, zip (blanks removed), state code, country code. Useful to see why two keys differ."""
    recipient = " ".join(part for part in (address.first_name, address.last_name) if part)
    street = " ".join(part for part in (address.street, address.street2) if part)
    return (
        fold_text(recipient),
        fold_text(address.company),
        fold_text(street),
        fold_text(address.city),
        fold_text(address.zip).replace(" ", ""),
        fold_text(address.state_code),
        fold_text(address.country_code),
    )


def address_key(address):
    """Stable dedupe key of a postal address and its recipient (SHA-256 hex, 64 chars).

    Insensitive to case, accents, punctuation and spacing; the recipient's name and company
    are part of the key, so two people at one address get two keys (two delivery contacts).
    Phone and email are not: they do not change where a parcel goes. Hashed so the key can
    be stored and indexed without copying the address in clear text once more.
    """
    joined = "\x1f".join(address_key_parts(address))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def split_name(full):
    """Full name -> ``(first_name, last_name)``, for channels that send one name field.

    ``'Jane Doe'`` -> ``('Jane', 'Doe')``; ``'Ludwig van Beethoven'`` ->
    ``('Ludwig', 'van Beethoven')``; ``'Doe, Jane'`` -> ``('Jane', 'Doe')``; a single word is
    a last name (``('', 'Cher')``), as in Odoo's first-name/last-name convention; None or
    blank -> ``('', '')``. A heuristic: a stored first/last split always wins over it.
    """
    text = _BLANKS.sub(" ", full or "").strip()
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        if first and last:
            return first, last
        text = (first or last)
    words = text.split(" ") if text else []
    if len(words) <= 1:
        return "", text
    start = len(words) - 1
    for index in range(1, len(words) - 1):
        if words[index].casefold() in NAME_PARTICLES:
            start = index
            break
    return " ".join(words[:start]), " ".join(words[start:])
