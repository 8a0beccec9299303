"""开放鉴定 models."""

from __future__ import annotations
