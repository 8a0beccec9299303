"""业务指导 models."""

from __future__ import annotations
