"""档案利用 models."""

from __future__ import annotations
