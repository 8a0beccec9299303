"""全文检索 models."""

from __future__ import annotations
