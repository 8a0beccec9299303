"""Verification codes 验证码 of certified copies 档案证明.

16 characters of Crockford base32 (no I, L, O, U: nothing to misread on paper): 15 random
characters (75 bits from ``secrets``) and one check character, a weighted sum modulo 32 that
catches every single mistyped character and nearly every swap of two neighbours. Printed in
groups of four (``ABCD-EFGH-JKMN-PQRS``); dashes, spaces and case are ignored when read back,
and the letters people confuse with digits (O, I, L) are read as 0, 1, 1.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: n for n, ch in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
BODY = 15
LENGTH = BODY + 1


def _check(body: str) -> str:
    # Odd weights (1, 3, 5 …) are invertible modulo 32, so any single substitution changes the
    # sum; a swap of neighbours changes it by 2·(a−b), missed only when a−b is ±16.
    total = sum((2 * n + 1) * _VALUE[ch] for n, ch in enumerate(body))
    return ALPHABET[total % 32]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY))
    return body + _check(body)


def normalise(text: str) -> str:
    """Upper case, without separators, confusable letters mapped; may still be invalid."""
    cleaned = "".join(ch for ch in (text or "").upper() if not ch.isspace() and ch not in "-_")
    return cleaned.translate(_ALIASES)


def is_well_formed(code: str) -> bool:
    """Right length, alphabet and check character (``code`` already normalised)."""
    if len(code) != LENGTH or any(ch not in _VALUE for ch in code):
        return False
    return _check(code[:BODY]) == code[BODY]


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()
