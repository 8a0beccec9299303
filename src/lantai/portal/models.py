"""公众服务门户 models."""

from __future__ import annotations
