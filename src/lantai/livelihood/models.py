"""民生档案 models."""

from __future__ import annotations
