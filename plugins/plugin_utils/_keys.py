# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Product key validation, masking and scrubbing.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

A Microsoft product key is 25 symbols in five groups of five separated by
hyphens. The symbols come from a 24-character alphabet with no vowels and none
of 0 1 5 L N S Z, ``BCDFGHJKMPQRTVWXY2346789``, plus the letter ``N``, which
keys of the Windows 8 era onwards (and Office 2013 onwards) carry **at most
once** as a marker.

Evidence: every public setup key Microsoft lists ([WSD-KEYS] for Windows,
[ODO-GVLK] for Office; licensing-api.md section 3) follows this rule, e.g.
``W269N-WFGWX-YVC9B-4J6C9-T83GX`` (one N) and ``FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4``
(Windows 7, none); ``tests/unit/plugins/plugin_utils/test_keys.py`` checks the
whole GVLK table against it. Microsoft does not publish the alphabet itself, so
the rule is [INFERRED] from those tables: the Software Licensing Service stays
the judge (0xC004F050 SL_E_INVALID_PRODUCT_KEY), this module only catches typos
before a round trip is spent on them.

Masking keeps only the last five characters, which Windows itself shows
(``PartialProductKey`` [MS-SLP]) and which identify a key to an administrator:
``XXXXX-XXXXX-XXXXX-XXXXX-3V66T``.
"""

from __future__ import annotations

import re
import typing as t

#: The 24 base symbols of a product key (no vowels, no 0 1 5 L N S Z).
KEY_ALPHABET = "BCDFGHJKMPQRTVWXY2346789"
#: The marker letter allowed at most once in a key (Windows 8+ / Office 2013+ keys).
KEY_MARKER = "N"
#: The mask of the first four groups.
MASK_PREFIX = "XXXXX-XXXXX-XXXXX-XXXXX-"
#: What a value that is not key-shaped is masked as: nothing of it is shown.
FULL_MASK = "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX"

# Hyphen look-alikes that people paste from documents and mail; slmgr passes them
# to the service, which then fails with 0xC004F050 ([WSD-ERR]: "typo/em-dash").
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_DASH_TRANSLATION = str.maketrans(dict.fromkeys(_DASHES, "-"))
_SYMBOLS = KEY_ALPHABET + KEY_MARKER
_KEY_RE = re.compile(rf"^[{_SYMBOLS}]{{5}}(?:-[{_SYMBOLS}]{{5}}){{4}}$")

# For scrubbing free text: anything key-shaped, whatever the characters (a
# mistyped key is still a secret), with ASCII or look-alike dashes, any case.
_DASH_CLASS = "\\-" + _DASHES
_SCRUB_DASHED_RE = re.compile(
    rf"(?<![A-Za-z0-9])[A-Za-z0-9]{{5}}(?:[{_DASH_CLASS}][A-Za-z0-9]{{5}}){{4}}(?![A-Za-z0-9])"
)
# 25 key symbols run together (some tools accept keys without hyphens). Limited to
# the key alphabet, upper case, so that ordinary identifiers are left alone.
_SCRUB_PLAIN_RE = re.compile(rf"(?<![A-Za-z0-9])[{_SYMBOLS}]{{25}}(?![A-Za-z0-9])")
_PARTIAL_RE = re.compile(rf"^[{_SYMBOLS}]{{5}}$")


class ProductKeyError(ValueError):
    """A product key failed validation. The message never contains the key itself."""


def normalize_product_key(key: str) -> str:
    """Return ``key`` upper-cased, stripped, with hyphen look-alikes turned into ``-``.

    Whitespace inside the key is removed. No validation is done here.
    """
    text = key.translate(_DASH_TRANSLATION)
    return "".join(text.split()).upper()


def validate_product_key(key: t.Any) -> str:
    """Validate a product key and return its normalized form.

    Contract: the result matches ``[alphabet+N]{5}(-[alphabet+N]{5}){4}`` and
    holds at most one ``N``. Raises :class:`ProductKeyError` otherwise; the
    message names what is wrong and shows the key only masked.
    """
    if not isinstance(key, str):
        raise ProductKeyError(f"a product key must be a string, got {type(key).__name__}")
    norm = normalize_product_key(key)
    shown = mask_product_key(norm)
    groups = norm.split("-")
    if len(groups) != 5 or any(len(g) != 5 for g in groups):
        raise ProductKeyError(
            f"the product key '{shown}' is not five groups of five characters separated by hyphens"
        )
    bad = sorted({c for c in norm if c != "-" and c not in _SYMBOLS})
    if bad:
        raise ProductKeyError(
            f"the product key '{shown}' contains {', '.join(repr(c) for c in bad)}; product keys use only "
            f"{KEY_ALPHABET} and at most one N"
        )
    if norm.count(KEY_MARKER) > 1:
        raise ProductKeyError(f"the product key '{shown}' contains the letter N more than once")
    if not _KEY_RE.match(norm):  # pragma: no cover - the checks above are exhaustive
        raise ProductKeyError(f"the product key '{shown}' is malformed")
    return norm


def is_valid_product_key(key: t.Any) -> bool:
    """True when :func:`validate_product_key` accepts ``key``."""
    try:
        validate_product_key(key)
    except ProductKeyError:
        return False
    return True


def mask_product_key(key: str | None) -> str | None:
    """Mask a product key, keeping only its last five characters.

    * a full key-shaped value (5x5, any characters) -> ``XXXXX-XXXXX-XXXXX-XXXXX-<last 5>``;
    * a partial key (five key symbols, as ``PartialProductKey``) -> the same form;
    * ``None`` -> ``None``;
    * anything else -> ``XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`` (nothing of it is shown, because
      a value that is not shaped like a key cannot be trusted to hide only five characters).
    """
    if key is None:
        return None
    norm = normalize_product_key(str(key))
    groups = norm.split("-")
    if len(groups) == 5 and all(len(g) == 5 and g.isalnum() for g in groups):
        return MASK_PREFIX + groups[4]
    if len(norm) == 25 and norm.isalnum():
        return MASK_PREFIX + norm[-5:]
    if _PARTIAL_RE.match(norm):
        return MASK_PREFIX + norm
    return FULL_MASK


def last5(key: str) -> str:
    """The last five characters of a validated key: what Windows reports as ``PartialProductKey``."""
    return validate_product_key(key)[-5:]


def scrub_text(text: str) -> str:
    """Replace every key-shaped substring of ``text`` by its mask.

    Catches ``AAAAA-BBBBB-CCCCC-DDDDD-EEEEE`` in any case and with any hyphen
    look-alike, and 25 key symbols written without hyphens. Used on every string
    the collection logs or returns that did not come from its own formatting.
    """
    text = _SCRUB_DASHED_RE.sub(lambda m: MASK_PREFIX + m.group(0)[-5:].upper(), text)
    return _SCRUB_PLAIN_RE.sub(lambda m: MASK_PREFIX + m.group(0)[-5:], text)


def _literal_mask(secret: str) -> str:
    if _SCRUB_DASHED_RE.fullmatch(secret) or _SCRUB_PLAIN_RE.fullmatch(secret):
        return MASK_PREFIX + normalize_product_key(secret)[-5:]
    return "********"


def scrub(value: t.Any, secrets: t.Iterable[str] = ()) -> t.Any:
    """Return a deep copy of ``value`` with key-shaped substrings masked in every string.

    ``secrets`` are extra literal strings (e.g. confirmation IDs, or keys in an
    unusual shape) replaced wherever they occur: by their key mask when they are
    key-shaped, else by ``********``. Dict keys are
    scrubbed too. Non-string scalars are returned unchanged.
    """
    literal = [(s, _literal_mask(s)) for s in secrets if s]

    def _str(s: str) -> str:
        for secret, mask in literal:
            s = s.replace(secret, mask)
        return scrub_text(s)

    def _walk(v: t.Any) -> t.Any:
        if isinstance(v, str):
            return _str(v)
        if isinstance(v, dict):
            return {(_str(k) if isinstance(k, str) else k): _walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [_walk(x) for x in v]
        return v

    return _walk(value)
