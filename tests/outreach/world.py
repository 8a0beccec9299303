"""Helpers shared by the outreach tests."""

from __future__ import annotations

import io

from PIL import Image


def png_bytes(color=(180, 30, 20), size=(900, 600), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def booking_data(slot, **extra):
    data = {
        "organisation": "兰台第一中学",
        "contact": "陈老师",
        "phone": "0571-88886666",
        "email": "chen@example.org",
        "people": 40,
        "purpose": "爱国主义教育",
        "slot": slot.pk,
    }
    data.update(extra)
    return data
