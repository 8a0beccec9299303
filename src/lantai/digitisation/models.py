"""数字化与OCR models."""

from __future__ import annotations
