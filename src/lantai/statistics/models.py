"""统计年报 models."""

from __future__ import annotations
