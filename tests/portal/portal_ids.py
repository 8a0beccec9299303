"""居民身份证号 for tests, computed from GB 11643-1999 independently of the service."""

from __future__ import annotations

import random

WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def id_check(body: str) -> str:
    """ISO 7064 MOD 11-2 check character, computed here independently of the service."""
    remainder = (12 - sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return "X" if remainder == 10 else str(remainder)


def make_id(region: str = "110105", birth: str = "19840716", seq: str | None = None) -> str:
    seq = seq if seq is not None else f"{random.randint(0, 999):03d}"
    body = region + birth + seq
    return body + id_check(body)


def make_id_with_x() -> str:
    for n in range(1000):
        body = f"44030619900101{n:03d}"
        if id_check(body) == "X":
            return body + "X"
    raise AssertionError("no X check digit")
