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
# Letters that Unicode decomposition leaves alone but people type without the mark.
_PLAIN_LETTERS = str.maketrans({
    "ø": "o", "đ": "d", "ð": "d", "ł": "l", "æ": "ae", "œ": "oe", "þ": "th", "\u0131": "i", "ħ": "h",
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

