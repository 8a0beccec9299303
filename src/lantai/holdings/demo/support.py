"""What the apps' demo seeds 演示数据 share: the part statuses, the "cannot run here" signal,
the demo accounts, colleague accounts, seeded randomness and a few realistic particulars.

Each app that has demo data keeps it in ``lantai/<app>/demo.py`` with a ``seed()`` returning
``(status, message, counts)`` (optionally a fourth element: secrets to show once, as
``(label, name, value)``); ``holdings.demo.extras`` runs them in order, each in its own
transaction.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

#: Status of one part (the values ``holdings.demo.extras`` uses).
DONE, ALREADY, SKIPPED = "done", "already", "skipped"


class Skip(Exception):
    """The part cannot run here (no demo accounts, nothing to work on); the message says why."""


def rng(part: str) -> random.Random:
    """A generator seeded by the part's name: the same demo every time (a str seed is hashed
    with SHA-512 by ``random``, so it does not depend on PYTHONHASHSEED)."""
    return random.Random(f"lantai-demo:{part}")  # noqa: S311 - demo data, not secrets


def today() -> date:
    return timezone.localdate()


def demo_user(username: str):
    """The active demo account ``username`` (made by ``lantai demo``), or None."""
    from lantai.accounts.models import User

    return User.objects.filter(username__iexact=username, is_active=True).first()


def need_users(*usernames: str) -> list:
    """The demo accounts, in order; Skip when one is missing (``lantai demo --no-users``)."""
    users = [demo_user(name) for name in usernames]
    missing = [name for name, user in zip(usernames, users, strict=True) if user is None]
    if missing:
        raise Skip(_("没有演示账户：%(u)s") % {"u": "、".join(missing)})
    return users


def colleague(username: str, real_name: str, role: str, unit_code: str = ""):
    """A colleague's account (a second archivist, a unit's records officer) for the steps one
    demo account may not take alone: an opening batch is approved by someone who did not
    review it, a unit's self-assessment is filled in by that unit's own officer.

    Made through ``accounts.services.create_user`` with a random password that is never shown:
    nobody signs in as a colleague until the system administrator resets the password.
    """
    from lantai.accounts.models import User
    from lantai.accounts.services import create_user
    from lantai.holdings.demo.generator import demo_password
    from lantai.holdings.models import Unit

    existing = User.objects.filter(username__iexact=username).first()
    if existing is not None:
        return existing
    unit = Unit.objects.filter(code=unit_code).first() if unit_code else None
    if unit_code and unit is None:
        raise Skip(_("没有立档单位 %(c)s") % {"c": unit_code})
    return create_user(
        None,
        username=username,
        password=demo_password(),
        real_name=real_name,
        roles=[role],
        unit=unit,
    )


def id_number(name: str, birth_year: int, sex: str = "") -> str:
    """A fictional but valid 18-digit 居民身份证号 (the livelihood demo's rule, so a person has
    the same number everywhere in the demo)."""
    from lantai.livelihood.demo import make_id_number

    return make_id_number(name, birth_year, sex)


def mobile(seed: str) -> str:
    """A plausible 11-digit mobile number, stable for ``seed``."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    prefix = ("138", "139", "137", "136", "135", "159", "158", "186", "187", "189")
    return prefix[int(digest[:2], 16) % len(prefix)] + str(int(digest[2:12], 16))[-8:].zfill(8)


def working_days_ago(days: int, start: date | None = None) -> date:
    """``days`` weekdays before ``start`` (a past date for records of past work)."""
    day = start or today()
    while days > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def pdf(title: str, lines: list[str]) -> bytes:
    """A one-page A4 PDF with a title and lines of Chinese text (consent forms, evidence)."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(title)
    c.setFont("STSong-Light", 16)
    c.drawCentredString(A4[0] / 2, A4[1] - 100, title)
    c.setFont("STSong-Light", 11)
    y = A4[1] - 140
    for line in lines:
        c.drawString(72, y, line)
        y -= 20
    c.showPage()
    c.save()
    return buf.getvalue()
